"""Chat input with markup, scripts, SQL, very long words, emoji, RTL overrides and control
characters: stored through the real stores unchanged (but for the redaction of personal data)
and shown as text on the advice page (and its PDF) and in the console transcript.

The widget's side (textContent, no dialog in Chromium) is in tests/web/test_widget_browser.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, insert

from bot.app.advice_store import find_advice, save_advice
from bot.app.console.tracker import TrackerReader, transcript
from bot.app.tracker_events import events, tracker_metadata
from bot.common.redaction import redact, redact_event
from tests.browser import screenshot_path, serve
from tests.console.conftest import NOW, PASSWORD, Console
from tests.console.seed import Plan, conversation, rows
from tests.web.plans import view_with_text

# Longer than the widget lets through (1,000 characters) and far wider than any line; a
# longer word tests nothing more and costs the PDF seconds per page.
LONG_WORD = "zorgmedewerker" * 72  # 1,008 characters without a space
NASTY: dict[str, str] = {
    "script": "<script>alert('x')</script>",
    "img": "<img src=x onerror=alert(1)>",
    "attribute": '" onmouseover="alert(1)" x="',
    "sql": "Robert'); DROP TABLE events; -- ' OR '1'='1",
    "jinja": "{{ 7 * 7 }} {% raw %} ${7*7}",
    "entities": "&lt;b&gt; &amp;amp; &#x3C;script&#x3E;",
    "long": LONG_WORD,
    "emoji": "Ik wil 👩\u200d⚕️ worden 🏥💉🇳🇱",
    "rtl": "factuur\u202egnp.exe \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
    "control": "a\x00b\x07c\x1bd\x7fe\u200bf\ufeffg\r\nh\ti",
}
# Personal data inside markup: the redactor replaces the address, the markup stays text.
WITH_EMAIL = "<b>mail me</b> at jan.jansen@example.nl"


def _stored_events(plan: Plan) -> list[dict[str, Any]]:
    """The plan's events as RedactingSQLTrackerStore writes them (bot/engine/tracker_store.py)."""
    return [redact_event(event) for event in conversation(plan)]


def _seed(tracker_url: str, texts: dict[str, str]) -> None:
    engine = create_engine(tracker_url)
    tracker_metadata.create_all(engine)
    with engine.begin() as connection:
        for name, text in texts.items():
            plan = Plan(f"nasty-{name}", NOW.timestamp() - 600, "abandoned", "widget", opener=text)
            connection.execute(insert(events), rows(plan.sender_id, _stored_events(plan)))
    engine.dispose()


def _user_texts(reader: TrackerReader, sender_id: str) -> list[str]:
    return [
        item.text
        for item in transcript(reader.conversation_events(sender_id))
        if item.kind == "user"
    ]


def test_tracker_store_keeps_the_text_unchanged(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'trackers.db'}"
    _seed(url, {**NASTY, "email": WITH_EMAIL})
    reader = TrackerReader(url)
    for name, text in NASTY.items():
        # The redactor finds no personal data in these: every character comes back.
        assert redact(text).text == text, name
        assert _user_texts(reader, f"nasty-{name}")[0] == text, name
    assert _user_texts(reader, "nasty-email")[0] == "<b>mail me</b> at [e-mail]"


def test_console_transcript_shows_the_text_as_text(console: Console) -> None:
    _seed(console.tracker_url, {**NASTY, "email": WITH_EMAIL})
    console.login("anna")
    for name, text in {**NASTY, "email": "<b>mail me</b> at [e-mail]"}.items():
        page = console.client.get(f"/console/conversations/{console.pk(f'nasty-{name}')}")
        assert page.status_code == 200, name
        assert str(escape(text)) in page.text, name
        if "<" in text:
            assert text not in page.text, name
    page = console.client.get(f"/console/conversations/{console.pk('nasty-img')}").text
    assert "<img" not in page and "onerror=alert(1)>" not in page
    # Searching for markup finds the conversation; the search box shows the query as text.
    listing = console.client.get("/console/conversations", params={"q": NASTY["img"]}).text
    assert f'href="/console/conversations/{console.pk("nasty-img")}"' in listing
    assert str(escape(NASTY["img"])) in listing and "<img src=x" not in listing
    # Long words wrap: the transcript's text is styled with overflow-wrap.
    sheet = console.client.get("/console/static/console.css").text
    assert re.search(r"\.text \{[^}]*overflow-wrap: anywhere", sheet)


def _advice(text: str) -> dict[str, Any]:
    """A saved plan whose free texts all carry `text` (titles, steps, notes, words, sources)."""
    return view_with_text(text)


@pytest.mark.parametrize("name", list(NASTY))
def test_advice_page_and_pdf_show_the_text_as_text(console: Console, name: str) -> None:
    text = NASTY[name]
    advice = _advice(text)
    token = save_advice(console.database, advice, "nl", valid_days=30)
    # The advice store gives back exactly what was saved.
    found = find_advice(console.database, token)
    assert found is not None and found.advice == json.loads(json.dumps(advice))

    page = console.client.get(f"/advies/{token}")
    assert page.status_code == 200
    assert page.text.count(str(escape(text))) >= 8
    if "<" in text or '"' in text:
        assert text not in page.text
    # A source's link is only ever https; javascript: never becomes a link.
    assert "javascript:" not in page.text
    pdf = console.client.get(f"/advies/{token}.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-")


# ---- in Chromium: the policy blocks nothing we need, long words wrap, nothing runs -------------


@pytest.fixture
def served(console: Console) -> Iterator[str]:
    with serve(console.client.app) as url:
        yield url


def _overflows(page: Page) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1"))


def test_pages_in_chromium_wrap_long_words_and_run_nothing(
    browser: Browser, console: Console, served: str
) -> None:
    text = f"{NASTY['img']} {NASTY['script']} {LONG_WORD} {NASTY['rtl']}"
    token = save_advice(console.database, _advice(text), "nl", valid_days=30)
    _seed(console.tracker_url, {"browser": text})
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    seen: list[str] = []
    page.on("dialog", lambda dialog: (seen.append(dialog.message), dialog.dismiss()))
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        page.goto(f"{served}/advies/{token}")
        expect(page.locator("h3").first).to_contain_text("<img src=x onerror=alert(1)>")
        # advice.css is applied (the CSP allows our own stylesheet) and the word wraps.
        assert page.evaluate("() => getComputedStyle(document.body).overflowWrap") == "anywhere"
        assert not _overflows(page)
        expect(page.locator("main img, body img")).to_have_count(0)
        page.screenshot(path=screenshot_path("advice-markup-390"), full_page=False)

        page.goto(f"{served}/console/login")
        page.get_by_label("Gebruikersnaam").fill("anna")
        page.get_by_label("Wachtwoord").fill(PASSWORD)
        page.get_by_role("button", name="Inloggen").click()
        page.goto(f"{served}/console/conversations/{console.pk('nasty-browser')}")
        expect(page.locator("li.user").first).to_contain_text("<script>alert('x')</script>")
        assert not _overflows(page)
        expect(page.locator("li.user img")).to_have_count(0)
        assert seen == []
    finally:
        context.close()
