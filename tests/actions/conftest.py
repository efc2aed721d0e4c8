"""Fixtures of the action tests: the real domain.yml, the real catalogue, a chat."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from catalogue.reader import load_directory
from catalogue.service import CatalogueService
from tests.actions.support import Chat

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """domain.yml as a dict: the shape of the domain the engine sends to the action server."""
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def catalogue() -> CatalogueService:
    """The real catalogue of catalogue/data, in memory (no database)."""
    return CatalogueService.from_catalogue(load_directory())


@pytest.fixture
def chat(catalogue: CatalogueService, domain: dict[str, Any]) -> Chat:
    return Chat(catalogue, domain)
