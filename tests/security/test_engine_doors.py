"""Every door of the running engine refuses who may not pass (issue 9), proven against the
processes themselves: the REST channel's key, the widget's tokens, the HTTP API's JWT (and
the API being off), the widget's rate limits, the body size limit and the allowed origins.

Uses the two session stacks (tests/conftest.py), so no engine is started for this module:
`stack` (default settings, API on with JWT, generous limits) and `strict_stack` (API off, low
widget limits, client address from a proxy header). "Nothing stored" is read from the tracker
store's SQLite file itself.
"""

from __future__ import annotations

import itertools
import json
import select
import socket
import sqlite3
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

import pytest

from bot.engine.tokens import issue_token, new_conversation, new_conversation_id
from tests.conftest import StrictStack
from tests.stack import (
    CLIENT_ADDRESS_HEADER,
    PREVIOUS_SECRET_KEY,
    STRICT_LIMITS,
    Stack,
    texts,
)
from tests.web.channel_client import Answer, WidgetConversation, call
from tools import assistant
from tools import chat as chat_client

pytestmark = pytest.mark.integration

TIMEOUT = 60.0
EVIL_ORIGIN = "https://evil.example"
TWO_MIB = 2 * 1024 * 1024
_addresses = itertools.count(1)


@dataclass
class Response:
    status: int
    body: bytes
    # Header names in lower case.
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> object:
        return json.loads(self.body)


def request(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> Response:
    sent = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(sent, timeout=TIMEOUT) as answer:
            items, status, data = answer.headers.items(), answer.status, answer.read()
    except urllib.error.HTTPError as error:
        items, status, data = error.headers.items(), error.code, error.read()
    return Response(status, data, {name.lower(): value for name, value in items})


def stored_user_texts(stack: Stack, sender: str) -> list[str]:
    if not stack.tracker_db.exists():
        return []
    with sqlite3.connect(stack.tracker_db) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        if "events" not in tables:
            return []
        rows = db.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id",
            (sender,),
        ).fetchall()
    return [json.loads(data)["text"] for (data,) in rows]


def stored_event_count(stack: Stack, sender: str) -> int:
    if not stack.tracker_db.exists():
        return 0
    with sqlite3.connect(stack.tracker_db) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM events WHERE sender_id = ?", (sender,)
        ).fetchone()
    return int(count)


def post_oversized(engine_url: str, path: str, size: int, headers: dict[str, str]) -> int:
    """POSTs a body of `size` bytes and returns the status the server answers.

    Raw socket: the server answers 413 and closes before it has read the body, and a plain
    HTTP client, still writing, would see a broken pipe instead of the answer. This one
    stops writing as soon as an answer arrives.
    """
    host, port = engine_url.removeprefix("http://").split(":")
    head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {size}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    chunk = b"a" * 65_536
    answer = b""
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(head.encode("ascii"))
        sent = 0
        deadline = time.monotonic() + TIMEOUT
        try:
            while sent < size and time.monotonic() < deadline:
                readable, writable, _ = select.select([sock], [sock], [], 1.0)
                if readable:
                    break
                if writable:
                    sent += sock.send(chunk[: size - sent])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: its answer is waiting
        try:
            while b"\r\n" not in answer:
                data = sock.recv(4096)
                if not data:
                    break
                answer += data
        except ConnectionResetError:
            pass
    assert answer.startswith(b"HTTP/1."), f"no HTTP answer: {answer[:80]!r}"
    return int(answer.split(b" ", 2)[1])


# ---- REST channel: only with its key ------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer ", "Bearer wrong-key", "Basic dXNlcjpwYXNz", "REST_KEY_AS_QUERY"],
    ids=["none", "empty", "bearer-empty", "wrong-key", "basic", "key-in-url"],
)
def test_rest_without_its_key_is_refused_and_reaches_no_conversation(
    stack: Stack, authorization: str | None
) -> None:
    # A victim's conversation exists; the forger names its sender id.
    victim = f"victim-{uuid.uuid4().hex[:12]}"
    assert texts(stack.say(victim, "hoi"))
    before = stored_event_count(stack, victim)
    url = f"{stack.engine_url}/webhooks/rest/webhook"
    headers = {"Content-Type": "application/json"}
    if authorization == "REST_KEY_AS_QUERY":
        url += f"?key={stack.settings.rest_api_key}"  # a key in a URL is no key at all
    elif authorization is not None:
        headers["Authorization"] = authorization
    body = json.dumps({"sender": victim, "message": "ik ben 38"}).encode()
    answer = request(url, "POST", body, headers)
    assert answer.status == 401
    assert answer.headers.get("www-authenticate") == "Bearer"
    assert answer.json() == {"error": "unauthorized"}
    assert stored_event_count(stack, victim) == before
    assert stored_user_texts(stack, victim) == ["hoi"]


