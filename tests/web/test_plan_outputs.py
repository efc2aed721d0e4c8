"""The four outputs of one plan agree, for every profile of the replay corpus: the chat text
(domain.yml's utter_advice_plan as the engine renders it), the widget's card, the saved page
and its PDF all say the same steps, the same target and the same contact, because all four are
made from one view (catalogue/plan_view.py)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.render import render
from bot.app.advice_pdf import render_pdf
from bot.app.web.advice_page import TEMPLATES
from catalogue.compiled import Catalogue
from catalogue.plan import make_plan
from catalogue.plan_view import PlanView, card_payload, chat_values, present
from tests.catalogue.conftest import recording_paused
from tests.catalogue.replay.corpus import corpus_profiles
from tests.web.plans import TODAY
from tests.web.test_advice_page import pdf_text

ROOT = Path(__file__).resolve().parents[2]
# The PDF takes a while to draw: every this-many-th profile of the corpus gets one.
PDF_EVERY = 40


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def views(real_catalogue: Catalogue) -> list[PlanView]:
    with recording_paused():
        return [present(make_plan(real_catalogue, p, today=TODAY)) for p in corpus_profiles()]


def chat_text(domain: dict[str, Any], view: PlanView, recruiter: bool = False) -> str:
    slots = {"language": view["language"], "recruiter": recruiter}
    return str(render(domain, "utter_advice_plan", slots, chat_values(view))["text"])


def page_text(view: PlanView) -> str:
    page = TEMPLATES.get_template("advice.html").render(
        lang=view["language"], plan=view, created="x", expires="y", pdf_url="/p.pdf"
    )
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def pdf_of(view: PlanView) -> str:
    document = TEMPLATES.get_template("advice_pdf.html").render(
        lang=view["language"], plan=view, created="x", expires="y"
    )
    return pdf_text(render_pdf(document))


def folded(text: str) -> str:
    return " ".join(text.split())


def test_the_four_outputs_say_the_same_steps_target_and_contact(
    views: list[PlanView], domain: dict[str, Any]
) -> None:
    assert len(views) >= 300
    contact_label = {"nl": "Met wie", "en": "Who with"}
    pdfs = 0
    for index, view in enumerate(views):
        lang = view["language"]
        steps = view["steps"]
        first = next(s for s in steps if s["number"] == view["first_step"])

        # (a) the chat: every step numbered, the first step's text and its contact.
        chat = chat_text(domain, view)
        lines = [f"{s['number']}. {s['title']}" for s in steps]
        assert "\n".join(lines) in chat
        assert f"{first['text']} {contact_label[lang]}: {view['contact']}." in chat

        # (b) the card: the same steps, target and contact.
        card = card_payload(view, link=None, link_until=None)
        assert [(s["number"], s["title"], s["text"]) for s in card["steps"]] == [
            (s["number"], s["title"], s["text"]) for s in steps
        ]
        assert card["target"] == view["target"] and card["contact"] == view["contact"]
        assert card["first_step"] == view["first_step"]

        # (c) the saved page: the steps in order, then the details; the contact after the
        # first step; the target's title in the first step.
        page = page_text(view)
        details = page.index({"nl": "Meer en waarom", "en": "More and why"}[lang])
        places = [page.index(folded(s["title"])) for s in steps]
        assert places == sorted(places) and places[-1] < details
        for step in steps:
            assert folded(step["text"]) in page
        contact = f"{contact_label[lang]}: {view['contact']}"
        assert places[steps.index(first)] < page.index(contact) < details
        assert view["target"]["title"] in page[: places[1] if len(places) > 1 else details]

        # (d) the PDF, for a sample: the same numbered steps and contact.
        if index % PDF_EVERY == 0:
            pdf = pdf_of(view)
            pdf_places = [pdf.index(folded(f"{s['number']}. {s['title']}")) for s in steps]
            assert pdf_places == sorted(pdf_places)
            assert folded(contact) in pdf
            pdfs += 1
    assert pdfs >= 7


def test_the_recruiters_chat_speaks_of_the_candidate_with_the_same_plan(
    views: list[PlanView], domain: dict[str, Any]
) -> None:
    for view in views[::25]:
        chat = chat_text(domain, view, recruiter=True)
        assert {"nl": "kandidaat", "en": "candidate"}[view["language"]] in chat
        assert all(s["title"] in chat for s in view["steps"])


# Amounts in euros and crebo numbers (five digits) as the catalogue writes them.
PRICE = re.compile(r"€\s?\d[\d.,]*\d|€\s?\d")
CREBO = re.compile(r"(?<![\d.,])\d{5}(?![\d.,]*\d)")
# Every this-many-th profile of the corpus: a few dozen plans.
FIGURES_EVERY = 10


def figures(text: str) -> set[str]:
    return {*PRICE.findall(text), *CREBO.findall(text)}


def card_text(card: Any) -> str:
    parts = [s["text"] for s in card["steps"]]
    parts += [n["text"] for part in card["more"].values() for n in part]
    parts += [w["text"] for w in card["words"]]
    return " ".join(parts)


def test_the_card_and_the_page_give_the_same_prices_and_crebo_numbers(
    views: list[PlanView],
) -> None:
    """Prices and crebo numbers come from the catalogue's texts, and the card (cut to its
    budget) gives none the page does not: the same figure for the same thing in both."""
    written = figures(
        " ".join(
            path.read_text(encoding="utf-8")
            for path in sorted((ROOT / "catalogue" / "data").glob("*.yaml"))
        )
    )
    with_price = with_crebo = 0
    for view in views[::FIGURES_EVERY]:
        card = card_payload(view, link=None, link_until=None)
        on_card = figures(card_text(card))
        on_page = figures(page_text(view))
        assert on_card <= on_page, (view["refs"], on_card - on_page)
        assert on_page <= written, (view["refs"], on_page - written)
        # The steps go whole in both: their figures are the same.
        step_figures = figures(" ".join(s["text"] for s in view["steps"]))
        assert step_figures == figures(" ".join(s["text"] for s in card["steps"]))
        with_price += any(f.startswith("€") for f in on_card)
        with_crebo += any(not f.startswith("€") for f in on_card)
    # The sample has both, so the check above compared real figures.
    assert with_price >= 5 and with_crebo >= 1
