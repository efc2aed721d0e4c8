"""The conversation index: incremental folding of tracker events, forgetting, the CLI."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from bot.app.console import index
from bot.app.console.cli import main as cli_main
from bot.app.console.models import ConversationSummary, ConversationTag, IndexState, IntentDay, Note
from bot.app.console.tracker import TrackerReader
from bot.app.db import Database
from tests.console.conftest import NOW, plans
from tests.console.seed import Plan, conversation, rows, seed_tracker

ROOT = Path(__file__).resolve().parents[2]


def _summaries(database: Database) -> dict[str, ConversationSummary]:
    with database.session() as session:
        found = session.scalars(select(ConversationSummary)).all()
        for row in found:
            session.expunge(row)
    return {row.conversation_id: row for row in found}


def test_summaries_from_events(tmp_path: Path) -> None:
    tracker_url = f"sqlite:///{tmp_path / 't.db'}"
    seed_tracker(create_engine(tracker_url), plans())
    database = Database(f"sqlite:///{tmp_path / 'a.db'}")
    index.ensure_schema(database)
    read = index.refresh_index(database, TrackerReader(tracker_url))
    assert read > 100
    found = _summaries(database)
    assert set(found) == {"alpha", "bravo", "charlie", "delta", "echo"}
    bravo, charlie = found["bravo"], found["charlie"]
    assert (bravo.outcome, bravo.channel, bravo.language, bravo.fallbacks) == (
        "handoff",
        "telegram",
        "en",
        1,
    )
    assert charlie.outcome == "abandoned" and charlie.last_requested_slot == "employer"
    assert charlie.min_confidence == pytest.approx(0.25) and charlie.fallbacks == 3
    assert found["alpha"].outcome == "advice" and found["alpha"].min_confidence == pytest.approx(
        0.93
    )
    assert index.aware(found["alpha"].started_at).date() == (NOW - dt.timedelta(days=5)).date()
    # Button presses are not counted as typed messages for the confidence.
    assert "vvt" not in found["alpha"].search_text
    with database.session() as session:
        assert session.scalar(select(func.sum(IntentDay.count))) == sum(
            s.user_messages for s in found.values()
        )
    # Nothing new: nothing read.
    assert index.refresh_index(database, TrackerReader(tracker_url)) == 0


def test_index_is_incremental(tmp_path: Path) -> None:
    tracker_url = f"sqlite:///{tmp_path / 't.db'}"
    engine = create_engine(tracker_url)
    plan = Plan("late", NOW.timestamp(), "abandoned", "widget", "nl", 0, stop_at="sector")
    every = conversation(plan)
    half = len(every) // 2
    seed_tracker(engine, [])
    with engine.begin() as connection:
        from bot.app.tracker_events import events

        connection.execute(events.insert(), rows("late", every[:half]))
    database = Database(f"sqlite:///{tmp_path / 'a.db'}")
    index.ensure_schema(database)
    reader = TrackerReader(tracker_url)
    index.refresh_index(database, reader)
    first = _summaries(database)["late"]
    with engine.begin() as connection:
        connection.execute(events.insert(), rows("late", every[half:]))
    index.refresh_index(database, reader)
    second = _summaries(database)["late"]
    assert second.id == first.id
    assert second.user_messages > first.user_messages
    assert second.last_requested_slot == "sector"
    # Same result as indexing everything at once.
    fresh = Database(f"sqlite:///{tmp_path / 'b.db'}")
    index.ensure_schema(fresh)
    index.refresh_index(fresh, reader)
    whole = _summaries(fresh)["late"]
    for field in ("user_messages", "fallbacks", "outcome", "search_text", "last_requested_slot"):
        assert getattr(whole, field) == getattr(second, field), field
    with database.session() as session:
        state = session.get(IndexState, 1)
        assert state is not None and state.last_event_id == len(every)


def test_forget_conversations_removes_everything(tmp_path: Path) -> None:
    tracker_url = f"sqlite:///{tmp_path / 't.db'}"
    seed_tracker(create_engine(tracker_url), plans())
    database = Database(f"sqlite:///{tmp_path / 'a.db'}")
    index.ensure_schema(database)
    index.refresh_index(database, TrackerReader(tracker_url))
    charlie = _summaries(database)["charlie"]
    with database.session() as session:
        session.add(ConversationTag(conversation_pk=charlie.id, tag="x"))
        session.add(Note(conversation_pk=charlie.id, author="a", text="n"))
    index.forget_conversations(database, ["charlie", "does-not-exist"])
    index.forget_conversations(database, [])
    assert "charlie" not in _summaries(database)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ConversationTag)) == 0
        assert session.scalar(select(func.count()).select_from(Note)) == 0
        fts = session.execute(
            text("SELECT count(*) FROM console_conversations_fts WHERE rowid = :id"),
            {"id": charlie.id},
        ).scalar()
        assert fts == 0
        # The search no longer finds it.
        rows_found, _ = index.list_page(session, index.Filters(q="thuiszorg"))
        assert rows_found == []


def test_cli_add_user_reads_the_password_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    monkeypatch.setenv("ZIJWIJZER_DATABASE_URL", url)
    monkeypatch.setenv("ZIJWIJZER_TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 't.db'}")
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    assert cli_main(["add-user", "beheer", "--role", "admin"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert cli_main(["add-user", "kort", "--role", "reviewer"]) == 2
    from bot.app.console.models import StaffUser

    database = Database(url)
    with database.session() as session:
        users = {u.username: u for u in session.scalars(select(StaffUser))}
    assert set(users) == {"beheer"} and users["beheer"].role == "admin"
    assert users["beheer"].password_hash.startswith("$argon2id$")


def test_cli_as_a_process(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ZIJWIJZER_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
        "ZIJWIJZER_TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
    }
    seed_tracker(create_engine(env["ZIJWIJZER_TRACKER_DATABASE_URL"]), plans())
    done = subprocess.run(
        [sys.executable, "-m", "bot.app.console", "reindex"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("indexed ")


def test_reconcile_forgets_conversations_erased_in_the_chat(tmp_path: Path) -> None:
    from bot.app.tracker_events import events

    tracker_url = f"sqlite:///{tmp_path / 't.db'}"
    engine = create_engine(tracker_url)
    seed_tracker(engine, plans())
    database = Database(f"sqlite:///{tmp_path / 'a.db'}")
    index.ensure_schema(database)
    reader = TrackerReader(tracker_url)
    index.refresh_index(database, reader)
    before = _summaries(database)
    # What the redacting tracker store does on an erasure request: delete every row.
    with engine.begin() as connection:
        connection.execute(events.delete().where(events.c.sender_id.in_(["charlie", "delta"])))
    # delta starts afresh afterwards, with a new conversation under the same id.
    restart = Plan("delta", NOW.timestamp(), "advice", "rest", "en", 0, opener="new start")
    with engine.begin() as connection:
        connection.execute(events.insert(), rows("delta", conversation(restart)))
    index.refresh_index(database, reader)
    forgotten = index.reconcile_index(database, reader, chunk=2)
    assert sorted(forgotten) == ["charlie", "delta"]
    after = _summaries(database)
    assert "charlie" not in after
    assert "thuiszorg" not in " ".join(s.search_text for s in after.values())
    delta = after["delta"]
    assert delta.id != before["delta"].id
    assert "new start" in delta.search_text and "script" not in delta.search_text
    assert delta.outcome == "advice" and delta.language == "en"
    with database.session() as session:
        rows_found, _ = index.list_page(session, index.Filters(q="script"))
        assert rows_found == []
    # Nothing more to do the second time.
    assert index.reconcile_index(database, reader) == []
