"""Remembers which webhook deliveries were already taken, in the tracker database.

Telegram resends an update (same update_id) it thinks was not received, Slack retries an event
(same event_id, X-Slack-Retry-Num) after 3 s without an answer. Several engine instances run
behind a load balancer, so "seen" lives in the database every instance shares, not in memory:
a row per (channel, delivery_id) under a unique key; the first insert wins, a second insert of
the same key fails with IntegrityError, which means "duplicate".

A claim is first pending (`pending_since` set) and only counts as handled once the turn was
stored (`done`). A turn that failed releases its claim so the platform's redelivery is handled;
when even that fails (the database went down mid-turn, and the claims live in the same
database), the claim stays pending, and a redelivery after `stale_after` seconds takes it over
instead of being dropped as a duplicate (and a release that failed is tried again by this
process before its next claim, so a redelivery to the same instance needs no waiting). A
redelivery while a claim is pending and fresh is
BUSY: the channel answers with an error status so the platform tries again later. Rows of
older versions have no `pending_since`: handled.

SQLAlchemy Core only, written to run on both 1.4 (the engine's runtime) and 2.0 (.venv, where it
is unit-tested). The rows hold no personal data: a channel name, the platform's delivery id and
a time; old rows are deleted now and then.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Column, Float, Index, MetaData, String, Table, create_engine, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.sql import select
from sqlalchemy.sql.elements import ColumnElement

logger = logging.getLogger(__name__)

# Telegram keeps undelivered updates for 24 hours and Slack retries within the hour: two days
# covers every redelivery with margin.
KEEP_SECONDS = 2 * 24 * 3600.0
PRUNE_EVERY_SECONDS = 3600.0
# A pending claim older than this belongs to an attempt that failed without releasing it (a
# turn ends well within it: the action server's timeout is seconds).
STALE_AFTER_SECONDS = 120.0

metadata = MetaData()
deliveries = Table(
    "channel_deliveries",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("delivery_id", String(200), primary_key=True),
    Column("received_at", Float, nullable=False),
    # When the attempt that holds the claim started; NULL once handled.
    Column("pending_since", Float, nullable=True),
    Index("ix_channel_deliveries_received_at", "received_at"),
)


class Claim(enum.Enum):
    NEW = "new"  # handle it (first delivery, or a take-over of a failed attempt)
    DUPLICATE = "duplicate"  # already handled: acknowledge, do nothing
    BUSY = "busy"  # another attempt is running: ask the platform to try again later

    def __bool__(self) -> bool:
        return self is Claim.NEW


def _add_pending_column(engine: Engine) -> None:
    if "pending_since" in {c["name"] for c in inspect(engine).get_columns(deliveries.name)}:
        return
    preparer = engine.dialect.identifier_preparer
    column = deliveries.c.pending_since
    statement = (
        f"ALTER TABLE {preparer.format_table(deliveries)} "
        f"ADD COLUMN {preparer.format_column(column)} {column.type.compile(dialect=engine.dialect)}"
    )
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(statement)
    except SQLAlchemyError:
        # Another instance added it at the same moment.
        if "pending_since" not in {c["name"] for c in inspect(engine).get_columns(deliveries.name)}:
            raise


class DeliveryLog:
    """Claims deliveries once across all instances. Blocking calls: run them in a thread."""

    def __init__(
        self,
        url: str,
        *,
        keep_seconds: float = KEEP_SECONDS,
        prune_every: float = PRUNE_EVERY_SECONDS,
        stale_after: float = STALE_AFTER_SECONDS,
    ) -> None:
        self._url = url
        self._engine: Engine | None = None
        self._keep_seconds = keep_seconds
        self._stale_after = stale_after
        self._prune_every = prune_every
        # When this process last pruned: only saves work, no other instance needs it.
        self._pruned_at = 0.0
        self._lock = threading.Lock()
        # This process's pending claims (their pending_since), and those whose release failed
        # (the database was down), released again before the next claim.
        self._pending: dict[tuple[str, str], float] = {}
        self._unreleased: dict[tuple[str, str], float] = {}

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                engine = create_engine(self._url, pool_pre_ping=True)
                self._create_table(engine)
                self._engine = engine
            return self._engine

    @staticmethod
    def _create_table(engine: Engine) -> None:
        try:
            metadata.create_all(engine, checkfirst=True)
        except SQLAlchemyError:
            # Two instances starting at once: one creates it, the other's CREATE fails.
            metadata.create_all(engine, checkfirst=True)
        _add_pending_column(engine)

    def _key(self, channel: str, delivery_id: str) -> ColumnElement[bool]:
        return (deliveries.c.channel == channel) & (deliveries.c.delivery_id == delivery_id)

    def claim(self, channel: str, delivery_id: str, now: float | None = None) -> Claim:
        """NEW the first time (or when a failed attempt left its claim), else DUPLICATE or BUSY."""
        moment = time.time() if now is None else now
        self._release_left_over()
        self._prune_now_and_then(moment)
        row = {
            "channel": channel,
            "delivery_id": delivery_id,
            "received_at": moment,
            "pending_since": moment,
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(deliveries.insert().values(**row))
        except IntegrityError:
            return self._claim_taken(channel, delivery_id, moment)
        self._remember(channel, delivery_id, moment)
        return Claim.NEW

    def _remember(self, channel: str, delivery_id: str, pending_since: float) -> None:
        with self._lock:
            self._pending[(channel, delivery_id)] = pending_since

    def _claim_taken(self, channel: str, delivery_id: str, now: float) -> Claim:
        key = self._key(channel, delivery_id)
        with self.engine.begin() as connection:
            pending = connection.execute(select(deliveries.c.pending_since).where(key)).scalar()
            if pending is None:
                return Claim.DUPLICATE  # handled (or released just now: the next try is NEW)
            if now - pending < self._stale_after:
                return Claim.BUSY
            # Take over, unless another instance just did (compare and set).
            taken = connection.execute(
                deliveries.update()
                .where(key & (deliveries.c.pending_since == pending))
                .values(pending_since=now)
            )
        if taken.rowcount != 1:
            return Claim.BUSY
        self._remember(channel, delivery_id, now)
        return Claim.NEW

    def done(
        self,
        channel: str,
        delivery_id: str,
        *,
        also: Callable[[Connection], object] | None = None,
    ) -> None:
        """The delivery's turn was stored: from now on a redelivery is a duplicate.

        `also` runs in the same transaction: the turn's replies go into the channel outbox
        (bot/engine/channels/outbox.py) together with this mark, or neither does."""
        with self.engine.begin() as connection:
            connection.execute(
                deliveries.update()
                .where(self._key(channel, delivery_id))
                .values(pending_since=None)
            )
            if also is not None:
                also(connection)
        with self._lock:
            self._pending.pop((channel, delivery_id), None)

    def release(self, channel: str, delivery_id: str) -> None:
        """Forgets a claim whose handling failed, so the platform's retry is handled.

        Raises when the database cannot be reached; the claim is then released again before
        this process's next claim (and is taken over by any instance once stale)."""
        with self._lock:
            pending_since = self._pending.pop((channel, delivery_id), None)
        try:
            with self.engine.begin() as connection:
                connection.execute(deliveries.delete().where(self._key(channel, delivery_id)))
        except SQLAlchemyError:
            if pending_since is not None:
                with self._lock:
                    self._unreleased[(channel, delivery_id)] = pending_since
            raise

    def _release_left_over(self) -> None:
        with self._lock:
            left = list(self._unreleased.items())
        for (channel, delivery_id), pending_since in left:
            # Only our own claim: another instance may have taken it over since.
            ours = self._key(channel, delivery_id) & (deliveries.c.pending_since == pending_since)
            try:
                with self.engine.begin() as connection:
                    connection.execute(deliveries.delete().where(ours))
            except SQLAlchemyError:
                return  # still down: the claim below fails as well
            with self._lock:
                self._unreleased.pop((channel, delivery_id), None)

    def prune(self, now: float | None = None) -> int:
        """Deletes claims older than the keep period; returns how many."""
        cutoff = (time.time() if now is None else now) - self._keep_seconds
        with self.engine.begin() as connection:
            result = connection.execute(
                deliveries.delete().where(deliveries.c.received_at < cutoff)
            )
        return int(result.rowcount or 0)

    def _prune_now_and_then(self, now: float) -> None:
        if now - self._pruned_at < self._prune_every:
            return
        self._pruned_at = now
        try:
            removed = self.prune(now)
        except SQLAlchemyError:
            logger.warning("Could not prune old channel deliveries; trying again later.")
            return
        if removed:
            logger.debug("Pruned %d old channel deliveries.", removed)
