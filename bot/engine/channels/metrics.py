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
    keep_json_in_rasa()


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


def keep_json_in_rasa() -> bool:
    """Engine side, before Rasa starts: when `--logging-config-file` put our JSON handler on
    the root logger, stop Rasa from replacing it.

    Rasa 3.6 runs `coloredlogs.install` right after applying the file, which swaps any stderr
    handler for its coloured one; and with the HTTP API on, Sanic 21 configures handlers of
    its own. Both are turned off here, and warnings go through logging. Returns whether it
    did anything (nothing in text mode: Rasa's usual output stays).
    """
    if logs.log_format() != logs.JSON:
        return False
    import rasa.utils.common
    import rasa.utils.io
    import sanic.log

    configure_colored_logging = rasa.utils.io.configure_colored_logging

    def keep_ours(loglevel: Any) -> None:
        if not logs.uses_json():
            configure_colored_logging(loglevel)

    rasa.utils.io.configure_colored_logging = keep_ours

    # `rasa run` cuts Sanic's loggers off from the root logger (their errors then reach
    # stderr as bare text); they keep Rasa's levels but write through our handler.
    update_sanic_log_level = rasa.utils.common.update_sanic_log_level

    def through_root(*args: Any, **kwargs: Any) -> None:
        update_sanic_log_level(*args, **kwargs)
        for logger in (sanic.log.logger, sanic.log.error_logger, sanic.log.access_logger):
            logger.propagate = True

    rasa.utils.common.update_sanic_log_level = through_root
    # Sanic 21.12 applies this dictionary when an app is made with configure_logging=True
    # (Rasa's HTTP API): without handlers its loggers propagate to ours.
    defaults = sanic.log.LOGGING_CONFIG_DEFAULTS
    defaults.clear()
    defaults.update({"version": 1, "disable_existing_loggers": False})
    logging.captureWarnings(True)
    return True
