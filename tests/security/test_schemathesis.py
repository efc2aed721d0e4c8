"""schemathesis against the web app's own OpenAPI description (app.openapi(); the app does not
serve it): every operation of the console, the advice page, the widget router and health,
anonymously and as a logged-in console admin.

Checked on every response: no 5xx, status code, content type and (JSON) body as described;
anonymous console requests get 303 to the login page or 401, never content; an advice page
answers only for its own token. A few examples per operation keep the module fast; set
ZIJWIJZER_SCHEMATHESIS_EXAMPLES (e.g. 500) for a longer run.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from bot.app.advice_store import save_advice
from bot.app.console import auth
from bot.app.console.models import StaffUser
from bot.app.db import Database
from bot.app.handoff.models import HandoffRequest
from bot.app.web.app import create_app
from bot.common.settings import load_settings
from tests.console.conftest import Console, make_console
from tests.web.plans import view_with_text

EXAMPLES = int(os.environ.get("ZIJWIJZER_SCHEMATHESIS_EXAMPLES", "8"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Pages of the console anyone may see.
PUBLIC_CONSOLE = re.compile(r"^/console/(login|lang/[^/]*)$")
ADVICE = re.compile(r"^/advies/([^/]+?)(\.pdf)?$")
ACTIONS = ("assign", "close", "reopen", "unlock", "activate", "deactivate")


def _description() -> dict[str, Any]:
    """The OpenAPI description, read from an app that is never started."""
    paths: dict[str, Any] = create_app(load_settings(), Database("sqlite://")).openapi()["paths"]
    return paths


def _can_be_invalid(operation: dict[str, Any]) -> bool:
    """Whether negative examples exist: any string fits a plain string parameter."""
    return "requestBody" in operation or any(
        p["schema"].get("type") != "string" for p in operation.get("parameters", [])
    )


PATHS = _description()
LABELS = [f"{method.upper()} {path}" for path, ops in PATHS.items() for method in ops]
CASES = [(label, GenerationMode.POSITIVE) for label in LABELS] + [
    (f"{method.upper()} {path}", GenerationMode.NEGATIVE)
    for path, ops in PATHS.items()
    for method, operation in ops.items()
    if _can_be_invalid(operation)
]


def _advice(marker: str) -> dict[str, Any]:
    """A small saved plan whose every text carries the owner's marker."""
    return view_with_text(f"Plan van {marker}", url=None)


def _handoffs(database: Database) -> None:
    """Two handoff requests, so the handoff actions have something to act on."""
    with database.session() as session:
        for conversation_id in ("bravo", "echo"):
            session.add(
                HandoffRequest(
                    public_id=f"public-{conversation_id}",
                    conversation_id=conversation_id,
                    channel="widget",
                    language="nl",
                    contact_preference="email",
                    consent=False,
                    profile_summary={},
                    status="open",
                )
            )


@dataclass
class Target:
    console: Console
    schema: Any
    # token -> the marker only that token's page may show
    tokens: dict[str, str]

    def admin_cookie(self) -> tuple[str, str]:
        """A fresh admin session per example: an example may log out or lock its own."""
        database = self.console.database
        secret = self.console.settings.secret_key
        with database.session() as session:
            user = session.scalar(select(StaffUser).where(StaffUser.username == "anna"))
            assert user is not None
            user.active, user.locked_until = True, None
            cookie = auth.start_session(session, user, secret, dt.timedelta(hours=1))
        with database.session() as session:
            login = auth.resolve_session(session, cookie, secret)
        assert login is not None
        return cookie, login.csrf_token


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with pytest.MonkeyPatch.context() as patch:
        # Argon2id with small costs: admins create users while fuzzing.
        patch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        auth._dummy_hash.cache_clear()
        console = make_console(tmp_path_factory.mktemp("schemathesis"))
        console.database.create_all()
        console.pk("alpha")  # builds the console's index: the seeded conversations get ids
        _handoffs(console.database)
        tokens = {
            save_advice(console.database, _advice(marker), "nl", valid_days=30): marker
            for marker in ("Alfa", "Bravo")
        }
        app = console.client.app
        schema = schemathesis.openapi.from_dict(app.openapi())  # type: ignore[attr-defined]
        schema.app = app
        yield Target(console, schema, tokens)
        console.database.dispose()
    auth._dummy_hash.cache_clear()


def _form(case: schemathesis.Case, **fields: str) -> None:
    if isinstance(case.body, dict):
        case.body = {**case.body, **fields}