def test_rest_with_its_key_reaches_the_bot_also_from_make_chat(stack: Stack) -> None:
    sender = f"rest-{uuid.uuid4().hex[:12]}"
    url = f"{stack.engine_url}/webhooks/rest/webhook"
    # tools/chat.py (`make chat`) sends the key from the same settings as the engine's.
    assert texts(chat_client.send(url, sender, "hoi", stack.settings.rest_api_key))
    with pytest.raises(urllib.error.HTTPError) as refused:
        chat_client.send(url, sender, "ik ben 38", "not-the-key")
    assert refused.value.code == 401
    assert stored_user_texts(stack, sender) == ["hoi"]


# ---- widget channel: only with the conversation's own token ------------------------------------


def test_widget_message_for_another_conversation_is_refused_without_an_answer(
    stack: Stack,
) -> None:
    mine = WidgetConversation.start(stack.engine_url)
    theirs = WidgetConversation.start(stack.engine_url)
    assert theirs.say("hoi")
    # My valid token, their conversation id: the sender id is not mine to choose.
    body = {"conversation_id": theirs.conversation_id, "message": "ik ben 38"}
    answer = call(stack.engine_url, "POST", "/webhook", token=mine.token, body=body)
    assert (answer.status, answer.body) == (401, {"error": "unauthorized"})
    assert answer.headers.get("www-authenticate") == "Bearer"
    # A token issued for another id (signed by us), sent with their id: the same.
    other = issue_token(stack.settings.secret_key, new_conversation_id(), days=1)
    answer = call(stack.engine_url, "POST", "/webhook", token=other.token, body=body)
    assert (answer.status, answer.body) == (401, {"error": "unauthorized"})
    assert stored_user_texts(stack, theirs.conversation_id) == ["hoi"]
    assert stored_event_count(stack, mine.conversation_id) == 0


def test_widget_tampered_and_expired_tokens_are_refused(stack: Stack) -> None:
    key = stack.settings.secret_key
    fresh = issue_token(key, new_conversation_id(), days=1)
    version, cid, expires, signature = fresh.token.split(".")
    expired = issue_token(key, new_conversation_id(), days=1, now=time.time() - 2 * 86_400)
    tampered = {
        "longer expiry": f"{version}.{cid}.{int(expires) + 365 * 86_400}.{signature}",
        "other id": f"{version}.{new_conversation_id()}.{expires}.{signature}",
        "changed signature": f"{version}.{cid}.{expires}.{signature[:-2]}AA",
        "expired": expired.token,
        "unknown key": new_conversation("not-our-key", days=1).token,
    }
    for why, token in tampered.items():
        conversation_id = token.split(".")[1]
        body = {"conversation_id": conversation_id, "message": "hoi"}
        answer = call(stack.engine_url, "POST", "/webhook", token=token, body=body)
        assert answer.status == 401, why
        assert stored_event_count(stack, conversation_id) == 0, why
        assert call(stack.engine_url, "GET", "/history", token=token).status == 401, why


def test_widget_token_of_the_previous_key_still_works(stack: Stack) -> None:
    # ZIJWIJZER_PREVIOUS_SECRET_KEYS: conversations started before a key rotation go on.
    old = new_conversation(PREVIOUS_SECRET_KEY, days=1)
    chat = WidgetConversation(stack.engine_url, old.conversation_id, old.token)
    assert texts(chat.say("hoi"))
    assert chat.history()["conversation_id"] == old.conversation_id


# ---- Rasa's HTTP API: JWT only, or off ----------------------------------------------------------


