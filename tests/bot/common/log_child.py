"""A process of ours as far as logging goes, for tests/bot/common/test_logs.py.

`log_child.py FORMAT EMAIL`: configure() sets up the root logger, as each of our processes
does; then a server line, a turn's line with an e-mail address, a debug line and a warning.
"""

from __future__ import annotations

import logging
import sys
import warnings

from bot.common import logs
from bot.common.request_context import begin_turn


def main(fmt: str, email: str) -> None:
    logs.configure(logs.HANDOFF_WORKER, "INFO", fmt)
    logging.getLogger("uvicorn.error").info("server up")
    begin_turn({"X-Request-ID": "turn-1"})
    logging.getLogger("bot.x").warning("contact %s", email)
    logging.getLogger("bot.x").debug("not shown at INFO")
    warnings.warn("a warning", stacklevel=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
