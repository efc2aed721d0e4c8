"""Pages and actions of the staff console (FastAPI + Jinja2, rendered on the server).

Every page needs a login; every POST also needs the session's CSRF token (403 without).
Reviewers read, tag, note, flag, correct intents, export and take handoffs; admins also
erase conversations, manage users, reassign or close any handoff, read the audit log, and
upload a catalogue export (checked, then reviewed with the replay diff, then loaded).
Every view of a conversation, every export, login and admin action is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from fastapi.types import DecoratedCallable
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from bot.app import retention
from bot.app.console import auth, catalogue_upload, dashboard, exports, index
from bot.app.console.models import (
    OUTCOMES,
    ROLES,
    AuditEntry,
    CatalogueUpload,
    ConversationSummary,
    ConversationTag,
    IntentMark,
    Note,
    StaffSession,
    StaffUser,
)
from bot.app.console.tracker import TrackerReader, transcript
from bot.app.db import Database, utcnow
from bot.app.handoff.models import HandoffRequest
from bot.app.unanswered import UnansweredQuestions, answer_draft
from bot.common.settings import Settings
from catalogue import store as catalogue_store
from catalogue.replay import ReplayError

log = logging.getLogger(__name__)

HERE = FilePath(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False)
router = APIRouter(prefix="/console")

COOKIE = "zw_console"
LOGIN_CSRF_COOKIE = "zw_console_login"
LANG_COOKIE = "zw_console_lang"
# List requests fold in at most this many batches of new events; the rest waits for the
# next request or `python -m bot.app.console reindex`.
REFRESH_BATCHES = 4
STORY_EXPORT_LIMIT = 200
TAG_MAX = 64
NOTE_MAX = 4000


# ---- OpenAPI description (tests/security/test_schemathesis.py holds the app to it) ----------

_DETAIL: dict[str, Any] = {
    "application/json": {"schema": {"type": "object", "properties": {"detail": {"type": "string"}}}}
}
_HTML: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}
TO_LOGIN: dict[int | str, dict[str, Any]] = {
    303: {"description": "Not logged in: to /console/login"}
}
DONE: dict[int | str, dict[str, Any]] = {303: {"description": "Done: back to the page"}}
NOT_LOGGED_IN: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in", "content": _DETAIL}
}
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"description": "No valid CSRF token, or not allowed for this role", "content": _DETAIL}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such item", "content": _DETAIL}
}
BAD: dict[int | str, dict[str, Any]] = {400: {"description": "Refused input", "content": _DETAIL}}
ACTION = {**DONE, **NOT_LOGGED_IN, **FORBIDDEN}
FILTERS = (
    "date_from",
    "date_to",
    "channel",
    "language",
    "outcome",
    "min_fallbacks",
    "confidence_below",
    "tag",
    "needs_review",
    "q",
)


def form_body(*fields: str) -> dict[str, Any]:
    """A state-changing request's form (read with request.form(), so described by hand)."""
    properties = {name: {"type": "string"} for name in (*fields, "csrf_token")}
    schema = {"type": "object", "properties": properties, "required": ["csrf_token"]}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


