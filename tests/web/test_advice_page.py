"""The saved plan's page and its PDF: the plan of the issue's 38-year-old first, then its
details, dates in words, hard words linked, languages, escaping, expiry, unknown links, advice
saved before the plan, and the privacy headers (FastAPI TestClient, temporary SQLite)."""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
import zlib
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.app.advice_pdf import render_pdf
from bot.app.advice_store import save_advice
from bot.app.db import Database
from bot.app.web.advice_page import HideAdviceTokens
from catalogue.compiled import Catalogue
from catalogue.service import CatalogueService
from tests.catalogue.samples import SAMPLE_PROFILES
from tests.web.plans import issue_view, view_with_text

PRIVATE = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-robots-tag": "noindex, nofollow",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
}


def visible(page: str) -> str:
    """The page's text as a reader sees it (tags dropped, entities decoded, spaces folded)."""
    body = re.sub(r"(?s)<style.*?</style>", "", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def assert_private(headers: Any) -> None:
    for name, value in PRIVATE.items():
        assert headers[name] == value, name
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in policy


# ---- the page ------------------------------------------------------------------------------------

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
MADE = dt.datetime(2026, 12, 7, 10, tzinfo=dt.UTC)


def test_page_shows_the_plan_first_then_the_details(
    client: TestClient, database: Database, real_catalogue: Catalogue
) -> None:
    view = issue_view("nl")
    token = save_advice(database, dict(view), "nl", valid_days=30, now=MADE)

    response = client.get(f"/advies/{token}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert_private(response.headers)
    page = response.text
    assert '<html lang="nl">' in page
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert '<meta name="referrer" content="no-referrer">' in page
    text = visible(page)
    assert token not in text  # only in the PDF link, never shown as text
    # Dates in words: the day it was made and the link's expiry.
    assert "Gemaakt op 7 december 2026. Deze link werkt tot 6 januari 2027." in text
    # The plan first: the steps in their order, the first step with its contact, then the
    # details in the order of the issue.
    places = [text.index(s["title"]) for s in view["steps"]]
    assert places == sorted(places)
    first = next(s for s in view["steps"] if s["number"] == view["first_step"])
    assert text.index(first["title"]) < text.index(f"Met wie: {view['contact']}")
    assert text.index(f"Met wie: {view['contact']}") < text.index(view["steps"][-1]["title"])
    headings = ["Meer en waarom", "Dit kan ook", "Waarom dit plan", "Dit kan nu niet", "Let op"]
    headings += ["Goed om te weten", "Moeilijke woorden", "Bronnen"]
    order = [text.index(h, places[-1]) for h in headings]
    assert order == sorted(order)
    running = " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())
    for step in view["steps"]:
        assert step["text"] in running  # whole, its hard words linked inside it
    for note in (*view["alternatives"], *view["why"], *view["not_possible"], *view["facts"]):
        assert " ".join(note["text"].split()[:4]) in text
    # Every source with the day it was checked, in words; unverified ones say so.
    assert "gecontroleerd op 23 november 2026" in text
    # Nothing staff-only: no catalogue version, no ids, no ISO dates, no internal notes.
    assert real_catalogue.version_label not in text
    assert "atalogus" not in text
    refs = view["refs"]
    for item in [refs["target"], refs["route"], *refs["units"], *refs["funding"]]:
        assert item and item not in text
    assert not ISO_DATE.search(text)
    assert "undated" not in text and "onbekend" not in text
    assert f'href="/advies/{token}.pdf"' in page


def test_every_hard_word_links_to_its_explanation(client: TestClient, database: Database) -> None:
    view = issue_view("nl")
    token = save_advice(database, dict(view), "nl", valid_days=30)
    page = client.get(f"/advies/{token}").text
    assert view["glossary"]
    for word in view["glossary"]:
        assert f'<dt id="{word["anchor"]}">{html.escape(word["title"])}</dt>' in page
    # Linked where first used: the steps' hard words (BBL, zij-instromers, derde leerweg ...).
    step = next(s for s in view["steps"] if s["marks"])
    for start, end, anchor in step["marks"]:
        assert f'<a class="word" href="#{anchor}">{step["text"][start:end]}</a>' in page
    linked = set(re.findall(r'<a class="word" href="#(word-\d+)">', page))
    assert linked == {w["anchor"] for w in view["glossary"]}


def test_the_plan_fits_three_phone_screens_of_text_before_the_details(
    client: TestClient, database: Database
) -> None:
    """The steps of the page come before the details, and are short: the browser test
    (tests/web/test_plan_browser.py) measures the three screens."""
    view = issue_view("nl")
    token = save_advice(database, dict(view), "nl", valid_days=30)
    text = visible(client.get(f"/advies/{token}").text)
    before_details = text[: text.index("Meer en waarom")]
    # About 40 characters a line and 30 lines a screen on a 360 x 740 phone.
    assert len(before_details) < 3 * 30 * 40


def test_page_in_english(client: TestClient, database: Database) -> None:
    view = issue_view("en")
    token = save_advice(database, dict(view), "en", valid_days=30, now=MADE)

    response = client.get(f"/advies/{token}")

    assert response.status_code == 200
    text = visible(response.text)
    assert '<html lang="en">' in response.text
    assert "Your plan in 5 steps" in text and "Jouw plan" not in text
    assert "Made on 7 December 2026. This link works until 6 January 2027." in text
    for step in view["steps"]:
        assert step["title"] in text
    assert f"Who with: {view['contact']}" in text
    assert "More and why" in text


def test_user_text_is_escaped(client: TestClient, database: Database) -> None:
    view = view_with_text("<script>alert(1)</script> <b>vet</b>")
    token = save_advice(database, view, "nl", valid_days=30)

    page = client.get(f"/advies/{token}").text

    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>vet</b>" not in page and "&lt;b&gt;vet&lt;/b&gt;" in page
    assert "javascript:" not in page  # only https links are made links


def test_an_advice_saved_before_the_plan_is_no_longer_shown(
    client: TestClient, database: Database, real_catalogue: Catalogue
) -> None:
    """Links saved before the plan hold the engine's whole advice: the friendly page, as for
    an expired link, never a half-drawn page."""
    profile = {**SAMPLE_PROFILES["helpende"], "language": "nl"}
    old = CatalogueService.from_catalogue(real_catalogue).advise(profile)
    token = save_advice(database, old, "nl", valid_days=30)
    for suffix in ("", ".pdf"):
        response = client.get(f"/advies/{token}{suffix}")
        assert response.status_code == 410
        assert "Deze link werkt niet (meer)" in response.text


# ---- the PDF ------------------------------------------------------------------------------------


def _unescape_pdf_string(raw: bytes) -> bytes:
    out = bytearray()
    i = 0
    simple = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
    while i < len(raw):
        byte = raw[i]
        if byte == 0x5C and i + 1 < len(raw):  # backslash
            nxt = raw[i + 1]
            if nxt in simple:
                out.append(simple[nxt])
                i += 2
            elif 0x30 <= nxt <= 0x37:
                digits = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4])
                assert digits is not None
                out.append(int(digits.group(), 8) & 0xFF)
                i += 1 + len(digits.group())
            else:
                out.append(nxt)
                i += 2
        else:
            out.append(byte)
            i += 1
    return bytes(out)


