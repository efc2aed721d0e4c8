"""Handoff to a person (validate_handoff_form, action_confirm_handoff) and action_fallback."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionConfirmHandoff, ValidateHandoffForm
from actions.session import ActionFallback
from tests.actions.support import FakeCatalogue, make_tracker


def test_names() -> None:
    assert ValidateHandoffForm().name() == "validate_handoff_form"
    assert ActionConfirmHandoff(FakeCatalogue()).name() == "action_confirm_handoff"
    assert ActionFallback(FakeCatalogue()).name() == "action_fallback"


@pytest.mark.parametrize(
    ("consent", "expected"),
    [
        (True, {"handoff_consent": True}),
        (False, {"handoff_consent": False, "requested_slot": None, "handoff_contact": "-"}),
    ],
)
def test_consent(
    consent: bool,
    expected: dict[str, Any],
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    assert (
        ValidateHandoffForm().validate_handoff_consent(consent, dispatcher, make_tracker(), domain)
        == expected
    )


@pytest.mark.parametrize(
    ("text", "expected"), [("06 12345678", "06 12345678"), ("  ", None), ("x" * 300, "x" * 200)]
)
def test_contact(
    text: str, expected: str | None, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    result = ValidateHandoffForm().validate_handoff_contact(
        text, dispatcher, make_tracker(), domain
    )
    assert result == {"handoff_contact": expected}


async def test_handoff_confirmed(dispatcher: CollectingDispatcher, domain: dict[str, Any]) -> None:
    tracker = make_tracker({"handoff_consent": True, "handoff_contact": "jan@example.org"})
    assert await ActionConfirmHandoff(FakeCatalogue()).run(dispatcher, tracker, domain) == []
    [message] = dispatcher.messages
    assert (message["response"], message["handoff_contact"]) == (
        "utter_handoff_confirmed",
        "jan@example.org",
    )


async def test_handoff_declined_forgets(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker({"handoff_consent": False, "handoff_contact": "-"})
    events = await ActionConfirmHandoff(FakeCatalogue()).run(dispatcher, tracker, domain)
    assert events == [SlotSet("handoff_consent", None), SlotSet("handoff_contact", None)]
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_declined"]


@pytest.mark.parametrize(
    ("earlier", "response"),
    [
        ([], "utter_default"),
        (["greet"], "utter_default"),
        (["nlu_fallback"], "utter_offer_human"),
        (["nlu_fallback", "inform"], "utter_default"),
    ],
)
async def test_fallback_then_a_person(
    earlier: list[str], response: str, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(text="bla", intent="nlu_fallback", earlier_intents=earlier)
    assert await ActionFallback(FakeCatalogue()).run(dispatcher, tracker, domain) == []
    assert [m["response"] for m in dispatcher.messages] == [response]
