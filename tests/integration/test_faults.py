"""Faults survived, caused for real against one running engine (bot/engine/engine_faults.py).

One stack for the module (an engine start costs 40-60 s): the tracker store on PostgreSQL
(ZIJWIJZER_TEST_POSTGRES_URL; a fresh database per run, dropped afterwards) reached through a
TCP proxy the test cuts and restores (tests/faultproxy.py), and an action server the test
stops (SIGSTOP: slow), continues, kills (down) and starts again.

Measured figures are printed (`-s`): the answer time with the action server stopped or down,
and how long the first turn after the database came back took.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.channels.fakes import FakeApis, fake_apis
from tests.channels.test_recruiter_channels import Channels, telegram_text
from tests.faultproxy import FaultProxy
from tests.postgres import POSTGRES_SKIP_REASON, POSTGRES_URL_ENV
from tests.stack import (
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    Stack,
    start_stack,
    texts,
    wait_for_unread_request,
)
from tests.web.channel_client import WidgetConversation
from tools import assistant

pytestmark = pytest.mark.integration

T = TypeVar("T")

# The bound for an honest answer when the action server is down or slow.
ACTION_ANSWER_BOUND_SECONDS = 6.0


@dataclass
class Faults:
    stack: Stack
    proxy: FaultProxy
    # Where the test reads what the engine stored (directly, not through the proxy).
    database_url: str
    # The Telegram channel's fake Bot API.
    fake: FakeApis


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    url = os.environ.get(POSTGRES_URL_ENV, "").strip()
    if not url:
        pytest.skip(POSTGRES_SKIP_REASON)
    name = f"zw_faults_{secrets.token_hex(4)}"
    admin = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faults]:
    with fresh_database() as database_url, fake_apis() as fake:
        parsed = make_url(database_url)
        with FaultProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
            through_proxy = parsed.set(host="127.0.0.1", port=proxy.port)
            extra = {
                "ZIJWIJZER_TRACKER_DATABASE_URL": through_proxy.render_as_string(
                    hide_password=False
                ),
                "ZIJWIJZER_ACTION_TIMEOUT_SECONDS": "5",
                "ZIJWIJZER_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
                "ZIJWIJZER_TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
                "ZIJWIJZER_TELEGRAM_API_URL": fake.url,
            }
            folder = tmp_path_factory.mktemp("faults")
            with start_stack(folder, extra_env=extra) as stack:
                yield Faults(stack, proxy, database_url, fake)


def rest(stack: Stack, sender: str, message: str) -> tuple[int, Any]:
    body = json.dumps({"sender": sender, "message": message}).encode()
    request = urllib.request.Request(
        f"{stack.engine_url}/webhooks/rest/webhook", data=body, headers=stack.rest_headers
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def stored_user_texts(database_url: str, sender: str) -> list[str]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT data FROM events WHERE sender_id = :sender AND type_name = 'user' "
                    "ORDER BY id"
                ),
                {"sender": sender},
            ).scalars()
            return [json.loads(row)["text"] for row in rows]
    finally:
        engine.dispose()


def test_database_cut_refuses_turns_honestly_and_loses_none(
    faults: Faults, dutch: dict[str, dict[str, Any]]
) -> None:
    stack, proxy = faults.stack, faults.proxy
    sender = f"db-{uuid.uuid4().hex[:10]}"
    unavailable = dutch["utter_storage_unavailable"]["text"]
    answered: list[str] = []

    def turn(message: str, expected: str) -> None:
        status, body = rest(stack, sender, message)
        assert status == 200, (status, body, stack.diagnostics())
        assert texts(body)[-1] == dutch[expected]["text"], body
        answered.append(message)

    turn("hoi", "utter_greet")
    turn("ik wil graag advies", "utter_ask_sector")

    proxy.cut()
    try:
        for message in ("in de ouderenzorg", "ouderenzorg"):
            status, body = rest(stack, sender, message)
            # Refused, with the friendly text; no normal answer.
            assert status == 503, (status, body)
            assert body["error"] == "storage_unavailable" and body["retry_after"] > 0
            assert body["message"] == unavailable
        # The widget channel says the same, in both languages (the conversation's language
        # cannot be read while the database is down).
        widget = WidgetConversation.start(stack.engine_url)
        refused = widget.send("hoi", message_id="m-widget-0001")
        assert refused.status == 503, refused
        assert refused.body["error"] == "storage_unavailable"
        assert refused.body["messages"]["nl"] == unavailable
        assert refused.headers["retry-after"] == str(refused.body["retry_after"])
    finally:
        proxy.restore()

    # The next turn after the database is back works (stale connections are replaced).
    started = time.monotonic()
    turn("ouderenzorg", "utter_ask_goal")
    print(f"\nfirst turn after the database came back: {time.monotonic() - started:.2f} s")
    turn("zo snel mogelijk aan het werk", "utter_ask_target")

    # Every turn that was answered is stored, in order, once; the refused ones are not.
    assert stored_user_texts(faults.database_url, sender) == answered


def running_action_server(stack: Stack) -> assistant.Process:
    return [p for p in stack.processes if p.name == "action server" and p.popen.poll() is None][-1]


def cut_during_save(faults: Faults, send: Callable[[], T]) -> T:
    """What `send` (one turn) gets when the database goes away after the turn read its tracker
    and before it saves: the turn waits at the paused action server meanwhile."""
    actions = running_action_server(faults.stack)
    answer: list[T] = []
    os.killpg(actions.popen.pid, signal.SIGSTOP)
    try:
        worker = threading.Thread(target=lambda: answer.append(send()))
        worker.start()
        # The turn got past its read: its action call waits at the paused action server.
        wait_for_unread_request(faults.stack.settings.action_port)
        faults.proxy.cut()
        worker.join(timeout=120)
    finally:
        os.killpg(actions.popen.pid, signal.SIGCONT)
        faults.proxy.restore()
    return answer[0]


def test_database_lost_during_a_turn_refuses_it_at_the_save(
    faults: Faults, dutch: dict[str, dict[str, Any]]
) -> None:
    stack = faults.stack
    sender = f"save-{uuid.uuid4().hex[:10]}"
    for message, expected in (("hoi", "utter_greet"), ("ik wil graag advies", "utter_ask_sector")):
        status, body = rest(stack, sender, message)
        assert status == 200 and texts(body)[-1] == dutch[expected]["text"], body
    # The turn reads its tracker, then waits for the (stopped) action server; meanwhile the
    # database goes away, so its save fails.
    status, body = cut_during_save(faults, lambda: rest(stack, sender, "ouderenzorg"))
    assert status == 503 and body["error"] == "storage_unavailable", body
    engine_log = stack.logs["engine"].read_text(encoding="utf-8", errors="replace")
    assert "(OperationalError at save)" in engine_log  # it was the save that failed
    status, body = rest(stack, sender, "ouderenzorg")
    assert status == 200 and texts(body) == [dutch["utter_ask_goal"]["text"]], body
    assert stored_user_texts(faults.database_url, sender) == [
        "hoi",
        "ik wil graag advies",
        "ouderenzorg",
    ]


def test_telegram_updates_refused_while_the_database_is_down_are_handled_when_resent(
    faults: Faults,
) -> None:
    stack, proxy = faults.stack, faults.proxy
    channels = Channels(stack, faults.fake)
    chat = 900_000 + secrets.randbelow(99_999)
    sender = f"telegram:{chat}"
    sends = channels.sent_to_chat(chat)

    # Down before the update arrives: refused (an error status: Telegram sends it again).
    hello = telegram_text(chat * 10, chat, "hoi")
    proxy.cut()
    try:
        assert channels.telegram(hello)[0] == 503
    finally:
        proxy.restore()
    assert faults.fake.select(sends) == []
    assert channels.telegram(hello)[0] == 200  # the redelivery is handled, once
    assert channels.telegram(hello)[0] == 200
    asked = telegram_text(chat * 10 + 1, chat, "ik wil graag advies")
    assert channels.telegram(asked)[0] == 200
    answered = len(faults.fake.wait_for(sends, count=2))

    # Down during the turn (after its read, at its save; the release of the claim fails
    # too): refused, and nothing was sent to the chat.
    age = telegram_text(chat * 10 + 2, chat, "38")
    assert cut_during_save(faults, lambda: channels.telegram(age))[0] == 503
    assert len(faults.fake.select(sends)) == answered
    # Telegram's redelivery is handled (not dropped as a duplicate) and answered.
    assert channels.telegram(age)[0] == 200
    assert len(faults.fake.wait_for(sends, count=answered + 1)) > answered
    assert channels.telegram(age)[0] == 200  # and from now on it is a duplicate
    assert stored_user_texts(faults.database_url, sender) == ["hoi", "ik wil graag advies", "38"]


def test_action_server_slow_then_down_gets_an_honest_answer_and_the_form_goes_on(
    faults: Faults, dutch: dict[str, dict[str, Any]]
) -> None:
    stack = faults.stack
    sender = f"act-{uuid.uuid4().hex[:10]}"
    unavailable = dutch["utter_action_unavailable"]["text"]
    actions = running_action_server(stack)

    def timed(message: str) -> tuple[float, list[str]]:
        started = time.monotonic()
        status, body = rest(stack, sender, message)
        took = time.monotonic() - started
        assert status == 200, (status, body, stack.diagnostics())
        return took, texts(body)

    assert timed("hoi")[1] == [dutch["utter_greet"]["text"]]
    assert timed("ik wil graag advies")[1][-1] == dutch["utter_ask_sector"]["text"]

    # Slow: the action server's processes are stopped; connections hang unanswered.
    os.killpg(actions.popen.pid, signal.SIGSTOP)
    try:
        took, said = timed("ouderenzorg")
    finally:
        os.killpg(actions.popen.pid, signal.SIGCONT)
    print(f"\naction server stopped (SIGSTOP): answered in {took:.2f} s: {said}")
    assert said[0] == unavailable
    assert dutch["utter_ask_goal"]["text"] not in said  # the answer was not taken
    assert took < ACTION_ANSWER_BOUND_SECONDS
    # Back: the intake is where it was (the sector still asked), and the answer now counts.
    assert timed("ouderenzorg")[1] == [dutch["utter_ask_goal"]["text"]]

    # Down: killed; connection refused.
    assistant.stop([actions])
    took, said = timed("zo snel mogelijk aan het werk")
    print(f"action server down (killed): answered in {took:.2f} s: {said}")
    assert said[0] == unavailable
    assert took < ACTION_ANSWER_BOUND_SECONDS
    with stack.logs["actions"].open("ab") as log:  # the child keeps its own copy
        restarted = assistant.start_action_server(stack.settings, stack.env, output=log)
    stack.processes.append(restarted)
    # Ready for traffic (its catalogue and answers' model loaded, as HAProxy and Kubernetes
    # wait for), not only alive: on a busy machine the load takes longer than a turn may.
    assert restarted.ready_url is not None
    warm = dataclasses.replace(
        restarted, ready_url=restarted.ready_url.replace("/health", "/ready")
    )
    assistant.wait_ready([warm], timeout=120)
    assert timed("zo snel mogelijk aan het werk")[1] == [dutch["utter_ask_target"]["text"]]


def test_a_widget_resend_of_a_stored_message_gets_its_answer_not_a_second_turn(
    faults: Faults, dutch: dict[str, dict[str, Any]]
) -> None:
    stack = faults.stack
    widget = WidgetConversation.start(stack.engine_url)
    widget.say("/greet", silent=True, language="nl", message_id="m-greet-00001")
    first = widget.say("ik wil graag advies", message_id="m-advice-0001")
    assert texts(first)[-1] == dutch["utter_ask_sector"]["text"]
    # The answer got lost on the way (say, the engine stopped after its save): the widget
    # sends the message again with the same id, and gets the stored answer.
    again = widget.say("ik wil graag advies", message_id="m-advice-0001", resend=True)
    assert again == first
    # A resend whose first attempt never got stored is handled as a new turn.
    new = widget.say("ouderenzorg", message_id="m-sector-0001", resend=True)
    assert texts(new) == [dutch["utter_ask_goal"]["text"]]
    assert stored_user_texts(faults.database_url, widget.conversation_id) == [
        "/greet",
        "ik wil graag advies",
        "ouderenzorg",
    ]