def _item_action(
    path: str, *fields: str, bad: bool = False
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A form POST on one item: 303 back to a page; 404 for an unknown id, 400 if `bad`."""
    return router.post(
        path,
        status_code=303,
        response_class=RedirectResponse,
        responses={**ACTION, **NOT_FOUND, **(BAD if bad else {})},
        openapi_extra=form_body(*fields),
    )


# What each query parameter is meant to hold; a page ignores values it cannot use.
QUERY_SCHEMAS: dict[str, dict[str, Any]] = {
    "date_from": {"type": "string", "format": "date"},
    "date_to": {"type": "string", "format": "date"},
    "min_fallbacks": {"type": "integer"},
    "before": {"type": "integer"},
    "confidence_below": {"type": "number"},
    "outcome": {"type": "string", "enum": list(OUTCOMES)},
    "needs_review": {"type": "string", "enum": ["1"]},
    "closed": {"type": "string", "enum": ["1"]},
}


def multipart_body(file: str) -> dict[str, Any]:
    """A form with one file (read with request.form(), so described by hand)."""
    schema = {
        "type": "object",
        "properties": {
            file: {"type": "string", "format": "binary"},
            "csrf_token": {"type": "string"},
        },
        "required": ["csrf_token"],
    }
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


def query(*names: str) -> dict[str, Any]:
    """Optional query parameters a page reads itself (see QUERY_SCHEMAS)."""
    return {
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": QUERY_SCHEMAS.get(name, {"type": "string"}),
            }
            for name in names
        ]
    }


class YamlResponse(Response):
    media_type = "application/x-yaml"


# Rasa's training data files: a mapping with "version" and the stories or NLU examples.
YAML_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A Rasa YAML file (attachment)",
        "content": {"application/x-yaml": {"schema": {"type": "object"}}},
    }
}
# Ids are PostgreSQL `integer` columns: larger numbers cannot name anything (and would make the
# database raise), so they are refused as invalid input (422).
MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


# ---- plumbing -----------------------------------------------------------------------------


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    # Tables are made on the first request, never at import or in create_app.
    if not getattr(request.app.state, "console_schema_ready", False):
        index.ensure_schema(database)
        request.app.state.console_schema_ready = True
    return database


def _tracker(request: Request) -> TrackerReader:
    reader: TrackerReader | None = getattr(request.app.state, "console_tracker", None)
    if reader is None or reader.url != _settings(request).tracker_database_url:
        reader = TrackerReader(_settings(request).tracker_database_url)
        request.app.state.console_tracker = reader
    return reader


def _set_cookie(
    response: Response, name: str, value: str, path: str, max_age: int | None = None
) -> None:
    """Every console cookie is Secure, HttpOnly and SameSite=Strict. Browsers keep Secure
    cookies on http://localhost and http://127.0.0.1 too, so local use still works."""
    response.set_cookie(
        name, value, max_age=max_age, path=path, secure=True, httponly=True, samesite="strict"
    )


def _delete_cookie(response: Response, name: str, path: str) -> None:
    response.delete_cookie(name, path=path, secure=True, httponly=True, samesite="strict")


def _lang(request: Request) -> str:
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "nl"


def _translator(lang: str) -> Callable[[str, str], str]:
    def t(nl: str, en: str) -> str:
        return en if lang == "en" else nl

    return t


def _render(
    request: Request, name: str, login: auth.Login | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    lang = _lang(request)
    response = templates.TemplateResponse(
        request,
        name,
        {"login": login, "lang": lang, "t": _translator(lang), **context},
        status_code=status_code,
    )
    return response


def _audit(
    database: Database,
    username: str,
    action: str,
    conversation_id: str | None = None,
    detail: str | None = None,
) -> None:
    with database.session() as session:
        session.add(
            AuditEntry(
                at=utcnow(),
                username=username,
                action=action,
                conversation_id=conversation_id,
                detail=detail,
            )
        )


class LoginRequired(HTTPException):
    pass


def current_login(request: Request) -> auth.Login:
    """The logged-in staff member; anonymous page requests go to the login page (303),
    anything else gets 401."""
    database = _database(request)
    with database.session() as session:
        login = auth.resolve_session(
            session, request.cookies.get(COOKIE), _settings(request).secret_key
        )
    if login is None:
        if request.method == "GET":
            raise LoginRequired(status_code=303, headers={"Location": "/console/login"})
        raise LoginRequired(status_code=401, detail="login required")
    return login


LoginDep = Annotated[auth.Login, Depends(current_login)]


def require_admin(login: LoginDep) -> auth.Login:
    if not login.is_admin:
        raise HTTPException(status_code=403, detail="admins only")
    return login


AdminDep = Annotated[auth.Login, Depends(require_admin)]


async def posted_form(request: Request, login: LoginDep) -> FormData:
    """The form of a state-changing request, after checking its CSRF token."""
    form = await request.form()
    token = form.get("csrf_token")
    if not auth.csrf_ok(login, token if isinstance(token, str) else None):
        raise HTTPException(status_code=403, detail="invalid CSRF token")
    return form


FormDep = Annotated[FormData, Depends(posted_form)]


def _field(form: FormData, name: str, limit: int = 255) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _back(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


# ---- login --------------------------------------------------------------------------------


@router.get("/static/console.css", include_in_schema=False)
def stylesheet() -> FileResponse:
    return FileResponse(HERE / "static" / "console.css", media_type="text/css")


@router.get("/lang/{lang}", status_code=303, response_class=RedirectResponse)
def choose_language(lang: str, request: Request) -> RedirectResponse:
    response = _back("/console/conversations")
    _set_cookie(response, LANG_COOKIE, "en" if lang == "en" else "nl", "/console", 365 * 86400)
    return response


def _login_page(request: Request, failed: bool = False) -> HTMLResponse:
    # Double-submit token: the login form has no session yet to carry one.
    token = secrets.token_urlsafe(32)
    response = _render(
        request,
        "console/login.html",
        None,
        status_code=401 if failed else 200,
        login_csrf=token,
        failed=failed,
    )
    _set_cookie(response, LOGIN_CSRF_COOKIE, token, "/console/login")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post(
    "/login",
    status_code=303,
    response_class=RedirectResponse,
    responses={
        401: {"description": "Wrong name or password: the form again", "content": _HTML},
        403: {"description": "No valid CSRF token", "content": _DETAIL},
    },
    openapi_extra=form_body("username", "password"),
)
async def login(request: Request) -> Response:
    form = await request.form()
    submitted = form.get("csrf_token")
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not (
        isinstance(submitted, str)
        and expected
        and secrets.compare_digest(submitted.encode(), expected.encode())
    ):
        raise HTTPException(status_code=403, detail="invalid CSRF token")
    username, password = _field(form, "username", 64), form.get("password")
    database, settings = _database(request), _settings(request)
    with database.session() as session:
        user = auth.authenticate(session, username, password if isinstance(password, str) else "")
        cookie = None
        if user is not None:
            lifetime = dt.timedelta(hours=settings.console_session_hours)
            cookie = auth.start_session(session, user, settings.secret_key, lifetime)
    # The attempted name is not logged for failures: it may be a password typed in the wrong box.
    _audit(database, username if user else "-", "login" if user else "login_failed")
    if cookie is None:
        return _login_page(request, failed=True)
    response = _back("/console/conversations")
    _set_cookie(response, COOKIE, cookie, "/console", settings.console_session_hours * 3600)
    _delete_cookie(response, LOGIN_CSRF_COOKIE, "/console/login")
    return response


@router.post(
    "/logout",
    status_code=303,
    response_class=RedirectResponse,
    responses=ACTION,
    openapi_extra=form_body(),
)
def logout(request: Request, login: LoginDep, _form: FormDep) -> RedirectResponse:
    database = _database(request)
    with database.session() as session:
        auth.end_session(session, login.session_id)
    _audit(database, login.username, "logout")
    response = _back("/console/login")
    _delete_cookie(response, COOKIE, "/console")
    return response


# ---- conversations ----------------------------------------------------------------------


def _date(raw: str | None) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    # Filters add and subtract days: year 1 or 9999 would overflow (a 500) and finds nothing.
    return day if day is None or 1900 <= day.year <= 9000 else None


def _number(raw: str | None, kind: type[int] | type[float]) -> Any:
    try:
        value = kind(raw) if raw not in (None, "") else None
    except ValueError:
        return None
    # Compared with integer columns: a larger number would make the database raise.
    if kind is int and value is not None and not -MAX_ID <= value <= MAX_ID:
        return None
    return value


def _cursor(raw: str | None) -> tuple[dt.datetime, int] | None:
    cursor = index.decode_cursor(raw)
    return cursor if cursor is None or 0 <= cursor[1] <= MAX_ID else None


def _filters(request: Request) -> index.Filters:
    params = request.query_params
    outcome = params.get("outcome") or None
    confidence = _number(params.get("confidence_below"), float)
    return index.Filters(
        date_from=_date(params.get("date_from")),
        date_to=_date(params.get("date_to")),
        channel=(params.get("channel") or "").strip()[:32] or None,
        language=(params.get("language") or "").strip()[:8] or None,
        outcome=outcome if outcome in OUTCOMES else None,
        min_fallbacks=_number(params.get("min_fallbacks"), int),
        confidence_below=confidence if confidence is None or 0 <= confidence <= 1 else None,
        tag=(params.get("tag") or "").strip()[:TAG_MAX] or None,
        needs_review=params.get("needs_review") == "1",
        q=(params.get("q") or "").strip()[:200] or None,
    )


def _refresh(request: Request) -> bool:
    """Fold in new tracker events; False when the tracker store could not be read."""
    try:
        index.refresh_index(_database(request), _tracker(request), max_batches=REFRESH_BATCHES)
    except SQLAlchemyError:
        log.warning("console index refresh failed", exc_info=True)
        return False
    return True


@router.get("", include_in_schema=False)
def home() -> RedirectResponse:
    return _back("/console/conversations")


@router.get(
    "/conversations",
    response_class=HTMLResponse,
    responses=TO_LOGIN,
    openapi_extra=query(*FILTERS, "after"),
)
def conversation_list(request: Request, login: LoginDep) -> HTMLResponse:
    fresh = _refresh(request)
    filters = _filters(request)
    database = _database(request)
    with database.session() as session:
        rows, following = index.list_page(
            session, filters, _cursor(request.query_params.get("after"))
        )
        tags = {
            pk: sorted(tag for _, tag in group)
            for pk, group in _group(
                session.execute(
                    select(ConversationTag.conversation_pk, ConversationTag.tag).where(
                        ConversationTag.conversation_pk.in_([row.id for row in rows])
                    )
                ).all()
            ).items()
        }
        channels = index.distinct_values(session, ConversationSummary.channel, 20)
        all_tags = index.distinct_values(session, ConversationTag.tag, 100)
    query = {k: v for k, v in request.query_params.items() if k != "after" and v}
    next_query = None
    if following is not None:
        next_query = {**query, "after": index.encode_cursor(following)}
    return _render(
        request,
        "console/list.html",
        login,
        rows=rows,
        tags=tags,
        filters=filters,
        channels=sorted(c for c in channels if c),
        all_tags=sorted(all_tags),
        outcomes=OUTCOMES,
        next_query=next_query,
        first_query=query if "after" in request.query_params else None,
        fresh=fresh,
        aware=index.aware,
    )


def _group(pairs: Any) -> dict[int, list[tuple[int, str]]]:
    grouped: dict[int, list[tuple[int, str]]] = {}
    for pk, tag in pairs:
        grouped.setdefault(pk, []).append((pk, tag))
    return grouped


def _summary(request: Request, pk: int) -> ConversationSummary:
    with _database(request).session() as session:
        summary = session.get(ConversationSummary, pk)
        if summary is None:
            raise HTTPException(status_code=404, detail="no such conversation")
        session.expunge(summary)
    return summary


@router.get("/conversations/{pk}", response_class=HTMLResponse, responses={**TO_LOGIN, **NOT_FOUND})
def conversation(pk: Id, request: Request, login: LoginDep) -> HTMLResponse:
    summary = _summary(request, pk)
    database = _database(request)
    _audit(database, login.username, "view_conversation", summary.conversation_id)
    rows = _tracker(request).conversation_events(summary.conversation_id)
    if not rows:
        # Erased in the chat (the engine deleted the events): forget what the index kept.
        index.forget_conversations(database, [summary.conversation_id])
        raise HTTPException(status_code=404, detail="conversation erased")
    with database.session() as session:
        tags = sorted(
            session.scalars(
                select(ConversationTag.tag).where(ConversationTag.conversation_pk == pk)
            )
        )
        notes = list(
            session.scalars(select(Note).where(Note.conversation_pk == pk).order_by(Note.at))
        )
        marks = {
            mark.event_id: mark.correct_intent
            for mark in session.scalars(select(IntentMark).where(IntentMark.conversation_pk == pk))
        }
        handoffs = list(
            session.scalars(
                select(HandoffRequest).where(
                    HandoffRequest.conversation_id == summary.conversation_id
                )
            )
        )
    return _render(
        request,
        "console/conversation.html",
        login,
        summary=summary,
        items=list(transcript(rows)),
        tags=tags,
        notes=notes,
        marks=marks,
        intents=exports.known_intents(),
        handoffs=handoffs,
        aware=index.aware,
    )


@_item_action("/conversations/{pk}/tags", "tag")
def add_tag(pk: Id, request: Request, login: LoginDep, form: FormDep) -> RedirectResponse:
    summary = _summary(request, pk)
    tag = " ".join(_field(form, "tag", TAG_MAX).lower().split())
    if tag:
        with _database(request).session() as session:
            exists = session.scalar(
                select(ConversationTag).where(
                    ConversationTag.conversation_pk == pk, ConversationTag.tag == tag
                )
            )
            if exists is None:
                session.add(ConversationTag(conversation_pk=pk, tag=tag))
        _audit(_database(request), login.username, "tag", summary.conversation_id, tag)
    return _back(f"/console/conversations/{pk}")


@_item_action("/conversations/{pk}/tags/remove", "tag")
def remove_tag(pk: Id, request: Request, login: LoginDep, form: FormDep) -> RedirectResponse:
    summary = _summary(request, pk)
    tag = _field(form, "tag", TAG_MAX)
    with _database(request).session() as session:
        session.execute(
            delete(ConversationTag).where(
                ConversationTag.conversation_pk == pk, ConversationTag.tag == tag
            )
        )
    _audit(_database(request), login.username, "untag", summary.conversation_id, tag)
    return _back(f"/console/conversations/{pk}")


@_item_action("/conversations/{pk}/notes", "text")
def add_note(pk: Id, request: Request, login: LoginDep, form: FormDep) -> RedirectResponse:
    summary = _summary(request, pk)
    body = _field(form, "text", NOTE_MAX)
    if body:
        with _database(request).session() as session:
            session.add(Note(conversation_pk=pk, author=login.username, at=utcnow(), text=body))
        _audit(_database(request), login.username, "note", summary.conversation_id)
    return _back(f"/console/conversations/{pk}")


@_item_action("/conversations/{pk}/review", "needs_review")
def set_review(pk: Id, request: Request, login: LoginDep, form: FormDep) -> RedirectResponse:
    summary = _summary(request, pk)
    wanted = _field(form, "needs_review") == "1"
    with _database(request).session() as session:
        row = session.get(ConversationSummary, pk)
        if row is not None:
            row.needs_review = wanted
    action = "flag_review" if wanted else "unflag_review"
    _audit(_database(request), login.username, action, summary.conversation_id)
    return _back(f"/console/conversations/{pk}")


@_item_action("/conversations/{pk}/marks", "intent", "event_id", bad=True)
def mark_intent(pk: Id, request: Request, login: LoginDep, form: FormDep) -> RedirectResponse:
    summary = _summary(request, pk)
    intent = _field(form, "intent", 64)
    event_id = _number(_field(form, "event_id"), int)
    if intent not in exports.known_intents() or event_id is None:
        raise HTTPException(status_code=400, detail="unknown intent or message")
    rows = dict(_tracker(request).conversation_events(summary.conversation_id))
    event = rows.get(event_id)
    if event is None or event.get("event") != "user":
        raise HTTPException(status_code=400, detail="not a user message of this conversation")
    predicted = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
    with _database(request).session() as session:
        mark = session.scalar(
            select(IntentMark).where(
                IntentMark.conversation_pk == pk, IntentMark.event_id == event_id
            )
        )
        if mark is None:
            mark = IntentMark(conversation_pk=pk, event_id=event_id)
            session.add(mark)
        mark.text = str(event.get("text") or "")
        mark.predicted_intent = predicted
        mark.correct_intent = intent
        mark.marked_by = login.username
        mark.marked_at = utcnow()
    _audit(_database(request), login.username, "mark_intent", summary.conversation_id, intent)
    return _back(f"/console/conversations/{pk}#e{event_id}")


def _download(body: str, filename: str) -> Response:
    return Response(
        body,
        media_type="application/x-yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/conversations/{pk}/story.yml",
    response_class=YamlResponse,
    responses={**YAML_FILE, **TO_LOGIN, **NOT_FOUND},
)
def export_story(pk: Id, request: Request, login: LoginDep) -> Response:
    summary = _summary(request, pk)
    _audit(_database(request), login.username, "export_story", summary.conversation_id)
    body = exports.stories_yaml([_story(request, summary)])
    return _download(body, f"conversation-{pk}-story.yml")


def _story(request: Request, summary: ConversationSummary) -> tuple[str, list[dict[str, Any]]]:
    with _database(request).session() as session:
        corrections = dict(
            session.execute(
                select(IntentMark.event_id, IntentMark.correct_intent).where(
                    IntentMark.conversation_pk == summary.id
                )
            )
            .tuples()
            .all()
        )
    rows = _tracker(request).conversation_events(summary.conversation_id)
    return f"conversation {summary.id}", exports.story_steps(rows, corrections)


@router.get(
    "/export/stories.yml",
    response_class=YamlResponse,
    responses={**YAML_FILE, **TO_LOGIN},
    openapi_extra=query(*FILTERS),
)
def export_stories(request: Request, login: LoginDep) -> Response:
    """The conversations of the current filter (newest first, at most 200) as test stories."""
    with _database(request).session() as session:
        rows, _ = index.list_page(session, _filters(request), limit=STORY_EXPORT_LIMIT)
        for row in rows:
            session.expunge(row)
    _audit(
        _database(request),
        login.username,
        "export_stories",
        None,
        ",".join(row.conversation_id for row in rows)[:4000],
    )
    return _download(exports.stories_yaml(_story(request, row) for row in rows), "stories.yml")


@router.get("/export/nlu.yml", response_class=YamlResponse, responses={**YAML_FILE, **TO_LOGIN})
def export_nlu(request: Request, login: LoginDep) -> Response:
    with _database(request).session() as session:
        marks = session.execute(
            select(IntentMark.correct_intent, IntentMark.text).order_by(IntentMark.id)
        ).all()
    _audit(_database(request), login.username, "export_nlu", None, f"{len(marks)} messages")
    return _download(exports.nlu_yaml([(i, t) for i, t in marks]), "nlu-corrections.yml")


@_item_action("/conversations/{pk}/erase")
def erase(pk: Id, request: Request, login: AdminDep, form: FormDep) -> RedirectResponse:
    summary = _summary(request, pk)
    # Handoff requests, outbox and saved advice first, then the tracker events and the index.
    erased = retention.erase_conversation(
        _settings(request).tracker_database_url,
        summary.conversation_id,
        database=_database(request),
    )
    forgotten = erased.forgotten
    detail = (
        f"{erased.events} tracker events, {forgotten.handoff_requests} handoff requests, "
        f"{forgotten.saved_advice} saved advice links, index"
    )
    notice = erased.delivered_notice()
    _audit(
        _database(request),
        login.username,
        "erase_conversation",
        summary.conversation_id,
        f"{detail}; {notice}" if notice else detail,
    )
    return _back("/console/conversations")


# ---- handoffs ----------------------------------------------------------------------------


@router.get(
    "/handoffs", response_class=HTMLResponse, responses=TO_LOGIN, openapi_extra=query("closed")
)
def handoffs(request: Request, login: LoginDep) -> HTMLResponse:
    _refresh(request)  # so each request links to its conversation
    show_closed = request.query_params.get("closed") == "1"
    with _database(request).session() as session:
        query = select(HandoffRequest).order_by(HandoffRequest.created_at)
        if not show_closed:
            query = query.where(HandoffRequest.status != "closed")
        requests = list(session.scalars(query.limit(500)))
        links = dict(
            session.execute(
                select(ConversationSummary.conversation_id, ConversationSummary.id).where(
                    ConversationSummary.conversation_id.in_(
                        [item.conversation_id for item in requests]
                    )
                )
            )
            .tuples()
            .all()
        )
    _audit(_database(request), login.username, "view_handoffs", None, f"{len(requests)} shown")
    return _render(
        request,
        "console/handoffs.html",
        login,
        requests=requests,
        links=links,
        show_closed=show_closed,
        aware=index.aware,
    )


@_item_action("/handoffs/{handoff_id}/{action}")
def handoff_action(
    handoff_id: Id, action: str, request: Request, login: LoginDep, form: FormDep
) -> RedirectResponse:
    with _database(request).session() as session:
        item = session.get(HandoffRequest, handoff_id)
        if item is None:
            raise HTTPException(status_code=404, detail="no such request")
        mine = item.assigned_to == login.username
        if action == "assign" and (item.status == "open" or login.is_admin):
            item.status, item.assigned_to = "assigned", login.username
        elif action == "close" and item.status != "closed" and (mine or login.is_admin):
            item.status, item.closed_at = "closed", utcnow()
        elif action == "reopen" and login.is_admin:
            item.status, item.assigned_to, item.closed_at = "open", None, None
        else:
            raise HTTPException(status_code=403, detail="not allowed")
        conversation_id = item.conversation_id
    _audit(_database(request), login.username, f"handoff_{action}", conversation_id)
    return _back("/console/handoffs")


# ---- questions the bot could not answer ------------------------------------------------------


@router.get(
    "/questions", response_class=HTMLResponse, responses=TO_LOGIN, openapi_extra=query("closed")
)
def unanswered_questions(request: Request, login: LoginDep) -> HTMLResponse:
    """Questions without a good answer, newest first, each with a draft for answers.yaml."""
    status = "done" if request.query_params.get("closed") == "1" else "open"
    log = UnansweredQuestions(_database(request))
    questions = log.listed(status, limit=200)
    _audit(_database(request), login.username, "view_questions", None, f"{len(questions)} shown")
    return _render(
        request,
        "console/questions.html",
        login,
        questions=questions,
        drafts={q.id: answer_draft(q) for q in questions},
        show_done=status == "done",
        open_count=log.count("open"),
    )


@_item_action("/questions/{question_id}/{action}")
def question_action(
    question_id: Id, action: str, request: Request, login: LoginDep, form: FormDep
) -> RedirectResponse:
    if action not in ("done", "reopen"):
        raise HTTPException(status_code=404, detail="no such action")
    found = UnansweredQuestions(_database(request)).mark(
        question_id, "done" if action == "done" else "open"
    )
    if not found:
        raise HTTPException(status_code=404, detail="no such question")
    _audit(_database(request), login.username, f"question_{action}", None, str(question_id))
    return _back("/console/questions")


# ---- dashboard ---------------------------------------------------------------------------


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    responses=TO_LOGIN,
    openapi_extra=query("date_from", "date_to"),
)
def dashboard_page(request: Request, login: LoginDep) -> HTMLResponse:
    _refresh(request)
    today = utcnow().date()
    end = _date(request.query_params.get("date_to")) or today
    start = _date(request.query_params.get("date_from")) or end - dt.timedelta(days=29)
    if start > end or (end - start).days > 366:
        start = end - dt.timedelta(days=29)
    with _database(request).session() as session:
        figures = dashboard.figures(session, start, end)
    return _render(request, "console/dashboard.html", login, figures=figures, start=start, end=end)


# ---- admin -------------------------------------------------------------------------------


@router.get(
    "/admin/audit",
    response_class=HTMLResponse,
    responses={**TO_LOGIN, **FORBIDDEN},
    openapi_extra=query("before"),
)
def audit_log(request: Request, login: AdminDep) -> HTMLResponse:
    before = _number(request.query_params.get("before"), int)
    with _database(request).session() as session:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(200)
        if before is not None:
            query = query.where(AuditEntry.id < before)
        entries = list(session.scalars(query))
    return _render(request, "console/audit.html", login, entries=entries, aware=index.aware)


@router.get("/admin/users", response_class=HTMLResponse, responses={**TO_LOGIN, **FORBIDDEN})
def users(request: Request, login: AdminDep) -> HTMLResponse:
    return _users_page(request, login)


def _users_page(request: Request, login: auth.Login, error: str | None = None) -> HTMLResponse:
    with _database(request).session() as session:
        accounts = list(session.scalars(select(StaffUser).order_by(StaffUser.username)))
        sessions = dict(
            session.execute(
                select(StaffSession.user_id, func.count()).group_by(StaffSession.user_id)
            )
            .tuples()
            .all()
        )
    return _render(
        request,
        "console/users.html",
        login,
        accounts=accounts,
        roles=ROLES,
        error=error,
        sessions=sessions,
        aware=index.aware,
        status_code=400 if error else 200,
    )


@router.post(
    "/admin/users",
    response_model=None,
    status_code=303,
    response_class=RedirectResponse,
    responses={
        **ACTION,
        400: {"description": "Refused: the users page with the reason", "content": _HTML},
    },
    openapi_extra=form_body("username", "password", "role"),
)
def create_user(request: Request, login: AdminDep, form: FormDep) -> Response:
    username = _field(form, "username", 64)
    password = form.get("password")
    try:
        with _database(request).session() as session:
            auth.create_user(
                session,
                username,
                password if isinstance(password, str) else "",
                _field(form, "role", 16),
            )
    except ValueError as exc:
        return _users_page(request, login, str(exc))
    _audit(_database(request), login.username, "create_user", None, username)
    return _back("/console/admin/users")


@_item_action("/admin/users/{user_id}/{action}", bad=True)
def user_action(
    user_id: Id, action: str, request: Request, login: AdminDep, form: FormDep
) -> RedirectResponse:
    with _database(request).session() as session:
        account = session.get(StaffUser, user_id)
        if account is None:
            raise HTTPException(status_code=404, detail="no such user")
        if action == "unlock":
            auth.clear_lockout(account)
        elif action in ("deactivate", "activate") and account.id != login.user_id:
            account.active = action == "activate"
            if not account.active:
                auth.end_user_sessions(session, account.id)
        else:
            raise HTTPException(status_code=400, detail="unknown action")
        name = account.username
    _audit(_database(request), login.username, f"user_{action}", None, name)
    return _back("/console/admin/users")


# ---- catalogue: upload, review (the replay diff), load -----------------------------------------

UPLOADS_SHOWN = 20
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The loaded catalogue changed since the review: review again",
        "content": _HTML,
    }
}


