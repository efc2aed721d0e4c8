"""The conversation index and its full-text search on PostgreSQL (tsvector + GIN), in a
schema of its own. Skipped, saying why, when ZIJWIJZER_TEST_POSTGRES_URL is not set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.app.console import index
from bot.app.console.models import ConversationSummary, ConversationTag
from bot.app.console.tracker import TrackerReader
from bot.app.db import Database
from tests.console.conftest import plans
from tests.console.seed import seed_tracker
from tests.postgres import postgres_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def scoped_url() -> Iterator[str]:
    """A URL whose connections only see a fresh schema, dropped afterwards."""
    with postgres_schema() as url:
        yield url


@pytest.fixture
def indexed(scoped_url: str) -> Iterator[Database]:
    # Tracker store and app tables in the same schema: the tables do not collide.
    tracker = create_engine(scoped_url, poolclass=NullPool)
    seed_tracker(tracker, plans())
    tracker.dispose()
    database = Database(scoped_url)
    index.ensure_schema(database)
    reader = TrackerReader(scoped_url)
    index.refresh_index(database, reader)
    reader.dispose()
    yield database
    database.dispose()


def _names(database: Database, filters: index.Filters) -> set[str]:
    with database.session() as session:
        rows, _ = index.list_page(session, filters)
        return {row.conversation_id for row in rows}


def test_gin_index_exists(indexed: Database) -> None:
    with indexed.engine.connect() as connection:
        found = connection.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_console_conv_fts'")
        ).scalar()
    assert found is not None and "gin" in found.lower() and "to_tsvector" in found


def test_filters_and_search_on_postgres(indexed: Database) -> None:
    F = index.Filters
    assert _names(indexed, F()) == {"alpha", "bravo", "charlie", "delta", "echo"}
    assert _names(indexed, F(channel="widget")) == {"alpha", "delta"}
    assert _names(indexed, F(outcome="abandoned", min_fallbacks=1)) == {"charlie"}
    assert _names(indexed, F(confidence_below=0.3)) == {"charlie"}
    assert _names(indexed, F(q="thuiszorg")) == {"charlie"}
    assert _names(indexed, F(q="thuis")) == {"charlie"}
    assert _names(indexed, F(q="kost bbl")) == {"echo"}
    assert _names(indexed, F(q="100%")) == {"delta"}
    with indexed.session() as session:
        pk = session.query(ConversationSummary.id).filter_by(conversation_id="echo").scalar()
        session.add(ConversationTag(conversation_pk=pk, tag="klacht"))
    assert _names(indexed, F(tag="klacht")) == {"echo"}


@pytest.mark.parametrize("hostile", ["' OR 1=1 --", "%", "_", "'", '"', "\\", "a:* | b", "!x & y"])
def test_hostile_search_on_postgres(indexed: Database, hostile: str) -> None:
    found = _names(indexed, index.Filters(q=hostile))
    words = index.search_words(hostile)
    if not words:
        assert found == set()
    for name in found:
        with indexed.session() as session:
            body = (
                session.query(ConversationSummary.search_text)
                .filter_by(conversation_id=name)
                .scalar()
            )
        assert all(word in body for word in words)
    assert _names(indexed, index.Filters(channel=hostile, tag=hostile)) == set()


def test_forget_on_postgres(indexed: Database) -> None:
    index.forget_conversations(indexed, ["charlie"])
    assert _names(indexed, index.Filters(q="thuiszorg")) == set()
    assert "charlie" not in _names(indexed, index.Filters())
