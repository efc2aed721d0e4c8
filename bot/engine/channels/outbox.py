"""Replies of the WhatsApp and Teams channels wait here until the platform has accepted them.

The same discipline as the handoff outbox (bot/app/handoff/delivery.py), for chat replies: a turn's
replies are written in one transaction with the mark that its delivery was handled
(`channel_deliveries`, bot/engine/channels/dedup.py), so a stored turn never loses its replies and a
redelivered webhook never doubles them. A sender then claims one due row at a time with
`SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite ignores it and its one engine sends
alone), calls the platform while the row stays locked and deletes the row in the same
transaction once the platform accepted it: two instances never send the same reply, and an
accepted reply is not sent again. Only if a process dies between the platform's answer and
the commit is a reply sent twice (at least once, as the handoff's).

- Order: a reply is due only when no earlier reply of the same conversation waits, so a
  conversation's replies arrive in order also across retries and instances.
- Retries: a failed attempt (timeout, connection error, 5xx, 429, a refused token) waits with
  the handoff's backoff (bot/common/backoff.py), or the platform's Retry-After when longer.
- Lifetime: every row has a `not_after`. WhatsApp allows free-form replies only within 24 hours
  of the user's last message (its customer-service window), so a WhatsApp reply's `not_after`
  is the window's end, moved on by every later message of that user; Teams replies get the
  same day. A row past it is deleted unsent, with a log line. A refusal that will not change
  (a malformed message, a user who blocked the bot) is deleted the same way.
- Personal data: the rows hold reply texts, so they are deleted when sent, dropped, erased with
  their conversation (`erase`, called by the tracker store and bot/app/retention.py) or purged.
  Log lines name outbox ids, channels and error kinds, never what a reply says.

SQLAlchemy Core only, for both 1.4 (the engine's runtime) and 2.0 (.venv, where it is
unit-tested); in the tracker database, next to `channel_deliveries`.
"""

from __future__ import annotations

import enum
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    inspect,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import exists, func, select

from bot.common.backoff import backoff_seconds

logger = logging.getLogger(__name__)

# A reply that could not be delivered within a day is stale; for WhatsApp the platform's own
# window (24 hours after the user's last message) is the limit.
REPLY_LIFETIME_SECONDS = 24 * 3600.0
FIRST_RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 15 * 60.0
# From this many failed attempts on, every further one is logged as a warning.
FAILING_AFTER = 8
MAX_ERROR_CHARS = 200
# What the log says of a reply whose `not_after` passed, by channel.
WINDOW_CLOSED = {
    "whatsapp": "outside WhatsApp's 24-hour customer-service window (the user wrote too long ago)"
}

