"""Retention: purge by the age of a conversation's last event, erase one, and the command line;
and what the app database holds of conversations (handoff requests, outbox, saved advice, the
console's index and audit log) going with them.

The tracker store's `events` table is made here with the columns Rasa 3.6 gives it, on SQLite
(a file in tmp_path) and, when ZIJWIJZER_TEST_POSTGRES_URL is set, in a temporary PostgreSQL
schema (as tests/catalogue/conftest.py does); the app database likewise.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, select, update
from sqlalchemy.pool import NullPool

from bot.app import retention
from bot.app.advice_store import find_advice, save_advice
from bot.app.console import index
from bot.app.console.models import AuditEntry, ConversationSummary
from bot.app.db import Database
from bot.app.handoff.models import HandoffRequest, OutboxMessage
from bot.app.handoff.store import HandoffStore
from bot.app.retention import (
    EVENTS,
    AppPurge,
    Forgotten,
    erase_conversation,
    forget_elsewhere,
    purge_app_data,
    purge_older_than,
)
from bot.engine.channels import outbox as channel_outbox
from tests.bot.app.handoff.support import handoff
from tests.database import app_database
from tests.postgres import postgres_schema

ROOT = Path(__file__).resolve().parents[3]

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DAY = 86400.0
SECRET_KEY = "test-secret-key-that-is-long-enough-for-hmac"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'trackers.db'}"
    _create_events_table(url)
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections only see a schema of their own, dropped afterwards."""
    with postgres_schema() as url:
        _create_events_table(url)
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def tracker_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture(autouse=True)
def app_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The app database the commands use by default: a SQLite file of this test."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("ZIJWIJZER_DATABASE_URL", url)
    monkeypatch.setenv("ZIJWIJZER_SECRET_KEY", SECRET_KEY)
    monkeypatch.delenv("ZIJWIJZER_AUDIT_RETENTION_DAYS", raising=False)
    return url


@pytest.fixture
def sqlite_app(app_url: str) -> Iterator[Database]:
    with app_database(app_url, index.ensure_schema) as database:
        yield database


@pytest.fixture
def postgres_app() -> Iterator[Database]:
    with postgres_schema() as url, app_database(url, index.ensure_schema) as database:
        yield database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest) -> Database:
    found: Database = request.getfixturevalue(f"{request.param}_app")
    return found


def _create_events_table(url: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    EVENTS.metadata.create_all(engine)
    engine.dispose()


def _add(url: str, sender: str, *days_ago: float) -> None:
    """One event per age given (days before NOW), in that order."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        for age in days_ago:
            stamp = NOW.timestamp() - age * DAY
            conn.execute(
                insert(EVENTS).values(
                    sender_id=sender,
                    type_name="user",
                    timestamp=stamp,
                    intent_name="greet",
                    action_name=None,
                    data=json.dumps({"event": "user", "timestamp": stamp, "text": "hoi"}),
                )
            )
    engine.dispose()


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        rows = conn.execute(
            select(EVENTS.c.sender_id, func.count()).group_by(EVENTS.c.sender_id)
        ).all()
    engine.dispose()
    return {sender: count for sender, count in rows}


def _index(database: Database, *conversation_ids: str) -> None:
    """Puts conversations in the console's index, as the indexer would."""
    with database.session() as session:
        for conversation_id in conversation_ids:
            session.add(
                ConversationSummary(conversation_id=conversation_id, started_at=NOW, last_at=NOW)
            )


def _indexed(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(session.scalars(select(ConversationSummary.conversation_id)))


def _handoff(database: Database, conversation_id: str, *, delivered: bool = False) -> str:
    stored = HandoffStore(database).create(*handoff(conversation_id=conversation_id))
    if delivered:
        with database.session() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.idempotency_key == stored.idempotency_key)
                .values(delivered_at=NOW)
            )
    return stored.public_id


def _handoffs(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(session.scalars(select(HandoffRequest.conversation_id)))


def _outbox(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count(OutboxMessage.id))) or 0)


def test_purge_removes_conversations_whose_last_event_is_older(
    tracker_url: str, sqlite_app: Database
) -> None:
    _add(tracker_url, "old", 400, 300, 200)
    # Began long ago but went on recently: its last event counts, so it stays whole.
    _add(tracker_url, "long-running", 400, 200, 1)
    _add(tracker_url, "recent", 3, 2)
    _add(tracker_url, "just-inside", 179.9)
    _index(sqlite_app, "old", "long-running", "recent")

    assert purge_older_than(tracker_url, 180, now=NOW, database=sqlite_app) == ["old"]
    assert _counts(tracker_url) == {"long-running": 3, "recent": 2, "just-inside": 1}
    assert _indexed(sqlite_app) == ["long-running", "recent"]

    # A second run finds nothing more; a shorter retention takes more, but not a conversation
    # whose last event is exactly that old ("long-running": 1 day).
    assert purge_older_than(tracker_url, 180, now=NOW) == []
    assert purge_older_than(tracker_url, 1, now=NOW) == ["just-inside", "recent"]
    assert _counts(tracker_url) == {"long-running": 3}
    assert _indexed(sqlite_app) == ["long-running"]