def _catalogue_engine(request: Request) -> Engine:
    """The catalogue's database (the app database by default), one engine per app and URL."""
    url = _settings(request).database_url
    kept: tuple[str, Engine] | None = getattr(request.app.state, "console_catalogue_engine", None)
    if kept is None or kept[0] != url:
        kept = (url, catalogue_store.make_engine(url))
        request.app.state.console_catalogue_engine = kept
    return kept[1]


def _catalogue_page(
    request: Request, login: auth.Login, problems: list[str] | None = None, status_code: int = 200
) -> HTMLResponse:
    with _database(request).session() as session:
        uploads = list(
            session.scalars(
                select(CatalogueUpload).order_by(CatalogueUpload.id.desc()).limit(UPLOADS_SHOWN)
            )
        )
        for upload in uploads:
            session.expunge(upload)
    return _render(
        request,
        "console/catalogue.html",
        login,
        status_code=status_code,
        current=catalogue_store.loaded_info(_catalogue_engine(request)),
        uploads=uploads,
        problems=problems or [],
        aware=index.aware,
    )


@router.get("/admin/catalogue", response_class=HTMLResponse, responses={**TO_LOGIN, **FORBIDDEN})
def catalogue_page(request: Request, login: AdminDep) -> HTMLResponse:
    return _catalogue_page(request, login)


