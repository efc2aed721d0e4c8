"""`python -m bot.app.console set-password / disable-user / enable-user`: the new password works,
the old one and every open session of that user end, the audit log says who did it."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app.console import auth, cli
from bot.app.console.models import AuditEntry, StaffSession
from bot.app.db import Database

ROOT = Path(__file__).resolve().parents[2]
OLD = "the old password 1"
NEW = "a brand new password"


class Terminal(io.StringIO):
    """Standard input that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("ZIJWIJZER_DATABASE_URL", url)
    monkeypatch.setenv("ZIJWIJZER_TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'trackers.db'}")
    monkeypatch.setenv("ZIJWIJZER_SECRET_KEY", "test-secret-key-that-is-long-enough-for-hmac")
    database = Database(url)
    database.create_all()
    with database.session() as session:
        for name in ("anna", "bram"):
            user = auth.create_user(session, name, OLD, "admin")
            for _ in range(2):
                auth.start_session(session, user, "key", dt.timedelta(hours=8))
    yield database
    database.dispose()


def _sessions(database: Database) -> dict[str, int]:
    counts: dict[str, int] = {}
    with database.session() as session:
        for row in session.scalars(select(StaffSession)):
            counts[row.user.username] = counts.get(row.user.username, 0) + 1
    return counts


def _login(database: Database, name: str, password: str) -> bool:
    with database.session() as session:
        return auth.authenticate(session, name, password) is not None


def _audit(database: Database) -> list[tuple[str, str, str | None]]:
    with database.session() as session:
        return [
            (row.username, row.action, row.detail)
            for row in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def _run(monkeypatch: pytest.MonkeyPatch, argv: list[str], stdin: io.StringIO | None = None) -> int:
    monkeypatch.setattr(sys, "stdin", stdin or io.StringIO(""))
    return cli.main(argv)


def test_set_password_from_stdin_ends_that_users_sessions(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run(monkeypatch, ["set-password", "anna", "--stdin"], io.StringIO(NEW + "\n"))

    assert code == 0
    assert capsys.readouterr().out == "password of anna set; 2 open session(s) ended\n"
    assert _login(database, "anna", NEW) and not _login(database, "anna", OLD)
    assert _sessions(database) == {"bram": 2}
    [(actor, action, detail)] = _audit(database)
    assert actor.startswith("cli:") and action == "set_password"
    assert detail == "user anna: password set, 2 session(s) ended"
    assert NEW not in str(_audit(database))


def test_set_password_asks_twice_on_a_terminal(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return NEW

    monkeypatch.setattr(cli.getpass, "getpass", ask)
    assert _run(monkeypatch, ["set-password", "bram"], Terminal()) == 0
    assert prompts == ["New password: ", "Again: "]
    assert _login(database, "bram", NEW)
    assert _sessions(database) == {"anna": 2}


def test_a_new_password_lifts_a_lockout(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(auth.MAX_FAILURES):
        assert not _login(database, "anna", "wrong guess!!")
    assert not _login(database, "anna", OLD)  # locked
    assert _run(monkeypatch, ["set-password", "anna", "--stdin"], io.StringIO(NEW)) == 0
    assert _login(database, "anna", NEW)


@pytest.mark.parametrize(
    ("argv", "stdin", "answers", "message"),
    [
        (["set-password", "anna"], Terminal(), [NEW, NEW + "x"], "the passwords differ"),
        (["set-password", "anna", "--stdin"], io.StringIO("short\n"), [], "at least 12"),
        (["set-password", "anna", "--stdin"], io.StringIO(""), [], "at least 12"),
        (["set-password", "anna"], io.StringIO(NEW), [], "with --stdin"),
        (["set-password", "nobody", "--stdin"], io.StringIO(NEW), [], "no staff user"),
        (["disable-user", "nobody"], io.StringIO(""), [], "no staff user"),
    ],
)
def test_bad_input_changes_nothing_and_exits_2(
    argv: list[str],
    stdin: io.StringIO,
    answers: list[str],
    message: str,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: answers.pop(0))
    assert _run(monkeypatch, argv, stdin) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert _login(database, "anna", OLD)
    assert _sessions(database) == {"anna": 2, "bram": 2}
    assert _audit(database) == []


def test_disable_ends_sessions_and_refuses_logins_until_enabled(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(monkeypatch, ["disable-user", "anna"]) == 0
    assert capsys.readouterr().out == "anna disabled; 2 open session(s) ended\n"
    assert not _login(database, "anna", OLD)
    assert _sessions(database) == {"bram": 2}

    assert _run(monkeypatch, ["enable-user", "anna"]) == 0
    assert capsys.readouterr().out == "anna enabled\n"
    assert _login(database, "anna", OLD)
    assert [action for _, action, _ in _audit(database)] == ["disable_user", "enable_user"]


def test_the_password_never_comes_from_the_command_line(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        _run(monkeypatch, ["set-password", "anna", NEW])
    assert stopped.value.code == 2
    assert _login(database, "anna", OLD)


def test_runs_as_a_module(database: Database) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.app.console", "set-password", "anna", "--stdin"],
        input=NEW + "\n",
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "password of anna set; 2 open session(s) ended\n"
    assert NEW not in done.stdout + done.stderr
    assert _login(database, "anna", NEW)
