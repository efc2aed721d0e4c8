"""The bot's replies of one turn as typed values, for the channels that build their own
platform messages (WhatsApp, Teams), and the privacy notice recruiters get first.

Standard library only (tested from .venv). A turn runs against Rasa's CollectingOutputChannel,
whose messages are dicts ({"text", "buttons", "image", "custom", ...}); `bot_reply` reads one
into a `BotReply`, leaving out what is not well-formed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.engine.channels.widget_protocol import DEFAULT_LANGUAGE, LANGUAGES, response_text

# The first message of every new recruiter conversation (domain.yml), and the link to the
# deploying organisation's privacy statement after it when ZIJWIJZER_PRIVACY_URL is set.
PRIVACY_NOTICE_RESPONSE = "utter_privacy_notice_recruiter"
PRIVACY_LINK_RESPONSE = "utter_privacy_statement_link"
# Marks the notice's bot events in the tracker (so it is sent once per conversation).
PRIVACY_NOTICE_METADATA = "privacy_notice"
ELLIPSIS = "…"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotReply:
    """One bot message: text, buttons (a question's choices), an image, a custom payload."""

    text: str = ""
    buttons: tuple[Button, ...] = ()
    image: str | None = None
    custom: Mapping[str, Any] | None = None


def buttons_of(value: Any) -> tuple[Button, ...]:
    if not isinstance(value, list):
        return ()
    found = []
    for item in value:
        if not isinstance(item, Mapping):
            continue
        title, payload = item.get("title"), item.get("payload")
        if isinstance(title, str) and title.strip() and isinstance(payload, str) and payload:
            found.append(Button(title.strip(), payload))
    return tuple(found)


def bot_reply(message: Mapping[str, Any]) -> BotReply | None:
    """A collected message as a BotReply; None when it holds nothing to send."""
    text = message.get("text")
    image = message.get("image")
    custom = message.get("custom")
    reply = BotReply(
        text=text.strip() if isinstance(text, str) else "",
        buttons=buttons_of(message.get("buttons") or message.get("quick_replies")),
        image=image if isinstance(image, str) and image else None,
        custom=custom if isinstance(custom, Mapping) else None,
    )
    if not (reply.text or reply.buttons or reply.image or reply.custom):
        return None
    return reply


def bot_replies(messages: Iterable[Mapping[str, Any]]) -> list[BotReply]:
    return [reply for reply in map(bot_reply, messages) if reply is not None]


def clip(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut at a word boundary with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if text[limit - 1] != " " and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.") + ELLIPSIS


def split_text(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit` characters, split between paragraphs, lines or
    words where it can (a word longer than `limit` is cut)."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def fill(template: str, values: Mapping[str, object]) -> str:
    """`{name}` placeholders of a domain response replaced by `values` (others stay)."""
    return _PLACEHOLDER.sub(
        lambda match: str(values[match.group(1)]) if match.group(1) in values else match.group(0),
        template,
    )


def language_of(value: object) -> str:
    """The `language` slot's value as one of LANGUAGES (Dutch when unset or unknown)."""
    return value if isinstance(value, str) and value in LANGUAGES else DEFAULT_LANGUAGE


def privacy_notice(
    responses: Mapping[str, Any], language: str, *, retention_days: int, privacy_url: str
) -> list[str]:
    """The texts of the recruiters' privacy notice in `language`: the notice (with the
    retention period filled in) and, when the deployment has a privacy statement, its link.
    Empty when the domain has no notice."""
    notice = response_text(responses, PRIVACY_NOTICE_RESPONSE, language)
    if notice is None and language != DEFAULT_LANGUAGE:
        notice = response_text(responses, PRIVACY_NOTICE_RESPONSE, DEFAULT_LANGUAGE)
    if not notice:
        return []
    texts = [fill(notice, {"retention_days": retention_days})]
    link = response_text(responses, PRIVACY_LINK_RESPONSE, language) if privacy_url else None
    if link:
        texts.append(fill(link, {"url": privacy_url}))
    return texts
