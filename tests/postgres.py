"""PostgreSQL for tests: a fresh schema per test, from ZIJWIJZER_TEST_POSTGRES_URL.

`.ci/run` sets the variable; without it the tests that need PostgreSQL are skipped with
POSTGRES_SKIP_REASON. Each test gets a schema of its own (its connections see only that
schema through their search path), dropped afterwards, so tests never share state.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

POSTGRES_URL_ENV = "ZIJWIJZER_TEST_POSTGRES_URL"
POSTGRES_SKIP_REASON = f"{POSTGRES_URL_ENV} not set: PostgreSQL tests skipped"


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """The URL of a fresh schema of its own (dropped afterwards); skips without PostgreSQL."""
    url = os.environ.get(POSTGRES_URL_ENV, "").strip()
    if not url:
        pytest.skip(POSTGRES_SKIP_REASON)
    with fresh_schema(url) as scoped:
        yield scoped


@contextlib.contextmanager
def fresh_schema(url: str, prefix: str = "zw_") -> Iterator[str]:
    """`url` scoped to a new schema (its connections' search path), dropped afterwards; the
    tests' fixtures and the benches (bench/prod.py, bench/long_conversation.py) share it."""
    schema = f"{prefix}{secrets.token_hex(6)}"
    admin = create_engine(url, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
