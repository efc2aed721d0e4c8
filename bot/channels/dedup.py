"""Remembers which webhook deliveries were already taken, in the tracker database.

Telegram resends an update (same update_id) it thinks was not received, Slack retries an event
(same event_id, X-Slack-Retry-Num) after 3 s without an answer. Several engine instances run
behind a load balancer, so "seen" lives in the database every instance shares, not in memory:
a row per (channel, delivery_id) under a unique key; the first insert wins, a second insert of
the same key fails with IntegrityError, which means "duplicate".

SQLAlchemy Core only, written to run on both 1.4 (the engine's runtime) and 2.0 (.venv, where it
is unit-tested). The rows hold no personal data: a channel name, the platform's delivery id and
a time; old rows are deleted now and then.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Column, Float, Index, MetaData, String, Table, create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

logger = logging.getLogger(__name__)

# Telegram keeps undelivered updates for 24 hours and Slack retries within the hour: two days
# covers every redelivery with margin.
KEEP_SECONDS = 2 * 24 * 3600.0
PRUNE_EVERY_SECONDS = 3600.0

metadata = MetaData()
deliveries = Table(
    "channel_deliveries",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("delivery_id", String(200), primary_key=True),
    Column("received_at", Float, nullable=False),
    Index("ix_channel_deliveries_received_at", "received_at"),
)


class DeliveryLog:
    """Claims deliveries once across all instances. Blocking calls: run them in a thread."""

    def __init__(
        self,
        url: str,
        *,
        keep_seconds: float = KEEP_SECONDS,
        prune_every: float = PRUNE_EVERY_SECONDS,
    ) -> None:
        self._url = url
        self._engine: Engine | None = None
        self._keep_seconds = keep_seconds
        self._prune_every = prune_every
        # When this process last pruned: only saves work, no other instance needs it.
        self._pruned_at = 0.0
        self._lock = threading.Lock()

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

    def claim(self, channel: str, delivery_id: str, now: float | None = None) -> bool:
        """True the first time this delivery is claimed, False for a duplicate or retry."""
        moment = time.time() if now is None else now
        self._prune_now_and_then(moment)
        row = {"channel": channel, "delivery_id": delivery_id, "received_at": moment}
        try:
            with self.engine.begin() as connection:
                connection.execute(deliveries.insert().values(**row))
        except IntegrityError:
            return False
        return True

    def release(self, channel: str, delivery_id: str) -> None:
        """Forgets a claim whose handling failed, so the platform's retry is handled."""
        with self.engine.begin() as connection:
            connection.execute(
                deliveries.delete().where(
                    (deliveries.c.channel == channel) & (deliveries.c.delivery_id == delivery_id)
                )
            )

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
