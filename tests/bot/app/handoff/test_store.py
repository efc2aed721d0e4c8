"""Storing a handoff request: request and outbox message in one transaction, once per turn.
Runs on SQLite and, when ZIJWIJZER_TEST_POSTGRES_URL is set, on PostgreSQL (own schema)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from bot.app.db import Database
from bot.app.handoff.models import HandoffRequest, OutboxMessage
from bot.app.handoff.store import HandoffStore
from bot.common.idempotency import IdempotencyKey, TooLate
from tests.bot.app.handoff.support import PROFILE, all_at_once, handoff


def _counts(database: Database) -> tuple[int, int]:
    with database.session() as session:
        requests = session.scalar(select(func.count()).select_from(HandoffRequest))
        messages = session.scalar(select(func.count()).select_from(OutboxMessage))
    return int(requests or 0), int(messages or 0)


def test_a_request_and_its_outbox_message_are_stored(database: Database) -> None:
    stored = HandoffStore(database).create(*handoff())

    assert stored.created
    with database.session() as session:
        request = session.scalars(select(HandoffRequest)).one()
        message = session.scalars(select(OutboxMessage)).one()
        assert request.public_id == stored.public_id
        assert (request.status, request.consent, request.contact) == ("open", True, "+31612345678")
        assert request.conversation_id == "conversation-1"
        assert request.profile_summary == PROFILE
        assert message.handoff_id == request.id
        assert message.idempotency_key == stored.idempotency_key
        assert (message.attempts, message.delivered_at) == (0, None)
        payload = message.payload
    assert payload["id"] == stored.public_id
    assert payload["contact"] == "+31612345678"
    assert payload["profile"] == PROFILE
    # The receiver never learns the conversation id, not even hidden in the key.
    assert "conversation-1" not in str(payload)
    assert "conversation-1" not in stored.idempotency_key


def test_a_retried_turn_stores_one_request(database: Database) -> None:
    store = HandoffStore(database)
    first = store.create(*handoff())
    again = store.create(*handoff(contact="+31687654321"))

    assert (first.created, again.created) == (True, False)
    assert again.public_id == first.public_id
    assert _counts(database) == (1, 1)


def test_another_turn_or_conversation_is_another_request(database: Database) -> None:
    store = HandoffStore(database)
    a = store.create(*handoff())
    b = store.create(*handoff(turn="1700000999.0"))
    c = store.create(*handoff(conversation_id="conversation-2"))

    assert len({a.public_id, b.public_id, c.public_id}) == 3
    assert _counts(database) == (3, 3)


def test_a_race_between_two_retries_keeps_one_request(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = HandoffStore(database)
    first = store.create(*handoff())
    # The second call does not see the first one's row before inserting (it was not committed
    # yet when it looked): the unique key refuses the insert, and the first request is returned.
    real_find = store.find
    calls = {"n": 0}

    def find_late(key: str) -> str | None:
        calls["n"] += 1
        return None if calls["n"] == 1 else real_find(key)

    monkeypatch.setattr(store, "find", find_late)
    again = store.create(*handoff())

    assert (again.created, again.public_id) == (False, first.public_id)
    assert _counts(database) == (1, 1)


def test_concurrent_retries_store_one_request(database: Database) -> None:
    stores = [HandoffStore(Database(database.url)) for _ in range(4)]
    results = all_at_once(lambda store: store.create(*handoff()), stores)
    for store in stores:
        store.database.dispose()

    assert len(results) == 4
    assert len({r.public_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert _counts(database) == (1, 1)


def test_a_failing_outbox_insert_leaves_no_request(database: Database) -> None:
    def refuse_outbox(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO OUTBOX_MESSAGES"):
            raise RuntimeError("disk full")

    event.listen(database.engine, "before_cursor_execute", refuse_outbox)
    try:
        with pytest.raises(Exception, match="disk full"):
            HandoffStore(database).create(*handoff())
    finally:
        event.remove(database.engine, "before_cursor_execute", refuse_outbox)

    assert _counts(database) == (0, 0)


def test_nothing_is_stored_without_consent(database: Database) -> None:
    with pytest.raises(ValueError, match="consent"):
        HandoffStore(database).create(*handoff(consent=False))
    assert _counts(database) == (0, 0)


def test_the_store_makes_its_tables(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")  # no create_all
    try:
        stored = HandoffStore(database).create(*handoff())
        assert HandoffStore(database).find(stored.idempotency_key) == stored.public_id
    finally:
        database.dispose()


def test_the_key_depends_on_conversation_turn_and_action() -> None:
    key = IdempotencyKey("c", "1", "a").digest
    assert len(key) == 64
    assert key == IdempotencyKey("c", "1", "a", not_after=5.0).digest  # the deadline is no part
    others = {
        IdempotencyKey(*parts).digest
        for parts in [("c", "2", "a"), ("d", "1", "a"), ("c", "1", "b")]
    }
    assert len({key, *others}) == 4


def test_a_late_call_stores_nothing_and_a_repeat_of_a_stored_one_changes_nothing(
    database: Database,
) -> None:
    store = HandoffStore(database)
    # The engine gave up on this call a second ago: nothing is stored.
    with pytest.raises(TooLate):
        store.create(*handoff(not_after=time.time() - 1))
    assert _counts(database) == (0, 0)
    # Stored in time; the same call again, even late and with other details, gets that one.
    first = store.create(*handoff(not_after=time.time() + 30))
    late = store.create(*handoff(not_after=time.time() - 1, contact="+31687654321"))
    assert (first.created, late.created, late.public_id) == (True, False, first.public_id)
    assert _counts(database) == (1, 1)
    with database.session() as session:
        assert session.scalars(select(HandoffRequest.contact)).one() == "+31612345678"
