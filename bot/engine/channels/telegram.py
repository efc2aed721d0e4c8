"""Telegram for recruiters: Rasa 3.6's Telegram connector with the checks it lacks.

Configured in credentials.yml from ZIJWIJZER_TELEGRAM_* variables (tools/assistant.py sets
them from bot/common/settings.py). Differences with Rasa's TelegramInput:

- no token: the channel is off (one log line, no routes), so `make run` works without it;
- the API's base URL is a setting (a self-hosted Bot API server, or a test's fake);
- every update must carry X-Telegram-Bot-Api-Secret-Token (401 otherwise); the secret is sent
  to Telegram with setWebhook, after the server started and without blocking or failing it;
- each update_id reaches the conversation once (bot/engine/channels/dedup.py, in the tracker DB); a
  turn that could not be stored is answered 503 and sends nothing, so Telegram's redelivery is
  handled (the replies go out only after the save);
- the sender id is "telegram:<chat id>", only private chats, recruiter mode from the start,
  and a new conversation's first answer starts with the recruiters' privacy notice;
- no getMe call per update (Rasa compares the bot's username on every message).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot  # only in .venv-rasa
from aiogram.bot.api import TelegramAPIServer
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.telegram import TelegramInput, TelegramOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.common import webhook_auth
from bot.common.request_context import begin_turn
from bot.engine.channels import recruiter
from bot.engine.channels.dedup import Claim
from bot.engine.channels.inbound import Inbound, reply_address, telegram_inbound
from bot.engine.engine_faults import StorageUnavailable

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.telegram.org"
REQUEST_TIMEOUT_SECONDS = 15
# Only what the bot answers; Telegram then does not even send the rest.
ALLOWED_UPDATES = ["message", "callback_query"]


class RecruiterTelegramOutput(TelegramOutput):  # type: ignore[misc]
    """Rasa's Telegram output (inline keyboards for buttons) against a configurable API."""

    def __init__(self, access_token: str, api_url: str = DEFAULT_API_URL) -> None:
        Bot.__init__(
            self,
            access_token,
            server=TelegramAPIServer.from_base(api_url),
            timeout=REQUEST_TIMEOUT_SECONDS,
        )

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        # The conversation id is "telegram:<chat id>"; Telegram wants the chat id.
        await super().send_response(reply_address(recipient_id) or recipient_id, message)

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        # Custom payloads for the widget (the advice as JSON) mean nothing here; the text
        # summary before them is the answer.
        if json_message.get("type") == "advice":
            return
        await super().send_custom_json(recipient_id, json_message, **kwargs)


