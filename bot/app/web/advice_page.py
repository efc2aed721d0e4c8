"""The saved advice behind its link: `GET /advies/{token}` (printable HTML) and
`GET /advies/{token}.pdf` (the same as a PDF).

The advice holds the person's answers, so the pages are never cached, indexed or sent on
as a referrer (bot/app/web/security.py sets those headers for every private page). An unknown
token and an expired one get the same friendly page (404, 410).
What is saved is the plan's view (catalogue/plan_view.py), the same view the chat and the
widget were given: the page and the PDF show its steps first, then the details. Every word
around the plan's own sentences is in the templates (advice*.html, Dutch and English).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from bot.app.advice_pdf import render_pdf
from bot.app.advice_store import ADVICE_PATH, Found, find_advice
from bot.app.db import Database
from catalogue.plan_view import PlanView, say_date, segments, view_of
from catalogue.schema import language_of

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))

router = APIRouter()

# A link's token opens the advice (the person's answers): keep it out of the access log.
_TOKEN_IN_PATH = re.compile(re.escape(ADVICE_PATH) + r"/[^/\s?\"]+")


class HideAdviceTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_PATH.sub(ADVICE_PATH + "/…", a) if isinstance(a, str) else a
                for a in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = _TOKEN_IN_PATH.sub(ADVICE_PATH + "/…", record.msg)
        return True


# uvicorn's logging setup keeps filters already on its loggers.
logging.getLogger("uvicorn.access").addFilter(HideAdviceTokens())


# ---- the plan as the page shows it --------------------------------------------------------------


def marked(text: str, marks: Any) -> list[tuple[str, str | None]]:
    """A text cut at its hard words (the template links each to its explanation)."""
    return segments(text, marks if isinstance(marks, list) else [])


TEMPLATES.env.globals["marked"] = marked


# ---- routes -------------------------------------------------------------------------------------


def _found(request: Request, token: str) -> Found | None:
    database: Database = request.app.state.database
    return find_advice(database, token)


def _context(found: Found, view: PlanView) -> dict[str, Any]:
    """The saved view with the link's dates in its words; the template says the rest."""
    return {
        "lang": language_of(view["language"]),
        "plan": view,
        "created": say_date(view["dates"], found.created_at.date()),
        "expires": say_date(view["dates"], found.expires_at.date()),
    }


def _shown(found: Found | None) -> PlanView | None:
    """The saved view, when the link still shows it.

    Advice saved before the plan (the engine's whole advice) is not a view: it is no longer
    shown, as if it had expired (its link lived at most 30 days).
    """
    if found is None or found.expired:
        return None
    return view_of(found.advice)


def _gone(request: Request, found: Found | None) -> HTMLResponse:
    # The same page for both: it says nothing about whether the link ever worked.
    return TEMPLATES.TemplateResponse(
        request,
        "advice_gone.html",
        {},
        status_code=410 if found is not None else 404,
    )


_HTML: Final = {"text/html": {"schema": {"type": "string"}}}
GONE: Final[dict[int | str, dict[str, Any]]] = {
    404: {"description": "Unknown link: the same friendly page", "content": _HTML},
    410: {"description": "Expired link: the same friendly page", "content": _HTML},
}


# The PDF route first: "/advies/{token}" would also match "<token>.pdf".
@router.get(
    ADVICE_PATH + "/{token}.pdf",
    response_model=None,
    response_class=Response,
    responses={
        200: {"description": "The advice as a PDF", "content": {"application/pdf": {}}},
        **GONE,
    },
)
def advice_pdf(request: Request, token: str) -> Response:
    found = _found(request, token)
    view = _shown(found)
    if found is None or view is None:
        return _gone(request, found)
    html = TEMPLATES.get_template("advice_pdf.html").render(_context(found, view))
    filename = f"zijwijzer-advies-{found.created_at.date().isoformat()}.pdf"
    return Response(
        render_pdf(html),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get(
    ADVICE_PATH + "/{token}", response_class=HTMLResponse, response_model=None, responses=GONE
)
def advice_page(request: Request, token: str) -> HTMLResponse:
    found = _found(request, token)
    view = _shown(found)
    if found is None or view is None:
        return _gone(request, found)
    context = {**_context(found, view), "pdf_url": f"{ADVICE_PATH}/{token}.pdf"}
    return TEMPLATES.TemplateResponse(request, "advice.html", context)
