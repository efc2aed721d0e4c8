"""The website widget's channel in the Rasa engine: /webhooks/widget/...

Registered in credentials.yml as `bot.engine.channels.widget.WidgetInput:`; its settings come from
bot/common/settings.py. Every conversation has a random id and a signed token
(bot/engine/tokens.py);
only requests that carry the token of that conversation reach it. The checks and shapes
live in bot/engine/channels/widget_protocol.py (stdlib, unit-tested); this module only adapts
them to Rasa 3.6 and Sanic. Runs in .venv-rasa: stdlib, rasa and stdlib-only bot modules.

    POST /conversations           -> {"conversation_id", "token", "expires"}
    POST /restart                 -> the same: a new, empty conversation ("Nieuw gesprek")
    POST /webhook   (Bearer)      {"conversation_id", "message", "language"?, "title"?,
                                   "message_id"?, "resend"?}
                                  -> the bot's replies, as the REST channel gives them;
                                     503 {"error": "storage_unavailable", "retry_after",
                                     "message", "messages": {"nl", "en"}} when the tracker
                                     store or the lock store is down (nothing answered,
                                     nothing stored)
    GET  /history   (Bearer)      -> {"conversation_id", "language", "messages": [...]}
    GET  /                        -> 200 once the model is loaded, else 503 {"status": "loading"}
                                     (the launcher's readiness check: the HTTP API may be off)

Guards, in this order, each answered before anything reaches a conversation:
- Origin: a request whose Origin header names a site outside ZIJWIJZER_ALLOWED_ORIGINS gets
  403 {"error": "origin_not_allowed"} (browsers send Origin; server-side callers need none);
- limits (bot/engine/ratelimit.py), 429 {"error": "rate_limited", "retry_after": N} with a
  Retry-After header: messages per minute per client address (counted before the token is
  checked, so guessing is limited too) and per conversation, new conversations per hour per
  client address. The client address is Sanic's `request.remote_addr` when a proxy is
  configured (SANIC_PROXIES_COUNT, SANIC_REAL_IP_HEADER or SANIC_FORWARDED_SECRET), else the
  connection's address;
- the token (401), signed with the current secret key or one of ZIJWIJZER_PREVIOUS_SECRET_KEYS.

Resends: the widget gives each message a `message_id` and sends it again with `resend: true`
when the answer did not arrive. If the conversation's latest user message has that id, the
first attempt was stored and the stored answer is returned instead of a second turn. A message
sent without `resend` is checked the same way, by one indexed read of the latest stored user
message: HAProxy sends a request again to the other engine when the engine that had it died
without answering (deploy/haproxy.cfg, `retry-on empty-response`), and that engine may have
stored the turn before it died.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.lock_store import LockError
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.common.request_context import begin_turn
from bot.common.settings import Settings, load_settings
from bot.engine import ratelimit, tokens
from bot.engine.channels import widget_protocol as protocol
from bot.engine.engine_faults import STORAGE_RESPONSE, StorageUnavailable

logger = logging.getLogger(__name__)

# A widget message is a short JSON object; anything much larger is refused unread.
MAX_BODY_BYTES = 16_384
MINUTE, HOUR = 60, 3600
# The methods the Origin check applies to; CORS preflights (OPTIONS) are sanic-cors' job.
CHECKED_METHODS = ("GET", "POST")


def _refuse(status: int, error: str, **detail: Any) -> HTTPResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return response.json({"error": error, **detail}, status=status, headers=headers)


def _too_many(verdict: ratelimit.Verdict) -> HTTPResponse:
    return response.json(
        {"error": "rate_limited", "retry_after": verdict.retry_after},
        status=429,
        headers={"Retry-After": str(verdict.retry_after)},
    )


def storage_unavailable(request: Request, language: str | None) -> HTTPResponse:
    """503 for a turn the tracker store could not read or write, or the lock store could not
    lock: nothing was answered or stored, and the person is told so in words from domain.yml
    (both languages: the conversation's language cannot be read while the store is down)."""
    agent = getattr(request.app.ctx, "agent", None)
    responses = getattr(getattr(agent, "domain", None), "responses", None) or {}
    messages = {
        code: text
        for code in protocol.LANGUAGES
        if (text := protocol.response_text(responses, STORAGE_RESPONSE, code))
    }
    body: dict[str, Any] = {
        "error": "storage_unavailable",
        "retry_after": StorageUnavailable.retry_after,
        "messages": messages,
    }
    message = messages.get(language or protocol.DEFAULT_LANGUAGE)
    if message:
        body["message"] = message
    return response.json(
        body, status=503, headers={"Retry-After": str(StorageUnavailable.retry_after)}
    )


def client_address(request: Request) -> str:
    """The client's address: from the proxy's headers only when a proxy is configured
    (else anyone could name any address), otherwise the connection's own."""
    config = request.app.config
    proxied = any(
        config.get(name) for name in ("PROXIES_COUNT", "REAL_IP_HEADER", "FORWARDED_SECRET")
    )
    address = request.remote_addr if proxied else ""
    return str(address or request.ip or "unknown")


class WidgetInput(InputChannel):  # type: ignore[misc]  # rasa has no type information here
    @classmethod
    def name(cls) -> str:
        return "widget"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WidgetInput:
        # Nothing secret in credentials.yml: the key and limits come from the settings.
        return cls(load_settings())

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self.limiter = ratelimit.limiter_for(self.settings.redis_url)

    async def _limit(self, name: str, subject: str, limit: int, window: int) -> HTTPResponse | None:
        verdict = await self.limiter.hit(name, subject, limit, window)
        return None if verdict.allowed else _too_many(verdict)

    async def _new_conversation(self, request: Request) -> HTTPResponse:
        refused = await self._limit(
            "widget-conversations-address",
            client_address(request),
            self.settings.widget_conversations_per_hour_per_address,
            HOUR,
        )
        if refused is not None:
            return refused
        conversation = tokens.new_conversation(
            self.settings.secret_key, days=self.settings.widget_token_days
        )
        return response.json(
            {
                "conversation_id": conversation.conversation_id,
                "token": conversation.token,
                "expires": conversation.expires,
            },
            status=201,
        )

    def _authorised(self, request: Request) -> str | None:
        """The conversation id the request's bearer token opens, or None."""
        token = tokens.bearer_token(request.headers.get("Authorization"))
        return tokens.verify_token(
            self.settings.secret_key, token, previous_keys=self.settings.previous_secret_keys
        )

    async def _language(self, request: Request, conversation_id: str) -> str:
        agent = getattr(request.app.ctx, "agent", None)
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return protocol.DEFAULT_LANGUAGE
        tracker = await store.retrieve(conversation_id)
        if tracker is None:
            return protocol.DEFAULT_LANGUAGE
        return protocol.language_of({"language": tracker.get_slot("language")})

    async def _answered(
        self, request: Request, message: protocol.WidgetMessage
    ) -> list[dict[str, Any]] | None:
        """For a resend: the stored answer when the first attempt was stored, else None.

        Read under the conversation's lock, so a first attempt still running finishes first.
        """
        agent = getattr(request.app.ctx, "agent", None)
        store = getattr(agent, "tracker_store", None)
        if agent is None or store is None or message.message_id is None:
            return None
        async with agent.lock_store.lock(message.conversation_id):
            tracker = await store.retrieve(message.conversation_id)
        if tracker is None:
            return None
        return protocol.answered_replies(
            (event.as_dict() for event in tracker.events),
            message.message_id,
            message.conversation_id,
        )

    async def _seen(self, request: Request, message: protocol.WidgetMessage) -> bool:
        """Whether the conversation's latest stored message has this message's id: the load
        balancer sent it again after the engine that took it died (HAProxy retries a request
        whose connection closed without an answer), and that engine had stored the turn.
        One indexed read; a store that cannot tell says no."""
        agent = getattr(request.app.ctx, "agent", None)
        store = getattr(agent, "tracker_store", None)
        latest = getattr(store, "latest_user_event", None)
        if message.message_id is None or latest is None:
            return False
        event = await latest(message.conversation_id)
        widget = ((event or {}).get("metadata") or {}).get("widget") or {}
        return bool(isinstance(widget, dict) and widget.get("message_id") == message.message_id)

    async def _say(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        text: str,
        message: protocol.WidgetMessage,
        *,
        silent: bool = False,
    ) -> list[dict[str, Any]]:
        collector = CollectingOutputChannel()
        metadata = message.metadata()
        if silent:
            metadata["widget"] = {**metadata["widget"], "silent": True}
            metadata["widget"].pop("title", None)
        await on_new_message(
            UserMessage(
                text,
                collector,
                message.conversation_id,
                input_channel=self.name(),
                metadata=metadata,
            )
        )
        messages: list[dict[str, Any]] = collector.messages
        return messages

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        widget = Blueprint("widget_webhook", __name__)

        async def origin_allowed(request: Request) -> HTTPResponse | None:
            # Blueprint middleware: runs before each of this channel's routes only.
            origin = request.headers.get("Origin")
            if (
                request.method in CHECKED_METHODS
                and origin is not None
                and origin.rstrip("/") not in self.settings.allowed_origins
            ):
                return _refuse(403, "origin_not_allowed")
            return None

        async def health(request: Request) -> HTTPResponse:
            # Ready only once the model is loaded: Rasa keeps serving when loading fails.
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return response.json({"status": "loading"}, status=503)
            return response.json({"status": "ok"})

        async def conversations(request: Request) -> HTTPResponse:
            return await self._new_conversation(request)

        async def restart(request: Request) -> HTTPResponse:
            # "Nieuw gesprek": a new conversation; the old one stays in the tracker store
            # (and is removed on request or after the retention period).
            return await self._new_conversation(request)

        async def receive(request: Request) -> HTTPResponse:
            # Per address before the token: also guessing and replaying are counted.
            refused = await self._limit(
                "widget-messages-address",
                client_address(request),
                self.settings.widget_messages_per_minute_per_address,
                MINUTE,
            )
            if refused is not None:
                return refused
            owner = self._authorised(request)
            if owner is None:
                return _refuse(401, "unauthorized")
            refused = await self._limit(
                "widget-messages-conversation",
                owner,
                self.settings.widget_messages_per_minute,
                MINUTE,
            )
            if refused is not None:
                return refused
            if len(request.body or b"") > MAX_BODY_BYTES:
                return _refuse(
                    413, "message_too_long", max_chars=self.settings.widget_max_message_chars
                )
            try:
                body = request.json
            except Exception:  # Sanic raises its own error type for bad JSON
                return _refuse(400, "bad_request")
            parsed = protocol.parse_message(body, max_chars=self.settings.widget_max_message_chars)
            if isinstance(parsed, protocol.Refusal):
                return response.json(parsed.body(), status=parsed.status)
            if parsed.conversation_id != owner:
                return _refuse(401, "unauthorized")
            begin_turn(request.headers)  # the turn's request id, for every log line of it
            replies: list[dict[str, Any]] = []
            try:
                if parsed.resend or await self._seen(request, parsed):
                    # Stored before, answer lost (e.g. an engine stopped after its save):
                    # the stored answer again, not a second turn.
                    answered = await self._answered(request, parsed)
                    if answered is not None:
                        return response.json(answered)
                # The widget sends its language only with a first message: read the
                # conversation's language (a tracker read) only then, not on every turn.
                current = (
                    await self._language(request, parsed.conversation_id)
                    if parsed.language is not None
                    else None
                )
                switch = protocol.language_switch(parsed, current)
                if switch is not None:
                    replies += await self._say(on_new_message, switch, parsed, silent=True)
                replies += await self._say(on_new_message, parsed.text, parsed)
            except StorageUnavailable:
                return storage_unavailable(request, parsed.language)
            except LockError:
                # The turn could not be locked (Redis down or a conversation stuck behind a
                # dead engine's ticket), so nothing ran and nothing was stored: the same
                # honest answer as a store that is down, and the widget keeps the text.
                logger.error("widget: the conversation could not be locked; turn refused")
                return storage_unavailable(request, parsed.language)
            except asyncio.CancelledError:
                logger.error("widget: a message timed out")
                return _refuse(503, "timeout")
            except Exception:
                # Never the message text in the log: it may hold personal data.
                logger.exception("widget: handling a message failed")
                return _refuse(500, "server_error")
            return response.json(replies)

        async def history(request: Request) -> HTTPResponse:
            owner = self._authorised(request)
            if owner is None:
                return _refuse(401, "unauthorized")
            wanted = request.args.get("conversation_id")
            if wanted is not None and wanted != owner:
                return _refuse(401, "unauthorized")
            agent = getattr(request.app.ctx, "agent", None)
            store = getattr(agent, "tracker_store", None)
            if store is None:
                return _refuse(503, "not_ready")
            try:
                tracker = await store.retrieve_full_tracker(owner)
            except StorageUnavailable:
                return storage_unavailable(request, None)
            events = [event.as_dict() for event in tracker.events] if tracker else []
            language = protocol.language_of(
                {"language": tracker.get_slot("language") if tracker else None}
            )
            return response.json(
                {
                    "conversation_id": owner,
                    "language": language,
                    "messages": protocol.history(events),
                }
            )

        # add_route rather than decorators: the same in Sanic 21 (engine) and typed for mypy.
        widget.middleware(origin_allowed, "request")
        widget.add_route(health, "/", methods=["GET"])
        widget.add_route(conversations, "/conversations", methods=["POST"])
        widget.add_route(restart, "/restart", methods=["POST"])
        widget.add_route(receive, "/webhook", methods=["POST"])
        widget.add_route(history, "/history", methods=["GET"])
        return widget
