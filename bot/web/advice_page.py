"""The saved advice behind its link: `GET /advies/{token}` (printable HTML) and
`GET /advies/{token}.pdf` (the same as a PDF).

The advice holds the person's answers, so the pages are never cached, indexed or sent on
as a referrer (bot/web/security.py sets those headers for every private page). An unknown
token and an expired one get the same friendly page (404, 410).
Every user-facing word is in the templates (advice*.html, Dutch and English); this module
only puts the engine's advice into the order the page shows it, deciding nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from bot.advice_pdf import render_pdf
from bot.advice_store import ADVICE_PATH, Found, find_advice
from bot.db import Database

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
LANGUAGES: Final = ("nl", "en")
KINDS: Final = (("route", "routes"), ("unit", "units"), ("funding", "funding"))

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


# ---- the advice as the page shows it ------------------------------------------------------------


def _said(texts: Any, language: str) -> str:
    if isinstance(texts, Mapping):
        return str(texts.get(language) or texts.get("nl") or "")
    return "" if texts is None else str(texts)


def _title(item: Mapping[str, Any], language: str) -> str:
    if language != "nl" and item.get(f"title_{language}"):
        return str(item[f"title_{language}"])
    return str(item.get("title") or item.get("id") or "")


class _Sources:
    """Every source the advice cites, numbered in order of first use (the PDF lists them once)."""

    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}

    def __call__(self, source: Mapping[str, Any]) -> dict[str, Any]:
        key = str(source.get("id") or source.get("title"))
        found = self.by_id.get(key)
        if found is None:
            found = self.by_id[key] = {"n": len(self.by_id) + 1, **_source(source)}
        return found


def _source(source: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "title": source.get("title") or source.get("id"),
        "publisher": source.get("publisher"),
        "url": source.get("url") if str(source.get("url") or "").startswith("https://") else None,
        "published": source.get("published"),
        "checked": source.get("checked"),
        "status": source.get("status") or "unverified",
    }


def _range(low: Any, high: Any) -> str:
    if low is None or high is None or low == high:
        return str(low if low is not None else high if high is not None else "")
    return f"{low}–{high}"


def _facts(item: Mapping[str, Any], language: str) -> list[dict[str, Any]]:
    """(name, value, status, note) of the item's facts; the template names them."""
    facts: list[dict[str, Any]] = []

    def add(name: str, value: Any, status: str = "", note: Any = None) -> None:
        if value not in (None, ""):
            facts.append({"name": name, "value": str(value), "status": status, "note": note})

    kind = item.get("kind")
    if kind == "route":
        add("cost", _said(item.get("cost"), language))
    elif kind == "unit":
        q = item.get("qualification") or {}
        if q.get("title"):
            parts = [str(q["title"]), f"mbo {q['level']}" if q.get("level") else ""]
            parts.append(f"crebo {q['crebo']}" if q.get("crebo") else "")
            add("qualification", ", ".join(p for p in parts if p))
        duration = item.get("duration") or {}
        add(
            "duration",
            _range(duration.get("min_weeks"), duration.get("max_weeks")),
            str(duration.get("status") or ""),
            duration.get("note"),
        )
        price = item.get("price") or {}
        euros = _range(price.get("min_eur"), price.get("max_eur"))
        add(
            "price",
            f"€ {euros}" if euros else "",
            str(price.get("status") or ""),
            price.get("note"),
        )
        add("certificate", item.get("certificate") if item.get("certificate") != "unknown" else "")
    else:
        add("amount", _said(item.get("amount"), language))
        add("applicant", item.get("applicant") if item.get("applicant") != "unknown" else "")
        add("valid_from", item.get("valid_from"))
        add("valid_until", item.get("valid_until"))
    return facts


def _item(
    item: Mapping[str, Any], language: str, titles: Mapping[str, str], numbered: _Sources
) -> dict[str, Any]:
    sources = {str(s.get("id")): numbered(s) for s in item.get("sources") or []}
    text_key = {"route": "explain", "unit": "enables", "funding": "conditions"}.get(
        str(item.get("kind")), ""
    )
    reasons = []
    for reason in item.get("reasons") or []:
        reasons.append(
            {
                "text": _said(reason, language),
                "if": _said(reason.get("if"), language) if reason.get("if") else "",
                "depends_on": list(reason.get("depends_on") or []),
                "outcome": reason.get("outcome"),
                "sources": [sources[s] for s in reason.get("sources") or [] if s in sources],
                "routes": [titles.get(r, r) for r in reason.get("routes") or []],
            }
        )
    return {
        "id": item.get("id"),
        "kind": item.get("kind"),
        "title": _title(item, language),
        "fit": item.get("fit"),
        "status": item.get("status") or "unverified",
        "certain": bool(item.get("certain")),
        "checked": item.get("checked"),
        "text": _said(item.get(text_key), language),
        "facts": _facts(item, language),
        "routes": [titles.get(r, r) for r in item.get("routes") or []],
        "reasons": reasons,
        "sources": list(sources.values()),
    }


def advice_view(advice: Mapping[str, Any], language: str) -> dict[str, Any]:
    """The advice in page order: summary, warnings, then per kind the doable items (as the
    engine ranked them) and the ones that are not possible, each with reasons and sources."""
    route_titles = {str(r["id"]): _title(r, language) for r in advice.get("routes") or []}
    numbered = _Sources()
    summary = advice.get("summary") or {}
    # Warnings come first on the page, so their sources get the first numbers.
    warnings = [
        {
            "id": w.get("id"),
            "severity": w.get("severity"),
            "status": w.get("status") or "unverified",
            "date": w.get("date"),
            "text": _said(w, language),
            "sources": [numbered(s) for s in w.get("sources") or []],
        }
        for w in advice.get("warnings") or []
    ]
    sections = []
    summary_view = []
    for kind, key in KINDS:
        items = [_item(i, language, route_titles, numbered) for i in advice.get(key) or []]
        by_id = {i["id"]: i for i in items}
        summary_view.append(
            {"kind": kind, "items": [by_id[i] for i in summary.get(key) or [] if i in by_id]}
        )
        sections.append(
            {
                "kind": kind,
                "doable": [i for i in items if i["fit"] in ("recommended", "possible")],
                "not_possible": [i for i in items if i["fit"] not in ("recommended", "possible")],
            }
        )
    return {
        "version": advice.get("catalogue_version"),
        "summary": summary_view,
        "warnings": warnings,
        "sections": sections,
        "open_questions": [q.get("field") for q in advice.get("open_questions") or []],
        "sources": list(numbered.by_id.values()),
    }


# ---- routes -------------------------------------------------------------------------------------


def _found(request: Request, token: str) -> Found | None:
    database: Database = request.app.state.database
    return find_advice(database, token)


def _context(found: Found) -> dict[str, Any]:
    language = found.language if found.language in LANGUAGES else "nl"
    return {
        "lang": language,
        "advice": advice_view(found.advice, language),
        "created": found.created_at.date().isoformat(),
        "expires": found.expires_at.date().isoformat(),
    }


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
    if found is None or found.expired:
        return _gone(request, found)
    html = TEMPLATES.get_template("advice_pdf.html").render(_context(found))
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
    if found is None or found.expired:
        return _gone(request, found)
    context = {**_context(found), "pdf_url": f"{ADVICE_PATH}/{token}.pdf"}
    return TEMPLATES.TemplateResponse(request, "advice.html", context)
