"""What a verified Telegram update or Slack event means for a conversation.

Standard library only, so the rules are unit-tested from .venv; the engine-side channels
(telegram.py, slack.py) only call these functions. The sender id comes from the verified
webhook alone and carries the channel as prefix ("telegram:…", "slack:…", "whatsapp:…",
"teams:…"), so it can never be the id of a widget conversation, and the Telegram and Slack
reply address is read back from it. WhatsApp and Teams messages are read by
whatsapp_protocol.py and teams_protocol.py into the same `Inbound`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TELEGRAM = "telegram"
SLACK = "slack"
WHATSAPP = "whatsapp"
TEAMS = "teams"
# Telegram's "Start" button sends /start (with a deep-link argument at most): on a recruiter
# channel that means "I am a recruiter", which sets recruiter mode and starts the intake.
TELEGRAM_START = re.compile(r"^/start(?:@\w+)?(?:\s.*)?$", re.DOTALL)
RECRUITER_INTENT = "/say_recruiter"
# Slack's markup: user mentions (<@U123>) go, links (<https://x|x>, <mailto:a|a>) keep their text.
_SLACK_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^>|]*)(?:\|([^>]*))?>")


@dataclass(frozen=True)
class Inbound:
    """One user message from a recruiter channel."""

    channel: str
    # Unique per delivery on that channel (Telegram update_id, Slack event_id, WhatsApp
    # message id, Teams activity id): duplicates and retries carry the same one.
    delivery_id: str
    sender_id: str
    text: str
    # Telegram: the callback query to acknowledge (stops the button's spinner).
    callback_query_id: str | None = None

    @property
    def metadata(self) -> dict[str, Any]:
        """Stored with the user message: which channel, and that a recruiter speaks."""
        return {"channel": self.channel, "recruiter": True}


def telegram_sender(chat_id: int | str) -> str:
    return f"{TELEGRAM}:{chat_id}"


def slack_sender(user_id: str, channel_id: str) -> str:
    return f"{SLACK}:{user_id}:{channel_id}"


def reply_address(sender_id: str) -> str | None:
    """Where the platform delivers replies for a conversation: Telegram chat id, Slack channel."""
    parts = sender_id.split(":")
    if parts[0] == TELEGRAM and len(parts) == 2 and parts[1]:
        return parts[1]
    if parts[0] == SLACK and len(parts) == 3 and parts[2]:
        return parts[2]
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _private_chat_id(message: Mapping[str, Any]) -> int | None:
    # Only one-to-one chats: in a group every member would share one conversation.
    chat = _mapping(message.get("chat"))
    chat_id = chat.get("id")
    if chat.get("type") != "private" or not isinstance(chat_id, int) or isinstance(chat_id, bool):
        return None
    return chat_id


def telegram_inbound(update: Mapping[str, Any]) -> Inbound | None:
    """A Telegram update as a user message; None for what the bot does not answer."""
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    delivery_id = str(update_id)
    callback = _mapping(update.get("callback_query"))
    if callback:
        # A button press: its callback_data is the button's payload.
        chat_id = _private_chat_id(_mapping(callback.get("message")))
        data = callback.get("data")
        query_id = callback.get("id")
        if chat_id is None or not isinstance(data, str) or not data.strip():
            return None
        return Inbound(
            TELEGRAM,
            delivery_id,
            telegram_sender(chat_id),
            data,
            query_id if isinstance(query_id, str) else None,
        )
    message = _mapping(update.get("message"))
    chat_id = _private_chat_id(message)
    text = message.get("text")
    if chat_id is None or not isinstance(text, str) or not text.strip():
        return None  # edits, photos, stickers, group chats, channel posts
    if TELEGRAM_START.match(text.strip()):
        text = RECRUITER_INTENT
    return Inbound(TELEGRAM, delivery_id, telegram_sender(chat_id), text)


def slack_text(text: str) -> str:
    """The user's words without Slack's markup (mentions of the bot, link brackets)."""
    text = _SLACK_MENTION.sub(" ", text)
    text = _SLACK_LINK.sub(lambda match: match.group(2) or match.group(1), text)
    return " ".join(text.split())


def slack_event_inbound(envelope: Mapping[str, Any]) -> Inbound | None:
    """An Events API callback as a user message: a direct message or a mention of the bot."""
    if envelope.get("type") != "event_callback":
        return None
    event_id = envelope.get("event_id")
    event = _mapping(envelope.get("event"))
    if not isinstance(event_id, str) or not event_id:
        return None
    kind = event.get("type")
    direct = kind == "message" and event.get("channel_type") == "im"
    if not (direct or kind == "app_mention"):
        return None
    # Bot messages (our own replies among them) and edits/joins (subtypes) are not questions.
    if event.get("bot_id") or event.get("subtype"):
        return None
    user, channel, text = event.get("user"), event.get("channel"), event.get("text")
    if not all(isinstance(value, str) and value for value in (user, channel, text)):
        return None
    words = slack_text(str(text))
    if not words:
        return None
    return Inbound(SLACK, event_id, slack_sender(str(user), str(channel)), words)


def slack_interaction_inbound(payload: Mapping[str, Any]) -> Inbound | None:
    """A button click (interactive block_actions payload) as a user message: the button's value."""
    if payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions:
        return None
    action = _mapping(actions[0])
    value = action.get("value")
    user = _mapping(payload.get("user")).get("id")
    channel = _mapping(payload.get("channel")).get("id")
    # Interactions have no event_id; trigger_id is unique per click.
    click = payload.get("trigger_id") or action.get("action_ts")
    if action.get("type") != "button" or not isinstance(value, str) or not value.strip():
        return None
    if not all(isinstance(v, str) and v for v in (user, channel, click)):
        return None
    return Inbound(SLACK, f"click:{click}", slack_sender(str(user), str(channel)), value)
