"""Fixtures of the handoff tests (the app databases are tests/bot/conftest.py's): a PostgreSQL
schema of their own, and a local webhook receiver with scripted answers."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.app.handoff.signature import SIGNATURE_HEADER, verify_handoff_signature
from tests.postgres import postgres_schema


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL of a schema of its own, for tests that open several Databases on it."""
    with postgres_schema() as url:
        yield url


# ---- the webhook receiver -------------------------------------------------------------------

# What the receiver does with one request: an HTTP status, or ("sleep", seconds, status): a
# receiver slower than the sender's timeout (the sender gives up; nothing waits for the sleep).
Answer = int | tuple[str, float, int]
# The longest a request is held for `together` or `release` (a bound, never a sequencing delay).
HOLD_SECONDS = 0.5
RELEASE_SECONDS = 30.0


# The secret the receiver checks signatures with; the tests give the sender the same.
WEBHOOK_SECRET = "handoff-webhook-secret-of-the-tests"


@dataclass
class Received:
    key: str | None
    body: dict[str, Any]
    status: int
    # Whether X-Zijwijzer-Signature signed this raw body with WEBHOOK_SECRET, recently.
    signed: bool = False


@dataclass
class Receiver:
    """Answers requests from `script` in turn (then `then`), and records every request.

    Like a real receiver it checks the signature first: a request without a good one gets 401
    and counts as received but not accepted.
    """

    url: str = ""
    secret: str = WEBHOOK_SECRET
    script: list[Answer] = field(default_factory=list)
    then: Answer = 200
    # Each request is held until this many are in flight at once (or HOLD_SECONDS passed):
    # senders seen delivering at the same time.
    together: int = 1
    # When set by a test, every answer waits for it (at most RELEASE_SECONDS).
    release: threading.Event | None = None
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    most_in_flight: int = 0
    arrivals: threading.Condition = field(default_factory=threading.Condition)

    def next_answer(self) -> Answer:
        with self.lock:
            return self.script.pop(0) if self.script else self.then

    def record(self, item: Received) -> None:
        with self.lock:
            self.received.append(item)

    def hold(self) -> None:
        """Holds a request that arrived (see `together` and `release`)."""
        with self.arrivals:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.arrivals.notify_all()
            self.arrivals.wait_for(lambda: self.in_flight >= self.together, HOLD_SECONDS)
        if self.release is not None:
            self.release.wait(RELEASE_SECONDS)

    def answered(self) -> None:
        with self.arrivals:
            self.in_flight -= 1

    def per_key(self) -> Counter[str | None]:
        with self.lock:
            return Counter(r.key for r in self.received)

    def accepted_per_key(self) -> Counter[str | None]:
        with self.lock:
            return Counter(r.key for r in self.received if 200 <= r.status < 300)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        body = json.loads(raw or b"{}")
        signed = verify_handoff_signature(
            receiver.secret, self.headers.get(SIGNATURE_HEADER), raw, now=time.time()
        )
        answer = receiver.next_answer() if signed else 401
        seconds, status = (answer[1], answer[2]) if isinstance(answer, tuple) else (0.0, answer)
        # Recorded on arrival: a request the client gave up on still reached the receiver.
        receiver.record(Received(self.headers.get("Idempotency-Key"), body, status, signed))
        receiver.hold()
        time.sleep(seconds)
        # The client may have given up (a timeout): then there is nobody to answer.
        try:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
        finally:
            receiver.answered()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = _Server(("127.0.0.1", 0), _Handler)
    found = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/handoff")
    server.receiver = found
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class FakeClock:
    """A clock the test moves forward by hand (timezone-aware UTC)."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now = self.now + dt.timedelta(seconds=seconds)
