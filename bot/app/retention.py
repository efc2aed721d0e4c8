"""Retention of personal data: purge what is past its period (cron), erase one conversation.

    python -m bot.app.retention purge [--older-than-days N]   # default: ZIJWIJZER_RETENTION_DAYS
    python -m bot.app.retention erase CONVERSATION_ID

Conversations live in the `events` table of Rasa's SQL tracker store (the database of
ZIJWIJZER_TRACKER_DATABASE_URL), declared in bot/app/tracker_events.py with Rasa 3.6's columns; the
engine creates it, this module only deletes from it, with parameterised statements, in one
transaction per call. A conversation is older than N days when its last event is. The WhatsApp
and Teams replies still waiting in the channel outbox (same database, bot/engine/channels/outbox.py)
go with their conversation, and a purge deletes those past their day.

The app database (ZIJWIJZER_DATABASE_URL) keeps more of a conversation:
- handoff requests (with contact details) and their outbox messages, and saved advice links:
  erasing a conversation deletes them, in one transaction, before its events go. A request the
  webhook had already accepted lives on in the receiving system, out of our reach: erasing
  says so (the command's output, a log line without personal data), so the receiver can be
  asked to delete it too (AVG art. 17 and 19).
- the staff console's index of the conversation: forgotten with it
  (`bot.app.console.index.forget_conversations`).
A purge also deletes saved advice past its link's lifetime, handoff requests past retention
(bot/app/handoff/store.py `purge_handoffs`: done ones `days` after their last change, waiting ones
after twice that) and console audit entries older than ZIJWIJZER_AUDIT_RETENTION_DAYS. The
audit log outlives the data on purpose: it answers "who looked at my data" after it is gone.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn

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

from bot.app import advice_store
from bot.app.advice_store import forget_advice, purge_expired
from bot.app.console.index import forget_conversations
from bot.app.console.models import AuditEntry
from bot.app.db import Base, Database
from bot.app.handoff import store as handoff_store
from bot.app.handoff.store import erase_handoffs, purge_handoffs
from bot.app.tracker_events import events
from bot.app.unanswered import UnansweredQuestion, forget_questions, purge_questions
from bot.common.settings import load_settings
from bot.engine.channels import outbox as channel_outbox

logger = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1

EVENTS = events


@dataclass(frozen=True)
class Forgotten:
    """What the app database held of some conversations and no longer does."""

    handoff_requests: int = 0
    outbox_messages: int = 0
    # Handoff requests the webhook had accepted: the receiving system keeps its copy.
    delivered_handoffs: int = 0
    saved_advice: int = 0
    unanswered_questions: int = 0

    @property
    def anything(self) -> bool:
        return bool(self.handoff_requests or self.saved_advice or self.unanswered_questions)


@dataclass(frozen=True)
class Erasure:
    """What erasing one conversation deleted."""

    events: int
    forgotten: Forgotten

    @property
    def anything(self) -> bool:
        return bool(self.events) or self.forgotten.anything

    def delivered_notice(self) -> str | None:
        """The sentence for the person erasing, when a copy lives on at the webhook's receiver."""
        delivered = self.forgotten.delivered_handoffs
        if not delivered:
            return None
        return (
            f"note: {delivered} handoff request(s) of this conversation had already been "
            "delivered to the handoff webhook; the receiving system keeps its copy, out of "
            "reach of this erasure: ask its owner to delete it"
        )


@dataclass(frozen=True)
class AppPurge:
    """What a purge deleted from the app database (besides the console's index)."""

    saved_advice: int = 0
    handoff_requests: int = 0
    outbox_messages: int = 0
    audit_entries: int = 0
    unanswered_questions: int = 0


def _engine(url: str) -> Engine:
    # A short-lived command: no pool to keep.
    return create_engine(url, poolclass=NullPool)


def _has_events_table(engine: Engine) -> bool:
    # No table yet: the engine never stored a conversation in this database.
    return inspect(engine).has_table(EVENTS.name)


def erase_conversation(
    tracker_database_url: str, conversation_id: str, *, database: Database | None = None
) -> Erasure:
    """Erases one conversation: its handoff requests and saved advice, its events, its index entry.

    The app data goes first (one transaction), so a failure there leaves the conversation
    whole and the erasure can simply be run again.
    """
    with _app_database(database) as app:
        forgotten = forget_personal_data(app, [conversation_id])
        events_deleted = _delete_conversation(tracker_database_url, conversation_id)
        forget_conversations(app, [conversation_id])
    return Erasure(events_deleted, forgotten)


