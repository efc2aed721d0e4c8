"""The request id of the turn being handled, for log records in every process.

Standard library only: the engine's channels (.venv-rasa) and the action server, the web app
and the worker (.venv) all import it. One id follows a turn from the load balancer through
the engine to the action server:

- the load balancer sets `X-Request-ID` (HAProxy: `unique-id-format` and
  `http-request set-header X-Request-ID %[unique-id]`, overwriting what a client sent);
- each engine channel calls `begin_turn(request.headers)` at the start of a turn: the id is
  taken when it is well formed, else a new one is made, and it is kept in a context variable
  for the rest of that turn's task;
- the engine's turn hook (bot/engine/channels/metrics.py) puts it into the user message's metadata
  (`"request_id"`), so the action server finds it in `tracker.latest_message["metadata"]`
  and logs with the same id (bot/app/action_server.py);
- `RequestIdFilter` puts the current id on every log record (`record.request_id`, None when
  no turn is being handled); bot/common/logs.py writes it out.

A context variable, not a global: Sanic, uvicorn and asyncio run each request in its own
task, and `asyncio.to_thread` copies the context, so concurrent turns never mix their ids.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import TypeGuard

from bot.common.redaction import redact

REQUEST_ID_HEADER = "X-Request-ID"
# The key of a user message's metadata that carries the id to the action server.
METADATA_KEY = "request_id"
MAX_LENGTH = 64
# Letters, digits and a few separators (UUIDs, HAProxy's hex ids, "host:pid:counter"): nothing
# that could break a log line or carry free text.
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")

_current: ContextVar[str | None] = ContextVar("zijwijzer_request_id", default=None)


def new_request_id() -> str:
    """A fresh random id: 32 hexadecimal characters."""
    return uuid.uuid4().hex


def valid_request_id(value: object) -> TypeGuard[str]:
    """Whether `value` is usable as a request id: a short string of safe characters that
    holds nothing the redactor would remove (a phone number is digits too)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_LENGTH
        and _SAFE.fullmatch(value) is not None
        and redact(value).text == value
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # Sanic's and Starlette's headers look up any case; a plain dict (tests, callers) does not.
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, item in headers.items():
        if key.lower() == wanted:
            return item
    return None


def begin_turn(headers: Mapping[str, str]) -> str:
    """Starts a turn's request id and returns it: the `X-Request-ID` header when it is well
    formed (`valid_request_id`), else a new random id. Later log records of this task (and of
    threads started with `asyncio.to_thread`) carry it.

    One line at the start of each channel's turn handler, before `on_new_message`:

        begin_turn(request.headers)

    The engine's turn hook then adds the id to the message's metadata by itself; a channel
    that builds its metadata may also write `metadata["request_id"] = begin_turn(request.headers)`.
    """
    candidate = _header(headers, REQUEST_ID_HEADER)
    request_id = candidate if valid_request_id(candidate) else new_request_id()
    _current.set(request_id)
    return request_id


def adopt(request_id: object) -> str:
    """Makes a request id received from another process (the action call's metadata) the
    current one; a missing or malformed id is replaced by a new one. Returns the id used."""
    value = request_id if valid_request_id(request_id) else new_request_id()
    _current.set(value)
    return value


def current_request_id() -> str | None:
    """The id of the turn this task is handling; None outside a turn."""
    return _current.get()


def set_request_id(request_id: str | None) -> Token[str | None]:
    """Sets the current id as given (tests, a worker's unit of work); reset with `reset`."""
    return _current.set(request_id)


def reset(token: Token[str | None]) -> None:
    _current.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (the current turn's id, or None) to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _current.get()
        return True