def test_purge_with_zero_days_removes_everything_before_now(tracker_url: str) -> None:
    _add(tracker_url, "a", 0.001)
    _add(tracker_url, "b", 10)
    assert purge_older_than(tracker_url, 0, now=NOW) == ["a", "b"]
    assert _counts(tracker_url) == {}


def test_purge_uses_the_current_time_by_default(tracker_url: str) -> None:
    now = datetime.now(UTC)
    _add(tracker_url, "ancient", (NOW - now).total_seconds() / DAY + 1000)
    assert purge_older_than(tracker_url, 180) == ["ancient"]


def test_purge_cleans_the_app_database(tracker_url: str, app: Database) -> None:
    """Expired advice, handoff requests past retention, audit rows past theirs: one purge."""
    expired = save_advice(app, {"summary": {}}, "nl", valid_days=30, now=NOW - timedelta(days=31))
    fresh = save_advice(app, {"summary": {}}, "nl", valid_days=30, now=NOW)
    _handoff(app, "closed long ago")
    _handoff(app, "waiting")
    with app.session() as session:
        session.execute(
            update(HandoffRequest)
            .where(HandoffRequest.conversation_id == "closed long ago")
            .values(status="closed", updated_at=NOW - timedelta(days=181))
        )
        session.execute(
            update(HandoffRequest)
            .where(HandoffRequest.conversation_id == "waiting")
            .values(updated_at=NOW - timedelta(days=181))
        )
        for days_ago in (366, 364):
            session.add(
                AuditEntry(at=NOW - timedelta(days=days_ago), username="anna", action="view")
            )

    purge_older_than(tracker_url, 180, now=NOW, database=app, audit_days=365)

    assert find_advice(app, expired, now=NOW) is None
    assert find_advice(app, fresh, now=NOW) is not None
    # Still waiting for an advisor: kept up to twice the period.
    assert _handoffs(app) == ["waiting"]
    assert _outbox(app) == 1
    with app.session() as session:
        assert len(list(session.scalars(select(AuditEntry.id)))) == 1


def test_purge_app_data_counts_what_it_deleted(app: Database) -> None:
    _handoff(app, "old", delivered=True)
    with app.session() as session:
        session.execute(update(HandoffRequest).values(updated_at=NOW - timedelta(days=200)))
        session.add(AuditEntry(at=NOW - timedelta(days=30), username="anna", action="view"))
    assert purge_app_data(app, 180, 10, NOW) == AppPurge(
        saved_advice=0, handoff_requests=1, outbox_messages=1, audit_entries=1
    )
    assert purge_app_data(app, 180, 10, NOW) == AppPurge()
    with pytest.raises(ValueError, match="0 or more"):
        purge_app_data(app, 180, -1, NOW)


