"""The recruiter channels' settings and the variables credentials.yml reads."""

from __future__ import annotations

import re

import pytest

from bot.common.settings import load_settings
from bot.common.webhook_auth import derive_secret
from tools import assistant

CHANNEL_VARIABLES = [
    "ZIJWIJZER_TELEGRAM_TOKEN",
    "ZIJWIJZER_TELEGRAM_WEBHOOK_SECRET",
    "ZIJWIJZER_TELEGRAM_WEBHOOK_URL",
    "ZIJWIJZER_TELEGRAM_API_URL",
    "ZIJWIJZER_SLACK_TOKEN",
    "ZIJWIJZER_SLACK_SIGNING_SECRET",
    "ZIJWIJZER_SLACK_API_URL",
    "ZIJWIJZER_WHATSAPP_ACCESS_TOKEN",
    "ZIJWIJZER_WHATSAPP_APP_SECRET",
    "ZIJWIJZER_WHATSAPP_VERIFY_TOKEN",
    "ZIJWIJZER_WHATSAPP_PHONE_NUMBER_ID",
    "ZIJWIJZER_WHATSAPP_API_URL",
    "ZIJWIJZER_TEAMS_APP_ID",
    "ZIJWIJZER_TEAMS_APP_PASSWORD",
    "ZIJWIJZER_TEAMS_TOKEN_URL",
    "ZIJWIJZER_TEAMS_OPENID_METADATA_URL",
    "ZIJWIJZER_TEAMS_ISSUER",
    "ZIJWIJZER_TEAMS_SERVICE_URLS",
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [*CHANNEL_VARIABLES, "ZIJWIJZER_CHAT_URL", "ZIJWIJZER_RASA_PORT"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZIJWIJZER_SECRET_KEY", "instance-key")
    return monkeypatch


def test_every_variable_in_credentials_yml_is_set_for_the_engine(
    clean_env: pytest.MonkeyPatch,
) -> None:
    # Rasa refuses a credentials file naming an unset variable, so the launcher sets them all.
    lines = (assistant.ROOT / "credentials.yml").read_text(encoding="utf-8").splitlines()
    settings_lines = [line for line in lines if not line.lstrip().startswith("#")]
    named = set(re.findall(r"\$\{(\w+)\}", "\n".join(settings_lines)))
    settings = load_settings()
    given = {**assistant.endpoint_env(settings), **assistant.channel_env(settings)}
    assert named <= set(given)
    assert set(CHANNEL_VARIABLES) <= named


def test_channels_are_off_by_default(clean_env: pytest.MonkeyPatch) -> None:
    env = assistant.channel_env(load_settings())
    assert env["ZIJWIJZER_TELEGRAM_TOKEN"] == ""
    assert env["ZIJWIJZER_SLACK_TOKEN"] == ""
    assert env["ZIJWIJZER_SLACK_SIGNING_SECRET"] == ""
    assert env["ZIJWIJZER_TELEGRAM_API_URL"] == "https://api.telegram.org"
    assert env["ZIJWIJZER_SLACK_API_URL"] == "https://slack.com/api/"
    assert env["ZIJWIJZER_TELEGRAM_WEBHOOK_URL"] == (
        "http://127.0.0.1:5005/webhooks/telegram/webhook"
    )
    assert env["ZIJWIJZER_WHATSAPP_ACCESS_TOKEN"] == env["ZIJWIJZER_WHATSAPP_APP_SECRET"] == ""
    assert env["ZIJWIJZER_WHATSAPP_API_URL"] == "https://graph.facebook.com/v24.0"
    assert env["ZIJWIJZER_TEAMS_APP_ID"] == env["ZIJWIJZER_TEAMS_APP_PASSWORD"] == ""
    assert env["ZIJWIJZER_TEAMS_TOKEN_URL"] == (
        "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"
    )
    assert env["ZIJWIJZER_TEAMS_OPENID_METADATA_URL"] == (
        "https://login.botframework.com/v1/.well-known/openidconfiguration"
    )
    assert env["ZIJWIJZER_TEAMS_ISSUER"] == "https://api.botframework.com"
    assert env["ZIJWIJZER_TEAMS_SERVICE_URLS"] == "https://smba.trafficmanager.net"


def test_the_channels_defaults_are_the_settings_defaults(clean_env: pytest.MonkeyPatch) -> None:
    # The channel classes fall back to the same values when credentials.yml gives them empty.
    settings = load_settings()
    text = (assistant.ROOT / "bot" / "engine" / "channels" / "teams.py").read_text(encoding="utf-8")
    for value in (
        settings.teams_token_url,
        settings.teams_openid_metadata_url,
        settings.teams_issuer,
        *settings.teams_service_urls,
    ):
        assert f'"{value}"' in text
    whatsapp = (assistant.ROOT / "bot" / "engine" / "channels" / "whatsapp.py").read_text(
        encoding="utf-8"
    )
    assert f'"{settings.whatsapp_api_url}"' in whatsapp


def test_whatsapp_verify_token_is_derived_from_the_instance_key(
    clean_env: pytest.MonkeyPatch,
) -> None:
    settings = load_settings()
    assert settings.whatsapp_verify_token == derive_secret("instance-key", "whatsapp-verify-token")
    clean_env.setenv("ZIJWIJZER_WHATSAPP_VERIFY_TOKEN", "chosen")
    assert load_settings().whatsapp_verify_token == "chosen"


def test_teams_service_urls_are_a_comma_separated_list(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv(
        "ZIJWIJZER_TEAMS_SERVICE_URLS", "https://smba.trafficmanager.net, https://*.example.org"
    )
    assert load_settings().teams_service_urls == (
        "https://smba.trafficmanager.net",
        "https://*.example.org",
    )
    assert assistant.channel_env(load_settings())["ZIJWIJZER_TEAMS_SERVICE_URLS"] == (
        "https://smba.trafficmanager.net,https://*.example.org"
    )


def test_telegram_secret_is_derived_from_the_instance_key(clean_env: pytest.MonkeyPatch) -> None:
    # Every instance derives the same secret, so none of them needs to be told it.
    settings = load_settings()
    assert settings.telegram_webhook_secret == derive_secret("instance-key", "telegram-webhook")
    clean_env.setenv("ZIJWIJZER_TELEGRAM_WEBHOOK_SECRET", "explicit_secret")
    assert load_settings().telegram_webhook_secret == "explicit_secret"


def test_webhook_url_follows_the_public_chat_url(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ZIJWIJZER_CHAT_URL", "https://chat.example.org/")
    assert load_settings().telegram_webhook_url == (
        "https://chat.example.org/webhooks/telegram/webhook"
    )
    clean_env.setenv("ZIJWIJZER_TELEGRAM_WEBHOOK_URL", "https://gw.example.org/tg")
    assert load_settings().telegram_webhook_url == "https://gw.example.org/tg"


def test_the_rest_channel_is_ours_and_there_is_no_socketio() -> None:
    # Rasa's own `rest:` and `socketio:` believe any sender id a client sends.
    lines = (assistant.ROOT / "credentials.yml").read_text(encoding="utf-8").splitlines()
    channels = {line.rstrip(":") for line in lines if line and not line[0].isspace()}
    channels = {name for name in channels if not name.startswith("#")}
    assert "bot.engine.channels.rest.TrustedRestInput" in channels
    assert "bot.engine.channels.widget.WidgetInput" in channels
    assert not {"rest", "socketio", "rasa.core.channels.rest.RestInput"} & channels
