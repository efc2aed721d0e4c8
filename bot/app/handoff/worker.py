"""The outbox worker: `python -m bot.app.handoff.worker` (a loop) or `… --once` (one round).

Started by tools/assistant.py next to the other processes. Several workers may run against
PostgreSQL (rows are claimed with SKIP LOCKED); on SQLite run one.

The loop serves its own health on ZIJWIJZER_WORKER_HEALTH_HOST:ZIJWIJZER_WORKER_HEALTH_PORT
(127.0.0.1:5070; port 0: off): `GET /health` answers 200 while the loop came round recently
and 503 when it is stuck; `GET /metrics` gives its delivery counts (Prometheus). When the port
is taken the worker logs an error and goes on delivering, without the endpoint.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry

from bot.app.db import Database
from bot.app.handoff.delivery import TIMEOUT_SECONDS, Deliverer, WebhookClient
from bot.app.handoff.store import ensure_tables
from bot.app.metrics import WorkerMetrics, exposition, new_registry
from bot.common import logs
from bot.common.settings import Settings, load_settings

logger = logging.getLogger("bot.app.handoff.worker")

INTERVAL_SECONDS = 2.0
# A round sends at most 50 messages (Deliverer.deliver_due), each with a 10 s timeout: the
# loop is stuck only when it has not come round for longer than a full round and some.
ROUND_LIMIT = 50
STUCK_AFTER_SECONDS = ROUND_LIMIT * TIMEOUT_SECONDS + 60.0


class Heartbeat:
    """When the loop last came round; healthy while that is recent enough."""

    def __init__(
        self,
        stuck_after: float = STUCK_AFTER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stuck_after = stuck_after
        self._clock = clock
        self._last = clock()

    def beat(self) -> None:
        self._last = self._clock()

    def age(self) -> float:
        return self._clock() - self._last

    def healthy(self) -> bool:
        return self.age() <= self.stuck_after


def _handler(heartbeat: Heartbeat, registry: CollectorRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/health":
                healthy = heartbeat.healthy()
                status = {"status": "ok" if healthy else "stuck", "age": round(heartbeat.age(), 1)}
                self._answer(200 if healthy else 503, json.dumps(status).encode())
            elif self.path == "/metrics":
                body, content_type = exposition(registry, self.headers.get("Accept"))
                self._answer(200, body, content_type)
            else:
                self._answer(404, b'{"status": "not found"}')

        def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # no access log: probes come every few seconds

    return Handler


class HealthServer:
    """The worker's `GET /health` and `GET /metrics`: a stdlib HTTP server in a daemon thread."""

    def __init__(
        self, host: str, port: int, heartbeat: Heartbeat, registry: CollectorRegistry
    ) -> None:
        self.server = ThreadingHTTPServer((host, port), _handler(heartbeat, registry))
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="worker-health", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_health_server(
    settings: Settings, heartbeat: Heartbeat, registry: CollectorRegistry
) -> HealthServer | None:
    """The health endpoint on the configured port; None when it is off or the port is taken."""
    if settings.worker_health_port <= 0:
        return None
    try:
        server = HealthServer(
            settings.worker_health_host, settings.worker_health_port, heartbeat, registry
        )
    except OSError as error:
        logger.error(
            "health endpoint off: cannot listen on %s:%d (%s)",
            settings.worker_health_host,
            settings.worker_health_port,
            type(error).__name__,
        )
        return None
    logger.info("health endpoint on %s:%d", settings.worker_health_host, server.port)
    return server


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
    heartbeat: Heartbeat | None = None,
    metrics: WorkerMetrics | None = None,
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
            done = deliverer.deliver_due(ROUND_LIMIT)
            if done.delivered or done.failed:
                logger.info("outbox round: %d delivered, %d failed", done.delivered, done.failed)
            if metrics is not None:
                metrics.rounds.labels("ok").inc()
                metrics.deliveries.labels("delivered").inc(done.delivered)
                metrics.deliveries.labels("failed").inc(done.failed)
        except Exception:
            # A database hiccup must not end the worker: the next round tries again.
            logger.exception("outbox round failed")
            if metrics is not None:
                metrics.rounds.labels("error").inc()
            if once:
                return 1
        if heartbeat is not None:
            heartbeat.beat()  # a failed round came round too: the database is another matter
        if once:
            return 0
        if stopping.wait(interval):
            return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.app.handoff.worker", description=__doc__)
    parser.add_argument("--once", action="store_true", help="one round, then exit")
    parser.add_argument("--interval", type=float, default=INTERVAL_SECONDS, help="seconds")
    args = parser.parse_args(argv)
    settings = load_settings()
    logs.configure(logs.HANDOFF_WORKER, settings.log_level, settings.log_format)
    stopping = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    deliverer = make_deliverer(settings)
    if args.once:
        return run(deliverer, once=True, stopping=stopping)
    registry = new_registry()
    heartbeat = Heartbeat(stuck_after=max(STUCK_AFTER_SECONDS, 3 * args.interval))
    server = start_health_server(settings, heartbeat, registry)
    try:
        return run(
            deliverer,
            once=False,
            interval=args.interval,
            stopping=stopping,
            heartbeat=heartbeat,
            metrics=WorkerMetrics(registry),
        )
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    sys.exit(main())
