"""Fixtures shared by all test packages."""

from __future__ import annotations

import pytest

from catalogue.compiled import Catalogue
from catalogue.reader import load_directory


@pytest.fixture(scope="session")
def real_catalogue() -> Catalogue:
    """The catalogue from catalogue/data, read once: it is immutable, so sharing it is safe."""
    return load_directory()