def test_the_audit_period_comes_from_the_settings(
    sqlite_url: str, sqlite_app: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZIJWIJZER_AUDIT_RETENTION_DAYS", "30")
    with sqlite_app.session() as session:
        for days_ago in (31, 29):
            session.add(
                AuditEntry(at=NOW - timedelta(days=days_ago), username="anna", action="view")
            )
    purge_older_than(sqlite_url, 180, now=NOW, database=sqlite_app)
    with sqlite_app.session() as session:
        assert [(NOW - index.aware(at)).days for at in session.scalars(select(AuditEntry.at))] == [
            29
        ]


def test_erase_deletes_one_conversation_everywhere(tracker_url: str, app: Database) -> None:
    _add(tracker_url, "me", 3, 2, 1)
    _add(tracker_url, "someone else", 1)
    _index(app, "me", "someone else")
    _handoff(app, "me")
    _handoff(app, "someone else")
    mine = save_advice(app, {"summary": {}}, "nl", valid_days=30, conversation_id="me")
    theirs = save_advice(app, {"summary": {}}, "nl", valid_days=30, conversation_id="someone else")

    erased = erase_conversation(tracker_url, "me", database=app)

    assert erased.events == 3
    assert erased.forgotten == Forgotten(
        handoff_requests=1, outbox_messages=1, delivered_handoffs=0, saved_advice=1
    )
    assert erased.delivered_notice() is None
    assert _counts(tracker_url) == {"someone else": 1}
    assert _indexed(app) == ["someone else"]
    assert _handoffs(app) == ["someone else"]
    assert _outbox(app) == 1
    assert find_advice(app, mine) is None and find_advice(app, theirs) is not None

    again = erase_conversation(tracker_url, "me", database=app)
    assert not again.anything


def _channel_replies(url: str, conversation_id: str, count: int, not_after: float) -> None:
    """Replies waiting in the WhatsApp/Teams outbox of the tracker database."""
    engine = create_engine(url, poolclass=NullPool)
    channel_outbox.create_table(engine)
    replies = [channel_outbox.Reply({"wa_id": "1"}, {"text": f"reply {n}"}) for n in range(count)]
    with engine.begin() as conn:
        channel_outbox.add_replies(conn, "whatsapp", conversation_id, replies, not_after=not_after)
    engine.dispose()


def _waiting_replies(url: str) -> dict[str, int]:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        rows = conn.execute(
            select(channel_outbox.outbox.c.conversation_id, func.count()).group_by(
                channel_outbox.outbox.c.conversation_id
            )
        ).all()
    engine.dispose()
    return {conversation: count for conversation, count in rows}


def test_erasing_and_purging_take_the_waiting_channel_replies_along(tracker_url: str) -> None:
    later = NOW.timestamp() + DAY
    _add(tracker_url, "whatsapp:1", 1)
    _add(tracker_url, "whatsapp:2", 200)
    _add(tracker_url, "whatsapp:3", 1)
    _channel_replies(tracker_url, "whatsapp:1", 2, later)
    _channel_replies(tracker_url, "whatsapp:2", 1, later)
    _channel_replies(tracker_url, "whatsapp:3", 1, later)
    _channel_replies(tracker_url, "teams:gone", 1, NOW.timestamp() - 1)  # past its day

    assert erase_conversation(tracker_url, "whatsapp:1").events == 1
    assert _waiting_replies(tracker_url) == {"whatsapp:2": 1, "whatsapp:3": 1, "teams:gone": 1}
    assert purge_older_than(tracker_url, 180, NOW) == ["whatsapp:2"]
    assert _waiting_replies(tracker_url) == {"whatsapp:3": 1}


def test_erasing_a_delivered_handoff_says_the_receiver_keeps_a_copy(
    tracker_url: str, app: Database, caplog: pytest.LogCaptureFixture
) -> None:
    _add(tracker_url, "widget:me", 1)
    _handoff(app, "widget:me", delivered=True)
    with caplog.at_level(logging.INFO):
        erased = erase_conversation(tracker_url, "widget:me", database=app)
    assert erased.forgotten.delivered_handoffs == 1
    notice = erased.delivered_notice()
    assert notice is not None and "receiving system keeps its copy" in notice
    assert "had already accepted" in caplog.text
    # No personal data in the log: no conversation id, no contact details.
    assert "widget:me" not in caplog.text and "+31612345678" not in caplog.text


def test_the_chats_erasure_forgets_everything_but_the_events(
    tracker_url: str, app: Database
) -> None:
    # The engine deletes the events itself (bot/engine/tracker_store.py), after the action.
    _add(tracker_url, "me", 1)
    _index(app, "me")
    _handoff(app, "me")
    assert forget_elsewhere(["me"], database=app).handoff_requests == 1
    assert _handoffs(app) == [] and _indexed(app) == []
    assert _counts(tracker_url) == {"me": 1}
    assert forget_elsewhere([], database=app) == Forgotten()


def test_an_id_that_looks_like_sql_is_only_an_id(tracker_url: str) -> None:
    _add(tracker_url, "x' OR '1'='1", 1)
    _add(tracker_url, "other", 1)
    assert erase_conversation(tracker_url, "x' OR 1=1 --").events == 0
    assert erase_conversation(tracker_url, "x' OR '1'='1").events == 1
    assert _counts(tracker_url) == {"other": 1}


def test_a_database_without_conversations_yet(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert purge_older_than(url, 180, now=NOW) == []
    assert not erase_conversation(url, "anyone").anything


def test_bad_arguments_to_the_functions(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="0 or more"):
        purge_older_than(sqlite_url, -1, now=NOW)
    with pytest.raises(ValueError, match="time zone"):
        purge_older_than(sqlite_url, 1, now=datetime(2026, 1, 1))


# ---- command line ------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, app_url: str) -> str:
    monkeypatch.setenv("ZIJWIJZER_TRACKER_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("ZIJWIJZER_RETENTION_DAYS", "30")
    monkeypatch.setenv("ZIJWIJZER_AUDIT_RETENTION_DAYS", "60")
    return sqlite_url


def test_cli_purge_uses_the_retention_settings(
    cli_env: str, sqlite_app: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    # `_add` counts days back from NOW, the command from the real clock: shift by the gap.
    gap = (datetime.now(UTC) - NOW).total_seconds() / DAY
    _add(cli_env, "old", 31 - gap, 40 - gap)
    _add(cli_env, "new", 29 - gap)
    _handoff(sqlite_app, "new")
    real_now = datetime.now(UTC)
    with sqlite_app.session() as session:
        session.execute(
            update(HandoffRequest).values(status="closed", updated_at=real_now - timedelta(days=31))
        )
        for days_ago in (61, 59):
            session.add(
                AuditEntry(at=real_now - timedelta(days=days_ago), username="anna", action="view")
            )
    assert retention.main(["purge"]) == 0
    assert capsys.readouterr().out == (
        "purged 1 conversation(s) (2 event(s)) older than 30 days\n"
        "purged 1 handoff request(s) (1 outbox message(s)), 0 expired saved advice link(s), "
        "1 audit log row(s) older than 60 days\n"
    )
    assert retention.main(["purge", "--older-than-days", "0"]) == 0
    assert capsys.readouterr().out.startswith("purged 1 conversation(s) (1 event(s))")
    assert _counts(cli_env) == {}


def test_cli_warns_when_the_audit_log_would_go_before_the_data(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ZIJWIJZER_AUDIT_RETENTION_DAYS", "7")
    assert retention.main(["purge"]) == 0
    assert capsys.readouterr().err.startswith("warning: the audit log is kept 7 days")


def test_cli_erase(cli_env: str, sqlite_app: Database, capsys: pytest.CaptureFixture[str]) -> None:
    _add(cli_env, "widget:abc", 1, 1)
    _handoff(sqlite_app, "widget:abc")
    save_advice(sqlite_app, {"summary": {}}, "nl", valid_days=30, conversation_id="widget:abc")
    assert retention.main(["erase", "widget:abc"]) == 0
    assert capsys.readouterr().out == (
        "erased 1 conversation (2 event(s), 1 handoff request(s), 1 saved advice link(s))\n"
    )
    assert retention.main(["erase", "widget:abc"]) == 0
    assert capsys.readouterr().out == "no such conversation\n"


def test_cli_erase_says_when_a_handoff_was_delivered(
    cli_env: str, sqlite_app: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only the handoff request is left (the events were purged): still erased, and said.
    _handoff(sqlite_app, "widget:abc", delivered=True)
    assert retention.main(["erase", "widget:abc"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "note: 1 handoff request(s) of this conversation had already been delivered"
    )
    assert out.endswith(
        "erased 1 conversation (0 event(s), 1 handoff request(s), 0 saved advice link(s))\n"
    )
    assert "widget:abc" not in out
    assert _handoffs(sqlite_app) == []


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["vacuum"],
        ["purge", "--older-than-days", "abc"],
        ["purge", "--older-than-days", "-3"],
        ["purge", "--older-than-days"],
        ["erase"],
        ["erase", ""],
        ["erase", "a", "b"],
    ],
)
def test_cli_bad_arguments_give_one_line_and_exit_2(
    argv: list[str], cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        retention.main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err


def test_cli_runs_as_a_module(cli_env: str) -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "bot.app.retention", "purge", "--older-than-days", "soon"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert bad.returncode == 2
    assert (
        bad.stderr
        == "error: argument --older-than-days: not a whole number of days: 'soon' (see --help)\n"
    )
    good = subprocess.run(
        [sys.executable, "-m", "bot.app.retention", "purge"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("purged 0 conversation(s) (0 event(s)) older than 30 days\n")


def test_cli_reports_a_database_failure_without_details(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ZIJWIJZER_SECRET_KEY", "test-secret-key-that-is-long-enough-for-hmac")
    # A directory is no SQLite database.
    monkeypatch.setenv("ZIJWIJZER_TRACKER_DATABASE_URL", f"sqlite:///{tmp_path}")
    assert retention.main(["erase", "someone"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the tracker database failed") and "someone" not in err


def test_cli_erase_with_a_failing_app_database_erases_nothing(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    cli_env: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _add(cli_env, "someone", 1)
    monkeypatch.setenv("ZIJWIJZER_DATABASE_URL", f"sqlite:///{tmp_path}")
    assert retention.main(["erase", "someone"]) == 1
    err = capsys.readouterr().err
    assert err == "error: the app database failed (OperationalError); nothing was erased\n"
    assert _counts(cli_env) == {"someone": 1}


def test_the_table_matches_what_rasa_creates() -> None:
    # Rasa 3.6's SQLTrackerStore.SQLEvent columns (rasa/core/tracker_store.py).
    assert [c.name for c in EVENTS.columns] == [
        "id",
        "sender_id",
        "type_name",
        "timestamp",
        "intent_name",
        "action_name",
        "data",
    ]
    assert EVENTS.name == "events"
    assert timedelta(days=1).total_seconds() == DAY
