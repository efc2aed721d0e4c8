"""Slack for recruiters: Rasa 3.6's Slack connector, checked on the raw body and once-only.

Configured in credentials.yml from ZIJWIJZER_SLACK_* variables (tools/assistant.py sets them
from bot/common/settings.py). Differences with Rasa's SlackInput:

- no token: the channel is off (one log line, no routes), so `make run` works without it;
- the Web API's base URL is a setting (a test's fake, or a gateway);
- the signing secret is checked on the raw body (bot/common/webhook_auth.py); failures get 401;
- each event_id (and each button click) reaches the conversation once, also across instances
  and Slack's retries (bot/engine/channels/dedup.py), instead of Rasa's "ignore http_timeout
  retries";
  a turn that could not be stored sends nothing but a "not saved" note and gets 503 when it
  failed within ACK_WAIT_SECONDS, so Slack retries it (replies go out only after the save);
- the sender id is "slack:<user>:<channel>" and the conversation starts in recruiter mode,
  its first answer with the recruiters' privacy notice;
- the widget's JSON payloads (the advice) are not posted to Slack.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from rasa.shared.exceptions import InvalidConfigException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.common import webhook_auth
from bot.common.request_context import begin_turn
from bot.engine.channels import recruiter
from bot.engine.channels.dedup import Claim
from bot.engine.channels.inbound import (
    Inbound,
    reply_address,
    slack_event_inbound,
    slack_interaction_inbound,
)
from bot.engine.channels.widget_protocol import DEFAULT_LANGUAGE, response_text
from bot.engine.engine_faults import STORAGE_RESPONSE, StorageUnavailable

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
REQUEST_TIMEOUT_SECONDS = 15
# Slack retries an event it has no 2xx for after 3 s: wait this long for the turn, so that a
# turn that fails quickly (database down) gets an error status and Slack's retry.
ACK_WAIT_SECONDS = 2.5
STORED, UNSTORED, FAILED = "stored", "unstored", "failed"


class RecruiterSlackBot(SlackBot):  # type: ignore[misc]
    """Rasa's Slack output (blocks with buttons) against a configurable Web API."""

    def __init__(self, token: str, slack_channel: str | None, api_url: str) -> None:
        super().__init__(token, slack_channel)
        base_url = api_url if api_url.endswith("/") else api_url + "/"
        self.client = AsyncWebClient(token, base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS)

    async def _post_message(self, channel: str, **kwargs: Any) -> None:
        # Rasa passes as_user=True, which only classic Slack apps may use; a bot token posts
        # as the bot anyway.
        kwargs.pop("as_user", None)
        await super()._post_message(channel, **kwargs)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        # The conversation id is "slack:<user>:<channel>"; Slack wants the channel.
        await super().send_response(reply_address(recipient_id) or recipient_id, message)

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        # Only payloads that are Slack messages; the widget's advice JSON is not one.
        if "text" in json_message or "blocks" in json_message:
            await super().send_custom_json(recipient_id, json_message, **kwargs)


