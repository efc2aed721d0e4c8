"""Storing a handoff request together with its outbox message, in one transaction.

A retried action call (the engine or a proxy sends the same turn again) must not create a
second request: the outbox message's idempotency key is derived from the conversation and the
triggering user message, and a unique constraint on it makes a second insert fail. The same
key goes to the receiver as the Idempotency-Key header.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DatabaseError, IntegrityError

from bot.db import Database
from bot.handoff.models import HandoffRequest, OutboxMessage, utcnow

PAYLOAD_VERSION = 1


def request_key(conversation_id: str, turn: str) -> str:
    """The idempotency key of the handoff asked for in one turn of one conversation.

    A hash: the receiver gets the key in a header and must not learn the conversation id.
    """
    digest = hashlib.sha256(f"zijwijzer-handoff\x00{conversation_id}\x00{turn}".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class NewHandoff:
    """What the conversation knows when the person asks for an advisor."""

    conversation_id: str
    # Identifies the triggering turn (the user message's timestamp): retries share it.
    turn: str
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


def webhook_payload(request: HandoffRequest, created_at: dt.datetime) -> dict[str, Any]:
    """What the receiver gets: the request without any internal id or the conversation id."""
    return {
        "type": "zijwijzer.handoff",
        "version": PAYLOAD_VERSION,
        "id": request.public_id,
        "created_at": created_at.isoformat(),
        "channel": request.channel,
        "language": request.language,
        "contact_preference": request.contact_preference,
        "contact": request.contact,
        "region": request.region,
        "profile": request.profile_summary,
        "advice": request.advice_summary,
    }


def ensure_tables(database: Database) -> None:
    """Creates the app tables that are missing.

    The action server, the worker and the web app may start at once and race to create the
    same table; the loser's error means the table is there now, which a second pass confirms.
    """
    try:
        database.create_all()
    except DatabaseError:
        database.create_all()


class HandoffStore:
    """Handoff requests in the app database (injected, so tests pass a SQLite one)."""

    def __init__(self, database: Database, *, create_tables: bool = True) -> None:
        self.database = database
        self._create_tables = create_tables
        self._tables_ready = False

    def _ensure_tables(self) -> None:
        # The action server may run before the web app has created the app tables.
        if self._create_tables and not self._tables_ready:
            ensure_tables(self.database)
            self._tables_ready = True

    def create(self, new: NewHandoff) -> StoredHandoff:
        """Stores the request and its outbox message once per turn; returns its public id."""
        if not new.consent:
            raise ValueError("a handoff request is only stored with consent")
        self._ensure_tables()
        key = request_key(new.conversation_id, new.turn)
        existing = self.find(key)
        if existing is not None:
            return StoredHandoff(existing, key, created=False)
        try:
            with self.database.session() as session:
                created_at = utcnow()
                request = HandoffRequest(
                    public_id=str(uuid.uuid4()),
                    conversation_id=new.conversation_id,
                    channel=new.channel[:32],
                    language=new.language[:2],
                    created_at=created_at,
                    contact_preference=new.contact_preference,
                    contact=new.contact,
                    consent=True,
                    region=new.region[:64] if new.region else None,
                    profile_summary=new.profile_summary,
                    advice_summary=new.advice_summary,
                    status="open",
                )
                session.add(request)
                session.flush()  # the request's id for the outbox row's foreign key
                session.add(
                    OutboxMessage(
                        handoff_id=request.id,
                        idempotency_key=key,
                        payload=webhook_payload(request, created_at),
                        created_at=created_at,
                        attempts=0,
                        next_attempt_at=created_at,
                    )
                )
                public_id = request.public_id
        except IntegrityError:
            # A concurrent retry of the same turn won the race: its request is the one.
            existing = self.find(key)
            if existing is None:
                raise
            return StoredHandoff(existing, key, created=False)
        return StoredHandoff(public_id, key, created=True)

    def find(self, key: str) -> str | None:
        """The public id of the request with this idempotency key, if stored."""
        self._ensure_tables()
        with self.database.session() as session:
            found: str | None = session.scalar(
                select(HandoffRequest.public_id)
                .join(OutboxMessage, OutboxMessage.handoff_id == HandoffRequest.id)
                .where(OutboxMessage.idempotency_key == key)
            )
            return found


_default: HandoffStore | None = None
_default_lock = threading.Lock()


def default_store() -> HandoffStore:
    """The process-wide store on the configured app database (settings read on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            from bot.settings import load_settings

            _default = HandoffStore(Database(load_settings().database_url))
        return _default
