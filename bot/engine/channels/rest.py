"""Rasa's REST channel behind a key: POST /webhooks/rest/webhook {"sender", "message"}.

Registered in credentials.yml as `bot.engine.channels.rest.TrustedRestInput:`. Rasa's RestInput
believes any sender id it is sent, so whoever reaches it could write into (and read the
answers of) anyone's conversation. This subclass lets a request through only with
`Authorization: Bearer <ZIJWIJZER_REST_API_KEY>` (constant-time compare); anything else is
answered 401 with `WWW-Authenticate: Bearer` and reaches no conversation.

It is a server-to-server door (`make chat`, tests, the benchmark, an operator's own
integration), never one for browsers: the website widget has its own channel with
per-conversation tokens (bot/engine/channels/widget.py). The key comes from bot/common/settings.py:
by
default derived from ZIJWIJZER_SECRET_KEY (`derive_secret(secret_key, "rest-channel")`), so
tools on the same machine know it without configuration; ZIJWIJZER_REST_API_KEY sets another
one, and `ZIJWIJZER_REST_API_KEY=off` switches the channel off (one log line, no routes).
The name stays "rest", so the URL is Rasa's usual /webhooks/rest/webhook.

Unlike Rasa's RestInput, a turn that failed is an error: 503 {"error": "storage_unavailable",
"retry_after", "message"} (with Retry-After) when the tracker store is down, 500 otherwise;
never a 200 with a partial or unstored answer. No `?stream=true`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.common.request_context import begin_turn
from bot.common.settings import load_settings
from bot.engine import tokens
from bot.engine.channels.widget_protocol import DEFAULT_LANGUAGE, response_text
from bot.engine.engine_faults import STORAGE_RESPONSE, StorageUnavailable

logger = logging.getLogger(__name__)


def key_ok(authorization: str | None, key: str) -> bool:
    """Whether an Authorization header carries exactly `key` as its bearer token."""
    given = tokens.bearer_token(authorization)
    if not key or given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), key.encode("utf-8"))


class TrustedRestInput(RestInput):  # type: ignore[misc]  # rasa has no type information
    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TrustedRestInput:
        # Nothing secret in credentials.yml: the key comes from the settings.
        return cls(load_settings().rest_api_key)

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = load_settings().rest_api_key if api_key is None else api_key

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        if not self.api_key:
            logger.info("REST channel off: ZIJWIJZER_REST_API_KEY is 'off'.")
            return Blueprint("custom_webhook_TrustedRestInput_off", __name__)
        rest = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def receive(request: Request) -> HTTPResponse:
            return await self._receive(request, on_new_message)

        async def authenticate(request: Request) -> HTTPResponse | None:
            # Blueprint middleware runs before each of this channel's routes only.
            if key_ok(request.headers.get("Authorization"), self.api_key):
                return None
            return response.json(
                {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"}
            )

        rest.middleware(authenticate, "request")
        # add_route rather than decorators: typed for mypy, the same in Sanic 21.
        rest.add_route(health, "/", methods=["GET"])
        rest.add_route(receive, "/webhook", methods=["POST"])
        return rest

    async def _receive(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        """Rasa's receive, except that a failed turn is an error status, not a 200 with
        whatever was collected (Rasa's also logs the message text on failure), and that there
        is no streaming: the answer goes out only after the turn was stored."""
        try:
            body = request.json
        except Exception:  # Sanic raises its own error type for bad JSON
            body = None
        if not isinstance(body, dict):
            return response.json({"error": "bad_request"}, status=400)
        sender, text = body.get("sender"), body.get("message")
        if not isinstance(sender, str) or not sender or not isinstance(text, str):
            return response.json({"error": "bad_request"}, status=400)
        begin_turn(request.headers)  # the turn's request id, for every log line of it
        collector = CollectingOutputChannel()
        try:
            await on_new_message(
                UserMessage(
                    text,
                    collector,
                    sender,
                    input_channel=self.name(),
                    metadata=self.get_metadata(request),
                )
            )
        except StorageUnavailable:
            agent = getattr(request.app.ctx, "agent", None)
            responses = getattr(getattr(agent, "domain", None), "responses", None) or {}
            message = response_text(responses, STORAGE_RESPONSE, DEFAULT_LANGUAGE)
            return response.json(
                {
                    "error": "storage_unavailable",
                    "retry_after": StorageUnavailable.retry_after,
                    "message": message,
                },
                status=503,
                headers={"Retry-After": str(StorageUnavailable.retry_after)},
            )
        except asyncio.CancelledError:
            logger.error("rest: a message timed out")
            return response.json({"error": "timeout"}, status=503)
        except Exception:
            # Never the message text in the log: it may hold personal data.
            logger.exception("rest: handling a message failed")
            return response.json({"error": "server_error"}, status=500)
        return response.json(collector.messages)
