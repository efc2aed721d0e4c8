"""Staff console list pages at 100,000 conversations.

Seeds the console's index with 100,000 conversations in a temporary SQLite database (and in
a temporary schema of PostgreSQL when ZIJWIJZER_BENCH_POSTGRES_URL or
ZIJWIJZER_TEST_POSTGRES_URL is set), then times whole list pages through the web app
(login cookie, index refresh check, query, template): the first page, a deep page, each
filter and full-text searches, and prints p50/p95 per page. The goal is under 300 ms.

The first 2,000 conversations go through the real path (Rasa-shaped events in a tracker
store, folded in by the indexer, whose throughput is printed); the other 98,000 summaries
are bulk-inserted, made from the same generated conversations.

Run: make bench-console  (or .venv/bin/python bench/console.py [--conversations N])
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, text
from sqlalchemy.pool import NullPool

from bot.app.console import auth, index
from bot.app.console.models import ConversationSummary, ConversationTag
from bot.app.console.tracker import TrackerReader
from bot.app.db import Database
from bot.app.web.app import create_app
from bot.common.settings import load_settings
from tests.console.seed import Plan, conversation, random_plan, seed_tracker
from tests.postgres import fresh_schema

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
REAL_PATH = 2_000
TEMPLATES = 3_000
ROUNDS = 20
PASSWORD = "bench password 123"  # noqa: S105 - a throwaway account in a temp database
TAGS = ("slechte nlu", "nieuw idee", "klacht", "goed voorbeeld")


def _summary_row(plan: Plan, events: list[dict[str, Any]]) -> dict[str, Any]:
    summary = index._new_summary(plan.sender_id, NOW)
    summary.started_at = summary.last_at = None  # type: ignore[assignment]
    intents: Counter[tuple[dt.date, str]] = Counter()
    for event in events:
        index._apply(summary, event, intents)
    return {
        column.name: getattr(summary, column.key)
        for column in ConversationSummary.__table__.columns
        if column.name != "id"
    }


def seed(database: Database, tracker_url: str, count: int) -> dict[str, float]:
    """Fill the index with `count` conversations; returns timings of the steps."""
    rng = random.Random(20261123)
    plans = [random_plan(rng, number, NOW, days=365) for number in range(count)]
    timings: dict[str, float] = {}
    index.ensure_schema(database)

    started = time.perf_counter()
    tracker_engine = create_engine(tracker_url, poolclass=NullPool)
    events_written = seed_tracker(tracker_engine, plans[:REAL_PATH])
    tracker_engine.dispose()
    timings["tracker seed s"] = time.perf_counter() - started
    started = time.perf_counter()
    index.refresh_index(database, TrackerReader(tracker_url))
    indexing = time.perf_counter() - started
    timings["indexer events/s"] = events_written / indexing
    timings["indexer conversations/s"] = REAL_PATH / indexing

    # The rest: summaries computed from a pool of generated conversations, bulk-inserted.
    started = time.perf_counter()
    # Each template conversation is summarised once; copies get their own id, start and
    # channel (the generator's other choices, language included, come with the template).
    templates = [
        (plan, _summary_row(plan, conversation(plan)))
        for plan in plans[REAL_PATH : REAL_PATH + TEMPLATES]
    ]
    rows: list[dict[str, Any]] = []
    for number, plan in enumerate(plans[REAL_PATH:]):
        template_plan, template = templates[number % len(templates)]
        shift = dt.timedelta(seconds=plan.start - template_plan.start)
        row = dict(template)
        row["conversation_id"] = plan.sender_id
        row["started_at"] = template["started_at"] + shift
        row["last_at"] = template["last_at"] + shift
        row["channel"], row["needs_review"] = plan.channel, rng.random() < 0.02
        rows.append(row)
    with database.engine.begin() as connection:
        for start in range(0, len(rows), 10_000):
            connection.execute(insert(ConversationSummary), rows[start : start + 10_000])
        if connection.dialect.name == "sqlite":
            connection.execute(
                text(
                    "INSERT INTO console_conversations_fts (rowid, search_text) "
                    "SELECT id, search_text FROM console_conversations WHERE id > :low"
                ),
                {"low": REAL_PATH},
            )
        ids = [row[0] for row in connection.execute(text("SELECT id FROM console_conversations"))]
        tagged = [
            {"conversation_pk": pk, "tag": rng.choice(TAGS)}
            for pk in rng.sample(ids, len(ids) // 20)
        ]
        connection.execute(insert(ConversationTag), tagged)
        connection.execute(text("ANALYZE"))
    timings["bulk seed s"] = time.perf_counter() - started
    return timings


QUERIES: dict[str, str] = {
    "first page": "",
    "deep page (row 50,000, keyset)": "DEEP",
    "channel=telegram": "channel=telegram",
    "language=en": "language=en",
    "outcome=handoff": "outcome=handoff",
    "min_fallbacks=3": "min_fallbacks=3",
    "confidence_below=0.3": "confidence_below=0.3",
    "tag=klacht": "tag=klacht",
    "needs_review": "needs_review=1",
    "date range (one week)": "date_from=2026-05-01&date_to=2026-05-07",
    "all filters": (
        "channel=widget&language=nl&outcome=abandoned&min_fallbacks=1"
        "&confidence_below=0.5&date_from=2026-01-01&date_to=2026-11-23"
    ),
    "search common word (thuiszorg)": "q=thuiszorg",
    "search two words (kapper ouderenzorg)": "q=kapper+ouderenzorg",
    "search rare word (no hits)": "q=zeldzaamwoord",
    "search + outcome": "q=opleiding&outcome=advice",
}


def measure(database: Database, tracker_url: str, label: str, count: int) -> None:
    settings = dataclasses.replace(
        load_settings(),
        database_url=database.url,
        tracker_database_url=tracker_url,
        secret_key=secrets.token_urlsafe(32),
    )
    with database.session() as session:
        auth.create_user(session, f"bench{secrets.token_hex(3)}", PASSWORD, "reviewer")
        user = session.scalars(text("SELECT username FROM console_users")).first()
    with TestClient(create_app(settings, database)) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/login").text)
        assert token
        client.post(
            "/console/login",
            data={"username": user, "password": PASSWORD, "csrf_token": token.group(1)},
        )
        with database.session() as session:
            depth = min(50_000, count // 2)
            rows, _ = index.list_page(session, index.Filters(), limit=depth)
            deep = index.encode_cursor((index.aware(rows[-1].started_at), rows[-1].id))
        print(f"\n{label}: list pages (50 rows), {ROUNDS} rounds after one warm-up")
        print(f"{'page':42} {'p50 ms':>8} {'p95 ms':>8} {'rows':>5}")
        for name, query in QUERIES.items():
            url = "/console/conversations?" + (f"after={deep}" if query == "DEEP" else query)
            response = client.get(url)
            assert response.status_code == 200, (name, response.status_code)
            found = len(re.findall(r'href="/console/conversations/\d+"', response.text))
            times = []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1]
            print(f"{name:42} {statistics.median(times):8.1f} {p95:8.1f} {found:5}")


def run(label: str, app_url: str, tracker_url: str, count: int) -> None:
    database = Database(app_url)
    timings = seed(database, tracker_url, count)
    print(
        f"\n{label}: seeded {count:,} conversations; "
        + ", ".join(f"{key} {value:,.1f}" for key, value in timings.items())
    )
    measure(database, tracker_url, label, count)
    database.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    args = parser.parse_args()
    # A cheaper argon2 for the one bench login: the bench times list pages, not logins.
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with tempfile.TemporaryDirectory() as folder:
        run(
            "SQLite",
            f"sqlite:///{folder}/app.db",
            f"sqlite:///{folder}/trackers.db",
            args.conversations,
        )
    url = (
        os.environ.get("ZIJWIJZER_BENCH_POSTGRES_URL")
        or os.environ.get("ZIJWIJZER_TEST_POSTGRES_URL")
        or ""
    ).strip()
    if not url:
        print("\nPostgreSQL: skipped (set ZIJWIJZER_BENCH_POSTGRES_URL)")
        return 0
    with fresh_schema(url, prefix="zw_bench_") as scoped:
        run("PostgreSQL", scoped, scoped, args.conversations)
    return 0


if __name__ == "__main__":
    sys.exit(main())
