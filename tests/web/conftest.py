"""The web app on a temporary SQLite database, for the tests that talk to it in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.app.db import Database
from bot.app.web.app import create_app
from bot.common.settings import load_settings
from tests.database import app_database


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    with app_database(f"sqlite:///{tmp_path / 'app.db'}") as database:
        yield database


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings(), database)) as running:
        yield running
