"""The conversation index: one summary row per conversation in the app database, kept up
to date from the tracker store's events, with full-text search on SQLite and PostgreSQL.

`refresh_index` reads events past a watermark (events.id) and folds them into the summaries,
so each event is read once. `forget_conversations` is called after purges and erasures.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    DDL,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    column,
    delete,
    event,
    exists,
    false,
    func,
    literal,
    literal_column,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from bot.app.console.models import (
    ConversationSummary,
    ConversationTag,
    IndexState,
    IntentDay,
    IntentMark,
    Note,
)
from bot.app.console.tracker import FALLBACK_RESPONSES, TrackerReader, _load, when
from bot.app.db import Database, utcnow
from bot.app.tracker_events import events

SEARCH_TEXT_LIMIT = 8000
# Events per transaction of the indexer; a list request folds in at most a few batches
# and leaves a larger backlog to `python -m bot.app.console reindex`.
BATCH = 5000
# The responses that say a handoff request was stored (domain.yml).
HANDOFF_RESPONSES = frozenset({"utter_handoff_confirmed", "utter_handoff_confirmed_days"})

_SQLITE_FTS = DDL(  # type: ignore[no-untyped-call]
    "CREATE VIRTUAL TABLE IF NOT EXISTS console_conversations_fts "
    "USING fts5(search_text, tokenize='unicode61 remove_diacritics 2')"
)
_POSTGRES_FTS = DDL(  # type: ignore[no-untyped-call]
    "CREATE INDEX IF NOT EXISTS ix_console_conv_fts ON console_conversations "
    "USING GIN (to_tsvector('simple', search_text))"
)
event.listen(
    ConversationSummary.__table__, "after_create", _SQLITE_FTS.execute_if(dialect="sqlite")
)
event.listen(
    ConversationSummary.__table__, "after_create", _POSTGRES_FTS.execute_if(dialect="postgresql")
)

_FTS_DELETE = text("DELETE FROM console_conversations_fts WHERE rowid = :id")
_FTS_INSERT = text("INSERT INTO console_conversations_fts (rowid, search_text) VALUES (:id, :body)")
_FTS_MATCH = text(
    "SELECT rowid FROM console_conversations_fts WHERE console_conversations_fts MATCH :match"
).columns(column("rowid", Integer))


def ensure_schema(database: Database) -> None:
    """Create the console's tables (and the search index) when missing."""
    database.create_all()
    with database.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(_SQLITE_FTS)
        elif connection.dialect.name == "postgresql":
            connection.execute(_POSTGRES_FTS)


