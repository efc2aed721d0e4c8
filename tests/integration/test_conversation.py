"""The examples of the conversation issue, as sentences, through the real engine and model.

Each conversation is driven to the question of the example with ordinary answers, then the
example's message is sent as typed; the bot must understand it and go on (no "Sorry, dat begrijp
ik niet" loop). The questions must get the answer they ask for, from the knowledge base.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from catalogue.reader import load_directory
from tests.stack import Stack, texts

pytestmark = pytest.mark.integration

# Ordinary answers to each question, to reach the question of an example.
ANSWERS = {
    "sector": "ouderenzorg",
    "goal": "snel aan het werk",
    "target": "weet ik nog niet",
    "age": "38",
    "education": "havo",
    "care_qualifications": "nee",
    "care_experience_years": "geen ervaring",
    "employer": "nee nog niet",
    "employer_sbb_recognised": "weet ik niet",
    "hours_per_week": "24 uur",
    "benefit": "nee",
    "region": "Utrecht",
}


def asked(replies: list[dict[str, Any]], dutch: dict[str, dict[str, Any]]) -> str | None:
    """The field the bot's last message asks, by the Dutch question texts."""
    last = texts(replies)[-1] if texts(replies) else ""
    for field in ANSWERS:
        if last == dutch[f"utter_ask_{field}"]["text"]:
            return field
    return None


def drive_to(stack: Stack, dutch: dict[str, dict[str, Any]], sender: str, wanted: str) -> None:
    replies = stack.say(sender, "ik wil graag advies")
    for _ in range(len(ANSWERS) + 2):
        field = asked(replies, dutch)
        if field == wanted:
            return
        assert field is not None, texts(replies)
        replies = stack.say(sender, ANSWERS[field])
    raise AssertionError(f"the bot never asked {wanted}")


def new_sender() -> str:
    return f"conv-{uuid.uuid4().hex[:12]}"


def test_yes_to_the_employer_question_asks_where(
    stack: Stack, dutch: dict[str, dict[str, Any]]
) -> None:
    sender = new_sender()
    drive_to(stack, dutch, sender, "employer")
    clarify = stack.say(sender, "ja")
    assert texts(clarify) == [dutch["utter_clarify_employer"]["text"]]
    assert [b["title"] for b in clarify[-1]["buttons"]] == ["Ja, in de zorg", "Ja, buiten de zorg"]
    assert texts(stack.say(sender, "in de zorg")) == [
        dutch["utter_ask_employer_sbb_recognised"]["text"]
    ]


@pytest.mark.parametrize("answer", ["ja, een thuiszorgorganisatie", "ja, wij nemen haar aan"])
def test_yes_and_where_is_an_employer_in_care(
    stack: Stack, dutch: dict[str, dict[str, Any]], answer: str
) -> None:
    sender = new_sender()
    drive_to(stack, dutch, sender, "employer")
    assert texts(stack.say(sender, answer)) == [dutch["utter_ask_employer_sbb_recognised"]["text"]]


def test_a_bare_place_answers_the_region_question(
    stack: Stack, dutch: dict[str, dict[str, Any]]
) -> None:
    sender = new_sender()
    drive_to(stack, dutch, sender, "region")
    final = stack.say(sender, "Nijmegen")
    assert any(reply.get("custom", {}).get("type") == "advice" for reply in final)
    assert stack.tracker(sender)["slots"]["region"] == "Nijmegen"


def test_an_opening_that_is_no_greeting_starts_the_intake(
    stack: Stack, dutch: dict[str, dict[str, Any]]
) -> None:
    sender = new_sender()
    opening = (
        "Ik wil een BBL-opleiding doen bij mijn huidige werkgever, een kleine zorgorganisatie."
    )
    said = texts(stack.say(sender, opening))
    assert said[0] == dutch["utter_intro"]["text"]
    assert said[-1] == dutch["utter_ask_sector"]["text"]
    assert not any(text.startswith("Sorry") for text in said)
    assert stack.tracker(sender)["slots"]["employer"] == "care"


def test_an_english_answer_to_the_goal_question(stack: Stack) -> None:
    sender = new_sender()
    stack.say(sender, "Hi, I would like advice about working in care")
    stack.say(sender, "elderly care")
    said = texts(stack.say(sender, "start working quickly with some tasks"))
    assert said[-1].startswith("What would you like to become")
    assert stack.tracker(sender)["slots"]["goal"] == "tasks"


