"""Request ids per turn: taken from the load balancer's header when well formed, else new."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re

import pytest

from bot.common import request_context
from bot.common.request_context import (
    RequestIdFilter,
    adopt,
    begin_turn,
    current_request_id,
    valid_request_id,
)

NEW_ID = re.compile(r"[0-9a-f]{32}")


def in_fresh_context(function: object, *args: object) -> object:
    """Runs `function` in an empty context, as a new request task would."""
    return contextvars.Context().run(function, *args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "header",
    [
        "9f0c6d1e-2b7a-4c11-9d3e-5a6b7c8d9e0f",  # HAProxy's %[uuid()]
        "a1b2c3d4e5f6",
        "web-01:4242:17",
        "X" * 64,
    ],
)
def test_a_well_formed_header_is_taken(header: str) -> None:
    def turn() -> tuple[str, str | None]:
        return begin_turn({"X-Request-ID": header}), current_request_id()

    assert in_fresh_context(turn) == (header, header)


def test_the_header_is_found_in_any_case() -> None:
    assert in_fresh_context(begin_turn, {"x-request-id": "abc123"}) == "abc123"
    assert in_fresh_context(begin_turn, {"X-REQUEST-ID": "abc123"}) == "abc123"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "X" * 65,  # too long
        "abc 123",  # a space
        "abc\n{}",  # would break a log line
        "<script>",
        "-starts-with-a-dash",
        "jan@example.nl",  # personal data: an e-mail address
        "0612345678",  # a phone number is digits, but still personal data
        "ik heet Jan",
    ],
)
def test_a_bad_header_is_replaced_by_a_new_id(header: str) -> None:
    request_id = in_fresh_context(begin_turn, {"X-Request-ID": header})
    assert isinstance(request_id, str)
    assert request_id != header
    assert NEW_ID.fullmatch(request_id)


def test_without_a_header_each_turn_gets_a_new_id() -> None:
    first = in_fresh_context(begin_turn, {})
    second = in_fresh_context(begin_turn, {"Content-Type": "application/json"})
    assert isinstance(first, str) and NEW_ID.fullmatch(first)
    assert first != second


def test_adopt_takes_a_valid_id_and_replaces_anything_else() -> None:
    assert in_fresh_context(adopt, "engine-id-1") == "engine-id-1"
    for bad in (None, 42, "", "a b", {"id": "x"}):
        made = in_fresh_context(adopt, bad)
        assert isinstance(made, str) and NEW_ID.fullmatch(made)


def test_valid_request_id() -> None:
    assert valid_request_id("abc")
    assert not valid_request_id(None)
    assert not valid_request_id(b"abc")
    assert not valid_request_id("06-12345678")


async def test_concurrent_turns_keep_their_own_ids() -> None:
    seen: dict[str, str | None] = {}

    async def turn(header: str) -> None:
        begin_turn({"X-Request-ID": header})
        await asyncio.sleep(0)  # let the other turn run in between
        # A thread started from the turn sees the same id (asyncio.to_thread copies it).
        seen[header] = await asyncio.to_thread(current_request_id)

    await asyncio.gather(turn("turn-a"), turn("turn-b"))
    assert seen == {"turn-a": "turn-a", "turn-b": "turn-b"}


def test_the_filter_puts_the_current_id_on_records() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)

    def log_in_turn() -> object:
        begin_turn({"X-Request-ID": "turn-42"})
        RequestIdFilter().filter(record)
        return record.request_id

    assert in_fresh_context(log_in_turn) == "turn-42"
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    assert in_fresh_context(RequestIdFilter().filter, outside) is True
    assert outside.request_id is None


def test_set_and_reset() -> None:
    def scoped() -> tuple[str | None, str | None]:
        token = request_context.set_request_id("unit-1")
        inside = current_request_id()
        request_context.reset(token)
        return inside, current_request_id()

    assert in_fresh_context(scoped) == ("unit-1", None)