def aware(value: dt.datetime) -> dt.datetime:
    """SQLite gives back naive datetimes; everything here is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# ---- indexing ---------------------------------------------------------------------------


def _apply(
    summary: ConversationSummary, data: dict[str, Any], intents: Counter[tuple[dt.date, str]]
) -> None:
    kind = data.get("event")
    at = when(data.get("timestamp"))
    if at is not None:
        if summary.started_at is None or at < aware(summary.started_at):
            summary.started_at = at
        # Only messages move last_at: that is enough, and saves work on every other event.
        if kind in ("user", "bot") and (summary.last_at is None or at > aware(summary.last_at)):
            summary.last_at = at
    if kind == "user":
        summary.user_messages = (summary.user_messages or 0) + 1
        channel = data.get("input_channel")
        if channel and not summary.channel:
            summary.channel = str(channel)[:32]
        user_text = str(data.get("text") or "")
        intent = (data.get("parse_data") or {}).get("intent") or {}
        name = intent.get("name")
        confidence = intent.get("confidence")
        # A button press ("/inform{...}") is not an NLU prediction.
        if not user_text.startswith("/") and isinstance(confidence, int | float):
            summary.min_confidence = min(summary.min_confidence, float(confidence))
        if name and at is not None:
            intents[(at.date(), str(name)[:64])] += 1
        words = user_text if not user_text.startswith("/") else ""
        addition = " ".join(part for part in (words, str(name or "")) if part).lower()
        if addition and len(summary.search_text) < SEARCH_TEXT_LIMIT:
            combined = f"{summary.search_text} {addition}".strip()
            summary.search_text = combined[:SEARCH_TEXT_LIMIT]
    elif kind == "bot":
        name = (data.get("metadata") or {}).get("utter_action")
        if name in FALLBACK_RESPONSES:
            summary.fallbacks = (summary.fallbacks or 0) + 1
        elif name in HANDOFF_RESPONSES:
            summary.handoff = True
    elif kind == "slot":
        name, value = data.get("name"), data.get("value")
        if name == "language" and isinstance(value, str) and value:
            summary.language = value[:8]
        elif name == "open_question" and isinstance(value, str) and value:
            summary.last_requested_slot = value[:64]
        elif name == "advice_given" and value is True:
            summary.advice_given = True
    else:
        return
    # A handoff needs follow-up even when advice was given as well.
    outcome = "handoff" if summary.handoff else "advice" if summary.advice_given else "abandoned"
    if summary.outcome != outcome:
        summary.outcome = outcome


def _new_summary(conversation_id: str, at: dt.datetime) -> ConversationSummary:
    return ConversationSummary(
        conversation_id=conversation_id,
        channel="",
        language="nl",
        started_at=at,
        last_at=at,
        outcome="abandoned",
        advice_given=False,
        handoff=False,
        fallbacks=0,
        min_confidence=1.0,
        user_messages=0,
        needs_review=False,
        search_text="",
    )


def _has_new_events(database: Database, tracker: TrackerReader) -> bool:
    with database.session() as session:
        state = session.get(IndexState, 1)
        watermark = state.last_event_id if state else 0
    with tracker.engine.connect() as connection:
        newest = connection.execute(select(func.max(events.c.id))).scalar()
    return newest is not None and newest > watermark


def refresh_index(
    database: Database, tracker: TrackerReader, max_batches: int | None = None
) -> int:
    """Fold new tracker events into the summaries; returns how many events were read."""
    total = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        if not _has_new_events(database, tracker):
            break
        read = _index_batch(database, tracker)
        total += read
        batches += 1
        if read == 0:
            break
    return total


def _index_batch(database: Database, tracker: TrackerReader) -> int:
    with database.session() as session:
        # The UPDATE takes the write lock first (row lock on PostgreSQL, database lock on
        # SQLite), so two instances never fold in the same events twice.
        locked = session.execute(
            update(IndexState).where(IndexState.id == 1).values(updated_at=utcnow())
        )
        if locked.rowcount == 0:  # type: ignore[attr-defined]
            session.add(IndexState(id=1, last_event_id=0, updated_at=utcnow()))
            session.flush()
        state = session.get(IndexState, 1, populate_existing=True)
        assert state is not None
        with tracker.engine.connect() as connection:
            rows = connection.execute(
                select(events.c.id, events.c.sender_id, events.c.data)
                .where(events.c.id > state.last_event_id)
                .order_by(events.c.id)
                .limit(BATCH)
            ).all()
        if not rows:
            return 0
        senders = sorted({row.sender_id for row in rows})
        summaries: dict[str, ConversationSummary] = {}
        for start in range(0, len(senders), 500):
            chunk = senders[start : start + 500]
            found = session.scalars(
                select(ConversationSummary).where(ConversationSummary.conversation_id.in_(chunk))
            )
            summaries.update({summary.conversation_id: summary for summary in found})
        intents: Counter[tuple[dt.date, str]] = Counter()
        changed: set[str] = set()
        for row in rows:
            data = _load(row.data)
            summary = summaries.get(row.sender_id)
            if summary is None:
                at = when(data.get("timestamp")) or utcnow()
                summary = _new_summary(row.sender_id, at)
                summary.first_event_id = row.id
                session.add(summary)
                summaries[row.sender_id] = summary
            _apply(summary, data, intents)
            changed.add(row.sender_id)
        session.flush()
        if session.get_bind().dialect.name == "sqlite":
            for sender in changed:
                summary = summaries[sender]
                session.execute(_FTS_DELETE, {"id": summary.id})
                session.execute(_FTS_INSERT, {"id": summary.id, "body": summary.search_text})
        # One query for the counters of the batch's days, not one per (day, intent).
        days = sorted({day for day, _ in intents})
        known = {
            (row.day, row.intent): row
            for row in session.scalars(select(IntentDay).where(IntentDay.day.in_(days)))
        }
        for (day, intent), count in intents.items():
            existing = known.get((day, intent))
            if existing is None:
                session.add(IntentDay(day=day, intent=intent, count=count))
            else:
                existing.count += count
        state.last_event_id = rows[-1].id
        return len(rows)


def analyze(database: Database) -> None:
    """Refresh the planner's statistics (SQLite keeps none until asked)."""
    with database.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            # Sampled statistics: fast at any size, and enough to choose among the indexes.
            connection.execute(text("PRAGMA analysis_limit=1000"))
            connection.execute(text("ANALYZE"))
        elif connection.dialect.name == "postgresql":
            connection.execute(text("ANALYZE console_conversations"))


