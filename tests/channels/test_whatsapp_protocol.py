"""What the WhatsApp channel reads from Meta's webhooks and what it sends back (Meta's limits)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.engine.channels.inbound import Inbound
from bot.engine.channels.replies import BotReply, Button
from bot.engine.channels.whatsapp_protocol import (
    MAX_BODY,
    MAX_TEXT,
    WINDOW_SECONDS,
    WhatsAppMessage,
    fits_reply_buttons,
    needs_list,
    whatsapp_messages,
    whatsapp_outgoing,
)
from tests.channels.fake_meta import (
    PHONE_NUMBER_ID,
    choice_message,
    choices,
    shown_text,
    text_message,
    webhook,
)

NOW = 1_800_000_000.0
WA_ID = "31612345678"


def read(body: bytes, now: float = NOW) -> list[WhatsAppMessage]:
    return whatsapp_messages(json.loads(body), PHONE_NUMBER_ID, now)


def test_a_text_message_becomes_the_recruiters_message() -> None:
    (message,) = read(
        webhook(
            [text_message(WA_ID, " ik heb een kandidaat ", message_id="wamid.A", sent_at=NOW - 5)]
        )
    )
    assert message.inbound == Inbound(
        "whatsapp", "wamid.A", "whatsapp:31612345678", "ik heb een kandidaat"
    )
    assert message.inbound.metadata == {"channel": "whatsapp", "recruiter": True}
    assert message.wa_id == WA_ID
    assert message.window_ends == NOW - 5 + WINDOW_SECONDS


@pytest.mark.parametrize("kind", ["button_reply", "list_reply"])
def test_a_chosen_button_or_list_row_is_its_payload(kind: str) -> None:
    payload = '/inform{"sector": "vvt"}'
    (message,) = read(webhook([choice_message(WA_ID, kind, "Ouderenzorg", payload)]))
    assert message.inbound.text == payload


def test_a_template_quick_reply_is_its_payload() -> None:
    quick = {"from": WA_ID, "id": "wamid.Q", "timestamp": str(int(NOW)), "type": "button"}
    quick["button"] = {"payload": "/affirm", "text": "Ja"}
    (message,) = read(webhook([quick]))
    assert message.inbound.text == "/affirm"


def test_several_messages_of_one_post_come_in_order() -> None:
    body = webhook([text_message(WA_ID, "een"), text_message("31698765432", "twee")])
    assert [m.inbound.text for m in read(body)] == ["een", "twee"]


def test_status_callbacks_and_what_the_bot_does_not_read_are_left_out() -> None:
    statuses = [{"id": "wamid.OUT1", "status": "read", "timestamp": "1", "recipient_id": WA_ID}]
    assert read(webhook(statuses=statuses)) == []
    image = {
        "from": WA_ID,
        "id": "wamid.I",
        "timestamp": "1",
        "type": "image",
        "image": {"id": "1"},
    }
    assert read(webhook([image])) == []
    assert read(webhook([text_message(WA_ID, "   ")])) == []


def test_messages_to_another_number_of_the_app_are_left_out() -> None:
    assert read(webhook([text_message(WA_ID, "hoi")], phone_number_id="999")) == []
    assert whatsapp_messages({"object": "page", "entry": []}, PHONE_NUMBER_ID, NOW) == []


@pytest.mark.parametrize("sender", ["", "+31612345678", "3161234567a", "1" * 21, 31612345678])
def test_a_sender_that_is_no_whatsapp_id_is_left_out(sender: Any) -> None:
    message = text_message(WA_ID, "hoi")
    message["from"] = sender
    assert read(webhook([message])) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1700000000", 1_700_000_000.0), ("x", NOW), (None, NOW), (str(int(NOW) + 999), NOW)],
)
def test_the_window_starts_when_the_user_sent_the_message_never_later_than_now(
    raw: Any, expected: float
) -> None:
    message = text_message(WA_ID, "hoi")
    message["timestamp"] = raw
    (found,) = read(webhook([message]))
    assert found.sent_at == expected


# ---- outgoing ----------------------------------------------------------------------------------


def test_a_text_reply_is_a_text_message() -> None:
    (body,) = whatsapp_outgoing(WA_ID, BotReply("Hoe oud is de kandidaat?"), "Kies")
    assert body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "type": "text",
        "text": {"body": "Hoe oud is de kandidaat?", "preview_url": False},
    }
    (link,) = whatsapp_outgoing(
        WA_ID, BotReply("Bewaar je advies: https://x.nl/advies/abc"), "Kies"
    )
    assert link["text"]["preview_url"] is True


def test_a_text_longer_than_whatsapp_allows_goes_in_parts() -> None:
    words = "woord " * 1500  # 9000 characters
    bodies = whatsapp_outgoing(WA_ID, BotReply(words), "Kies")
    assert len(bodies) == 3
    assert all(len(b["text"]["body"]) <= MAX_TEXT for b in bodies)
    assert " ".join(b["text"]["body"] for b in bodies).split() == words.split()


def test_up_to_three_short_choices_are_reply_buttons_whose_ids_are_the_payloads() -> None:
    buttons = (
        Button("Ja, graag", "/affirm"),
        Button("Nee, nu niet", "/deny"),
        Button("English", '/choose_language{"language": "en"}'),
    )
    (body,) = whatsapp_outgoing(WA_ID, BotReply("Zullen we beginnen?", buttons), "Kies")
    assert body["interactive"]["type"] == "button"
    assert shown_text(body) == "Zullen we beginnen?"
    assert choices(body) == [("button_reply", b.title, b.payload) for b in buttons]


@pytest.mark.parametrize(
    "buttons",
    [
        # four choices
        tuple(
            Button(t, f'/inform{{"goal": "{n}"}}')
            for n, t in enumerate(["Snel werk", "Certificaat", "Diploma", "Eerst kijken"])
        ),
        # a title longer than a reply button's 20 characters
        (Button("Allebei / weet ik nog niet", "/inform"), Button("Ja", "/affirm")),
    ],
    ids=["four", "long-title"],
)
def test_other_choices_are_a_list_message(buttons: tuple[Button, ...]) -> None:
    assert not fits_reply_buttons(buttons)
    assert needs_list([BotReply("Wat wil de kandidaat?", buttons)])
    (body,) = whatsapp_outgoing(
        WA_ID, BotReply("Wat wil de kandidaat?", buttons), "Kies een antwoord"
    )
    action = body["interactive"]["action"]
    assert body["interactive"]["type"] == "list"
    assert action["button"] == "Kies een antwoord"
    assert [choice[2] for choice in choices(body)] == [b.payload for b in buttons]
    rows = action["sections"][0]["rows"]
    assert all(len(row["title"]) <= 24 for row in rows)
    # A title that had to be shortened is whole in the description.
    long = [row for row in rows if row["title"].endswith("…")]
    assert all(row["description"] in {b.title for b in buttons} for row in long)


def test_more_than_ten_choices_go_in_several_lists() -> None:
    buttons = tuple(Button(f"Regio {n}", f'/inform{{"region": "{n}"}}') for n in range(13))
    bodies = whatsapp_outgoing(WA_ID, BotReply("Welke regio?", buttons), "Kies")
    assert [len(choices(b)) for b in bodies] == [10, 3]
    assert [c[2] for b in bodies for c in choices(b)] == [b.payload for b in buttons]


def test_a_question_too_long_for_a_body_goes_first_as_text() -> None:
    question = ("Een lange uitleg. " * 80).strip()
    bodies = whatsapp_outgoing(WA_ID, BotReply(question, (Button("Ja", "/affirm"),)), "Kies")
    assert [b["type"] for b in bodies] == ["text", "interactive"]
    assert len(shown_text(bodies[-1])) <= MAX_BODY
    assert " ".join(shown_text(b) for b in bodies).split() == question.split()


def test_the_widgets_advice_payload_is_not_sent() -> None:
    advice = BotReply(custom={"type": "advice", "cards": []})
    assert whatsapp_outgoing(WA_ID, advice, "Kies") == []
    assert not needs_list([advice, BotReply("tekst")])


def test_an_image_is_sent_by_its_link() -> None:
    (body,) = whatsapp_outgoing(WA_ID, BotReply(image="https://x.nl/a.png"), "Kies")
    assert body["type"] == "image" and body["image"] == {"link": "https://x.nl/a.png"}
