"""The app database of the bot's tests: SQLite (a file in tmp_path) and, when
ZIJWIJZER_TEST_POSTGRES_URL is set, PostgreSQL in a schema of its own, dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.db import Database
from tests.database import app_database
from tests.postgres import postgres_schema


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    with app_database(f"sqlite:///{tmp_path / 'app.db'}") as database:
        yield database


@pytest.fixture
def postgres_database() -> Iterator[Database]:
    """A Database whose connections only see a schema of their own, dropped afterwards."""
    with postgres_schema() as url, app_database(url) as database:
        yield database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Database:
    found: Database = request.getfixturevalue(f"{request.param}_database")
    return found
