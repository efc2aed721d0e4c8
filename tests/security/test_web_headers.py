"""The web app's security headers per kind of route, and its request body limit
(FastAPI TestClient, temporary SQLite database; bot/app/web/security.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.app.db import Database
from bot.app.web.app import create_app
from bot.app.web.security import MAX_BODY_BYTES, TOO_LARGE
from bot.common.settings import Settings, load_settings

PARTNER = "https://werkenindezorg.example.nl"


def settings_for(tmp_path: Path, public_url: str) -> Settings:
    return dataclasses.replace(
        load_settings(),
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        tracker_database_url=f"sqlite:///{tmp_path / 'trackers.db'}",
        secret_key="test-secret-key",
        public_url=public_url,
        chat_url="https://chat.zijwijzer.example",
        allowed_origins=(PARTNER, "https://zijwijzer.example"),
    )


def client_for(settings: Settings) -> TestClient:
    database = Database(settings.database_url)
    database.create_all()
    return TestClient(create_app(settings, database), base_url="https://testserver")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(settings_for(tmp_path, "https://zijwijzer.example")) as running:
        yield running


def directives(policy: str) -> dict[str, str]:
    parts = (part.strip().split(" ", 1) for part in policy.split(";"))
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
}
STRICT = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}

PRIVATE_PAGES = [
    ("/console/login", 200),
    ("/console/conversations", 303),  # to the login page
    ("/advies/not-a-token", 404),
    ("/advies/not-a-token.pdf", 404),
    ("/health", 200),
    ("/no-such-page", 404),
]


@pytest.mark.parametrize(("path", "status"), PRIVATE_PAGES)
def test_private_pages_are_strict_unframed_and_uncached(
    client: TestClient, path: str, status: int
) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == status
    headers = response.headers
    for name, value in COMMON.items():
        assert headers[name] == value, name
    assert directives(headers["content-security-policy"]) == STRICT
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    assert headers["cross-origin-resource-policy"] == "same-origin"
    assert "camera=()" in headers["permissions-policy"]
    assert "microphone=()" in headers["permissions-policy"]


def test_demo_page_may_be_framed_by_embedding_sites_only(client: TestClient) -> None:
    headers = client.get("/").headers
    for name, value in COMMON.items():
        assert headers[name] == value, name
    policy = directives(headers["content-security-policy"])
    assert policy == {
        **STRICT,
        "script-src": "'self' https://zijwijzer.example",
        "style-src": "'self' https://zijwijzer.example",
        "connect-src": "'self' https://chat.zijwijzer.example",
        "frame-ancestors": f"{PARTNER} https://zijwijzer.example",
    }
    assert "x-frame-options" not in headers
    assert "'unsafe-inline'" not in headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/static/widget.js", "/static/widget.css", "/static/demo.css"])
def test_widget_assets_are_loadable_by_other_sites(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["cross-origin-resource-policy"] == "cross-origin"
    assert headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in headers.get("cache-control", "")


def test_no_hsts_while_public_url_is_http(tmp_path: Path) -> None:
    with client_for(settings_for(tmp_path, "http://127.0.0.1:8000")) as client:
        headers = client.get("/health").headers
    assert "strict-transport-security" not in headers
    assert headers["x-frame-options"] == "DENY"


def test_openapi_description_is_not_served(client: TestClient) -> None:
    assert client.get("/openapi.json").status_code == 404
    assert client.get("/docs").status_code == 404


# ---- request body limit -------------------------------------------------------------------------


def test_oversized_body_is_refused_by_its_length(client: TestClient) -> None:
    response = client.post(
        "/console/login",
        content=b"username=" + b"a" * MAX_BODY_BYTES,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.json() == {"detail": TOO_LARGE}
    assert response.headers["x-frame-options"] == "DENY"


def test_oversized_streamed_body_is_refused_while_counting(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"username="
        for _ in range(20):
            yield b"a" * 4096

    # A generator is sent chunked: no Content-Length to trust, so the middleware counts.
    response = client.post(
        "/console/login",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.json() == {"detail": TOO_LARGE}


def test_a_body_under_the_limit_reaches_the_route(client: TestClient) -> None:
    response = client.post(
        "/console/login",
        content=b"username=" + b"a" * (MAX_BODY_BYTES - 100),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 403  # the login form's CSRF check, not the size


def test_without_embedding_sites_the_demo_page_is_never_framed(tmp_path: Path) -> None:
    settings = dataclasses.replace(
        settings_for(tmp_path, "https://zijwijzer.example"), allowed_origins=("*",)
    )
    with client_for(settings) as client:
        headers = client.get("/").headers
    assert directives(headers["content-security-policy"])["frame-ancestors"] == "'none'"
    assert headers["x-frame-options"] == "DENY"
