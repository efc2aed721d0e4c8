"""The saved advice page and its PDF: content of a real advice, languages, escaping, expiry,
unknown links and the privacy headers (FastAPI TestClient, temporary SQLite database)."""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.advice_pdf import render_pdf
from bot.advice_store import save_advice
from bot.db import Database
from bot.settings import load_settings
from bot.web.advice_page import HideAdviceTokens
from bot.web.app import create_app
from catalogue.compiled import Catalogue
from catalogue.service import CatalogueService
from tests.catalogue.samples import SAMPLE_PROFILES

PRIVATE = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-robots-tag": "noindex, nofollow",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
}


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'app.db'}")
    database.create_all()
    yield database
    database.dispose()


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings(), database)) as running:
        yield running


def real_advice(catalogue: Catalogue, name: str, language: str) -> dict[str, Any]:
    profile = {**SAMPLE_PROFILES[name], "language": language}
    return CatalogueService.from_catalogue(catalogue).advise(profile)


def visible(page: str) -> str:
    """The page's text as a reader sees it (tags dropped, entities decoded, spaces folded)."""
    body = re.sub(r"(?s)<style.*?</style>", "", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def assert_private(headers: Any) -> None:
    for name, value in PRIVATE.items():
        assert headers[name] == value, name
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in policy


# ---- the page -----------------------------------------------------------------------------------


def test_page_shows_the_whole_advice_summary_first(
    client: TestClient, database: Database, real_catalogue: Catalogue
) -> None:
    advice = real_advice(real_catalogue, "helpende", "nl")
    token = save_advice(database, advice, "nl", valid_days=30)

    response = client.get(f"/advies/{token}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert_private(response.headers)
    page = response.text
    assert '<html lang="nl">' in page
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert '<meta name="referrer" content="no-referrer">' in page
    assert token not in visible(page)  # only in the PDF link, never shown as text
    text = visible(page)
    # Summary first, then warnings, then routes, units and funding.
    order = [text.index(h) for h in ("Samenvatting", "Let op", "Leerroutes", "Leereenheden")]
    assert order == sorted(order)
    assert text.index("Leereenheden") < text.index("Geld voor je opleiding")
    for key in ("routes", "units", "funding"):
        items = {i["id"]: i for i in advice[key]}
        for item_id in advice["summary"][key]:
            assert html.escape(items[item_id]["title"]) in page
    # Every item is there, the ones that are not possible too, with their reasons.
    for key in ("routes", "units", "funding"):
        for item in advice[key]:
            assert html.escape(item["title"]) in page, item["id"]
    assert "Past nu niet" in text
    assert "Waarom" in text
    # The EVC warning (no longer accepted since February 2026), with its source.
    evc = next(w for w in advice["warnings"] if w["id"] == "evc_not_accepted_2026")
    assert evc["nl"] in text
    assert "13 februari 2026" in text
    # Sources with the date they were checked and their status; unverified facts say so.
    assert "gecontroleerd op 2026-11-23" in text
    assert "Nog niet bevestigd" in text
    unverified_price = next(
        u for u in advice["units"] if (u.get("price") or {}).get("status") == "unverified"
    )
    block = text[text.index(unverified_price["title"]) :]
    assert re.search(r"Prijs € [\d–]+ \(Nog niet bevestigd\)", block)
    assert advice["catalogue_version"] in text
    assert f'href="/advies/{token}.pdf"' in page


def test_page_in_english(client: TestClient, database: Database, real_catalogue: Catalogue) -> None:
    advice = real_advice(real_catalogue, "starter_vvt", "en")
    token = save_advice(database, advice, "en", valid_days=30)

    response = client.get(f"/advies/{token}")

    assert response.status_code == 200
    text = visible(response.text)
    assert '<html lang="en">' in response.text
    assert "Summary" in text and "Samenvatting" not in text
    best = next(r for r in advice["routes"] if r["id"] == advice["summary"]["routes"][0])
    assert best["title_en"] in text
    assert best["explain"]["en"] in text
    assert "Why" in text


def test_user_text_is_escaped(client: TestClient, database: Database) -> None:
    advice = {
        "summary": {"routes": ["x"], "units": [], "funding": []},
        "routes": [
            {
                "id": "x",
                "kind": "route",
                "title": "<script>alert(1)</script>",
                "fit": "possible",
                "status": "verified",
                "reasons": [{"nl": "<b>vet</b>", "en": "<b>bold</b>", "sources": []}],
                "sources": [{"id": "s", "title": "bron", "url": "javascript:alert(1)"}],
            }
        ],
        "units": [],
        "funding": [],
        "warnings": [],
        "catalogue_version": "test",
    }
    token = save_advice(database, advice, "nl", valid_days=30)

    page = client.get(f"/advies/{token}").text

    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>vet</b>" not in page and "&lt;b&gt;vet&lt;/b&gt;" in page
    assert "javascript:" not in page  # only https links are made links


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


def test_pdf_of_a_real_advice(
    client: TestClient, database: Database, real_catalogue: Catalogue
) -> None:
    advice = real_advice(real_catalogue, "helpende", "nl")
    token = save_advice(database, advice, "nl", valid_days=30)

    response = client.get(f"/advies/{token}.pdf")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert_private(response.headers)
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert "Jouw advies van Zijwijzer" in text
    best = next(r for r in advice["routes"] if r["id"] == advice["summary"]["routes"][0])
    assert best["title"] in text
    assert "13 februari 2026" in text  # the EVC warning
    assert "Nog niet bevestigd" in text
    assert "€" in text  # Unicode font: the euro sign survives


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


def test_pages_use_the_stylesheet_not_inline_styles(
    client: TestClient, database: Database, real_catalogue: Catalogue
) -> None:
    advice = real_advice(real_catalogue, "helpende", "nl")
    token = save_advice(database, advice, "nl", valid_days=30)
    for path in (f"/advies/{token}", "/advies/unknown-token"):
        page = client.get(path).text
        assert '<link rel="stylesheet" href="/static/advice.css">' in page
        assert "<style" not in page and "style=" not in page and "<script" not in page
    sheet = client.get("/static/advice.css")
    assert sheet.status_code == 200 and "overflow-wrap: anywhere" in sheet.text
