"""The plan's view (catalogue/plan_view.py): what every output is made from, in one language,
dates in words, hard words marked where first used, nothing staff-only, the card under its
size budget."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest

from catalogue.compiled import Catalogue
from catalogue.plan import Plan, make_plan
from catalogue.plan_view import (
    PAYLOAD_BUDGET,
    VIEW_FORMAT,
    PlanView,
    card_payload,
    chat_values,
    is_view,
    notes_about,
    present,
    say_date,
    segments,
)
from tests.catalogue.conftest import recording_paused
from tests.catalogue.replay.corpus import corpus_profiles
from tests.catalogue.samples import ISSUE_PROFILE
from tests.catalogue.test_plan import TODAY

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def issue(catalogue: Catalogue, language: str = "nl", **changes: Any) -> tuple[Plan, PlanView]:
    plan = make_plan(catalogue, {**ISSUE_PROFILE, "language": language, **changes}, today=TODAY)
    return plan, present(plan)


@pytest.fixture(scope="module")
def corpus_views(real_catalogue: Catalogue) -> list[tuple[Plan, PlanView]]:
    with recording_paused():
        plans = [make_plan(real_catalogue, p, today=TODAY) for p in corpus_profiles()]
    return [(plan, present(plan)) for plan in plans]


def shown_texts(view: PlanView) -> list[str]:
    """Every text of the view a person may read (refs, anchors and marks are not shown)."""
    out = [view["made"], view["contact"], view["target"]["title"]]
    for step in view["steps"]:
        out += [step["title"], step["text"]]
    for part in ("alternatives", "why", "not_possible", "notices", "facts"):
        for note in view[part]:  # type: ignore[literal-required]
            out += [note["title"] or "", note["text"]]
    for word in view["glossary"]:
        out += [word["title"], word["text"]]
    for source in view["sources"]:
        out += [source["title"], source["publisher"], source["published"] or "", source["checked"]]
    return out


# ---- the issue's 38-year-old ------------------------------------------------------------------


def test_the_view_is_the_plan_in_one_language(real_catalogue: Catalogue) -> None:
    plan, view = issue(real_catalogue)
    assert view["format"] == VIEW_FORMAT and is_view(view) and view["language"] == "nl"
    assert [s["title"] for s in view["steps"]] == [s.title.nl for s in plan.steps]
    assert [s["text"] for s in view["steps"]] == [s.text.nl for s in plan.steps]
    assert view["target"]["title"] == plan.target.title.nl
    assert (
        view["contact"] == plan.contact.name.nl == "een zorgorganisatie met BBL-plekken in Utrecht"
    )
    assert view["steps"][view["first_step"] - 1]["kind"] == "first_step"
    assert view["refs"] == {
        "target": plan.target.qualification,
        "route": plan.route,
        "units": list(plan.units),
        "funding": list(plan.funding),
    }
    english = present(plan, "en")
    assert [s["title"] for s in english["steps"]] == [s.title.en for s in plan.steps]
    assert english["contact"] == plan.contact.name.en
    # JSON as it is: the view is saved and sent as it is.
    assert json.loads(json.dumps(view)) == view


def test_dates_are_in_words(real_catalogue: Catalogue) -> None:
    _, view = issue(real_catalogue)
    assert view["made"] == "7 december 2026"
    assert say_date(view["dates"], dt.date(2027, 1, 6)) == "6 januari 2027"
    _, english = issue(real_catalogue, "en")
    assert say_date(english["dates"], dt.date(2027, 1, 6)) == "6 January 2027"
    checked = {s["checked"] for s in view["sources"]}
    assert "23 november 2026" in checked
    assert all(re.fullmatch(r"\d{1,2} [a-z]+ \d{4}", c) for c in checked), checked
    # A source's publication: a year as it is, "undated" and "onbekend" not at all.
    published = {s["published"] for s in view["sources"]}
    assert published <= {None} | {str(y) for y in range(1990, 2030)}


def test_hard_words_are_marked_where_first_used(real_catalogue: Catalogue) -> None:
    plan, view = issue(real_catalogue)
    anchors = {w["anchor"] for w in view["glossary"]}
    assert len(anchors) == len(plan.glossary) > 5
    marked: list[str] = []
    for step in view["steps"]:
        for start, end, anchor in step["marks"]:
            assert anchor in anchors
            marked.append(step["text"][start:end].casefold())
    # The first step uses BBL, zij-instromers, derde leerweg, leereenheden, Leerwerkloket.
    first = view["steps"][view["first_step"] - 1]
    words = [first["text"][s:e] for s, e, _ in first["marks"]]
    assert words == ["BBL", "zij-instromers", "derde leerweg", "leereenheden", "Leerwerkloket"]
    # Each word once, where it is first used: "leereenheid" in step 3 is not marked again.
    assert len(marked) == len(set(marked))
    learn = next(s for s in view["steps"] if s["kind"] == "learn")
    assert "leereenheid" in learn["text"] and learn["marks"] == []
    # The text cut at its marks gives the text back.
    assert "".join(part for part, _ in segments(first["text"], first["marks"])) == first["text"]


def test_nothing_staff_only_is_shown(real_catalogue: Catalogue) -> None:
    _, view = issue(real_catalogue)
    text = " ".join(shown_texts(view))
    assert not ISO_DATE.search(text)
    assert real_catalogue.version_label not in text
    for source in view["sources"]:
        assert source["url"] is None or source["url"].startswith("https://")
        assert source["published"] not in ("undated", "onbekend")


def test_chat_values_name_the_steps_the_target_and_the_first_step(
    real_catalogue: Catalogue,
) -> None:
    _, view = issue(real_catalogue)
    values = chat_values(view)
    assert values["steps"].splitlines() == [f"{s['number']}. {s['title']}" for s in view["steps"]]
    first = view["steps"][view["first_step"] - 1]
    assert values["first_step"] == first["title"]
    assert values["first_step_text"] == first["text"]
    assert values["contact"] == view["contact"]
    assert values["target"] == view["target"]["title"]
    assert values["count"] == "5"
    assert "-" not in values.values() and "" not in values.values()


def test_the_card_payload_is_the_view_under_its_budget(real_catalogue: Catalogue) -> None:
    _, view = issue(real_catalogue)
    payload = card_payload(view, link="https://x.example/advies/abc", link_until="6 januari 2027")
    assert payload["type"] == "advice" and payload["format"] == VIEW_FORMAT
    assert [(s["title"], s["text"]) for s in payload["steps"]] == [
        (s["title"], s["text"]) for s in view["steps"]
    ]
    assert payload["target"] == view["target"] and payload["contact"] == view["contact"]
    assert payload["first_step"] == view["first_step"]
    assert payload["link_until"] == "6 januari 2027"
    assert "catalogue_version" not in payload
    assert len(json.dumps(payload, separators=(",", ":")).encode()) <= PAYLOAD_BUDGET
    # The explained words of the steps go along, to open from the card's "meer".
    step_words = {m[2] for s in view["steps"] for m in s["marks"]}
    assert step_words and {w["anchor"] for w in payload["words"]} == step_words
    assert [n["text"] for n in payload["more"]["why"]] == [n["text"] for n in view["why"]]


def test_a_tight_budget_cuts_words_and_details_never_steps(real_catalogue: Catalogue) -> None:
    _, view = issue(real_catalogue)
    full = card_payload(view, link=None, link_until=None)
    tight = card_payload(view, link=None, link_until=None, budget=3500)
    assert tight["steps"] == full["steps"]
    assert len(tight["words"]) < len(full["words"])
    assert sum(map(len, tight["more"].values())) < sum(map(len, full["more"].values()))
    assert len(json.dumps(tight, separators=(",", ":")).encode()) <= 3500


def test_reasons_and_other_ways_on_request(real_catalogue: Catalogue) -> None:
    _, view = issue(real_catalogue)
    reasons, others = notes_about(view, None)
    assert reasons == view["why"] and others == view["alternatives"]
    unit = view["refs"]["units"][0]
    about_unit, _ = notes_about(view, unit)
    assert about_unit and all(n["about"] == f"unit:{unit}" for n in about_unit)
    about_units, _ = notes_about(view, "unit")
    assert len(about_units) >= len(about_unit)
    assert notes_about(view, "no_such_item") == ([], [])


# ---- across the replay corpus -------------------------------------------------------------------


def test_every_corpus_plan_has_a_view_that_agrees_with_it(
    corpus_views: list[tuple[Plan, PlanView]],
) -> None:
    assert len(corpus_views) >= 300
    for plan, view in corpus_views:
        lang = view["language"]
        assert [(s["number"], s["title"], s["text"]) for s in view["steps"]] == [
            (s.number, s.title.get(lang), s.text.get(lang)) for s in plan.steps
        ]
        assert view["contact"] == plan.contact.name.get(lang)
        assert view["target"]["title"] == plan.target.title.get(lang)
        assert view["refs"]["route"] == plan.route
        text = " ".join(shown_texts(view))
        assert not ISO_DATE.search(text), plan.target.qualification
        payload = card_payload(view, link="https://x.example/advies/t", link_until="x")
        assert len(json.dumps(payload, separators=(",", ":")).encode()) <= PAYLOAD_BUDGET
        assert [(s["title"], s["text"]) for s in payload["steps"]] == [
            (s["title"], s["text"]) for s in view["steps"]
        ]


def test_every_hard_word_of_a_corpus_plan_is_linked(
    corpus_views: list[tuple[Plan, PlanView]],
) -> None:
    """Each explained word is marked where it is used first, or named after the step whose
    title (not its text) uses it."""
    for _, view in corpus_views:
        linked = {m[2] for s in view["steps"] for m in s["marks"]}
        linked |= {a for s in view["steps"] for a in s["words"]}
        for part in ("alternatives", "why", "not_possible", "notices", "facts"):
            linked |= {m[2] for n in view[part] for m in n["marks"]}  # type: ignore[literal-required]
        linked |= {m[2] for w in view["glossary"] for m in w["marks"]}
        assert linked == {w["anchor"] for w in view["glossary"]}, view["refs"]
