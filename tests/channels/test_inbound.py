"""What a verified Telegram update or Slack event becomes: sender id, text, delivery id."""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine.channels.inbound import (
    RECRUITER_INTENT,
    Inbound,
    reply_address,
    slack_event_inbound,
    slack_interaction_inbound,
    slack_text,
    telegram_inbound,
)


def telegram_message(
    text: str, *, chat_type: str = "private", update_id: Any = 7
) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_800_000_000,
            "from": {"id": 555, "is_bot": False, "first_name": "Rita"},
            "chat": {"id": 555, "type": chat_type},
            "text": text,
        },
    }


def test_telegram_text_message() -> None:
    inbound = telegram_inbound(telegram_message("ik heb een kandidaat"))
    assert inbound == Inbound("telegram", "7", "telegram:555", "ik heb een kandidaat")
    assert inbound.metadata == {"channel": "telegram", "recruiter": True}


@pytest.mark.parametrize("text", ["/start", "/start welkom", "/start@ZijwijzerBot"])
def test_telegram_start_means_recruiter_mode(text: str) -> None:
    inbound = telegram_inbound(telegram_message(text))
    assert inbound is not None
    assert inbound.text == RECRUITER_INTENT


def test_telegram_button_press_is_its_payload_and_is_acknowledged() -> None:
    update = {
        "update_id": 8,
        "callback_query": {
            "id": "cbq-1",
            "from": {"id": 555, "is_bot": False, "first_name": "Rita"},
            "message": {"message_id": 2, "date": 1, "chat": {"id": 555, "type": "private"}},
            "data": '/inform{"employer": "none"}',
        },
    }
    assert telegram_inbound(update) == Inbound(
        "telegram", "8", "telegram:555", '/inform{"employer": "none"}', "cbq-1"
    )


@pytest.mark.parametrize(
    "update",
    [
        telegram_message("hoi", chat_type="group"),
        telegram_message("hoi", chat_type="channel"),
        telegram_message("hoi", update_id="7"),
        telegram_message("hoi", update_id=True),
        telegram_message("   "),
        {"update_id": 9, "edited_message": telegram_message("hoi")["message"]},
        {"update_id": 9, "message": {"chat": {"id": 1, "type": "private"}, "photo": []}},
        {"update_id": 9, "message": {"chat": {"id": "1", "type": "private"}, "text": "hoi"}},
        {"update_id": 9, "callback_query": {"id": "x", "data": "/affirm"}},
        {"update_id": 9},
        {},
    ],
)
def test_telegram_updates_the_bot_does_not_answer(update: dict[str, Any]) -> None:
    assert telegram_inbound(update) is None


def slack_event(**changes: Any) -> dict[str, Any]:
    event = {
        "type": "message",
        "channel_type": "im",
        "user": "U111",
        "channel": "D222",
        "text": "hoi",
        "ts": "1.2",
    }
    event.update(changes)
    return {"type": "event_callback", "team_id": "T1", "event_id": "Ev123", "event": event}


def test_slack_direct_message() -> None:
    assert slack_event_inbound(slack_event()) == Inbound("slack", "Ev123", "slack:U111:D222", "hoi")


def test_slack_mention_in_a_channel_without_the_mention() -> None:
    envelope = slack_event(
        type="app_mention", channel_type="channel", channel="C333", text="<@U0BOT> hoi daar"
    )
    assert slack_event_inbound(envelope) == Inbound("slack", "Ev123", "slack:U111:C333", "hoi daar")


@pytest.mark.parametrize(
    "envelope",
    [
        slack_event(bot_id="B1"),
        slack_event(subtype="message_changed"),
        slack_event(channel_type="channel"),
        slack_event(type="reaction_added"),
        slack_event(text=""),
        slack_event(text="<@U0BOT>"),
        slack_event(user=None),
        slack_event(channel=None),
        {**slack_event(), "event_id": None},
        {**slack_event(), "type": "app_rate_limited"},
        {"type": "url_verification", "challenge": "abc"},
    ],
)
def test_slack_events_the_bot_does_not_answer(envelope: dict[str, Any]) -> None:
    assert slack_event_inbound(envelope) is None


def test_slack_text_keeps_the_words_of_links() -> None:
    assert slack_text("zie <https://example.org|example.org> en <mailto:a@b.nl|a@b.nl>") == (
        "zie example.org en a@b.nl"
    )
    assert slack_text("<https://example.org>") == "https://example.org"


def slack_click(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "trigger_id": "123.456.abc",
        "user": {"id": "U111"},
        "channel": {"id": "D222"},
        "actions": [{"type": "button", "value": "/affirm", "action_ts": "1.5"}],
    }
    payload.update(changes)
    return payload


def test_slack_button_click_is_its_value_in_the_same_conversation() -> None:
    assert slack_interaction_inbound(slack_click()) == Inbound(
        "slack", "click:123.456.abc", "slack:U111:D222", "/affirm"
    )


@pytest.mark.parametrize(
    "payload",
    [
        slack_click(type="view_submission"),
        slack_click(actions=[]),
        slack_click(actions=[{"type": "button", "url": "https://example.org"}]),
        slack_click(actions=[{"type": "static_select", "value": "x"}]),
        slack_click(user={}),
        slack_click(channel=None),
    ],
)
def test_slack_interactions_the_bot_does_not_answer(payload: dict[str, Any]) -> None:
    assert slack_interaction_inbound(payload) is None


@pytest.mark.parametrize(
    ("sender", "address"),
    [
        ("telegram:555", "555"),
        ("telegram:-100", "-100"),
        ("slack:U111:D222", "D222"),
        ("widget-abc", None),
        ("telegram:", None),
        ("slack:U111", None),
    ],
)
def test_reply_address_from_the_conversation_id(sender: str, address: str | None) -> None:
    assert reply_address(sender) == address
