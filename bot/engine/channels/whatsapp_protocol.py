"""What the WhatsApp channel reads from Meta's webhooks and writes to the Graph API.

Standard library only (tested from .venv); bot/engine/channels/whatsapp.py, engine side, only calls
these functions. Meta's limits, counted in characters (code points) as Meta counts them:

- a text message holds at most 4096 characters: longer texts go in several messages;
- reply buttons: at most 3 per message, titles of at most 20 characters, ids of at most 256;
- a list message (for longer choices): one button of at most 20 characters that opens at most
  10 rows, each with a title of at most 24 characters, a description of at most 72 and an id of
  at most 200; more choices go in further list messages;
- an interactive message's body is at most 1024 characters: a longer text goes first as text.

A button's payload is its reply's id, so a choice comes back as the payload, as on every other
channel. The customer-service window: free-form messages may only be sent within 24 hours of
the user's last message; `WhatsAppMessage.window_ends` is that moment for the replies to it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.engine.channels.inbound import WHATSAPP, Inbound
from bot.engine.channels.replies import BotReply, Button, clip, split_text

WINDOW_SECONDS = 24 * 3600.0
MAX_TEXT = 4096
MAX_BODY = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_ROW_ID = 200
MAX_LIST_BUTTON = 20
OBJECT = "whatsapp_business_account"
# A WhatsApp id is the user's phone number in digits, country code first.
_WA_ID = re.compile(r"[0-9]{6,20}")
_URL = re.compile(r"https?://", re.IGNORECASE)


@dataclass(frozen=True)
class WhatsAppMessage:
    """One user message from a verified webhook."""

    inbound: Inbound
    # The user's WhatsApp id (phone number in digits): where replies go.
    wa_id: str
    # When the user sent it (Meta's timestamp, never later than when we got it).
    sent_at: float

    @property
    def window_ends(self) -> float:
        """Until when replies to this message may be sent (the customer-service window)."""
        return self.sent_at + WINDOW_SECONDS


def whatsapp_sender(wa_id: str) -> str:
    return f"{WHATSAPP}:{wa_id}"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text_of(message: Mapping[str, Any]) -> str | None:
    """The words of a message, or the id (our payload) of the button or list row chosen."""
    kind = message.get("type")
    if kind == "text":
        body = _mapping(message.get("text")).get("body")
        return body if isinstance(body, str) else None
    if kind == "interactive":
        interactive = _mapping(message.get("interactive"))
        chosen = _mapping(interactive.get(str(interactive.get("type"))))
        if interactive.get("type") in ("button_reply", "list_reply"):
            chosen_id = chosen.get("id")
            return chosen_id if isinstance(chosen_id, str) else None
        return None
    if kind == "button":  # a template's quick-reply button
        button = _mapping(message.get("button"))
        payload = button.get("payload") or button.get("text")
        return payload if isinstance(payload, str) else None
    return None  # images, voice notes, locations, reactions: not read


def _sent_at(raw: Any, now: float) -> float:
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 12:
        return min(float(raw), now)
    return now


def whatsapp_messages(
    payload: Mapping[str, Any], phone_number_id: str, now: float
) -> list[WhatsAppMessage]:
    """The user messages of a webhook POST to our number, in order; status callbacks (sent,
    delivered, read), other numbers' messages and what the bot does not read are left out."""
    if payload.get("object") != OBJECT:
        return []
    found: list[WhatsAppMessage] = []
    for entry in _list(payload.get("entry")):
        for change in _list(_mapping(entry).get("changes")):
            change = _mapping(change)
            value = _mapping(change.get("value"))
            if change.get("field") != "messages":
                continue
            if _mapping(value.get("metadata")).get("phone_number_id") != phone_number_id:
                continue
            for message in _list(value.get("messages")):
                message = _mapping(message)
                wa_id, message_id = message.get("from"), message.get("id")
                text = _text_of(message)
                if not (isinstance(wa_id, str) and _WA_ID.fullmatch(wa_id)):
                    continue
                if not (isinstance(message_id, str) and 0 < len(message_id) <= 200):
                    continue
                if text is None or not text.strip():
                    continue
                inbound = Inbound(WHATSAPP, message_id, whatsapp_sender(wa_id), text.strip())
                found.append(
                    WhatsAppMessage(inbound, wa_id, _sent_at(message.get("timestamp"), now))
                )
    return found