def reconcile_index(database: Database, tracker: TrackerReader, chunk: int = 1000) -> list[str]:
    """Forget conversations whose events were deleted from the tracker store behind the
    index's back (an erasure asked for in the chat: the engine deletes the rows itself).

    A conversation with no events left is forgotten; one whose first event changed (erased,
    then started afresh) is forgotten and folded in again from its remaining events.
    Returns the conversation ids that were forgotten. Run by `python -m bot.app.console reindex`.
    """
    forgotten: list[str] = []
    refold: list[str] = []
    last = 0
    while True:
        with database.session() as session:
            known = session.execute(
                select(
                    ConversationSummary.id,
                    ConversationSummary.conversation_id,
                    ConversationSummary.first_event_id,
                )
                .where(ConversationSummary.id > last)
                .order_by(ConversationSummary.id)
                .limit(chunk)
            ).all()
        if not known:
            break
        last = known[-1].id
        with tracker.engine.connect() as connection:
            firsts = dict(
                connection.execute(
                    select(events.c.sender_id, func.min(events.c.id))
                    .where(events.c.sender_id.in_([row.conversation_id for row in known]))
                    .group_by(events.c.sender_id)
                )
                .tuples()
                .all()
            )
        for row in known:
            first = firsts.get(row.conversation_id)
            if first is None:
                forgotten.append(row.conversation_id)
            elif row.first_event_id is not None and first != row.first_event_id:
                forgotten.append(row.conversation_id)
                refold.append(row.conversation_id)
    forget_conversations(database, forgotten)
    for conversation_id in refold:
        _refold(database, tracker, conversation_id)
    return forgotten


def _refold(database: Database, tracker: TrackerReader, conversation_id: str) -> None:
    """Summarise one conversation again from all its events (up to the watermark)."""
    with database.session() as session:
        state = session.get(IndexState, 1)
        watermark = state.last_event_id if state else 0
        rows = [
            (event_id, data)
            for event_id, data in tracker.conversation_events(conversation_id)
            if event_id <= watermark
        ]
        if not rows:
            return
        intents: Counter[tuple[dt.date, str]] = Counter()
        summary = _new_summary(conversation_id, when(rows[0][1].get("timestamp")) or utcnow())
        summary.first_event_id = rows[0][0]
        for _, data in rows:
            _apply(summary, data, intents)
        session.add(summary)
        session.flush()
        if session.get_bind().dialect.name == "sqlite":
            session.execute(_FTS_INSERT, {"id": summary.id, "body": summary.search_text})


def forget_conversations(database: Database, conversation_ids: list[str]) -> None:
    """Remove conversations from the index with their tags, notes and intent marks
    (after the tracker store's events were purged or erased)."""
    if not conversation_ids:
        return
    ensure_schema(database)
    with database.session() as session:
        for start in range(0, len(conversation_ids), 500):
            chunk = conversation_ids[start : start + 500]
            ids = list(
                session.scalars(
                    select(ConversationSummary.id).where(
                        ConversationSummary.conversation_id.in_(chunk)
                    )
                )
            )
            if not ids:
                continue
            if session.get_bind().dialect.name == "sqlite":
                for pk in ids:
                    session.execute(_FTS_DELETE, {"id": pk})
            # Children go by ON DELETE CASCADE; delete them explicitly too, so a database
            # without enforced foreign keys forgets them as well.
            for model in _CHILDREN:
                session.execute(delete(model).where(model.conversation_pk.in_(ids)))
            session.execute(delete(ConversationSummary).where(ConversationSummary.id.in_(ids)))


_CHILDREN = (ConversationTag, Note, IntentMark)


# ---- listing and search -----------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")


def search_words(query: str) -> list[str]:
    """The words of a search, as both full-text engines split them (punctuation dropped)."""
    return _WORD.findall(query.lower())[:8]


def search_condition(dialect: str, query: str) -> ColumnElement[bool] | None:
    """Summaries whose text has every word of the query (as a prefix); None: no words."""
    words = search_words(query)
    if not words:
        return None
    if dialect == "sqlite":
        # Each word quoted as an FTS5 string with a prefix star: no query syntax gets through.
        match = " ".join(f'"{word}"*' for word in words)
        matching = _FTS_MATCH.bindparams(bindparam("match", match)).subquery()
        return ConversationSummary.id.in_(select(matching.c.rowid))
    if dialect == "postgresql":
        tsquery = " & ".join(f"{word}:*" for word in words)
        simple: ColumnElement[str] = literal_column("'simple'")
        # list_page orders a PostgreSQL search so that the GIN index, not the started_at
        # index, drives the plan (see there).
        return func.to_tsvector(simple, ConversationSummary.search_text).bool_op("@@")(
            func.to_tsquery(simple, tsquery)
        )
    # Other databases: a plain scan with escaped LIKE patterns.
    return and_(
        *[
            ConversationSummary.search_text.like(f"%{_escape_like(word)}%", escape="\\")
            for word in words
        ]
    )


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class Filters:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    channel: str | None = None
    language: str | None = None
    outcome: str | None = None
    min_fallbacks: int | None = None
    confidence_below: float | None = None
    tag: str | None = None
    needs_review: bool = False
    q: str | None = None


