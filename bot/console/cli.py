"""`python -m bot.console add-user NAME --role admin|reviewer` and `reindex`.

The password is read from the terminal (getpass) or, without one, from the first line of
standard input; never from the command line, where it would end up in shell history and ps.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.console import auth, index
from bot.console.models import ROLES
from bot.console.tracker import TrackerReader
from bot.db import Database
from bot.settings import load_settings


def _password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise ValueError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.console")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add-user", help="create a staff account (password from stdin)")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, required=True)
    commands.add_parser(
        "reindex",
        help="fold new tracker events into the conversation index, forget erased conversations",
    )
    args = parser.parse_args(argv)

    settings = load_settings()
    database = Database(settings.database_url)
    index.ensure_schema(database)
    try:
        if args.command == "add-user":
            with database.session() as session:
                auth.create_user(session, args.username, _password(), args.role)
            print(f"created {args.role} {args.username}")
        else:
            tracker = TrackerReader(settings.tracker_database_url)
            read = index.refresh_index(database, tracker)
            gone = index.reconcile_index(database, tracker)
            index.analyze(database)
            print(f"indexed {read} events; forgot {len(gone)} erased conversations")
            tracker.dispose()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        database.dispose()
    return 0