class RecruiterTelegramInput(TelegramInput):  # type: ignore[misc]
    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RecruiterTelegramInput:
        values = {key: str(value or "").strip() for key, value in (credentials or {}).items()}
        return cls(
            access_token=values.get("access_token", ""),
            webhook_url=values.get("webhook_url", ""),
            webhook_secret=values.get("webhook_secret", ""),
            api_url=values.get("api_url", "") or DEFAULT_API_URL,
        )

    def __init__(
        self, access_token: str, webhook_url: str, webhook_secret: str, api_url: str
    ) -> None:
        super().__init__(access_token, None, webhook_url, debug_mode=False)
        self.webhook_secret = webhook_secret
        self.api_url = api_url

    def get_output_channel(self) -> RecruiterTelegramOutput:
        # Rasa's version also calls setWebhook, synchronously, on every call.
        return RecruiterTelegramOutput(self.access_token, self.api_url)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        telegram_webhook = Blueprint("telegram_webhook", __name__)
        if not self.access_token:
            logger.info("Telegram channel off: ZIJWIJZER_TELEGRAM_TOKEN is not set.")
            return telegram_webhook
        if not self.webhook_secret:
            # Without a secret every update would be refused; say so instead of going silent.
            raise ValueError("The Telegram channel needs ZIJWIJZER_TELEGRAM_WEBHOOK_SECRET.")
        out_channel = self.get_output_channel()

        async def set_webhook(app: Any, loop: Any) -> None:
            # In the background: an unreachable API must neither delay nor stop the engine.
            task = asyncio.create_task(self._register_webhook(out_channel))
            app.ctx.telegram_webhook_task = task

        async def close_session(app: Any, loop: Any) -> None:
            # aiogram's HTTP session (its close() is deprecated: Bot API "close" in aiogram 3).
            await out_channel.session.close()

        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def receive(request: Request) -> HTTPResponse:
            header = request.headers.get(webhook_auth.TELEGRAM_SECRET_HEADER)
            if not webhook_auth.telegram_request_ok(header, self.webhook_secret):
                return response.text("", status=401)
            try:
                update = json.loads(request.body)
            except ValueError:
                return response.text("", status=400)
            inbound = telegram_inbound(update) if isinstance(update, dict) else None
            if inbound is None:
                return response.text("")  # not a message the bot answers
            begin_turn(request.headers)  # the turn's request id, for every log line of it
            try:
                claim = await recruiter.claim(inbound)
            except Exception:
                logger.exception("Could not record a Telegram update; Telegram will resend it.")
                return response.text("", status=503)
            if claim is Claim.DUPLICATE:
                return response.text("")  # Telegram resent an update we already handled
            if claim is Claim.BUSY:
                return response.text("", status=503)  # still being handled: resend later
            # Replies are collected and sent only once the turn was stored (see deliver).
            collector = CollectingOutputChannel()
            try:
                started = await recruiter.start_as_recruiter(
                    request.app.ctx.agent, inbound.sender_id
                )
                await on_new_message(self._user_message(inbound, collector))
            except StorageUnavailable:
                logger.warning("Tracker store down: a Telegram update is refused; it comes again.")
                await recruiter.release(inbound)
                return response.text("", status=503)
            except Exception:
                logger.exception("Handling a Telegram update failed; Telegram will resend it.")
                await recruiter.release(inbound)
                return response.text("", status=500)
            await recruiter.done(inbound)
            # A new conversation's privacy notice goes before the turn's replies.
            notice = await recruiter.notice_after_turn(
                request.app.ctx.agent, inbound.sender_id, started
            )
            messages = (notice.as_messages() if notice else []) + collector.messages
            await recruiter.deliver(out_channel, inbound.sender_id, messages)
            if inbound.callback_query_id:
                await self._acknowledge(out_channel, inbound.callback_query_id)
            return response.text("")

        # Plain calls rather than decorators: sanic's decorators have no type information.
        telegram_webhook.listener(set_webhook, "after_server_start")
        telegram_webhook.listener(close_session, "before_server_stop")
        telegram_webhook.add_route(health, "/", methods=["GET"])
        telegram_webhook.add_route(receive, "/webhook", methods=["POST"])
        return telegram_webhook

    def _user_message(self, inbound: Inbound, out_channel: Any) -> Any:
        return UserMessage(
            inbound.text,
            out_channel,
            inbound.sender_id,
            input_channel=self.name(),
            metadata=inbound.metadata,
        )

    async def _register_webhook(self, out_channel: RecruiterTelegramOutput) -> None:
        if not self.webhook_url:
            logger.info("Telegram webhook not registered: no ZIJWIJZER_TELEGRAM_WEBHOOK_URL.")
            return
        # aiogram 2 has no secret_token argument yet (Bot API 6.1), so the raw method.
        payload = {
            "url": self.webhook_url,
            "secret_token": self.webhook_secret,
            "allowed_updates": json.dumps(ALLOWED_UPDATES),
        }
        try:
            await out_channel.request("setWebhook", payload)
        except Exception as error:
            logger.warning(
                "Could not register the Telegram webhook (%s); updates arrive only once it is.",
                type(error).__name__,
            )
            return
        logger.info("Telegram webhook registered.")

    @staticmethod
    async def _acknowledge(out_channel: RecruiterTelegramOutput, query_id: str) -> None:
        # Stops the spinner on the pressed button; the answer itself was already sent.
        try:
            await out_channel.answer_callback_query(query_id)
        except Exception as error:
            logger.info("Could not acknowledge a Telegram button (%s).", type(error).__name__)
