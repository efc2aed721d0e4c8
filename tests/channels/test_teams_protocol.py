"""What the Teams channel reads from activities and what it sends back: suggested actions,
choice cards, the advice card, the service-URL allow-list."""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine.channels.inbound import Inbound
from bot.engine.channels.replies import BotReply, Button
from bot.engine.channels.teams_protocol import (
    CARD_CONTENT_TYPE,
    TeamsAddress,
    button_payload,
    service_url_allowed,
    teams_message,
    teams_outgoing,
)
from tests.channels.fake_botframework import APP_ID, message_activity

SERVICE_URL = "https://smba.trafficmanager.net/emea/"
CHAT = "a:1personal-chat"


def test_a_personal_message_becomes_the_recruiters_message() -> None:
    activity = message_activity(
        CHAT, " ik heb een <at>Zijwijzer</at> kandidaat ", SERVICE_URL, activity_id="17001"
    )
    message = teams_message(activity)
    assert message is not None
    assert message.inbound == Inbound("teams", "17001", f"teams:{CHAT}", "ik heb een kandidaat")
    assert message.address == TeamsAddress(
        SERVICE_URL, CHAT, f"28:{APP_ID}", "Zijwijzer", f"29:user-of-{CHAT}"
    )
    assert TeamsAddress.from_dict(message.address.as_dict()) == message.address
    assert message.address.activities_url == (
        "https://smba.trafficmanager.net/emea/v3/conversations/a%3A1personal-chat/activities"
    )


def test_a_card_submit_without_text_is_its_payload() -> None:
    activity = message_activity(CHAT, None, SERVICE_URL, value={"payload": "/affirm"})
    message = teams_message(activity)
    assert message is not None and message.inbound.text == "/affirm"


@pytest.mark.parametrize(
    "change",
    [
        {"type": "conversationUpdate"},
        {"type": "typing"},
        {"channelId": "webchat"},
        {"conversation": {"conversationType": "groupChat", "id": CHAT}},
        {"conversation": {"conversationType": "channel", "id": CHAT}},
        {"conversation": {"id": CHAT, "isGroup": True}},
        {"text": "   "},
        {"text": "<at>Zijwijzer</at>"},
        {"id": ""},
        {"from": {}},
        {"recipient": None},
        {"serviceUrl": None},
        {"conversation": {"conversationType": "personal", "id": "x" * 201}},
    ],
)
def test_what_the_bot_does_not_read(change: dict[str, Any]) -> None:
    activity = {**message_activity(CHAT, "hoi", SERVICE_URL), **change}
    assert teams_message(activity) is None


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://smba.trafficmanager.net/emea/", True),
        ("https://smba.trafficmanager.net/teams/", True),
        ("https://SMBA.trafficmanager.net/amer/", True),
        ("http://smba.trafficmanager.net/emea/", False),  # another scheme
        ("https://smba.trafficmanager.net:8443/emea/", False),  # another port
        ("https://smba.trafficmanager.net.evil.example/", False),
        ("https://evil.example/smba.trafficmanager.net/", False),
        ("https://user:pw@smba.trafficmanager.net/", False),
        ("https://smba.trafficmanager.net/emea/?x=1", False),
        ("https://eu.botframework.com/", True),  # a wildcard entry
        ("https://botframework.com/", False),  # the wildcard means subdomains
        ("https://evilbotframework.com/", False),
        ("ftp://smba.trafficmanager.net/", False),
        ("https://[::1", False),
        ("", False),
    ],
)
def test_service_url_allow_list(url: str, allowed: bool) -> None:
    entries = ("https://smba.trafficmanager.net", "https://*.botframework.com")
    assert service_url_allowed(url, entries) is allowed


def test_a_local_fake_is_allowed_only_by_its_exact_origin() -> None:
    assert service_url_allowed("http://127.0.0.1:8123/teams/", ("http://127.0.0.1:8123",))
    assert not service_url_allowed("http://127.0.0.1:8124/teams/", ("http://127.0.0.1:8123",))


