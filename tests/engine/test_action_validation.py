"""The engine's prebuilt check of action answers (bot/engine/action_validation.py).

Rasa's own `_validate_action_result` and ours must agree on every answer: both accept the same
answers, and both refuse the same ones with the same error.
"""

from __future__ import annotations

from typing import Any

from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot.engine import action_validation

ANSWERS: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "name": "age", "value": 38, "timestamp": None}],
        "responses": [{"response": "utter_ask_education", "age": 38}],
    },
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": [{"name": "age"}], "responses": []},
    {"events": "not a list", "responses": []},
    {"events": [], "responses": {"text": "not a list"}},
    {},
]


def outcomes() -> list[tuple[str, object]]:
    action = RemoteAction("action_x", None)
    found: list[tuple[str, object]] = []
    for answer in ANSWERS:
        try:
            found.append(("ok", action._validate_action_result(answer)))
        except ValidationError as error:
            found.append(("refused", error.message))
    return found


def test_the_prebuilt_check_gives_rasas_own_verdicts() -> None:
    before = outcomes()
    installed = [action_validation.install(), action_validation.install()]
    after = outcomes()
    assert installed == [True, False]
    assert after == before
    verdicts = [verdict for verdict, _ in after]
    assert verdicts == ["ok", "ok", "refused", "refused", "refused", "refused", "ok"]
    assert all(
        "Failed to validate Action server response" in str(text)
        for v, text in after
        if v == "refused"
    )
