"""Delivering the outbox to a local webhook receiver: failures, timeouts, backoff, recovery,
exactly-once per idempotency key, and two workers on PostgreSQL claiming at the same time."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import pytest
import requests
from sqlalchemy import select

from bot.app.db import Database
from bot.app.handoff.delivery import (
    FAILING_AFTER,
    Deliverer,
    DeliveryError,
    WebhookClient,
)
from bot.app.handoff.models import OutboxMessage
from bot.app.handoff.signature import SIGNATURE_HEADER, verify_handoff_signature
from bot.app.handoff.store import HandoffStore
from bot.common.backoff import FIRST_DELAY_SECONDS, MAX_DELAY_SECONDS, backoff_delay
from tests.bot.app.handoff.conftest import WEBHOOK_SECRET, FakeClock, Receiver
from tests.bot.app.handoff.support import all_at_once, handoff

# Short, so the timeout case stays quick; the receiver sleeps well past it.
TIMEOUT = 0.5


def _message(database: Database, key: str) -> OutboxMessage:
    with database.session() as session:
        found = session.scalars(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
        ).one()
        session.expunge(found)
        return found


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite gives back naive datetimes; everything is stored in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _now() -> dt.datetime:
    # Messages are due from when they were stored (the real clock); the test's clock starts here.
    return dt.datetime.now(dt.UTC)


def _deliverer(database: Database, receiver: Receiver, clock: FakeClock) -> Deliverer:
    client = WebhookClient(receiver.url, WEBHOOK_SECRET, timeout=TIMEOUT)
    return Deliverer(database, client, clock=clock, rng=random.Random(7))


def test_fails_times_out_then_recovers_and_delivers_exactly_once(
    database: Database, receiver: Receiver
) -> None:
    stored = HandoffStore(database, create_tables=False).create(*handoff())
    key = stored.idempotency_key
    receiver.script = [500, ("sleep", TIMEOUT * 4, 503)]
    clock = FakeClock(_now())
    start = clock.now
    deliverer = _deliverer(database, receiver, clock)

    # 1: HTTP 500.
    assert deliverer.deliver_due().failed == 1
    first = _message(database, key)
    assert (first.attempts, first.delivered_at, first.last_error) == (1, None, "HTTP 500")
    waited = _aware(first.next_attempt_at) - start
    assert dt.timedelta(seconds=FIRST_DELAY_SECONDS * 0.8) <= waited
    assert waited <= dt.timedelta(seconds=FIRST_DELAY_SECONDS)

    # Not due yet: nothing is sent.
    assert deliverer.deliver_due().failed == 0
    assert receiver.per_key()[key] == 1

    # 2: the receiver is too slow (the client's timeout), a longer wait follows.
    clock.advance(FIRST_DELAY_SECONDS)
    assert deliverer.deliver_due().failed == 1
    second = _message(database, key)
    assert second.attempts == 2
    assert second.last_error == "ReadTimeout"
    assert _aware(second.next_attempt_at) - clock.now > dt.timedelta(seconds=FIRST_DELAY_SECONDS)

    # 3: the receiver is back.
    clock.advance(2 * FIRST_DELAY_SECONDS)
    assert deliverer.deliver_due().delivered == 1
    done = _message(database, key)
    assert done.delivered_at is not None
    assert (done.attempts, done.last_error) == (3, None)

    # Later rounds send nothing more.
    clock.advance(MAX_DELAY_SECONDS)
    assert deliverer.deliver_due().delivered == 0
    receiver_keys = receiver.per_key()
    assert receiver_keys[key] == 3  # 500, timeout, 200: all with the same key
    assert receiver.accepted_per_key() == {key: 1}
    bodies = [r.body for r in receiver.received]
    assert all(body["id"] == stored.public_id for body in bodies)
    assert all(body == bodies[0] for body in bodies)
    # Every attempt was signed, each at its own moment.
    assert all(r.signed for r in receiver.received)


def test_a_delivery_signed_with_another_secret_is_refused(
    database: Database, receiver: Receiver
) -> None:
    stored = HandoffStore(database, create_tables=False).create(*handoff())
    clock = FakeClock(_now())
    client = WebhookClient(receiver.url, "not-the-receivers-secret", timeout=TIMEOUT)
    deliverer = Deliverer(database, client, clock=clock, rng=random.Random(7))

    assert deliverer.deliver_due().failed == 1
    assert _message(database, stored.idempotency_key).last_error == "HTTP 401"
    assert [r.signed for r in receiver.received] == [False]


def test_the_signature_covers_the_exact_body_and_the_sending_time(
    database: Database, receiver: Receiver
) -> None:
    HandoffStore(database, create_tables=False).create(*handoff())
    sent: list[tuple[str, bytes]] = []

    class Recording(requests.Session):
        def post(self, url: str | bytes, data: Any = None, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            sent.append((kwargs["headers"][SIGNATURE_HEADER], data))
            return super().post(url, data=data, **kwargs)

    client = WebhookClient(
        receiver.url, WEBHOOK_SECRET, timeout=TIMEOUT, session=Recording(), clock=lambda: 1.8e9
    )
    Deliverer(database, client, clock=FakeClock(_now())).deliver_due()

    header, body = sent[0]
    assert header.startswith("t=1800000000,v1=")
    assert verify_handoff_signature(WEBHOOK_SECRET, header, body, now=1.8e9 + 60)
    # Changed by one byte, or checked long after: refused.
    assert not verify_handoff_signature(WEBHOOK_SECRET, header, body + b" ", now=1.8e9)
    assert not verify_handoff_signature(WEBHOOK_SECRET, header, body, now=1.8e9 + 3600)
    # The receiver's clock is not 2027: the signature from 2027 did not verify there.
    assert [r.signed for r in receiver.received] == [False]
    assert json.loads(body)["contact"] == "+31612345678"


def test_a_client_without_a_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        WebhookClient("http://127.0.0.1:9/handoff", "")


def test_nothing_is_delivered_while_the_receiver_is_down(
    database: Database, receiver: Receiver
) -> None:
    store = HandoffStore(database, create_tables=False)
    keys = [store.create(*handoff(turn=str(turn))).idempotency_key for turn in range(3)]
    receiver.then = 503
    clock = FakeClock(_now())
    deliverer = _deliverer(database, receiver, clock)

    for _ in range(FAILING_AFTER + 1):
        deliverer.deliver_due()
        clock.advance(MAX_DELAY_SECONDS)

    assert receiver.accepted_per_key() == {}
    status = deliverer.status()
    assert (status.waiting, status.failing, status.delivered) == (3, 3, 0)
    for key in keys:
        message = _message(database, key)
        # Never given up: still due again later, with its last error kept.
        assert message.delivered_at is None
        assert message.attempts == FAILING_AFTER + 1
        assert message.last_error == "HTTP 503"

    receiver.then = 204
    deliverer.deliver_due()
    assert receiver.accepted_per_key() == {key: 1 for key in keys}
    assert deliverer.status().delivered == 3


def test_without_a_webhook_messages_wait(database: Database) -> None:
    HandoffStore(database, create_tables=False).create(*handoff())
    deliverer = Deliverer(database, None)

    assert deliverer.deliver_due().delivered == 0
    assert deliverer.status().waiting == 1


def test_a_redirect_is_not_a_delivery(database: Database, receiver: Receiver) -> None:
    HandoffStore(database, create_tables=False).create(*handoff())
    receiver.then = 302
    deliverer = _deliverer(database, receiver, FakeClock(_now()))

    assert deliverer.deliver_due().failed == 1
    assert deliverer.status().waiting == 1


def test_an_unreachable_receiver_is_a_failed_attempt() -> None:
    # Port 9 (discard) on loopback: nothing listens there in the test machine.
    client = WebhookClient("http://127.0.0.1:9/handoff", WEBHOOK_SECRET, timeout=TIMEOUT)
    with pytest.raises(DeliveryError, match="ConnectionError"):
        client.send({"id": "x"}, "k")


def test_backoff_doubles_from_5_seconds_to_15_minutes() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, rng).total_seconds() for n in range(1, 14)]
    bounds = [min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** (n - 1)) for n in range(1, 14)]

    for delay, bound in zip(delays, bounds, strict=True):
        assert bound * 0.8 <= delay <= bound
    assert bounds[:5] == [5, 10, 20, 40, 80]
    assert bounds[-1] == MAX_DELAY_SECONDS
    # Jitter: workers that failed together do not retry in step.
    assert len({backoff_delay(3, random.Random(seed)) for seed in range(5)}) > 1
    # A huge count does not overflow.
    assert backoff_delay(10_000, rng).total_seconds() <= MAX_DELAY_SECONDS


@pytest.mark.postgres
def test_two_workers_on_postgresql_never_send_a_message_twice(
    postgres_url: str, receiver: Receiver
) -> None:
    setup = Database(postgres_url)
    setup.create_all()
    store = HandoffStore(setup, create_tables=False)
    keys = {store.create(*handoff(turn=str(turn))).idempotency_key for turn in range(20)}
    setup.dispose()
    # Each answer waits for the other worker's request: both hold claimed rows at once.
    receiver.together = 2
    workers = [
        Deliverer(Database(postgres_url), WebhookClient(receiver.url, WEBHOOK_SECRET))
        for _ in range(2)
    ]
    rounds = all_at_once(lambda deliverer: deliverer.deliver_due(limit=100).delivered, workers)
    for worker in workers:
        worker.database.dispose()

    assert sum(rounds) == len(keys)
    assert receiver.per_key() == {key: 1 for key in keys}
    assert receiver.most_in_flight == 2  # the two workers did deliver at the same time
