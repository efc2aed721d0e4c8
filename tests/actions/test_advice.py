"""action_give_advice and action_advice_details: summary, warnings, JSON payload, reasons."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.advice import ActionAdviceDetails, ActionGiveAdvice
from catalogue.errors import ProfileError
from tests.actions.support import EVC_WARNING, FakeCatalogue, make_tracker, sample_advice

PROFILE_SLOTS = {"age": 38, "sector": "vvt", "hours_per_week": 20.5}


async def give_advice(
    catalogue: FakeCatalogue, domain: dict[str, Any], slots: dict[str, Any] | None = None
) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(PROFILE_SLOTS if slots is None else slots)
    events = await ActionGiveAdvice(catalogue).run(dispatcher, tracker, domain)
    return dispatcher, events


def test_names() -> None:
    assert ActionGiveAdvice(FakeCatalogue()).name() == "action_give_advice"
    assert ActionAdviceDetails(FakeCatalogue()).name() == "action_advice_details"


@pytest.mark.parametrize(
    ("language", "route", "units"),
    [
        ("nl", "BBL: werken en leren", "ADL, Helpende Plus"),
        ("en", "BBL: work-based learning", "Activities of daily living, Helpende Plus"),
    ],
)
async def test_summary_json_and_slots(
    language: str, route: str, units: str, domain: dict[str, Any]
) -> None:
    advice = sample_advice(["bbl"])
    catalogue = FakeCatalogue(advice)
    dispatcher, events = await give_advice(
        catalogue, domain, {**PROFILE_SLOTS, "language": language}
    )

    assert catalogue.profiles == [{**PROFILE_SLOTS, "language": language}]
    assert catalogue.threads[0] != threading.get_ident()  # off the event loop
    summary, payload = dispatcher.messages
    assert summary["response"] == "utter_advice_summary"
    assert summary["text"] is None  # the sentence is in domain.yml, chosen by `language`
    assert (
        summary["route_title"],
        summary["units"],
        summary["route_count"],
        summary["funding_count"],
    ) == (route, units, 1, 2)
    assert payload["custom"] == {"type": "advice", "advice": advice}
    assert events == [
        SlotSet("advice_given", True),
        SlotSet("recommended_route", "bbl"),
        SlotSet("advised_units", ["adl", "helpende_plus"]),
    ]


@pytest.mark.parametrize(
    ("language", "text"), [("nl", EVC_WARNING["nl"]), ("en", EVC_WARNING["en"])]
)
async def test_warnings_follow_the_summary(
    language: str, text: str, domain: dict[str, Any]
) -> None:
    catalogue = FakeCatalogue(sample_advice(["bbl"], warnings=[EVC_WARNING]))
    dispatcher, _ = await give_advice(catalogue, domain, {**PROFILE_SLOTS, "language": language})
    responses = [m["response"] for m in dispatcher.messages]
    assert responses == ["utter_advice_summary", "utter_advice_warning", None]
    assert dispatcher.messages[1]["warning"] == text


async def test_recruiter_gets_a_summary_to_forward(domain: dict[str, Any]) -> None:
    catalogue = FakeCatalogue(sample_advice(["bbl"]))
    dispatcher, _ = await give_advice(catalogue, domain, {**PROFILE_SLOTS, "recruiter": True})
    forward = dispatcher.messages[-1]
    assert forward["response"] == "utter_advice_forward"
    assert (forward["route_title"], forward["version"]) == (
        "BBL: werken en leren",
        "2026.11.23+test",
    )


async def test_no_route(domain: dict[str, Any]) -> None:
    dispatcher, events = await give_advice(FakeCatalogue(sample_advice([])), domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_advice_no_route", None]
    assert SlotSet("recommended_route", None) in events


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("age", [SlotSet("age", None), FollowupAction("profile_form")]),
        ("language", [SlotSet("advice_given", False)]),
    ],
)
async def test_profile_rejected_by_the_catalogue(
    field: str, expected: list[Any], domain: dict[str, Any]
) -> None:
    catalogue = FakeCatalogue(error=ProfileError("bad", field=field))
    dispatcher, events = await give_advice(catalogue, domain)
    assert events == expected
    assert [m["response"] for m in dispatcher.messages] == ["utter_profile_invalid"]


async def test_catalogue_down(domain: dict[str, Any]) -> None:
    dispatcher, events = await give_advice(FakeCatalogue(error=RuntimeError("db down")), domain)
    assert events == [SlotSet("advice_given", False)]
    assert [m["response"] for m in dispatcher.messages] == ["utter_advice_unavailable"]


@pytest.mark.parametrize(
    ("entities", "titles"),
    [
        (
            [],
            [
                "ADL",
                "Helpende Plus",
                "BBL: werken en leren",
                "Subsidie praktijkleren",
                "SLIM-regeling",
            ],
        ),
        ([{"entity": "detail", "value": "unit"}], ["ADL", "Helpende Plus"]),
        ([{"entity": "term", "value": "leereenheid"}], ["ADL", "Helpende Plus"]),
        ([{"entity": "detail", "value": "route"}], ["BBL: werken en leren"]),
        ([{"entity": "term", "value": "subsidie"}], ["Subsidie praktijkleren", "SLIM-regeling"]),
        ([{"entity": "route", "value": "evc"}], ["EVC-traject"]),
        ([{"entity": "unit", "value": "adl"}], ["ADL"]),
    ],
)
async def test_details_with_reason_and_source(
    entities: list[dict[str, Any]],
    titles: list[str],
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    catalogue = FakeCatalogue(sample_advice(["bbl"]))
    tracker = make_tracker(
        {**PROFILE_SLOTS, "advice_given": True},
        text="meer",
        intent="ask_details",
        entities=entities,
    )
    assert await ActionAdviceDetails(catalogue).run(dispatcher, tracker, domain) == []
    assert [m["title"] for m in dispatcher.messages] == titles
    assert {m["response"] for m in dispatcher.messages} == {"utter_advice_reason"}
    assert {m["reason"] for m in dispatcher.messages} == {"Omdat het kan."}
    assert {m["source"] for m in dispatcher.messages} == {"Domeinfeiten 2026"}


async def test_details_of_something_not_in_the_advice(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    catalogue = FakeCatalogue(sample_advice(["bbl"]))
    tracker = make_tracker(
        {"advice_given": True}, intent="ask_details", entities=[{"entity": "unit", "value": "nope"}]
    )
    await ActionAdviceDetails(catalogue).run(dispatcher, tracker, domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_term_unknown"]


async def test_details_before_the_advice(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    await ActionAdviceDetails(FakeCatalogue()).run(
        dispatcher, make_tracker(intent="ask_details"), domain
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_advice_not_yet"]


async def test_details_catalogue_down(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    catalogue = FakeCatalogue(error=RuntimeError("down"))
    await ActionAdviceDetails(catalogue).run(
        dispatcher, make_tracker({"advice_given": True}, intent="ask_details"), domain
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_advice_unavailable"]
