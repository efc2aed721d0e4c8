"""bot.app.db.Database: several processes starting at once all end up with every table."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, inspect
from sqlalchemy.exc import OperationalError

import bot.app.handoff.models  # noqa: F401 - declares tables on Base
from bot.app.db import Base, Database


def app_tables(database: Database) -> set[str]:
    return set(inspect(database.engine).get_table_names())


def test_a_lost_race_for_a_table_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'app.db'}")
    real = MetaData.create_all
    lost = 0

    def racing(self: MetaData, bind: Any, **kwargs: Any) -> None:
        # Another process made a table just before this one did, twice in a row.
        nonlocal lost
        if lost < 2:
            lost += 1
            raise OperationalError("CREATE TABLE", {}, Exception("table already exists"))
        real(self, bind, **kwargs)

    monkeypatch.setattr(MetaData, "create_all", racing)
    database.create_all()

    assert lost == 2
    assert set(Base.metadata.tables) <= app_tables(database)
    database.dispose()


def test_a_database_that_keeps_failing_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'app.db'}")
    calls = 0

    def failing(self: MetaData, bind: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        raise OperationalError("CREATE TABLE", {}, Exception("disk I/O error"))

    monkeypatch.setattr(MetaData, "create_all", failing)
    with pytest.raises(OperationalError):
        database.create_all()
    assert calls == len(Base.metadata.tables) + 1
    database.dispose()


def test_processes_starting_at_once_all_get_every_table(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    for round_number in range(20):
        url = f"sqlite:///{tmp_path / f'app{round_number}.db'}"
        databases = [Database(url) for _ in range(4)]
        start = threading.Barrier(len(databases))

        def make(database: Database, start: threading.Barrier) -> None:
            start.wait()
            try:
                database.create_all()
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=make, args=(d, start)) for d in databases]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert set(Base.metadata.tables) <= app_tables(databases[0])
        for database in databases:
            database.dispose()
    assert errors == []
