"""Settings come from the environment, with safe defaults, in one place."""

from __future__ import annotations

import pytest

from bot.settings import VAR_DIR, load_settings


def test_defaults_need_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ZIJWIJZER_DATABASE_URL",
        "ZIJWIJZER_TRACKER_DATABASE_URL",
        "ZIJWIJZER_RASA_PORT",
        "ZIJWIJZER_ACTION_PORT",
        "ZIJWIJZER_ACTION_SERVER_URL",
        "ZIJWIJZER_LOG_LEVEL",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url == f"sqlite:///{VAR_DIR / 'zijwijzer.db'}"
    assert settings.tracker_database_url.startswith("sqlite:///")
    assert (settings.rasa_port, settings.action_port) == (5005, 5055)
    assert settings.action_server_url == "http://127.0.0.1:5055/webhook"
    assert settings.log_level == "INFO"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZIJWIJZER_DATABASE_URL", "postgresql+psycopg2://zw@db/zw")
    monkeypatch.setenv("ZIJWIJZER_ACTION_PORT", "6000")
    monkeypatch.setenv("ZIJWIJZER_LOG_LEVEL", "debug")
    monkeypatch.delenv("ZIJWIJZER_ACTION_SERVER_URL", raising=False)
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg2://zw@db/zw"
    assert settings.action_server_url == "http://127.0.0.1:6000/webhook"
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize("name", ["ZIJWIJZER_RASA_PORT", "ZIJWIJZER_CATALOGUE_REFRESH_SECONDS"])
def test_a_bad_number_is_named(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "five")
    with pytest.raises(ValueError, match=name):
        load_settings()
