"""The engine's lock store (bot/engine/lock_store.py), run in the engine's runtime (.venv-rasa).

Against a real Redis from ZIJWIJZER_TEST_REDIS_URL (skipped without it): engines issuing tickets
for one conversation at the same moment never get the same number, turns are served one at a
time in ticket order, a cleanup never deletes a ticket issued meanwhile, and an unreachable Redis
raises instead of falling back to a lock in memory.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.engine_runtime import run_in_engine_runtime

ROOT = Path(__file__).resolve().parents[3]
REDIS_URL_ENV = "ZIJWIJZER_TEST_REDIS_URL"

# Each scenario prints one JSON line. argv: scenario, Redis URL, key prefix.
SCENARIOS = r"""
import asyncio, json, logging, sys, threading, time
from rasa.core.lock_store import LockError
from bot.engine.lock_store import ConversationLockStore, LockStoreUnavailable

scenario, url, prefix = sys.argv[1:4]
conversation = prefix + "-conversation"


def store(**options):
    # One store per simulated engine: its own Redis connections.
    return ConversationLockStore(url=url, key_prefix=prefix, **options)


def collect_logs():
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append((record.levelname, record.getMessage()))

    logging.getLogger("bot.engine.lock_store").addHandler(Collect())
    return records


def release_fails_after_the_turn():
    # Redis goes away after the turn ran: the turn is not failed, and its ticket, no longer
    # renewed, frees the conversation within its lifetime once Redis is back.
    import redis
    records = collect_logs()
    first, second = store(ticket_lifetime=1.0), store(ticket_lifetime=1.0)
    outcome = {}

    async def main():
        async with first.lock(conversation):
            outcome["ran"] = True
            working = first._redis
            first._redis = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_timeout=0.5)
        first._redis = working
        outcome["left"] = [t.number for t in first.get_lock(conversation).tickets]
        started = time.monotonic()
        async with second.lock(conversation):
            outcome["waited"] = time.monotonic() - started

    try:
        asyncio.run(main())
        outcome["raised"] = None
    except Exception as error:
        outcome["raised"] = type(error).__name__
    outcome["warnings"] = [m for level, m in records if level == "WARNING"]
    return outcome


def long_turn_keeps_its_ticket():
    # A turn three times as long as a ticket's lifetime keeps the conversation to itself.
    first, second = store(ticket_lifetime=0.6), store(ticket_lifetime=0.6, lock_wait=5)
    order = []

    async def turn(name, lock_store, delay, hold):
        await asyncio.sleep(delay)
        async with lock_store.lock(conversation):
            order.append(name + " in")
            await asyncio.sleep(hold)
            order.append(name + " out")

    async def main():
        await asyncio.gather(turn("long", first, 0, 1.8), turn("next", second, 0.1, 0))

    asyncio.run(main())
    return {"order": order, "after": first.get_lock(conversation) is None}


def dead_engine_ticket_expires():
    # An engine killed mid-turn: its ticket is never released nor renewed.
    dead = store(ticket_lifetime=1.0)
    dead.issue_ticket(conversation, 1.0)
    started = time.monotonic()

    async def main():
        async with store(ticket_lifetime=1.0).lock(conversation):
            return time.monotonic() - started

    return {"waited": asyncio.run(main())}


def wait_has_a_deadline():
    holder, waiter = store(ticket_lifetime=5.0), store(ticket_lifetime=5.0, lock_wait=0.5)
    result = {}

    async def hold():
        async with holder.lock(conversation):
            await asyncio.sleep(1.5)

    async def wait():
        await asyncio.sleep(0.1)
        started = time.monotonic()
        try:
            async with waiter.lock(conversation):
                result["outcome"] = "acquired"
        except LockError as error:
            result["outcome"] = type(error).__name__
        result["waited"] = time.monotonic() - started

    async def main():
        await asyncio.gather(hold(), wait())

    asyncio.run(main())
    result["after"] = holder.get_lock(conversation) is None
    return result


