"""The production shape under faults: HAProxy, two engines, two action servers, PostgreSQL, Redis.

One session-wide shape (tests/prod/conftest.py). The tests talk to it as the widget does
(/webhooks/widget/...), through the load balancer or, to force a race, to the engines directly,
and read the turns from PostgreSQL. The engine-killing test runs last: the `prod_shape` fixture
restarts a dead engine before any later test.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser import screenshot_path
from tests.prod.conftest import Prod
from tests.stack import texts
from tests.web.channel_client import Answer, WidgetConversation
from tools.prod import haproxy_sessions

pytestmark = pytest.mark.integration

# From the first question to the advice (as tests/integration/test_engine_roundtrip.py).
INTAKE = [
    "hoi",
    "ik wil graag advies",
    "ouderenzorg",
    "zo snel mogelijk aan het werk",
    "weet ik nog niet",
    "ik ben 38",
    "havo",
    "nee",
    "nee",
    "nee nog geen werkgever",
    "24 uur",
    "nee",
    "Utrecht",
]
# A turn waits for the engine; on a busy 2-core machine that can take a while.
TURN_TIMEOUT_MS = 90_000


def conversation(prod: Prod, url: str | None = None) -> WidgetConversation:
    # As a browser on the demo page sends it: the load balancer's own origin.
    return WidgetConversation.start(url or prod.url, headers={"Origin": prod.url})


def advice(answers: list[Answer]) -> dict[str, Any]:
    """The advice in the last answer; every answer's texts when there is none."""
    customs = [reply["custom"] for reply in answers[-1].body if "custom" in reply]
    assert len(customs) == 1, [texts(answer.body) for answer in answers]
    assert customs[0]["type"] == "advice"
    return dict(customs[0])


