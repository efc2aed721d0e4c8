"""The domain encoded once in action calls (bot/action_payload.py), in .venv-rasa.

What the action server receives must be what Rasa's own encoding gives (the same JSON value),
for a real call of a RemoteAction with the project's domain; the domain is encoded once per
domain, and every other body is left to `json.dumps`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.engine_runtime import run_in_engine_runtime
from tools.assistant import ROOT

CHECK = """
import asyncio, json, sys
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from bot import action_payload

domain = Domain.load(sys.argv[1] + "/domain.yml")
seen = {"installed": [action_payload.install(), action_payload.install()]}

# Bodies of every shape: the same JSON value as json.dumps gives.
shapes = [
    {"next_action": "x", "tracker": {"events": [{"text": "café 🙂"}]}, "domain": domain.as_dict()},
    {"domain": domain.as_dict()},
    {"domain": {}},
    {"domain": "not a dict", "a": 1},
    {"no": "domain"},
    [1, 2, {"domain": {}}],
    "text",
]
seen["same_value"] = [
    json.loads(action_payload.dumps(body)) == json.loads(json.dumps(body)) for body in shapes
]

# The domain is encoded once per domain dict, not per call.
encoded = []
real = json.dumps
def counting(value, *args, **kwargs):
    if value is domain.as_dict():
        encoded.append(1)
    return real(value, *args, **kwargs)
action_payload.json.dumps = counting
action_payload._encoded.clear()
for _ in range(5):
    action_payload.dumps({"next_action": "x", "domain": domain.as_dict()})
seen["domain_encoded"] = len(encoded)
action_payload.json.dumps = real

# A real call: what the action server reads is Rasa's body.
received = []
async def actions(request):
    received.append(await request.read())
    return web.json_response({"events": [{"event": "slot", "name": "age", "value": 41}],
                              "responses": []})

async def main():
    app = web.Application()
    app.router.add_post("/webhook", actions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = "http://127.0.0.1:%d/webhook" % site._server.sockets[0].getsockname()[1]
    tracker = DialogueStateTracker.from_events("s", [
        ActionExecuted("action_listen"), UserUttered("ik ben 41, één café", message_id="m-1"),
        SlotSet("age", 41.0),
    ], domain.slots)
    action = RemoteAction("validate_profile_form", EndpointConfig(url))
    expected = action._action_call_format(tracker, domain)
    events = await action.run(CollectingOutputChannel(),
                              TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain)
    await runner.cleanup()
    body = json.loads(received[0])
    seen["call_body_same"] = body == json.loads(json.dumps(expected))
    seen["call_has_domain"] = body.get("domain", {}).get("slots") is not None
    seen["call_events"] = [type(e).__name__ for e in events]

asyncio.run(main())
print(json.dumps(seen))
"""


def run(tmp_path: Path) -> dict[str, Any]:
    done = run_in_engine_runtime(CHECK, str(ROOT), cwd=tmp_path, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_action_server_gets_rasas_body_with_the_domain_encoded_once(tmp_path: Path) -> None:
    seen = run(tmp_path)
    assert seen["installed"] == [True, False]
    assert seen["same_value"] == [True] * 7
    assert seen["domain_encoded"] == 1
    assert seen["call_body_same"] is True
    assert seen["call_has_domain"] is True
    assert seen["call_events"] == ["SlotSet"]