metadata = MetaData()
outbox = Table(
    "channel_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("conversation_id", String(255), nullable=False),
    # Where the platform delivers it (JSON): a WhatsApp number, a Teams conversation.
    Column("address", Text, nullable=False),
    # The platform's request body (JSON), built when the turn ended.
    Column("body", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("not_after", Float, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", String(MAX_ERROR_CHARS), nullable=True),
    Index("ix_channel_outbox_due", "channel", "next_attempt_at"),
    Index("ix_channel_outbox_conversation", "conversation_id", "id"),
)


class Outcome(enum.Enum):
    SENT = "sent"  # accepted by the platform: deleted
    RETRY = "retry"  # try again later (backoff)
    DROP = "drop"  # refused for good, or outside the window: deleted unsent, logged


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    # The kind of failure, for the log and `last_error` (never the reply's content).
    error: str = ""
    # The platform's Retry-After, in seconds, when it gave one.
    retry_after: float | None = None


SENT = SendResult(Outcome.SENT)


@dataclass(frozen=True)
class Reply:
    """One platform message to send: where to, and the request body."""

    address: Mapping[str, Any]
    body: Mapping[str, Any]


@dataclass(frozen=True)
class Pending:
    """A stored reply as the sender gets it."""

    id: int
    channel: str
    conversation_id: str
    address: dict[str, Any]
    body: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Round:
    """What one `deliver_due` call did."""

    sent: int = 0
    retried: int = 0
    dropped: int = 0
    # The outbox ids of the dropped replies.
    dropped_ids: tuple[int, ...] = field(default=())

    @property
    def attempts(self) -> int:
        return self.sent + self.retried + self.dropped


Sender = Callable[[Pending], SendResult]


def retry_after(headers: Mapping[str, str]) -> float | None:
    """A platform's Retry-After header in seconds (the date form is not used by these APIs)."""
    raw = (headers.get("Retry-After") or "").strip()
    return float(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else None


class ChannelOutbox:
    """The outbox in the tracker database. Blocking calls: the engine runs them in a thread."""

    def __init__(
        self,
        url: str,
        *,
        first_retry: float = FIRST_RETRY_SECONDS,
        max_retry: float = MAX_RETRY_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        self._url = url
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self.first_retry = first_retry
        self.max_retry = max_retry
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                engine = create_engine(self._url, pool_pre_ping=True)
                create_table(engine)
                self._engine = engine
            return self._engine

    def deliver_due(
        self, channel: str, send: Sender, *, limit: int = 50, now: Callable[[], float] = time.time
    ) -> Round:
        """Sends up to `limit` due replies of `channel`, one transaction each."""
        sent = retried = dropped = 0
        dropped_ids: list[int] = []
        for _ in range(limit):
            outcome = self._deliver_one(channel, send, now)
            if outcome is None:
                break
            result, row_id = outcome
            if result is Outcome.SENT:
                sent += 1
            elif result is Outcome.RETRY:
                retried += 1
            else:
                dropped += 1
                dropped_ids.append(row_id)
        return Round(sent, retried, dropped, tuple(dropped_ids))

    def _due(self, channel: str, moment: float) -> Any:
        earlier = outbox.alias("earlier")
        waits_behind = exists(
            select(earlier.c.id).where(
                (earlier.c.conversation_id == outbox.c.conversation_id)
                & (earlier.c.id < outbox.c.id)
            )
        )
        return (
            select(outbox)
            .where((outbox.c.channel == channel) & (outbox.c.next_attempt_at <= moment))
            .where(~waits_behind)
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(1)
            .with_for_update(skip_locked=True, of=outbox)
        )

    def _deliver_one(
        self, channel: str, send: Sender, now: Callable[[], float]
    ) -> tuple[Outcome, int] | None:
        with self.engine.begin() as connection:
            row = connection.execute(self._due(channel, now())).mappings().first()
            if row is None:
                return None
            # The row stays locked until this block commits: no other instance sends it.
            pending = Pending(
                id=int(row["id"]),
                channel=str(row["channel"]),
                conversation_id=str(row["conversation_id"]),
                address=json.loads(row["address"]),
                body=json.loads(row["body"]),
                attempts=int(row["attempts"]),
            )
            this_row = outbox.c.id == pending.id
            if now() > float(row["not_after"]):
                connection.execute(outbox.delete().where(this_row))
                logger.warning(
                    "%s reply %s not sent: %s (attempts: %d)",
                    channel,
                    pending.id,
                    WINDOW_CLOSED.get(channel, "older than a day"),
                    pending.attempts,
                )
                return Outcome.DROP, pending.id
            try:
                result = send(pending)
            except Exception as error:  # a bug in a sender must not stop the outbox
                logger.exception("%s reply %s: sending failed", channel, pending.id)
                result = SendResult(Outcome.RETRY, type(error).__name__)
            if result.outcome is Outcome.SENT:
                connection.execute(outbox.delete().where(this_row))
                logger.info(
                    "%s reply %s sent (attempt %d)", channel, pending.id, pending.attempts + 1
                )
            elif result.outcome is Outcome.DROP:
                connection.execute(outbox.delete().where(this_row))
                logger.warning(
                    "%s reply %s not sent: refused (%s)", channel, pending.id, result.error
                )
            else:
                attempts = pending.attempts + 1
                wait = backoff_seconds(
                    attempts, self._rng, first=self.first_retry, cap=self.max_retry
                )
                if result.retry_after is not None:
                    wait = max(wait, min(result.retry_after, self.max_retry))
                connection.execute(
                    outbox.update()
                    .where(this_row)
                    .values(
                        attempts=attempts,
                        next_attempt_at=now() + wait,
                        last_error=result.error[:MAX_ERROR_CHARS] or None,
                    )
                )
                log = logger.warning if attempts >= FAILING_AFTER else logger.info
                log(
                    "%s reply %s not delivered (attempt %d, next in %.0f s): %s",
                    channel,
                    pending.id,
                    attempts,
                    wait,
                    result.error,
                )
            return result.outcome, pending.id

    def waiting(self, conversation_id: str) -> int:
        """How many replies of a conversation wait (tests, diagnostics)."""
        with self.engine.begin() as connection:
            count = connection.execute(
                select(func.count()).where(outbox.c.conversation_id == conversation_id)
            ).scalar()
        return int(count or 0)

    def erase(self, conversation_id: str) -> int:
        """Deletes a conversation's waiting replies (an erasure); returns how many."""
        with self.engine.begin() as connection:
            return erase_conversation(connection, conversation_id)

    def purge(self, now: float | None = None) -> int:
        """Deletes replies past their lifetime that no sender took (a channel switched off)."""
        with self.engine.begin() as connection:
            return purge_expired(connection, now)


def add_replies(
    connection: Connection,
    channel: str,
    conversation_id: str,
    replies: Sequence[Reply],
    *,
    not_after: float,
    now: float | None = None,
) -> list[int]:
    """Stores a turn's replies, in order, with the caller's connection (in the transaction
    that marks the webhook delivery as handled: `DeliveryLog.done(..., also=...)`).

    Earlier replies of the conversation still waiting get the later `not_after` too: a new
    message from the user reopens WhatsApp's window for them.
    """
    moment = time.time() if now is None else now
    connection.execute(
        outbox.update()
        .where(
            (outbox.c.channel == channel)
            & (outbox.c.conversation_id == conversation_id)
            & (outbox.c.not_after < not_after)
        )
        .values(not_after=not_after)
    )
    ids = []
    for reply in replies:
        row = {
            "channel": channel,
            "conversation_id": conversation_id,
            "address": json.dumps(dict(reply.address), separators=(",", ":")),
            "body": json.dumps(dict(reply.body), ensure_ascii=False, separators=(",", ":")),
            "created_at": moment,
            "next_attempt_at": moment,
            "not_after": not_after,
            "attempts": 0,
        }
        key = connection.execute(outbox.insert().values(**row)).inserted_primary_key
        assert key is not None  # an INSERT of one row always has one
        ids.append(int(key[0]))
    return ids


def create_table(engine: Engine) -> None:
    try:
        metadata.create_all(engine, checkfirst=True)
    except SQLAlchemyError:
        # Two instances starting at once: one creates it, the other's CREATE fails.
        metadata.create_all(engine, checkfirst=True)


def _has_table(connection: Connection) -> bool:
    return bool(inspect(connection).has_table(outbox.name))


def erase_conversation(connection: Connection, conversation_id: str) -> int:
    """Deletes the waiting replies of a conversation, if the table exists; returns how many.

    Called with the caller's connection: the tracker store's erasure deletes them in the
    transaction that deletes the conversation's events, bot/app/retention.py in its own."""
    if not _has_table(connection):
        return 0
    result = connection.execute(outbox.delete().where(outbox.c.conversation_id == conversation_id))
    return int(result.rowcount or 0)


def erase_conversations(connection: Connection, conversation_ids: Sequence[str]) -> int:
    """`erase_conversation` for several (a purge)."""
    if not conversation_ids or not _has_table(connection):
        return 0
    result = connection.execute(
        outbox.delete().where(outbox.c.conversation_id.in_(list(conversation_ids)))
    )
    return int(result.rowcount or 0)


def purge_expired(connection: Connection, now: float | None = None) -> int:
    """Deletes replies whose `not_after` has passed; returns how many."""
    if not _has_table(connection):
        return 0
    moment = time.time() if now is None else now
    result = connection.execute(outbox.delete().where(outbox.c.not_after < moment))
    return int(result.rowcount or 0)
