"""Log lines: JSON objects with a request id and no personal data; readable text locally."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.common import logs
from bot.common.request_context import begin_turn
from tools import assistant

ROOT = Path(__file__).resolve().parents[3]
EMAIL = "jan.jansen@example.nl"
PHONE = "06-12345678"


def record(
    message: str,
    *args: object,
    level: int = logging.INFO,
    name: str = "actions.advice",
    exc_info: Any = None,
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 10, message, args or None, exc_info)


def json_line(formatter: logging.Formatter, rec: logging.LogRecord) -> dict[str, Any]:
    line = formatter.format(rec)
    assert "\n" not in line, "one object per line"
    parsed: dict[str, Any] = json.loads(line)
    return parsed


def in_turn(request_id: str, function: Any, *args: Any) -> Any:
    def run() -> Any:
        begin_turn({"X-Request-ID": request_id})
        return function(*args)

    return contextvars.Context().run(run)


def test_a_json_line_has_the_fields_and_the_request_id() -> None:
    formatter = logs.JsonFormatter(logs.ACTION_SERVER)
    entry = in_turn("turn-7", json_line, formatter, record("action %s: %s", "x", "ok"))
    assert entry["message"] == "action x: ok"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "actions.advice"
    assert entry["process"] == "action-server"
    assert entry["request_id"] == "turn-7"
    assert isinstance(entry["pid"], int)
    assert entry["time"].endswith("Z") and entry["time"][10] == "T"


def test_outside_a_turn_there_is_no_request_id() -> None:
    entry = contextvars.Context().run(json_line, logs.JsonFormatter(), record("started"))
    assert "request_id" not in entry


def test_personal_data_in_a_message_is_redacted() -> None:
    formatter = logs.JsonFormatter(logs.WEB)
    entry = json_line(formatter, record("mail %s or call %s", EMAIL, PHONE))
    assert EMAIL not in json.dumps(entry)
    assert "12345678" not in json.dumps(entry)
    assert entry["message"] == "mail [e-mail] or call [telefoonnummer]"


def test_an_exception_is_kept_but_redacted() -> None:
    try:
        raise ValueError(f"bad value {EMAIL}")
    except ValueError:
        exc_info = sys.exc_info()
    entry = json_line(
        logs.JsonFormatter(), record("failed", level=logging.ERROR, exc_info=exc_info)
    )
    assert "ValueError: bad value [e-mail]" in entry["exception"]
    assert EMAIL not in entry["exception"]


def test_rasa_structlog_events_become_fields_without_user_content() -> None:
    event = {
        "event": "processor.actions.log",
        "level": "debug",
        "action_name": "action_give_advice",
        "text": f"mijn mail is {EMAIL}",
        "slot_values": ["age: 38"],
        "note": f"bel {PHONE}",
    }
    entry = json_line(logs.JsonFormatter(logs.ENGINE), record(json.dumps(event)))
    assert entry["message"] == "processor.actions.log"
    assert entry["fields"]["action_name"] == "action_give_advice"
    assert entry["fields"]["text"] == logs.REMOVED
    assert entry["fields"]["slot_values"] == logs.REMOVED
    assert entry["fields"]["note"] == "bel [telefoonnummer]"
    assert "level" not in entry["fields"]


def test_a_message_that_only_looks_like_json_stays_a_message() -> None:
    entry = json_line(logs.JsonFormatter(), record('{"not": "an event"}'))
    assert entry["message"] == '{"not": "an event"}'
    assert "fields" not in entry


def test_text_lines_are_readable_redacted_and_carry_the_request_id() -> None:
    formatter = logs.TextFormatter()
    rec = record("call %s", PHONE)
    line = in_turn("turn-9", formatter.format, rec)
    assert line.endswith("INFO actions.advice: call [telefoonnummer] [request turn-9]")
    # The record is left as it was for any other handler.
    assert rec.getMessage() == f"call {PHONE}"
    plain = contextvars.Context().run(formatter.format, record("started"))
    assert plain.endswith("INFO actions.advice: started")


def test_log_format() -> None:
    assert logs.log_format("json") == "json"
    assert logs.log_format(" JSON ") == "json"
    assert logs.log_format("text") == "text"
    assert logs.log_format("yaml") == "text"


def test_the_engine_config_file_is_what_rasa_applies(tmp_path: Path) -> None:
    path = logs.write_config_file(tmp_path / "logging.json", logs.ENGINE, "DEBUG", logs.JSON)
    config = json.loads(path.read_text(encoding="utf-8"))
    assert config["root"] == {"level": "DEBUG", "handlers": ["stderr"]}
    assert config["formatters"]["main"] == {
        "()": "bot.common.logs.JsonFormatter",
        "process_name": "engine",
    }
    assert config["handlers"]["stderr"]["filters"] == ["request_id"]
    assert config["disable_existing_loggers"] is False


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_process_configured_with_configure_writes_redacted_lines(fmt: str) -> None:
    # In a child process: configure() sets up the root logger, as each of our processes does.
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("log_child.py")), fmt, EMAIL],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert EMAIL not in done.stderr
    assert "not shown" not in done.stderr
    if fmt == "json":
        entries = [json.loads(line) for line in lines]  # every line is JSON, warnings too
        assert [e["message"] for e in entries[:2]] == ["server up", "contact [e-mail]"]
        assert entries[1]["request_id"] == "turn-1"
        assert all(e["process"] == "handoff-worker" for e in entries)
        assert entries[2]["logger"] == "py.warnings"
    else:
        assert lines[0].endswith("INFO uvicorn.error: server up")
        assert lines[1].endswith("WARNING bot.x: contact [e-mail] [request turn-1]")


ENGINE_SCRIPT = ROOT / "tests" / "engine" / "engine_logs.py"


@pytest.mark.skipif(not assistant.RASA_PYTHON.exists(), reason="no .venv-rasa (make setup)")
def test_the_engine_keeps_our_json_lines(tmp_path: Path) -> None:
    # In the engine's runtime, with the calls `rasa run` makes: Rasa's coloredlogs and Sanic's
    # own handlers would otherwise replace ours.
    config = logs.write_config_file(tmp_path / "logging.json", logs.ENGINE, "INFO", logs.JSON)
    env = {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "LOG_LEVEL")
    }
    done = subprocess.run(
        [str(assistant.RASA_PYTHON), str(ENGINE_SCRIPT), str(config)],
        cwd=tmp_path,
        env={
            **env,
            "PYTHONPATH": str(assistant.plugin_path()),
            "ZIJWIJZER_LOG_FORMAT": "json",
            "FORCE_JSON_LOGGING": "true",
            "TF_CPP_MIN_LOG_LEVEL": "3",
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    assert done.stdout.strip() == "True"  # the turn hook is installed
    assert "jan.jansen@example.nl" not in done.stderr
    entries = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    by_message = {entry["message"]: entry for entry in entries}
    assert by_message["plain [e-mail]"]["process"] == "engine"
    assert by_message["rasa.event"]["fields"] == {"text": logs.REMOVED, "action_name": "x"}
    assert by_message["sanic error"]["logger"] == "sanic.error"
    # Nothing else reached stderr as bare text from these loggers.
    assert "sanic error" not in [line for line in done.stderr.splitlines() if line[:1] != "{"]


def test_the_setting_takes_text_or_json_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.common.settings import load_settings

    monkeypatch.delenv("ZIJWIJZER_LOG_FORMAT", raising=False)
    assert load_settings().log_format == "text"
    monkeypatch.setenv("ZIJWIJZER_LOG_FORMAT", "JSON")
    assert load_settings().log_format == "json"
    monkeypatch.setenv("ZIJWIJZER_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="ZIJWIJZER_LOG_FORMAT must be one of text, json"):
        load_settings()
