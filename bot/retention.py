"""Retention of stored conversations: purge the old ones (cron), erase one (admin).

    python -m bot.retention purge [--older-than-days N]   # default: ZIJWIJZER_RETENTION_DAYS
    python -m bot.retention erase CONVERSATION_ID

Works on the `events` table of Rasa's SQL tracker store (the database of
ZIJWIJZER_TRACKER_DATABASE_URL), declared below as a Core table with Rasa 3.6's columns; the
engine creates it, this module only deletes from it, with parameterised statements, in one
transaction per call. A conversation is older than N days when its last event is.

After deleting, what other stores keep of those conversations goes too, through functions other
modules own, called only when they exist: `bot.console.index.forget_conversations(database, ids)`
(the staff console's index) and, after a purge, `bot.advice_store.purge_expired(database)`
(saved advice past its link's lifetime).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any, NoReturn

from sqlalchemy import (
    Engine,
    create_engine,
    delete,
    func,
    inspect,
    select,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from bot.db import Database
from bot.settings import load_settings
from bot.tracker_events import events

logger = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1

EVENTS = events

# Modules other engineers own; used when present (module, function).
CONSOLE_INDEX = ("bot.console.index", "forget_conversations")
ADVICE_STORE_PURGE = ("bot.advice_store", "purge_expired")


def _engine(url: str) -> Engine:
    # A short-lived command: no pool to keep.
    return create_engine(url, poolclass=NullPool)


def _has_events_table(engine: Engine) -> bool:
    # No table yet: the engine never stored a conversation in this database.
    return inspect(engine).has_table(EVENTS.name)


def erase_conversation(
    tracker_database_url: str, conversation_id: str, *, database: Database | None = None
) -> int:
    """Deletes every stored event of one conversation; the number of events deleted."""
    deleted = _delete_conversation(tracker_database_url, conversation_id)
    forget_elsewhere([conversation_id], database=database)
    return deleted


def purge_older_than(
    tracker_database_url: str,
    days: int,
    now: datetime | None = None,
    *,
    database: Database | None = None,
) -> list[str]:
    """Deletes the conversations whose last event is more than `days` days before `now`.

    Returns the ids of the conversations purged (sorted).
    """
    purged, _events = _purge_events(tracker_database_url, days, now)
    _after_purge(purged, database)
    return purged


def _delete_conversation(tracker_database_url: str, conversation_id: str) -> int:
    engine = _engine(tracker_database_url)
    try:
        if not _has_events_table(engine):
            return 0
        with engine.begin() as conn:
            result = conn.execute(delete(EVENTS).where(EVENTS.c.sender_id == conversation_id))
            return int(result.rowcount or 0)
    finally:
        engine.dispose()


def _purge_events(
    tracker_database_url: str, days: int, now: datetime | None
) -> tuple[list[str], int]:
    """The tracker-store part of a purge: (conversation ids, number of events) deleted."""
    if days < 0:
        raise ValueError(f"days must be 0 or more, got {days}")
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must carry a time zone (Rasa's timestamps are UTC epoch seconds)")
    cutoff = (moment - timedelta(days=days)).timestamp()
    stale = (
        select(EVENTS.c.sender_id)
        .group_by(EVENTS.c.sender_id)
        .having(func.max(EVENTS.c.timestamp) < cutoff)
    )
    engine = _engine(tracker_database_url)
    try:
        if not _has_events_table(engine):
            return [], 0
        with engine.begin() as conn:
            purged = sorted(conn.execute(stale).scalars())
            if not purged:
                return [], 0
            # The same condition, evaluated again by the DELETE: a conversation that got a
            # new event since the SELECT is not old any more and stays.
            result = conn.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(stale)))
            return purged, int(result.rowcount or 0)
    finally:
        engine.dispose()


def _after_purge(purged: Sequence[str], database: Database | None) -> None:
    forget_elsewhere(purged, database=database)
    purge_expired = _optional(*ADVICE_STORE_PURGE)
    if purge_expired is not None:
        with _app_database(database) as app:
            purge_expired(app)


def forget_elsewhere(conversation_ids: Sequence[str], *, database: Database | None = None) -> None:
    """Tells the staff console's index to forget these conversations (when it exists)."""
    if not conversation_ids:
        return
    forget = _optional(*CONSOLE_INDEX)
    if forget is not None:
        with _app_database(database) as app:
            forget(app, list(conversation_ids))


@contextlib.contextmanager
def _app_database(given: Database | None) -> Iterator[Database]:
    """The caller's app database, or one of our own for this call (closed afterwards)."""
    if given is not None:
        yield given
        return
    # Run from cron, perhaps before the web app ever made the app's tables: make the missing
    # ones (of the modules imported by now), as `python -m bot.web` does at start.
    database = Database(load_settings().database_url)
    try:
        database.create_all()
        yield database
    finally:
        database.dispose()


def _optional(module_name: str, function: str) -> Callable[..., Any] | None:
    """`module_name.function` when that module exists; None before it is written.

    Only a missing module counts as absent: an import error inside an existing module is a
    real fault and is raised.
    """
    try:
        module: ModuleType = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            logger.debug("%s not present: skipped", module_name)
            return None
        raise
    found = getattr(module, function, None)
    return found if callable(found) else None


# ---- command line ------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see --help)\n")


def _days(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {raw!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"days must be 0 or more, got {value}")
    return value


def _conversation_id(raw: str) -> str:
    if not raw.strip() or len(raw) > 255:
        raise argparse.ArgumentTypeError("a conversation id is 1 to 255 characters")
    return raw


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bot.retention", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    purge = commands.add_parser("purge", help="delete conversations older than the retention")
    purge.add_argument(
        "--older-than-days",
        type=_days,
        default=None,
        metavar="N",
        help="days since the conversation's last event (default: ZIJWIJZER_RETENTION_DAYS)",
    )
    erase = commands.add_parser("erase", help="delete one conversation")
    erase.add_argument("conversation_id", type=_conversation_id)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    url = settings.tracker_database_url
    # The driver's messages can quote parameters (a conversation id): only the error's class.
    try:
        if args.command == "purge":
            days = settings.retention_days if args.older_than_days is None else args.older_than_days
            purged, events = _purge_events(url, days, None)
        else:
            deleted = _delete_conversation(url, args.conversation_id)
    except SQLAlchemyError as error:
        print(f"error: the tracker database failed ({type(error).__name__})", file=sys.stderr)
        return EXIT_FAILED
    try:
        if args.command == "purge":
            _after_purge(purged, None)
        else:
            forget_elsewhere([args.conversation_id])
    except SQLAlchemyError as error:
        print(
            f"error: the conversations were deleted, but the app database failed "
            f"({type(error).__name__}); run the command again",
            file=sys.stderr,
        )
        return EXIT_FAILED
    # No conversation id in the output: it may end up in a cron mail or a log.
    if args.command == "purge":
        print(f"purged {len(purged)} conversation(s) ({events} event(s)) older than {days} days")
    else:
        print(f"erased 1 conversation ({deleted} event(s))" if deleted else "no such conversation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
