"""Delivering handoff requests from the outbox to the configured webhook.

One outbox message at a time: it is claimed with SELECT … FOR UPDATE SKIP LOCKED (PostgreSQL;
SQLite ignores it and runs one worker), POSTed while the row stays locked, and marked delivered
after a 2xx in the same transaction. So two workers never send the same message, and the
receiver gets each request exactly once in the normal case. If a worker dies after the POST
but before the commit, the row is unlocked unchanged and sent again later: at-least-once, with
the same Idempotency-Key header, so the receiver can drop the repeat. Every POST carries an
X-Zijwijzer-Signature header (bot/app/handoff/signature.py) the receiver should check.

A failed attempt (no 2xx, timeout, connection error) counts, and the next one waits with an
exponential backoff with jitter (5 s, 10 s, 20 s … at most 15 min). A message is never given
up: after FAILING_AFTER attempts it stays in the outbox as failing, with its last error, and
every further attempt is logged as a warning. Logs name only outbox ids and error kinds, never
what the request holds.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from sqlalchemy import func, select, update

from bot.app.db import Database, utcnow
from bot.app.handoff.models import HandoffRequest, OutboxMessage
from bot.app.handoff.signature import SIGNATURE_HEADER, sign_handoff
from bot.common.backoff import backoff_delay

logger = logging.getLogger(__name__)

# From this many failed attempts on, a message counts as failing (console, warnings).
FAILING_AFTER = 8
TIMEOUT_SECONDS = 10.0
MAX_ERROR_CHARS = 200


class DeliveryError(Exception):
    """The webhook did not accept a message; the text names only the kind of failure."""


class WebhookClient:
    """The thin HTTP client of the handoff receiver.

    Each POST is signed (bot/app/handoff/signature.py) with `secret` over the exact bytes sent, at
    the moment of sending, so the receiver can check who sent it and that it is fresh.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float = TIMEOUT_SECONDS,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("the handoff webhook needs a secret to sign deliveries")
        self.url = url
        self.timeout = timeout
        self._secret = secret
        self._session = session or requests.Session()
        self._clock = clock

    def send(self, payload: dict[str, Any], idempotency_key: str) -> int:
        """POSTs one message; returns the status code of a 2xx, raises DeliveryError otherwise."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key,
            SIGNATURE_HEADER: sign_handoff(self._secret, body, int(self._clock())),
        }
        try:
            answer = self._session.post(
                self.url,
                data=body,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
            answer.raise_for_status()
            if not 200 <= answer.status_code < 300:  # a 3xx is not an acceptance
                raise DeliveryError(f"HTTP {answer.status_code}")
            return answer.status_code
        except requests.HTTPError as error:
            status = error.response.status_code if error.response is not None else "?"
            raise DeliveryError(f"HTTP {status}") from error
        except requests.RequestException as error:
            raise DeliveryError(type(error).__name__) from error


@dataclass(frozen=True)
class Round:
    """What one `deliver_due` call did."""

    delivered: int = 0
    failed: int = 0


@dataclass(frozen=True)
class OutboxStatus:
    waiting: int
    failing: int
    delivered: int
    oldest_waiting: dt.datetime | None


class Deliverer:
    """Sends due outbox messages through a WebhookClient (None: messages wait)."""

    def __init__(
        self,
        database: Database,
        client: WebhookClient | None,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.database = database
        self.client = client
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    def deliver_due(self, limit: int = 50) -> Round:
        """Sends up to `limit` due messages, one transaction each."""
        if self.client is None:
            return Round()
        delivered = failed = 0
        for _ in range(limit):
            outcome = self._deliver_one(self.client)
            if outcome is None:
                break
            if outcome:
                delivered += 1
            else:
                failed += 1
        return Round(delivered, failed)

    def _deliver_one(self, client: WebhookClient) -> bool | None:
        """True: delivered; False: attempt failed; None: nothing due (or all claimed)."""
        now = self._clock()
        with self.database.session() as session:
            message = session.scalar(
                select(OutboxMessage)
                .where(OutboxMessage.delivered_at.is_(None), OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if message is None:
                return None
            # The row stays locked until this block commits: no other worker sends it meanwhile.
            try:
                status = client.send(message.payload, message.idempotency_key)
            except DeliveryError as error:
                message.attempts += 1
                message.last_error = str(error)[:MAX_ERROR_CHARS]
                message.next_attempt_at = self._clock() + backoff_delay(message.attempts, self._rng)
                log = logger.warning if message.attempts >= FAILING_AFTER else logger.info
                log(
                    "handoff outbox message %s not delivered (attempt %d): %s",
                    message.id,
                    message.attempts,
                    message.last_error,
                )
                return False
            message.attempts += 1
            message.delivered_at = self._clock()
            message.last_error = None
            # A delivery is a change of the request: its retention counts from here.
            session.execute(
                update(HandoffRequest)
                .where(HandoffRequest.id == message.handoff_id)
                .values(updated_at=message.delivered_at)
            )
            logger.info(
                "handoff outbox message %s delivered (HTTP %d, attempt %d)",
                message.id,
                status,
                message.attempts,
            )
            return True

    def status(self) -> OutboxStatus:
        """Counts for the console and health checks."""
        with self.database.session() as session:
            waiting_q = select(func.count(), func.min(OutboxMessage.created_at)).where(
                OutboxMessage.delivered_at.is_(None)
            )
            waiting, oldest = session.execute(waiting_q).one()
            failing = session.scalar(
                select(func.count()).where(
                    OutboxMessage.delivered_at.is_(None), OutboxMessage.attempts >= FAILING_AFTER
                )
            )
            delivered = session.scalar(
                select(func.count()).where(OutboxMessage.delivered_at.is_not(None))
            )
        return OutboxStatus(int(waiting), int(failing or 0), int(delivered or 0), oldest)
