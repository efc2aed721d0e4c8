"""Saved advice: save and load by token, expiry, no token in clear, purge.
Runs on SQLite and, when ZIJWIJZER_TEST_POSTGRES_URL is set, on PostgreSQL (own schema)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, text

from bot.app.advice_store import (
    TOKEN_PATTERN,
    AdviceStore,
    SavedAdvice,
    ensure_table,
    find_advice,
    forget_advice,
    hash_token,
    keyed_token,
    load_advice,
    purge_expired,
    save_advice,
)
from bot.app.db import Database
from bot.common.idempotency import IdempotencyKey, TooLate

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
SECRET = "test-secret-key-for-saved-advice"
ADVICE: dict[str, Any] = {
    "profile": {"age": 38, "sector": "vvt", "language": "nl"},
    "summary": {"routes": ["bbl"], "units": ["adl"], "funding": []},
    "routes": [{"id": "bbl", "title": "BBL: werken en leren € ‘test’"}],
    "catalogue_version": "2026.11.23",
}


def test_save_then_load(database: Database) -> None:
    token = save_advice(database, ADVICE, "en", valid_days=30, now=NOW)

    found = load_advice(database, token, now=NOW + dt.timedelta(days=29))

    assert found is not None
    assert found.advice == ADVICE
    assert found.language == "en"
    assert found.created_at == NOW
    assert found.expires_at == NOW + dt.timedelta(days=30)
    assert not found.expired


def test_tokens_are_unguessable_and_never_stored(database: Database) -> None:
    tokens = [save_advice(database, ADVICE, "nl", valid_days=30, now=NOW) for _ in range(3)]

    assert len(set(tokens)) == 3
    assert all(len(token) >= 43 for token in tokens)  # 32 random bytes
    with database.session() as session:
        hashes = set(session.scalars(select(SavedAdvice.token_hash)))
        dumped = [str(row) for row in session.execute(select(SavedAdvice.__table__)).all()]
    assert hashes == {hash_token(token) for token in tokens}
    assert not any(token in row for token in tokens for row in dumped)


def test_expired_advice_is_not_loaded_but_found_as_expired(database: Database) -> None:
    token = save_advice(database, ADVICE, "nl", valid_days=30, now=NOW)
    later = NOW + dt.timedelta(days=30)

    assert load_advice(database, token, now=later) is None
    found = find_advice(database, token, now=later)
    assert found is not None and found.expired


@pytest.mark.parametrize(
    "token", ["", "x", "a" * 43, "../../etc/passwd", "a" * 43 + ".pdf", "é" * 43, "a" * 500]
)
def test_unknown_or_malformed_tokens(database: Database, token: str) -> None:
    save_advice(database, ADVICE, "nl", valid_days=30, now=NOW)
    assert find_advice(database, token, now=NOW) is None
    assert load_advice(database, token, now=NOW) is None


def test_purge_deletes_only_expired_advice(database: Database) -> None:
    old = save_advice(database, ADVICE, "nl", valid_days=1, now=NOW - dt.timedelta(days=5))
    older = save_advice(database, ADVICE, "nl", valid_days=30, now=NOW - dt.timedelta(days=31))
    fresh = save_advice(database, ADVICE, "nl", valid_days=30, now=NOW)

    assert purge_expired(database, now=NOW) == 2
    assert purge_expired(database, now=NOW) == 0

    assert find_advice(database, old, now=NOW) is None
    assert find_advice(database, older, now=NOW) is None
    assert load_advice(database, fresh, now=NOW) is not None


def test_store_makes_its_table_and_gives_the_expiry(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")  # no create_all
    try:
        store = AdviceStore(
            database, valid_days=7, public_url="https://zijwijzer.example/", secret_key=SECRET
        )
        before = dt.datetime.now(dt.UTC)
        link = store.save(ADVICE, "nl")
        found = load_advice(database, link.token)
        assert found is not None and found.advice == ADVICE
        assert found.expires_at == link.expires_at
        assert link.url == f"https://zijwijzer.example/advies/{link.token}"
        assert link.valid_days == 7
        assert before + dt.timedelta(days=7) <= link.expires_at
    finally:
        database.dispose()


def test_erasing_a_conversation_forgets_its_saved_advice(database: Database) -> None:
    mine = [
        save_advice(database, ADVICE, "nl", valid_days=30, now=NOW, conversation_id="mine")
        for _ in range(2)
    ]
    other = save_advice(database, ADVICE, "nl", valid_days=30, now=NOW, conversation_id="other")
    anonymous = save_advice(database, ADVICE, "nl", valid_days=30, now=NOW)

    with database.session() as session:
        assert forget_advice(session, ["mine"]) == 2
        assert forget_advice(session, ["mine"]) == 0
        assert forget_advice(session, []) == 0

    assert all(find_advice(database, token, now=NOW) is None for token in mine)
    assert load_advice(database, other, now=NOW) is not None
    assert load_advice(database, anonymous, now=NOW) is not None


def test_the_store_keeps_the_conversation_id(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        store = AdviceStore(
            database, valid_days=7, public_url="https://zijwijzer.example", secret_key=SECRET
        )
        link = store.save(ADVICE, "nl", conversation_id="widget:abc")
        with database.session() as session:
            row = session.scalars(select(SavedAdvice)).one()
            assert row.conversation_id == "widget:abc"
            assert row.token_hash == hash_token(link.token)
    finally:
        database.dispose()


def test_a_table_made_before_the_conversation_id_gets_it(database: Database) -> None:
    token = save_advice(database, ADVICE, "nl", valid_days=30, now=NOW)
    with database.engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_saved_advice_conversation_id"))
        connection.execute(text("ALTER TABLE saved_advice DROP COLUMN conversation_id"))

    ensure_table(database)
    ensure_table(database)

    inspector = inspect(database.engine)
    assert "conversation_id" in {c["name"] for c in inspector.get_columns("saved_advice")}
    assert "ix_saved_advice_conversation_id" in {
        i["name"] for i in inspector.get_indexes("saved_advice")
    }
    # The old row still works, and belongs to no conversation.
    assert load_advice(database, token, now=NOW) is not None
    with database.session() as session:
        assert forget_advice(session, ["anyone"]) == 0


def test_a_keyed_save_is_stored_once_and_a_repeat_gets_the_same_link(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        store = AdviceStore(
            database, valid_days=7, public_url="https://zw.example", secret_key=SECRET
        )
        key = IdempotencyKey("widget:abc", "widget:m-1", "action_give_advice", time.time() + 30)
        first = store.save(ADVICE, "nl", "widget:abc", key)
        # The retried call (the engine's second attempt, or a frozen server's late one).
        late = IdempotencyKey(key.conversation_id, key.turn, key.action, time.time() - 1)
        again = store.save({"other": "advice"}, "en", "widget:abc", late)
        assert again == first
        assert TOKEN_PATTERN.fullmatch(first.token)
        found = load_advice(database, first.token)
        assert found is not None and (found.advice, found.language) == (ADVICE, "nl")
        with database.session() as session:
            assert len(session.scalars(select(SavedAdvice)).all()) == 1
        # Another turn is another advice, with another link.
        other = store.save(
            ADVICE, "nl", "widget:abc", IdempotencyKey("widget:abc", "widget:m-2", key.action)
        )
        assert other.token != first.token
        # Without the secret key nobody derives the link from the key.
        stranger = AdviceStore(
            database, valid_days=7, public_url="https://zw.example", secret_key="x"
        )
        assert keyed_token("x", key) != first.token
        assert stranger is not None
    finally:
        database.dispose()


def test_a_keyed_save_past_its_deadline_stores_nothing(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        store = AdviceStore(
            database, valid_days=7, public_url="https://zw.example", secret_key=SECRET
        )
        key = IdempotencyKey("widget:abc", "widget:m-1", "action_give_advice", time.time() - 1)
        with pytest.raises(TooLate):
            store.save(ADVICE, "nl", "widget:abc", key)
        with database.session() as session:
            assert session.scalars(select(SavedAdvice)).all() == []
    finally:
        database.dispose()
