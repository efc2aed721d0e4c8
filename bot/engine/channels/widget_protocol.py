"""What the widget channel accepts and returns, without Rasa: tested from .venv.

`bot/engine/channels/widget.py` (the Rasa input channel) stays a thin adapter around these
functions. Stdlib only: the engine imports this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
# A button title shown instead of its payload; never longer than a button can be.
MAX_TITLE_CHARS = 120
# Bounds what one history request reads out and sends (long conversations get slow anyway).
MAX_HISTORY_ITEMS = 1000
CHOOSE_LANGUAGE = "/choose_language"
# The keys of a bot message the widget can draw (the REST channel's output shape).
_BOT_KEYS = ("text", "buttons", "custom", "image", "attachment")
_PAYLOAD = re.compile(r"/[A-Za-z_][A-Za-z0-9_]*")
# The widget's own id of a message, kept for its resends: short and plain, so it can be stored.
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


@dataclass(frozen=True)
class WidgetMessage:
    conversation_id: str
    text: str
    language: str | None
    # Button title to show in the history instead of the payload.
    title: str | None
    # Sent by the widget itself (the greeting at the start): not shown as the user's bubble.
    silent: bool
    # The widget's id of this message (the same on every resend); None from older widgets.
    message_id: str | None = None
    # The widget sends it again because the first attempt's answer did not arrive.
    resend: bool = False

    def metadata(self) -> dict[str, Any]:
        widget: dict[str, Any] = {}
        if self.message_id:
            widget["message_id"] = self.message_id
        if self.language:
            widget["language"] = self.language
        if self.title:
            widget["title"] = self.title
        if self.silent:
            widget["silent"] = True
        return {"widget": widget}


@dataclass(frozen=True)
class Refusal:
    status: int
    error: str
    detail: dict[str, Any]

    def body(self) -> dict[str, Any]:
        return {"error": self.error, **self.detail}


def is_payload(text: str) -> bool:
    """A button payload such as `/inform{"sector": "vvt"}` (an intent, not typed words)."""
    return _PAYLOAD.match(text) is not None


def parse_message(body: object, *, max_chars: int) -> WidgetMessage | Refusal:
    """The widget's POST body checked field by field; a refusal says what is wrong."""
    if not isinstance(body, Mapping):
        return Refusal(400, "bad_request", {})
    conversation_id = body.get("conversation_id")
    text = body.get("message")
    if not isinstance(conversation_id, str) or not conversation_id:
        return Refusal(400, "bad_request", {"field": "conversation_id"})
    if not isinstance(text, str) or not text.strip():
        return Refusal(400, "empty_message", {})
    if len(text) > max_chars:
        return Refusal(413, "message_too_long", {"max_chars": max_chars})
    language = body.get("language")
    if language not in LANGUAGES:
        language = None
    title = body.get("title")
    # Only a payload gets a title: typed text is shown as typed, and a title cannot carry
    # anything into the stored conversation that the person did not see on a button.
    if not isinstance(title, str) or not is_payload(text.strip()) or not title.strip():
        title = None
    else:
        title = title.strip()[:MAX_TITLE_CHARS]
    silent = body.get("silent") is True and is_payload(text.strip())
    message_id = body.get("message_id")
    if message_id is not None and (
        not isinstance(message_id, str) or not _MESSAGE_ID.fullmatch(message_id)
    ):
        return Refusal(400, "bad_request", {"field": "message_id"})
    resend = body.get("resend") is True and message_id is not None
    return WidgetMessage(conversation_id, text.strip(), language, title, silent, message_id, resend)


def language_switch(message: WidgetMessage, current: str | None) -> str | None:
    """The `/choose_language` message to send first when the widget's language differs
    from the conversation's `language` slot, so the bot answers in the widget's language."""
    wanted = message.language
    if wanted is None or wanted == (current or DEFAULT_LANGUAGE):
        return None
    if message.text.startswith(CHOOSE_LANGUAGE):
        return None  # the message itself switches
    return CHOOSE_LANGUAGE + json.dumps({"language": wanted})


