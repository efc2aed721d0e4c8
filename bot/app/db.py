"""The application's own tables (handoffs and their outbox, saved advice, staff accounts,
audit log, review notes) in the database of ZIJWIJZER_DATABASE_URL, next to the catalogue.

Every module that owns tables declares them on `Base`; `Database.create_all()` makes what is
missing. Nothing connects at import time: the engine is made on first use.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator

from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from catalogue.store import make_engine


class Base(DeclarativeBase):
    pass


def utcnow() -> dt.datetime:
    """The tables' timestamps: aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class LazyEngine:
    """One engine on `url`, made on first use (nothing connects at import), until disposed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = make_engine(self.url)
                self._made(self._engine)
            return self._engine

    def _made(self, engine: Engine) -> None:
        """What a subclass makes with a new engine (under the lock)."""

    def dispose(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
            self._engine = None
            self._disposed()

    def _disposed(self) -> None:
        """What a subclass drops with the engine (under the lock)."""


class Database(LazyEngine):
    """One engine per process and URL, made lazily; one session per unit of work."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._sessions: sessionmaker[Session] | None = None

    def _made(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def _disposed(self) -> None:
        self._sessions = None

    def create_all(self) -> None:
        """Makes the missing tables. The action server, the worker and the web app may start at
        once and race to make the same tables; a lost race means that table is there now. The
        next pass can lose the race for another table, but every lost race is a table made, so
        one pass per table ends it."""
        attempts = len(Base.metadata.tables) + 1
        for attempt in range(attempts):
            try:
                Base.metadata.create_all(self.engine)
                return
            except DatabaseError:
                if attempt == attempts - 1:
                    raise

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits at the end of the block, or rolls back."""
        self.engine  # noqa: B018 - makes the sessionmaker
        assert self._sessions is not None
        with self._sessions.begin() as session:
            yield session
