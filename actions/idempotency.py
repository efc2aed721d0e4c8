"""The idempotency key of an action call with a side effect (bot/common/idempotency.py).

One helper for every action that stores something, so the key is made the same way whatever
the conversation's actions become: the conversation, the triggering user message and the
action's name, with the deadline the engine sent for this call.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from bot.common.idempotency import IdempotencyKey, call_deadline


def turn_of(tracker: Tracker) -> str:
    """The triggering user message: the widget's message id (the same when the widget resends
    it), else the engine's message id, else its timestamp."""
    users: list[dict[str, Any]] = [e for e in tracker.events if e.get("event") == "user"]
    if not users:
        return "no-user-message"
    latest = users[-1]
    metadata = latest.get("metadata")
    widget = metadata.get("widget") if isinstance(metadata, dict) else None
    if isinstance(widget, dict) and widget.get("message_id"):
        return f"widget:{widget['message_id']}"
    if latest.get("message_id"):
        return f"message:{latest['message_id']}"
    if latest.get("timestamp") is not None:
        return f"timestamp:{latest['timestamp']!r}"
    return f"user-message-{len(users)}"


def idempotency_key(tracker: Tracker, action_name: str) -> IdempotencyKey:
    """The key under which this call's effect is stored once."""
    return key_of(str(tracker.sender_id), turn_of(tracker), action_name)


def key_of(conversation_id: str, turn: str, effect: str) -> IdempotencyKey:
    """The key of one effect (`effect`: what is stored, e.g. "handoff") of a turn, with the
    deadline the engine sent for this call."""
    return IdempotencyKey(
        conversation_id=conversation_id, turn=turn, action=effect, not_after=call_deadline()
    )
