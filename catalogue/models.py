"""SQLAlchemy models of the catalogue (SQLite by default, PostgreSQL by URL).

Relations the advice relies on are real foreign keys: units to qualifications and routes,
funding to routes, every entry to its sources. Two-language texts are stored as JSON objects
({"nl": ..., "en": ...}); nested facts with their own sources (a unit's price and duration)
are stored as JSON too and checked by the loader before they are written.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


def _source_link(owner: str, owner_key: str) -> Table:
    """An association table between `owner` rows and their sources, keeping the order."""
    return Table(
        f"{owner}_source",
        Base.metadata,
        Column(f"{owner}_id", ForeignKey(owner_key, ondelete="CASCADE"), primary_key=True),
        Column("position", Integer, primary_key=True),
        Column("source_id", ForeignKey("source.id"), nullable=False),
    )


qualification_source = _source_link("qualification", "qualification.id")
unit_source = _source_link("unit", "unit.id")
route_source = _source_link("route", "route.id")
funding_source = _source_link("funding", "funding.id")
rule_source = _source_link("rule", "rule.id")
notice_source = _source_link("notice", "notice.id")
glossary_term_source = _source_link("glossary_term", "glossary_term.id")

unit_route = Table(
    "unit_route",
    Base.metadata,
    Column("unit_id", ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("route_id", ForeignKey("route.id"), nullable=False),
)
funding_route = Table(
    "funding_route",
    Base.metadata,
    Column("funding_id", ForeignKey("funding.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("route_id", ForeignKey("route.id"), nullable=False),
)


class CatalogueMeta(Base):
    """The loaded catalogue's identity; one row. Its checksum tells processes to reload."""

    __tablename__ = "catalogue_meta"
    key: Mapped[str] = mapped_column(String(16), primary_key=True, default="current")
    version: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    rule_defaults: Mapped[dict[str, Any]]


class Source(Base):
    __tablename__ = "source"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(Text)
    publisher: Mapped[str] = mapped_column(Text)
    file: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    published: Mapped[str] = mapped_column(String(32))
    checked: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))


class Qualification(Base):
    __tablename__ = "qualification"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    synonyms: Mapped[list[Any]]
    level: Mapped[int]
    kind: Mapped[str] = mapped_column(String(8))
    crebo: Mapped[str | None] = mapped_column(String(5))
    sector: Mapped[str] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(Text)
    replaced_by: Mapped[str | None] = mapped_column(ForeignKey("qualification.id"))
    status: Mapped[str] = mapped_column(String(16))
    checked: Mapped[dt.date] = mapped_column(Date)
    sources: Mapped[list[Source]] = relationship(
        secondary=qualification_source, order_by=qualification_source.c.position, viewonly=True
    )


class Route(Base):
    __tablename__ = "route"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    synonyms: Mapped[list[Any]]
    explain: Mapped[dict[str, Any]]
    cost: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    checked: Mapped[dt.date] = mapped_column(Date)
    sources: Mapped[list[Source]] = relationship(
        secondary=route_source, order_by=route_source.c.position, viewonly=True
    )


class Unit(Base):
    __tablename__ = "unit"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    synonyms: Mapped[list[Any]]
    qualification_id: Mapped[str] = mapped_column(ForeignKey("qualification.id"))
    level: Mapped[int]
    certificate: Mapped[str] = mapped_column(String(32))
    audience: Mapped[str] = mapped_column(String(16))
    sector: Mapped[str] = mapped_column(String(8))
    enables: Mapped[dict[str, Any]]
    duration: Mapped[dict[str, Any] | None]
    price: Mapped[dict[str, Any] | None]
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    checked: Mapped[dt.date] = mapped_column(Date)
    qualification: Mapped[Qualification] = relationship()
    workprocesses: Mapped[list[Workprocess]] = relationship(
        order_by="Workprocess.position", cascade="all, delete-orphan"
    )
    routes: Mapped[list[Route]] = relationship(
        secondary=unit_route, order_by=unit_route.c.position, viewonly=True
    )
    sources: Mapped[list[Source]] = relationship(
        secondary=unit_source, order_by=unit_source.c.position, viewonly=True
    )


class Workprocess(Base):
    __tablename__ = "unit_workprocess"
    unit_id: Mapped[str] = mapped_column(
        ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text)


class Funding(Base):
    __tablename__ = "funding"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    synonyms: Mapped[list[Any]]
    applicant: Mapped[str] = mapped_column(String(16))
    amount: Mapped[dict[str, Any]]
    conditions: Mapped[dict[str, Any]]
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    checked: Mapped[dt.date] = mapped_column(Date)
    routes: Mapped[list[Route]] = relationship(
        secondary=funding_route, order_by=funding_route.c.position, viewonly=True
    )
    sources: Mapped[list[Source]] = relationship(
        secondary=funding_source, order_by=funding_source.c.position, viewonly=True
    )


class Rule(Base):
    __tablename__ = "rule"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int]
    # Selectors such as "unit:sector=vvt": they name sets of items, resolved when compiled.
    applies_to: Mapped[list[Any]]
    expression: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    weight: Mapped[int]
    reason: Mapped[dict[str, Any]]
    sources: Mapped[list[Source]] = relationship(
        secondary=rule_source, order_by=rule_source.c.position, viewonly=True
    )


class Notice(Base):
    __tablename__ = "notice"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int]
    date: Mapped[dt.date] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    about: Mapped[list[Any]]
    expression: Mapped[str] = mapped_column(Text)
    text: Mapped[dict[str, Any]]
    sources: Mapped[list[Source]] = relationship(
        secondary=notice_source, order_by=notice_source.c.position, viewonly=True
    )
    history: Mapped[list[NoticeHistory]] = relationship(
        order_by="NoticeHistory.position", cascade="all, delete-orphan"
    )


notice_history_source = Table(
    "notice_history_source",
    Base.metadata,
    Column("notice_id", String(64), primary_key=True),
    Column("history_position", Integer, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("source_id", ForeignKey("source.id"), nullable=False),
    ForeignKeyConstraint(
        ["notice_id", "history_position"],
        ["notice_history.notice_id", "notice_history.position"],
        ondelete="CASCADE",
    ),
)


class NoticeHistory(Base):
    """An older statement that a newer notice overrules; kept, with its date and sources."""

    __tablename__ = "notice_history"
    notice_id: Mapped[str] = mapped_column(
        ForeignKey("notice.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date)
    text: Mapped[dict[str, Any]]


class GlossaryTerm(Base):
    __tablename__ = "glossary_term"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    synonyms: Mapped[list[Any]]
    text: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    checked: Mapped[dt.date] = mapped_column(Date)


class Region(Base):
    __tablename__ = "region"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    province: Mapped[str] = mapped_column(String(64))
