"""The engine's fault handling (bot/engine/engine_faults.py), run in .venv-rasa against Rasa 3.6.

Each snippet prints one JSON line of what it saw; the assertions are here. The end-to-end
version (a real engine, PostgreSQL behind a cut proxy, a stopped action server) is
tests/integration/test_faults.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.engine_runtime import run_in_engine_runtime


def run(code: str, tmp_path: Path) -> dict[str, Any]:
    done = run_in_engine_runtime(code, cwd=tmp_path, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


STORE = """
import asyncio, json, time
from rasa.core.agent import Agent
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import OperationalError
from bot.engine import engine_faults
from bot.engine.engine_faults import StorageUnavailable

engine_faults.install(action_timeout=1.0)
engine_faults.install(action_timeout=1.0)  # twice: no double wrapping
seen = {}

class Broken(InMemoryTrackerStore):
    async def retrieve(self, sender_id):
        raise OperationalError("SELECT", {}, Exception("connection refused"))
    async def save(self, tracker):
        raise OperationalError("INSERT", {}, Exception("connection refused"))
    async def keys(self):
        raise ValueError("a bug, not the database")

async def main():
    domain = Domain.empty()
    store = Agent._create_tracker_store(Broken(domain), domain)
    seen["wrapper"] = isinstance(store, FailSafeTrackerStore)
    for name, call in [
        ("retrieve", store.retrieve("a")),
        ("get_or_create", store.get_or_create_tracker("a")),
        ("save", store.save(DialogueStateTracker("a", []))),
        ("keys", store.keys()),
    ]:
        try:
            await call
            seen[name] = "no error"
        except StorageUnavailable:
            seen[name] = "storage_unavailable"
        except ValueError:
            seen[name] = "ValueError"
    # The SQL store with its database down at start: no retry loop, no memory fallback.
    started = time.monotonic()
    down = SQLTrackerStore(domain, host="postgresql://zijwijzer@127.0.0.1:9/none")
    seen["start_seconds"] = time.monotonic() - started
    seen["pre_ping"] = down.engine.pool._pre_ping
    strict = Agent._create_tracker_store(down, domain)
    try:
        await strict.retrieve("a")
        seen["down_retrieve"] = "no error"
    except StorageUnavailable:
        seen["down_retrieve"] = "storage_unavailable"
    # SQLite works as before; its tables are made at start.
    plain = SQLTrackerStore(domain, host="sqlite:///t.db")
    sqlite = Agent._create_tracker_store(plain, domain)
    await sqlite.save(DialogueStateTracker.from_dict("b", [{"event": "action", "name": "x"}]))
    seen["sqlite_events"] = len((await sqlite.retrieve("b")).events)
    # ...with kept connections in write-ahead-log mode.
    seen["sqlite_pool"] = type(plain.engine.pool).__name__
    with plain.engine.connect() as connection:
        seen["sqlite_journal"] = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        seen["sqlite_synchronous"] = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    seen["postgres_pool"] = type(down.engine.pool).__name__

asyncio.run(main())
print(json.dumps(seen))
"""


def test_storage_errors_refuse_the_turn_and_a_database_down_at_start_is_retried_lazily(
    tmp_path: Path,
) -> None:
    seen = run(STORE, tmp_path)
    assert seen["wrapper"] is True
    assert seen["retrieve"] == seen["get_or_create"] == seen["save"] == "storage_unavailable"
    assert seen["keys"] == "ValueError"  # other errors stay what they are
    # Rasa's own store sleeps 5 s per attempt, forever; ours returns at once.
    assert seen["start_seconds"] < 30
    assert seen["pre_ping"] is True
    assert seen["down_retrieve"] == "storage_unavailable"
    assert seen["sqlite_events"] == 1
    assert seen["sqlite_pool"] == seen["postgres_pool"] == "QueuePool"
    assert seen["sqlite_journal"] == "wal"
    assert seen["sqlite_synchronous"] == 1  # NORMAL: synced at checkpoints


ACTIONS = """
import asyncio, json, time
from aiohttp import web
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from bot.engine import engine_faults

engine_faults.install(action_timeout=1.0)
DOMAIN = Domain.from_yaml('''
version: "3.1"
slots:
  language: {type: text, mappings: [{type: custom}]}
  age: {type: float, mappings: [{type: custom}]}
responses:
  utter_action_unavailable:
  - condition: [{type: slot, name: language, value: en}]
    text: Something went wrong.
  - text: Er ging iets mis.
''')
NLG = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
seen = {}

