"""Privacy in storage, end to end: what users type reaches the tracker store without personal
data, a user can erase the conversation from the chat, and old conversations are purged.

Uses the session-wide `stack` (tests/stack.py) and reads its SQLite tracker database directly,
every column of every row, so nothing the engine wrote escapes the check.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.stack import Stack, texts
from tools import assistant

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DAY = 86400.0

# What a user types (in realistic sentences) and what of it must never be stored.
PERSONAL = [
    ("Je kunt me mailen op jan.de.vries@example.nl voor het advies", ["jan.de.vries@example.nl"]),
    ("Mijn nummer is 06-24681357, op mijn werk +31 6 9753 1864", ["24681357", "9753 1864"]),
    ("mijn bsn is 111222333 als je dat nodig hebt", ["111222333"]),
    ("Mijn rekeningnummer is NL91 ABNA 0417 1643 00", ["NL91", "0417 1643", "ABNA"]),
    ("Ik woon op Dorpsstraat 12, 3811 AB Amersfoort", ["Dorpsstraat 12", "3811 AB"]),
    # (Not "1987" alone: timestamps in the data column may contain those digits.)
    ("Ik ben geboren op 14 maart 1987", ["14 maart 1987", "maart 1987"]),
]
# A 9-digit number that fails the 11-test is no BSN: it must stay.
ORDINARY = ("Mijn klantnummer bij het UWV is 123456789", "123456789")


def stored_rows(stack: Stack, sender: str) -> list[tuple[Any, ...]]:
    """Every column of every stored event of the conversation."""
    with sqlite3.connect(stack.tracker_db) as db:
        return db.execute(
            "SELECT id, sender_id, type_name, timestamp, intent_name, action_name, data "
            "FROM events WHERE sender_id = ? ORDER BY id",
            (sender,),
        ).fetchall()


def everything_stored(stack: Stack) -> str:
    """The whole events table as one text: no row or column is left out of a search."""
    with sqlite3.connect(stack.tracker_db) as db:
        rows = db.execute("SELECT * FROM events").fetchall()
    return "\n".join(" | ".join(str(value) for value in row) for row in rows)


def slot_values(rows: list[tuple[Any, ...]], slot: str) -> list[Any]:
    events = [json.loads(row[6]) for row in rows]
    return [e["value"] for e in events if e["event"] == "slot" and e["name"] == slot]


def test_personal_data_never_reaches_the_tracker_store(
    stack: Stack, dutch: dict[str, dict[str, Any]]
) -> None:
    sender = f"privacy-{uuid.uuid4().hex[:12]}"
    assert texts(stack.say(sender, "hoi")) == [dutch["utter_greet"]["text"]]
    assert texts(stack.say(sender, "ik wil graag advies"))[-1] == dutch["utter_ask_sector"]["text"]
    for message, question in (
        ("ouderenzorg", "utter_ask_goal"),
        ("zo snel mogelijk aan het werk", "utter_ask_target"),
        ("weet ik nog niet", "utter_ask_age"),
        ("ik ben 38", "utter_ask_education"),
    ):
        assert texts(stack.say(sender, message)) == [dutch[question]["text"]], message

    # Personal data in the middle of the intake: the bot answers every message (what it
    # answers depends on how each is understood), from the tracker stored redacted each turn.
    for message, _secrets in [*PERSONAL, (ORDINARY[0], [])]:
        assert texts(stack.say(sender, message)), f"no answer to {message!r}"

    rows = stored_rows(stack, sender)
    assert rows, "the turns were stored"
    # The turns went to the SQLite store (not to an in-memory fallback), and all of them.
    assert len(rows) == len(stack.tracker(sender)["events"])
    stored = everything_stored(stack)
    for message, secrets in PERSONAL:
        for secret in secrets:
            assert secret not in stored, f"{secret!r} (from {message!r}) was stored"
    # Also as JSON escapes or without spaces, the way a serialiser might write them.
    for secret in ("jan.de.vries", "example.nl", "0624681357", "97531864", "0417164300"):
        assert secret not in stored.replace(" ", "")
    assert ORDINARY[1] in stored, "an ordinary number is kept"

    user_texts = " ".join(str(row[6]) for row in rows if row[2] == "user")
    for placeholder in ("[e-mail]", "[telefoonnummer]", "[bsn]", "[iban]", "[adres]"):
        assert placeholder in user_texts
    assert "[geboortedatum]" in user_texts
    # The conversation's state is stored as it was: the age given before is still known.
    assert slot_values(rows, "age")[-1] == 38
    assert stack.tracker(sender)["slots"]["age"] == 38


def test_erase_from_the_chat_during_the_intake(
    stack: Stack, dutch: dict[str, dict[str, Any]]
) -> None:
    sender = f"erase-{uuid.uuid4().hex[:12]}"
    stack.say(sender, "ik wil graag advies")
    stack.say(sender, "ik ben 41, mail me op piet@example.org")
    assert stored_rows(stack, sender)

    question = stack.say(sender, "verwijder mijn gesprek")
    assert texts(question) == [dutch["utter_ask_erase_confirm"]["text"]]
    payloads = [button["payload"] for button in question[0]["buttons"]]
    assert payloads == ["/affirm", "/deny"]

    done = stack.say(sender, "/affirm")
    assert texts(done) == [dutch["utter_conversation_erased"]["text"]]
    assert stored_rows(stack, sender) == [], "every stored event of the conversation is gone"

    # A fresh conversation: nothing known, the intake starts from the beginning.
    assert texts(stack.say(sender, "hoi")) == [dutch["utter_greet"]["text"]]
    rows = stored_rows(stack, sender)
    assert rows and not slot_values(rows, "age")
    assert stack.tracker(sender)["slots"]["age"] is None


def test_no_erases_nothing_and_the_intake_goes_on(
    stack: Stack, dutch: dict[str, dict[str, Any]]
) -> None:
    sender = f"keep-{uuid.uuid4().hex[:12]}"
    assert texts(stack.say(sender, "ik wil graag advies"))[-1] == dutch["utter_ask_sector"]["text"]
    assert texts(stack.say(sender, "wis mijn gegevens")) == [
        dutch["utter_ask_erase_confirm"]["text"]
    ]
    assert texts(stack.say(sender, "/deny")) == [
        dutch["utter_erase_cancelled"]["text"],
        dutch["utter_ask_sector"]["text"],
    ]
    assert texts(stack.say(sender, "ouderenzorg")) == [dutch["utter_ask_goal"]["text"]]
    assert slot_values(stored_rows(stack, sender), "sector")[-1] == "vvt"


def test_erase_outside_the_intake_in_english(stack: Stack) -> None:
    sender = f"erase-en-{uuid.uuid4().hex[:12]}"
    stack.say(sender, "hello")
    question = stack.say(sender, "please delete my data")
    assert question and question[0]["buttons"][0]["payload"] == "/affirm"
    before = len(stored_rows(stack, sender))
    assert before > 0
    assert texts(stack.say(sender, "yes"))
    assert stored_rows(stack, sender) == []


def test_purge_removes_a_conversation_made_old(stack: Stack) -> None:
    old = f"old-{uuid.uuid4().hex[:12]}"
    recent = f"recent-{uuid.uuid4().hex[:12]}"
    stack.say(old, "hoi")
    stack.say(recent, "hoi")
    with sqlite3.connect(stack.tracker_db) as db:
        db.execute(
            "UPDATE events SET timestamp = timestamp - ? WHERE sender_id = ?", (400 * DAY, old)
        )
    assert stored_rows(stack, old) and stored_rows(stack, recent)

    purge = subprocess.run(
        [str(assistant.PYTHON), "-m", "bot.app.retention", "purge", "--older-than-days", "365"],
        cwd=ROOT,
        env={**stack.env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert purge.returncode == 0, purge.stderr
    assert purge.stdout.startswith("purged 1 conversation(s)"), purge.stdout
    assert "older than 365 days" in purge.stdout
    assert stored_rows(stack, old) == []
    assert stored_rows(stack, recent)
