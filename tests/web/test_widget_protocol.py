"""The widget channel's checks and history shape (bot/engine/channels/widget_protocol.py), without
Rasa."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.engine.channels.widget_protocol import (
    MAX_TITLE_CHARS,
    Refusal,
    WidgetMessage,
    answered_replies,
    history,
    is_payload,
    language_of,
    language_switch,
    parse_message,
    response_text,
)

CID = "0123456789abcdef0123456789abcdef"


def parsed(body: object, max_chars: int = 1000) -> WidgetMessage:
    result = parse_message(body, max_chars=max_chars)
    assert isinstance(result, WidgetMessage), result
    return result


def refused(body: object, max_chars: int = 1000) -> Refusal:
    result = parse_message(body, max_chars=max_chars)
    assert isinstance(result, Refusal), result
    return result


def test_a_plain_message() -> None:
    message = parsed({"conversation_id": CID, "message": "  ik ben 38  ", "language": "en"})
    assert (message.conversation_id, message.text, message.language) == (CID, "ik ben 38", "en")
    assert message.title is None and message.silent is False
    assert message.metadata() == {"widget": {"language": "en"}}


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (None, 400, "bad_request"),
        ([CID, "hoi"], 400, "bad_request"),
        ({"message": "hoi"}, 400, "bad_request"),
        ({"conversation_id": 5, "message": "hoi"}, 400, "bad_request"),
        ({"conversation_id": CID}, 400, "empty_message"),
        ({"conversation_id": CID, "message": "   "}, 400, "empty_message"),
        ({"conversation_id": CID, "message": {"text": "hoi"}}, 400, "empty_message"),
    ],
)
def test_bad_bodies_are_refused(body: object, status: int, error: str) -> None:
    refusal = refused(body)
    assert (refusal.status, refusal.error) == (status, error)


def test_too_long_is_refused_with_the_limit() -> None:
    assert parsed({"conversation_id": CID, "message": "a" * 1000}).text == "a" * 1000
    refusal = refused({"conversation_id": CID, "message": "a" * 1001})
    assert refusal.status == 413
    assert refusal.body() == {"error": "message_too_long", "max_chars": 1000}


def test_unknown_language_is_ignored() -> None:
    assert parsed({"conversation_id": CID, "message": "hoi", "language": "de"}).language is None


def test_a_title_only_goes_with_a_payload() -> None:
    button = parsed(
        {"conversation_id": CID, "message": '/inform{"sector": "vvt"}', "title": "Ouderenzorg"}
    )
    assert button.title == "Ouderenzorg"
    assert button.metadata()["widget"]["title"] == "Ouderenzorg"
    typed = parsed({"conversation_id": CID, "message": "ouderenzorg", "title": "iets anders"})
    assert typed.title is None
    long = parsed({"conversation_id": CID, "message": "/affirm", "title": "x" * 500})
    assert long.title is not None and len(long.title) == MAX_TITLE_CHARS


def test_silent_only_for_payloads() -> None:
    assert parsed({"conversation_id": CID, "message": "/greet", "silent": True}).silent
    assert not parsed({"conversation_id": CID, "message": "hallo", "silent": True}).silent
    assert not parsed({"conversation_id": CID, "message": "/greet", "silent": "yes"}).silent


def test_is_payload() -> None:
    assert is_payload('/inform{"goal": "tasks"}') and is_payload("/affirm")
    assert not is_payload("ik wil 1/2 dag") and not is_payload("/ hoi") and not is_payload("")


def test_language_switch_only_when_it_differs() -> None:
    english = parsed({"conversation_id": CID, "message": "hi", "language": "en"})
    assert language_switch(english, "nl") == '/choose_language{"language": "en"}'
    assert language_switch(english, None) == '/choose_language{"language": "en"}'
    assert language_switch(english, "en") is None
    dutch = parsed({"conversation_id": CID, "message": "hoi", "language": "nl"})
    assert language_switch(dutch, None) is None
    none = parsed({"conversation_id": CID, "message": "hoi"})
    assert language_switch(none, "en") is None
    switch = parsed(
        {"conversation_id": CID, "message": '/choose_language{"language": "en"}', "language": "en"}
    )
    assert language_switch(switch, "nl") is None


def test_language_of() -> None:
    assert language_of({"language": "en"}) == "en"
    assert language_of({"language": None}) == "nl"
    assert language_of({}) == "nl"


def test_history_keeps_messages_buttons_and_custom_payloads() -> None:
    buttons = [{"title": "Ja, graag", "payload": "/affirm"}, {"title": "Nee", "payload": "/deny"}]
    advice = {"type": "advice", "cards": []}
    events: list[dict[str, Any]] = [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
        {"event": "user", "text": "/greet", "metadata": {"widget": {"silent": True}}},
        {"event": "bot", "text": "Hoi!", "data": {"buttons": buttons}},
        {"event": "user", "text": "/affirm", "metadata": {}},
        {"event": "slot", "name": "x", "value": 1},
        {"event": "bot", "text": "Hoe oud ben je?", "data": {}},
        {"event": "user", "text": "38", "metadata": {"widget": {"language": "nl"}}},
        {"event": "bot", "text": None, "data": {"custom": advice}},
        {
            "event": "user",
            "text": '/inform{"goal": "tasks"}',
            "metadata": {"widget": {"title": "Taken"}},
        },
        {"event": "bot", "text": None, "data": {}},
    ]
    assert history(events) == [
        {"sender": "bot", "text": "Hoi!", "buttons": buttons},
        {"sender": "user", "text": "Ja, graag"},  # the title of the button that was pressed
        {"sender": "bot", "text": "Hoe oud ben je?"},
        {"sender": "user", "text": "38"},
        {"sender": "bot", "custom": advice},
        {"sender": "user", "text": "Taken"},
    ]


def test_history_is_bounded() -> None:
    events = [{"event": "user", "text": f"m{i}"} for i in range(1500)]
    items = history(events)
    assert len(items) == 1000 and items[-1]["text"] == "m1499"


MID = "m-4f9c2a7e1b"


def test_a_message_id_is_kept_in_the_metadata_and_resend_needs_one() -> None:
    message = parsed({"conversation_id": CID, "message": "hoi", "message_id": MID, "resend": True})
    assert (message.message_id, message.resend) == (MID, True)
    assert message.metadata() == {"widget": {"message_id": MID}}
    # Older widgets send neither: they keep working, and "resend" alone means nothing.
    old = parsed({"conversation_id": CID, "message": "hoi", "resend": True})
    assert (old.message_id, old.resend) == (None, False)
    assert old.metadata() == {"widget": {}}


@pytest.mark.parametrize(
    "message_id",
    ["short", "x" * 65, "has space 123", "<script>1234", 12345678, "ü" * 10, "", None],
)
def test_bad_message_ids_are_refused(message_id: object) -> None:
    body: dict[str, Any] = {"conversation_id": CID, "message": "hoi", "message_id": message_id}
    if message_id is None:
        assert parsed(body).message_id is None  # an explicit null is "no id"
        return
    refusal = refused(body)
    assert (refusal.status, refusal.error, refusal.detail) == (
        400,
        "bad_request",
        {"field": "message_id"},
    )


def _user(text: str, message_id: str | None) -> dict[str, Any]:
    widget = {"message_id": message_id} if message_id else {}
    return {"event": "user", "text": text, "metadata": {"widget": widget}}


def _bot(text: str, **data: Any) -> dict[str, Any]:
    return {"event": "bot", "text": text, "data": data}


def test_a_resend_of_the_stored_latest_message_gets_the_stored_answer() -> None:
    buttons = [{"title": "Ja", "payload": "/affirm"}]
    events = [
        _user("hoi", "m-first-0001"),
        _bot("Hoi!"),
        {"event": "action", "name": "action_listen"},
        _user("ik ben 38", MID),
        {"event": "slot", "name": "age", "value": 38},
        _bot("Welke opleiding heb je?", buttons=buttons),
        _bot("", custom={"type": "advice"}),
        {"event": "action", "name": "action_listen"},
    ]
    assert answered_replies(events, MID, CID) == [
        {"recipient_id": CID, "text": "Welke opleiding heb je?", "buttons": buttons},
        {"recipient_id": CID, "custom": {"type": "advice"}},
    ]


def test_a_resend_that_was_not_stored_or_is_not_the_latest_is_handled_anew() -> None:
    events = [_user("hoi", "m-first-0001"), _bot("Hoi!"), _user("later", None), _bot("Ok")]
    assert answered_replies(events, "m-first-0001", CID) is None  # not the latest
    assert answered_replies(events[:2], MID, CID) is None  # never stored
    assert answered_replies([], MID, CID) is None


RESPONSES = {
    "utter_storage_unavailable": [
        {"condition": [{"type": "slot", "name": "language", "value": "en"}], "text": "Not saved."},
        {"text": "Niet opgeslagen."},
    ]
}


def test_response_text_by_language() -> None:
    assert response_text(RESPONSES, "utter_storage_unavailable", "nl") == "Niet opgeslagen."
    assert response_text(RESPONSES, "utter_storage_unavailable", "en") == "Not saved."
    assert response_text(RESPONSES, "utter_missing", "nl") is None
    assert response_text({"utter_x": "not a list"}, "utter_x", "nl") is None


def test_the_domain_has_both_fault_texts() -> None:
    domain = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text())
    for name in ("utter_storage_unavailable", "utter_action_unavailable"):
        dutch = response_text(domain["responses"], name, "nl")
        english = response_text(domain["responses"], name, "en")
        assert dutch and english and dutch != english, name
