"""The handoff end to end: a conversation over the REST channel of the running stack, the
request stored in the app database, the tracker store without the contact, and the worker
process delivering it to a local webhook receiver.

Uses the session-wide `stack` (tests/stack.py) and starts the worker next to it the way
`make run` does (tools/assistant.py).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app.db import Database
from bot.app.handoff.models import HandoffRequest, OutboxMessage
from tests.bot.app.handoff.conftest import Receiver
from tests.stack import Stack, texts
from tools import assistant

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[4]
DELIVERY_WAIT_SECONDS = 60.0


def requests_of(stack: Stack, sender: str) -> list[HandoffRequest]:
    database = Database(stack.settings.database_url)
    try:
        with database.session() as session:
            found = list(
                session.scalars(
                    select(HandoffRequest).where(HandoffRequest.conversation_id == sender)
                )
            )
            for request in found:
                session.expunge(request)
            return found
    finally:
        database.dispose()


def stored_tracker(stack: Stack, sender: str) -> str:
    with sqlite3.connect(stack.tracker_db) as db:
        rows = db.execute("SELECT * FROM events WHERE sender_id = ?", (sender,)).fetchall()
    return " ".join(str(row) for row in rows)


def test_consent_phone_with_a_re_ask_stored_redacted_and_delivered(
    stack: Stack, dutch: dict[str, Any], receiver: Receiver
) -> None:
    sender = f"handoff-{uuid.uuid4().hex[:12]}"
    consent = stack.say(sender, "ik wil een mens spreken")
    # A conversation that opens with the request: the bot says first that it is a bot.
    assert texts(consent) == [
        dutch["utter_intro"]["text"],
        dutch["utter_ask_handoff_consent"]["text"],
    ]
    assert [b["payload"] for b in consent[-1]["buttons"]] == ["/affirm", "/deny"]

    preference = stack.say(sender, "ja")
    assert texts(preference) == [dutch["utter_ask_handoff_contact_preference"]["text"]]
    payload = preference[0]["buttons"][0]["payload"]
    assert texts(stack.say(sender, payload)) == [dutch["utter_ask_handoff_phone"]["text"]]

    # A number that is no Dutch phone number: asked again, nothing stored yet.
    again = texts(stack.say(sender, "12345"))
    assert again[0] == dutch["utter_invalid_handoff_phone"]["text"]
    assert requests_of(stack, sender) == []

    done = texts(stack.say(sender, "mijn nummer is 06-12345678"))
    assert done[0] == dutch["utter_handoff_confirmed"]["text"].replace(
        "{handoff_contact}", "+31612345678"
    )
    assert "Leerwerkloket" in done[1]

    [request] = requests_of(stack, sender)
    assert (request.consent, request.contact_preference, request.contact) == (
        True,
        "phone",
        "+31612345678",
    )
    assert request.channel == "rest"
    # The tracker store never got the number: it was redacted before storage.
    stored = stored_tracker(stack, sender)
    assert stored, "the turns were stored"
    assert "12345678" not in stored.replace(" ", "").replace("-", "")

    # A second request later in the same conversation asks everything again.
    assert texts(stack.say(sender, "ik wil een adviseur")) == [
        dutch["utter_ask_handoff_consent"]["text"]
    ]
    assert texts(stack.say(sender, "nee"))[0] == dutch["utter_handoff_declined"]["text"]
    assert len(requests_of(stack, sender)) == 1

    worker = assistant.start_handoff_worker(
        stack.settings,
        {
            **stack.env,
            "ZIJWIJZER_HANDOFF_WEBHOOK_URL": receiver.url,
            "ZIJWIJZER_HANDOFF_WEBHOOK_SECRET": receiver.secret,
        },
    )
    try:
        assistant.wait_ready([worker])  # no HTTP endpoint: ready while it runs
        deadline = time.monotonic() + DELIVERY_WAIT_SECONDS
        while time.monotonic() < deadline:
            mine = [r for r in receiver.received if r.body.get("id") == request.public_id]
            if mine:
                break
            time.sleep(0.2)
    finally:
        assistant.stop([worker])
    assert len(mine) == 1
    assert mine[0].signed
    assert mine[0].body["contact"] == "+31612345678"
    assert sender not in str(mine[0].body)
    database = Database(stack.settings.database_url)
    try:
        with database.session() as session:
            message = session.scalars(
                select(OutboxMessage).where(OutboxMessage.handoff_id == request.id)
            ).one()
            assert message.delivered_at is not None
            assert mine[0].key == message.idempotency_key
    finally:
        database.dispose()


def test_no_consent_stores_nothing_and_gives_the_desk(stack: Stack, dutch: dict[str, Any]) -> None:
    sender = f"handoff-no-{uuid.uuid4().hex[:12]}"
    stack.say(sender, "kan ik met iemand praten")
    answer = texts(stack.say(sender, "/deny"))
    assert answer[0] == dutch["utter_handoff_declined"]["text"]
    assert "Leerwerkloket" in answer[1]
    assert requests_of(stack, sender) == []


def test_a_bad_email_is_asked_again_in_english(stack: Stack) -> None:
    sender = f"handoff-en-{uuid.uuid4().hex[:12]}"
    stack.say(sender, '/choose_language{"language": "en"}')
    assert "advisor" in texts(stack.say(sender, "/request_human"))[0]
    stack.say(sender, "/affirm")
    assert "e-mail" in texts(stack.say(sender, '/inform{"contact_method": "email"}'))[0]
    assert "e-mail address" in texts(stack.say(sender, "jan@example"))[0]
    done = texts(stack.say(sender, "jan@example.org"))
    assert "jan@example.org" in done[0]
    [request] = requests_of(stack, sender)
    assert (request.language, request.contact) == ("en", "jan@example.org")
