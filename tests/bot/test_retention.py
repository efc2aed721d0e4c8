"""Retention: purge by the age of a conversation's last event, erase one, and the command line.

The tracker store's `events` table is made here with the columns Rasa 3.6 gives it, on SQLite
(a file in tmp_path) and, when ZIJWIJZER_TEST_POSTGRES_URL is set, in a temporary PostgreSQL
schema (as tests/catalogue/conftest.py does).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.pool import NullPool

from bot import retention
from bot.retention import EVENTS, erase_conversation, purge_older_than
from tests.postgres import postgres_schema

ROOT = Path(__file__).resolve().parents[2]

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DAY = 86400.0


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
def _no_other_stores(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[str, Any]]:
    """Fake console index and advice store: calls are recorded, no app database is touched."""
    monkeypatch.setenv("ZIJWIJZER_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("ZIJWIJZER_SECRET_KEY", "test-secret-key-that-is-long-enough-for-hmac")
    calls: list[tuple[str, Any]] = []
    index = types.ModuleType("bot.console.index")
    index.forget_conversations = lambda db, ids: calls.append(("forget", (db, list(ids))))  # type: ignore[attr-defined]
    advice = types.ModuleType("bot.advice_store")
    advice.purge_expired = lambda db: calls.append(("purge_expired", db))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bot.console.index", index)
    monkeypatch.setitem(sys.modules, "bot.advice_store", advice)
    return calls


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


def test_purge_removes_conversations_whose_last_event_is_older(
    tracker_url: str, _no_other_stores: list[tuple[str, Any]]
) -> None:
    _add(tracker_url, "old", 400, 300, 200)
    # Began long ago but went on recently: its last event counts, so it stays whole.
    _add(tracker_url, "long-running", 400, 200, 1)
    _add(tracker_url, "recent", 3, 2)
    _add(tracker_url, "just-inside", 179.9)

    assert purge_older_than(tracker_url, 180, now=NOW) == ["old"]
    assert _counts(tracker_url) == {"long-running": 3, "recent": 2, "just-inside": 1}
    assert [args[1] for name, args in _no_other_stores if name == "forget"] == [["old"]]

    # A second run finds nothing more; a shorter retention takes more, but not a conversation
    # whose last event is exactly that old ("long-running": 1 day).
    assert purge_older_than(tracker_url, 180, now=NOW) == []
    assert purge_older_than(tracker_url, 1, now=NOW) == ["just-inside", "recent"]
    assert _counts(tracker_url) == {"long-running": 3}


def test_purge_with_zero_days_removes_everything_before_now(tracker_url: str) -> None:
    _add(tracker_url, "a", 0.001)
    _add(tracker_url, "b", 10)
    assert purge_older_than(tracker_url, 0, now=NOW) == ["a", "b"]
    assert _counts(tracker_url) == {}


def test_purge_uses_the_current_time_by_default(tracker_url: str) -> None:
    now = datetime.now(UTC)
    _add(tracker_url, "ancient", (NOW - now).total_seconds() / DAY + 1000)
    assert purge_older_than(tracker_url, 180) == ["ancient"]


def test_purge_calls_the_other_stores(
    tracker_url: str, _no_other_stores: list[tuple[str, Any]]
) -> None:
    database = object()
    _add(tracker_url, "old", 400)
    purge_older_than(tracker_url, 180, now=NOW, database=database)  # type: ignore[arg-type]
    assert _no_other_stores == [("forget", (database, ["old"])), ("purge_expired", database)]

    # Nothing purged: the index is not called, expired advice is still purged.
    _no_other_stores.clear()
    purge_older_than(tracker_url, 180, now=NOW, database=database)  # type: ignore[arg-type]
    assert _no_other_stores == [("purge_expired", database)]


def test_erase_deletes_one_conversation(
    tracker_url: str, _no_other_stores: list[tuple[str, Any]]
) -> None:
    database = object()
    _add(tracker_url, "me", 3, 2, 1)
    _add(tracker_url, "someone else", 1)
    assert erase_conversation(tracker_url, "me", database=database) == 3  # type: ignore[arg-type]
    assert _counts(tracker_url) == {"someone else": 1}
    assert _no_other_stores == [("forget", (database, ["me"]))]
    assert erase_conversation(tracker_url, "me") == 0


def test_an_id_that_looks_like_sql_is_only_an_id(tracker_url: str) -> None:
    _add(tracker_url, "x' OR '1'='1", 1)
    _add(tracker_url, "other", 1)
    assert erase_conversation(tracker_url, "x' OR 1=1 --") == 0
    assert erase_conversation(tracker_url, "x' OR '1'='1") == 1
    assert _counts(tracker_url) == {"other": 1}


def test_a_database_without_conversations_yet(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert purge_older_than(url, 180, now=NOW) == []
    assert erase_conversation(url, "anyone") == 0


def test_bad_arguments_to_the_functions(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="0 or more"):
        purge_older_than(sqlite_url, -1, now=NOW)
    with pytest.raises(ValueError, match="time zone"):
        purge_older_than(sqlite_url, 1, now=datetime(2026, 1, 1))


def test_a_missing_module_is_skipped_but_a_broken_one_is_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert retention._optional("bot.no_such_module", "anything") is None
    broken = tmp_path / "zw_broken_module.py"
    broken.write_text("import zw_dependency_that_is_missing\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError):
        retention._optional("zw_broken_module", "anything")


# ---- command line ------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path) -> str:
    monkeypatch.setenv("ZIJWIJZER_TRACKER_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("ZIJWIJZER_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("ZIJWIJZER_SECRET_KEY", "test-secret-key-that-is-long-enough-for-hmac")
    monkeypatch.setenv("ZIJWIJZER_RETENTION_DAYS", "30")
    return sqlite_url


def test_cli_purge_uses_the_retention_setting(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    age = (datetime.now(UTC) - NOW).total_seconds() / DAY
    _add(cli_env, "old", age + 31, age + 40)
    _add(cli_env, "new", age + 29)
    assert retention.main(["purge"]) == 0
    assert capsys.readouterr().out == "purged 1 conversation(s) (2 event(s)) older than 30 days\n"
    assert retention.main(["purge", "--older-than-days", "0"]) == 0
    assert capsys.readouterr().out.startswith("purged 1 conversation(s) (1 event(s))")
    assert _counts(cli_env) == {}


def test_cli_erase(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    _add(cli_env, "widget:abc", 1, 1)
    assert retention.main(["erase", "widget:abc"]) == 0
    assert capsys.readouterr().out == "erased 1 conversation (2 event(s))\n"
    assert retention.main(["erase", "widget:abc"]) == 0
    assert capsys.readouterr().out == "no such conversation\n"


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
        [sys.executable, "-m", "bot.retention", "purge", "--older-than-days", "soon"],
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
        [sys.executable, "-m", "bot.retention", "purge"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert good.returncode == 0, good.stderr
    assert good.stdout == "purged 0 conversation(s) (0 event(s)) older than 30 days\n"


def test_cli_reports_a_database_failure_without_details(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ZIJWIJZER_SECRET_KEY", "test-secret-key-that-is-long-enough-for-hmac")
    # A directory is no SQLite database.
    monkeypatch.setenv("ZIJWIJZER_TRACKER_DATABASE_URL", f"sqlite:///{tmp_path}")
    assert retention.main(["erase", "someone"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the tracker database failed") and "someone" not in err


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
