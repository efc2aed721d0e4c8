"""Personal data never passes the redactor; ordinary numbers and words do."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.common.redaction import PLACEHOLDERS, bsn_valid, iban_valid, redact, redact_event


@pytest.mark.parametrize(
    ("text", "kind", "secret"),
    [
        ("mail me op jan.de.vries@example.nl aub", "email", "jan.de.vries@example.nl"),
        ("mijn nummer is 06-12345678", "phone", "12345678"),
        ("bel 06 1234 5678", "phone", "1234 5678"),
        ("+31 6 12345678 is mijn mobiel", "phone", "12345678"),
        ("vast: 020-1234567", "phone", "1234567"),
        ("0031 6 1234 5678", "phone", "1234 5678"),
        ("mijn bsn is 111222333", "bsn", "111222333"),
        ("BSN 123.456.782", "bsn", "123.456.782"),
        ("rekening NL91 ABNA 0417 1643 00", "iban", "0417 1643"),
        ("iban nl91abna0417164300", "iban", "0417164300"),
        ("ik woon op 3811 AB 12", "address", "3811"),
        ("postcode 1234ab, 5a", "address", "1234ab"),
        ("Dorpsstraat 12, 3811 AB Amersfoort", "address", "Dorpsstraat 12"),
        ("geboren op 12-03-1985", "birth_date", "12-03-1985"),
        ("geboortedatum 1985-03-12", "birth_date", "1985-03-12"),
        ("ik ben geboren op 3 maart 1985", "birth_date", "maart 1985"),
        ("born 1/3/85", "birth_date", "1/3/85"),
        # The ways people in the Netherlands write phone numbers.
        ("bel me: 06 - 123 456 78", "phone", "456 78"),
        # Two or three spaces, as phone keyboards and autocorrect leave them.
        ("bel me op 06  12345678 aub", "phone", "12345678"),
        ("mijn nummer: 020  123  4567", "phone", "123  4567"),
        ("(020) 123 45 67 overdag", "phone", "45 67"),
        ("(06)12345678", "phone", "12345678"),
        ("06.12.34.56.78", "phone", "34.56.78"),
        ("+31(0)6-12345678", "phone", "12345678"),
        ("mijn mobiel is 0612345678.", "phone", "0612345678"),
        ("tel 0318-123456", "phone", "123456"),
        # ... and birth dates.
        ("geboren 12 3 1985", "birth_date", "1985"),
        ("geboortedatum: 12031985", "birth_date", "12031985"),
        ("geb. 1-3-85", "birth_date", "1-3-85"),
        ("ik ben van 12 mrt. 1985", "birth_date", "1985"),
        ("ik ben jarig op 3 mei '85", "birth_date", "'85"),
        ("born on March 3rd, 1990", "birth_date", "1990"),
        ("12th of March 1985", "birth_date", "1985"),
        ("12-mrt-1985", "birth_date", "1985"),
        ("mijn dochter is geboren op 14-02-2021", "birth_date", "2021"),
        ("ik ben geboren op 12 maart", "birth_date", "12 maart"),
        ("date of birth 12.03.1985", "birth_date", "1985"),
    ],
)
def test_each_kind_is_redacted(text: str, kind: str, secret: str) -> None:
    result = redact(text)
    assert secret not in result.text, result.text
    assert kind in result.kinds


@pytest.mark.parametrize(
    "text",
    [
        "ik ben 38 jaar",
        "24 uur per week",
        "mbo 2 helpende, 7 jaar ervaring",
        "bestelnummer 123456789",  # nine digits that fail the 11-test
        "in 2024 en 2025 werkte ik in de thuiszorg",
        "crebo 25656",
        "ik verdien 2500 euro",
        "Leereenheid ADL kost 600 tot 1200 euro",
        "ik ben geboren in 1985",  # a year of birth says no more than an age
        "ik kan starten op 01-09-2027",  # a date to come is no birth date
        "gecontroleerd op 2026-03-01",
        "klantnummer 1234567820",  # ten digits: no BSN inside, and no phone number
        "ik werk 3 dagen van 8 uur",
        "bereikbaar van 9 tot 17 uur",
        "0,5 fte of 0.8 fte",
    ],
)
def test_ordinary_text_stays(text: str) -> None:
    result = redact(text)
    assert result.text == text
    assert result.kinds == ()


def test_the_11_test() -> None:
    assert bsn_valid("111222333")
    assert bsn_valid("123456782")
    assert not bsn_valid("123456789")
    assert not bsn_valid("000000000")


def test_the_iban_check() -> None:
    assert iban_valid("NL91 ABNA 0417 1643 00")
    assert iban_valid("DE89370400440532013000")
    assert not iban_valid("NL91 ABNA 0417 1643 01")


def _bsn_digits(prefix: list[int]) -> str | None:
    total = sum(d * w for d, w in zip(prefix, range(9, 1, -1), strict=True))
    last = total % 11
    return None if last > 9 else "".join(map(str, prefix)) + str(last)


nine_digit_prefixes = st.lists(st.integers(0, 9), min_size=8, max_size=8)
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", max_size=30)


@settings(max_examples=500, deadline=None)
@given(nine_digit_prefixes, words, words)
def test_every_valid_bsn_is_redacted_wherever_it_stands(
    prefix: list[int], before: str, after: str
) -> None:
    bsn = _bsn_digits(prefix)
    if bsn is None or bsn == "000000000":
        return
    result = redact(f"{before} {bsn} {after}")
    assert bsn not in result.text


@settings(max_examples=500, deadline=None)
@given(
    st.from_regex(r"[a-z]{1,10}(\.[a-z]{1,8})?@[a-z]{2,10}\.(nl|com|org)", fullmatch=True), words
)
def test_every_email_is_redacted(address: str, around: str) -> None:
    assert address not in redact(f"{around} {address} {around}").text


@settings(max_examples=300, deadline=None)
@given(st.integers(10_000_000, 99_999_999), words)
def test_every_dutch_mobile_number_is_redacted(number: int, around: str) -> None:
    for written in (f"06{number}", f"06-{number}", f"+316{number}"):
        assert str(number) not in redact(f"{around} {written} {around}").text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_handled_quickly_and_idempotently(text: str) -> None:
    once = redact(text)
    assert redact(once.text).text == once.text


def test_a_bsn_inside_a_longer_number_is_no_bsn() -> None:
    # 123456782 passes the 11-test, but here it is part of longer numbers.
    for text in ("1234567820", "91234567829", "123456782,5", "0123456782"):
        assert "bsn" not in redact(text).kinds, text
    assert redact("bsn: 123456782.").text == "bsn: [bsn]."


def _user_event(text: str) -> dict[str, Any]:
    return {
        "event": "user",
        "timestamp": 1763900000.5,
        "metadata": {"model_id": "abc123"},
        "text": text,
        "parse_data": {
            "intent": {"name": "inform", "confidence": 0.93},
            "entities": [
                {
                    "entity": "number",
                    "start": 13,
                    "end": 22,
                    "value": "111222333",
                    "extractor": "SpacyEntityExtractor",
                    "processors": [],
                },
            ],
            "text": text,
            "message_id": "4f1c2a0e9b8d4c6a8e2f111222333abc",
            "metadata": {"from": {"email": "jan@example.nl"}},
            "intent_ranking": [{"name": "inform", "confidence": 0.93}],
        },
        "input_channel": "rest",
        "message_id": "4f1c2a0e9b8d4c6a8e2f111222333abc",
    }


def test_a_user_event_keeps_its_shape_but_loses_the_personal_data() -> None:
    event = _user_event("mijn bsn is 111222333 en mail jan@example.nl")
    original = copy.deepcopy(event)
    stored = redact_event(event)

    assert event == original, "the event itself is left alone"
    serialised = json.dumps(stored)
    for secret in ("111222333 ", "jan@example.nl", '"111222333"'):
        assert secret not in serialised
    assert stored["text"] == "mijn bsn is [bsn] en mail [e-mail]"
    assert stored["parse_data"]["text"] == stored["text"]
    assert stored["parse_data"]["entities"][0]["value"] == "[bsn]"
    assert stored["parse_data"]["metadata"] == {"from": {"email": "[e-mail]"}}
    # Names, numbers and ids the engine needs stay exactly as they were.
    assert stored["event"] == "user" and stored["timestamp"] == 1763900000.5
    assert stored["parse_data"]["intent"] == {"name": "inform", "confidence": 0.93}
    assert stored["parse_data"]["entities"][0]["entity"] == "number"
    assert stored["parse_data"]["entities"][0]["start"] == 13
    assert stored["message_id"] == original["message_id"]
    assert stored["parse_data"]["message_id"] == original["message_id"]
    assert stored["input_channel"] == "rest"


def test_bot_texts_buttons_and_payloads_are_redacted() -> None:
    event = {
        "event": "bot",
        "timestamp": 1.0,
        "metadata": {"utter_action": "utter_handoff_confirmed"},
        "text": "Een adviseur neemt contact met je op via: 06-12345678.",
        "data": {
            "buttons": [{"title": "Ja", "payload": "/affirm"}],
            "custom": {
                "type": "advice",
                "advice": {
                    "checked": "2026-03-01",
                    "hours": 24,
                    "note": "gestuurd naar jan@example.nl",
                },
            },
        },
    }
    stored = redact_event(event)
    assert stored["text"] == "Een adviseur neemt contact met je op via: [telefoonnummer]."
    assert stored["data"]["buttons"] == [{"title": "Ja", "payload": "/affirm"}]
    assert stored["data"]["custom"]["advice"] == {
        "checked": "2026-03-01",
        "hours": 24,
        "note": "gestuurd naar [e-mail]",
    }
    assert stored["metadata"] == {"utter_action": "utter_handoff_confirmed"}


def test_slot_values_are_redacted_at_any_depth_and_other_types_stay() -> None:
    def slot(name: str, value: Any) -> dict[str, Any]:
        return {"event": "slot", "timestamp": 2.0, "name": name, "value": value}

    assert redact_event(slot("handoff_contact", "jan@example.nl"))["value"] == "[e-mail]"
    assert redact_event(slot("age", 38.0))["value"] == 38.0
    assert redact_event(slot("advice_given", True))["value"] is True
    assert redact_event(slot("region", "Utrecht"))["value"] == "Utrecht"
    assert redact_event(slot("education", {"level": "havo", "field": None}))["value"] == {
        "level": "havo",
        "field": None,
    }
    assert redact_event(slot("skipped", ["age", "06-12345678"]))["value"] == [
        "age",
        PLACEHOLDERS["phone"],
    ]
    # The slot's name is a name, whatever it looks like.
    assert redact_event(slot("x", None)) == slot("x", None)


def test_action_and_loop_events_are_unchanged() -> None:
    for event in (
        {
            "event": "action",
            "timestamp": 3.0,
            "name": "action_erase_conversation",
            "policy": "RulePolicy",
            "confidence": 1.0,
            "action_text": None,
            "hide_rule_turn": True,
        },
        {"event": "active_loop", "timestamp": 3.0, "name": "profile_form"},
        {"event": "session_started", "timestamp": 3.0},
    ):
        assert redact_event(event) == event


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=40),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_redacting_an_event_twice_changes_nothing_more(value: Any) -> None:
    once = redact_event({"event": "slot", "name": "s", "value": value})
    assert redact_event(once) == once
    json.dumps(once)  # still JSON


def test_the_words_around_an_address_stay() -> None:
    assert redact("Ik woon op Dorpsstraat 12, 3811 AB Amersfoort").text == (
        "Ik woon op [adres] Amersfoort"
    )
    assert redact("I live at Laan van Meerdervoort 12a 2517 AB Den Haag").text == (
        "I live at [adres] Den Haag"
    )