def pdf_text(data: bytes) -> str:
    """The text drawn in an fpdf2 PDF: glyph ids of each font mapped back through its
    ToUnicode map (Unicode fonts), or the latin-1 strings themselves (core fonts)."""
    objects: dict[int, bytes] = {}
    for number, body in re.findall(rb"(?s)(\d+) 0 obj(.*?)endobj", data):
        stream = re.search(rb"(?s)stream\r?\n(.*?)\r?\nendstream", body)
        if stream and b"/FlateDecode" in body:
            body = body[: stream.start(1)] + zlib.decompress(stream.group(1))
        objects[int(number)] = body
    fonts: dict[bytes, dict[int, str] | None] = {}
    for body in objects.values():
        for name, ref in re.findall(rb"/(F\d+) (\d+) 0 R", body):
            to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", objects[int(ref)])
            if to_unicode is None:
                fonts[name] = None
                continue
            cmap = objects[int(to_unicode.group(1))]
            fonts[name] = {
                int(gid, 16): chr(int(code, 16))
                for gid, code in re.findall(rb"<([0-9A-Fa-f]{4})> <([0-9A-Fa-f]{4,})>", cmap)
            }
    words: list[str] = []
    for body in objects.values():
        if b"BT" not in body:
            continue
        current: dict[int, str] | None = None
        for token in re.finditer(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) ?Tj", body):
            if token.group(1):
                current = fonts.get(token.group(1))
                continue
            raw = _unescape_pdf_string(token.group(2))
            if current is None:
                words.append(raw.decode("latin-1"))
            else:
                ids = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
                words.append("".join(current.get(g, "?") for g in ids))
    return " ".join("".join(words).split())


