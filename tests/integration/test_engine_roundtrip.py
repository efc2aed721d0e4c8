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


def test_intake_form_and_advice_roundtrip(stack: Stack, dutch: dict[str, dict[str, Any]]) -> None:
    sender = f"it-{uuid.uuid4().hex[:12]}"

    greeting = stack.say(sender, "hoi")
    assert texts(greeting) == [dutch["utter_greet"]["text"]]
    assert len(greeting[0]["buttons"]) == 3

    assert texts(stack.say(sender, "ik wil graag advies")) == [dutch["utter_ask_age"]["text"]]

    # Age 7 is rejected: a friendly hint with the limits from domain.yml, then the question again.
    rejected = stack.say(sender, "7")
    hint = dutch["utter_invalid_age"]["text"].format(min=16, max=80)
    assert texts(rejected) == [hint, dutch["utter_ask_age"]["text"]]

    assert texts(stack.say(sender, "achtendertig")) == [dutch["utter_ask_education"]["text"]]
    # Several answers in one message: none of them is asked again.
    several = "havo. Ik heb nog geen werkgever, 24 uur, geen uitkering, ik woon in Utrecht"
    assert texts(stack.say(sender, several)) == [dutch["utter_ask_care_qualifications"]["text"]]
    assert texts(stack.say(sender, "nee")) == [dutch["utter_ask_care_experience_years"]["text"]]
    sector_question = stack.say(sender, "0")
    assert texts(sector_question) == [dutch["utter_ask_sector"]["text"]]
    # A click on the first button ("Ouderenzorg") sends its payload.
    payload = sector_question[0]["buttons"][0]["payload"]
    assert payload == '/inform{"sector": "vvt"}'
    assert texts(stack.say(sender, payload)) == [dutch["utter_ask_goal"]["text"]]

    final = stack.say(sender, '/inform{"goal": "tasks"}')
    [custom] = [reply["custom"] for reply in final if "custom" in reply]
    # The compact advice payload (cards); the whole advice is saved behind its link.
    assert custom["type"] == "advice"
    assert len(json.dumps(custom)) < 10 * 1024
    assert custom["summary"]["routes"], "the catalogue gives at least one route for this profile"
    best_id = custom["summary"]["routes"][0]
    best = next(c for c in custom["cards"] if (c["kind"], c["id"]) == ("route", best_id))
    first = texts(final)[0]
    assert first.startswith(dutch["utter_advice_summary"]["text"].split("{")[0])
    assert best["title"] in first
    link = custom["link"]
    assert link.startswith(f"{stack.web_url}/advies/")
    assert len(texts(final)) == 2 + len(custom["warnings"])
    assert texts(final)[-1].startswith(dutch["utter_advice_saved"]["text"].split("{")[0])
    assert link in texts(final)[-1]
    with urllib.request.urlopen(link, timeout=30) as page:
        assert page.headers["X-Robots-Tag"].startswith("noindex")
        assert html.escape(best["title"]) in page.read().decode("utf-8")

    tracker = stack.tracker(sender)
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
    with sqlite3.connect(stack.tracker_db) as db:
        (stored,) = db.execute(
            "SELECT count(*) FROM events WHERE sender_id = ?", (sender,)
        ).fetchone()
    assert stored == len(events)
    # The tracker keeps the compact payload, not the engine's whole advice (~90 KB).
    assert max(len(json.dumps(e)) for e in events if e["event"] == "bot") < 12 * 1024

    # A question after the advice is answered from the catalogue, with its source.
    answer = texts(stack.say(sender, "wat is BBL?"))
    assert len(answer) == 1 and "(bron: " in answer[0]
