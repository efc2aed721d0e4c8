"""`python -m bot.app.action_server`: rasa-sdk's action server with our logs, metrics and readiness.

The same command line as `python -m rasa_sdk` (rasa_sdk/__main__.py): `--actions actions`,
`--port`, `--cors`, the SSL flags, `--auto-reload`, `--endpoints`, `-v/-vv/--quiet`,
`--log-file`, `--logging-config_file`; the interface from SANIC_HOST and the worker count
from ACTION_SERVER_SANIC_WORKERS, as there. The app is the SDK's own
(`rasa_sdk.endpoint.create_app_for_serve`: `GET /health`, `GET /actions`, `POST /webhook`),
with three additions:

- every action call is measured (bot/app/metrics.py: runs by action and outcome, latency, errors,
  fallbacks, handoff requests, advice given) and runs under the turn's request id, read from
  `tracker.latest_message.metadata.request_id` (bot/common/request_context.py), so the action's
  log records carry the id the engine logged;
- `GET /metrics`: those figures in Prometheus' text format;
- `GET /ready`: 200 once this process can read the catalogue from the database (it is then
  cached, so later checks only compare a checksum), else 503; `/health` stays the liveness
  check (the process answers);
- the deadline the engine sends with each call (bot/common/idempotency.py, DEADLINE_HEADER) is kept
  for the call, so the stores refuse an effect after it; a call that arrives after its deadline
  (the engine gave up on it: an action server that was frozen serves its backlog) is answered
  410 {"error": "too_late"} without running the action.

Logs: one JSON object per line with ZIJWIJZER_LOG_FORMAT=json, else readable lines
(bot/common/logs.py), configured in every Sanic process: the SDK's worker process is spawned and
inherits no logging set-up. Metrics live in the process that serves the requests; keep
ACTION_SERVER_SANIC_WORKERS at 1 (the default) and add instances, not workers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from rasa_sdk import endpoint, utils
from rasa_sdk.constants import (
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_LOG_LEVEL_LIBRARIES,
    ENV_LOG_LEVEL_LIBRARIES,
)
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader

from actions.base import configured_service
from actions.conversation import AppStores, provide_app_stores
from bot.app.advice_store import default_advice_store
from bot.app.handoff.store import default_store as default_handoff_store
from bot.app.metrics import ActionMetrics, exposition, new_registry
from bot.app.retention import forget_elsewhere
from bot.app.unanswered import default_question_log
from bot.common import idempotency, logs, request_context

logger = logging.getLogger("bot.app.action_server")

# How long /ready waits for the catalogue before it answers 503.
READY_TIMEOUT_SECONDS = 5.0

_registry = new_registry()
_metrics: ActionMetrics | None = None


def action_metrics(known_actions: Sequence[str] = ()) -> ActionMetrics:
    """This process's action metrics (made on first use, with the actions it serves)."""
    global _metrics
    if _metrics is None:
        _metrics = ActionMetrics(_registry, known_actions)
    return _metrics


def _request_id(action_call: Mapping[str, Any]) -> object:
    tracker = action_call.get("tracker")
    latest = tracker.get("latest_message") if isinstance(tracker, Mapping) else None
    metadata = latest.get("metadata") if isinstance(latest, Mapping) else None
    return metadata.get(request_context.METADATA_KEY) if isinstance(metadata, Mapping) else None


