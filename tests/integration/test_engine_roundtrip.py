"""The engine (.venv-rasa) and the action server (.venv) together, over the REST channel.

Uses the session-wide `stack` (tests/stack.py): the processes started the way `make run`
starts them, with temporary databases, talking to the trained model in models/.
"""

from __future__ import annotations

import html
import json
import sqlite3
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.stack import Stack, texts

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_an_intake_and_its_advice_roundtrip(stack: Stack, dutch: dict[str, dict[str, Any]]) -> None:
    sender = f"it-{uuid.uuid4().hex[:12]}"

    greeting = stack.say(sender, "hoi")
    assert texts(greeting) == [dutch["utter_greet"]["text"]]
    assert len(greeting[0]["buttons"]) == 3

    start = texts(stack.say(sender, "ik wil graag advies"))
    assert start == [dutch["utter_intake_start"]["text"], dutch["utter_ask_sector"]["text"]]
    sector_question = stack.say(sender, "ouderenzorg")
    assert texts(sector_question) == [dutch["utter_ask_goal"]["text"]]
    # A click on the first button sends its payload.
    payload = sector_question[0]["buttons"][0]["payload"]
    assert payload == '/inform{"goal": "tasks"}'
    assert texts(stack.say(sender, payload)) == [dutch["utter_ask_target"]["text"]]
    assert texts(stack.say(sender, "weet ik nog niet")) == [dutch["utter_ask_age"]["text"]]

    # Age 7 is refused: a friendly hint with the limits, no age stored.
    hint = dutch["utter_invalid_age"]["text"].format(min=16, max=80)
    assert texts(stack.say(sender, "7")) == [hint]

    assert texts(stack.say(sender, "achtendertig")) == [dutch["utter_ask_education"]["text"]]
    # Several answers in one message: what was noted is said, none of them is asked again.
    several = texts(stack.say(sender, "havo. Ik heb nog geen werkgever, 24 uur, geen uitkering"))
    assert several[0].startswith(dutch["utter_noted"]["text"].split("{")[0])
    assert several[-1] == dutch["utter_ask_care_qualifications"]["text"]
    assert texts(stack.say(sender, "nee")) == [dutch["utter_ask_care_experience_years"]["text"]]
    assert texts(stack.say(sender, "0")) == [dutch["utter_ask_region"]["text"]]

    final = stack.say(sender, "Utrecht")
    [custom] = [reply["custom"] for reply in final if "custom" in reply]
    # The plan's card (catalogue/plan_view.py); the whole plan is saved behind its link.
    assert custom["type"] == "advice" and custom["format"] == "zijwijzer-plan/1"
    assert len(json.dumps(custom)) < 10 * 1024
    link = custom["link"]
    assert link.startswith(f"{stack.web_url}/advies/")
    said = texts(final)
    assert said[-1] == dutch["utter_next_steps"]["text"]
    assert any(link in text for text in said)
    with urllib.request.urlopen(link, timeout=30) as page:
        assert page.headers["X-Robots-Tag"].startswith("noindex")
        body = page.read().decode("utf-8")
    assert custom["refs"]["route"] or custom["refs"]["units"]
    for step in custom["steps"]:
        assert html.escape(step["title"]) in body
    # The REST channel draws no card: the chat's text says the steps.
    assert any(custom["steps"][0]["title"] in text for text in said)

    tracker = stack.tracker(sender)
    slots = tracker["slots"]
    assert slots["age"] == 38
    assert slots["sector"] == "vvt"
    assert slots["target"] == "unknown"
    assert slots["hours_per_week"] == 24
    assert (slots["employer"], slots["benefit"], slots["region"]) == ("none", "none", "Utrecht")
    assert slots["employer_sbb_recognised"] is None  # not asked: no employer in care
    assert slots["advice_given"] is True
    assert slots["open_question"] is None

    events = tracker["events"]
    # The refused 7 is never stored as an age.
    ages = [e["value"] for e in events if e["event"] == "slot" and e["name"] == "age"]
    assert 7 not in ages and "7" not in ages
    assert ages[-1] == 38
    # One action answered every message.
    actions = [e["name"] for e in events if e["event"] == "action"]
    assert set(actions) <= {"action_session_start", "action_listen", "action_converse"}
    users = [e for e in events if e["event"] == "user"]
    assert actions.count("action_converse") == len(users)

    # The turns went to the SQLite tracker store, not to an in-memory fallback.
    with sqlite3.connect(stack.tracker_db) as db:
        (stored,) = db.execute(
            "SELECT count(*) FROM events WHERE sender_id = ?", (sender,)
        ).fetchone()
    assert stored == len(events)
    # The tracker keeps the compact card, not the whole plan.
    assert max(len(json.dumps(e)) for e in events if e["event"] == "bot") < 12 * 1024

    # A question after the advice is answered from the knowledge base, with its source.
    answer = texts(stack.say(sender, "wat is BBL?"))
    assert "(bron: " in answer[0]
    assert answer[-1] == dutch["utter_next_steps"]["text"]
