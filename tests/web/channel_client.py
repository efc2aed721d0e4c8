"""A small client of the widget channel (/webhooks/widget/...) for tests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

TIMEOUT = 60.0


@dataclass
class Answer:
    status: int
    body: Any
    # Header names in lower case.
    headers: dict[str, str] = field(default_factory=dict)


def call(
    engine_url: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request; `headers` adds to (or replaces) the JSON ones: Origin, a proxy's client
    address header."""
    headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(
        f"{engine_url}/webhooks/widget{path}", data=data, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            return Answer(answer.status, json.load(answer), _lower(answer.headers.items()))
    except urllib.error.HTTPError as error:
        text = error.read()
        return Answer(error.code, json.loads(text) if text else None, _lower(error.headers.items()))


def _lower(items: Any) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in items}


@dataclass
class WidgetConversation:
    engine_url: str
    conversation_id: str
    token: str
    # Sent with every request of this conversation (a client address header, an Origin).
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls, engine_url: str, headers: dict[str, str] | None = None) -> WidgetConversation:
        answer = call(engine_url, "POST", "/conversations", headers=headers)
        assert answer.status == 201, answer
        return cls(
            engine_url, answer.body["conversation_id"], answer.body["token"], dict(headers or {})
        )

    def send(self, message: str, **extra: Any) -> Answer:
        body = {"conversation_id": self.conversation_id, "message": message, **extra}
        return call(
            self.engine_url, "POST", "/webhook", token=self.token, body=body, headers=self.headers
        )

    def say(self, message: str, **extra: Any) -> list[dict[str, Any]]:
        answer = self.send(message, **extra)
        assert answer.status == 200, answer
        replies: list[dict[str, Any]] = answer.body
        return replies

    def history(self) -> dict[str, Any]:
        answer = call(self.engine_url, "GET", "/history", token=self.token, headers=self.headers)
        assert answer.status == 200, answer
        result: dict[str, Any] = answer.body
        return result
