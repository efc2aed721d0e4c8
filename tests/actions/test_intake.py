"""validate_profile_form: answers become profile values, or the user is asked again."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.intake import ValidateProfileForm
from tests.actions.support import make_tracker

FORM = "profile_form"


def validate(
    slot: str, value: Any, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> dict[str, Any]:
    action = ValidateProfileForm()
    method = getattr(action, f"validate_{slot}")
    result: dict[str, Any] = method(value, dispatcher, make_tracker(text=str(value)), domain)
    return result


def test_name_and_every_form_slot_has_a_validator(domain: dict[str, Any]) -> None:
    action = ValidateProfileForm()
    assert action.name() == f"validate_{FORM}"
    for slot in domain["forms"][FORM]["required_slots"]:
        assert callable(getattr(action, f"validate_{slot}", None)), slot


@pytest.mark.parametrize(
    ("answer", "age"),
    [
        ("38", 38),
        ("achtendertig", 38),
        ("ik ben 40", 40),
        ("Ik ben 52 jaar oud", 52),
        ("tweeëntwintig", 22),
        ("I am thirty-eight", 38),
        ("16", 16),
        ("80", 80),
        ("38.0", 38),
        (45, 45),
    ],
)
def test_age_accepted(
    answer: Any, age: int, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    result = validate("age", answer, dispatcher, domain)
    assert result == {"age": age}
    assert isinstance(result["age"], int)
    assert dispatcher.messages == []


@pytest.mark.parametrize("answer", ["7", "140", "abc", "", "15", "81", "38,5", "honderdveertig"])
def test_age_rejected_with_friendly_reask(
    answer: str, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    assert validate("age", answer, dispatcher, domain) == {"age": None}
    [message] = dispatcher.messages
    assert message["response"] == "utter_invalid_age"
    # The limits in the sentence are the slot's, from domain.yml.
    assert (message["min"], message["max"]) == (16, 80)
    assert message["text"] is None  # the sentence itself lives in domain.yml


@pytest.mark.parametrize(
    ("answer", "hours"),
    [("24", 24), ("20,5 uur", 20.5), ("twintig uur per week", 20), ("0", 0), ("60", 60)],
)
def test_hours_accepted(
    answer: str, hours: float, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    assert validate("hours_per_week", answer, dispatcher, domain) == {"hours_per_week": hours}
    assert dispatcher.messages == []


@pytest.mark.parametrize("answer", ["61", "honderd", "veel", "fulltime"])
def test_hours_rejected(
    answer: str, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    assert validate("hours_per_week", answer, dispatcher, domain) == {"hours_per_week": None}
    [message] = dispatcher.messages
    assert (message["response"], message["min"], message["max"]) == (
        "utter_invalid_hours_per_week",
        0,
        60,
    )


@pytest.mark.parametrize(
    ("answer", "sector"), [("vvt", "vvt"), ("GHZ ", "ghz"), ("either", "either")]
)
def test_sector_accepted(
    answer: str, sector: str, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    assert validate("sector", answer, dispatcher, domain) == {"sector": sector}
    assert dispatcher.messages == []


# Free text reaches validation only when NLU found no sector entity (the from_text mapping).
@pytest.mark.parametrize("answer", ["ziekenhuis", "weet niet", "", 3])
def test_sector_rejected(
    answer: Any, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    assert validate("sector", answer, dispatcher, domain) == {"sector": None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_invalid_sector"]


async def test_run_rejects_then_next_turn_accepts(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    """The whole action as the engine calls it, with the extracted value in the events."""
    action = ValidateProfileForm()

    rejected = make_tracker(
        {"age": "7", "requested_slot": "age"},
        text="7",
        events=[{"event": "slot", "name": "age", "value": "7"}],
        active_loop=FORM,
    )
    events = await action.run(dispatcher, rejected, domain)
    # The engine's form then asks the still-empty slot again (utter_ask_age).
    assert events == [SlotSet("age", None)]
    assert [m["response"] for m in dispatcher.messages] == ["utter_invalid_age"]

    accepted = make_tracker(
        {"age": "achtendertig", "requested_slot": "age"},
        text="achtendertig",
        events=[{"event": "slot", "name": "age", "value": "achtendertig"}],
        active_loop=FORM,
    )
    second = CollectingDispatcher()
    events = await action.run(second, accepted, domain)
    assert events == [SlotSet("age", 38)]
    assert second.messages == []
