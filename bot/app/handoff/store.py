"""Storing a handoff request together with its outbox message, in one transaction.

A retried action call (the engine sends the same turn again, or a frozen action server runs a
call the engine gave up on) must not create a second request: the store takes the call's
`IdempotencyKey` (conversation, triggering user message, action: bot/common/idempotency.py), its
digest goes in the outbox message's unique `idempotency_key` column, so a second insert fails
and the repeated call gets the first request back. A call past the key's deadline stores
nothing (`TooLate`). The same digest goes to the receiver as the Idempotency-Key header.

Requests hold contact details, so they do not stay forever: `erase_handoffs` deletes those of
an erased conversation, `purge_handoffs` those past retention (both called by bot.app.retention).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.app.db import Database, utcnow
from bot.app.handoff.models import HandoffRequest, OutboxMessage
from bot.app.schema_upgrade import add_missing_columns
from bot.common.idempotency import IdempotencyKey
from bot.common.records import NewHandoff, StoredHandoff

PAYLOAD_VERSION = 1


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
    """Creates the app tables that are missing, and the handoff columns added since.

    Several processes may start at once: `Database.create_all` copes with their race.
    """
    database.create_all()
    upgrade_tables(database)


def upgrade_tables(database: Database) -> None:
    """Adds `handoff_requests.updated_at` to a table made before it, filled from what is known."""
    table = HandoffRequest.__table__
    assert isinstance(table, Table)
    if add_missing_columns(database.engine, table, "updated_at"):
        with database.session() as session:
            session.execute(
                update(HandoffRequest)
                .where(HandoffRequest.updated_at.is_(None))
                .values(
                    updated_at=func.coalesce(HandoffRequest.closed_at, HandoffRequest.created_at)
                )
                .execution_options(synchronize_session=False)
            )


# ---- retention ----------------------------------------------------------------------------------

# Deletes of many rows go in chunks of ids (SQLite allows a limited number of parameters).
_CHUNK = 500


@dataclass(frozen=True)
class ErasedHandoffs:
    """What erasing the handoff requests of some conversations deleted."""

    requests: int = 0
    outbox_messages: int = 0
    # Requests the webhook had accepted before: the receiving system still holds a copy, which
    # this erasure cannot reach.
    delivered: int = 0


def erase_handoffs(session: Session, conversation_ids: Sequence[str]) -> ErasedHandoffs:
    """Deletes the handoff requests of these conversations and their outbox messages.

    Runs in the caller's transaction (the retention command erases saved advice in the same
    one). On PostgreSQL the outbox rows are locked first, so a delivery in progress finishes
    (or fails) before the count of delivered requests is taken. Outbox before request, as the
    delivery worker locks them: the other order could deadlock with it.
    """
    if not conversation_ids:
        return ErasedHandoffs()
    of_these = select(HandoffRequest.id).where(
        HandoffRequest.conversation_id.in_(list(conversation_ids))
    )
    outbox_rows = session.execute(
        select(OutboxMessage.handoff_id, OutboxMessage.delivered_at)
        .where(OutboxMessage.handoff_id.in_(of_these))
        .with_for_update()
    ).all()
    delivered = {handoff for handoff, at in outbox_rows if at is not None}
    request_ids = list(session.scalars(of_these.with_for_update()))
    outbox = 0
    for start in range(0, len(request_ids), _CHUNK):
        outbox += _delete_chunk(session, request_ids[start : start + _CHUNK])
    return ErasedHandoffs(len(request_ids), outbox, len(delivered))


def purge_handoffs(session: Session, days: int, now: dt.datetime | None = None) -> ErasedHandoffs:
    """Deletes the handoff requests (with their outbox messages) that are past retention.

    A request is done when staff closed it or the webhook accepted it; done, it goes `days`
    after its last change. One still waiting (neither closed nor delivered) is kept up to
    twice as long, so a slow queue loses nothing; then it goes too.
    """
    if days < 0:
        raise ValueError(f"days must be 0 or more, got {days}")
    moment = now if now is not None else utcnow()
    if moment.tzinfo is None:
        raise ValueError("now must carry a time zone")
    moment = moment.astimezone(dt.UTC)
    last_change = func.coalesce(
        HandoffRequest.updated_at, HandoffRequest.closed_at, HandoffRequest.created_at
    )
    delivered = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.handoff_id == HandoffRequest.id,
            OutboxMessage.delivered_at.is_not(None),
        )
        .exists()
    )
    done = or_(HandoffRequest.status == "closed", delivered)
    stale = or_(
        and_(last_change < moment - dt.timedelta(days=days), done),
        last_change < moment - dt.timedelta(days=2 * days),
    )
    request_ids = list(session.scalars(select(HandoffRequest.id).where(stale)))
    outbox = 0
    was_delivered = 0
    for start in range(0, len(request_ids), _CHUNK):
        chunk = request_ids[start : start + _CHUNK]
        was_delivered += int(
            session.scalar(
                select(func.count(func.distinct(OutboxMessage.handoff_id))).where(
                    OutboxMessage.handoff_id.in_(chunk), OutboxMessage.delivered_at.is_not(None)
                )
            )
            or 0
        )
        outbox += _delete_chunk(session, chunk)
    return ErasedHandoffs(len(request_ids), outbox, was_delivered)


def _delete_chunk(session: Session, request_ids: list[int]) -> int:
    """Deletes these requests and their outbox messages; returns how many outbox messages."""
    # The outbox first and by hand: the count is wanted, and a database made without foreign
    # keys switched on (SQLite) would otherwise keep orphans.
    result = session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.handoff_id.in_(request_ids))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(HandoffRequest)
        .where(HandoffRequest.id.in_(request_ids))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


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

    def create(self, new: NewHandoff, call: IdempotencyKey) -> StoredHandoff:
        """Stores the request and its outbox message once per `call`; returns its public id.

        A repeated call gets the first request (created=False) and changes nothing; a call
        past its deadline raises TooLate and stores nothing.
        """
        if not new.consent:
            raise ValueError("a handoff request is only stored with consent")
        self._ensure_tables()
        key = call.digest
        existing = self.find(key)
        if existing is not None:
            return StoredHandoff(existing, key, created=False)
        call.check_in_time()
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
                    updated_at=created_at,
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
            from bot.common.settings import load_settings

            _default = HandoffStore(Database(load_settings().database_url))
        return _default
