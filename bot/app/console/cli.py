"""Staff accounts and the index of the console, from the command line.

    python -m bot.app.console add-user NAME --role admin|reviewer
    python -m bot.app.console set-password NAME [--stdin]
    python -m bot.app.console disable-user NAME
    python -m bot.app.console enable-user NAME
    python -m bot.app.console reindex

Passwords are never taken from the command line, where they would end up in shell history and
ps. add-user reads it from the terminal (getpass) or, without one, from the first line of
standard input. set-password reads it twice from the terminal, or with --stdin once from the
first line of standard input (for scripts). A new password or a disabled account ends that
user's open sessions at once (every instance checks sessions in the database), and each change
to an account is written to the console's audit log.

Exit codes: 0 done, 2 bad input (the message says which), 1 the database failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from collections.abc import Callable
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.app.console import auth, index
from bot.app.console.models import ROLES, AuditEntry, StaffUser
from bot.app.console.tracker import TrackerReader
from bot.app.db import Database
from bot.common.settings import load_settings

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class BadInput(ValueError):
    """Input the command refuses; the text is shown as it is."""


def _password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise ValueError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def read_new_password(
    use_stdin: bool,
    stdin: TextIO | None = None,
    ask: Callable[[str], str] | None = None,
) -> str:
    """The new password: the first line of stdin (--stdin), or asked twice on the terminal."""
    source = stdin if stdin is not None else sys.stdin
    if use_stdin:
        password = source.readline().rstrip("\r\n")
    else:
        if not source.isatty():
            raise BadInput("no terminal to ask the password on: pipe it in with --stdin")
        prompt = ask or getpass.getpass
        password = prompt("New password: ")
        if prompt("Again: ") != password:
            raise BadInput("the passwords differ; nothing was changed")
    check_strength(password)
    return password


def check_strength(password: str) -> None:
    """The rule of add-user (bot.app.console.auth): at least PASSWORD_MIN characters."""
    if len(password) < auth.PASSWORD_MIN:
        raise BadInput(
            f"the password must be at least {auth.PASSWORD_MIN} characters; nothing was changed"
        )


def _actor() -> str:
    """Who ran the command, for the audit log: the operating-system user."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        name = "unknown"
    return f"cli:{name}"[:64]


def _user(session: Session, username: str) -> StaffUser:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip()))
    if user is None:
        raise BadInput(f"no staff user named {username.strip()!r}")
    return user


def _audit(session: Session, action: str, user: StaffUser, detail: str) -> None:
    session.add(
        AuditEntry(
            at=dt.datetime.now(dt.UTC),
            username=_actor(),
            action=action,
            conversation_id=None,
            detail=f"user {user.username}: {detail}"[:4000],
        )
    )


def set_password(session: Session, username: str, password: str) -> int:
    """Sets a new password, lifts a lockout, ends the user's sessions; how many it ended."""
    check_strength(password)
    user = _user(session, username)
    user.password_hash = auth.hash_password(password)
    auth.clear_lockout(user)
    ended = auth.end_user_sessions(session, user.id)
    _audit(session, "set_password", user, f"password set, {ended} session(s) ended")
    return ended


def set_active(session: Session, username: str, active: bool) -> int:
    """Enables or disables an account; disabling ends its sessions (how many it ended)."""
    user = _user(session, username)
    user.active = active
    ended = 0
    if active:
        auth.clear_lockout(user)
        _audit(session, "enable_user", user, "enabled")
    else:
        ended = auth.end_user_sessions(session, user.id)
        _audit(session, "disable_user", user, f"disabled, {ended} session(s) ended")
    return ended


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.app.console")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add-user", help="create a staff account (password from stdin)")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, required=True)
    password = commands.add_parser(
        "set-password", help="set a new password and end the user's open sessions"
    )
    password.add_argument("username")
    password.add_argument(
        "--stdin",
        action="store_true",
        help="read the password from the first line of standard input (scripts)",
    )
    disable = commands.add_parser("disable-user", help="refuse logins, end open sessions")
    disable.add_argument("username")
    enable = commands.add_parser("enable-user", help="allow logins again, lift a lockout")
    enable.add_argument("username")
    commands.add_parser(
        "reindex",
        help="fold new tracker events into the conversation index, forget erased conversations",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    try:
        # Asked before touching the database: a typo costs nothing.
        new_password = read_new_password(args.stdin) if args.command == "set-password" else None
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    database = Database(settings.database_url)
    try:
        index.ensure_schema(database)
        if args.command == "add-user":
            with database.session() as session:
                auth.create_user(session, args.username, _password(), args.role)
            print(f"created {args.role} {args.username}")
        elif args.command == "set-password":
            assert new_password is not None
            with database.session() as session:
                ended = set_password(session, args.username, new_password)
            print(f"password of {args.username.strip()} set; {ended} open session(s) ended")
        elif args.command in ("disable-user", "enable-user"):
            active = args.command == "enable-user"
            with database.session() as session:
                ended = set_active(session, args.username, active)
            if active:
                print(f"{args.username.strip()} enabled")
            else:
                print(f"{args.username.strip()} disabled; {ended} open session(s) ended")
        else:
            tracker = TrackerReader(settings.tracker_database_url)
            read = index.refresh_index(database, tracker)
            gone = index.reconcile_index(database, tracker)
            index.analyze(database)
            print(f"indexed {read} events; forgot {len(gone)} erased conversations")
            tracker.dispose()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SQLAlchemyError as exc:
        # The driver's message can quote parameters: only the error's class.
        print(f"error: the database failed ({type(exc).__name__})", file=sys.stderr)
        return EXIT_FAILED
    finally:
        database.dispose()
    return 0
