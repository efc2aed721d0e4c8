"""The engine's fault handling (bot/engine/engine_faults.py) against Rasa 3.6.

The end-to-end version (a real engine, PostgreSQL behind a cut proxy, a stopped action server)
is tests/integration/test_faults.py.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, NoReturn

import pytest
from aiohttp import web
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy.exc import OperationalError  # SQLAlchemy 1.4: untyped (pyproject.toml)

from bot.engine import engine_faults
from bot.engine.engine_faults import StorageUnavailable
from conftest import ActionServer


class Broken(InMemoryTrackerStore):  # type: ignore[misc]
    async def retrieve(self, sender_id: str) -> NoReturn:
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    async def save(self, tracker: DialogueStateTracker) -> NoReturn:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    async def keys(self) -> NoReturn:
        raise ValueError("a bug, not the database")


async def test_storage_errors_refuse_the_turn_and_a_database_down_at_start_is_retried_lazily(
    in_tmp_path: Path,
) -> None:
    engine_faults.install(action_timeout=1.0)
    engine_faults.install(action_timeout=1.0)  # twice: no double wrapping
    domain = Domain.empty()
    store = Agent._create_tracker_store(Broken(domain), domain)
    assert isinstance(store, FailSafeTrackerStore)
    for call in [
        store.retrieve("a"),
        store.get_or_create_tracker("a"),
        store.save(DialogueStateTracker("a", [])),
    ]:
        with pytest.raises(StorageUnavailable):
            await call
    with pytest.raises(ValueError, match="a bug"):  # other errors stay what they are
        await store.keys()

    # The SQL store with its database down at start: no retry loop, no memory fallback.
    started = time.monotonic()
    down = SQLTrackerStore(domain, host="postgresql://zijwijzer@127.0.0.1:9/none")
    # Rasa's own store sleeps 5 s per attempt, forever; ours returns at once.
    assert time.monotonic() - started < 30
    assert down.engine.pool._pre_ping is True
    strict = Agent._create_tracker_store(down, domain)
    with pytest.raises(StorageUnavailable):
        await strict.retrieve("a")

    # SQLite works as before; its tables are made at start.
    plain = SQLTrackerStore(domain, host=f"sqlite:///{in_tmp_path / 't.db'}")
    sqlite = Agent._create_tracker_store(plain, domain)
    await sqlite.save(DialogueStateTracker.from_dict("b", [{"event": "action", "name": "x"}]))
    assert len((await sqlite.retrieve("b")).events) == 1
    # ...with kept connections in write-ahead-log mode.
    assert type(plain.engine.pool).__name__ == type(down.engine.pool).__name__ == "QueuePool"
    with plain.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        # NORMAL: synced at checkpoints
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1


DOMAIN = Domain.from_yaml(
    """
version: "3.1"
slots:
  language: {type: text, mappings: [{type: custom}]}
  age: {type: float, mappings: [{type: custom}]}
responses:
  utter_action_unavailable:
  - condition: [{type: slot, name: language, value: en}]
    text: Something went wrong.
  - text: Er ging iets mis.
