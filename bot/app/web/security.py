"""Security headers and the request body limit for every response of the web app.

One ASGI middleware decides the headers by the kind of route, so no router can forget them:

- private pages (the staff console, the advice page and its PDF, and everything else we do not
  know, such as 404s and /health): nothing from elsewhere, never in a frame, never cached;
- the widget's demo page (`/`): may call the chat engine and may be framed by the sites that
  embed the widget (settings.allowed_origins);
- the widget's assets (`/static/...`): the same policy, and loadable by other sites (CORP).

Requests with a body over MAX_BODY_BYTES get 413 before a route reads them (by Content-Length,
or by counting a streamed body).
"""

from __future__ import annotations

import json
from typing import Final
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.common.settings import Settings

# The console's largest form is a 4,000-character note; nothing else we serve takes more,
# except a catalogue export an admin uploads (about 200 KB today).
MAX_BODY_BYTES: Final = 64 * 1024
LARGER_BODIES: Final[dict[str, int]] = {"/console/admin/catalogue/upload": 4 * 1024 * 1024}


def too_large(limit: int) -> str:
    return f"Request body too large: at most {limit} bytes."


TOO_LARGE: Final = too_large(MAX_BODY_BYTES)

PRIVATE: Final = "private"
DEMO: Final = "demo"
ASSET: Final = "asset"

# No page of ours uses any of these; a framed or injected page cannot either.
PERMISSIONS_POLICY: Final = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def route_kind(path: str) -> str:
    if path == "/":
        return DEMO
    if path.startswith("/static/"):
        return ASSET
    return PRIVATE


def _policy(frame_ancestors: str, scripts: str = "'self'", connect: str = "'self'") -> str:
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {scripts}",
            f"style-src {scripts}",
            "img-src 'self' data:",
            f"connect-src {connect}",
            "form-action 'self'",
            "base-uri 'none'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def security_headers(settings: Settings) -> dict[str, dict[str, str]]:
    """The headers each kind of route gets (see the module's docstring)."""
    common = {
        "X-Content-Type-Options": "nosniff",
        # The advice URL holds its secret token: never send it on.
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": PERMISSIONS_POLICY,
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if settings.public_url.startswith("https://"):
        common["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    # The demo page loads the widget from public_url, as an embedding site would.
    own = " ".join(dict.fromkeys(["'self'", origin(settings.public_url)]))
    # Only real http(s) origins may frame the widget's pages (never a "*").
    embedders = " ".join(
        dict.fromkeys(
            origin(o) for o in settings.allowed_origins if urlsplit(o).scheme in ("http", "https")
        )
    )
    widget_policy = _policy(
        embedders or "'none'", scripts=own, connect=f"'self' {origin(settings.chat_url)}"
    )
    unframed = {} if embedders else {"X-Frame-Options": "DENY"}
    return {
        PRIVATE: {
            **common,
            "Content-Security-Policy": _policy("'none'"),
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-store",
            "X-Robots-Tag": "noindex, nofollow",
        },
        DEMO: {**common, **unframed, "Content-Security-Policy": widget_policy},
        # Embedding sites load widget.js and widget.css from here.
        ASSET: {
            **common,
            **unframed,
            "Content-Security-Policy": widget_policy,
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    }


class _BodyTooLarge(Exception):
    pass


class SecurityMiddleware:
    """Sets security_headers() on every HTTP response and refuses oversized bodies (413)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.headers = security_headers(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = self.headers[route_kind(scope["path"])]
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    headers[name] = value
            await send(message)

        limit = LARGER_BODIES.get(scope["path"], MAX_BODY_BYTES)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send_with_headers, limit)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counted_receive, send_with_headers)
        except _BodyTooLarge:
            if started:
                raise
            await _too_large(send_with_headers, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or []:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return MAX_BODY_BYTES + 1  # unreadable: treated as too large
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": too_large(limit)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