# ---- outgoing ---------------------------------------------------------------------------------


def _envelope(wa_id: str, kind: str, content: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": wa_id,
        "type": kind,
        kind: dict(content),
    }


def text_message(wa_id: str, text: str) -> dict[str, Any]:
    return _envelope(wa_id, "text", {"body": text, "preview_url": bool(_URL.search(text))})


def fits_reply_buttons(buttons: tuple[Button, ...]) -> bool:
    """Whether the choices can be WhatsApp reply buttons (else they go as a list message)."""
    titles = [button.title for button in buttons]
    return (
        0 < len(buttons) <= MAX_BUTTONS
        and all(len(title) <= MAX_BUTTON_TITLE for title in titles)
        and all(len(button.payload) <= MAX_BUTTON_ID for button in buttons)
        and len(set(titles)) == len(titles)
    )


def _button_message(wa_id: str, body: str, buttons: tuple[Button, ...]) -> dict[str, Any]:
    return _envelope(
        wa_id,
        "interactive",
        {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": button.payload, "title": button.title}}
                    for button in buttons
                ]
            },
        },
    )


def _row(button: Button) -> dict[str, str]:
    row = {"id": button.payload, "title": clip(button.title, MAX_ROW_TITLE)}
    if row["title"] != button.title:
        # The whole choice is read in the description when its title had to be shortened.
        row["description"] = clip(button.title, MAX_ROW_DESCRIPTION)
    return row


def _list_messages(
    wa_id: str, body: str, buttons: tuple[Button, ...], label: str
) -> list[dict[str, Any]]:
    usable = [b for b in buttons if len(b.payload) <= MAX_ROW_ID]
    unique = list({b.payload: b for b in usable}.values())  # row ids must differ
    messages = []
    for start in range(0, len(unique), MAX_ROWS):
        rows = [_row(button) for button in unique[start : start + MAX_ROWS]]
        messages.append(
            _envelope(
                wa_id,
                "interactive",
                {
                    "type": "list",
                    "body": {"text": body},
                    "action": {
                        "button": clip(label, MAX_LIST_BUTTON),
                        "sections": [{"rows": rows}],
                    },
                },
            )
        )
    return messages


def whatsapp_outgoing(wa_id: str, reply: BotReply, list_label: str) -> list[dict[str, Any]]:
    """The Graph API message bodies for one bot reply, in order.

    `list_label` is the list message's button ("Kies een antwoord"), from domain.yml in the
    conversation's language. Custom payloads (the widget's advice JSON) are not sent: the
    advice goes as text with the saved-advice link, which the action sends as well.
    """
    messages: list[dict[str, Any]] = []
    text_parts = split_text(reply.text, MAX_TEXT) if reply.text else []
    if reply.buttons:
        # The question's text carries the choices; a text too long for it goes first.
        body_parts = split_text(reply.text, MAX_BODY) if reply.text else [list_label]
        messages.extend(text_message(wa_id, part) for part in body_parts[:-1])
        body = body_parts[-1]
        if fits_reply_buttons(reply.buttons):
            messages.append(_button_message(wa_id, body, reply.buttons))
        else:
            messages.extend(_list_messages(wa_id, body, reply.buttons, list_label))
    else:
        messages.extend(text_message(wa_id, part) for part in text_parts)
    if reply.image:
        messages.append(_envelope(wa_id, "image", {"link": reply.image}))
    return messages


def needs_list(replies: list[BotReply]) -> bool:
    """Whether any reply's choices go as a list message (which needs its button's label)."""
    return any(r.buttons and not fits_reply_buttons(r.buttons) for r in replies)