def test_a_pressed_suggested_action_is_read_back_as_its_payload() -> None:
    offered = (Button("Ja, graag", "/affirm"), Button("Nee, nu niet", "/deny"))
    assert button_payload("ja,  GRAAG ", offered) == "/affirm"
    assert button_payload("ja graag", offered) == "ja graag"  # typed words stay words
    assert button_payload("Ja, graag", ()) == "Ja, graag"


# ---- outgoing ----------------------------------------------------------------------------------

ADDRESS = TeamsAddress(SERVICE_URL, CHAT, f"28:{APP_ID}", "Zijwijzer", "29:rita")


def test_a_text_reply_is_a_plain_message_to_the_chat() -> None:
    (activity,) = teams_outgoing(ADDRESS, BotReply("Hoe oud is de kandidaat?"), "Bekijk")
    assert activity == {
        "type": "message",
        "from": {"id": f"28:{APP_ID}", "name": "Zijwijzer"},
        "recipient": {"id": "29:rita"},
        "conversation": {"id": CHAT},
        "text": "Hoe oud is de kandidaat?",
        "textFormat": "plain",
    }


def test_up_to_three_buttons_are_suggested_actions_that_send_their_title() -> None:
    buttons = (Button("Ja, graag", "/affirm"), Button("Nee", "/deny"), Button("English", "/en"))
    (activity,) = teams_outgoing(ADDRESS, BotReply("Zullen we beginnen?", buttons), "Bekijk")
    assert activity["text"] == "Zullen we beginnen?"
    assert activity["suggestedActions"] == {
        "to": ["29:rita"],
        "actions": [{"type": "imBack", "title": b.title, "value": b.title} for b in buttons],
    }


def test_more_buttons_are_a_card_whose_buttons_send_their_payload() -> None:
    buttons = tuple(Button(f"Keuze {n}", f'/inform{{"goal": "{n}"}}') for n in range(5))
    (activity,) = teams_outgoing(ADDRESS, BotReply("Wat is het doel?", buttons), "Bekijk")
    (attachment,) = activity["attachments"]
    assert attachment["contentType"] == CARD_CONTENT_TYPE
    card = attachment["content"]
    assert card["body"][0]["text"] == "Wat is het doel?"
    backs = [action["data"]["msteams"] for action in card["actions"]]
    assert backs == [
        {"type": "messageBack", "displayText": b.title, "text": b.payload} for b in buttons
    ]
    assert [action["title"] for action in card["actions"]] == [b.title for b in buttons]


ADVICE = {
    "type": "advice",
    "format": "zijwijzer-plan/1",
    "language": "nl",
    "link": "https://zijwijzer.example/advies/abc",
    "target": {"title": "Verzorgende-IG (VIG)", "level": 3},
    "steps": [{"number": 1, "kind": "target", "title": "Jouw doel", "text": "Je wilt ..."}],
}


def test_the_plan_is_an_adaptive_card_with_its_goal_and_a_button_to_the_saved_plan() -> None:
    (activity,) = teams_outgoing(ADDRESS, BotReply(custom=ADVICE), "Bekijk het hele advies")
    card = activity["attachments"][0]["content"]
    # The steps came as text already: the card only names the goal.
    assert [block.get("text") for block in card["body"]] == ["Verzorgende-IG (VIG)"]
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Bekijk het hele advies", "url": ADVICE["link"]}
    ]


def test_a_plan_without_a_working_link_and_other_payloads_send_nothing() -> None:
    assert teams_outgoing(ADDRESS, BotReply(custom={**ADVICE, "link": None}), "Bekijk") == []
    assert teams_outgoing(ADDRESS, BotReply(custom={"type": "other"}), "Bekijk") == []
    unsafe = {**ADVICE, "link": "javascript:alert(1)"}
    assert teams_outgoing(ADDRESS, BotReply(custom=unsafe), "Bekijk") == []
    assert teams_outgoing(ADDRESS, BotReply(custom=ADVICE), "") == []
