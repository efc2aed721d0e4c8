"""Fake Telegram Bot API and Slack Web API: a local HTTP server that records every call.

The engine's channels get this server's URL as their API base URL, so a test sees exactly what
the bot sent (method, parameters, buttons) without reaching api.telegram.org or slack.com.
`LocalServer` is the base of the other fakes (fake_meta.py, fake_botframework.py).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Call:
    service: str  # "telegram", "slack", "whatsapp", "teams", "token", "openid"
    method: str  # sendMessage, chat.postMessage, ... (the other fakes: the path)
    params: dict[str, Any]
    headers: dict[str, str]
    # The HTTP status the fake answered with.
    status: int = 200


class LocalServer:
    """A threaded HTTP server on a free loopback port, with the calls it recorded."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def select(self, predicate: Callable[[Call], bool]) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if predicate(call)]

    def wait_for(
        self, predicate: Callable[[Call], bool], count: int = 1, timeout: float = WAIT_SECONDS
    ) -> list[Call]:
        """The matching calls once there are at least `count` (fails after `timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.select(predicate)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} matching API calls, got {found}")
            time.sleep(0.1)


def answer_json(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class FakeApis(LocalServer):
    """Answers /bot<token>/<method> as Telegram and /api/<method> as Slack; records calls."""

    def __init__(self) -> None:
        self._message_id = 0
        super().__init__()

    def _record(self, call: Call) -> dict[str, Any]:
        with self._lock:
            self.calls.append(call)
            self._message_id += 1
            number = self._message_id
        if call.service == "slack":
            return {"ok": True, "channel": call.params.get("channel"), "ts": f"{number}.000100"}
        if call.method == "sendMessage":
            chat_id = int(call.params["chat_id"])
            result: Any = {
                "message_id": number,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": call.params.get("text", ""),
            }
        elif call.method == "getMe":
            result = {"id": 1, "is_bot": True, "first_name": "Zijwijzer", "username": "zw_bot"}
        else:
            result = True
        return {"ok": True, "result": result}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = self.path.strip("/").split("/")
                if len(parts) == 2 and parts[0].startswith("bot"):
                    service, method = "telegram", parts[1]
                elif len(parts) == 2 and parts[0] == "api":
                    service, method = "slack", parts[1]
                else:
                    self.send_error(404)
                    return
                content_type = self.headers.get("Content-Type", "")
                if "json" in content_type:
                    params = json.loads(body or b"{}")
                else:  # aiogram sends form fields, JSON-encoded where nested
                    params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                answer_json(self, 200, fake._record(Call(service, method, params, headers)))

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet test output

        return Handler


@contextlib.contextmanager
def fake_apis() -> Iterator[FakeApis]:
    fake = FakeApis()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
