"""A fake of Meta's Graph API for the WhatsApp channel, and the webhooks Meta would send.

`FakeGraphApi` answers `POST /<version>/<phone number id>/messages` like the Cloud API does
(the access token checked, a message id back), records every request with the status it gave,
and fails the next requests on demand (`fail_next`: an outage, a rate limit, a closed window).
The helpers below build the webhook bodies Meta POSTs, signed as Meta signs them.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.channels.fakes import Call, LocalServer, answer_json

VERSION = "v24.0"
PHONE_NUMBER_ID = "109876543210"
ACCESS_TOKEN = "EAAG-whatsapp-test-access-token"
APP_SECRET = "meta-app-secret-of-the-tests"
VERIFY_TOKEN = "meta-verify-token-of-the-tests"
_message_ids = itertools.count(1)


@dataclass
class Failure:
    status: int
    code: int | None = None
    retry_after: int | None = None


class FakeGraphApi(LocalServer):
    def __init__(self) -> None:
        self._failures: list[Failure] = []
        super().__init__()

    @property
    def api_url(self) -> str:
        return f"{self.url}/{VERSION}"

    def fail_next(
        self, count: int, status: int = 503, code: int | None = None, retry_after: int | None = None
    ) -> None:
        """The next `count` sends get this answer instead of being accepted."""
        with self._lock:
            self._failures.extend(Failure(status, code, retry_after) for _ in range(count))

    def recover(self) -> None:
        """The outage is over: the failures still scripted are dropped."""
        with self._lock:
            self._failures.clear()

    def _answer(
        self, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, Any, Failure | None]:
        with self._lock:
            if headers.get("authorization") != f"Bearer {ACCESS_TOKEN}":
                failure: Failure | None = Failure(401, 190)
            else:
                failure = self._failures.pop(0) if self._failures else None
            status = failure.status if failure else 200
            self.calls.append(Call("whatsapp", "messages", body, headers, status))
        if failure is not None:
            error = {"message": "(test failure)", "type": "OAuthException", "code": failure.code}
            return failure.status, {"error": error}, failure
        accepted = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
            "messages": [{"id": f"wamid.OUT{next(_message_ids)}"}],
        }
        return 200, accepted, None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != f"/{VERSION}/{PHONE_NUMBER_ID}/messages":
                    self.send_error(404)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer, failure = fake._answer(body, headers)
                if failure is not None and failure.retry_after is not None:
                    self.send_response(status)
                    data = json.dumps(answer).encode()
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Retry-After", str(failure.retry_after))
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                answer_json(self, status, answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextlib.contextmanager
def fake_graph_api() -> Iterator[FakeGraphApi]:
    fake = FakeGraphApi()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


# ---- what the bot sent ----------------------------------------------------------------------


def to_number(wa_id: str, *, accepted: bool = True) -> Any:
    """A predicate: messages sent to this WhatsApp id (only the accepted ones by default)."""

    def predicate(call: Call) -> bool:
        return (
            call.service == "whatsapp"
            and call.params.get("to") == wa_id
            and (call.status == 200 or not accepted)
        )

    return predicate


def shown_text(body: dict[str, Any]) -> str:
    """What the user reads of a message: a text's body or an interactive message's body."""
    if body.get("type") == "text":
        return str(body["text"]["body"])
    if body.get("type") == "interactive":
        return str(body["interactive"]["body"]["text"])
    return ""


def choices(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(kind, title, id) of each choice of a message: kind "button_reply" or "list_reply"."""
    interactive = body.get("interactive") or {}
    action = interactive.get("action") or {}
    if interactive.get("type") == "button":
        return [("button_reply", b["reply"]["title"], b["reply"]["id"]) for b in action["buttons"]]
    if interactive.get("type") == "list":
        return [
            ("list_reply", row["title"], row["id"])
            for section in action["sections"]
            for row in section["rows"]
        ]
    return []


# ---- what Meta sends --------------------------------------------------------------------------


def new_message_id() -> str:
    return f"wamid.IN{next(_message_ids):08d}"


def text_message(
    wa_id: str, text: str, *, message_id: str | None = None, sent_at: float | None = None
) -> dict[str, Any]:
    return {
        "from": wa_id,
        "id": message_id or new_message_id(),
        "timestamp": str(int(time.time() if sent_at is None else sent_at)),
        "type": "text",
        "text": {"body": text},
    }


def choice_message(wa_id: str, kind: str, title: str, choice_id: str) -> dict[str, Any]:
    """A pressed reply button ("button_reply") or a chosen list row ("list_reply")."""
    return {
        "from": wa_id,
        "id": new_message_id(),
        "timestamp": str(int(time.time())),
        "type": "interactive",
        "interactive": {"type": kind, kind: {"id": choice_id, "title": title}},
    }


def webhook(
    messages: list[dict[str, Any]] | None = None,
    *,
    statuses: list[dict[str, Any]] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> bytes:
    """A webhook POST body as Meta sends it (one entry, one change)."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "31850000000", "phone_number_id": phone_number_id},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "Rita"}, "wa_id": m["from"]} for m in messages]
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    envelope = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-1", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(envelope).encode()


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
