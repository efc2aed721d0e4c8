"""A web app with the console on temporary SQLite databases: a seeded tracker store and an
app database with one admin and one reviewer."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from bot.app.console import auth, index
from bot.app.db import Database
from bot.app.web.app import create_app
from bot.common.settings import Settings, load_settings
from tests.console.seed import Plan, seed_tracker

PASSWORD = "correct horse battery"
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def plans() -> list[Plan]:
    """A small, known set: each filter has something to find and something to leave out."""
    day = 86400.0
    base = NOW.timestamp()
    return [
        Plan("alpha", base - 5 * day, "advice", "widget", "nl", 0, opener="hoi", old_advice=True),
        Plan("bravo", base - 4 * day, "handoff", "telegram", "en", 1, opener="hello there"),
        Plan(
            "charlie",
            base - 3 * day,
            "abandoned",
            "rest",
            "nl",
            3,
            stop_at="employer",
            opener="ik werk in de thuiszorg",
            low_confidence=0.25,
        ),
        Plan(
            "delta",
            base - 2 * day,
            "abandoned",
            "widget",
            "nl",
            0,
            stop_at="education",
            opener="<script>alert('x')</script> 100% zeker_niet",
        ),
        Plan("echo", base - 1 * day, "advice", "slack", "nl", 2, opener="wat kost bbl"),
    ]


@dataclass
class Console:
    client: TestClient
    settings: Settings
    database: Database
    tracker_url: str
    folder: Path

    def login(self, username: str, password: str = PASSWORD) -> TestClient:
        page = self.client.get("/console/login")
        token = csrf_from(page.text)
        self.client.post(
            "/console/login",
            data={"username": username, "password": password, "csrf_token": token},
            follow_redirects=False,
        )
        return self.client

    def csrf(self, path: str = "/console/conversations") -> str:
        return csrf_from(self.client.get(path).text)

    def pk(self, conversation_id: str) -> int:
        from sqlalchemy import select

        from bot.app.console.models import ConversationSummary
        from bot.app.console.tracker import TrackerReader

        index.refresh_index(self.database, TrackerReader(self.tracker_url))
        with self.database.session() as session:
            found = session.scalar(
                select(ConversationSummary.id).where(
                    ConversationSummary.conversation_id == conversation_id
                )
            )
        assert found is not None
        return found


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def make_console(folder: Path) -> Console:
    app_url = f"sqlite:///{folder / 'app.db'}"
    tracker_url = f"sqlite:///{folder / 'trackers.db'}"
    engine = create_engine(tracker_url)
    seed_tracker(engine, plans())
    engine.dispose()
    settings = dataclasses.replace(
        load_settings(),
        database_url=app_url,
        tracker_database_url=tracker_url,
        secret_key="test-secret-key",
        public_url="http://testserver",
    )
    database = Database(app_url)
    index.ensure_schema(database)
    with database.session() as session:
        auth.create_user(session, "anna", PASSWORD, "admin")
        auth.create_user(session, "rob", PASSWORD, "reviewer")
    # https: the console's cookies are Secure, and httpx sends those over https only.
    client = TestClient(create_app(settings, database), base_url="https://testserver")
    return Console(client, settings, database, tracker_url, folder)


@pytest.fixture(autouse=True)
def quick_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with small costs: the same code path, a fraction of the time on 2 cores."""
    monkeypatch.setattr(
        auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    auth._dummy_hash.cache_clear()


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    made = make_console(tmp_path)
    with made.client:
        yield made
    made.database.dispose()