class RecruiterSlackInput(SlackInput):  # type: ignore[misc]
    @classmethod
    def name(cls) -> str:
        return "slack"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RecruiterSlackInput:
        values = {key: str(value or "").strip() for key, value in (credentials or {}).items()}
        return cls(
            slack_token=values.get("slack_token", ""),
            slack_signing_secret=values.get("slack_signing_secret", ""),
            api_url=values.get("api_url", "") or DEFAULT_API_URL,
        )

    def __init__(self, slack_token: str, slack_signing_secret: str, api_url: str) -> None:
        self.api_url = api_url
        super().__init__(slack_token, slack_signing_secret=slack_signing_secret)

    def _validate_credentials(self) -> None:
        # Off without a token; with a token, a missing signing secret is a configuration error.
        if self.slack_token and not self.slack_signing_secret:
            raise InvalidConfigException(
                "The Slack channel needs ZIJWIJZER_SLACK_SIGNING_SECRET with ZIJWIJZER_SLACK_TOKEN."
            )

    def get_output_channel(
        self, channel: str | None = None, thread_id: str | None = None
    ) -> RecruiterSlackBot:
        return RecruiterSlackBot(self.slack_token, channel or self.slack_channel, self.api_url)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        slack_webhook = Blueprint("slack_webhook", __name__)
        if not self.slack_token:
            logger.info("Slack channel off: ZIJWIJZER_SLACK_TOKEN is not set.")
            return slack_webhook

        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def receive(request: Request) -> HTTPResponse:
            body: bytes = request.body or b""
            if not webhook_auth.slack_request_ok(
                self.slack_signing_secret,
                request.headers.get(webhook_auth.SLACK_TIMESTAMP_HEADER),
                request.headers.get(webhook_auth.SLACK_SIGNATURE_HEADER),
                body,
            ):
                return response.text("", status=401)
            content_type = request.headers.get("content-type", "").split(";")[0].strip()
            try:
                if content_type == "application/x-www-form-urlencoded":
                    # Button clicks: one form field `payload` holding JSON.
                    form = parse_qs(body.decode("utf-8"))
                    payload = json.loads(form.get("payload", ["{}"])[0])
                    inbound = slack_interaction_inbound(payload)
                else:
                    payload = json.loads(body)
                    if payload.get("type") == "url_verification":
                        return response.json({"challenge": payload.get("challenge", "")})
                    inbound = slack_event_inbound(payload)
            except (ValueError, AttributeError):
                return response.text("", status=400)
            if inbound is None:
                return response.text("")  # not a message the bot answers
            # The turn's request id (the background task below keeps it: a copied context).
            begin_turn(request.headers)
            try:
                claim = await recruiter.claim(inbound)
            except Exception:
                logger.exception("Could not record a Slack event; Slack will retry it.")
                return response.text("", status=503)
            if claim is Claim.DUPLICATE:
                # A retry of what we already have: tell Slack to stop retrying.
                return response.text("", headers={"X-Slack-No-Retry": "1"})
            if claim is Claim.BUSY:
                return response.text("", status=503)  # still being handled: retry later
            # Slack wants an answer within 3 s; the bot's turn may take longer: it goes on in
            # the background after ACK_WAIT_SECONDS.
            task = asyncio.create_task(self._handle(request.app.ctx.agent, inbound, on_new_message))
            self._background_tasks.add(task)
            task.add_done_callback(self._background_tasks.discard)
            finished, _ = await asyncio.wait({task}, timeout=ACK_WAIT_SECONDS)
            if task in finished:
                # Refused and released: Slack retries it.
                return response.text("", status=503 if task.result() != STORED else 200)
            # Slack gets its 200 now and will not retry: a turn refused later says so itself.
            agent = request.app.ctx.agent
            task.add_done_callback(
                lambda done: self._tell_later(agent, inbound) if done.result() == UNSTORED else None
            )
            return response.text("")

        # Plain calls rather than decorators: sanic's decorators have no type information.
        slack_webhook.add_route(health, "/", methods=["GET"])
        slack_webhook.add_route(receive, "/webhook", methods=["POST"])
        return slack_webhook

    async def _handle(
        self,
        agent: Any,
        inbound: Inbound,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> str:
        """One turn: STORED (and its replies sent), UNSTORED (tracker store down) or FAILED."""
        out_channel = self.get_output_channel(reply_address(inbound.sender_id))
        # Replies are collected and sent only once the turn was stored (recruiter.deliver).
        collector = CollectingOutputChannel()
        try:
            started = await recruiter.start_as_recruiter(agent, inbound.sender_id)
            await on_new_message(
                UserMessage(
                    inbound.text,
                    collector,
                    inbound.sender_id,
                    input_channel=self.name(),
                    metadata=inbound.metadata,
                )
            )
        except StorageUnavailable:
            logger.warning("Tracker store down: a Slack event is refused.")
            await recruiter.release(inbound)
            return UNSTORED
        except Exception:
            logger.exception("Handling a Slack event failed; a retry of it will be handled.")
            await recruiter.release(inbound)
            return FAILED
        await recruiter.done(inbound)
        # A new conversation's privacy notice goes before the turn's replies.
        notice = await recruiter.notice_after_turn(agent, inbound.sender_id, started)
        messages = (notice.as_messages() if notice else []) + collector.messages
        await recruiter.deliver(out_channel, inbound.sender_id, messages)
        return STORED

    def _tell_later(self, agent: Any, inbound: Inbound) -> None:
        task = asyncio.create_task(self._tell_unstored(agent, inbound))
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)

    async def _tell_unstored(self, agent: Any, inbound: Inbound) -> None:
        # Slack had its 200 already (a slow turn): say that the message was not kept.
        out_channel = self.get_output_channel(reply_address(inbound.sender_id))
        responses = getattr(getattr(agent, "domain", None), "responses", None) or {}
        text = response_text(responses, STORAGE_RESPONSE, DEFAULT_LANGUAGE)
        if not text:
            return
        try:
            await out_channel.send_text_message(inbound.sender_id, text)
        except Exception as error:
            logger.info("Could not tell a Slack user (%s).", type(error).__name__)
