"""Liveness and readiness of the web app.

- `GET /health`: liveness, the process answers (never touches the database).
- `GET /ready`: readiness for traffic: the widget's script and styles and the demo page need
  nothing but this process, so they stay served while the database is down; the load balancer
  (deploy/haproxy.cfg) and Kubernetes' readiness probe ask this.
- `GET /ready/database`: readiness for the traffic that needs the database (saved advice
  pages, the staff console): 503 while the app database cannot be reached. Those pages answer
  503 themselves meanwhile (`database_unavailable` below), with a page that says so.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.app.web.widget import TEMPLATES

logger = logging.getLogger(__name__)
# What a client is told to wait before trying a page that needs the database again.
RETRY_AFTER_SECONDS = 30

router = APIRouter()

_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "The database cannot be reached",
        "content": {
            "application/json": {
                "schema": {"type": "object", "additionalProperties": {"type": "string"}}
            }
        },
    }
}


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
def ready() -> dict[str, str]:
    """Ready for traffic: this process serves; the database is not asked."""
    return {"status": "ready"}


@router.get("/ready/database", responses=_UNAVAILABLE)
def ready_for_database(request: Request, response: Response) -> dict[str, str]:
    try:
        with request.app.state.database.session() as session:
            session.execute(text("SELECT 1"))
    except Exception:  # any database failure means: not ready
        response.status_code = 503
        return {"status": "database unavailable"}
    return {"status": "ready"}


async def database_unavailable(request: Request, error: Exception) -> Response:
    """A page that needs the database while it cannot be reached: 503 and a page saying so
    (never the error's text, which may hold the database's address)."""
    logger.error("database unreachable for a page (%s)", type(error).__name__)
    return TEMPLATES.TemplateResponse(
        request,
        "database_unavailable.html",
        {},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def add_database_error_page(app: FastAPI) -> None:
    for kind in (OperationalError, DBAPIError):
        app.add_exception_handler(kind, database_unavailable)
