"""The website widget's channel in the Rasa engine: /webhooks/widget/...

Registered in credentials.yml as `bot.channels.widget.WidgetInput:`; its settings come from
bot/settings.py. Every conversation has a random id and a signed token (bot/tokens.py);
only requests that carry the token of that conversation reach it. The checks and shapes
live in bot/channels/widget_protocol.py (stdlib, unit-tested); this module only adapts
them to Rasa 3.6 and Sanic. Runs in .venv-rasa: stdlib, rasa and stdlib-only bot modules.

    POST /conversations           -> {"conversation_id", "token", "expires"}
    POST /restart                 -> the same: a new, empty conversation ("Nieuw gesprek")
    POST /webhook   (Bearer)      {"conversation_id", "message", "language"?, "title"?}
                                  -> the bot's replies, as the REST channel gives them
    GET  /history   (Bearer)      -> {"conversation_id", "language", "messages": [...]}
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import tokens
from bot.channels import widget_protocol as protocol
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)

# A widget message is a short JSON object; anything much larger is refused unread.
MAX_BODY_BYTES = 16_384


def _refuse(status: int, error: str, **detail: Any) -> HTTPResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return response.json({"error": error, **detail}, status=status, headers=headers)


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

    def _new_conversation(self) -> HTTPResponse:
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
        return tokens.verify_token(self.settings.secret_key, token)

    async def _language(self, request: Request, conversation_id: str) -> str:
        agent = getattr(request.app.ctx, "agent", None)
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return protocol.DEFAULT_LANGUAGE
        tracker = await store.retrieve(conversation_id)
        if tracker is None:
            return protocol.DEFAULT_LANGUAGE
        return protocol.language_of({"language": tracker.get_slot("language")})

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

        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def conversations(request: Request) -> HTTPResponse:
            return self._new_conversation()

        async def restart(request: Request) -> HTTPResponse:
            # "Nieuw gesprek": a new conversation; the old one stays in the tracker store
            # (and is removed on request or after the retention period).
            return self._new_conversation()

        async def receive(request: Request) -> HTTPResponse:
            owner = self._authorised(request)
            if owner is None:
                return _refuse(401, "unauthorized")
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
            replies: list[dict[str, Any]] = []
            try:
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
            tracker = await store.retrieve_full_tracker(owner)
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
        widget.add_route(health, "/", methods=["GET"])
        widget.add_route(conversations, "/conversations", methods=["POST"])
        widget.add_route(restart, "/restart", methods=["POST"])
        widget.add_route(receive, "/webhook", methods=["POST"])
        widget.add_route(history, "/history", methods=["GET"])
        return widget
