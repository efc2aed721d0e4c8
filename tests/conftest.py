"""Fixtures shared by all test packages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser

from catalogue.compiled import Catalogue
from catalogue.reader import load_directory
from tests.browser import chromium
from tests.stack import Stack, dutch_responses, start_stack


@pytest.fixture(scope="session")
def real_catalogue() -> Catalogue:
    """The catalogue from catalogue/data, read once: it is immutable, so sharing it is safe."""
    return load_directory()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole assistant running (engine, action server, web app), shared by the tests
    that only talk to it as users do, each in its own conversation. About 40 s to start."""
    with start_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (tests/browser.py); each test opens its own context."""
    with chromium() as running:
        yield running


@pytest.fixture(scope="session")
def dutch() -> dict[str, dict[str, Any]]:
    """The Dutch (default) variant of every response in domain.yml, by name."""
    return dutch_responses()
