"""The web app while its database is down: the widget and the demo page are served, ready for
traffic but not for database traffic, and the pages that need the database say so (503)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bot.app.db import Database
from bot.app.web.app import create_app
from bot.common.settings import load_settings

# Nothing listens on port 1: every connection is refused at once.
DOWN = "postgresql+psycopg2://zijwijzer@127.0.0.1:1/zijwijzer"


@pytest.fixture
def client() -> Iterator[TestClient]:
    database = Database(DOWN)
    with TestClient(create_app(load_settings(), database)) as running:
        yield running
    database.dispose()


def test_static_parts_are_served_and_readiness_is_split(client: TestClient) -> None:
    for path in ("/", "/?lang=en", "/static/widget.js", "/static/widget.css", "/static/demo.css"):
        assert client.get(path).status_code == 200, path
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready"}
    answer = client.get("/ready/database")
    assert (answer.status_code, answer.json()) == (503, {"status": "database unavailable"})


def test_a_page_that_needs_the_database_says_it_is_unavailable(client: TestClient) -> None:
    answer = client.get("/advies/" + "A" * 43)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "30"
    assert "even niet beschikbaar" in answer.text
    assert "127.0.0.1:1" not in answer.text  # nothing of the error or the address
