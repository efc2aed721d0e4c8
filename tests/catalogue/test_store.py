"""The catalogue in the database: an exact round trip, whole replacement, all-or-nothing saves
and real foreign keys. Runs on SQLite and, when configured, on PostgreSQL (`engine` fixture)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from catalogue import models as m
from catalogue import store
from catalogue.advice import advise
from catalogue.compiled import Catalogue
from catalogue.errors import CatalogueNotLoaded


def _advice_json(catalogue: Catalogue, profile: dict[str, Any]) -> str:
    return json.dumps(advise(catalogue, profile), sort_keys=True, ensure_ascii=False)


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def _changed_catalogue(make_files: Callable[..., Any]) -> Catalogue:
    """A second catalogue: newer, one unit fewer, a retitled route, a new place."""
    files = make_files("changed", version="2099.1.1")

    def drop_last_unit(document: Any) -> None:
        removed = document["units"].pop()
        assert removed["id"] == "bachelor_ghz_leereenheden"

    files.edit_yaml("units.yaml", drop_last_unit)
    files.replace_text("routes.yaml", 'title: "Hbo: voltijd, duaal of deeltijd"', 'title: "Hbo"')
    files.replace_text("regions.yaml", "Flevoland: [Almere,", "Flevoland: [Almere, Biddinghuizen,")
    return files.load()


# ---- round trip ---------------------------------------------------------------------------------


def test_read_before_any_save_says_nothing_is_loaded(engine: Engine) -> None:
    assert store.current_checksum(engine) is None
    assert store.current_version(engine) is None
    with pytest.raises(CatalogueNotLoaded, match="python -m catalogue load"):
        store.read(engine)


def test_save_then_read_gives_the_same_catalogue(
    engine: Engine, real_catalogue: Catalogue, sample_profiles: dict[str, dict[str, Any]]
) -> None:
    store.save(engine, real_catalogue, origin="catalogue/data")

    stored = store.read(engine)

    assert stored.data == real_catalogue.data
    assert stored.checksum == real_catalogue.checksum
    assert stored.version_label == real_catalogue.version_label
    assert store.current_checksum(engine) == real_catalogue.checksum
    assert store.current_version(engine) == real_catalogue.version
    for name, profile in sample_profiles.items():
        assert _advice_json(stored, profile) == _advice_json(real_catalogue, profile), name


def test_round_trip_keeps_order_nested_facts_and_history(
    engine: Engine, real_catalogue: Catalogue
) -> None:
    store.save(engine, real_catalogue, origin="catalogue/data")

    stored = store.read(engine).data
    original = real_catalogue.data

    assert [u.id for u in stored.units] == [u.id for u in original.units]
    assert [r.id for r in stored.rules] == [r.id for r in original.rules]
    assert stored.units[0].routes == original.units[0].routes
    assert stored.units[0].price == original.units[0].price
    assert stored.units[0].duration == original.units[0].duration
    evc = next(n for n in stored.notices if n.id == "evc_not_accepted_2026")
    assert [h.date for h in evc.history] == [
        h.date for h in next(n for n in original.notices if n.id == evc.id).history
    ]
    assert stored.rule_defaults == original.rule_defaults
    assert stored.regions == original.regions


def test_a_second_save_replaces_the_first(
    engine: Engine, real_catalogue: Catalogue, make_files: Callable[..., Any]
) -> None:
    changed = _changed_catalogue(make_files)
    store.save(engine, real_catalogue, origin="first")

    store.save(engine, changed, origin="second")

    stored = store.read(engine)
    assert stored.data == changed.data
    assert stored.checksum == changed.checksum
    assert stored.version == "2099.1.1"
    assert "bachelor_ghz_leereenheden" not in stored.units
    assert stored.routes["hbo"].title == "Hbo"
    assert stored.regions["biddinghuizen"] == "Flevoland"
    # Replaced, not added to: no row of the first catalogue is left over.
    assert _count(engine, m.Unit.__table__) == len(changed.data.units)
    assert _count(engine, m.unit_route) == sum(len(u.routes) for u in changed.data.units)
    assert _count(engine, m.CatalogueMeta.__table__) == 1
    with engine.connect() as connection:
        assert connection.scalar(select(m.CatalogueMeta.origin)) == "second"


# ---- a failed save changes nothing --------------------------------------------------------------


def _assert_still(engine: Engine, expected: Catalogue) -> None:
    stored = store.read(engine)
    assert stored.checksum == expected.checksum
    assert stored.data == expected.data
    assert store.current_version(engine) == expected.version


def test_a_save_failing_after_the_deletes_leaves_the_previous_catalogue(
    engine: Engine,
    real_catalogue: Catalogue,
    make_files: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store.save(engine, real_catalogue, origin="first")
    changed = _changed_catalogue(make_files)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.lstrip().split()[0].upper())

    def links_fail(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("disk full (simulated)")

    # _links builds the association rows: it runs after every delete and most inserts.
    monkeypatch.setattr(store, "_links", links_fail)
    event.listen(engine, "before_cursor_execute", record)
    try:
        with pytest.raises(RuntimeError, match="simulated"):
            store.save(engine, changed, origin="second")
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert statements.count("DELETE") == len(store._DELETE_ORDER)
    assert "INSERT" in statements  # the failure came midway, not before the work started
    monkeypatch.undo()
    _assert_still(engine, real_catalogue)
    assert _count(engine, m.Unit.__table__) == len(real_catalogue.data.units)


def test_a_save_the_database_refuses_leaves_the_previous_catalogue(
    engine: Engine, real_catalogue: Catalogue
) -> None:
    store.save(engine, real_catalogue, origin="first")
    # A catalogue that was never cross-checked: its last unit names a route that does not
    # exist, so the database refuses the unit_route row near the end of the save.
    data = real_catalogue.data
    last = data.units[-1]
    broken_units = [*data.units[:-1], last.model_copy(update={"routes": ["no_such_route"]})]
    broken = Catalogue(
        data.model_copy(update={"version": "2099.1.1", "units": broken_units}),
        rules=(),
        notices=(),
        checksum="0" * 64,
    )

    with pytest.raises(IntegrityError):
        store.save(engine, broken, origin="second")

    _assert_still(engine, real_catalogue)


def test_a_failed_first_save_leaves_nothing_loaded(
    engine: Engine, real_catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    def links_fail(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("simulated")

    monkeypatch.setattr(store, "_links", links_fail)
    with pytest.raises(RuntimeError):
        store.save(engine, real_catalogue, origin="first")

    assert store.current_checksum(engine) is None
    with pytest.raises(CatalogueNotLoaded):
        store.read(engine)


# ---- foreign keys -------------------------------------------------------------------------------


def test_foreign_keys_are_enforced(engine: Engine, real_catalogue: Catalogue) -> None:
    store.save(engine, real_catalogue, origin="catalogue/data")

    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            insert(m.unit_route).values(unit_id="adl", position=99, route_id="no_such_route")
        )
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            insert(m.unit_source).values(unit_id="adl", position=99, source_id="no_such_source")
        )

    _assert_still(engine, real_catalogue)


def test_sqlite_engine_turns_foreign_keys_on(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_a_database_left_by_an_older_version_is_rebuilt_on_load(
    sqlite_engine: Engine, real_catalogue: Catalogue
) -> None:
    """An older release's catalogue table without a newer column: load rebuilds it."""
    with sqlite_engine.begin() as connection:
        connection.execute(text("CREATE TABLE qualification (id VARCHAR(64) PRIMARY KEY)"))
        connection.execute(text("INSERT INTO qualification (id) VALUES ('stale')"))
    store.save(sqlite_engine, real_catalogue, origin="test")
    assert store.read(sqlite_engine).data == real_catalogue.data
