"""The engine (.venv-rasa) and the action server (.venv) together, over the REST channel.

Starts both the way `make run` does (tools/assistant.py) on free loopback ports, with a
catalogue database loaded by `python -m catalogue load` and a tracker store in a temporary
SQLite file, and talks to the trained model in models/ (`make pytest` trains it first).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import Settings, load_settings
from tools import assistant

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "integration-test-token"
REQUEST_TIMEOUT = 60.0


@dataclass
class Running:
    settings: Settings
    tracker_db: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    def say(self, sender: str, message: str) -> list[dict[str, Any]]:
        body = json.dumps({"sender": sender, "message": message}).encode()
        request = urllib.request.Request(
            f"{self.base}/webhooks/rest/webhook",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as answer:
            replies: list[dict[str, Any]] = json.load(answer)
        return replies

    def tracker(self, sender: str) -> dict[str, Any]:
        url = f"{self.base}/conversations/{sender}/tracker?token={TOKEN}"
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT) as answer:
            tracker: dict[str, Any] = json.load(answer)
        return tracker


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    if not assistant.MODEL.exists():
        pytest.fail(f"no trained model at {assistant.MODEL}: run `make train` (or `make pytest`)")
    tmp = tmp_path_factory.mktemp("assistant")
    rasa_port, action_port = free_port(), free_port()
    while action_port == rasa_port:
        action_port = free_port()
    variables = {
        "ZIJWIJZER_DATABASE_URL": f"sqlite:///{tmp / 'catalogue.db'}",
        "ZIJWIJZER_TRACKER_DATABASE_URL": f"sqlite:///{tmp / 'trackers.db'}",
        "ZIJWIJZER_RASA_PORT": str(rasa_port),
        "ZIJWIJZER_ACTION_PORT": str(action_port),
        "ZIJWIJZER_ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        "RASA_TELEMETRY_ENABLED": "false",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in variables.items():
            patch.setenv(name, value)
        settings = load_settings()
        env = dict(os.environ)

    load = subprocess.run(
        [str(assistant.PYTHON), "-m", "catalogue", "load"],
        cwd=ROOT,
        env=env,
        timeout=120,
        capture_output=True,
        text=True,
    )
    assert load.returncode == 0, f"catalogue load failed:\n{load.stdout}\n{load.stderr}"

    action_log, engine_log = tmp / "action-server.log", tmp / "engine.log"
    print(f"logs: {action_log} {engine_log}")
    with action_log.open("wb") as action_out, engine_log.open("wb") as engine_out:
        processes = [assistant.start_action_server(settings, env, output=action_out)]
        try:
            processes.append(
                assistant.start_engine(
                    settings, env, api_token=TOKEN, workdir=tmp / "rasa", output=engine_out
                )
            )
            try:
                assistant.wait_ready(processes)
            except (RuntimeError, TimeoutError) as error:
                pytest.fail(
                    f"{error}\n--- engine\n{tail(engine_log)}\n--- actions\n{tail(action_log)}"
                )
            yield Running(settings, tmp / "trackers.db")
        finally:
            assistant.stop(processes)


@pytest.fixture(scope="module")
def dutch() -> dict[str, dict[str, Any]]:
    """The Dutch (default) variant of every response in domain.yml."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return {
        name: next(v for v in variants if "condition" not in v)
        for name, variants in domain["responses"].items()
    }


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [reply["text"] for reply in replies if "text" in reply]


def test_intake_form_and_advice_roundtrip(
    running: Running, dutch: dict[str, dict[str, Any]]
) -> None:
    sender = f"it-{uuid.uuid4().hex[:12]}"

    greeting = running.say(sender, "hoi")
    assert texts(greeting) == [dutch["utter_greet"]["text"]]
    assert len(greeting[0]["buttons"]) == 3

    assert texts(running.say(sender, "ik wil graag advies")) == [dutch["utter_ask_age"]["text"]]

    # Age 7 is rejected: a friendly hint with the limits from domain.yml, then the question again.
    rejected = running.say(sender, "7")
    hint = dutch["utter_invalid_age"]["text"].format(min=16, max=80)
    assert texts(rejected) == [hint, dutch["utter_ask_age"]["text"]]

    assert texts(running.say(sender, "achtendertig")) == [dutch["utter_ask_education"]["text"]]
    # Several answers in one message: none of them is asked again.
    several = "havo. Ik heb nog geen werkgever, 24 uur, geen uitkering, ik woon in Utrecht"
    assert texts(running.say(sender, several)) == [dutch["utter_ask_care_qualifications"]["text"]]
    assert texts(running.say(sender, "nee")) == [dutch["utter_ask_care_experience_years"]["text"]]
    sector_question = running.say(sender, "0")
    assert texts(sector_question) == [dutch["utter_ask_sector"]["text"]]
    # A click on the first button ("Ouderenzorg") sends its payload.
    payload = sector_question[0]["buttons"][0]["payload"]
    assert payload == '/inform{"sector": "vvt"}'
    assert texts(running.say(sender, payload)) == [dutch["utter_ask_goal"]["text"]]

    final = running.say(sender, '/inform{"goal": "tasks"}')
    [custom] = [reply["custom"] for reply in final if "custom" in reply]
    assert custom["type"] == "advice"
    advice = custom["advice"]
    for key in ("units", "routes", "funding", "summary", "catalogue_version"):
        assert key in advice
    assert advice["routes"], "the catalogue gives at least one route for this profile"
    best_id = advice["summary"]["routes"][0]
    best = next(route for route in advice["routes"] if route["id"] == best_id)
    first = texts(final)[0]
    assert first.startswith(dutch["utter_advice_summary"]["text"].split("{")[0])
    assert best["title"] in first
    assert len(texts(final)) == 1 + len(advice["warnings"])

    tracker = running.tracker(sender)
    slots = tracker["slots"]
    assert slots["age"] == 38
    assert slots["sector"] == "vvt"
    assert slots["hours_per_week"] == 24
    assert (slots["employer"], slots["benefit"], slots["region"]) == ("none", "none", "Utrecht")
    assert slots["employer_sbb_recognised"] is None  # not asked: no employer in care
    assert slots["advice_given"] is True
    assert slots["recommended_route"] == best_id
    assert slots["requested_slot"] is None

    events = tracker["events"]
    # The rejected 7 is never stored as an age.
    ages = [e["value"] for e in events if e["event"] == "slot" and e["name"] == "age"]
    assert 7 not in ages and "7" not in ages
    assert ages[-1] == 38
    actions = [e["name"] for e in events if e["event"] == "action"]
    assert "action_give_advice" in actions
    assert actions.index("action_give_advice") > actions.index("profile_form")
    loops = [e["name"] for e in events if e["event"] == "active_loop"]
    assert loops == ["profile_form", None]  # the form was activated, then deactivated
    assert tracker["active_loop"] in ({}, {"name": None})

    # The turns went to the SQLite tracker store, not to an in-memory fallback.
    with sqlite3.connect(running.tracker_db) as db:
        (stored,) = db.execute(
            "SELECT count(*) FROM events WHERE sender_id = ?", (sender,)
        ).fetchone()
    assert stored == len(events)

    # A question after the advice is answered from the catalogue, with its source.
    answer = texts(running.say(sender, "wat is BBL?"))
    assert len(answer) == 1 and "(bron: " in answer[0]