"""
)
NLG = TemplatedNaturalLanguageGenerator(DOMAIN.responses)


def tracker(language: str, message_id: str) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        "s",
        [
            SlotSet("language", language),
            SlotSet("age", 30.0),
            ActionExecuted("action_listen"),
            UserUttered("ik ben 38", message_id=message_id),
            SlotSet("age", 38.0),
        ],
        DOMAIN.slots,
    )


def summary(events: list[Event]) -> list[list[Any]]:
    return [
        [
            type(e).__name__,
            getattr(e, "text", None) or getattr(e, "key", None) or getattr(e, "action_name", None),
            getattr(e, "value", None),
        ]
        for e in events
    ]


async def call(name: str, url: str, language: str = "nl", message_id: str = "m-1") -> Any:
    action = RemoteAction(name, EndpointConfig(url))
    started = time.monotonic()
    try:
        events = await action.run(
            CollectingOutputChannel(), NLG, tracker(language, message_id), DOMAIN
        )
    except ActionExecutionRejection:
        return {"rejected": True}
    return {"seconds": round(time.monotonic() - started, 2), "events": summary(events)}


async def turn(*calls: tuple[str, ...]) -> list[Any]:
    # One turn is one task: after a failure the rest of the turn fails at once.
    return [await call(*c) for c in calls]


async def test_a_failed_action_call_gives_an_honest_answer_once_a_turn_and_no_loop(
    action_server: ActionServer,
) -> None:
    engine_faults.install(action_timeout=1.0)

    async def stalled(request: web.Request) -> web.Response:
        await action_server.stalled()  # a hung action server: never answers in time
        return web.json_response({"events": [], "responses": []})

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500)

    async def garbled(request: web.Request) -> web.Response:
        return web.Response(status=200, text="<html>proxy error</html>")

    async def rejects(request: web.Request) -> web.Response:
        return web.json_response({"action_name": "validate_x", "error": "no"}, status=400)

    flaky_deadlines: list[str | None] = []

    async def flaky(request: web.Request) -> web.Response:
        # A stalled action server first, then (the balancer's other server) one that answers.
        flaky_deadlines.append(request.headers.get("X-Zijwijzer-Action-Deadline"))
        if len(flaky_deadlines) == 1:
            await action_server.stalled()
        return web.json_response(
            {"events": [{"event": "slot", "name": "age", "value": 38.0}], "responses": []}
        )

    base = await action_server.start(
        {
            "/slow": stalled,
            "/broken": broken,
            "/rejects": rejects,
            "/garbled": garbled,
            "/flaky": flaky,
        }
    )
    slow, after, next_turn = await asyncio.create_task(
        turn(
            ("action_advice", base + "/slow"),
            ("validate_profile_form", base + "/slow"),
            # The next message (a new turn, same connection's task) tries the server again.
            ("action_advice", base + "/slow", "nl", "m-2"),
        )
    )
    # Gives up after the timeout (1 s here), says so in the conversation's language and
    # makes the bot listen next.
    print(f"slow action server: answered after {slow['seconds']} s (timeout 1 s)")
    assert 0.9 < slow["seconds"] < 5
    assert slow["events"] == [
        ["BotUttered", "Er ging iets mis.", None],
        ["FollowupAction", "action_listen", None],
    ]
    # The next call of the same turn fails at once, without a second message; a form's
    # validation puts back what the user's message set, so the form asks again.
    assert after["seconds"] < 0.5
    assert after["events"] == [["SlotSet", "age", 30.0]]
    assert next_turn["seconds"] > 0.9 and next_turn["events"] == slow["events"]

    (refused,) = await asyncio.create_task(turn(("action_advice", "http://127.0.0.1:9/x", "en")))
    assert refused["events"][0] == ["BotUttered", "Something went wrong.", None]
    (broken_call,) = await asyncio.create_task(turn(("validate_profile_form", base + "/broken")))
    assert broken_call["events"] == [
        ["BotUttered", "Er ging iets mis.", None],
        ["SlotSet", "age", 30.0],
    ]
    # A form's "not this slot" (400) is normal flow, not a failure.
    rejected = await asyncio.create_task(turn(("validate_profile_form", base + "/rejects")))
    assert rejected == [{"rejected": True}]
    # An answer that is not Rasa's format is a failed call too, told once.
    (garbled_call,) = await asyncio.create_task(turn(("action_converse", base + "/garbled")))
    assert garbled_call["events"] == slow["events"]

    # A stalled first attempt (half the time) is tried again, within the call's time, and the
    # second answer counts. Both attempts carry the same deadline: the call's start plus its
    # time (1 s), less the margin for the answer's way back (0.5 s).
    called = time.time()
    (retried,) = await asyncio.create_task(turn(("validate_profile_form", base + "/flaky")))
    assert 0.4 < retried["seconds"] < 1.0
    assert retried["events"] == [["SlotSet", "age", 38.0]]
    first, second = (float(d or "nan") - called for d in flaky_deadlines)
    assert first == second and 0.3 < first < 0.7
