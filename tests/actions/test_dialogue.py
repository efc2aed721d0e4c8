"""The conversation (actions/dialogue.py): every example of the conversation issue, and the
repair patterns, turn by turn with the real catalogue and domain.

Each message carries the intent the NLU model would give it; tests/integration sends the same
sentences through the real engine and model.
"""

from __future__ import annotations

from typing import Any

import pytest

from actions.turn import INTAKE_OFFER
from tests.actions.support import Chat, responses

# A whole profile but the region, as the slots hold it.
ALMOST_DONE: dict[str, Any] = {
    "sector": "vvt",
    "goal": "tasks",
    "target": "unknown",
    "age": 38,
    "education": {"level": "havo"},
    "care_qualifications": [],
    "care_experience_years": 0,
    "employer": "none",
    "hours_per_week": 24,
    "benefit": "none",
    "intake": True,
    "intake_explained": True,
}


def last(messages: list[Any]) -> str:
    return responses(messages)[-1]


# ---- the examples at the top of the issue ---------------------------------------------------


async def test_yes_to_the_employer_question_asks_where(chat: Chat) -> None:
    chat.resume(**{**ALMOST_DONE, "employer": None, "open_question": "employer"})
    first = await chat.say("ja", "affirm")
    assert last(first) == "utter_clarify_employer"
    assert [b["title"] for b in chat.domain["responses"]["utter_clarify_employer"][-1]["buttons"]]
    second = await chat.say("in de zorg", "inform")
    assert chat.slots["employer"] == "care"
    assert last(second) == "utter_ask_employer_sbb_recognised"


@pytest.mark.parametrize(
    ("text", "recruiter"),
    [("ja, een thuiszorgorganisatie", False), ("ja, wij nemen haar aan", True)],
)
async def test_yes_with_where_is_an_employer_in_care(
    chat: Chat, text: str, recruiter: bool
) -> None:
    chat.resume(
        **{**ALMOST_DONE, "employer": None, "open_question": "employer", "recruiter": recruiter}
    )
    reply = await chat.say(text, "affirm")
    assert chat.slots["employer"] == "care"
    assert "utter_not_understood" not in responses(reply)
    assert last(reply) == "utter_ask_employer_sbb_recognised"


async def test_a_bare_place_answers_the_region_question_and_the_advice_follows(chat: Chat) -> None:
    chat.resume(**{**ALMOST_DONE, "open_question": "region"})
    reply = await chat.say("Nijmegen", "inform", 0.4)
    assert chat.slots["region"] == "Nijmegen"
    assert "utter_advice_plan" in responses(reply)
    assert last(reply) == "utter_next_steps"


async def test_a_place_the_catalogue_lacks_is_kept_as_typed(chat: Chat) -> None:
    chat.resume(**{**ALMOST_DONE, "open_question": "region"})
    await chat.say("Opheusdenveld", "inform", 0.3)
    assert chat.slots["region"] == "Opheusdenveld"
    assert chat.slots["advice_given"] is True


async def test_an_opening_wish_starts_the_intake_with_what_it_said(chat: Chat) -> None:
    reply = await chat.say(
        "Ik wil een BBL-opleiding doen bij mijn huidige werkgever, een kleine zorgorganisatie.",
        "request_advice",
    )
    assert responses(reply)[:3] == ["utter_intro", "utter_noted", "utter_intake_start"]
    assert chat.slots["employer"] == "care"
    assert last(reply) == "utter_ask_sector"
    assert "utter_not_understood" not in responses(reply)


async def test_an_english_answer_to_the_goal_question(chat: Chat) -> None:
    chat.resume(language="en", sector="vvt", intake=True, open_question="goal")
    reply = await chat.say("start working quickly with some tasks", "inform", 0.5)
    assert chat.slots["goal"] == "tasks"
    assert last(reply) == "utter_ask_target"


async def test_a_second_greeting_restarts_nothing(chat: Chat) -> None:
    first = await chat.say("hoi", "greet")
    assert responses(first) == ["utter_greet"]
    assert chat.slots["open_question"] == INTAKE_OFFER
    await chat.say("ja", "affirm")
    asked = chat.slots["open_question"]
    again = await chat.say("hoi", "greet")
    assert responses(again) == ["utter_greet_again", f"utter_ask_{asked}"]
    assert chat.slots["open_question"] == asked


