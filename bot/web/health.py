"""Liveness and readiness of the web app."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import text

router = APIRouter()


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    responses={
        503: {
            "description": "The database cannot be reached",
            "content": {
                "application/json": {
                    "schema": {"type": "object", "additionalProperties": {"type": "string"}}
                }
            },
        }
    },
)
def ready(request: Request, response: Response) -> dict[str, str]:
    try:
        with request.app.state.database.session() as session:
            session.execute(text("SELECT 1"))
    except Exception:  # any database failure means: not ready
        response.status_code = 503
        return {"status": "database unavailable"}
    return {"status": "ready"}