def _check_privacy(
    target: Target, case: schemathesis.Case, response: Response, anonymous: bool
) -> None:
    path = case.formatted_path
    if anonymous and path.startswith("/console") and not PUBLIC_CONSOLE.match(path):
        assert response.status_code in (303, 401, 422), (path, response.status_code)
        if response.status_code == 303:
            assert response.headers["location"] == ["/console/login"]
    advice = ADVICE.match(path)
    if advice and response.status_code == 200:
        marker = target.tokens.get(advice.group(1))
        assert marker is not None, f"an advice page answered for a token nobody got: {path}"
        if not advice.group(2):
            others = set(target.tokens.values()) - {marker}
            assert marker in response.text
            assert not any(other in response.text for other in others)


def _run(target: Target, label: str, mode: GenerationMode, anonymous: bool) -> None:
    operation = target.schema.find_operation_by_label(label)
    assert operation is not None, label

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=operation.as_strategy(generation_mode=mode),
        known=st.none() | st.integers(min_value=1, max_value=6),
        action=st.none() | st.sampled_from(ACTIONS),
    )
    def check(case: schemathesis.Case, known: int | None, action: str | None) -> None:
        if mode is GenerationMode.POSITIVE:
            # Random ids name nothing: often use the seeded ones, so examples reach the pages.
            for name in ("pk", "handoff_id", "user_id"):
                if known is not None and name in (case.path_parameters or {}):
                    case.path_parameters = {**(case.path_parameters or {}), name: known}
            if action is not None and "action" in (case.path_parameters or {}):
                case.path_parameters = {**(case.path_parameters or {}), "action": action}
        cookies: dict[str, str] = {}
        if label == "POST /console/login":
            # The login form's double-submit token, so examples reach the password check.
            cookies["zw_console_login"] = "login-token"
            _form(case, csrf_token="login-token")
        if not anonymous:
            cookies["zw_console"], csrf = target.admin_cookie()
            if label != "POST /console/login":
                _form(case, csrf_token=csrf)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)
        _check_privacy(target, case, response, anonymous)

    check()


@pytest.mark.parametrize(("label", "mode"), CASES, ids=str)
def test_anonymous(target: Target, label: str, mode: GenerationMode) -> None:
    _run(target, label, mode, anonymous=True)


@pytest.mark.parametrize(("label", "mode"), CASES, ids=str)
def test_as_console_admin(target: Target, label: str, mode: GenerationMode) -> None:
    _run(target, label, mode, anonymous=False)


def test_every_operation_is_covered() -> None:
    prefixes = {"/console", "/advies", "/health", "/ready", "/"}
    paths = {label.split(" ", 1)[1] for label in LABELS}
    assert {p for p in paths if not any(p.startswith(x) for x in prefixes)} == set()
    assert {"/health", "/ready", "/", "/advies/{token}", "/advies/{token}.pdf"} <= paths
    assert len([p for p in paths if p.startswith("/console/")]) >= 20


# ---- one conversation's advice link never opens another's --------------------------------------


@settings(max_examples=max(EXAMPLES * 10, 50), deadline=None, database=None)
@given(
    edit=st.sampled_from(["append", "prepend", "drop", "swap", "upper", "other"]),
    extra=st.text(string.ascii_letters + string.digits + "-_.%/", min_size=1, max_size=8),
)
def test_a_changed_token_opens_nothing(target: Target, edit: str, extra: str) -> None:
    token, other = list(target.tokens)
    changed = {
        "append": token + extra,
        "prepend": extra + token,
        "drop": token[:-1],
        "swap": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "upper": token.upper() if token.upper() != token else token.lower(),
        "other": other[: len(other) // 2] + token[len(token) // 2 :],
    }[edit]
    response = target.console.client.get(f"/advies/{changed}", follow_redirects=False)
    if response.status_code == 307:
        # A trailing slash is only ever dropped: the same link, whoever it belongs to.
        assert response.headers["location"].endswith(f"/advies/{changed.rstrip('/')}")
        return
    markers = set(target.tokens.values())
    if re.sub(r"\.pdf$", "", changed) == token:
        # "A.pdf" is A's PDF: A's advice only.
        assert response.status_code == 200, changed
        assert not any(m in response.text for m in markers - {target.tokens[token]})
        return
    assert response.status_code in (404, 422), changed
    assert not any(marker in response.text for marker in markers)


def test_each_token_opens_its_own_advice_only(target: Target) -> None:
    for token, marker in target.tokens.items():
        page = target.console.client.get(f"/advies/{token}")
        assert page.status_code == 200
        assert f"Plan van {marker}" in page.text
        others = set(target.tokens.values()) - {marker}
        assert not any(f"Plan van {other}" in page.text for other in others)