class MeasuredActionExecutor(ActionExecutor):  # type: ignore[misc]  # rasa_sdk is untyped
    """The SDK's executor; each call measured and run under the turn's request id.

    A subclass, so the SDK's webhook, its errors and its answers stay exactly as they are.
    """

    async def run(self, action_call: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        request_context.adopt(_request_id(action_call))
        name = action_call.get("next_action")
        metrics = action_metrics(list(self.actions))
        started = time.perf_counter()
        outcome = "error"
        result: Any = None
        try:
            result = await super().run(action_call, *args, **kwargs)
            outcome = "ok"
            return result
        except ActionExecutionRejection:
            outcome = "rejected"  # a form's "not my slot": the engine tries another policy
            raise
        except ActionNotFoundException:
            outcome = "not_found"
            raise
        except ActionMissingDomainException:
            outcome = "missing_domain"
            raise
        finally:
            seconds = time.perf_counter() - started
            if name:
                metrics.record(name, outcome, seconds, _as_dict(result))
                logger.info(
                    "action %s: %s in %.1f ms", metrics.label(name), outcome, seconds * 1000
                )


def _as_dict(result: Any) -> Mapping[str, Any] | None:
    if result is None:
        return None
    dumped = result.model_dump() if hasattr(result, "model_dump") else result
    return dumped if isinstance(dumped, Mapping) else None


def _catalogue_ready() -> None:
    configured_service().catalogue()


async def keep_call_deadline(request: Request) -> HTTPResponse | None:
    """Request middleware: the engine's deadline for this call, kept for the actions."""
    deadline = idempotency.parse_deadline(request.headers.get(idempotency.DEADLINE_HEADER))
    idempotency.set_call_deadline(deadline)
    if deadline is not None and request.path == "/webhook" and time.time() > deadline:
        logger.warning(
            "action call arrived %.1f s after its deadline: not run", time.time() - deadline
        )
        return response.json({"error": "too_late"}, status=410)
    return None


def add_operations_routes(app: Sanic[Any, Any]) -> Sanic[Any, Any]:
    """`GET /metrics` and `GET /ready` on the SDK's app."""

    async def metrics(request: Request) -> HTTPResponse:
        body, content_type = exposition(_registry, request.headers.get("Accept"))
        return response.raw(body, headers={"Content-Type": content_type})

    async def ready(_: Request) -> HTTPResponse:
        try:
            await asyncio.wait_for(asyncio.to_thread(_catalogue_ready), READY_TIMEOUT_SECONDS)
        except Exception as error:  # any failure means: not ready
            logger.warning("not ready: catalogue unavailable (%s)", type(error).__name__)
            return response.json({"status": "catalogue unavailable"}, status=503)
        return response.json({"status": "ready"})

    async def warm_up(_app: Sanic[Any, Any]) -> None:
        # The catalogue and its answers' model are made now, not on the first message
        # (seconds); the server answers meanwhile, and /ready says when it is done.
        task = asyncio.create_task(asyncio.to_thread(_catalogue_ready))
        task.add_done_callback(_warmed)
        _warm_ups.add(task)

    app.add_route(metrics, "/metrics", methods=["GET"])
    app.add_route(ready, "/ready", methods=["GET"])
    app.register_listener(warm_up, "after_server_start")
    app.register_middleware(keep_call_deadline, "request")
    return app


# Started warm-ups, kept so that they are not collected while running.
_warm_ups: set[asyncio.Task[None]] = set()


def _warmed(task: asyncio.Task[None]) -> None:
    _warm_ups.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.warning(
            "catalogue not loaded at start (%s); /ready says when it is",
            type(task.exception()).__name__,
        )


def _sanic_log_levels() -> None:
    # As the SDK sets them (LOG_LEVEL_LIBRARIES), but Sanic's records still reach our
    # handler: the SDK cuts them off, and its errors then go to stderr as bare text.
    level = os.environ.get(ENV_LOG_LEVEL_LIBRARIES, DEFAULT_LOG_LEVEL_LIBRARIES)
    for name in ("sanic.root", "sanic.error", "sanic.access"):
        logging.getLogger(name).setLevel(level)


def provide_stores() -> None:
    """The app's stores for the actions, which import no app code (actions/conversation.py);
    in the main process and in each worker, as the logging."""
    provide_app_stores(
        AppStores(
            advice_store=default_advice_store,
            handoff_store=default_handoff_store,
            question_log=default_question_log,
            forget_elsewhere=forget_elsewhere,
        )
    )


def create_app_for_serve(
    action_executor: ActionExecutor,
    cors_origins: str | list[str] | None = "*",
    auto_reload: bool = False,
    endpoints: str = endpoint.DEFAULT_ENDPOINTS_PATH,
    keep_alive_timeout: int = DEFAULT_KEEP_ALIVE_TIMEOUT,
    *,
    log_level: str = "INFO",
    log_format: str = logs.TEXT,
) -> Sanic[Any, Any]:
    """The SDK's app plus our routes; runs in the main process and in each worker, so the
    logging is set up here (a spawned worker starts with none)."""
    logs.configure(logs.ACTION_SERVER, log_level, log_format)
    _sanic_log_levels()
    provide_stores()
    action_metrics(list(action_executor.actions))
    app = endpoint.create_app_for_serve(
        action_executor,
        cors_origins=cors_origins,
        auto_reload=auto_reload,
        endpoints=endpoints,
        keep_alive_timeout=keep_alive_timeout,
    )
    return add_operations_routes(app)


def run(action_executor: ActionExecutor, args: Any, log_level: str, log_format: str) -> None:
    """`rasa_sdk.endpoint.run` with our app factory (same host, port, SSL and workers)."""
    loader = AppLoader(
        factory=partial(
            create_app_for_serve,
            action_executor,
            cors_origins=args.cors,
            auto_reload=args.auto_reload,
            endpoints=args.endpoints,
            log_level=log_level,
            log_format=log_format,
        )
    )
    app = loader.load()
    ssl_config = endpoint.create_ssl_config(
        args.ssl_certificate, args.ssl_keyfile, args.ssl_password
    )
    host = os.environ.get("SANIC_HOST", "0.0.0.0")  # noqa: S104 (the SDK's default)
    protocol = "https" if ssl_config else "http"
    logger.info("Action endpoint is up and running on %s://%s:%s", protocol, host, args.port)
    app.prepare(host=host, port=args.port, ssl=ssl_config, workers=utils.number_of_sanic_workers())
    Sanic.serve(primary=app, app_loader=loader)


def main(argv: Sequence[str] | None = None) -> None:
    args = endpoint.create_argument_parser().parse_args(argv)
    log_level = logging.getLevelName(args.loglevel or logging.INFO)
    log_format = logs.configure(logs.ACTION_SERVER, log_level)
    # The SDK's optional extras, as rasa_sdk/__main__.py applies them.
    utils.configure_file_logging(
        logging.getLogger("rasa_sdk"), args.log_file, args.loglevel, args.logging_config_file
    )
    provide_stores()
    executor = MeasuredActionExecutor()
    executor.register_package(args.actions_module or args.actions)
    if args.grpc:
        # The gRPC transport has no HTTP port for /metrics: the SDK's own server as it is.
        from rasa_sdk.grpc_server import run_grpc

        asyncio.run(
            run_grpc(
                executor,
                args.port,
                args.ssl_certificate,
                args.ssl_keyfile,
                args.ssl_ca_file,
                args.auto_reload,
                args.endpoints,
            )
        )
        return
    run(executor, args, log_level, log_format)


if __name__ == "__main__":
    main(sys.argv[1:])
