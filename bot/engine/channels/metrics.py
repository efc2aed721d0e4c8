"""The engine's metrics, `GET /webhooks/metrics/`, and its turn and log hooks.

Registered in credentials.yml as `bot.engine.channels.metrics.MetricsInput:` (a channel only so
that Rasa serves its route; it takes no messages). The figures are bot/engine/turn_metrics.py's:
turns by channel and outcome, turn latency, the process's memory and CPU, in Prometheus'
text format. The load balancer refuses /metrics and /webhooks/metrics/ from outside
(deploy/haproxy.cfg); Prometheus scrapes each engine on its own address.

`install()` runs in `python -m bot.engine` before Rasa starts (one call in bot/engine/main.py):
it wraps `Agent.handle_message`, so every turn from any channel is counted, timed and given a
request id (also put into the message's metadata for the action server), and in JSON log mode
it keeps Rasa from replacing our log handler (bot/common/logs.py). Engine side (.venv-rasa).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.common import logs
from bot.engine import turn_metrics

logger = logging.getLogger(__name__)


def install() -> None:
    """Turn metrics and request ids on `Agent.handle_message`; JSON logs kept. Idempotent."""
    from rasa.core.agent import Agent

    if not turn_metrics.is_wrapped(Agent.handle_message):
        Agent.handle_message = turn_metrics.wrap_handle_message(Agent.handle_message)
    logs.keep_json_in_rasa()


class MetricsInput(InputChannel):  # type: ignore[misc]  # rasa has no type information here
    @classmethod
    def name(cls) -> str:
        return "metrics"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> MetricsInput:
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        metrics = Blueprint("metrics_channel", __name__)

        async def scrape(_: Request) -> HTTPResponse:
            return response.text(
                turn_metrics.TURNS.render(), content_type=turn_metrics.CONTENT_TYPE
            )

        metrics.add_route(scrape, "/", methods=["GET"])
        return metrics