@router.post(
    "/admin/catalogue/upload",
    status_code=303,
    response_class=RedirectResponse,
    response_model=None,
    responses={
        **ACTION,
        400: {
            "description": "Refused: the catalogue page with the problems (JSON when the "
            "multipart form itself is malformed)",
            "content": {**_HTML, **_DETAIL},
        },
    },
    openapi_extra=multipart_body("export"),
)
async def upload_catalogue(request: Request, login: AdminDep, form: FormDep) -> Response:
    """Checks an export as a sync would and keeps it for review; nothing is loaded yet."""
    upload = form.get("export")
    body = await upload.read() if isinstance(upload, UploadFile) else b""
    database = _database(request)
    try:
        uploaded = await run_in_threadpool(catalogue_upload.check_export, body)
    except catalogue_upload.UploadRefused as exc:
        _audit(database, login.username, "catalogue_upload_refused", None, str(exc)[:4000])
        return await run_in_threadpool(_catalogue_page, request, login, exc.problems, 400)
    with database.session() as session:
        row = CatalogueUpload(
            uploaded_by=login.username,
            uploaded_at=utcnow(),
            version=uploaded.version,
            checksum=uploaded.checksum,
            export=body.decode("utf-8"),
            status="pending",
        )
        session.add(row)
        session.flush()
        upload_id = row.id
    _audit(
        database,
        login.username,
        "catalogue_upload",
        None,
        f"upload {upload_id}: version {uploaded.version}, checksum {uploaded.checksum[:12]}",
    )
    return _back(f"/console/admin/catalogue/uploads/{upload_id}")


