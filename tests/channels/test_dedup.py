"""Once-only deliveries, remembered in the (tracker) database shared by all instances."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func, select

from bot.channels.dedup import DeliveryLog, deliveries


def log_at(path: Path, **options: float) -> DeliveryLog:
    return DeliveryLog(f"sqlite:///{path / 'trackers.db'}", **options)


def test_first_claim_wins_and_a_redelivery_is_a_duplicate(tmp_path: Path) -> None:
    log = log_at(tmp_path)
    assert log.claim("telegram", "1001", now=100.0)
    assert not log.claim("telegram", "1001", now=101.0)
    # The same id on another channel is another delivery.
    assert log.claim("slack", "1001", now=101.0)


def test_a_second_instance_sees_the_first_ones_claims(tmp_path: Path) -> None:
    # Two processes behind a load balancer share only the database.
    assert log_at(tmp_path).claim("slack", "Ev1", now=100.0)
    assert not log_at(tmp_path).claim("slack", "Ev1", now=100.5)


def test_released_claims_can_be_claimed_again(tmp_path: Path) -> None:
    log = log_at(tmp_path)
    assert log.claim("slack", "Ev2", now=100.0)
    log.release("slack", "Ev2")
    assert log.claim("slack", "Ev2", now=160.0)


def test_old_claims_are_pruned(tmp_path: Path) -> None:
    log = log_at(tmp_path, keep_seconds=1000.0, prune_every=10_000.0)
    assert log.claim("telegram", "old", now=100.0)
    assert log.claim("telegram", "new", now=900.0)
    assert log.prune(now=1500.0) == 1
    with log.engine.connect() as connection:
        left = connection.execute(select(deliveries.c.delivery_id)).scalars().all()
    assert left == ["new"]
    # Once pruned, a (very late) redelivery counts as new again.
    assert log.claim("telegram", "old", now=1500.0)


def test_claiming_prunes_now_and_then(tmp_path: Path) -> None:
    log = log_at(tmp_path, keep_seconds=1000.0, prune_every=500.0)
    for number in range(5):
        assert log.claim("telegram", str(number), now=100.0 + number)
    # Within prune_every of the first claim's prune: nothing is removed yet.
    assert log.claim("telegram", "a", now=400.0)
    # Later than prune_every since then: claims older than keep_seconds go.
    assert log.claim("telegram", "b", now=1200.0)
    with log.engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(deliveries)).scalar_one()
    assert count == 2  # "a" (400) and "b" (1200)


def test_concurrent_claims_of_one_delivery_have_one_winner(tmp_path: Path) -> None:
    # Each log stands for an engine instance with its own connection pool.
    logs = [log_at(tmp_path) for _ in range(4)]
    assert logs[0].claim("slack", "warm-up")  # creates the table before the race
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda log: log.claim("slack", "Ev-race"), logs))
    assert sorted(results) == [False, False, False, True]
