"""The outbox worker: `python -m bot.handoff.worker` (a loop) or `… --once` (one round).

Started by tools/assistant.py next to the other processes. Several workers may run against
PostgreSQL (rows are claimed with SKIP LOCKED); on SQLite run one.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from bot.db import Database
from bot.handoff.delivery import Deliverer, WebhookClient
from bot.handoff.store import ensure_tables
from bot.settings import Settings, load_settings

logger = logging.getLogger("bot.handoff.worker")

INTERVAL_SECONDS = 2.0


def make_deliverer(settings: Settings, database: Database | None = None) -> Deliverer:
    client = (
        WebhookClient(settings.handoff_webhook_url, settings.handoff_webhook_secret)
        if settings.handoff_webhook_url
        else None
    )
    return Deliverer(database or Database(settings.database_url), client)


def run(
    deliverer: Deliverer,
    *,
    once: bool,
    interval: float = INTERVAL_SECONDS,
    stopping: threading.Event | None = None,
) -> int:
    stopping = stopping or threading.Event()
    ensure_tables(deliverer.database)
    if deliverer.client is None:
        logger.warning(
            "no ZIJWIJZER_HANDOFF_WEBHOOK_URL: handoff requests wait in the outbox "
            "(the staff console shows them)"
        )
    while True:
        try:
            done = deliverer.deliver_due()
            if done.delivered or done.failed:
                logger.info("outbox round: %d delivered, %d failed", done.delivered, done.failed)
        except Exception:
            # A database hiccup must not end the worker: the next round tries again.
            logger.exception("outbox round failed")
            if once:
                return 1
        if once:
            return 0
        if stopping.wait(interval):
            return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.handoff.worker", description=__doc__)
    parser.add_argument("--once", action="store_true", help="one round, then exit")
    parser.add_argument("--interval", type=float, default=INTERVAL_SECONDS, help="seconds")
    args = parser.parse_args(argv)
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stopping = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return run(make_deliverer(settings), once=args.once, interval=args.interval, stopping=stopping)


if __name__ == "__main__":
    sys.exit(main())
