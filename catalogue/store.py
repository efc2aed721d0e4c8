"""Writing a catalogue to the database in one transaction, and reading it back.

A load replaces the whole catalogue inside a single transaction: readers see the old catalogue
until the commit and the new one after it, and a failure leaves the old one untouched.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, delete, event, insert, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from catalogue import models as m
from catalogue.compiled import Catalogue, compile_catalogue
from catalogue.errors import CatalogueNotLoaded
from catalogue.schema import CatalogueData, Text


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
    """Empty catalogue tables (a load creates them by itself)."""
    with engine.begin() as connection:
        _ensure_schema(connection)


def _schema_matches(connection: Connection) -> bool:
    """Whether every catalogue table exists with exactly the columns the models have."""
    inspector = inspect(connection)
    for table in m.Base.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            return False
        found = {column["name"] for column in inspector.get_columns(table.name)}
        if found != {column.name for column in table.columns}:
            return False
    return True


def _ensure_schema(connection: Connection) -> None:
    """Creates the tables, or rebuilds them when an older version left another shape.

    The catalogue is replaced whole on every load, so rebuilding loses nothing; it happens in
    the load's own transaction, so a failed load leaves the old tables and data in place.
    """
    if _schema_matches(connection):
        return
    m.Base.metadata.drop_all(connection)
    m.Base.metadata.create_all(connection)


# Children before parents, so deletes never break a foreign key (derived from the models).
_DELETE_ORDER = tuple(reversed(m.Base.metadata.sorted_tables))


def _text(text: Text) -> dict[str, str]:
    return {"nl": text.nl, "en": text.en}


def _links(owner: str, pairs: list[tuple[str, list[str]]], target: str) -> list[dict[str, Any]]:
    return [
        {f"{owner}_id": owner_id, "position": position, target: ref}
        for owner_id, refs in pairs
        for position, ref in enumerate(refs)
    ]


def _meta_value(engine: Engine, column: Any) -> Any:
    """A column of the loaded catalogue's meta row; None when nothing was ever loaded.

    Only a missing table reads as "nothing loaded": a database that cannot be reached raises.
    """
    with Session(engine) as session:
        if not inspect(session.connection()).has_table("catalogue_meta"):
            return None
        return session.scalar(select(column).where(m.CatalogueMeta.key == "current"))


def current_checksum(engine: Engine) -> str | None:
    value = _meta_value(engine, m.CatalogueMeta.checksum)
    return None if value is None else str(value)


def current_version(engine: Engine) -> str | None:
    value = _meta_value(engine, m.CatalogueMeta.version)
    return None if value is None else str(value)


def save(engine: Engine, catalogue: Catalogue, origin: str) -> None:
    """Replaces the stored catalogue with `catalogue`, all or nothing."""
    data = catalogue.data
    with Session(engine) as session, session.begin():
        _ensure_schema(session.connection())
        for table in _DELETE_ORDER:
            session.execute(delete(table))
        session.add(
            m.CatalogueMeta(
                key="current",
                version=data.version,
                title=data.title,
                checksum=catalogue.checksum,
                origin=origin,
                loaded_at=dt.datetime.now(dt.UTC),
                rule_defaults=data.rule_defaults.model_dump(mode="json"),
            )
        )
        session.add_all(
            m.Source(position=i, **s.model_dump(mode="python")) for i, s in enumerate(data.sources)
        )
        session.flush()
        for i, q in enumerate(data.qualifications):
            session.add(
                m.Qualification(
                    id=q.id,
                    position=i,
                    title=q.title,
                    title_en=q.title_en,
                    synonyms=list(q.synonyms),
                    level=q.level,
                    kind=q.kind,
                    crebo=q.crebo,
                    sector=q.sector,
                    note=q.note,
                    replaced_by=None,
                    status=q.status,
                    checked=q.checked,
                )
            )
        session.flush()
        # Set after all rows exist, since a qualification may point at a later one.
        for q in data.qualifications:
            if q.replaced_by:
                session.get_one(m.Qualification, q.id).replaced_by = q.replaced_by
        session.add_all(
            m.Route(
                id=r.id,
                position=i,
                title=r.title,
                title_en=r.title_en,
                synonyms=list(r.synonyms),
                explain=_text(r.explain),
                cost=_text(r.cost),
                status=r.status,
                checked=r.checked,
            )
            for i, r in enumerate(data.routes)
        )
        session.flush()
        for i, u in enumerate(data.units):
            session.add(
                m.Unit(
                    id=u.id,
                    position=i,
                    title=u.title,
                    title_en=u.title_en,
                    synonyms=list(u.synonyms),
                    qualification_id=u.qualification,
                    level=u.level,
                    certificate=u.certificate,
                    audience=u.audience,
                    sector=u.sector,
                    enables=_text(u.enables),
                    duration=None if u.duration is None else u.duration.model_dump(mode="json"),
                    price=None if u.price is None else u.price.model_dump(mode="json"),
                    note=u.note,
                    status=u.status,
                    checked=u.checked,
                    workprocesses=[
                        m.Workprocess(position=j, code=w.code, title=w.title)
                        for j, w in enumerate(u.werkprocessen)
                    ],
                )
            )
        session.add_all(
            m.Funding(
                id=f.id,
                position=i,
                title=f.title,
                title_en=f.title_en,
                synonyms=list(f.synonyms),
                applicant=f.applicant,
                amount=_text(f.amount),
                conditions=_text(f.conditions),
                valid_from=f.valid_from,
                valid_until=f.valid_until,
                note=f.note,
                status=f.status,
                checked=f.checked,
            )
            for i, f in enumerate(data.funding)
        )
        session.add_all(
            m.Rule(
                id=r.id,
                position=i,
                applies_to=list(r.applies_to),
                expression=r.when,
                outcome=r.outcome,
                weight=r.weight,
                reason=_text(r.reason),
            )
            for i, r in enumerate(data.rules)
        )
        session.add_all(
            m.Notice(
                id=n.id,
                position=i,
                date=n.date,
                severity=n.severity,
                status=n.status,
                about=list(n.about),
                expression=n.when,
                text=_text(n.text),
                history=[
                    m.NoticeHistory(position=j, date=h.date, text=_text(h.text))
                    for j, h in enumerate(n.history)
                ],
            )
            for i, n in enumerate(data.notices)
        )
        session.add_all(
            m.GlossaryTerm(
                id=t.id,
                position=i,
                title=t.title,
                title_en=t.title_en,
                synonyms=list(t.synonyms),
                text=_text(t.text),
                status=t.status,
                checked=t.checked,
            )
            for i, t in enumerate(data.glossary)
        )
        session.add_all(
            m.Region(name=name, province=province) for name, province in data.regions.items()
        )
        session.flush()
        link_rows: list[tuple[Any, list[dict[str, Any]]]] = [
            (
                m.qualification_source,
                _links(
                    "qualification", [(q.id, q.sources) for q in data.qualifications], "source_id"
                ),
            ),
            (m.unit_source, _links("unit", [(u.id, u.sources) for u in data.units], "source_id")),
            (m.unit_route, _links("unit", [(u.id, u.routes) for u in data.units], "route_id")),
            (
                m.route_source,
                _links("route", [(r.id, r.sources) for r in data.routes], "source_id"),
            ),
            (
                m.funding_source,
                _links("funding", [(f.id, f.sources) for f in data.funding], "source_id"),
            ),
            (
                m.funding_route,
                _links("funding", [(f.id, f.routes) for f in data.funding], "route_id"),
            ),
            (m.rule_source, _links("rule", [(r.id, r.sources) for r in data.rules], "source_id")),
            (
                m.notice_source,
                _links("notice", [(n.id, n.sources) for n in data.notices], "source_id"),
            ),
            (
                m.glossary_term_source,
                _links("glossary_term", [(t.id, t.sources) for t in data.glossary], "source_id"),
            ),
            (
                m.notice_history_source,
                [
                    {"notice_id": n.id, "history_position": j, "position": k, "source_id": ref}
                    for n in data.notices
                    for j, h in enumerate(n.history)
                    for k, ref in enumerate(h.sources)
                ],
            ),
        ]
        for table, rows in link_rows:
            if rows:
                session.execute(insert(table), rows)


def _grouped(session: Session, table: Any, owner: str, target: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    owner_column = table.c[f"{owner}_id"]
    for row in session.execute(
        select(owner_column, table.c[target]).order_by(owner_column, table.c.position)
    ):
        out[row[0]].append(row[1])
    return out


def read(engine: Engine) -> Catalogue:
    """The stored catalogue, checked and compiled the same way as one read from files."""
    with Session(engine) as session:
        meta = None
        if inspect(session.connection()).has_table("catalogue_meta"):
            meta = session.get(m.CatalogueMeta, "current")
        if meta is None:
            raise CatalogueNotLoaded("no catalogue in the database: run `python -m catalogue load`")
        sources_of = {
            "qualification": _grouped(
                session, m.qualification_source, "qualification", "source_id"
            ),
            "unit": _grouped(session, m.unit_source, "unit", "source_id"),
            "route": _grouped(session, m.route_source, "route", "source_id"),
            "funding": _grouped(session, m.funding_source, "funding", "source_id"),
            "rule": _grouped(session, m.rule_source, "rule", "source_id"),
            "notice": _grouped(session, m.notice_source, "notice", "source_id"),
            "glossary_term": _grouped(
                session, m.glossary_term_source, "glossary_term", "source_id"
            ),
        }
        unit_routes = _grouped(session, m.unit_route, "unit", "route_id")
        funding_routes = _grouped(session, m.funding_route, "funding", "route_id")
        history_sources: dict[tuple[str, int], list[str]] = defaultdict(list)
        t = m.notice_history_source
        for row in session.execute(
            select(t).order_by(t.c.notice_id, t.c.history_position, t.c.position)
        ):
            history_sources[(row.notice_id, row.history_position)].append(row.source_id)

        def rows(model: Any) -> list[Any]:
            return list(session.scalars(select(model).order_by(model.position)))

        raw: dict[str, Any] = {
            "version": meta.version,
            "title": meta.title,
            "rule_defaults": meta.rule_defaults,
            "sources": [
                {
                    k: getattr(s, k)
                    for k in (
                        "id",
                        "title",
                        "publisher",
                        "file",
                        "url",
                        "published",
                        "checked",
                        "status",
                    )
                }
                for s in rows(m.Source)
            ],
            "qualifications": [
                {
                    "id": q.id,
                    "title": q.title,
                    "title_en": q.title_en,
                    "synonyms": q.synonyms,
                    "level": q.level,
                    "kind": q.kind,
                    "crebo": q.crebo,
                    "sector": q.sector,
                    "note": q.note,
                    "replaced_by": q.replaced_by,
                    "status": q.status,
                    "checked": q.checked,
                    "sources": sources_of["qualification"][q.id],
                }
                for q in rows(m.Qualification)
            ],
            "routes": [
                {
                    "id": r.id,
                    "title": r.title,
                    "title_en": r.title_en,
                    "synonyms": r.synonyms,
                    "explain": r.explain,
                    "cost": r.cost,
                    "status": r.status,
                    "checked": r.checked,
                    "sources": sources_of["route"][r.id],
                }
                for r in rows(m.Route)
            ],
            "units": [
                {
                    "id": u.id,
                    "title": u.title,
                    "title_en": u.title_en,
                    "synonyms": u.synonyms,
                    "qualification": u.qualification_id,
                    "level": u.level,
                    "certificate": u.certificate,
                    "audience": u.audience,
                    "sector": u.sector,
                    "routes": unit_routes[u.id],
                    "enables": u.enables,
                    "werkprocessen": [{"code": w.code, "title": w.title} for w in u.workprocesses],
                    "duration": u.duration,
                    "price": u.price,
                    "note": u.note,
                    "status": u.status,
                    "checked": u.checked,
                    "sources": sources_of["unit"][u.id],
                }
                for u in rows(m.Unit)
            ],
            "funding": [
                {
                    "id": f.id,
                    "title": f.title,
                    "title_en": f.title_en,
                    "synonyms": f.synonyms,
                    "applicant": f.applicant,
                    "routes": funding_routes[f.id],
                    "amount": f.amount,
                    "conditions": f.conditions,
                    "valid_from": f.valid_from,
                    "valid_until": f.valid_until,
                    "note": f.note,
                    "status": f.status,
                    "checked": f.checked,
                    "sources": sources_of["funding"][f.id],
                }
                for f in rows(m.Funding)
            ],
            "rules": [
                {
                    "id": r.id,
                    "applies_to": r.applies_to,
                    "when": r.expression,
                    "outcome": r.outcome,
                    "weight": r.weight,
                    "reason": r.reason,
                    "sources": sources_of["rule"][r.id],
                }
                for r in rows(m.Rule)
            ],
            "notices": [
                {
                    "id": n.id,
                    "date": n.date,
                    "severity": n.severity,
                    "status": n.status,
                    "about": n.about,
                    "when": n.expression,
                    "text": n.text,
                    "sources": sources_of["notice"][n.id],
                    "history": [
                        {
                            "date": h.date,
                            "text": h.text,
                            "sources": history_sources[(n.id, h.position)],
                        }
                        for h in n.history
                    ],
                }
                for n in rows(m.Notice)
            ],
            "glossary": [
                {
                    "id": t.id,
                    "title": t.title,
                    "title_en": t.title_en,
                    "synonyms": t.synonyms,
                    "text": t.text,
                    "status": t.status,
                    "checked": t.checked,
                    "sources": sources_of["glossary_term"][t.id],
                }
                for t in rows(m.GlossaryTerm)
            ],
            "regions": {
                r.name: r.province
                for r in session.scalars(select(m.Region).order_by(m.Region.name))
            },
        }
        checksum = meta.checksum
    return compile_catalogue(CatalogueData.model_validate(raw), checksum)