def turns(events: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Each stored user message with the events after it, up to the next user message."""
    result: list[tuple[str, list[dict[str, Any]]]] = []
    for event in events:
        if event["event"] == "user":
            result.append((event["text"], []))
        elif result:
            result[-1][1].append(event)
    return result


def assert_whole_turns(events: list[dict[str, Any]]) -> None:
    """Every turn is whole and on its own: the bot answered it and listened again before the
    next user message was handled (interleaved turns break this)."""
    for text, after in turns(events):
        kinds = [event["event"] for event in after]
        assert "bot" in kinds, f"no answer stored for {text!r}: {kinds}"
        last = after[-1]
        assert (last["event"], last.get("name")) == ("action", "action_listen"), (text, kinds)


def user_texts(events: list[dict[str, Any]]) -> list[str]:
    return [event["text"] for event in events if event["event"] == "user"]


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, dict(answer.headers.items()), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def test_a_conversation_through_the_load_balancer_reaches_advice(prod_shape: Prod) -> None:
    chat = conversation(prod_shape)
    answers = [chat.send(message) for message in INTAKE]
    assert [a.status for a in answers] == [200] * len(INTAKE), answers
    assert advice(answers)["steps"]
    # HAProxy gives every request its own id, and says it in the answer too.
    ids = [a.headers.get("x-request-id") for a in answers]
    assert all(ids) and len(set(ids)) == len(ids)

    events = prod_shape.events(chat.conversation_id)
    assert user_texts(events) == INTAKE
    assert_whole_turns(events)

    # The widget's page, through the same door, points the widget at that door.
    status, _, page = get(f"{prod_shape.url}/")
    assert status == 200
    assert f'data-chat-url="{prod_shape.url}"'.encode() in page
    # The advice link is served by the web app behind the same door.
    link = advice(answers)["link"]
    assert link.startswith(f"{prod_shape.url}/advies/")
    assert get(link)[0] == 200
    # Metrics never through the public door.
    for path in ("/metrics", "/webhooks/metrics"):
        assert get(f"{prod_shape.url}{path}")[0] == 404


def test_two_messages_at_once_on_two_engines_are_handled_one_at_a_time(prod_shape: Prod) -> None:
    chat = conversation(prod_shape)
    assert chat.send("hoi").status == 200
    messages = {1: "ik wil graag advies", 2: "wat is een leereenheid"}
    start = threading.Barrier(len(messages))
    answers: dict[int, Answer] = {}

    def send(number: int) -> None:
        # The same conversation straight to each engine, bypassing the load balancer.
        direct = WidgetConversation(
            prod_shape.engine_url(number), chat.conversation_id, chat.token, chat.headers
        )
        start.wait()
        answers[number] = direct.send(messages[number])

    threads = [threading.Thread(target=send, args=(n,)) for n in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [answers[n].status for n in messages] == [200, 200], answers
    assert all(texts(answers[n].body) for n in messages)

    events = prod_shape.events(chat.conversation_id)
    stored = user_texts(events)
    assert stored[0] == "hoi"
    assert sorted(stored[1:]) == sorted(messages.values())
    assert_whole_turns(events)


def test_redis_cut_refuses_the_turn_and_stores_nothing(
    prod_shape: Prod, dutch: dict[str, dict[str, Any]]
) -> None:
    chat = conversation(prod_shape)
    assert chat.send("hoi").status == 200

    prod_shape.redis_proxy.cut()
    refused = chat.send("ik wil graag advies")
    # A clear, honest refusal, not an answer: the turn could not be locked, so it did not run.
    assert refused.status == 503, refused
    assert isinstance(refused.body, dict)
    assert refused.body["error"] == "storage_unavailable"
    assert refused.body["message"] == dutch["utter_storage_unavailable"]["text"]
    assert user_texts(prod_shape.events(chat.conversation_id)) == ["hoi"]

    prod_shape.redis_proxy.restore()
    again = chat.send("ik wil graag advies")
    assert again.status == 200, again
    events = prod_shape.events(chat.conversation_id)
    assert user_texts(events) == ["hoi", "ik wil graag advies"]
    assert_whole_turns(events)


def test_the_widget_in_a_browser_chats_through_the_one_door(
    prod_shape: Prod, browser: Browser, dutch: dict[str, dict[str, Any]]
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TURN_TIMEOUT_MS)
    expect.set_options(timeout=TURN_TIMEOUT_MS)
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))  # http(s) and data:
    try:
        page.goto(f"{prod_shape.url}/")
        page.get_by_role("button", name="Chat met Zijwijzer").click()
        page.get_by_role("button", name="Akkoord, start de chat").click()
        last_text = page.locator(".zw-message.zw-bot .zw-text").last
        expect(last_text).to_have_text(starts(dutch["utter_greet"]["text"]))
        page.locator(".zw-message.zw-bot").last.get_by_role("button", name="Ja, graag").click()
        expect(last_text).to_have_text(starts(dutch["utter_ask_sector"]["text"]))
        field = page.locator(".zw-input")
        field.fill("in de ouderenzorg")
        field.press("Enter")
        expect(last_text).to_have_text(starts(dutch["utter_ask_goal"]["text"]))
        page.screenshot(path=screenshot_path("prod-widget-through-haproxy"))
    finally:
        expect.set_options(timeout=5_000)
        context.close()
    assert errors == []
    # Page, widget and chat all from the load balancer's origin: nothing cross-site.
    assert any("/webhooks/widget/webhook" in url for url in requests)
    web = [url for url in requests if url.startswith(("http:", "https:"))]
    assert all(url.startswith(f"{prod_shape.url}/") for url in web), web


def starts(text: str) -> re.Pattern[str]:
    return re.compile(re.escape(text.split("{")[0].strip()))


def served_by(prod: Prod, request_id: str) -> str:
    """The server HAProxy sent a request to, from its log (a line per request, once answered)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in prod.stack.log("haproxy").read_text(errors="replace").splitlines():
            words = line.split()
            if words and words[0] == request_id:
                return words[2].partition("/")[2]
        time.sleep(0.1)
    raise AssertionError(f"request {request_id} not in HAProxy's log")


def wait_for_turn_at_the_action_servers(prod: Prod, engine: str) -> None:
    """Until HAProxy holds a request open to `engine` and one to the (paused) action servers:
    the turn reached that engine and waits there for its action call (a bounded poll)."""
    socket = prod.stack.haproxy_socket

    def open_requests(*servers: str) -> int:
        return sum(haproxy_sessions(socket, server) for server in servers)

    deadline = time.monotonic() + 10
    while not (
        open_requests(f"engines/{engine}") and open_requests("actions/actions1", "actions/actions2")
    ):
        if time.monotonic() > deadline:
            raise AssertionError(f"no turn waiting in {engine} for the action servers")
        time.sleep(0.05)


def post_raw(url: str, token: str, body: dict[str, Any]) -> tuple[int, bytes]:
    """A widget message whose answer may not be JSON (HAProxy's own 502 page)."""
    request = urllib.request.Request(
        f"{url}/webhooks/widget/webhook",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def signal_group(prod: Prod, key: str, sig: signal.Signals) -> None:
    prod.stack.signal(key, sig)


def test_z_an_engine_killed_during_a_turn_the_other_carries_on(prod_shape: Prod) -> None:
    # Last in this module: it kills an engine (the fixture restarts it for any later test).
    chat = conversation(prod_shape)
    before = 3
    answers = [chat.send(message) for message in INTAKE[:before]]
    assert [a.status for a in answers] == [200] * before, answers
    # Round robin: the next request through the door goes to the other engine.
    last = served_by(prod_shape, answers[-1].headers["x-request-id"])
    victim = "engine2" if last == "engine1" else "engine1"

    # The action servers paused: the next turn waits in the engine for its form validation.
    message_id = uuid.uuid4().hex
    body = {"conversation_id": chat.conversation_id, "message": INTAKE[before]}
    first: list[tuple[int, bytes]] = []
    for key in ("actions1", "actions2"):
        signal_group(prod_shape, key, signal.SIGSTOP)
    try:
        sending = threading.Thread(
            target=lambda: first.append(
                post_raw(prod_shape.url, chat.token, {**body, "message_id": message_id})
            )
        )
        sending.start()
        wait_for_turn_at_the_action_servers(prod_shape, victim)
        prod_shape.stack.kill(victim)
    finally:
        for key in ("actions1", "actions2"):
            signal_group(prod_shape, key, signal.SIGCONT)
    sending.join(timeout=60)
    # The turn was cut off inside the engine. HAProxy sends it to the other engine (its
    # connection closed without an answer: `retry-on empty-response`), which takes it once the
    # killed engine's ticket for this conversation has expired (seconds: it is no longer
    # renewed); when that retry fails too, the client gets 502 and the widget resends.
    assert first and first[0][0] in (200, 502), first

    # The widget's resend of the same message: the stored answer when the turn was stored
    # (never a second turn), else the turn itself.
    resent = chat.send(INTAKE[before], message_id=message_id, resend=True)
    assert resent.status == 200, resent
    if first[0][0] == 200:
        assert resent.body == json.loads(first[0][1])
    answers = [resent] + [chat.send(message) for message in INTAKE[before + 1 :]]
    assert [a.status for a in answers] == [200] * len(answers), answers
    # The advice needs every slot: the answers given before the kill were kept.
    assert advice(answers)["steps"]

    events = prod_shape.events(chat.conversation_id)
    assert user_texts(events) == INTAKE  # each once, in order: none lost, none doubled
    assert_whole_turns(events)
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert (slots["age"], slots["hours_per_week"], slots["region"]) == (38, 24, "Utrecht")
