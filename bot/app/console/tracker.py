"""Read-only access to Rasa 3.6's SQL tracker store (table `events`).

The table belongs to Rasa; this module only declares its columns to SELECT from it and
never writes. Each row's `data` is the JSON of one Rasa event (`event.as_dict()`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from bot.app.db import LazyEngine
from bot.app.tracker_events import events
from catalogue.plan_view import PAYLOAD_TYPE, VIEW_FORMAT

# Actions that are plumbing, not part of what the conversation did.
SILENT_ACTIONS = frozenset({"action_listen", "action_session_start"})
# What the bot says when it did not understand a message (domain.yml, actions/dialogue.py):
# counted per conversation, so staff find the conversations that went badly.
FALLBACK_RESPONSES = frozenset(
    {
        "utter_not_understood",
        "utter_not_understood_general",
        "utter_miss_offer",
        "utter_offer_human",
        "utter_no_answer",
    }
)


class TrackerReader(LazyEngine):
    """A lazily made engine on the tracker store's URL (nothing connects at import)."""

    def conversation_events(self, sender_id: str) -> list[tuple[int, dict[str, Any]]]:
        query = select(events.c.id, events.c.data).where(events.c.sender_id == sender_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(events.c.id)).all()
        return [(row.id, _load(row.data)) for row in rows]


def _load(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def when(timestamp: Any) -> dt.datetime | None:
    if not isinstance(timestamp, int | float):
        return None
    return dt.datetime.fromtimestamp(float(timestamp), dt.UTC)


@dataclass
class TranscriptItem:
    """One line of the transcript as the page shows it."""

    kind: str  # user | bot | action | slot | loop | session
    event_id: int
    at: dt.datetime | None
    text: str = ""
    intent: str | None = None
    confidence: float | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    name: str | None = None
    value: Any = None
    buttons: list[dict[str, Any]] = field(default_factory=list)
    advice: dict[str, Any] | None = None  # the card of an older advice (before the plan)
    plan: dict[str, Any] | None = None  # the plan's card (catalogue/plan_view.py)
    custom: Any = None
    channel: str | None = None


def transcript(rows: list[tuple[int, dict[str, Any]]]) -> Iterator[TranscriptItem]:
    for event_id, data in rows:
        kind = data.get("event")
        at = when(data.get("timestamp"))
        if kind == "user":
            parse = data.get("parse_data") or {}
            intent = parse.get("intent") or {}
            yield TranscriptItem(
                kind="user",
                event_id=event_id,
                at=at,
                text=str(data.get("text") or ""),
                intent=intent.get("name"),
                confidence=_float(intent.get("confidence")),
                entities=[e for e in parse.get("entities") or [] if isinstance(e, dict)],
                channel=data.get("input_channel"),
            )
        elif kind == "bot":
            payload = data.get("data") or {}
            custom = payload.get("custom")
            advice = plan = None
            if isinstance(custom, dict) and custom.get("type") == PAYLOAD_TYPE:
                if custom.get("format") == VIEW_FORMAT:
                    # Not its link: the token opens the person's saved plan.
                    plan = {key: value for key, value in custom.items() if key != "link"}
                elif isinstance(custom.get("advice"), dict):
                    advice = custom["advice"]
            yield TranscriptItem(
                kind="bot",
                event_id=event_id,
                at=at,
                text=str(data.get("text") or ""),
                buttons=[b for b in payload.get("buttons") or [] if isinstance(b, dict)],
                advice=advice,
                plan=plan,
                custom=None if advice is not None or plan is not None else custom,
                name=(data.get("metadata") or {}).get("utter_action"),
            )
        elif kind == "action":
            name = data.get("name")
            # An utterance shows as the bot's message, with its name, right after.
            if name in SILENT_ACTIONS or str(name).startswith("utter_"):
                continue
            yield TranscriptItem(kind="action", event_id=event_id, at=at, name=name)
        elif kind == "slot":
            yield TranscriptItem(
                kind="slot",
                event_id=event_id,
                at=at,
                name=data.get("name"),
                value=data.get("value"),
            )
        elif kind == "active_loop":
            yield TranscriptItem(kind="loop", event_id=event_id, at=at, name=data.get("name"))
        elif kind == "session_started":
            yield TranscriptItem(kind="session", event_id=event_id, at=at)


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
