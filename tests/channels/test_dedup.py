"""Once-only deliveries, remembered in the (tracker) database shared by all instances."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Column, Float, MetaData, String, Table, create_engine, func, select
from sqlalchemy.exc import OperationalError

from bot.engine.channels.dedup import Claim, DeliveryLog, deliveries


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


def test_a_handled_delivery_is_a_duplicate_and_a_running_one_is_busy(tmp_path: Path) -> None:
    log = log_at(tmp_path)
    assert log.claim("telegram", "7", now=100.0) is Claim.NEW
    # Redelivered while the first attempt still runs: the platform should come back later.
    assert log.claim("telegram", "7", now=101.0) is Claim.BUSY
    log.done("telegram", "7")
    assert log.claim("telegram", "7", now=102.0) is Claim.DUPLICATE


def test_a_claim_left_by_a_failed_attempt_is_taken_over_once_stale(tmp_path: Path) -> None:
    # The database went down mid-turn: the turn failed and so did the release.
    log = log_at(tmp_path, stale_after=60.0)
    assert log.claim("slack", "Ev9", now=100.0) is Claim.NEW
    assert log.claim("slack", "Ev9", now=150.0) is Claim.BUSY
    # The redelivery after the stale time is handled, by one instance only.
    assert log.claim("slack", "Ev9", now=161.0) is Claim.NEW
    assert log.claim("slack", "Ev9", now=162.0) is Claim.BUSY
    log.done("slack", "Ev9")
    assert log.claim("slack", "Ev9", now=500.0) is Claim.DUPLICATE


def test_a_release_that_failed_is_done_before_the_next_claim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = log_at(tmp_path)
    assert log.claim("telegram", "8", now=100.0) is Claim.NEW
    working = log.engine
    monkeypatch.setattr(log, "_engine", create_engine("sqlite:////nonexistent/dir/x.db"))
    with pytest.raises(OperationalError):
        log.release("telegram", "8")  # the database is down
    monkeypatch.setattr(log, "_engine", working)
    # Back: the redelivery (to this instance) is handled at once, not after stale_after.
    assert log.claim("telegram", "8", now=101.0) is Claim.NEW


def test_a_table_of_an_older_version_gets_the_column_and_its_rows_count_as_handled(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'trackers.db'}"
    old = MetaData()
    table = Table(
        "channel_deliveries",
        old,
        Column("channel", String(16), primary_key=True),
        Column("delivery_id", String(200), primary_key=True),
        Column("received_at", Float, nullable=False),
    )
    engine = create_engine(url)
    old.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            table.insert().values(channel="telegram", delivery_id="1", received_at=100.0)
        )
    engine.dispose()
    log = DeliveryLog(url)
    assert log.claim("telegram", "1", now=101.0) is Claim.DUPLICATE
    assert log.claim("telegram", "2", now=101.0) is Claim.NEW


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
    assert sorted(claim.value for claim in results) == ["busy", "busy", "busy", "new"]
