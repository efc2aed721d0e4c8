"""The thin clients of the Graph API (WhatsApp) and the Bot Framework connector (Teams) against
local fakes: what each answer means for a reply, the OAuth token's cache, the allow-list, and
the timeout."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.engine.channels.outbox import Outcome, Pending
from bot.engine.channels.teams_client import ConnectorClient, ConnectorToken, TokenUnavailable
from bot.engine.channels.teams_protocol import TeamsAddress
from bot.engine.channels.whatsapp_client import GraphClient
from tests.channels.fake_botframework import (
    APP_ID,
    APP_PASSWORD,
    FakeBotFramework,
    fake_bot_framework,
)
from tests.channels.fake_meta import ACCESS_TOKEN, PHONE_NUMBER_ID, FakeGraphApi, fake_graph_api

WA_ID = "31612345678"


def pending(body: dict[str, object], address: dict[str, object] | None = None) -> Pending:
    return Pending(
        1, "whatsapp", f"whatsapp:{WA_ID}", dict(address or {"wa_id": WA_ID}), dict(body), 0
    )


def text(to: str = WA_ID) -> dict[str, object]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "hoi"}}


@pytest.fixture
def graph() -> Iterator[FakeGraphApi]:
    with fake_graph_api() as fake:
        yield fake


def client_of(graph: FakeGraphApi, token: str = ACCESS_TOKEN) -> GraphClient:
    return GraphClient(graph.api_url, PHONE_NUMBER_ID, token, timeout=2.0)


def test_graph_accepts_a_message_sent_with_the_token(graph: FakeGraphApi) -> None:
    assert client_of(graph).send(pending(text())).outcome is Outcome.SENT
    (call,) = graph.calls
    assert call.params == text() and call.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (503, None, Outcome.RETRY),
        (500, 131000, Outcome.RETRY),
        (429, 130429, Outcome.RETRY),
        (400, 131056, Outcome.RETRY),  # pair rate limit
        (400, 131047, Outcome.DROP),  # the 24-hour window is closed
        (400, 100, Outcome.DROP),  # a malformed message
        (404, None, Outcome.DROP),
    ],
)
def test_graph_answers_mean_retry_or_drop(
    graph: FakeGraphApi, status: int, code: int | None, outcome: Outcome
) -> None:
    graph.fail_next(1, status, code)
    result = client_of(graph).send(pending(text()))
    assert result.outcome is outcome
    assert str(status) in result.error and ACCESS_TOKEN not in result.error
    if code == 131047:
        assert "24-hour" in result.error


def test_graph_retry_after_is_passed_on(graph: FakeGraphApi) -> None:
    graph.fail_next(1, 429, 130429, retry_after=42)
    assert client_of(graph).send(pending(text())).retry_after == 42.0


def test_a_refused_token_keeps_the_reply_for_a_new_token(
    graph: FakeGraphApi, caplog: pytest.LogCaptureFixture
) -> None:
    result = client_of(graph, "expired-token").send(pending(text()))
    assert result.outcome is Outcome.RETRY
    assert "access token" in caplog.text and "expired-token" not in caplog.text


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """A server that accepts a request and never answers it."""
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            release.wait(10)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_graph_timeout_and_no_connection_are_retried() -> None:
    with silent_server() as url:
        slow = GraphClient(url, PHONE_NUMBER_ID, ACCESS_TOKEN, timeout=0.3).send(pending(text()))
    assert slow.outcome is Outcome.RETRY and "Timeout" in slow.error
    gone = GraphClient(
        f"http://127.0.0.1:{free_port()}", PHONE_NUMBER_ID, ACCESS_TOKEN, timeout=1.0
    )
    assert gone.send(pending(text())).outcome is Outcome.RETRY


# ---- Teams -------------------------------------------------------------------------------------


@pytest.fixture
def bf() -> Iterator[FakeBotFramework]:
    with fake_bot_framework() as fake:
        yield fake


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def teams_pending(bf: FakeBotFramework, service_url: str | None = None) -> Pending:
    address = TeamsAddress(
        service_url or bf.service_url, "a:1chat", f"28:{APP_ID}", "Zijwijzer", "29:rita"
    )
    body = {"type": "message", "text": "hoi", "conversation": {"id": "a:1chat"}}
    return Pending(7, "teams", "teams:a:1chat", address.as_dict(), body, 0)


def connector(
    bf: FakeBotFramework, clock: Clock | None = None, allowed: tuple[str, ...] | None = None
) -> tuple[ConnectorClient, ConnectorToken]:
    token = ConnectorToken(bf.token_url, APP_ID, APP_PASSWORD, timeout=2.0, clock=clock or Clock())
    return ConnectorClient(token, allowed if allowed is not None else (bf.url,), timeout=2.0), token


def test_replies_carry_a_cached_client_credentials_token(bf: FakeBotFramework) -> None:
    clock = Clock()
    client, token = connector(bf, clock)
    for _ in range(3):
        assert client.send(teams_pending(bf)).outcome is Outcome.SENT
    assert token.fetches == 1
    sent = bf.select(lambda c: c.service == "teams")
    assert [c.method for c in sent] == ["a:1chat"] * 3
    assert {c.headers["authorization"] for c in sent} == {f"Bearer {next(iter(bf.issued))}"}
    # Shortly before it expires (an hour) a new one is fetched.
    clock.now += 3600 - 200
    assert client.send(teams_pending(bf)).outcome is Outcome.SENT
    assert token.fetches == 2


def test_a_refused_token_is_dropped_and_the_reply_retried_with_a_new_one(
    bf: FakeBotFramework,
) -> None:
    client, token = connector(bf)
    assert client.send(teams_pending(bf)).outcome is Outcome.SENT
    bf.expire_tokens()
    first = client.send(teams_pending(bf))
    assert first.outcome is Outcome.RETRY and "401" in first.error
    assert client.send(teams_pending(bf)).outcome is Outcome.SENT
    assert token.fetches == 2


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (503, Outcome.RETRY),
        (429, Outcome.RETRY),
        (403, Outcome.DROP),
        (404, Outcome.DROP),
        (400, Outcome.DROP),
    ],
)
def test_connector_answers_mean_retry_or_drop(
    bf: FakeBotFramework, status: int, outcome: Outcome
) -> None:
    client, _ = connector(bf)
    bf.fail_next(1, status)
    assert client.send(teams_pending(bf)).outcome is outcome


def test_no_token_no_reply_yet(bf: FakeBotFramework) -> None:
    token = ConnectorToken(bf.token_url, APP_ID, "wrong-password", timeout=2.0)
    with pytest.raises(TokenUnavailable):
        token.get()
    result = ConnectorClient(token, (bf.url,)).send(teams_pending(bf))
    assert result.outcome is Outcome.RETRY and "wrong-password" not in result.error
    assert bf.select(lambda c: c.service == "teams") == []


def test_a_service_url_off_the_allow_list_gets_neither_reply_nor_token(
    bf: FakeBotFramework,
) -> None:
    client, token = connector(bf, allowed=("https://smba.trafficmanager.net",))
    result = client.send(teams_pending(bf))
    assert result.outcome is Outcome.DROP and "allow-list" in result.error
    assert token.fetches == 0 and bf.select(lambda c: c.service in ("teams", "token")) == []
