"""The engine's lock store (bot/engine/lock_store.py).

Against a real Redis from ZIJWIJZER_TEST_REDIS_URL (skipped without it): engines issuing tickets
for one conversation at the same moment never get the same number, turns are served one at a
time in ticket order, a cleanup never deletes a ticket issued meanwhile, and an unreachable Redis
raises instead of falling back to a lock in memory.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis  # redis 4.6 in the engine: untyped (pyproject.toml)
from rasa.core.lock_store import LockError, LockStore
from rasa.utils.endpoints import read_endpoint_config

from bot.engine.lock_store import ConversationLockStore, LockStoreUnavailable, LockTimeout
from conftest import Until

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def conversation() -> str:
    return f"test{uuid.uuid4().hex[:10]}-conversation"


@pytest.fixture
def store(redis_url: str) -> Any:
    """Makes one store per simulated engine (its own Redis connections), under a fresh prefix."""
    prefix = f"test{uuid.uuid4().hex[:10]}"

    def make(url: str = redis_url, **options: Any) -> ConversationLockStore:
        return ConversationLockStore(url=url, key_prefix=prefix, **options)

    return make


def tickets(lock_store: ConversationLockStore, conversation: str) -> list[int]:
    lock = lock_store.get_lock(conversation)
    return [] if lock is None else [t.number for t in lock.tickets]


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.engine.lock_store" and r.levelno == level
    ]


def test_concurrent_issuers_never_get_the_same_ticket(store: Any, conversation: str) -> None:
    threads, per_thread = 8, 25
    barrier = threading.Barrier(threads)
    issued: list[int] = []
    guard = threading.Lock()

    def issue() -> None:
        mine = store()
        barrier.wait()
        got = [mine.issue_ticket(conversation) for _ in range(per_thread)]
        with guard:
            issued.extend(got)

    workers = [threading.Thread(target=issue) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    waiting = len(tickets(store(), conversation))
    store().delete_lock(conversation)
    # 8 engines x 25 tickets at once: every number once, none lost.
    assert sorted(issued) == list(range(200))
    assert waiting == 200


def test_cleanup_never_deletes_a_ticket_issued_meanwhile(store: Any, conversation: str) -> None:
    holder = store()
    held = holder.issue_ticket(conversation)
    barrier = threading.Barrier(6)

    def churn() -> None:
        mine = store()
        barrier.wait()
        for _ in range(30):
            mine.cleanup(conversation, mine.issue_ticket(conversation))

    workers = [threading.Thread(target=churn) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert tickets(holder, conversation) == [held]
    holder.cleanup(conversation, held)
    assert holder.get_lock(conversation) is None  # the last cleanup deleted the lock


async def test_turns_of_one_conversation_run_one_at_a_time_in_ticket_order(
    store: Any, conversation: str, until: Until
) -> None:
    # Three turns of one conversation on two "engines": served one at a time, in ticket order.
    first, second = store(), store()
    entered: list[str] = []
    active, most_at_once = 0, 0
    all_waiting = asyncio.Event()

    async def turn(name: str, lock_store: ConversationLockStore) -> None:
        nonlocal active, most_at_once
        async with lock_store.lock(conversation, wait_time_in_seconds=0.02):
            active += 1
            most_at_once = max(most_at_once, active)
            entered.append(name)
            await all_waiting.wait()  # "a" holds the conversation until the others queue
            active -= 1

    turns = [asyncio.create_task(turn("a", first))]
    await until(lambda: entered == ["a"])
    turns.append(asyncio.create_task(turn("b", second)))
    await until(lambda: len(tickets(first, conversation)) == 2)
    turns.append(asyncio.create_task(turn("c", first)))
    await until(lambda: len(tickets(first, conversation)) == 3)
    all_waiting.set()
    await asyncio.gather(*turns)
    assert entered == ["a", "b", "c"]
    assert most_at_once == 1
    assert first.get_lock(conversation) is None


def test_redis_unreachable_raises_and_logs_once(
    conversation: str, caplog: pytest.LogCaptureFixture
) -> None:
    lock_store = ConversationLockStore(url=UNREACHABLE, key_prefix="unreachable")
    raised = []
    for _ in range(3):
        with pytest.raises(LockStoreUnavailable) as error:
            lock_store.issue_ticket(conversation)
        raised.append(isinstance(error.value, LockError))

    async def turn() -> str:
        async with lock_store.lock(conversation):
            return "processed"

    # A turn fails with Rasa's LockError (the channel answers with an error): no local lock.
    with pytest.raises(LockError) as failed:
        asyncio.run(turn())
    assert lock_store.uses_redis is True
    assert raised == [True, True, True]
    assert type(failed.value).__name__ == "LockStoreUnavailable"
    errors = messages(caplog, logging.ERROR)
    assert len(errors) == 1
    assert "unreachable" in errors[0]


def test_without_a_url_the_locks_live_in_memory(conversation: str) -> None:
    lock_store = ConversationLockStore(url="")
    first = lock_store.issue_ticket(conversation)
    second = lock_store.issue_ticket(conversation)
    lock_store.cleanup(conversation, first)
    waiting = tickets(lock_store, conversation)
    lock_store.cleanup(conversation, second)
    assert {
        "redis": lock_store.uses_redis,
        "tickets": [first, second],
        "waiting": waiting,
        "after": lock_store.get_lock(conversation) is None,
    } == {"redis": False, "tickets": [0, 1], "waiting": [1], "after": True}


@pytest.mark.parametrize(("url", "uses_redis"), [("", False), (UNREACHABLE, True)])
def test_endpoints_yml_names_the_store(
    url: str, uses_redis: bool, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As the engine builds it: Rasa reads endpoints.yml and creates the store by module path.
    monkeypatch.setenv("ZIJWIJZER_REDIS_URL", url)
    monkeypatch.setenv("ZIJWIJZER_ACTION_SERVER_URL", "http://127.0.0.1:1/webhook")
    monkeypatch.setenv("ZIJWIJZER_TRACKER_DATABASE_URL", "sqlite://")
    lock_store = LockStore.create(read_endpoint_config(str(root / "endpoints.yml"), "lock_store"))
    assert type(lock_store).__name__ == "ConversationLockStore"
    assert lock_store.uses_redis is uses_redis


def test_a_release_that_fails_after_the_turn_is_logged_and_frees_the_conversation_soon(
    store: Any, conversation: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Redis goes away after the turn ran: the turn is not failed, and its ticket, no longer
    # renewed, frees the conversation within its lifetime once Redis is back.
    first, second = store(ticket_lifetime=1.0), store(ticket_lifetime=1.0)
    ran = False

    async def main() -> float:
        nonlocal ran
        async with first.lock(conversation):
            ran = True
            working = first._redis
            first._redis = redis.Redis.from_url(UNREACHABLE, socket_timeout=0.5)
        first._redis = working
        assert len(tickets(first, conversation)) == 1  # the ticket stayed behind in Redis...
        started = time.monotonic()
        async with second.lock(conversation):
            return time.monotonic() - started

    waited = asyncio.run(main())  # the turn ran and was not failed by its release
    assert ran is True
    assert any("could not be released" in m for m in messages(caplog, logging.WARNING))
    # ...and no longer held the conversation after its lifetime (1 s here).
    assert waited < 2.0


async def test_a_turn_longer_than_a_tickets_lifetime_keeps_its_conversation(
    store: Any, conversation: str, until: Until
) -> None:
    lifetime = 0.6
    first, second = store(ticket_lifetime=lifetime), store(ticket_lifetime=lifetime, lock_wait=5)
    order: list[str] = []

    async def turn(name: str, lock_store: ConversationLockStore, hold: float) -> None:
        async with lock_store.lock(conversation):
            order.append(name + " in")
            # Not ordering: the turn lasts three ticket lifetimes, which is what is tested.
            await asyncio.sleep(hold)
            order.append(name + " out")

    long = asyncio.create_task(turn("long", first, 3 * lifetime))
    await until(lambda: order == ["long in"])
    await asyncio.gather(long, turn("next", second, 0))
    assert order == ["long in", "long out", "next in", "next out"]
    assert first.get_lock(conversation) is None


def test_a_dead_engines_ticket_expires_within_its_lifetime(store: Any, conversation: str) -> None:
    # An engine killed mid-turn: its ticket is never released nor renewed.
    store(ticket_lifetime=1.0).issue_ticket(conversation, 1.0)
    started = time.monotonic()

    async def main() -> float:
        async with store(ticket_lifetime=1.0).lock(conversation):
            return time.monotonic() - started

    waited = asyncio.run(main())
    print(f"\nwaited {waited:.2f} s behind a dead engine's ticket (lifetime 1 s)")
    assert 0.8 < waited < 2.0


async def test_waiting_for_a_lock_has_a_deadline(store: Any, conversation: str) -> None:
    holder, waiter = store(ticket_lifetime=5.0), store(ticket_lifetime=5.0, lock_wait=0.5)
    held, refused = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with holder.lock(conversation):
            held.set()
            await refused.wait()  # the conversation stays taken until the waiter gave up

    holding = asyncio.create_task(hold())
    await held.wait()
    started = time.monotonic()
    with pytest.raises(LockTimeout):
        async with waiter.lock(conversation):
            pass
    waited = time.monotonic() - started
    refused.set()
    await holding
    assert 0.4 < waited < 1.2
    assert holder.get_lock(conversation) is None  # the refused turn left no ticket behind
