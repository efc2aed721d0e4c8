"""CatalogueService: lazy, cached, and refreshed when a newer catalogue is loaded.

Time is a fake clock, moved by hand: no test sleeps or measures time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from catalogue import store
from catalogue.compiled import Catalogue
from catalogue.errors import CatalogueNotLoaded
from catalogue.service import CatalogueService

PROFILE = {"age": 35, "sector": "vvt", "goal": "tasks", "care_qualifications": []}
REFRESH = 60.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "service.db"


@pytest.fixture
def database_url(database_path: Path) -> str:
    return f"sqlite:///{database_path}"


@pytest.fixture
def writer(database_url: str) -> Iterator[Engine]:
    """A separate engine, as `catalogue load` in another process would use."""
    engine = store.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service(
    database_url: str, writer: Engine, real_catalogue: Catalogue, clock: FakeClock
) -> CatalogueService:
    """A service on a database that holds the real catalogue (not read yet)."""
    store.save(writer, real_catalogue, origin="test")
    return CatalogueService(database_url, refresh_seconds=REFRESH, clock=clock)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every full read of the catalogue from the database."""
    calls: list[str] = []
    real_read = store.read

    def counting_read(engine: Engine) -> Catalogue:
        calls.append("read")
        return real_read(engine)

    monkeypatch.setattr(store, "read", counting_read)
    return calls


def test_constructing_opens_nothing(
    database_url: str, database_path: Path, clock: FakeClock
) -> None:
    service = CatalogueService(database_url, refresh_seconds=REFRESH, clock=clock)

    assert not database_path.parent.exists()

    with pytest.raises(CatalogueNotLoaded):
        service.advise(PROFILE)
    assert database_path.exists()  # the first advise is what opened the database


def test_the_first_advise_loads_and_later_ones_use_the_cache(
    service: CatalogueService, real_catalogue: Catalogue, clock: FakeClock, reads: list[str]
) -> None:
    assert reads == []

    advice = service.advise(PROFILE)

    assert advice["catalogue_version"] == real_catalogue.version_label
    assert reads == ["read"]
    clock.advance(REFRESH / 2)
    assert service.advise(PROFILE)["catalogue_version"] == real_catalogue.version_label
    assert service.catalogue().checksum == real_catalogue.checksum
    assert reads == ["read"]


def test_a_newer_catalogue_is_served_after_the_refresh_interval(
    service: CatalogueService,
    writer: Engine,
    real_catalogue: Catalogue,
    make_files: Callable[..., Any],
    clock: FakeClock,
) -> None:
    newer = make_files("newer", version="2099.1.1").load()
    assert service.advise(PROFILE)["catalogue_version"] == real_catalogue.version_label

    store.save(writer, newer, origin="sync")
    clock.advance(REFRESH - 1)
    assert service.advise(PROFILE)["catalogue_version"] == real_catalogue.version_label
    assert service.catalogue().version == real_catalogue.version

    clock.advance(2)
    assert service.advise(PROFILE)["catalogue_version"] == newer.version_label
    assert service.catalogue().checksum == newer.checksum
    assert {u["id"] for u in service.terms()["units"]} == set(newer.units)


def test_an_unchanged_database_is_not_read_again_at_refresh(
    service: CatalogueService, clock: FakeClock, reads: list[str]
) -> None:
    first = service.catalogue()

    clock.advance(REFRESH * 3)

    assert service.catalogue() is first
    assert reads == ["read"]  # only the checksum was looked at


def test_an_empty_database_is_not_loaded(
    database_url: str, writer: Engine, clock: FakeClock
) -> None:
    store.create_schema(writer)  # tables, but no catalogue
    service = CatalogueService(database_url, refresh_seconds=REFRESH, clock=clock)

    with pytest.raises(CatalogueNotLoaded, match="python -m catalogue load"):
        service.catalogue()
    with pytest.raises(CatalogueNotLoaded):
        service.advise(PROFILE)


def test_a_catalogue_loaded_after_a_failed_first_call_is_found(
    database_url: str, writer: Engine, real_catalogue: Catalogue, clock: FakeClock
) -> None:
    service = CatalogueService(database_url, refresh_seconds=REFRESH, clock=clock)
    with pytest.raises(CatalogueNotLoaded):
        service.catalogue()

    store.save(writer, real_catalogue, origin="test")

    # No waiting for the interval: nothing was cached, so the next call looks again.
    assert service.catalogue().checksum == real_catalogue.checksum


def test_from_catalogue_never_touches_a_database(
    real_catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_database(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a service over an in-memory catalogue used the database")

    for name in ("make_engine", "read", "current_checksum", "current_version", "save"):
        monkeypatch.setattr(store, name, no_database)

    service = CatalogueService.from_catalogue(real_catalogue)

    assert service.catalogue() is real_catalogue
    assert service.advise(PROFILE)["catalogue_version"] == real_catalogue.version_label
    assert {u["id"] for u in service.terms()["units"]} == set(real_catalogue.units)


def test_the_plan_comes_from_the_same_catalogue_as_the_advice(real_catalogue: Catalogue) -> None:
    service = CatalogueService.from_catalogue(real_catalogue)
    plan = service.plan(PROFILE)
    summary = service.advise(PROFILE)["summary"]
    assert plan.route == (summary["routes"][0] if summary["routes"] else None)
    assert list(plan.units) == summary["units"]
    assert plan.steps[0].kind == "target"


def test_a_service_needs_a_database_or_a_catalogue() -> None:
    with pytest.raises(ValueError, match="database_url or a catalogue"):
        CatalogueService()
