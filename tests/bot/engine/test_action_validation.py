"""The engine's prebuilt check of action answers (bot/engine/action_validation.py), in .venv-rasa.

Rasa's own `_validate_action_result` and ours must agree on every answer: both accept the same
answers, and both refuse the same ones with the same error.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine_runtime import run_in_engine_runtime

ANSWERS = [
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

CHECK = """
import json, sys
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from bot.engine import action_validation

answers = json.loads(sys.argv[1])
action = RemoteAction("action_x", None)

def outcomes():
    found = []
    for answer in answers:
        try:
            found.append(["ok", action._validate_action_result(answer)])
        except ValidationError as error:
            found.append(["refused", error.message])
    return found

before = outcomes()
first, again = action_validation.install(), action_validation.install()
print(json.dumps({"before": before, "after": outcomes(), "installed": [first, again]}))
"""


def test_the_prebuilt_check_gives_rasas_own_verdicts(tmp_path: Path) -> None:
    done = run_in_engine_runtime(CHECK, json.dumps(ANSWERS), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["installed"] == [True, False]
    assert result["after"] == result["before"]
    verdicts = [verdict for verdict, _ in result["after"]]
    assert verdicts == ["ok", "ok", "refused", "refused", "refused", "refused", "ok"]
    assert all(
        "Failed to validate Action server response" in text
        for v, text in result["after"]
        if v == "refused"
    )
