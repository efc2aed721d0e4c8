"""Writing a catalogue to the database in one transaction, and reading it back.

A load replaces the whole catalogue inside a single transaction: readers see the old catalogue
until the commit and the new one after it, and a failure leaves the old one untouched. The
catalogue is stored as its validated JSON document (catalogue/models.py), so a new field in the
schema needs no change here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, event, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.schema import DropTable

from catalogue import models as m
from catalogue.compiled import Catalogue, compile_catalogue
from catalogue.errors import CatalogueInvalid, CatalogueNotLoaded, Problem
from catalogue.schema import CatalogueData


def make_engine(url: str) -> Engine:
    """An engine for the catalogue database; SQLite gets its folder and foreign keys on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def create_schema(engine: Engine) -> None:
    """The empty catalogue table (a load creates it by itself)."""
    with engine.begin() as connection:
        _ensure_schema(connection)


# Tables of releases before 2026-12 (one per kind of item), dropped on the first load after.
_OLDER_TABLES = (
    *(f"{owner}_source" for owner in ("qualification", "unit", "route", "funding", "rule")),
    *("notice_source", "glossary_term_source", "notice_history_source"),
    *("unit_route", "funding_route", "workprocess", "notice_history", "region"),
    *("unit", "funding", "rule", "notice", "glossary_term", "route", "qualification"),
    *("source", "catalogue_meta"),
)


def _ensure_schema(connection: Connection) -> None:
    """Creates the table; the tables of an older release are dropped.

    The catalogue is replaced whole on every load, so dropping them loses nothing; it happens in
    the load's own transaction, so a failed load leaves the old tables and data in place.
    """
    inspector = inspect(connection)
    for name in _OLDER_TABLES:
        if inspector.has_table(name):
            connection.execute(DropTable(Table(name, MetaData())))
    table = m.StoredCatalogue.__table__
    assert isinstance(table, Table)
    if inspector.has_table(table.name):
        found = {column["name"] for column in inspector.get_columns(table.name)}
        if found == {column.name for column in table.columns}:
            return
        table.drop(connection)
    table.create(connection)


def _current(session: Session) -> m.StoredCatalogue | None:
    """The loaded catalogue's row; None when nothing was ever loaded.

    Only a missing table reads as "nothing loaded": a database that cannot be reached raises.
    """
    if not inspect(session.connection()).has_table(m.StoredCatalogue.__tablename__):
        return None
    return session.get(m.StoredCatalogue, "current")


def _meta_value(engine: Engine, column: Any) -> Any:
    with Session(engine) as session:
        if not inspect(session.connection()).has_table(m.StoredCatalogue.__tablename__):
            return None
        return session.scalar(select(column).where(m.StoredCatalogue.key == "current"))


def current_checksum(engine: Engine) -> str | None:
    value = _meta_value(engine, m.StoredCatalogue.checksum)
    return None if value is None else str(value)


def current_version(engine: Engine) -> str | None:
    value = _meta_value(engine, m.StoredCatalogue.version)
    return None if value is None else str(value)


@dataclass(frozen=True)
class LoadedInfo:
    """What is loaded, without reading the whole document."""

    version: str
    checksum: str
    origin: str
    loaded_at: dt.datetime


def loaded_info(engine: Engine) -> LoadedInfo | None:
    with Session(engine) as session:
        if not inspect(session.connection()).has_table(m.StoredCatalogue.__tablename__):
            return None
        row = session.execute(
            select(
                m.StoredCatalogue.version,
                m.StoredCatalogue.checksum,
                m.StoredCatalogue.origin,
                m.StoredCatalogue.loaded_at,
            ).where(m.StoredCatalogue.key == "current")
        ).first()
    if row is None:
        return None
    loaded_at = row.loaded_at if row.loaded_at.tzinfo else row.loaded_at.replace(tzinfo=dt.UTC)
    return LoadedInfo(row.version, row.checksum, row.origin, loaded_at)


def save(engine: Engine, catalogue: Catalogue, origin: str) -> None:
    """Replaces the stored catalogue with `catalogue`, all or nothing."""
    data = catalogue.data
    with Session(engine) as session, session.begin():
        _ensure_schema(session.connection())
        row = session.get(m.StoredCatalogue, "current") or m.StoredCatalogue(key="current")
        row.version = data.version
        row.checksum = catalogue.checksum
        row.origin = origin
        row.loaded_at = dt.datetime.now(dt.UTC)
        row.document = data.model_dump(mode="json")
        session.add(row)


def read(engine: Engine) -> Catalogue:
    """The stored catalogue, checked and compiled the same way as one read from files."""
    with Session(engine) as session:
        row = _current(session)
        if row is None:
            raise CatalogueNotLoaded("no catalogue in the database: run `python -m catalogue load`")
        document, checksum = row.document, row.checksum
    try:
        data = CatalogueData.model_validate(document)
    except ValidationError as error:
        # Someone edited the row by hand, or a release changed the schema without a load.
        raise CatalogueInvalid(
            [Problem("database", "catalogue", str(detail["msg"])) for detail in error.errors()]
        ) from error
    return compile_catalogue(data, checksum)
