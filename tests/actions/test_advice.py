"""The advice in the conversation (actions/advice.py): the plan said short in the chat, its card
for the widget, its link as text elsewhere, the recruiter's summary to forward, the slots the
handoff reads, and the reasons on request; through the dialogue action with a real tracker and
dispatcher (tests/actions/support.py)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from actions.render import render
from catalogue.plan_view import present
from catalogue.service import CatalogueService
from tests.actions.support import Chat, FakeAdviceStore, Said, responses
from tests.catalogue.samples import ISSUE_PROFILE

# The issue's 38-year-old, the region still to answer.
ALMOST: dict[str, Any] = {
    **{k: v for k, v in ISSUE_PROFILE.items() if k != "region"},
    "intake": True,
    "intake_explained": True,
    "open_question": "region",
}


def plan_of(catalogue: CatalogueService, language: str = "nl") -> Any:
    return present(catalogue.plan({**ISSUE_PROFILE, "language": language}), language)


def text_of(chat: Chat, message: Said) -> str:
    """A response as the engine renders it, with the slots the conversation has now."""
    assert message.response is not None
    return str(render(chat.domain, message.response, chat.slots, message.values)["text"])


def the_card(messages: list[Said]) -> dict[str, Any]:
    (card,) = [m.custom for m in messages if m.custom]
    assert card is not None
    return card


async def advise(chat: Chat, **slots: Any) -> list[Said]:
    chat.resume(**{**ALMOST, **slots})
    return await chat.say("Utrecht", "inform", 0.9)


async def test_on_a_channel_without_cards_the_chat_says_the_steps_and_the_link(
    catalogue: CatalogueService, domain: dict[str, Any]
) -> None:
    chat = Chat(catalogue, domain, channel="telegram")
    reply = await advise(chat)
    assert responses(reply) == ["utter_advice_plan", "", "utter_advice_saved", "utter_next_steps"]
    view = plan_of(catalogue)
    text = text_of(chat, reply[0])
    for step in view["steps"]:
        assert f"{step['number']}. {step['title']}" in text
    first = view["steps"][view["first_step"] - 1]
    assert first["text"] in text and f"Met wie: {view['contact']}." in text
    assert "-" not in re.findall(r"\S+", text)  # never an empty "-"
    saved = text_of(chat, reply[2])
    assert "http://test/advies/token1" in saved and "30 dagen" in saved
    # The card goes too (the channel passes it over), with the link's expiry in words.
    card = the_card(reply)
    assert card["link"] == "http://test/advies/token1"
    assert card["link_until"] == "6 januari 2027"


async def test_the_widget_gets_a_short_intro_and_the_card(
    catalogue: CatalogueService, domain: dict[str, Any]
) -> None:
    chat = Chat(catalogue, domain, channel="widget")
    reply = await advise(chat)
    assert responses(reply) == ["utter_advice_plan_card", "", "utter_next_steps"]
    assert text_of(chat, reply[0]) == "Dank je wel! Dit is je plan, in 5 stappen."
    card = the_card(reply)
    view = plan_of(catalogue)
    assert [s["title"] for s in card["steps"]] == [s["title"] for s in view["steps"]]
    assert card["contact"] == view["contact"] and card["target"] == view["target"]


async def test_the_saved_plan_is_the_view_the_chat_and_the_card_were_made_from(
    catalogue: CatalogueService, domain: dict[str, Any]
) -> None:
    chat = Chat(catalogue, domain, channel="rest", slots={"language": "en"})
    reply = await advise(chat, language="en")
    ((saved, language, conversation),) = chat.advice_store.saved
    assert (language, conversation) == ("en", "test")
    # Saved once per turn: a retried call of this turn gets the same link.
    (key,) = chat.advice_store.keys
    assert key is not None and (key.conversation_id, key.action) == ("test", "advice")
    assert saved["format"] == "zijwijzer-plan/1" and saved["language"] == "en"
    card = the_card(reply)
    assert [s["title"] for s in saved["steps"]] == [s["title"] for s in card["steps"]]
    text = text_of(chat, reply[0])
    assert text.startswith("Thank you! This is your plan:")
    assert all(s["title"] in text for s in saved["steps"])
    assert f"Who with: {saved['contact']}." in text


async def test_the_slots_the_handoff_reads(
    catalogue: CatalogueService, domain: dict[str, Any]
) -> None:
    chat = Chat(catalogue, domain)
    await advise(chat)
    plan = catalogue.plan({**ISSUE_PROFILE, "language": "nl"})
    assert chat.slots["advice_given"] is True
    assert chat.slots["recommended_route"] == plan.route == "derde_leerweg"
    assert chat.slots["advised_units"] == list(plan.units)
    assert chat.slots["advice_profile"]["region"] == "Utrecht"


@pytest.mark.parametrize("language", ["nl", "en"])
async def test_a_recruiter_gets_the_plan_about_the_candidate_and_a_summary_to_forward(
    catalogue: CatalogueService, domain: dict[str, Any], language: str
) -> None:
    chat = Chat(catalogue, domain, channel="slack", slots={"recruiter": True, "language": language})
    reply = await advise(chat, recruiter=True, language=language)
    assert responses(reply) == [
        "utter_advice_plan",
        "",
        "utter_advice_saved",
        "utter_advice_forward",
        "utter_next_steps",
    ]
    candidate = "kandidaat" if language == "nl" else "candidate"
    assert candidate in text_of(chat, reply[0])
    forward = text_of(chat, reply[3])
    view = plan_of(catalogue, language)
    assert view["target"]["title"] in forward
    for step in view["steps"]:
        assert step["title"] in forward
    assert view["contact"] in forward
    # Never the old summary's "route: BOL", "-" for nothing, or the catalogue's version.
    assert "route:" not in forward.lower() and " - " not in forward and "-." not in forward
    assert "catalog" not in forward.lower()


async def test_the_plan_still_goes_when_it_cannot_be_saved(
    catalogue: CatalogueService, domain: dict[str, Any]
) -> None:
    chat = Chat(catalogue, domain, advice_store=FakeAdviceStore(fail=True))
    reply = await advise(chat)
    assert responses(reply) == ["utter_advice_plan", "", "utter_next_steps"]
    card = the_card(reply)
    assert card["link"] is None and card["link_until"] is None
    assert chat.slots["advice_given"] is True


async def test_why_gives_the_plans_reasons_and_other_ways(
    catalogue: CatalogueService, domain: dict[str, Any]
) -> None:
    chat = Chat(catalogue, domain)
    await advise(chat)
    reply = await chat.press("ask_why")  # the button "Waarom dit advies?"
    said = responses(reply)
    view = plan_of(catalogue)
    reasons = [m for m in reply if m.response == "utter_advice_reason"]
    assert reasons and said.index("utter_advice_other_ways") > said.index("utter_advice_reason")
    # The first reason is the target's (a proposal), named by the target.
    assert reasons[0].values["title"] == view["target"]["title"]
    assert reasons[0].values["reason"] == view["why"][0]["text"]
    assert reasons[0].values["source"]
    # The route's three reasons come as one message.
    route = [r for r in reasons if r.values["title"].startswith("Derde leerweg")]
    assert len(route) == 1 and route[0].values["reason"].count(". ") >= 2
    other = reply[said.index("utter_advice_other_ways") + 1]
    assert other.values["title"] == view["alternatives"][0]["title"]
    assert said[-1] == "utter_next_steps"


async def test_more_about_an_item_of_the_plan_and_about_one_that_is_not(
    catalogue: CatalogueService, domain: dict[str, Any]
) -> None:
    chat = Chat(catalogue, domain)
    await advise(chat)
    assert "basis_deskundige_zorg" in chat.slots["advised_units"]
    reply = await chat.say("meer over basis voor deskundige zorg", "ask_details", 0.9)
    reasons = [m for m in reply if m.response == "utter_advice_reason"]
    assert [r.values["title"] for r in reasons] == ["Basis voor deskundige zorg"]
    # BBL is no step of this plan but another way that fits: said as one.
    reply = await chat.say("meer over BBL", "ask_details", 0.9)
    assert "utter_advice_other_ways" in responses(reply)
    # ADL is in no part of this plan.
    reply = await chat.say("meer over ADL", "ask_details", 0.9)
    assert "utter_advice_no_details" in responses(reply)


async def test_a_catalogue_that_fails_says_so_and_gives_no_advice(
    catalogue: CatalogueService, domain: dict[str, Any]
) -> None:
    class Failing(CatalogueService):
        def plan(self, profile: Any, today: dt.date | None = None) -> Any:
            raise RuntimeError("catalogue down (simulated)")

    failing = Failing(catalogue=catalogue.catalogue())
    chat = Chat(failing, domain)
    reply = await advise(chat)
    assert "utter_advice_unavailable" in responses(reply)
    assert not chat.slots.get("advice_given")
    assert chat.advice_store.saved == []
