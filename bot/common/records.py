"""What the actions hand to the app's stores and get back: a saved advice's link, a handoff
request. Standard library only, so that the actions need no app code for them (the stores that
take and give them are in bot/app; the action server hands those to the actions)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SavedLink:
    """A saved advice's link (bot/app/advice_store.py)."""

    token: str
    url: str
    expires_at: dt.datetime
    valid_days: int


@dataclass(frozen=True)
class NewHandoff:
    """What the conversation knows when the person asks for an advisor."""

    conversation_id: str
    channel: str
    language: str
    contact_preference: str
    contact: str | None
    consent: bool
    region: str | None
    profile_summary: dict[str, Any]
    advice_summary: dict[str, Any] | None


@dataclass(frozen=True)
class StoredHandoff:
    public_id: str
    idempotency_key: str
    # False when this turn's request already existed (a retried call).
    created: bool