async def test_english_with_a_question_gets_the_answer_in_english(chat: Chat) -> None:
    reply = await chat.say(
        "Hi, I only speak a little Dutch. What is a learning unit?", "ask_question"
    )
    assert chat.slots["language"] == "en"
    # Rendered in this turn's language (the engine would render with the old one).
    texts = [m.text or "" for m in reply]
    assert texts[0].startswith("Hi! I am Zijwijzer")
    assert "A learning unit is" in texts[1]
    assert "source:" in texts[1]
    assert "Would you like a personal plan" in texts[-1]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Wat kost een leereenheid ongeveer?", "1.200"),
        ("Wat krijg ik als ik een leereenheid heb gehaald?", "certificaat"),
        ("Worden EVC-certificaten nog geaccepteerd door de mbo-school?", "13 februari 2026"),
        ("Hoe werkt een EVC-traject?", "assessment"),
        ("Moet mijn werkgever een erkend leerbedrijf zijn?", "erkend leerbedrijf"),
        ("hoeveel is de subsidie praktijkleren", "2.700"),
    ],
)
async def test_plain_questions_get_the_answer_they_ask_for(
    chat: Chat, question: str, expected: str
) -> None:
    reply = await chat.say(question, "ask_question")
    answer = next(m for m in reply if m.response in ("utter_answer", "utter_answer_unsure"))
    assert expected in answer.values["answer"], answer.values["answer"]


async def test_a_question_about_a_rule_says_what_it_means_for_the_person(chat: Chat) -> None:
    reply = await chat.say("Ik ben 20, mag ik ook losse leereenheden volgen?", "ask_question")
    assert chat.slots["age"] == 20
    personal = next(m for m in reply if m.response == "utter_answer_for_you")
    assert "23" in personal.values["personal"]


async def test_a_question_mid_intake_is_answered_and_the_question_comes_back(chat: Chat) -> None:
    chat.resume(sector="vvt", goal="tasks", target="unknown", intake=True, open_question="age")
    reply = await chat.say("Moet mijn werkgever een erkend leerbedrijf zijn?", "ask_question", 0.8)
    assert responses(reply)[0] in ("utter_answer", "utter_answer_unsure")
    assert last(reply) == "utter_ask_age"
    assert chat.slots.get("employer_sbb_recognised") is None


async def test_a_question_without_a_good_answer_names_the_desk_and_is_kept(chat: Chat) -> None:
    reply = await chat.say("Hoeveel parkeerplekken heeft het examengebouw?", "ask_question", 0.7)
    assert "utter_no_answer" in responses(reply)
    assert any(r.startswith("utter_handoff_desk") for r in responses(reply))
    assert chat.question_log.questions == [
        ("test", "Hoeveel parkeerplekken heeft het examengebouw?", "nl")
    ]


# ---- repair ------------------------------------------------------------------------------


async def test_unclear_answers_never_stall_the_intake(chat: Chat) -> None:
    chat.resume(sector="vvt", goal="tasks", target="unknown", intake=True, open_question="age")
    first = await chat.say("blabla", "inform", 0.3)
    assert responses(first) == ["utter_not_understood", "utter_example_age"]
    second = await chat.say("blabla", "inform", 0.3)
    assert responses(second) == ["utter_miss_offer"]
    third = await chat.say("blabla", "inform", 0.3)
    assert responses(third)[0] == "utter_auto_skipped"
    assert last(third) == "utter_ask_education"
    assert "age" in chat.slots["skipped"]


async def test_the_way_out_buttons_work(chat: Chat) -> None:
    chat.resume(sector="vvt", goal="tasks", target="unknown", intake=True, open_question="age")
    await chat.say("blabla", "inform", 0.3)
    await chat.say("blabla", "inform", 0.3)
    example = await chat.press("ask_example")
    assert responses(example) == ["utter_example_age"]
    skipped = await chat.press("skip_question")
    assert responses(skipped) == ["utter_skipped", "utter_ask_education"]


async def test_dont_know_means_unknown_never_no(chat: Chat) -> None:
    chat.resume(**{**ALMOST_DONE, "employer": None, "open_question": "employer"})
    reply = await chat.say("weet ik niet", "skip_question")
    assert chat.slots.get("employer") is None
    assert "employer" in chat.slots["skipped"]
    assert responses(reply)[0] == "utter_skipped_unknown"


async def test_an_age_out_of_range_is_asked_again_with_the_limits(chat: Chat) -> None:
    chat.resume(sector="vvt", goal="tasks", target="unknown", intake=True, open_question="age")
    reply = await chat.say("7", "inform")
    assert responses(reply) == ["utter_invalid_age"]
    assert reply[0].values == {"min": 16, "max": 80}
    assert chat.slots.get("age") is None


