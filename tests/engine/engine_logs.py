"""The engine's logging set up as `rasa run` sets it up, for tests/bot/common/test_logs.py.

`engine_logs.py LOGGING_CONFIG`, in the engine's runtime: our turn hook installed (as
bot/engine/main.py does before Rasa starts), then the calls `rasa run --logging-config-file`
makes (rasa/__main__.py, rasa/core/run.py); then a line each from Rasa, structlog and Sanic,
two with an e-mail address. Prints whether the turn hook is in place.
"""

from __future__ import annotations

import logging
import sys

import rasa.utils.common
import rasa.utils.io
import sanic.log
import structlog
from rasa.core.agent import Agent
from rasa.utils.log_utils import configure_structlog

from bot.engine.channels import metrics
from bot.engine.turn_metrics import is_wrapped


def main(config_file: str) -> None:
    metrics.install()
    rasa.utils.common.configure_logging_and_warnings(None, config_file, True, True)
    rasa.utils.io.configure_colored_logging(None)
    configure_structlog(None)
    rasa.utils.common.update_sanic_log_level()
    logging.getLogger("rasa.core.processor").info("plain %s", "jan.jansen@example.nl")
    structlog.get_logger().info("rasa.event", text="mail jan.jansen@example.nl", action_name="x")
    sanic.log.error_logger.error("sanic error")
    print(is_wrapped(Agent.handle_message))


if __name__ == "__main__":
    main(sys.argv[1])