def concurrent_issuers():
    threads, per_thread = 8, 25
    barrier = threading.Barrier(threads)
    tickets = []
    guard = threading.Lock()

    def issue():
        mine = store()
        barrier.wait()
        got = [mine.issue_ticket(conversation) for _ in range(per_thread)]
        with guard:
            tickets.extend(got)

    workers = [threading.Thread(target=issue) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    waiting = len(store().get_lock(conversation).tickets)
    store().delete_lock(conversation)
    return {"tickets": sorted(tickets), "waiting": waiting}


def cleanup_keeps_other_tickets():
    holder = store()
    held = holder.issue_ticket(conversation)
    barrier = threading.Barrier(6)

    def churn():
        mine = store()
        barrier.wait()
        for _ in range(30):
            mine.cleanup(conversation, mine.issue_ticket(conversation))

    workers = [threading.Thread(target=churn) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    left = [t.number for t in holder.get_lock(conversation).tickets]
    holder.cleanup(conversation, held)
    return {"held": held, "left": left, "after": holder.get_lock(conversation) is None}


def order_kept():
    # Three turns of one conversation on two "engines": served one at a time, in ticket order.
    first, second = store(), store()
    entered, active, overlap = [], [0], [0]

    async def turn(name, lock_store, delay):
        await asyncio.sleep(delay)
        async with lock_store.lock(conversation, wait_time_in_seconds=0.02):
            active[0] += 1
            overlap[0] = max(overlap[0], active[0])
            entered.append(name)
            await asyncio.sleep(0.15)
            active[0] -= 1

    async def main():
        await asyncio.gather(
            turn("a", first, 0), turn("b", second, 0.03), turn("c", first, 0.06)
        )

    asyncio.run(main())
    return {"entered": entered, "most_at_once": overlap[0],
            "after": first.get_lock(conversation) is None}


def unreachable():
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append((record.levelname, record.getMessage()))

    logging.getLogger("bot.engine.lock_store").addHandler(Collect())
    lock_store = store()
    raised = []
    for _ in range(3):
        try:
            lock_store.issue_ticket(conversation)
            raised.append(None)
        except LockStoreUnavailable as error:
            raised.append(isinstance(error, LockError))

    async def turn():
        async with lock_store.lock(conversation):
            return "processed"

    try:
        outcome = asyncio.run(turn())
    except LockError as error:
        outcome = type(error).__name__
    errors = [message for level, message in records if level == "ERROR"]
    return {"raised": raised, "turn": outcome, "errors": errors, "redis": lock_store.uses_redis}


def in_memory():
    lock_store = ConversationLockStore(url="")
    first = lock_store.issue_ticket(conversation)
    second = lock_store.issue_ticket(conversation)
    lock_store.cleanup(conversation, first)
    waiting = [t.number for t in lock_store.get_lock(conversation).tickets]
    lock_store.cleanup(conversation, second)
    return {"redis": lock_store.uses_redis, "tickets": [first, second], "waiting": waiting,
            "after": lock_store.get_lock(conversation) is None}


def from_endpoints():
    # As the engine builds it: Rasa reads endpoints.yml and creates the store by module path.
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import read_endpoint_config
    lock_store = LockStore.create(read_endpoint_config(sys.argv[4], "lock_store"))
    return {"class": type(lock_store).__name__, "redis": lock_store.uses_redis}


print(json.dumps(globals()[scenario]()))
"""


def run(scenario: str, url: str, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    prefix = f"test{uuid.uuid4().hex[:10]}"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        done = run_in_engine_runtime(
            SCENARIOS, scenario, url, prefix, *extra, cwd=ROOT / "build", timeout=120
        )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def redis_url() -> str:
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    if not url:
        pytest.skip(f"{REDIS_URL_ENV} not set (e.g. redis://127.0.0.1:6379/0): Redis tests skipped")
    return url


def test_concurrent_issuers_never_get_the_same_ticket() -> None:
    result = run("concurrent_issuers", redis_url())
    # 8 engines x 25 tickets at once: every number once, none lost.
    assert result["tickets"] == list(range(200))
    assert result["waiting"] == 200


def test_cleanup_never_deletes_a_ticket_issued_meanwhile() -> None:
    result = run("cleanup_keeps_other_tickets", redis_url())
    assert result["left"] == [result["held"]]
    assert result["after"] is True  # the last cleanup deleted the lock


def test_turns_of_one_conversation_run_one_at_a_time_in_ticket_order() -> None:
    result = run("order_kept", redis_url())
    assert result["entered"] == ["a", "b", "c"]
    assert result["most_at_once"] == 1
    assert result["after"] is True


def test_redis_unreachable_raises_and_logs_once() -> None:
    # Nothing listens on port 1.
    result = run("unreachable", "redis://127.0.0.1:1/0")
    assert result["redis"] is True
    assert result["raised"] == [True, True, True]
    # A turn fails with Rasa's LockError (the channel answers with an error): no local lock.
    assert result["turn"] == "LockStoreUnavailable"
    assert len(result["errors"]) == 1
    assert "unreachable" in result["errors"][0]


def test_without_a_url_the_locks_live_in_memory() -> None:
    result = run("in_memory", "")
    assert result == {"redis": False, "tickets": [0, 1], "waiting": [1], "after": True}


@pytest.mark.parametrize(("url", "redis"), [("", False), ("redis://127.0.0.1:1/0", True)])
def test_endpoints_yml_names_the_store(url: str, redis: bool) -> None:
    env = {
        "ZIJWIJZER_REDIS_URL": url,
        "ZIJWIJZER_ACTION_SERVER_URL": "http://127.0.0.1:1/webhook",
        "ZIJWIJZER_TRACKER_DATABASE_URL": "sqlite://",
    }
    result = run("from_endpoints", url, str(ROOT / "endpoints.yml"), env=env)
    assert result == {"class": "ConversationLockStore", "redis": redis}


def test_a_release_that_fails_after_the_turn_is_logged_and_frees_the_conversation_soon() -> None:
    result = run("release_fails_after_the_turn", redis_url())
    # The turn ran and was not failed by its release.
    assert result["ran"] is True and result["raised"] is None
    assert any("could not be released" in warning for warning in result["warnings"])
    assert len(result["left"]) == 1  # the ticket stayed behind in Redis...
    # ...and no longer held the conversation after its lifetime (1 s here).
    assert result["waited"] < 2.0


def test_a_turn_longer_than_a_tickets_lifetime_keeps_its_conversation() -> None:
    result = run("long_turn_keeps_its_ticket", redis_url())
    assert result["order"] == ["long in", "long out", "next in", "next out"]
    assert result["after"] is True


def test_a_dead_engines_ticket_expires_within_its_lifetime() -> None:
    result = run("dead_engine_ticket_expires", redis_url())
    print(f"\nwaited {result['waited']:.2f} s behind a dead engine's ticket (lifetime 1 s)")
    assert 0.8 < result["waited"] < 2.0


def test_waiting_for_a_lock_has_a_deadline() -> None:
    result = run("wait_has_a_deadline", redis_url())
    assert result["outcome"] == "LockTimeout"
    assert 0.4 < result["waited"] < 1.2
    assert result["after"] is True  # the refused turn left no ticket behind