def test_pdf_of_a_real_plan(client: TestClient, database: Database) -> None:
    view = issue_view("nl")
    token = save_advice(database, dict(view), "nl", valid_days=30, now=MADE)

    response = client.get(f"/advies/{token}.pdf")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert_private(response.headers)
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert "Jouw plan van Zijwijzer" in text
    assert "Gemaakt op 7 december 2026. Deze link werkt tot 6 januari 2027." in text
    places = [text.index(f"{s['number']}. {s['title']}") for s in view["steps"]]
    assert places == sorted(places)
    assert f"Met wie: {view['contact']}" in text
    assert places[-1] < text.index("Meer en waarom") < text.index("Moeilijke woorden")
    assert "gecontroleerd op 23 november 2026" in text
    assert "€" in text  # Unicode font: the euro sign survives
    assert not ISO_DATE.search(text)
    # Far shorter than the 11 pages of the advice it replaces.
    pages = re.findall(rb"/Type\s*/Page\b(?!s)", response.content)
    assert 1 <= len(pages) <= 5


def test_pdf_without_a_unicode_font_keeps_to_latin1() -> None:
    page = "<h1>Jouw advies</h1><p>Prijs € 600–1200, ‘BBL’ “werken” … café</p>"
    data = render_pdf(page, unicode=False)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "Jouw advies" in text
    assert "Prijs EUR 600-1200, 'BBL' \"werken\" ... café" in text


# ---- links that do not work ---------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".pdf"])
def test_expired_and_unknown_links_get_the_same_friendly_page(
    client: TestClient, database: Database, suffix: str
) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
    expired = save_advice(database, {"summary": {}}, "nl", valid_days=30, now=old)
    unknown = "A" * 43

    gone = client.get(f"/advies/{expired}{suffix}")
    never = client.get(f"/advies/{unknown}{suffix}")
    malformed = client.get(f"/advies/..%2F..%2Fetc{suffix}")

    assert (gone.status_code, never.status_code) == (410, 404)
    assert malformed.status_code == 404
    for response in (gone, never):
        assert_private(response.headers)
        assert response.headers["content-type"].startswith("text/html")
        assert "Deze link werkt niet (meer)" in response.text
        assert "This link does not work (any more)" in response.text
    assert gone.text == never.text  # nothing tells whether the link ever worked


def test_tokens_stay_out_of_the_access_log() -> None:
    token = "Ab3_" * 10 + "xyz"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/advies/{token}.pdf", "1.1", 200),
        None,
    )
    assert HideAdviceTokens().filter(record)
    assert token not in record.getMessage()
    assert '"GET /advies/… HTTP/1.1" 200' in record.getMessage()
    assert logging.getLogger("uvicorn.access").filters  # installed on import


def test_pages_use_the_stylesheet_not_inline_styles(client: TestClient, database: Database) -> None:
    token = save_advice(database, dict(issue_view()), "nl", valid_days=30)
    for path in (f"/advies/{token}", "/advies/unknown-token"):
        page = client.get(path).text
        assert '<link rel="stylesheet" href="/static/advice.css">' in page
        assert "<style" not in page and "style=" not in page and "<script" not in page
    sheet = client.get("/static/advice.css")
    assert sheet.status_code == 200 and "overflow-wrap: anywhere" in sheet.text
