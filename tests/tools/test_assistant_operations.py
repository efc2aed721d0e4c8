"""How the launcher starts the action server and the engine for logs and metrics."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bot.common.settings import Settings, load_settings
from tools import assistant


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], dict[str, str]]]:
    calls: list[tuple[list[str], dict[str, str]]] = []

    class Recorder:
        def __init__(self, command: list[str], *, env: dict[str, str], **_: object) -> None:
            calls.append((command, env))

    monkeypatch.setattr(assistant.subprocess, "Popen", Recorder)
    return calls


def settings_with(tmp_path: Path, **changes: object) -> Settings:
    return dataclasses.replace(
        load_settings(), tracker_database_url=f"sqlite:///{tmp_path / 't.db'}", **changes
    )


def test_the_action_server_is_ours_with_the_sdks_flags(
    started: list[tuple[list[str], dict[str, str]]], tmp_path: Path
) -> None:
    settings = settings_with(tmp_path, action_port=5123, log_level="DEBUG", log_format="json")
    process = assistant.start_action_server(settings, {"PATH": "/usr/bin"})
    [(command, env)] = started
    assert command == [
        str(assistant.PYTHON),
        "-m",
        "bot.app.action_server",
        "--actions",
        "actions",
        "--port",
        "5123",
        "--debug",
    ]
    assert env["SANIC_HOST"] == "127.0.0.1"
    assert env["ZIJWIJZER_LOG_FORMAT"] == "json"
    # The launcher waits for liveness; /ready needs a loaded catalogue.
    assert process.ready_url == "http://127.0.0.1:5123/health"


def test_json_logs_give_the_engine_a_logging_config_file(
    started: list[tuple[list[str], dict[str, str]]], tmp_path: Path
) -> None:
    settings = settings_with(tmp_path, log_format="json", log_level="WARNING")
    assistant.start_engine(settings, {}, workdir=tmp_path)
    [(command, env)] = started
    flag = command.index("--logging-config-file")
    config = json.loads(Path(command[flag + 1]).read_text(encoding="utf-8"))
    assert config["formatters"]["main"]["()"] == "bot.common.logs.JsonFormatter"
    assert config["root"]["level"] == "WARNING"
    # --cors takes every argument after it: it stays last.
    assert command[-1 - len(settings.allowed_origins)] == "--cors"
    assert env["ZIJWIJZER_LOG_FORMAT"] == "json"
    assert env["FORCE_JSON_LOGGING"] == "true"
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "2"  # TensorFlow's own stderr lines are not JSON


def test_text_logs_leave_the_engine_as_rasa_has_it(
    started: list[tuple[list[str], dict[str, str]]], tmp_path: Path
) -> None:
    assistant.start_engine(settings_with(tmp_path, log_format="text"), {}, workdir=tmp_path)
    [(command, env)] = started
    assert "--logging-config-file" not in command
    assert "FORCE_JSON_LOGGING" not in env
    assert "TF_CPP_MIN_LOG_LEVEL" not in env
    assert env["ZIJWIJZER_LOG_FORMAT"] == "text"


def test_the_engine_serves_its_metrics_channel() -> None:
    credentials = (assistant.ROOT / "credentials.yml").read_text(encoding="utf-8")
    assert "\nbot.engine.channels.metrics.MetricsInput:\n" in credentials
    engine = (assistant.ROOT / "bot" / "engine" / "main.py").read_text(encoding="utf-8")
    assert "engine_metrics.install()" in engine