async def slow(request):
    await asyncio.sleep(30)
    return web.json_response({"events": [], "responses": []})

async def broken(request):
    return web.Response(status=500)

async def garbled(request):
    return web.Response(status=200, text="<html>proxy error</html>")

async def rejects(request):
    return web.json_response({"action_name": "validate_x", "error": "no"}, status=400)

flaky_deadlines = []

async def flaky(request):
    # A stalled action server first, then (the balancer's other server) one that answers.
    flaky_deadlines.append(request.headers.get("X-Zijwijzer-Action-Deadline"))
    if len(flaky_deadlines) == 1:
        await asyncio.sleep(30)
    return web.json_response({"events": [{"event": "slot", "name": "age", "value": 38.0}],
                              "responses": []})

def tracker(language, message_id):
    return DialogueStateTracker.from_events("s", [
        SlotSet("language", language), SlotSet("age", 30.0), ActionExecuted("action_listen"),
        UserUttered("ik ben 38", message_id=message_id), SlotSet("age", 38.0),
    ], DOMAIN.slots)

def summary(events):
    return [[type(e).__name__, getattr(e, "text", None) or getattr(e, "key", None)
             or getattr(e, "action_name", None), getattr(e, "value", None)] for e in events]

async def call(name, url, language="nl", message_id="m-1"):
    action = RemoteAction(name, EndpointConfig(url))
    started = time.monotonic()
    try:
        events = await action.run(
            CollectingOutputChannel(), NLG, tracker(language, message_id), DOMAIN)
    except ActionExecutionRejection:
        return {"rejected": True}
    return {"seconds": round(time.monotonic() - started, 2), "events": summary(events)}

async def turn(*calls):
    # One turn is one task: after a failure the rest of the turn fails at once.
    return [await call(*c) for c in calls]

async def main():
    app = web.Application()
    app.router.add_post("/slow", slow)
    app.router.add_post("/broken", broken)
    app.router.add_post("/rejects", rejects)
    app.router.add_post("/garbled", garbled)
    app.router.add_post("/flaky", flaky)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = "http://127.0.0.1:%d" % site._server.sockets[0].getsockname()[1]
    seen["slow"] = await asyncio.create_task(turn(
        ("action_advice", base + "/slow"), ("validate_profile_form", base + "/slow"),
        # The next message (a new turn, same connection's task) tries the server again.
        ("action_advice", base + "/slow", "nl", "m-2")))
    nowhere = "http://127.0.0.1:9/x"
    seen["refused"] = await asyncio.create_task(turn(("action_advice", nowhere, "en")))
    seen["broken"] = await asyncio.create_task(turn(("validate_profile_form", base + "/broken")))
    seen["rejects"] = await asyncio.create_task(turn(("validate_profile_form", base + "/rejects")))
    seen["garbled"] = await asyncio.create_task(turn(("action_converse", base + "/garbled")))
    called = time.time()
    seen["retried"] = await asyncio.create_task(turn(("validate_profile_form", base + "/flaky")))
    seen["retried_deadlines"] = [float(d) - called for d in flaky_deadlines]
    await runner.cleanup()

asyncio.run(main())
print(json.dumps(seen))
"""


def test_a_failed_action_call_gives_an_honest_answer_once_a_turn_and_no_loop(
    tmp_path: Path,
) -> None:
    seen = run(ACTIONS, tmp_path)
    slow, after, next_turn = seen["slow"]
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
    (refused,) = seen["refused"]
    assert refused["events"][0] == ["BotUttered", "Something went wrong.", None]
    (broken,) = seen["broken"]
    assert broken["events"] == [["BotUttered", "Er ging iets mis.", None], ["SlotSet", "age", 30.0]]
    # An answer that is not Rasa's format is a failed call too, told once.
    (garbled,) = seen["garbled"]
    assert garbled["events"] == slow["events"]
    # A form's "not this slot" (400) is normal flow, not a failure.
    assert seen["rejects"] == [{"rejected": True}]
    # A stalled first attempt (half the time) is tried again, within the call's time, and the
    # second answer counts. Both attempts carry the same deadline: the call's start plus its
    # time (1 s), less the margin for the answer's way back (0.5 s).
    (retried,) = seen["retried"]
    assert 0.4 < retried["seconds"] < 1.0
    assert retried["events"] == [["SlotSet", "age", 38.0]]
    first, second = seen["retried_deadlines"]
    assert first == second and 0.3 < first < 0.7