def test_a_second_greeting_repeats_nothing(stack: Stack, dutch: dict[str, dict[str, Any]]) -> None:
    sender = new_sender()
    assert texts(stack.say(sender, "hoi")) == [dutch["utter_greet"]["text"]]
    stack.say(sender, "ja graag")
    again = texts(stack.say(sender, "hoi"))
    assert again == [dutch["utter_greet_again"]["text"], dutch["utter_ask_sector"]["text"]]


# The plain questions of the issue, with the answer (knowledge base id) each asks for.
QUESTIONS = [
    ("Wat kost een leereenheid ongeveer?", "leereenheid_kosten"),
    ("Wat krijg ik als ik een leereenheid heb gehaald?", "leereenheid_resultaat"),
    ("Kan ik ook leereenheden op hbo-niveau doen?", "hbo_leereenheden"),
    ("Worden EVC-certificaten nog geaccepteerd door de mbo-school?", "evc_status"),
    ("Hoe werkt een EVC-traject?", "evc_stappen"),
    ("Ik ben 20, mag ik ook losse leereenheden volgen?", "leereenheid_wie"),
    ("Moet mijn werkgever een erkend leerbedrijf zijn?", "sbb_leerbedrijf_nodig"),
    ("hoeveel is de subsidie praktijkleren", "praktijkleren_bedrag"),
]


@pytest.mark.parametrize(("question", "answer_id"), QUESTIONS)
def test_plain_questions_get_the_answer_they_ask_for(
    stack: Stack, question: str, answer_id: str
) -> None:
    answer = load_directory().answers[answer_id].answer.nl
    said = texts(stack.say(new_sender(), question))
    assert any(text.startswith(answer) for text in said), (question, said)


def test_a_rule_question_says_what_it_means_for_the_person(stack: Stack) -> None:
    said = texts(stack.say(new_sender(), "Ik ben 20, mag ik ook losse leereenheden volgen?"))
    assert any(text.startswith("Voor jou:") and "23" in text for text in said), said


def test_english_with_a_question_gets_the_answer_in_english(stack: Stack) -> None:
    said = texts(
        stack.say(new_sender(), "Hi, I only speak a little Dutch. What is a learning unit?")
    )
    answer = load_directory().answers["leereenheid_wat"].answer.en
    assert said[0].startswith("Hi! I am Zijwijzer")
    assert any(text.startswith(answer) for text in said), said


@pytest.mark.parametrize(
    ("language", "messages"),
    [
        (
            "nl",
            [
                "Hallo, ik wil graag in de zorg werken",
                "ja graag",
                "in de ouderenzorg denk ik",
                "ik wil zo snel mogelijk aan het werk",
                "wat kost een leereenheid eigenlijk?",
                "ik wil verzorgende ig worden",
                "ik ben 44 jaar",
                "ik heb havo gedaan en daarna een opleiding in de horeca",
                "nee, nog geen zorgdiploma",
                "ik heb een paar jaar voor mijn vader gezorgd, zo'n 3 jaar",
                "ja, bij een verpleeghuis in de buurt",
                "dat weet ik niet",
                "tussen de 20 en 24 uur",
                "ik woon in Amersfoort",
            ],
        ),
        (
            "en",
            [
                "Hi, I would like to work in care but I only speak a little Dutch",
                "yes please",
                "I think disability care",
                "I want to start working soon",
                "how long does a learning unit take?",
                "I don't know yet",
                "I am 31 years old",
                "I finished secondary school in my country, a bit like havo",
                "no, no care diploma",
                "no experience in care",
                "I work in a supermarket now",
                "about 24 hours a week",
                "I get unemployment benefit",
                "I live in Rotterdam",
            ],
        ),
    ],
)
def test_a_whole_intake_in_sentences_with_a_question_reaches_the_advice(
    stack: Stack, language: str, messages: list[str]
) -> None:
    sender = new_sender()
    replies: list[dict[str, Any]] = []
    for message in messages:
        replies = stack.say(sender, message)
        assert texts(replies), message
        if any(reply.get("custom", {}).get("type") == "advice" for reply in replies):
            break
    assert any(reply.get("custom", {}).get("type") == "advice" for reply in replies), texts(replies)
    slots = stack.tracker(sender)["slots"]
    assert slots["language"] == language
    assert slots["misses"] in (0, 0.0, None)
