"""The catalogue in the database: an exact round trip, whole replacement, all-or-nothing saves
and real foreign keys. Runs on SQLite and, when configured, on PostgreSQL (`engine` fixture)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, inspect, select, text, update
from sqlalchemy.exc import OperationalError

from catalogue import models as m
from catalogue import store
from catalogue.advice import advise
from catalogue.compiled import Catalogue
from catalogue.errors import CatalogueInvalid, CatalogueNotLoaded


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
    files.replace_text(
        "regions.yaml", "Dronten: [Biddinghuizen,", "Dronten: [Biddinghuizen, Zijwijzerhaven,"
    )
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


def test_loaded_info_says_what_is_loaded_without_reading_it(
    engine: Engine, real_catalogue: Catalogue
) -> None:
    assert store.loaded_info(engine) is None
    store.save(engine, real_catalogue, origin="console upload 1 by anna")

    info = store.loaded_info(engine)

    assert info is not None
    assert (info.version, info.checksum) == (real_catalogue.version, real_catalogue.checksum)
    assert info.origin == "console upload 1 by anna"
    assert info.loaded_at.tzinfo is not None


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
    assert stored.regions["zijwijzerhaven"] == "Flevoland"
    # Replaced, not added to: one stored catalogue.
    assert _count(engine, m.StoredCatalogue.__table__) == 1
    with engine.connect() as connection:
        assert connection.scalar(select(m.StoredCatalogue.origin)) == "second"


# ---- a failed save changes nothing --------------------------------------------------------------


def _assert_still(engine: Engine, expected: Catalogue) -> None:
    stored = store.read(engine)
    assert stored.checksum == expected.checksum
    assert stored.data == expected.data
    assert store.current_version(engine) == expected.version


def _refuse_writes(engine: Engine) -> Callable[..., None]:
    """A listener that makes the database refuse the catalogue's INSERT or UPDATE."""

    def refuse(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().split()[0].upper() in ("INSERT", "UPDATE"):
            raise OperationalError(statement, {}, RuntimeError("disk full (simulated)"))

    event.listen(engine, "before_cursor_execute", refuse)
    return refuse


def test_a_save_the_database_refuses_leaves_the_previous_catalogue(
    engine: Engine, real_catalogue: Catalogue, make_files: Callable[..., Any]
) -> None:
    store.save(engine, real_catalogue, origin="first")
    changed = _changed_catalogue(make_files)
    refuse = _refuse_writes(engine)
    try:
        with pytest.raises(OperationalError, match="simulated"):
            store.save(engine, changed, origin="second")
    finally:
        event.remove(engine, "before_cursor_execute", refuse)

    _assert_still(engine, real_catalogue)


def test_a_failed_first_save_leaves_nothing_loaded(
    engine: Engine, real_catalogue: Catalogue
) -> None:
    refuse = _refuse_writes(engine)
    try:
        with pytest.raises(OperationalError):
            store.save(engine, real_catalogue, origin="first")
    finally:
        event.remove(engine, "before_cursor_execute", refuse)

    assert store.current_checksum(engine) is None
    with pytest.raises(CatalogueNotLoaded):
        store.read(engine)


# ---- what is read back is checked again ---------------------------------------------------------


def test_a_stored_catalogue_edited_by_hand_is_refused_with_its_problems(
    engine: Engine, real_catalogue: Catalogue
) -> None:
    store.save(engine, real_catalogue, origin="catalogue/data")
    document = real_catalogue.data.model_dump(mode="json")
    document["units"][0]["level"] = 9
    with engine.begin() as connection:
        connection.execute(update(m.StoredCatalogue.__table__).values(document=document))

    with pytest.raises(CatalogueInvalid) as refused:
        store.read(engine)
    assert "less than or equal to 6" in refused.value.report()


def test_sqlite_engine_turns_foreign_keys_on(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_a_database_left_by_an_older_version_is_rebuilt_on_load(
    sqlite_engine: Engine, real_catalogue: Catalogue
) -> None:
    """An older release's tables (one per kind of item): load drops them."""
    with sqlite_engine.begin() as connection:
        connection.execute(text("CREATE TABLE qualification (id VARCHAR(64) PRIMARY KEY)"))
        connection.execute(text("INSERT INTO qualification (id) VALUES ('stale')"))
    store.save(sqlite_engine, real_catalogue, origin="test")
    assert store.read(sqlite_engine).data == real_catalogue.data
    with sqlite_engine.connect() as connection:
        assert not inspect(connection).has_table("qualification")
