"""The widget when the engine refuses a turn (503 storage_unavailable), in headless Chromium.

No engine: the web app serves the demo page and Playwright answers the engine's widget
channel itself (route interception), so the test can refuse a turn and then accept its resend.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from bot.app.db import Database
from bot.app.web.app import create_app
from bot.common.settings import load_settings
from tests.browser import screenshot_path, serve

pytestmark = pytest.mark.integration

ENGINE = "http://127.0.0.1:9"  # never reached: every request to it is intercepted
# Where the page loads the widget from; served by the test's web app on its own port.
PUBLIC = "http://127.0.0.1:8"
CID = "0123456789abcdef0123456789abcdef"
STORED_NOT = "Het lukt nu even niet om je bericht op te slaan (van de server)."


@pytest.fixture
def web_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ZIJWIJZER_SECRET_KEY", "test-secret-key-that-is-long-enough-for-hmac")
    monkeypatch.setenv("ZIJWIJZER_CHAT_URL", ENGINE)
    monkeypatch.setenv("ZIJWIJZER_PUBLIC_URL", PUBLIC)
    settings = load_settings()
    with serve(create_app(settings, Database(f"sqlite:///{tmp_path / 'app.db'}"))) as url:
        yield url


class FakeEngine:
    """The widget channel's answers; `refuse` turns get 503 storage_unavailable."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.bodies: list[dict[str, Any]] = []
        self.refuse = 0

    def _reply(self, route: Route, status: int, body: object) -> None:
        route.fulfill(
            status=status,
            content_type="application/json",
            body=json.dumps(body),
            headers={
                "Access-Control-Allow-Origin": self.origin,
                "Access-Control-Allow-Headers": "Authorization, Content-Type, Accept",
                "Access-Control-Allow-Methods": "GET, POST",
            },
        )

    def handle(self, route: Route) -> None:
        request = route.request
        path = request.url.removeprefix(ENGINE + "/webhooks/widget")
        if request.method == "OPTIONS":
            self._reply(route, 204, {})
        elif path == "/conversations":
            self._reply(route, 201, {"conversation_id": CID, "token": "t", "expires": "2099-01-01"})
        elif path == "/webhook":
            body = json.loads(request.post_data or "{}")
            self.bodies.append(body)
            if body["message"] != "/greet" and self.refuse:
                self.refuse -= 1
                self._reply(
                    route,
                    503,
                    {
                        "error": "storage_unavailable",
                        "retry_after": 60,
                        "messages": {"nl": STORED_NOT, "en": "Not saved (server)."},
                    },
                )
                return
            text = "Hoi!" if body["message"] == "/greet" else f"Ontvangen: {body['message']}"
            self._reply(route, 200, [{"recipient_id": CID, "text": text}])
        else:
            self._reply(route, 404, {"error": "not_found"})


def open_chat(page: Page, web_url: str) -> None:
    page.goto(web_url + "/")
    page.get_by_role("button", name="Chat met Zijwijzer").click()
    page.get_by_role("button", name="Akkoord, start de chat").click()
    expect(page.locator(".zw-message.zw-bot").last).to_contain_text("Hoi!")


def test_a_refused_message_stays_typed_and_is_resent_with_its_id(
    browser: Browser, web_url: str
) -> None:
    context = browser.new_context()
    page = context.new_page()
    engine = FakeEngine(web_url)
    page.route(ENGINE + "/**", engine.handle)
    page.route(
        PUBLIC + "/**",
        lambda route: route.continue_(url=route.request.url.replace(PUBLIC, web_url)),
    )
    open_chat(page, web_url)

    engine.refuse = 2
    field = page.locator(".zw-input")
    field.fill("ik ben 38")
    field.press("Enter")
    error = page.get_by_role("alert")
    # The server's own words, the text still in the input, no bubble and no answer.
    expect(error).to_contain_text(STORED_NOT)
    expect(field).to_have_value("ik ben 38")
    expect(page.locator(".zw-message.zw-user")).to_have_count(0)
    page.screenshot(path=screenshot_path("widget-storage-unavailable"))

    # Sent again with Enter: still refused, then the retry button gets it through.
    field.press("Enter")
    expect(error).to_contain_text(STORED_NOT)
    page.get_by_role("button", name="Opnieuw proberen").click()
    expect(page.locator(".zw-message.zw-bot").last).to_contain_text("Ontvangen: ik ben 38")
    expect(page.locator(".zw-message.zw-user")).to_have_count(1)
    expect(field).to_have_value("")

    greet, *attempts = engine.bodies
    assert [a["message"] for a in attempts] == ["ik ben 38"] * 3
    ids = {a["message_id"] for a in attempts}
    assert len(ids) == 1 and greet["message_id"] not in ids
    # The first attempt is new; every later one says it is a resend of the same message.
    assert [a.get("resend", False) for a in attempts] == [False, True, True]

    # A new message gets a new id.
    field.fill("nog iets")
    field.press("Enter")
    expect(page.locator(".zw-message.zw-bot").last).to_contain_text("Ontvangen: nog iets")
    assert engine.bodies[-1]["message_id"] not in ids | {greet["message_id"]}
    assert "resend" not in engine.bodies[-1]
    context.close()
