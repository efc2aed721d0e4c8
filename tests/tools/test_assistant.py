"""The launcher's pure parts (the processes themselves: tests/integration)."""

from __future__ import annotations

import dataclasses

import pytest

from bot.settings import load_settings
from tools import assistant


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///var/trackers.db", f"sqlite:///{assistant.ROOT}/var/trackers.db"),
        ("sqlite:////tmp/trackers.db", "sqlite:////tmp/trackers.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql+psycopg2://bot@db/zijwijzer", "postgresql+psycopg2://bot@db/zijwijzer"),
    ],
)
def test_endpoint_env_makes_sqlite_paths_absolute(url: str, expected: str) -> None:
    # The engine runs in its own working directory, so a relative path would move.
    settings = dataclasses.replace(load_settings(), tracker_database_url=url)
    assert assistant.endpoint_env(settings)["ZIJWIJZER_TRACKER_DATABASE_URL"] == expected


def test_endpoint_env_names_the_variables_endpoints_yml_reads() -> None:
    endpoints = (assistant.ROOT / "endpoints.yml").read_text(encoding="utf-8")
    for name in assistant.endpoint_env(load_settings()):
        assert "${" + name + "}" in endpoints
