"""Microsoft Teams for recruiters, over the Bot Framework (instead of Rasa's botframework
connector, whose token check takes the algorithm from the token and checks neither issuer nor
serviceUrl).

Configured in credentials.yml from ZIJWIJZER_TEAMS_* variables (tools/assistant.py sets them
from bot/common/settings.py):

- no app id: the channel is off (one log line, no routes); with one, the app password is
  required;
- `POST /webhooks/teams/webhook`: the activity's `Authorization: Bearer` JWT is checked by
  teams_auth.py (RS256 only, the Bot Framework's OpenID keys, issuer, audience = app id,
  expiry with five minutes' skew, the `serviceurl` claim equal to the activity's serviceUrl):
  401 otherwise (503 when the keys cannot be fetched), before anything is stored; an activity
  whose serviceUrl is not on ZIJWIJZER_TEAMS_SERVICE_URLS gets 403 and is not answered;
- each activity id reaches the conversation once (bot/engine/channels/dedup.py); only messages of
  personal chats are read;
- the sender id is "teams:<conversation id>", recruiter mode from the start, the privacy
  notice first;
- replies are built by teams_protocol.py (suggested actions, choice and advice cards) and go
  through the outbox (bot/engine/channels/outbox.py) to the connector (teams_client.py) with an
  OAuth
  client-credentials token: timeout, retries with backoff, once only.
"""

from __future__ import annotations

import asyncio
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

from bot.common.request_context import begin_turn
from bot.engine.channels import recruiter
from bot.engine.channels.inbound import TEAMS
from bot.engine.channels.outbox import REPLY_LIFETIME_SECONDS, Reply
from bot.engine.channels.recruiter import OutboxSender, OutboxTurn, Started, TurnOutcome
from bot.engine.channels.replies import BotReply
from bot.engine.channels.teams_auth import SigningKeys, TokenValidator, http_fetch
from bot.engine.channels.teams_client import ConnectorClient, ConnectorToken
from bot.engine.channels.teams_protocol import (
    TeamsMessage,
    activity_service_url,
    button_payload,
    service_url_allowed,
    teams_message,
    teams_outgoing,
)
from bot.engine.channels.widget_protocol import response_text

logger = logging.getLogger(__name__)

DEFAULT_TOKEN_URL = "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"  # noqa: S105
DEFAULT_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
DEFAULT_ISSUER = "https://api.botframework.com"
DEFAULT_SERVICE_URLS = "https://smba.trafficmanager.net"
# The advice card's button to the saved advice (domain.yml), in the advice's language.
OPEN_ADVICE_RESPONSE = "utter_label_open_advice"


class TeamsInput(InputChannel):  # type: ignore[misc]  # rasa has no type information
    @classmethod
    def name(cls) -> str:
        return TEAMS

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TeamsInput:
        values = {key: str(value or "").strip() for key, value in (credentials or {}).items()}
        service_urls = values.get("service_urls", "") or DEFAULT_SERVICE_URLS
        return cls(
            app_id=values.get("app_id", ""),
            app_password=values.get("app_password", ""),
            token_url=values.get("token_url", "") or DEFAULT_TOKEN_URL,
            metadata_url=values.get("openid_metadata_url", "") or DEFAULT_METADATA_URL,
            issuer=values.get("issuer", "") or DEFAULT_ISSUER,
            service_urls=tuple(u.strip() for u in service_urls.split(",") if u.strip()),
        )

    def __init__(
        self,
        app_id: str,
        app_password: str,
        token_url: str,
        metadata_url: str,
        issuer: str,
        service_urls: tuple[str, ...],
    ) -> None:
        self.app_id = app_id
        self.app_password = app_password
        self.token_url = token_url
        self.metadata_url = metadata_url
        self.issuer = issuer
        self.service_urls = service_urls
        if app_id and not app_password:
            raise InvalidConfigException(
                "The Teams channel needs ZIJWIJZER_TEAMS_APP_PASSWORD with ZIJWIJZER_TEAMS_APP_ID."
            )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        teams_webhook = Blueprint("teams_webhook", __name__)
        if not self.app_id:
            logger.info("Teams channel off: ZIJWIJZER_TEAMS_APP_ID is not set.")
            return teams_webhook
        validator = TokenValidator(
            self.app_id, self.issuer, SigningKeys(self.metadata_url, http_fetch())
        )
        token = ConnectorToken(self.token_url, self.app_id, self.app_password)
        client = ConnectorClient(token, self.service_urls)
        sender = OutboxSender(TEAMS, client.send, close=client.close)

        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def receive(request: Request) -> HTTPResponse:
            authorization = request.headers.get("Authorization")
            if not authorization:
                return response.text("", status=401)
            try:
                activity = json.loads(request.body or b"")
            except ValueError:
                return response.text("", status=400)
            if not isinstance(activity, dict):
                return response.text("", status=400)
            service_url = activity_service_url(activity)
            check = await asyncio.to_thread(
                validator.check, authorization, service_url, activity.get("channelId")
            )
            if check.unavailable:
                return response.text("", status=503)
            if not check.accepted:
                logger.info("Teams activity refused: %s.", check.reason)
                return response.text("", status=401)
            if service_url is None or not service_url_allowed(service_url, self.service_urls):
                logger.warning(
                    "Teams activity from a serviceUrl not in ZIJWIJZER_TEAMS_SERVICE_URLS; "
                    "not answered."
                )
                return response.text("", status=403)
            message = teams_message(activity)
            if message is None:
                return response.text("")  # not a message the bot answers
            begin_turn(request.headers)  # the turn's request id, for every log line of it
            outcome = await self._handle(request.app.ctx.agent, message, on_new_message)
            sender.wake()
            if outcome is TurnOutcome.FAILED:
                return response.text("", status=500)
            if outcome in (TurnOutcome.UNSTORED, TurnOutcome.BUSY):
                return response.text("", status=503)
            return response.text("")

        # Plain calls rather than decorators: sanic's decorators have no type information.
        teams_webhook.listener(sender.start, "after_server_start")
        teams_webhook.listener(sender.stop, "before_server_stop")
        teams_webhook.add_route(health, "/", methods=["GET"])
        teams_webhook.add_route(receive, "/webhook", methods=["POST"])
        return teams_webhook

    async def _handle(
        self,
        agent: Any,
        message: TeamsMessage,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> TurnOutcome:
        responses = getattr(getattr(agent, "domain", None), "responses", None) or {}
        address = message.address

        def outgoing(replies: list[BotReply], language: str) -> list[Reply]:
            found: list[Reply] = []
            for reply in replies:
                # The advice card's button is in the advice's own language.
                advice_language = str((reply.custom or {}).get("language") or language)
                label = response_text(responses, OPEN_ADVICE_RESPONSE, advice_language) or ""
                for body in teams_outgoing(address, reply, label):
                    found.append(Reply(address.as_dict(), body))
            return found

        def text_of(started: Started) -> str:
            return button_payload(message.inbound.text, started.offered)

        turn = OutboxTurn(
            inbound=message.inbound,
            input_channel=self.name(),
            outgoing=outgoing,
            needs_language=lambda replies: False,
            not_after=time.time() + REPLY_LIFETIME_SECONDS,
            text_of=text_of,
        )
        return await recruiter.outbox_turn(agent, turn, on_new_message)