def _mapping(value: Any) -> Mapping[str, Any]:
    # Stored events are read back as they were saved: a field that is no mapping counts as empty.
    return value if isinstance(value, Mapping) else {}


def _bot_item(event: Mapping[str, Any]) -> dict[str, Any] | None:
    data = _mapping(event.get("data"))
    item: dict[str, Any] = {"sender": "bot"}
    if event.get("text"):
        item["text"] = event["text"]
    for key in _BOT_KEYS[1:]:
        if data.get(key):
            item[key] = data[key]
    return item if len(item) > 1 else None


def _user_item(event: Mapping[str, Any], last_buttons: list[Any]) -> dict[str, Any] | None:
    text = event.get("text")
    if not isinstance(text, str) or not text:
        return None
    widget = _mapping(_mapping(event.get("metadata")).get("widget"))
    if widget.get("silent"):
        return None
    title = widget.get("title")
    if not isinstance(title, str) or not title:
        # A payload sent some other way: the title of the button that carried it, if any.
        title = next(
            (
                b.get("title")
                for b in last_buttons
                if isinstance(b, Mapping) and b.get("payload") == text
            ),
            None,
        )
    return {"sender": "user", "text": title if isinstance(title, str) and title else text}


def history(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The messages of a conversation as the widget draws them, oldest first.

    `events` are Rasa events as dicts (`Event.as_dict()`); only user and bot messages are
    kept, with buttons and custom payloads, so a reload shows the whole conversation.
    """
    items: list[dict[str, Any]] = []
    last_buttons: list[Any] = []
    for event in events:
        kind = event.get("event")
        item: dict[str, Any] | None = None
        if kind == "bot":
            item = _bot_item(event)
            buttons = _mapping(event.get("data")).get("buttons")
            if isinstance(buttons, list) and buttons:
                last_buttons = list(buttons)
        elif kind == "user":
            item = _user_item(event, last_buttons)
        if item is not None:
            items.append(item)
    return items[-MAX_HISTORY_ITEMS:]


def language_of(slots: Mapping[str, Any]) -> str:
    value = slots.get("language")
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def _message_id(event: Mapping[str, Any]) -> Any:
    return _mapping(_mapping(event.get("metadata")).get("widget")).get("message_id")


def answered_replies(
    events: Iterable[Mapping[str, Any]], message_id: str, recipient_id: str
) -> list[dict[str, Any]] | None:
    """The stored answer to a resent message, or None when it must be handled as new.

    When the latest user message of the conversation carries `message_id`, the first attempt
    was stored and only its answer got lost: the bot messages after it are that answer, in the
    REST channel's shape. Otherwise (an earlier message, or not stored) None.
    """
    items = list(events)
    last_user = max(
        (i for i, event in enumerate(items) if event.get("event") == "user"), default=None
    )
    if last_user is None or _message_id(items[last_user]) != message_id:
        return None
    replies = []
    for event in items[last_user + 1 :]:
        if event.get("event") != "bot":
            continue
        item = _bot_item(event)
        if item is not None:
            item.pop("sender")
            replies.append({"recipient_id": recipient_id, **item})
    return replies


def response_text(responses: Mapping[str, Any], name: str, language: str) -> str | None:
    """The text of a domain response in `language`: the variant whose only condition is
    that language, or for Dutch the variant without conditions."""
    variants = responses.get(name)
    if not isinstance(variants, list):
        return None
    for variant in variants:
        if not isinstance(variant, Mapping) or not isinstance(variant.get("text"), str):
            continue
        conditions = variant.get("condition") or []
        values = [
            c.get("value")
            for c in conditions
            if isinstance(c, Mapping) and c.get("name") == "language"
        ]
        if (language == DEFAULT_LANGUAGE and not conditions) or (
            len(conditions) == 1 and values == [language]
        ):
            return str(variant["text"])
    return None
