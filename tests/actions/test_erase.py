"""action_erase_conversation: confirms, stops a form, and deletes what the app database holds
of the conversation (handoff requests with their outbox, saved advice links)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select, update

from actions import session
from actions.session import ActionEraseConversation
from bot.advice_store import find_advice, save_advice
from bot.db import Database
from bot.handoff.models import HandoffRequest, OutboxMessage
from bot.handoff.store import HandoffStore
from bot.redaction import ERASE_ACTION
from tests.actions.support import make_tracker
from tests.bot.handoff.support import handoff


@pytest.fixture
def forgotten(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(session, "forget_elsewhere", lambda ids: calls.append(list(ids)))
    return calls


async def test_erase_confirms_and_forgets_the_conversation(forgotten: list[list[str]]) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionEraseConversation().run(dispatcher, make_tracker(intent="affirm"), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_conversation_erased"]
    assert events == [{"event": "active_loop", "timestamp": None, "name": None}]
    assert forgotten == [["test"]]


async def test_erase_during_the_intake_stops_the_form(forgotten: list[list[str]]) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker({"requested_slot": "age"}, intent="affirm", active_loop="profile_form")
    events: list[dict[str, Any]] = await ActionEraseConversation().run(dispatcher, tracker, {})
    assert {"event": "active_loop", "timestamp": None, "name": None} in events
    assert {"event": "slot", "timestamp": None, "name": "requested_slot", "value": None} in events


async def test_a_failing_other_store_does_not_stop_the_erasure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(ids: list[str]) -> None:
        raise RuntimeError("app database down")

    monkeypatch.setattr(session, "forget_elsewhere", broken)
    dispatcher = CollectingDispatcher()
    await ActionEraseConversation().run(dispatcher, make_tracker(intent="affirm"), {})
    # The tracker store erases on the action's name, whatever happened here.
    assert [m["response"] for m in dispatcher.messages] == ["utter_conversation_erased"]


def test_the_action_is_the_one_the_tracker_store_erases_on() -> None:
    assert ActionEraseConversation().name() == ERASE_ACTION == "action_erase_conversation"


# ---- with a real app database --------------------------------------------------------------

SENDER = "widget:erase-me"


def _tracker() -> Any:
    tracker = make_tracker(intent="affirm")
    tracker.sender_id = SENDER
    return tracker


@pytest.fixture
def app_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("ZIJWIJZER_DATABASE_URL", url)
    monkeypatch.setenv("ZIJWIJZER_SECRET_KEY", "test-secret-key-that-is-long-enough-for-hmac")
    database = Database(url)
    database.create_all()
    return database


def _handoffs(database: Database) -> list[str]:
    with database.session() as db:
        return sorted(db.scalars(select(HandoffRequest.conversation_id)))


async def test_erase_deletes_handoffs_outbox_and_saved_advice(
    app_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    store = HandoffStore(app_database)
    store.create(*handoff(conversation_id=SENDER, turn="1"))
    store.create(*handoff(conversation_id="someone else", turn="1"))
    mine = save_advice(app_database, {"summary": {}}, "nl", valid_days=30, conversation_id=SENDER)
    theirs = save_advice(
        app_database, {"summary": {}}, "nl", valid_days=30, conversation_id="someone else"
    )

    dispatcher = CollectingDispatcher()
    with caplog.at_level(logging.INFO):
        await ActionEraseConversation().run(dispatcher, _tracker(), {})

    assert [m["response"] for m in dispatcher.messages] == ["utter_conversation_erased"]
    assert _handoffs(app_database) == ["someone else"]
    with app_database.session() as db:
        assert len(list(db.scalars(select(OutboxMessage.id)))) == 1
    assert find_advice(app_database, mine) is None
    assert find_advice(app_database, theirs) is not None
    # Nothing had been delivered: nothing to warn about.
    assert "already accepted" not in caplog.text
    app_database.dispose()


async def test_a_delivered_handoff_is_logged_without_personal_data(
    app_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    HandoffStore(app_database).create(*handoff(conversation_id=SENDER))
    with app_database.session() as db:
        db.execute(update(OutboxMessage).values(delivered_at=dt.datetime.now(dt.UTC)))

    with caplog.at_level(logging.INFO):
        await ActionEraseConversation().run(CollectingDispatcher(), _tracker(), {})

    assert _handoffs(app_database) == []
    assert "1 handoff request(s) that the handoff webhook had already accepted" in caplog.text
    assert "erase-me" not in caplog.text
    assert "+31612345678" not in caplog.text and "Almere" not in caplog.text
    app_database.dispose()


async def test_a_failing_app_database_logs_no_conversation_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A directory is no SQLite database.
    monkeypatch.setenv("ZIJWIJZER_DATABASE_URL", f"sqlite:///{tmp_path}")
    monkeypatch.setenv("ZIJWIJZER_SECRET_KEY", "test-secret-key-that-is-long-enough-for-hmac")
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(intent="affirm")
    tracker.sender_id = "widget:secret-conversation"
    with caplog.at_level(logging.INFO):
        await ActionEraseConversation().run(dispatcher, tracker, {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_conversation_erased"]
    assert "failed (OperationalError)" in caplog.text
    assert "secret-conversation" not in caplog.text
