"""The web app served next to the bot (`make run` starts it on loopback).

One FastAPI application; each part owns its router module. The app keeps no conversation
state in memory: everything it shows comes from the database per request.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.app.db import Database
from bot.app.handoff.delivery import Deliverer
from bot.app.metrics import WebMetrics, new_registry
from bot.app.web import advice_page, console, health, metrics, widget
from bot.app.web.security import SecurityMiddleware
from bot.common.settings import Settings, load_settings


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or load_settings()
    database = database or Database(settings.database_url)
    # No public API docs: the OpenAPI description (app.openapi()) is for tests/security/.
    app = FastAPI(title="Zijwijzer web", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.database = database
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(widget.router)
    # The widget's script and style, and the demo page's style (bot/app/web/static/).
    app.mount("/static", StaticFiles(directory=widget.STATIC_DIR), name="static")
    app.include_router(advice_page.router)
    app.include_router(console.router)
    # A page that needs the database while it is down: 503 with a page saying so.
    health.add_database_error_page(app)
    # Headers and the body limit for every response, whichever router made it.
    app.add_middleware(SecurityMiddleware, settings=settings)
    # Outermost: every request counted and timed, refusals by the layer above included.
    # Its own registry per app, so several apps in one process (tests) do not collide.
    app.state.metrics_registry = new_registry()
    web_metrics = WebMetrics(
        app.state.metrics_registry, outbox_status=lambda: Deliverer(database, None).status()
    )
    app.add_middleware(metrics.RequestMetricsMiddleware, metrics=web_metrics)
    return app
