"""The fuzz profiles (tests/fuzz/budget.py), and which one this run uses in the report header."""

from __future__ import annotations

import pytest

from tests.fuzz.budget import examples_per_target, profile_name


def pytest_report_header(config: pytest.Config) -> str:
    return f"fuzz: profile {profile_name()}, {examples_per_target()} examples per target"
