"""action_give_advice: profile from the slots, summary response, full advice as JSON, slots."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import actions.base
from actions.advice import ActionGiveAdvice
from catalogue.errors import ProfileError
from tests.actions.support import FakeCatalogue, make_tracker, sample_advice

PROFILE_SLOTS = {"age": 38, "sector": "vvt", "hours_per_week": 20.5}


async def give_advice(
    catalogue: FakeCatalogue,
    domain: dict[str, Any],
    slots: dict[str, Any] | None = None,
) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(PROFILE_SLOTS if slots is None else slots)
    events = await ActionGiveAdvice(catalogue).run(dispatcher, tracker, domain)
    return dispatcher, events


def test_name() -> None:
    assert ActionGiveAdvice(FakeCatalogue()).name() == "action_give_advice"


@pytest.mark.parametrize(
    ("language", "title"), [("nl", "BBL: werken en leren"), ("en", "BBL: work-based learning")]
)
async def test_summary_json_and_slots(language: str, title: str, domain: dict[str, Any]) -> None:
    advice = sample_advice(["bbl"])
    catalogue = FakeCatalogue(advice)

    dispatcher, events = await give_advice(
        catalogue, domain, {**PROFILE_SLOTS, "language": language}
    )

    assert catalogue.profiles == [{**PROFILE_SLOTS, "language": language}]
    summary, payload = dispatcher.messages
    assert summary["response"] == "utter_advice_summary"
    assert summary["text"] is None  # the sentence is in domain.yml, chosen by `language`
    assert (summary["route_title"], summary["route_count"], summary["funding_count"]) == (
        title,
        1,
        2,
    )
    assert payload["custom"] == {"type": "advice", "advice": advice}
    assert payload["response"] is None
    assert events == [SlotSet("advice_given", True), SlotSet("recommended_route", "bbl")]


async def test_profile_has_only_answered_slots(domain: dict[str, Any]) -> None:
    catalogue = FakeCatalogue(sample_advice(["bbl"]))
    await give_advice(catalogue, domain, {"age": 40, "sector": None, "advice_given": False})
    # Slots that are not profile fields (advice_given, requested_slot) stay out.
    assert catalogue.profiles == [{"age": 40, "language": "nl"}]


async def test_no_route_still_sends_the_advice(domain: dict[str, Any]) -> None:
    advice = sample_advice([])

    dispatcher, events = await give_advice(FakeCatalogue(advice), domain)

    assert [m["response"] for m in dispatcher.messages] == ["utter_advice_no_route", None]
    assert dispatcher.messages[1]["custom"] == {"type": "advice", "advice": advice}
    assert events == [SlotSet("advice_given", True), SlotSet("recommended_route", None)]


async def test_rejected_form_answer_is_asked_again(domain: dict[str, Any]) -> None:
    error = ProfileError("age must be between 16 and 80; got 7", field="age")

    dispatcher, events = await give_advice(FakeCatalogue(error=error), domain)

    assert [m["response"] for m in dispatcher.messages] == ["utter_profile_invalid"]
    assert events == [SlotSet("age", None), FollowupAction("profile_form")]


async def test_rejected_value_outside_the_form(domain: dict[str, Any]) -> None:
    error = ProfileError("language must be one of nl, en", field="language")

    dispatcher, events = await give_advice(FakeCatalogue(error=error), domain)

    assert [m["response"] for m in dispatcher.messages] == ["utter_profile_invalid"]
    assert events == [SlotSet("advice_given", False)]


async def test_catalogue_failure_is_told_not_raised(domain: dict[str, Any]) -> None:
    catalogue = FakeCatalogue(error=RuntimeError("database is locked"))

    dispatcher, events = await give_advice(catalogue, domain)

    assert [m["response"] for m in dispatcher.messages] == ["utter_advice_unavailable"]
    assert events == [SlotSet("advice_given", False)]


async def test_advise_runs_off_the_event_loop(domain: dict[str, Any]) -> None:
    catalogue = FakeCatalogue(sample_advice(["bbl"]))
    await give_advice(catalogue, domain)
    # The first advise reads the database: it must not run on the loop's thread.
    assert catalogue.threads
    assert catalogue.threads[0] != threading.get_ident()


async def test_default_catalogue_is_taken_on_first_use(
    monkeypatch: pytest.MonkeyPatch, domain: dict[str, Any]
) -> None:
    service = FakeCatalogue(sample_advice(["bbl"]))
    calls: list[int] = []

    def fake_default_service() -> FakeCatalogue:
        calls.append(1)
        return service

    monkeypatch.setattr(actions.base, "default_service", fake_default_service)
    action = ActionGiveAdvice()  # as the SDK constructs it
    assert calls == []  # constructing opens nothing

    for _ in range(2):
        await action.run(CollectingDispatcher(), make_tracker(PROFILE_SLOTS), domain)

    assert calls == [1]
    assert len(service.profiles) == 2
