"""The web app's request metrics and request ids, and `GET /metrics`.

`RequestMetricsMiddleware` (the outermost layer, added in bot/app/web/app.py) times every HTTP
request, counts it by method, route template (`/advies/{token}`, never the token itself) and
status, and runs it under a request id: the load balancer's `X-Request-ID` when well formed,
else a new one (bot/common/request_context.py), echoed in the answer's `X-Request-ID`. Requests no
route matched count as route "unmatched". `GET /metrics` gives the figures of bot/app/metrics.py
(WebMetrics, the handoff outbox read from the database, the process) in Prometheus' format;
it is left out of the OpenAPI description, and the load balancer refuses it from outside.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.app.metrics import WebMetrics, exposition
from bot.common.request_context import REQUEST_ID_HEADER, begin_turn

router = APIRouter()

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The matched route's path template ("/advies/{token}", "/static"), or "unmatched"."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RequestMetricsMiddleware:
    """Counts, times and tags every HTTP request (pure ASGI: same task as the route)."""

    def __init__(self, app: ASGIApp, metrics: WebMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        request_id = begin_turn(headers)
        status = 500  # when the app fails before it answers
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER.lower().encode(), request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            method = str(scope.get("method", "")).upper()
            self.metrics.record(
                method if method in METHODS else "other",
                route_template(scope),
                status,
                time.perf_counter() - started,
            )


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    body, content_type = exposition(
        request.app.state.metrics_registry, request.headers.get("accept")
    )
    return Response(content=body, media_type=content_type)
