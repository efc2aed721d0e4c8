"""The idempotency key of an action call (actions/idempotency.py), from a real rasa_sdk Tracker."""

from __future__ import annotations

import contextvars
from typing import Any

from rasa_sdk import Tracker

from actions.idempotency import idempotency_key
from bot.common.idempotency import IdempotencyKey, set_call_deadline


def tracker(*users: dict[str, Any], sender: str = "widget-abc") -> Tracker:
    events = [{"event": "user", "text": "x", **user} for user in users]
    return Tracker(sender, {}, {"text": "x"}, events, False, None, {}, "action_listen")


def key_in_a_call(track: Tracker, action: str, deadline: float | None) -> IdempotencyKey:
    def call() -> IdempotencyKey:
        set_call_deadline(deadline)  # what the action server does for each request
        return idempotency_key(track, action)

    return contextvars.copy_context().run(call)


def test_the_widgets_message_id_names_the_turn_and_a_resend_keeps_it() -> None:
    first = tracker({"metadata": {"widget": {"message_id": "m-1"}}, "message_id": "rasa-1"})
    # The same message resent by the widget, handled as a new turn: another engine id.
    again = tracker({"metadata": {"widget": {"message_id": "m-1"}}, "message_id": "rasa-2"})
    key = key_in_a_call(first, "action_confirm_handoff", 1700000000.0)
    assert key == IdempotencyKey("widget-abc", "widget:m-1", "action_confirm_handoff", 1700000000.0)
    assert key_in_a_call(again, "action_confirm_handoff", None).digest == key.digest


def test_other_channels_use_the_engines_message_id_or_the_timestamp() -> None:
    by_id = key_in_a_call(tracker({"message_id": "rasa-7"}), "action_give_advice", None)
    assert (by_id.turn, by_id.not_after) == ("message:rasa-7", None)
    by_time = key_in_a_call(tracker({"timestamp": 1700000000.25}), "action_give_advice", None)
    assert by_time.turn == "timestamp:1700000000.25"


def test_the_latest_user_message_and_the_action_make_the_key() -> None:
    track = tracker({"message_id": "a"}, {"message_id": "b"})
    advice = key_in_a_call(track, "action_give_advice", None)
    handoff = key_in_a_call(track, "action_confirm_handoff", None)
    assert advice.turn == "message:b"
    assert advice.digest != handoff.digest
