"""The web app's widget part: demo page and static files (FastAPI TestClient, no engine)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.app.db import Database
from bot.app.web.app import create_app
from bot.common.settings import load_settings


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("ZIJWIJZER_SECRET_KEY", "test-secret-key-that-is-long-enough-for-hmac")
    monkeypatch.setenv("ZIJWIJZER_CHAT_URL", "https://chat.example.org/")
    monkeypatch.setenv("ZIJWIJZER_PUBLIC_URL", "https://zijwijzer.example.org")
    monkeypatch.setenv("ZIJWIJZER_RETENTION_DAYS", "90")
    settings = load_settings()
    app = create_app(settings, Database(f"sqlite:///{tmp_path / 'app.db'}"))
    with TestClient(app) as test_client:
        yield test_client


def test_demo_page_embeds_the_widget_with_one_script_tag(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="nl">' in html
    assert "Werken in de zorg" in html
    tag = (
        '<script src="https://zijwijzer.example.org/static/widget.js" '
        'data-chat-url="https://chat.example.org" data-retention-days="90" '
        'data-max-chars="1000" data-language="nl" defer></script>'
    )
    assert tag in html
    assert html.count("<script") == 1  # no inline script: the policy forbids it


def test_demo_page_links_the_privacy_statement_when_one_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZIJWIJZER_SECRET_KEY", "test-secret-key-that-is-long-enough-for-hmac")
    monkeypatch.setenv("ZIJWIJZER_PRIVACY_URL", "https://werkgever.example/privacy?a=1&b=2")
    app = create_app(load_settings(), Database(f"sqlite:///{tmp_path / 'app.db'}"))
    with TestClient(app) as test_client:
        html = test_client.get("/").text
    # On the widget's script tag (escaped), and in the snippet shown to integrators.
    assert html.count('data-privacy-url="https://werkgever.example/privacy?a=1&amp;b=2"') == 2


def test_demo_page_without_a_privacy_statement_has_no_link(client: TestClient) -> None:
    assert "data-privacy-url" not in client.get("/").text


def test_demo_page_in_english(client: TestClient) -> None:
    html = client.get("/?lang=en").text
    assert '<html lang="en">' in html and "Working in care" in html
    assert 'data-language="en"' in html
    # An unknown language falls back to Dutch instead of being echoed into the page.
    assert '<html lang="nl">' in client.get("/?lang=<b>x</b>").text


def test_demo_page_security_headers(client: TestClient) -> None:
    headers = client.get("/").headers
    policy = headers["content-security-policy"]
    assert "connect-src 'self' https://chat.example.org" in policy
    assert "script-src 'self' https://zijwijzer.example.org" in policy
    assert "'unsafe-inline'" not in policy
    assert "default-src 'none'" in policy
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    # The sites allowed to embed the widget may frame the demo page; X-Frame-Options cannot
    # say that, so it is left out here.
    assert "x-frame-options" not in headers
    assert "frame-ancestors" in policy and "frame-ancestors 'none'" not in policy
    assert headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/static/widget.js", "javascript"),
        ("/static/widget.css", "text/css"),
        ("/static/demo.css", "text/css"),
    ],
)
def test_static_files(client: TestClient, path: str, kind: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200
    assert kind in answer.headers["content-type"]
    # Embedding sites load the widget's files from here.
    assert answer.headers["cross-origin-resource-policy"] == "cross-origin"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_widget_script_never_uses_inner_html(client: TestClient) -> None:
    script = client.get("/static/widget.js").text
    for unsafe in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert unsafe not in script
    # Both languages' widget texts are in the script.
    assert "Nieuw gesprek" in script and "New conversation" in script
    assert "verwijder mijn gesprek" in script and "delete my conversation" in script


def test_unknown_static_file_is_404(client: TestClient) -> None:
    assert client.get("/static/nothing.js").status_code == 404
    assert client.get("/static/../settings.py").status_code == 404