def test_http_api_without_a_valid_jwt_is_refused(stack: Stack) -> None:
    sender = f"api-{uuid.uuid4().hex[:12]}"
    stack.say(sender, "hoi")
    tracker_url = f"{stack.engine_url}/conversations/{sender}/tracker"
    secret = stack.settings.engine_api_jwt_secret
    expired = assistant.api_jwt(secret, ttl_seconds=60, now=time.time() - 7200)
    header, payload, _ = assistant.api_jwt(secret).split(".")
    refused: dict[str, tuple[str, dict[str, str]]] = {
        "no credentials": (tracker_url, {}),
        # Rasa's --auth-token travels in the URL; it is not configured, so nothing opens.
        "token in the url": (tracker_url + "?" + "token=" + secret, {}),
        "empty token in the url": (tracker_url + "?" + "token=", {}),
        "other secret": (
            tracker_url,
            {"Authorization": f"Bearer {assistant.api_jwt('not-the-secret')}"},
        ),
        "expired": (tracker_url, {"Authorization": f"Bearer {expired}"}),
        "no signature": (tracker_url, {"Authorization": f"Bearer {header}.{payload}."}),
        "the REST key": (
            tracker_url,
            {"Authorization": f"Bearer {stack.settings.rest_api_key}"},
        ),
    }
    for why, (url, headers) in refused.items():
        answer = request(url, headers=headers)
        assert answer.status == 401, why
        assert sender.encode() not in answer.body, why
    assert request(f"{stack.engine_url}/status").status == 401
    # With the JWT: the tracker.
    answer = request(tracker_url, headers=stack.api_headers())
    assert answer.status == 200
    tracker = answer.json()
    assert isinstance(tracker, dict) and tracker["sender_id"] == sender


def test_http_api_is_not_served_when_off(strict_stack: StrictStack) -> None:
    stack = strict_stack.stack
    jwt = assistant.api_jwt("whatever")
    for path in ("/status", "/conversations/someone/tracker", "/version"):
        for headers in ({}, {"Authorization": f"Bearer {jwt}"}):
            assert request(f"{stack.engine_url}{path}", headers=headers).status == 404, path
    answer = request(f"{stack.engine_url}/model/parse", "POST", b'{"text": "hoi"}')
    assert answer.status == 404
    # The readiness check the launcher uses without the API.
    ready = request(f"{stack.engine_url}/webhooks/widget/")
    assert (ready.status, ready.json()) == (200, {"status": "ok"})


# ---- body size ----------------------------------------------------------------------------------


def test_a_2_mib_body_is_refused_with_413(stack: Stack) -> None:
    assert stack.settings.engine_max_body_bytes == 1024 * 1024
    rest = post_oversized(stack.engine_url, "/webhooks/rest/webhook", TWO_MIB, stack.rest_headers)
    assert rest == 413
    chat = WidgetConversation.start(stack.engine_url)
    widget_headers = {"Content-Type": "application/json", "Authorization": f"Bearer {chat.token}"}
    assert post_oversized(
        stack.engine_url, "/webhooks/widget/webhook", TWO_MIB, widget_headers
    ) == (413)
    assert stored_event_count(stack, chat.conversation_id) == 0
    # The engine goes on answering.
    assert texts(chat.say("hoi"))


# ---- origins ------------------------------------------------------------------------------------


