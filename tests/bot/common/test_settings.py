"""Settings come from the environment, with safe defaults, in one place."""

from __future__ import annotations

import pytest

from bot.common.settings import VAR_DIR, load_settings
from bot.common.webhook_auth import derive_secret


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


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", ""), ("https://werkgever.example/privacy", "https://werkgever.example/privacy")],
)
def test_the_privacy_statement_is_a_web_address(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("ZIJWIJZER_PRIVACY_URL", value)
    assert load_settings().privacy_url == expected


@pytest.mark.parametrize("value", ["javascript:alert(1)", "werkgever.example/privacy", "data:,x"])
def test_a_privacy_statement_that_is_no_web_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ZIJWIJZER_PRIVACY_URL", value)
    with pytest.raises(ValueError, match="ZIJWIJZER_PRIVACY_URL"):
        load_settings()


SECURITY_VARIABLES = [
    "ZIJWIJZER_REST_API_KEY",
    "ZIJWIJZER_ENGINE_API_JWT_SECRET",
    "ZIJWIJZER_ENGINE_MAX_BODY_BYTES",
    "ZIJWIJZER_WIDGET_MESSAGES_PER_MINUTE",
    "ZIJWIJZER_WIDGET_MESSAGES_PER_MINUTE_PER_ADDRESS",
    "ZIJWIJZER_WIDGET_CONVERSATIONS_PER_HOUR_PER_ADDRESS",
    "ZIJWIJZER_REDIS_URL",
    "ZIJWIJZER_PREVIOUS_SECRET_KEYS",
]


def test_security_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECURITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZIJWIJZER_SECRET_KEY", "instance-key")
    settings = load_settings()
    # The REST key is derived from the secret key: every tool on the machine knows it.
    assert settings.rest_api_key == derive_secret("instance-key", "rest-channel")
    assert settings.engine_api_jwt_secret == ""  # the HTTP API off
    assert settings.engine_max_body_bytes == 1024 * 1024
    assert settings.widget_messages_per_minute == 20
    assert settings.widget_messages_per_minute_per_address == 60
    assert settings.widget_conversations_per_hour_per_address == 30
    assert settings.redis_url == ""
    assert settings.previous_secret_keys == ()


def test_security_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZIJWIJZER_REST_API_KEY", "rest-key")
    monkeypatch.setenv("ZIJWIJZER_ENGINE_API_JWT_SECRET", "jwt-secret")
    monkeypatch.setenv("ZIJWIJZER_ENGINE_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("ZIJWIJZER_WIDGET_MESSAGES_PER_MINUTE", "5")
    monkeypatch.setenv("ZIJWIJZER_REDIS_URL", "redis://cache:6379/1")
    monkeypatch.setenv("ZIJWIJZER_PREVIOUS_SECRET_KEYS", " old-1, ,old-2 ")
    settings = load_settings()
    assert settings.rest_api_key == "rest-key"
    assert settings.engine_api_jwt_secret == "jwt-secret"
    assert settings.engine_max_body_bytes == 2048
    assert settings.widget_messages_per_minute == 5
    assert settings.redis_url == "redis://cache:6379/1"
    assert settings.previous_secret_keys == ("old-1", "old-2")


@pytest.mark.parametrize("value", ["off", "OFF", " Off "])
def test_rest_channel_can_be_switched_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("ZIJWIJZER_REST_API_KEY", value)
    assert load_settings().rest_api_key == ""


def test_the_web_app_listens_on_loopback_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZIJWIJZER_WEB_HOST", raising=False)
    assert load_settings().web_host == "127.0.0.1"
    # In a container (deploy/k8s/web.yaml) the Service and the probes reach the pod's address.
    monkeypatch.setenv("ZIJWIJZER_WEB_HOST", "0.0.0.0")
    assert load_settings().web_host == "0.0.0.0"