def purge_older_than(
    tracker_database_url: str,
    days: int,
    now: datetime | None = None,
    *,
    database: Database | None = None,
    audit_days: int | None = None,
) -> list[str]:
    """Deletes the conversations whose last event is more than `days` days before `now`, and
    in the app database what is past retention (see `purge_app_data`).

    Returns the ids of the conversations purged (sorted).
    """
    purged, _events = _purge_events(tracker_database_url, days, now)
    _after_purge(purged, database, days, audit_days, now)
    return purged


def forget_personal_data(database: Database, conversation_ids: Sequence[str]) -> Forgotten:
    """Deletes the handoff requests (with their outbox messages) and the saved advice of these
    conversations, in one transaction. Logs (counts only) when a request had been delivered."""
    if not conversation_ids:
        return Forgotten()
    _ensure_app_tables(database)
    with database.session() as session:
        handoffs = erase_handoffs(session, conversation_ids)
        advice = forget_advice(session, conversation_ids)
        questions = forget_questions(session, conversation_ids)
    if handoffs.delivered:
        logger.warning(
            "erased %d handoff request(s) that the handoff webhook had already accepted: "
            "the receiving system keeps its copy, out of reach of this erasure",
            handoffs.delivered,
        )
    return Forgotten(
        handoffs.requests, handoffs.outbox_messages, handoffs.delivered, advice, questions
    )


def purge_app_data(
    database: Database, days: int, audit_days: int, now: datetime | None = None
) -> AppPurge:
    """Deletes handoff requests past retention (with their outbox messages) and console audit
    entries older than `audit_days` (one transaction), then expired saved advice."""
    if audit_days < 0:
        raise ValueError(f"audit days must be 0 or more, got {audit_days}")
    moment = now if now is not None else datetime.now(UTC)
    _ensure_app_tables(database)
    with database.session() as session:
        handoffs = purge_handoffs(session, days, moment)
        audit = session.execute(
            delete(AuditEntry)
            .where(AuditEntry.at < moment - timedelta(days=audit_days))
            .execution_options(synchronize_session=False)
        )
        audit_deleted = int(getattr(audit, "rowcount", 0) or 0)
        questions = purge_questions(session, days, moment)
    advice = purge_expired(database, now=moment)
    return AppPurge(advice, handoffs.requests, handoffs.outbox_messages, audit_deleted, questions)


def _ensure_app_tables(database: Database) -> None:
    # Tables made by an older version lack the columns these deletes select on.
    handoff_store.ensure_tables(database)
    advice_store.ensure_table(database)
    Base.metadata.create_all(
        database.engine, tables=[Base.metadata.tables[UnansweredQuestion.__tablename__]]
    )


def _delete_conversation(tracker_database_url: str, conversation_id: str) -> int:
    engine = _engine(tracker_database_url)
    try:
        if not _has_events_table(engine):
            return 0
        with engine.begin() as conn:
            result = conn.execute(delete(EVENTS).where(EVENTS.c.sender_id == conversation_id))
            # Its WhatsApp/Teams replies still waiting to be sent hold its texts too.
            channel_outbox.erase_conversation(conn, conversation_id)
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
            # Replies the WhatsApp/Teams outbox could not send within their day.
            channel_outbox.purge_expired(conn, moment.timestamp())
            purged = sorted(conn.execute(stale).scalars())
            if not purged:
                return [], 0
            # The same condition, evaluated again by the DELETE: a conversation that got a
            # new event since the SELECT is not old any more and stays.
            result = conn.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(stale)))
            channel_outbox.erase_conversations(conn, purged)
            return purged, int(result.rowcount or 0)
    finally:
        engine.dispose()


def _after_purge(
    purged: Sequence[str],
    database: Database | None,
    days: int,
    audit_days: int | None,
    now: datetime | None,
) -> AppPurge:
    with _app_database(database) as app:
        if purged:
            forget_conversations(app, list(purged))
        keep_audit = load_settings().audit_retention_days if audit_days is None else audit_days
        return purge_app_data(app, days, keep_audit, now)


