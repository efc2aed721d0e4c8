"""action_answer_question: terms, routes and costs answered from the catalogue's facts."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.questions import ActionAnswerQuestion
from tests.actions.support import SOURCE, FakeCatalogue, OldCatalogue, make_tracker

BBL = {
    "id": "bbl",
    "kind": "route",
    "title": "BBL: werken en leren",
    "title_en": "BBL: work-based learning",
    "explain": {"nl": "Je werkt en leert.", "en": "You work and learn."},
    "cost": {"nl": "Cursusgeld € 295.", "en": "Course fee € 295."},
    "sources": [SOURCE],
}
ADL = {
    "id": "adl",
    "kind": "unit",
    "title": "ADL",
    "title_en": "Activities of daily living",
    "enables": {"nl": "Je helpt bij wassen.", "en": "You help with washing."},
    "price": {"min_eur": 600, "max_eur": 1200, "note": "Per school anders."},
    "sources": [SOURCE, SOURCE, SOURCE],
}
TERM = {
    "id": "leereenheid",
    "title": "Leereenheid",
    "title_en": "Learning unit",
    "text": {"nl": "Een stuk van een mbo-opleiding.", "en": "A part of an mbo programme."},
    "sources": [SOURCE],
}
CATALOGUE = FakeCatalogue(
    facts={("route", "bbl"): BBL, ("unit", "adl"): ADL},
    terms=[TERM],
    readings={"wat is BBL?": {"mentions": [{"kind": "route", "id": "bbl"}]}},
)


async def answer(
    text: str,
    intent: str,
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    catalogue: Any = CATALOGUE,
) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots, text=text, intent=intent, entities=entities)
    assert await ActionAnswerQuestion(catalogue).run(dispatcher, tracker, {}) == []
    messages: list[dict[str, Any]] = dispatcher.messages
    return messages


def test_name() -> None:
    assert ActionAnswerQuestion(CATALOGUE).name() == "action_answer_question"


@pytest.mark.parametrize(
    ("text", "entities", "language", "title", "expected"),
    [
        ("wat is BBL?", [], "nl", "BBL: werken en leren", "Je werkt en leert."),  # from interpret
        (
            "wat is bbl",
            [{"entity": "route", "value": "bbl"}],
            "en",
            "BBL: work-based learning",
            "You work and learn.",
        ),
        (
            "wat is een leereenheid",
            [{"entity": "term", "value": "leereenheid"}],
            "nl",
            "Leereenheid",
            "Een stuk van een mbo-opleiding.",
        ),
        (
            "what is a unit",
            [{"entity": "term", "value": "leereenheid"}],
            "en",
            "Learning unit",
            "A part of an mbo programme.",
        ),
        ("wat is ADL", [{"entity": "unit", "value": "adl"}], "nl", "ADL", "Je helpt bij wassen."),
    ],
)
async def test_explains_a_term(
    text: str, entities: list[dict[str, Any]], language: str, title: str, expected: str
) -> None:
    [message] = await answer(text, "ask_term", entities, {"language": language})
    assert message["response"] == "utter_term_explained"
    assert (message["title"], message["answer"], message["source"]) == (
        title,
        expected,
        "Domeinfeiten 2026",
    )
    assert message["text"] is None


async def test_cost_text() -> None:
    [message] = await answer("wat kost bbl", "ask_costs", [{"entity": "route", "value": "bbl"}])
    assert (message["response"], message["cost"]) == ("utter_cost", "Cursusgeld € 295.")


async def test_cost_range_names_each_source_once() -> None:
    [message] = await answer("wat kost ADL", "ask_costs", [{"entity": "unit", "value": "adl"}])
    assert message["response"] == "utter_cost_range"
    assert (message["low"], message["high"], message["note"]) == (600, 1200, "Per school anders.")
    assert message["source"] == "Domeinfeiten 2026"  # the same source once


async def test_costs_after_the_advice_are_of_the_advised_unit() -> None:
    [message] = await answer(
        "en de kosten?", "ask_costs", [], {"advised_units": ["adl"], "recommended_route": "bbl"}
    )
    assert (message["response"], message["title"]) == ("utter_cost_range", "ADL")


@pytest.mark.parametrize(
    ("text", "intent", "entities", "response"),
    [
        ("wat kost het", "ask_costs", [], "utter_cost_unknown"),
        ("wat is een flux", "ask_term", [], "utter_term_unknown"),
        ("wat is x", "ask_term", [{"entity": "route", "value": "nope"}], "utter_term_unknown"),
    ],
)
async def test_unknown(
    text: str, intent: str, entities: list[dict[str, Any]], response: str
) -> None:
    assert [m["response"] for m in await answer(text, intent, entities)] == [response]


async def test_old_catalogue_without_lookup() -> None:
    messages = await answer(
        "wat is bbl", "ask_term", [{"entity": "route", "value": "bbl"}], catalogue=OldCatalogue()
    )
    assert [m["response"] for m in messages] == ["utter_term_unknown"]


async def test_failing_catalogue() -> None:
    class Broken(FakeCatalogue):
        def lookup(self, kind: str, item_id: str) -> dict[str, Any] | None:
            raise RuntimeError("down")

    messages = await answer(
        "wat is bbl", "ask_term", [{"entity": "route", "value": "bbl"}], catalogue=Broken()
    )
    assert [m["response"] for m in messages] == ["utter_term_unknown"]
