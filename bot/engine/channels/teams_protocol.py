"""What the Teams channel reads from Bot Framework activities and sends back to them.

Standard library only (tested from .venv); bot/engine/channels/teams.py, engine side, only calls
these functions. The token that vouches for an activity is checked in teams_auth.py.

- Only message activities of one-to-one ("personal") chats on the msteams channel are read:
  in a group chat every member would share one conversation. The conversation id is
  "teams:<Teams conversation id>".
- Buttons: at most three as suggested actions (Teams shows no more than three). A press is an
  imBack: Teams posts the button's title as the user's message, and `button_payload` turns a
  title of the buttons just offered back into their payload. More choices go as an Adaptive
  Card with one Action.Submit per choice, of Teams' "messageBack" kind: the chat shows the
  title, the bot gets the payload as text.
- Images are not sent (the domain has none).
- The plan (the action's custom payload) goes as a small Adaptive Card: its goal and a button
  to the saved plan; the steps and the link come as text (the action sends them on every
  channel without cards).
- Replies go only to service URLs on the allow-list (`service_url_allowed`): the connector
  gets our OAuth token with every reply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from bot.engine.channels.inbound import TEAMS, Inbound
from bot.engine.channels.replies import BotReply, Button

CHANNEL_ID = "msteams"
MAX_SUGGESTED_ACTIONS = 3
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
# Teams wraps mentions of the bot in <at>…</at> (in personal chats only when typed).
_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class TeamsAddress:
    """Where replies to an activity go, and as whom."""

    service_url: str
    conversation_id: str
    bot_id: str
    bot_name: str
    user_id: str

    @property
    def activities_url(self) -> str:
        base = self.service_url.rstrip("/")
        return f"{base}/v3/conversations/{quote(self.conversation_id, safe='')}/activities"

    def as_dict(self) -> dict[str, str]:
        return {
            "service_url": self.service_url,
            "conversation_id": self.conversation_id,
            "bot_id": self.bot_id,
            "bot_name": self.bot_name,
            "user_id": self.user_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TeamsAddress:
        return cls(*(str(data.get(key) or "") for key in cls.__dataclass_fields__))


@dataclass(frozen=True)
class TeamsMessage:
    """One user message from a verified activity."""

    inbound: Inbound
    address: TeamsAddress


def teams_sender(conversation_id: str) -> str:
    return f"{TEAMS}:{conversation_id}"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def activity_service_url(activity: Mapping[str, Any]) -> str | None:
    """The activity's serviceUrl (compared with the token's claim before anything else)."""
    return _text(activity.get("serviceUrl"))


def teams_message(activity: Mapping[str, Any]) -> TeamsMessage | None:
    """A message activity of a personal Teams chat as a user message; None for the rest
    (conversation updates, typing, reactions, group chats and channels)."""
    if activity.get("type") != "message" or activity.get("channelId") != CHANNEL_ID:
        return None
    conversation = _mapping(activity.get("conversation"))
    if conversation.get("conversationType", "personal") != "personal" or conversation.get(
        "isGroup"
    ):
        return None
    activity_id = _text(activity.get("id"))
    conversation_id = _text(conversation.get("id"))
    service_url = activity_service_url(activity)
    sender, bot = _mapping(activity.get("from")), _mapping(activity.get("recipient"))
    user_id, bot_id = _text(sender.get("id")), _text(bot.get("id"))
    if not (activity_id and conversation_id and service_url and user_id and bot_id):
        return None
    if len(conversation_id) > 200 or len(activity_id) > 200:
        return None
    # Typed text, or an Adaptive Card's submit without text: its data's payload.
    text = _text(activity.get("text"))
    if text is None:
        text = _text(_mapping(activity.get("value")).get("payload"))
    if text is None:
        return None
    words = " ".join(_MENTION.sub(" ", text).split())
    if not words:
        return None
    address = TeamsAddress(
        service_url,
        conversation_id,
        bot_id,
        str(bot.get("name") or ""),
        user_id,
    )
    return TeamsMessage(Inbound(TEAMS, activity_id, teams_sender(conversation_id), words), address)


def service_url_allowed(service_url: str, allowed: Sequence[str]) -> bool:
    """Whether `service_url` is on the allow-list: entries are origins (`https://host` or
    `https://host:port`), or `https://*.domain` for the domain's subdomains; the scheme and
    port must match exactly. No credentials, query or fragment in the URL."""
    try:
        url = urlsplit(service_url)
        port = url.port
    except ValueError:
        return False
    if url.scheme not in ("https", "http") or not url.hostname or url.username or url.password:
        return False
    if url.query or url.fragment:
        return False
    host = url.hostname.lower()
    for entry in allowed:
        try:
            allowed_url = urlsplit(entry.strip())
            allowed_port = allowed_url.port
        except ValueError:
            continue
        allowed_host = (allowed_url.hostname or "").lower()
        if allowed_url.scheme != url.scheme or allowed_port != port or not allowed_host:
            continue
        if allowed_url.netloc.startswith("*."):
            suffix = allowed_url.netloc[1:].split(":")[0].lower()
            if host.endswith(suffix) and len(host) > len(suffix):
                return True
        elif host == allowed_host:
            return True
    return False


def button_payload(text: str, offered: Sequence[Button]) -> str:
    """The payload of the offered button whose title the user sent (an imBack), else `text`."""
    wanted = " ".join(text.split()).casefold()
    for button in offered:
        if " ".join(button.title.split()).casefold() == wanted:
            return button.payload
    return text


# ---- outgoing ---------------------------------------------------------------------------------


def _activity(address: TeamsAddress, **content: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "from": {"id": address.bot_id, "name": address.bot_name},
        "recipient": {"id": address.user_id},
        "conversation": {"id": address.conversation_id},
        **content,
    }


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    content: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": body,
    }
    if actions:
        content["actions"] = actions
    return {"contentType": CARD_CONTENT_TYPE, "content": content}


def _text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def choice_card(text: str, buttons: Sequence[Button]) -> dict[str, Any]:
    """An Adaptive Card with the question and one messageBack button per choice."""
    actions = [
        {
            "type": "Action.Submit",
            "title": button.title,
            "data": {
                "msteams": {
                    "type": "messageBack",
                    "displayText": button.title,
                    "text": button.payload,
                },
                "payload": button.payload,
            },
        }
        for button in buttons
    ]
    return _card([_text_block(text)] if text else [], actions)


def advice_card(advice: Mapping[str, Any], open_label: str) -> dict[str, Any] | None:
    """The plan's payload (catalogue/plan_view.py `card_payload`) as a small Adaptive Card:
    the goal and a button to the saved plan. The steps themselves came as text just before
    (Teams draws no plan card), so they are not said twice. None without a working link."""
    link = _text(advice.get("link"))
    if not (link and link.startswith(("https://", "http://")) and open_label):
        return None
    body = []
    title = _text(_mapping(advice.get("target")).get("title"))
    if title:
        body.append(_text_block(title, weight="Bolder", size="Medium"))
    return _card(body, [{"type": "Action.OpenUrl", "title": open_label, "url": link}])


def teams_outgoing(address: TeamsAddress, reply: BotReply, open_label: str) -> list[dict[str, Any]]:
    """The connector activities for one bot reply, in order."""
    activities: list[dict[str, Any]] = []
    if reply.buttons and len(reply.buttons) <= MAX_SUGGESTED_ACTIONS:
        actions = [
            {"type": "imBack", "title": button.title, "value": button.title}
            for button in reply.buttons
        ]
        activities.append(
            _activity(
                address,
                text=reply.text,
                textFormat="plain",
                suggestedActions={"to": [address.user_id], "actions": actions},
            )
        )
    elif reply.buttons:
        activities.append(_activity(address, attachments=[choice_card(reply.text, reply.buttons)]))
    elif reply.text:
        activities.append(_activity(address, text=reply.text, textFormat="plain"))
    if reply.custom is not None and reply.custom.get("type") == "advice":
        card = advice_card(reply.custom, open_label)
        if card is not None:
            activities.append(_activity(address, attachments=[card]))
    return activities