def test_a_disallowed_origin_is_refused_and_gets_no_cors_header(stack: Stack) -> None:
    allowed = stack.settings.allowed_origins[0]
    refused = call(stack.engine_url, "POST", "/conversations", headers={"Origin": EVIL_ORIGIN})
    assert (refused.status, refused.body) == (403, {"error": "origin_not_allowed"})
    assert "access-control-allow-origin" not in refused.headers
    chat = WidgetConversation.start(stack.engine_url, headers={"Origin": allowed})
    evil = dict(chat.headers, Origin=EVIL_ORIGIN)
    body = {"conversation_id": chat.conversation_id, "message": "hoi"}
    answer = call(stack.engine_url, "POST", "/webhook", token=chat.token, body=body, headers=evil)
    assert (answer.status, answer.body) == (403, {"error": "origin_not_allowed"})
    assert "access-control-allow-origin" not in answer.headers
    history = call(stack.engine_url, "GET", "/history", token=chat.token, headers=evil)
    assert history.status == 403
    assert stored_event_count(stack, chat.conversation_id) == 0
    # The browser's preflight from that site is not allowed either.
    preflight = request(
        f"{stack.engine_url}/webhooks/widget/webhook",
        "OPTIONS",
        headers={"Origin": EVIL_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.headers.get("access-control-allow-origin") in (None, "")
    # The allowed site: answered, with its origin in the CORS header.
    answer = chat.send("hoi")
    assert answer.status == 200 and texts(answer.body)
    assert answer.headers.get("access-control-allow-origin") == allowed


# ---- rate limits (strict stack: low limits, the client address from X-Real-IP) -------------------


def new_client() -> dict[str, str]:
    """Headers of a client with an address of its own (as a proxy would report it)."""
    number = next(_addresses)
    return {CLIENT_ADDRESS_HEADER: f"198.51.{100 + number // 250}.{number % 250 + 1}"}


def fresh_window(seconds: int, needed: float = 20.0) -> None:
    """Waits for the next window when less than `needed` seconds are left in this one, so a
    test's requests are counted in one fixed window (bot/engine/ratelimit.py)."""
    left = seconds - time.time() % seconds
    if left < needed:
        # Not ordering events: a wait for the engine's clock to reach the next window (the
        # running engine's clock cannot be controlled from here).
        time.sleep(left + 0.2)


def assert_rate_limited(answer: Answer, window: int) -> None:
    assert answer.status == 429
    assert answer.body["error"] == "rate_limited"
    retry_after = answer.body["retry_after"]
    assert 1 <= retry_after <= window
    assert answer.headers.get("retry-after") == str(retry_after)


def test_messages_per_conversation_are_limited(strict_stack: StrictStack) -> None:
    stack = strict_stack.stack
    limit = STRICT_LIMITS["ZIJWIJZER_WIDGET_MESSAGES_PER_MINUTE"]
    fresh_window(60)
    client = new_client()
    chat = WidgetConversation.start(stack.engine_url, headers=client)
    assert texts(chat.say("hoi"))
    # Malformed messages count too: they cost a request all the same.
    for _ in range(limit - 1):
        assert chat.send("   ").status == 400
    assert_rate_limited(chat.send("ik ben 38"), 60)
    assert stored_user_texts(stack, chat.conversation_id) == ["hoi"]
    # Another conversation of the same client is counted on its own.
    other = WidgetConversation.start(stack.engine_url, headers=client)
    assert texts(other.say("hoi"))


def test_messages_per_client_address_are_limited(strict_stack: StrictStack) -> None:
    stack = strict_stack.stack
    limit = STRICT_LIMITS["ZIJWIJZER_WIDGET_MESSAGES_PER_MINUTE_PER_ADDRESS"]
    fresh_window(60)
    client = new_client()
    chat = WidgetConversation.start(stack.engine_url, headers=client)
    # Guessing tokens counts against the address: the guesses are limited as well.
    body = {"conversation_id": chat.conversation_id, "message": "hoi"}
    for guess in range(limit):
        answer = call(
            stack.engine_url, "POST", "/webhook", token=f"guess-{guess}", body=body, headers=client
        )
        assert answer.status == 401
    assert_rate_limited(chat.send("hoi"), 60)
    assert stored_event_count(stack, chat.conversation_id) == 0
    # The same conversation from another address is answered: the limit is the address's.
    elsewhere = WidgetConversation(stack.engine_url, chat.conversation_id, chat.token, new_client())
    assert texts(elsewhere.say("hoi"))


def test_new_conversations_per_client_address_are_limited(strict_stack: StrictStack) -> None:
    stack = strict_stack.stack
    limit = STRICT_LIMITS["ZIJWIJZER_WIDGET_CONVERSATIONS_PER_HOUR_PER_ADDRESS"]
    fresh_window(3600)
    client = new_client()
    paths = ["/conversations", "/restart"] * limit
    for path in paths[:limit]:
        assert call(stack.engine_url, "POST", path, headers=client).status == 201
    for path in ("/conversations", "/restart"):
        assert_rate_limited(call(stack.engine_url, "POST", path, headers=client), 3600)
    # Another client is not affected.
    assert call(stack.engine_url, "POST", "/conversations", headers=new_client()).status == 201
