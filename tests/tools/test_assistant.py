"""The launcher's pure parts (the processes themselves: tests/integration)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from bot.common.settings import load_settings
from bot.engine.main import JWT_SECRET_ENV, rasa_arguments
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


def test_the_http_api_is_off_without_a_jwt_secret_and_never_takes_a_url_token() -> None:
    run = ["run", "--model", "m.tar.gz", "--cors", "https://a.example"]
    assert rasa_arguments(run, {}) == run
    assert rasa_arguments(run, {JWT_SECRET_ENV: "  "}) == run
    on = rasa_arguments(run, {JWT_SECRET_ENV: "s3cret"})
    assert on == [*run, "--enable-api", "--jwt-secret=s3cret", "--jwt-method", "HS256"]
    assert "--auth-token" not in on
    # Only `rasa run` serves the API; other commands are passed on unchanged.
    assert rasa_arguments(["train"], {JWT_SECRET_ENV: "s3cret"}) == ["train"]
    assert assistant.ENGINE_API_JWT_SECRET_ENV == JWT_SECRET_ENV


# What Rasa's own parser makes of these arguments: tests/engine/test_launcher.py.


def test_the_engine_command_line_never_holds_the_jwt_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started: list[tuple[list[str], dict[str, str]]] = []

    class Recorder:
        def __init__(self, command: list[str], *, env: dict[str, str], **_: object) -> None:
            started.append((command, env))

    monkeypatch.setattr(assistant.subprocess, "Popen", Recorder)
    settings = dataclasses.replace(
        load_settings(),
        engine_api_jwt_secret="jwt-s3cret",
        tracker_database_url=f"sqlite:///{tmp_path / 'trackers.db'}",
    )
    assistant.start_engine(settings, {}, workdir=tmp_path)
    [(command, env)] = started
    assert command[:4] == [str(assistant.RASA_PYTHON), "-m", "bot.engine", "run"]
    assert "jwt-s3cret" not in " ".join(command)
    assert env[JWT_SECRET_ENV] == "jwt-s3cret"


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_api_jwt_is_an_hs256_admin_token_rasa_accepts() -> None:
    token = assistant.api_jwt("s3cret", username="ops", ttl_seconds=60, now=1_800_000_000)
    header, payload, signature = token.split(".")
    assert json.loads(_b64decode(header)) == {"alg": "HS256", "typ": "JWT"}
    # The shape rasa/server.py's requires_auth reads; exp bounds a leaked token's life.
    assert json.loads(_b64decode(payload)) == {
        "user": {"username": "ops", "role": "admin"},
        "iat": 1_800_000_000,
        "exp": 1_800_000_060,
    }
    expected = hmac.new(b"s3cret", f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert _b64decode(signature) == expected


def test_guard_env_hands_the_settings_to_the_engine() -> None:
    settings = dataclasses.replace(
        load_settings(),
        rest_api_key="k",
        previous_secret_keys=("a", "b"),
        widget_messages_per_minute=7,
        engine_max_body_bytes=4096,
        redis_url="redis://x/0",
    )
    env = assistant.guard_env(settings)
    assert env["ZIJWIJZER_REST_API_KEY"] == "k"
    assert env["ZIJWIJZER_PREVIOUS_SECRET_KEYS"] == "a,b"
    assert env["ZIJWIJZER_WIDGET_MESSAGES_PER_MINUTE"] == "7"
    assert env["ZIJWIJZER_REDIS_URL"] == "redis://x/0"
    # Sanic reads SANIC_* variables into its configuration.
    assert env["SANIC_REQUEST_MAX_SIZE"] == "4096"
    off = assistant.guard_env(dataclasses.replace(settings, rest_api_key=""))
    assert off["ZIJWIJZER_REST_API_KEY"] == "off"


def test_no_token_in_a_url_in_the_launchers() -> None:
    url_token = "?" + "token="  # spelled apart, so that this file holds no such URL either
    for path in ("tools/assistant.py", "tools/chat.py", "bench/chat.py", "tests/stack.py"):
        text = (assistant.ROOT / path).read_text(encoding="utf-8")
        assert url_token not in text, path
        assert 'params={"token"' not in text, path