async def test_no_turn_ends_three_times_in_a_row_with_the_same_prompt(chat: Chat) -> None:
    chat.resume(sector="vvt", goal="tasks", target="unknown", intake=True, open_question="age")
    for question in ("Wat is BBL?", "Wat is een leereenheid?", "Wat is het Leerwerkloket?"):
        await chat.say(question, "ask_question")
    endings = [last(turn) for turn in chat.turns]
    assert endings == ["utter_ask_age", "utter_ask_age", "utter_example_age"]


async def test_stop_start_over_and_going_on(chat: Chat) -> None:
    chat.resume(sector="vvt", goal="tasks", target="unknown", intake=True, open_question="age")
    stopped = await chat.say("stop", "stop")
    assert responses(stopped) == ["utter_stopped"]
    assert chat.slots["intake"] is False
    resumed = await chat.press("request_advice")
    assert last(resumed) == "utter_ask_age"
    again = await chat.say("opnieuw beginnen", "start_over")
    assert responses(again) == ["utter_restarted", "utter_ask_sector"]
    assert chat.slots["sector"] is None


async def test_a_correction_after_the_advice_gives_new_advice(chat: Chat) -> None:
    chat.resume(**{**ALMOST_DONE, "open_question": "region"})
    await chat.say("Utrecht", "inform")
    assert chat.slots["advice_given"] is True
    reply = await chat.say("ik ben eigenlijk 21", "inform")
    assert chat.slots["age"] == 21
    assert "utter_changed" in responses(reply)
    assert "utter_advice_plan" in responses(reply)
    assert len(chat.advice_store.saved) == 2


async def test_erasing_asks_first(chat: Chat) -> None:
    chat.resume()
    ask = await chat.say("wis dit gesprek", "erase_conversation")
    assert responses(ask) == ["utter_ask_erase_confirm"]
    cancelled = await chat.say("nee", "deny")
    assert responses(cancelled)[0] == "utter_erase_cancelled"
    await chat.say("wis dit gesprek", "erase_conversation")
    await chat.say("ja", "affirm")
    assert chat.followups == ["action_erase_conversation"]


async def test_a_person_is_asked_for_and_the_request_is_stored_once(chat: Chat) -> None:
    chat.resume(sector="vvt", intake=True, open_question="goal")
    consent = await chat.say("ik wil een mens spreken", "request_human")
    assert responses(consent) == ["utter_ask_handoff_consent"]
    await chat.say("ja", "affirm")
    contact = await chat.say("bellen graag", "inform")
    assert last(contact) == "utter_ask_handoff_phone"
    done = await chat.say("06 12345678", "inform")
    assert "utter_handoff_confirmed" in responses(done)
    stored = chat.handoff_store.created
    assert len(stored) == 1 and stored[0].contact == "+31612345678"
    # Back to the intake where it was.
    assert last(done) == "utter_ask_goal"
    # The engine sends the same call again (its first attempt timed out): stored once.
    again = await chat.retry()
    assert "utter_handoff_confirmed" in responses(again)
    assert len(chat.handoff_store.created) == 1


async def test_a_question_during_the_handoff_is_answered_and_the_handoff_goes_on(
    chat: Chat,
) -> None:
    await chat.say("ik wil een adviseur", "request_human")
    reply = await chat.say("wat is het Leerwerkloket?", "ask_question")
    assert responses(reply)[0] in ("utter_answer", "utter_answer_unsure")
    assert last(reply) == "utter_ask_handoff_consent"


async def test_an_opening_the_bot_cannot_place_gets_the_offer(chat: Chat) -> None:
    reply = await chat.say(
        "Hi, I would like to work in care but I only speak a little Dutch", "choose_language", 0.39
    )
    assert chat.slots["language"] == "en"
    assert [m.response for m in reply] == [None, None]  # rendered here: new language
    assert reply[0].text is not None and reply[0].text.startswith("Hi! I am Zijwijzer")
    assert reply[1].text is not None and reply[1].text.startswith("Would you like a personal plan")


async def test_a_place_is_no_sentence(chat: Chat) -> None:
    chat.resume(**{**ALMOST_DONE, "open_question": "region"})
    reply = await chat.say("ik moet even koffie halen", "inform", 0.34)
    assert chat.slots.get("region") is None
    assert responses(reply) == ["utter_not_understood", "utter_example_region"]