def forget_elsewhere(
    conversation_ids: Sequence[str], *, database: Database | None = None
) -> Forgotten:
    """What the chat's erasure does outside the tracker store (the engine deletes the events):
    handoff requests, outbox messages and saved advice in one transaction, then the index."""
    if not conversation_ids:
        return Forgotten()
    with _app_database(database) as app:
        forgotten = forget_personal_data(app, conversation_ids)
        forget_conversations(app, list(conversation_ids))
    return forgotten


@contextlib.contextmanager
def _app_database(given: Database | None) -> Iterator[Database]:
    """The caller's app database, or one of our own for this call (closed afterwards)."""
    if given is not None:
        yield given
        return
    # Run from cron, perhaps before the web app ever made the app's tables: make the missing
    # ones (of the modules imported by now), as `python -m bot.app.web` does at start.
    database = Database(load_settings().database_url)
    try:
        database.create_all()
        yield database
    finally:
        database.dispose()


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
    parser = _Parser(prog="python -m bot.app.retention", description=__doc__.split("\n")[0])
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
    # No conversation id in the output: it may end up in a cron mail or a log. The driver's
    # messages can quote parameters (a conversation id): only the error's class is shown.
    if args.command == "erase":
        return _erase_command(settings.tracker_database_url, args.conversation_id)
    days = settings.retention_days if args.older_than_days is None else args.older_than_days
    return _purge_command(settings.tracker_database_url, days, settings.audit_retention_days)


def _erase_command(tracker_url: str, conversation_id: str) -> int:
    try:
        with _app_database(None) as app:
            return _erase_with(app, tracker_url, conversation_id)
    except SQLAlchemyError as error:
        # Making or opening the app database failed: nothing was deleted yet.
        print(
            f"error: the app database failed ({type(error).__name__}); nothing was erased",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _erase_with(app: Database, tracker_url: str, conversation_id: str) -> int:
    """The erase command's steps, each failure said as what is and is not erased by then."""
    forgotten = forget_personal_data(app, [conversation_id])  # failing: nothing erased yet
    # Said even if a later step fails: the handoff requests are gone by now.
    notice = Erasure(0, forgotten).delivered_notice()
    if notice:
        print(notice)
    try:
        erasure = Erasure(_delete_conversation(tracker_url, conversation_id), forgotten)
    except SQLAlchemyError as error:
        print(
            f"error: the tracker database failed ({type(error).__name__}); the handoff "
            "requests and saved advice are erased, the conversation is not: run the "
            "command again",
            file=sys.stderr,
        )
        return EXIT_FAILED
    try:
        forget_conversations(app, [conversation_id])
    except SQLAlchemyError as error:
        print(
            f"error: the conversation was erased, but the console's index failed "
            f"({type(error).__name__}); run the command again",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if not erasure.anything:
        print("no such conversation")
        return 0
    print(
        f"erased 1 conversation ({erasure.events} event(s), "
        f"{forgotten.handoff_requests} handoff request(s), "
        f"{forgotten.saved_advice} saved advice link(s))"
    )
    return 0


def _purge_command(tracker_url: str, days: int, audit_days: int) -> int:
    if audit_days < days:
        # Allowed, but the audit log then cannot answer "who looked at my data" for the
        # whole time the data was kept.
        print(
            f"warning: the audit log is kept {audit_days} days, less than the {days} days "
            "of the data it is about (ZIJWIJZER_AUDIT_RETENTION_DAYS)",
            file=sys.stderr,
        )
    try:
        purged, events_deleted = _purge_events(tracker_url, days, None)
    except SQLAlchemyError as error:
        print(f"error: the tracker database failed ({type(error).__name__})", file=sys.stderr)
        return EXIT_FAILED
    try:
        app = _after_purge(purged, None, days, audit_days, None)
    except SQLAlchemyError as error:
        print(
            f"error: the conversations were deleted, but the app database failed "
            f"({type(error).__name__}); run the command again",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(
        f"purged {len(purged)} conversation(s) ({events_deleted} event(s)) older than {days} days"
    )
    print(
        f"purged {app.handoff_requests} handoff request(s) ({app.outbox_messages} outbox "
        f"message(s)), {app.saved_advice} expired saved advice link(s), "
        f"{app.audit_entries} audit log row(s) older than {audit_days} days"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
