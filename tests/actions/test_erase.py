"""action_erase_conversation: confirms, stops a form, and tells the other stores to forget."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import session
from actions.session import ActionEraseConversation
from bot.redaction import ERASE_ACTION
from tests.actions.support import make_tracker


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