def _upload(request: Request, upload_id: int) -> CatalogueUpload:
    with _database(request).session() as session:
        row = session.get(CatalogueUpload, upload_id)
        if row is None:
            raise HTTPException(status_code=404, detail="no such upload")
        session.expunge(row)
    return row


def _review_page(
    request: Request,
    login: auth.Login,
    row: CatalogueUpload,
    message: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    review: catalogue_upload.Review | None = None
    problems: list[str] = []
    if row.status == "pending":
        try:
            uploaded = catalogue_upload.check_export(row.export.encode("utf-8"))
            review = catalogue_upload.review(_catalogue_engine(request), uploaded)
        except catalogue_upload.UploadRefused as exc:
            problems = exc.problems
        except ReplayError as exc:
            problems = [str(exc)]
    if review is not None:
        _audit(
            _database(request),
            login.username,
            "catalogue_review",
            None,
            f"upload {row.id}: {review.changed} of {review.total} plans change",
        )
    return _render(
        request,
        "console/catalogue_review.html",
        login,
        status_code=status_code,
        upload=row,
        review=review,
        problems=problems,
        message=message,
        aware=index.aware,
    )


@router.get(
    "/admin/catalogue/uploads/{upload_id}",
    response_class=HTMLResponse,
    responses={**TO_LOGIN, **FORBIDDEN, **NOT_FOUND},
)
def catalogue_review(upload_id: Id, request: Request, login: AdminDep) -> HTMLResponse:
    """Which profiles' plans the uploaded catalogue changes, and how (before it is loaded)."""
    return _review_page(request, login, _upload(request, upload_id))


@router.post(
    "/admin/catalogue/uploads/{upload_id}/load",
    status_code=303,
    response_class=RedirectResponse,
    response_model=None,
    responses={**ACTION, **NOT_FOUND, **CONFLICT},
    openapi_extra=form_body("base"),
)
def load_catalogue(upload_id: Id, request: Request, login: AdminDep, form: FormDep) -> Response:
    """Loads a reviewed upload, if the loaded catalogue is still the one it was compared with."""
    row = _upload(request, upload_id)
    if row.status != "pending":
        return _review_page(request, login, row, "already_loaded", 409)
    engine = _catalogue_engine(request)
    current = catalogue_store.loaded_info(engine)
    if (current.checksum if current else "") != _field(form, "base", 64):
        return _review_page(request, login, row, "changed_since_review", 409)
    try:
        uploaded = catalogue_upload.check_export(row.export.encode("utf-8"))
    except catalogue_upload.UploadRefused:
        return _review_page(request, login, row, None, 409)
    catalogue_store.save(engine, uploaded, origin=f"console upload {row.id} by {login.username}")
    with _database(request).session() as session:
        stored = session.get(CatalogueUpload, row.id)
        if stored is not None:
            stored.status, stored.loaded_by, stored.loaded_at = "loaded", login.username, utcnow()
    _audit(
        _database(request),
        login.username,
        "catalogue_load",
        None,
        f"upload {row.id}: version {uploaded.version}, checksum {uploaded.checksum[:12]}"
        + (f", replacing {current.version} ({current.checksum[:12]})" if current else ""),
    )
    return _back("/console/admin/catalogue")
