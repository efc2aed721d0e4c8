"""Handoff requests do not stay forever: erased with their conversation, purged after retention,
on SQLite and PostgreSQL, with their outbox messages (real foreign keys)."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time

import pytest
from sqlalchemy import column, func, insert, inspect, select, table, text, update
from sqlalchemy.exc import IntegrityError

from bot.app.db import Database
from bot.app.handoff.delivery import Deliverer, WebhookClient
from bot.app.handoff.models import HandoffRequest, OutboxMessage
from bot.app.handoff.store import (
    ErasedHandoffs,
    HandoffStore,
    ensure_tables,
    erase_handoffs,
    purge_handoffs,
)
from tests.bot.app.handoff.conftest import WEBHOOK_SECRET, FakeClock, Receiver
from tests.bot.app.handoff.support import handoff

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
DAYS = 180


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _store(database: Database, conversation: str, turn: str = "1") -> int:
    HandoffStore(database, create_tables=False).create(
        *handoff(conversation_id=conversation, turn=turn)
    )
    with database.session() as session:
        return int(
            session.scalars(
                select(HandoffRequest.id)
                .where(HandoffRequest.conversation_id == conversation)
                .order_by(HandoffRequest.id.desc())
            ).first()
            or 0
        )


def _set(
    database: Database,
    request_id: int,
    *,
    days_ago: float,
    status: str = "open",
    delivered: bool = False,
) -> None:
    changed = NOW - dt.timedelta(days=days_ago)
    with database.session() as session:
        session.execute(
            update(HandoffRequest)
            .where(HandoffRequest.id == request_id)
            .values(updated_at=changed, created_at=changed, status=status)
        )
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.handoff_id == request_id)
            .values(delivered_at=changed if delivered else None)
        )


def _conversations(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(session.scalars(select(HandoffRequest.conversation_id)))


def _outbox_count(database: Database) -> int:
    with database.session() as session:
        return len(list(session.scalars(select(OutboxMessage.id))))


def test_erasing_deletes_the_requests_and_outbox_of_that_conversation_only(
    database: Database,
) -> None:
    mine = [_store(database, "mine", "1"), _store(database, "mine", "2")]
    _store(database, "other")
    _set(database, mine[0], days_ago=1, delivered=True)

    with database.session() as session:
        erased = erase_handoffs(session, ["mine"])

    assert erased == ErasedHandoffs(requests=2, outbox_messages=2, delivered=1)
    assert _conversations(database) == ["other"]
    assert _outbox_count(database) == 1
    with database.session() as session:
        assert erase_handoffs(session, ["mine"]) == ErasedHandoffs()
        assert erase_handoffs(session, []) == ErasedHandoffs()


def test_an_erasure_rolled_back_deletes_nothing(database: Database) -> None:
    _store(database, "mine")
    with pytest.raises(RuntimeError), database.session() as session:
        erase_handoffs(session, ["mine"])
        raise RuntimeError("a later step of the same transaction failed")
    assert _conversations(database) == ["mine"]
    assert _outbox_count(database) == 1


def test_purge_keeps_open_requests_twice_as_long(database: Database) -> None:
    cases = {
        "closed-old": dict(days_ago=DAYS + 1, status="closed"),
        "closed-recent": dict(days_ago=DAYS - 1, status="closed"),
        "delivered-old": dict(days_ago=DAYS + 1, delivered=True),
        "delivered-assigned-old": dict(days_ago=DAYS + 1, status="assigned", delivered=True),
        "waiting-old": dict(days_ago=DAYS + 1),
        "assigned-old": dict(days_ago=2 * DAYS - 1, status="assigned"),
        "waiting-ancient": dict(days_ago=2 * DAYS + 1),
        "assigned-ancient": dict(days_ago=2 * DAYS + 1, status="assigned"),
    }
    for conversation, change in cases.items():
        _set(database, _store(database, conversation), **change)  # type: ignore[arg-type]

    with database.session() as session:
        purged = purge_handoffs(session, DAYS, NOW)

    assert purged == ErasedHandoffs(requests=5, outbox_messages=5, delivered=2)
    assert _conversations(database) == ["assigned-old", "closed-recent", "waiting-old"]
    assert _outbox_count(database) == 3
    with database.session() as session:
        assert purge_handoffs(session, DAYS, NOW) == ErasedHandoffs()


def test_purge_counts_from_the_last_change(database: Database) -> None:
    request_id = _store(database, "reopened")
    # Made long ago, but staff touched it recently (closed it a day ago).
    _set(database, request_id, days_ago=3 * DAYS, status="closed")
    with database.session() as session:
        session.execute(
            update(HandoffRequest)
            .where(HandoffRequest.id == request_id)
            .values(updated_at=NOW - dt.timedelta(days=1))
        )
        assert purge_handoffs(session, DAYS, NOW).requests == 0
    assert _conversations(database) == ["reopened"]


def test_a_console_update_is_a_change(database: Database) -> None:
    request_id = _store(database, "queue")
    _set(database, request_id, days_ago=DAYS + 1, status="closed")
    # As the console's handoff queue does: an ORM update of the row.
    with database.session() as session:
        item = session.get(HandoffRequest, request_id)
        assert item is not None
        item.status, item.assigned_to = "assigned", "advisor"
    with database.session() as session:
        item = session.get(HandoffRequest, request_id)
        assert item is not None and item.updated_at is not None
        assert _aware(item.updated_at) > NOW - dt.timedelta(days=1)


def test_a_delivery_is_a_change(database: Database, receiver: Receiver) -> None:
    request_id = _store(database, "sent")
    _set(database, request_id, days_ago=DAYS + 1)
    delivered_at = dt.datetime.now(dt.UTC)
    client = WebhookClient(receiver.url, WEBHOOK_SECRET, timeout=2.0)
    deliverer = Deliverer(database, client, clock=FakeClock(delivered_at), rng=random.Random(1))
    with database.session() as session:
        # Due now (its stored time was moved back with the rest).
        session.execute(update(OutboxMessage).values(next_attempt_at=delivered_at))
    assert deliverer.deliver_due().delivered == 1
    with database.session() as session:
        item = session.get(HandoffRequest, request_id)
        assert item is not None and item.updated_at is not None
        assert _aware(item.updated_at) == delivered_at
        # Delivered today: kept for another retention period.
        assert purge_handoffs(session, DAYS, delivered_at + dt.timedelta(days=1)).requests == 0


def test_bad_purge_arguments(database: Database) -> None:
    with database.session() as session:
        with pytest.raises(ValueError, match="0 or more"):
            purge_handoffs(session, -1, NOW)
        with pytest.raises(ValueError, match="time zone"):
            purge_handoffs(session, 1, dt.datetime(2026, 1, 1))


def test_the_outbox_has_a_real_foreign_key(database: Database) -> None:
    # The database refuses an outbox message of no request, and deletes the messages of a
    # request deleted without the ORM (ON DELETE CASCADE).
    with pytest.raises(IntegrityError), database.session() as session:
        session.execute(
            insert(OutboxMessage).values(
                handoff_id=999_999,
                idempotency_key="orphan",
                payload={},
                created_at=NOW,
                attempts=0,
                next_attempt_at=NOW,
            )
        )
    request_id = _store(database, "cascade")
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM handoff_requests WHERE id = :id"), {"id": request_id})
    assert _outbox_count(database) == 0


def test_a_table_made_before_updated_at_gets_it(database: Database) -> None:
    old = _store(database, "made-before")
    with database.engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_handoff_requests_updated_at"))
        connection.execute(text("ALTER TABLE handoff_requests DROP COLUMN updated_at"))
    columns = {c["name"] for c in inspect(database.engine).get_columns("handoff_requests")}
    assert "updated_at" not in columns

    ensure_tables(database)
    ensure_tables(database)  # a second start finds nothing to do

    inspector = inspect(database.engine)
    assert "updated_at" in {c["name"] for c in inspector.get_columns("handoff_requests")}
    assert "ix_handoff_requests_updated_at" in {
        i["name"] for i in inspector.get_indexes("handoff_requests")
    }
    with database.session() as session:
        item = session.get(HandoffRequest, old)
        assert item is not None and item.updated_at is not None
        # Filled from what was known: its creation (it was never closed).
        assert _aware(item.updated_at) == _aware(item.created_at)


@pytest.mark.postgres
def test_erasing_during_a_delivery_waits_for_it_and_says_it_was_delivered(
    postgres_url: str, receiver: Receiver
) -> None:
    """The worker holds the outbox row while it POSTs; the erasure waits, then counts it as
    delivered (the receiver has it), and neither deadlocks the other."""
    setup = Database(postgres_url)
    setup.create_all()
    _store(setup, "busy")
    receiver.release = threading.Event()  # the POST is answered once the erasure waits
    worker = Deliverer(Database(postgres_url), WebhookClient(receiver.url, WEBHOOK_SECRET))
    rounds: list[int] = []
    thread = threading.Thread(target=lambda: rounds.append(worker.deliver_due().delivered))
    thread.start()
    for _ in range(100):  # until the POST has arrived (the row is locked by then)
        if receiver.received:
            break
        time.sleep(0.02)
    assert receiver.received, "the worker did not send"

    outcome: list[ErasedHandoffs] = []

    def erase() -> None:
        with setup.session() as session:
            outcome.append(erase_handoffs(session, ["busy"]))

    erasing = threading.Thread(target=erase)
    erasing.start()
    waiting = _wait_for_a_lock_wait(setup)
    receiver.release.set()
    erasing.join(timeout=10)
    thread.join(timeout=10)
    assert waiting, "the erasure never waited for the worker's row"
    [erased] = outcome

    assert rounds == [1]
    assert erased == ErasedHandoffs(requests=1, outbox_messages=1, delivered=1)
    assert _conversations(setup) == []
    worker.database.dispose()
    setup.dispose()


def _wait_for_a_lock_wait(database: Database) -> bool:
    """Until a session of this database waits for a lock (PostgreSQL's pg_stat_activity), at
    most 10 s: a bounded poll; whether one did."""
    activity = table("pg_stat_activity", column("datname"), column("wait_event_type"))
    waiting = (
        select(func.count())
        .select_from(activity)
        .where(activity.c.datname == func.current_database())
        .where(activity.c.wait_event_type == "Lock")
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with database.session() as session:
            if session.execute(waiting).scalar_one():
                return True
        time.sleep(0.02)
    return False
