"""Log output of every process: one JSON object per line in production, readable text locally.

Standard library only (the engine in .venv-rasa uses it too). `ZIJWIJZER_LOG_FORMAT=json`
(the production shape sets it) writes each record as one line of JSON on stderr:

    {"time": "2026-12-04T20:23:29.123Z", "level": "INFO", "logger": "actions.advice",
     "message": "...", "process": "action-server", "pid": 4242, "request_id": "9f0c..."}

plus `exception` (the traceback) when there is one and `fields` for the key/value pairs of
Rasa's structlog events. `request_id` is there while a turn (or web request) is being
handled (bot/common/request_context.py). Any other value, and the default, gives the readable
`time LEVEL logger: message` lines of `make run`.

No personal data: our own log calls never pass user text (ids, counts and error types only),
and as a safety net every message, exception text and field goes through bot.common.redaction
before it is written, in both formats; the values Rasa marks as user content (text, slot
values, entities, ...) are dropped from structlog fields altogether.
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.common.redaction import redact, redact_value
from bot.common.request_context import current_request_id

JSON = "json"
TEXT = "text"
FORMATS = (TEXT, JSON)
FORMAT_ENV = "ZIJWIJZER_LOG_FORMAT"

# Process names as they appear in the "process" field.
ENGINE = "engine"
ACTION_SERVER = "action-server"
WEB = "web"
HANDOFF_WORKER = "handoff-worker"

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The keys of Rasa 3.6's structlog events that hold what users said or what the bot knows
# about them (rasa/utils/log_utils.py, `_anonymizer`): left out of our logs entirely.
USER_CONTENT_KEYS = frozenset(
    {
        "text",
        "response_text",
        "user_text",
        "slot_values",
        "parse_data_text",
        "parse_data_entities",
        "prediction_events",
        "tracker_latest_message",
        "prefilled_slots",
        "message",
        "response",
        "slot_candidates",
        "rasa_event",
        "rasa_events",
        "tracker_states",
        "current_states",
        "old_states",
        "successes",
        "current_entity",
        "next_entity",
        "states",
        "entity",
        "token_text",
        "user_message",
        "json_message",
    }
)
REMOVED = "[removed]"

# Loggers that come with handlers of their own (uvicorn's and Sanic's defaults): in our
# configuration they have none and pass their records to the root handler.
_PROPAGATING = (
    "uvicorn",
    "uvicorn.error",
    "sanic.root",
    "sanic.error",
    "sanic.server",
    "sanic.websockets",
)


def _utc(created: float, msecs: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(msecs):03d}Z"


def _structlog_event(message: str) -> dict[str, Any] | None:
    """Rasa's structlog events arrive as one JSON object in the message; None otherwise."""
    if not (message.startswith('{"') and message.endswith("}")):
        return None
    try:
        event = json.loads(message)
    except ValueError:
        return None
    return event if isinstance(event, dict) and "event" in event else None


def _clean_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: REMOVED if key in USER_CONTENT_KEYS else redact_value(value)
        for key, value in fields.items()
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per record, personal data redacted (see the module's docstring)."""

    def __init__(self, process_name: str = "zijwijzer") -> None:
        super().__init__()
        self.process_name = process_name

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei)).text

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, Any] = {
            "time": _utc(record.created, record.msecs),
            "level": record.levelname,
            "logger": record.name,
            "message": "",
            "process": self.process_name,
            "pid": record.process,
        }
        event = _structlog_event(message)
        if event is not None:
            message = str(event.pop("event"))
            event.pop("level", None)  # already there
        entry["message"] = redact(message).text
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        if event:
            entry["fields"] = _clean_fields(event)
        if record.exc_info:
            # Not record.exc_text: another handler may have cached an unredacted copy.
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info)).text
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`make run`'s readable lines, with the request id when there is one; redacted too."""

    def __init__(self, fmt: str = TEXT_FORMAT, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei)).text

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        request_id = getattr(record, "request_id", None) or current_request_id()
        return f"{line} [request {request_id}]" if request_id else line

    def format(self, record: logging.LogRecord) -> str:
        # Redact the merged message, then let logging lay out the line; the record is
        # restored for any other handler.
        saved = record.msg, record.args, record.exc_text
        record.msg, record.args = redact(record.getMessage()).text, None
        record.exc_text = None
        try:
            return super().format(record)
        finally:
            record.msg, record.args, record.exc_text = saved


def log_format(value: str | None = None) -> str:
    """The log format: `value`, else ZIJWIJZER_LOG_FORMAT; "json", or "text" for anything else."""
    raw = (value if value is not None else os.environ.get(FORMAT_ENV, "")).strip().lower()
    return JSON if raw == JSON else TEXT


def dict_config(process_name: str, level: str = "INFO", fmt: str = TEXT) -> dict[str, Any]:
    """A `logging.config.dictConfig` configuration: one stderr handler on the root logger
    with our formatter and the request-id filter; uvicorn's and Sanic's loggers pass their
    records to it. Rasa takes the same dictionary as a file (`--logging-config-file`),
    uvicorn as `log_config`."""
    formatter: dict[str, Any] = (
        {"()": "bot.common.logs.JsonFormatter", "process_name": process_name}
        if fmt == JSON
        else {"()": "bot.common.logs.TextFormatter"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "bot.common.request_context.RequestIdFilter"}},
        "formatters": {"main": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "main",
                "filters": ["request_id"],
            }
        },
        "loggers": {name: {"handlers": [], "propagate": True} for name in _PROPAGATING},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
    }


def configure(process_name: str, level: str = "INFO", fmt: str | None = None) -> str:
    """Sets up this process's logging (root handler on stderr); returns the format used.

    In JSON mode Python's warnings go through logging too, so that every line is JSON.
    """
    chosen = log_format(fmt)
    logging.config.dictConfig(dict_config(process_name, level, chosen))
    if chosen == JSON:
        logging.captureWarnings(True)
    return chosen


def write_config_file(path: Path, process_name: str, level: str, fmt: str) -> Path:
    """The configuration as a file (JSON, which Rasa's YAML reader takes) for a process that
    only accepts a file, such as the engine (`--logging-config-file`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict_config(process_name, level, fmt), indent=2), encoding="utf-8")
    return path


def uses_json(logger: logging.Logger | None = None) -> bool:
    """Whether the root logger (or `logger`) already writes through our JSON formatter."""
    target = logger or logging.getLogger()
    return any(isinstance(h.formatter, JsonFormatter) for h in target.handlers)
