"""The engine's action calls (bot/engine/action_client.py) against Rasa 3.6.

A stand-in action server that speaks rasa-sdk's domain-digest protocol (449 when it lacks the
domain the digest names) records every request. That the real rasa-sdk server answers so is
tests/bot/test_action_server.py's; a whole engine and action server talking is tests/integration.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.engine import action_client, engine_faults
from conftest import ActionServer


async def test_the_domain_goes_once_by_digest_over_a_kept_connection(
    root: Path, action_server: ActionServer
) -> None:
    engine_faults.install(action_timeout=5.0)
    installed_again = action_client.install()
    domain = Domain.load(str(root / "domain.yml"))
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    requests: list[dict[str, Any]] = []
    held: dict[str, str] = {}  # what a rasa-sdk server keeps: the last domain and its digest

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        assert request.transport is not None
        requests.append(
            {
                "peer": request.transport.get_extra_info("peername")[1],
                "digest": body.get("domain_digest"),
                "domain": "domain" in body,
                "domain_equal": body.get("domain") == json.loads(json.dumps(domain.as_dict())),
                "events": len(body["tracker"]["events"]),
                "call": request.headers.get("X-Call"),
            }
        )
        if "domain" in body:
            held["digest"] = body["domain_digest"]
        elif held.get("digest") != body.get("domain_digest"):
            return web.json_response({"error": "no domain", "action_name": "x"}, status=449)
        return web.json_response(
            {
                "events": [{"event": "slot", "name": "language", "value": "nl"}],
                "responses": [{"text": "hallo"}],
            }
        )

    url = await action_server.start({"/webhook": webhook}) + "/webhook"
    tracker = DialogueStateTracker.from_events(
        "s", [ActionExecuted("action_listen"), UserUttered("hoi", message_id="m-1")], domain.slots
    )
    answers = []
    for call in range(3):
        # Headers that differ per call (the engine's deadline does) go with each request.
        action = RemoteAction("action_converse", EndpointConfig(url, headers={"X-Call": str(call)}))
        events = await action.run(CollectingOutputChannel(), nlg, tracker, domain)
        answers.append([type(e).__name__ for e in events])
    # A restarted action server no longer holds the domain: asked for once more.
    held.clear()
    action = RemoteAction("action_converse", EndpointConfig(url))
    await action.run(CollectingOutputChannel(), nlg, tracker, domain)
    text, digest = action_client.domain_digest(domain.as_dict())

    assert installed_again is False  # engine_faults installed it, once
    # First call: the digest alone, refused (449), then sent once more with the domain.
    assert [(r["digest"] is not None, r["domain"]) for r in requests[:2]] == [
        (True, False),
        (True, True),
    ]
    assert requests[1]["domain_equal"] is True
    assert requests[0]["digest"] == requests[1]["digest"]
    # The next calls carry only the digest, and the answer is Rasa's as before.
    assert [r["domain"] for r in requests[2:4]] == [False, False]
    assert answers == [["BotUttered", "SlotSet"]] * 3
    # The server lost the domain: 449, then the domain once more.
    assert [r["domain"] for r in requests[4:]] == [False, True]
    assert digest == hashlib.sha256(text.encode()).hexdigest()
    # One kept connection for all of them.
    assert len({r["peer"] for r in requests}) == 1
    assert all(r["events"] == 2 for r in requests)
    assert [r["call"] for r in requests[:4]] == ["0", "0", "1", "2"]
