"""WhatsApp for recruiters, on the WhatsApp Business Platform (Cloud API). Rasa 3.6 has none.

Configured in credentials.yml from ZIJWIJZER_WHATSAPP_* variables (tools/assistant.py sets
them from bot/common/settings.py):

- no access token: the channel is off (one log line, no routes); with a token, the app secret
  and the phone number id are required;
- `GET /webhooks/whatsapp/webhook`: Meta's verification (hub.mode=subscribe, hub.verify_token
  equal to ours, constant-time): the challenge back, 403 otherwise;
- `POST /webhooks/whatsapp/webhook`: X-Hub-Signature-256 must be the HMAC-SHA256 of the raw
  body with the app secret (bot/common/webhook_auth.py), else 401 before anything is parsed or
  stored;
- each message id reaches the conversation once (Meta retries; bot/engine/channels/dedup.py); status
  callbacks (sent, delivered, read) and messages to another number are ignored;
- the sender id is "whatsapp:<wa_id>", recruiter mode from the start, the privacy notice first;
- replies are built by whatsapp_protocol.py (text, reply buttons, list messages) and go through
  the outbox (bot/engine/channels/outbox.py) to the Graph API (whatsapp_client.py): timeout, retries
  with backoff, once only, and never outside the 24-hour customer-service window (logged).
A POST whose turn could not be stored is answered 503 (Meta sends it again), one that failed
otherwise 500; a turn already handled 200.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.exceptions import InvalidConfigException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.common import webhook_auth
from bot.common.request_context import begin_turn
from bot.engine.channels import recruiter
from bot.engine.channels.inbound import WHATSAPP
from bot.engine.channels.outbox import Reply
from bot.engine.channels.recruiter import OutboxSender, OutboxTurn, TurnOutcome
from bot.engine.channels.replies import BotReply
from bot.engine.channels.whatsapp_client import GraphClient
from bot.engine.channels.whatsapp_protocol import (
    WhatsAppMessage,
    needs_list,
    whatsapp_messages,
    whatsapp_outgoing,
)
from bot.engine.channels.widget_protocol import response_text

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://graph.facebook.com/v24.0"
# The list message's button (domain.yml), in the conversation's language.
LIST_LABEL_RESPONSE = "utter_label_choose"


class WhatsAppInput(InputChannel):  # type: ignore[misc]  # rasa has no type information
    @classmethod
    def name(cls) -> str:
        return WHATSAPP

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WhatsAppInput:
        values = {key: str(value or "").strip() for key, value in (credentials or {}).items()}
        return cls(
            access_token=values.get("access_token", ""),
            app_secret=values.get("app_secret", ""),
            verify_token=values.get("verify_token", ""),
            phone_number_id=values.get("phone_number_id", ""),
            api_url=values.get("api_url", "") or DEFAULT_API_URL,
        )

    def __init__(
        self,
        access_token: str,
        app_secret: str,
        verify_token: str,
        phone_number_id: str,
        api_url: str,
    ) -> None:
        self.access_token = access_token
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.phone_number_id = phone_number_id
        self.api_url = api_url
        if access_token and not (app_secret and phone_number_id and verify_token):
            raise InvalidConfigException(
                "The WhatsApp channel needs ZIJWIJZER_WHATSAPP_APP_SECRET and "
                "ZIJWIJZER_WHATSAPP_PHONE_NUMBER_ID with ZIJWIJZER_WHATSAPP_ACCESS_TOKEN."
            )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        whatsapp_webhook = Blueprint("whatsapp_webhook", __name__)
        if not self.access_token:
            logger.info("WhatsApp channel off: ZIJWIJZER_WHATSAPP_ACCESS_TOKEN is not set.")
            return whatsapp_webhook
        client = GraphClient(self.api_url, self.phone_number_id, self.access_token)
        sender = OutboxSender(WHATSAPP, client.send, close=client.close)

        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def verify(request: Request) -> HTTPResponse:
            challenge = webhook_auth.whatsapp_challenge(
                request.args.get("hub.mode"),
                request.args.get("hub.verify_token"),
                request.args.get("hub.challenge"),
                self.verify_token,
            )
            if challenge is None:
                return response.text("", status=403)
            return response.text(challenge)

        async def receive(request: Request) -> HTTPResponse:
            body: bytes = request.body or b""
            signature = request.headers.get(webhook_auth.WHATSAPP_SIGNATURE_HEADER)
            if not webhook_auth.whatsapp_request_ok(self.app_secret, signature, body):
                return response.text("", status=401)
            try:
                payload = json.loads(body)
            except ValueError:
                return response.text("", status=400)
            if not isinstance(payload, dict):
                return response.text("", status=400)
            messages = whatsapp_messages(payload, self.phone_number_id, time.time())
            if not messages:
                return response.text("")  # statuses, other numbers, what the bot does not read
            begin_turn(request.headers)  # the request id, for every log line of these turns
            agent = request.app.ctx.agent
            outcomes = [await self._handle(agent, message, on_new_message) for message in messages]
            sender.wake()
            if TurnOutcome.FAILED in outcomes:
                return response.text("", status=500)
            if TurnOutcome.UNSTORED in outcomes or TurnOutcome.BUSY in outcomes:
                # Meta sends the whole POST again; its handled messages are duplicates then.
                return response.text("", status=503)
            return response.text("")

        # Plain calls rather than decorators: sanic's decorators have no type information.
        whatsapp_webhook.listener(sender.start, "after_server_start")
        whatsapp_webhook.listener(sender.stop, "before_server_stop")
        whatsapp_webhook.add_route(health, "/", methods=["GET"])
        whatsapp_webhook.add_route(verify, "/webhook", methods=["GET"])
        whatsapp_webhook.add_route(receive, "/webhook", methods=["POST"])
        return whatsapp_webhook

    async def _handle(
        self,
        agent: Any,
        message: WhatsAppMessage,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> TurnOutcome:
        responses = getattr(getattr(agent, "domain", None), "responses", None) or {}

        def outgoing(replies: list[BotReply], language: str) -> list[Reply]:
            label = response_text(responses, LIST_LABEL_RESPONSE, language) or ""
            address = {"wa_id": message.wa_id}
            return [
                Reply(address, body)
                for reply in replies
                for body in whatsapp_outgoing(message.wa_id, reply, label)
            ]

        turn = OutboxTurn(
            inbound=message.inbound,
            input_channel=self.name(),
            outgoing=outgoing,
            needs_language=needs_list,
            not_after=message.window_ends,
        )
        return await recruiter.outbox_turn(agent, turn, on_new_message)