PAGE_SIZE = 50


def list_query(dialect: str, filters: Filters) -> Select[tuple[ConversationSummary]]:
    query = select(ConversationSummary)
    conditions: list[ColumnElement[bool]] = []
    if filters.date_from:
        start = dt.datetime.combine(filters.date_from, dt.time(), dt.UTC)
        conditions.append(ConversationSummary.started_at >= start)
    if filters.date_to:
        end = dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time(), dt.UTC)
        conditions.append(ConversationSummary.started_at < end)
    if filters.channel:
        conditions.append(ConversationSummary.channel == filters.channel)
    if filters.language:
        conditions.append(ConversationSummary.language == filters.language)
    if filters.outcome:
        conditions.append(ConversationSummary.outcome == filters.outcome)
    if filters.min_fallbacks is not None:
        conditions.append(ConversationSummary.fallbacks >= filters.min_fallbacks)
    if filters.confidence_below is not None:
        conditions.append(ConversationSummary.min_confidence < filters.confidence_below)
    if filters.needs_review:
        conditions.append(ConversationSummary.needs_review.is_(True))
    if filters.tag:
        conditions.append(
            exists().where(
                ConversationTag.conversation_pk == ConversationSummary.id,
                ConversationTag.tag == filters.tag,
            )
        )
    if filters.q:
        condition = search_condition(dialect, filters.q)
        # A search without words (only punctuation) matches nothing rather than everything.
        conditions.append(condition if condition is not None else false())
    return query.where(*conditions)


def list_page(
    session: Session,
    filters: Filters,
    after: tuple[dt.datetime, int] | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[Sequence[ConversationSummary], tuple[dt.datetime, int] | None]:
    """One page, newest first, by keyset on (started_at, id): every page costs the same."""
    dialect = session.get_bind().dialect.name
    query = list_query(dialect, filters)
    if after is not None:
        started, pk = after
        # A row-value comparison: both databases read it as one range on the index.
        query = query.where(
            tuple_(ConversationSummary.started_at, ConversationSummary.id)
            < tuple_(
                literal(started, ConversationSummary.started_at.type),
                literal(pk, ConversationSummary.id.type),
            )
        )
    newest_first: Any = ConversationSummary.started_at.desc()
    if dialect == "postgresql" and filters.q and search_words(filters.q):
        # An order the started_at index cannot give: otherwise, with LIMIT, PostgreSQL walks
        # that index and computes to_tsvector row by row hoping for early matches, which takes
        # seconds for a rare word; now the GIN index finds the matches and a top-N sort orders
        # them (about 25 ms for 19,000 matches).
        newest_first = literal_column(
            "console_conversations.started_at + interval '0 seconds'"
        ).desc()
    query = query.order_by(newest_first, ConversationSummary.id.desc())
    rows = session.scalars(query.limit(limit + 1)).all()
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        following = (aware(rows[-1].started_at), rows[-1].id)
    return rows, following


def distinct_values(session: Session, column: Any, limit: int = 100) -> list[str]:
    """The distinct values of an indexed column, by hopping from one to the next through the
    index (a recursive CTE): a few lookups instead of reading every row."""
    first = select(func.min(column).label("value"))
    hops = first.cte("hops", recursive=True)
    following = select(func.min(column)).where(column > hops.c.value).scalar_subquery()
    hops = hops.union_all(select(following).where(hops.c.value.is_not(None)))
    found = session.scalars(select(hops.c.value).where(hops.c.value.is_not(None)).limit(limit))
    return [str(value) for value in found]


def encode_cursor(cursor: tuple[dt.datetime, int]) -> str:
    return f"{aware(cursor[0]).strftime('%Y%m%dT%H%M%S.%f')}~{cursor[1]}"


def decode_cursor(raw: str | None) -> tuple[dt.datetime, int] | None:
    if not raw:
        return None
    try:
        stamp, pk = raw.split("~", 1)
        parsed = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f").replace(tzinfo=dt.UTC)
        return parsed, int(pk)
    except ValueError:
        return None
