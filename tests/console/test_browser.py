"""The console in headless Chromium: the app served by uvicorn in a thread on a free port,
against seeded temporary databases. Screenshots in test-output/screenshots/console-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect

from tests.browser import screenshot_path, serve
from tests.console.conftest import PASSWORD, Console, make_console


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Console]]:
    console = make_console(tmp_path)
    try:
        with serve(console.client.app) as url:
            yield url, console
    finally:
        console.database.dispose()


def _csp_violations(page: Page) -> list[str]:
    """Chromium reports every resource or style the Content-Security-Policy blocked."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return seen


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/console/conversations")
    expect(page).to_have_url(f"{base}/console/login")
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page).to_have_url(f"{base}/console/conversations")


def test_review_flow_in_chromium(browser: Browser, served: tuple[str, Console]) -> None:
    base, _console = served
    context = browser.new_context(accept_downloads=True, viewport={"width": 1300, "height": 900})
    page = context.new_page()
    violations = _csp_violations(page)
    try:
        _login(page, base, "rob")
        # Chromium keeps the Secure session cookie on http://127.0.0.1 and sends it back.
        cookies = {cookie["name"]: cookie for cookie in context.cookies()}
        session = cookies["zw_console"]
        assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Strict"
        rows = page.locator("table.list tbody tr")
        expect(rows).to_have_count(5)
        page.screenshot(path=screenshot_path("console-list"), full_page=True)

        page.locator("select[name=outcome]").select_option("abandoned")
        page.get_by_label("Zoeken").fill("thuiszorg")
        page.get_by_role("button", name="Filteren").click()
        expect(rows).to_have_count(1)
        page.screenshot(path=screenshot_path("console-filtered"), full_page=True)

        rows.first.locator("a").click()
        expect(page.locator("h1")).to_contain_text("Gesprek")
        expect(page.locator("li.user").first).to_contain_text("ik werk in de thuiszorg")
        page.get_by_label("nieuwe tag").fill("slechte nlu")
        page.get_by_role("button", name="Tag toevoegen").click()
        expect(page.locator("ul.tags")).to_contain_text("slechte nlu")
        page.screenshot(path=screenshot_path("console-transcript"), full_page=True)

        with page.expect_download() as download_info:
            page.locator("#export-story").click()
        saved = download_info.value.path()
        document = yaml.safe_load(Path(saved).read_text(encoding="utf-8"))
        assert document["version"] == "3.1" and document["stories"][0]["steps"]

        page.goto(f"{base}/console/dashboard?date_from=2026-11-01&date_to=2026-11-23")
        expect(page.locator("svg.chart")).to_have_count(3)
        page.screenshot(path=screenshot_path("console-dashboard"), full_page=True)
        assert violations == []
    finally:
        context.close()


def test_advice_transcript_in_chromium(browser: Browser, served: tuple[str, Console]) -> None:
    base, console = served
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    violations = _csp_violations(page)
    try:
        _login(page, base, "anna")
        page.goto(f"{base}/console/conversations/{console.pk('delta')}")
        # The user's markup is shown as text, never run.
        expect(page.locator("li.user").first).to_contain_text("<script>alert('x')</script>")
        page.goto(f"{base}/console/conversations/{console.pk('bravo')}")
        expect(page.locator(".advice")).to_contain_text("Zoek een werkgever die je opleidt")
        page.screenshot(path=screenshot_path("console-advice"), full_page=True)
        assert violations == []
    finally:
        context.close()
