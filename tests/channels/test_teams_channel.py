"""Teams end to end: Bot Framework activities in (with the fake's signed JWTs), the bot's answers
out to the fake connector with an OAuth token.

Uses the session's `strict_stack` (tests/conftest.py): the Teams channel reads the fake Bot
Framework's OpenID metadata and keys, gets its connector token from the fake's token endpoint,
and may answer only the fake's own serviceUrl (ZIJWIJZER_TEAMS_SERVICE_URLS). Each test has its
own chat, so no test depends on another.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest

from tests.channels.conversation import (
    Choice,
    Shown,
    Webhook,
    advice_link,
    drive_to_advice,
    notice_texts,
    wait_turn_delivered,
    words,
)
from tests.channels.fake_botframework import (
    FakeBotFramework,
    hmac_token,
    message_activity,
    new_conversation_id,
    new_private_key,
    public_pem,
    unsigned_token,
)
from tests.channels.fakes import Call
from tests.conftest import StrictStack

pytestmark = pytest.mark.integration

TIMEOUT = 60.0
CARD = "application/vnd.microsoft.card.adaptive"


@dataclass
class Teams(Webhook):
    channel = "teams"
    bf: FakeBotFramework

    def post(self, activity: dict[str, Any], authorization: str | None = "signed") -> int:
        return self.post_body(
            json.dumps(activity).encode(),
            "Authorization",
            authorization,
            lambda: f"Bearer {self.bf.token(activity['serviceUrl'])}",
        )

    def chat(self) -> TeamsChat:
        return TeamsChat(self, new_conversation_id())


def to_chat(conversation_id: str, *, accepted: bool = True) -> Callable[[Call], bool]:
    def predicate(call: Call) -> bool:
        return (
            call.service == "teams"
            and call.method == conversation_id
            and (call.status < 300 or not accepted)
        )

    return predicate


def cards(activity: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["content"] for a in activity.get("attachments") or [] if a.get("contentType") == CARD]


def shown(activity: dict[str, Any]) -> Shown:
    """A connector activity as the recruiter sees it: its text (or a card's first text), and the
    choices: suggested actions (pressing sends the title) or a card's messageBack buttons
    (pressing shows the title and sends the payload)."""
    text = str(activity.get("text") or "")
    choices: list[Choice] = []
    links: list[str] = []
    for action in (activity.get("suggestedActions") or {}).get("actions") or []:
        choices.append(Choice(action["title"], {"text": action["value"]}))
    for card in cards(activity):
        blocks = [b.get("text") for b in card.get("body") or [] if b.get("type") == "TextBlock"]
        if not text and blocks:
            text = str(blocks[0])
        for action in card.get("actions") or []:
            if action["type"] == "Action.Submit":
                back = action["data"]["msteams"]
                choices.append(
                    Choice(action["title"], {"text": back["text"], "value": action["data"]})
                )
            elif action["type"] == "Action.OpenUrl":
                links.append(action["url"])
    return Shown(text, tuple(choices), tuple(links))


@dataclass
class TeamsChat:
    """A recruiter in a personal Teams chat (tests/channels/conversation.py's RecruiterChat)."""

    teams: Teams
    conversation_id: str

    @property
    def sender_id(self) -> str:
        return f"teams:{self.conversation_id}"

    def activity(self, text: str | None, **extra: Any) -> dict[str, Any]:
        return message_activity(self.conversation_id, text, self.teams.bf.service_url, **extra)

    def send_text(self, text: str) -> None:
        assert self.teams.post(self.activity(text)) == 200

    def press(self, choice: Choice) -> None:
        assert (
            self.teams.post(self.activity(choice.reply["text"], value=choice.reply.get("value")))
            == 200
        )

    def activities(self) -> list[dict[str, Any]]:
        return [call.params for call in self.teams.bf.select(to_chat(self.conversation_id))]

    def shown(self) -> list[Shown]:
        return [shown(activity) for activity in self.activities()]


@pytest.fixture
def teams(strict_stack: StrictStack) -> Teams:
    return Teams(strict_stack.stack, strict_stack.bot_framework)


# ---- conversations -----------------------------------------------------------------------------


def test_a_recruiter_intake_reaches_the_advice_on_teams(
    teams: Teams, strict_stack: StrictStack
) -> None:
    chat = teams.chat()
    public_url = strict_stack.stack.settings.public_url
    intake = drive_to_advice(chat, teams.db, chat.sender_id, public_url)
    all_shown = intake.all_shown
    assert [words(s.text) for s in all_shown[:2]] == [words(t) for t in notice_texts()]
    activities = chat.activities()
    # Every reply went to this chat, as the bot, to the recruiter, with the connector's token.
    assert all(a["conversation"]["id"] == chat.conversation_id for a in activities)
    assert {a["recipient"]["id"] for a in activities} == {f"29:user-of-{chat.conversation_id}"}
    assert {
        call.headers["authorization"].removeprefix("Bearer ")
        for call in teams.bf.select(to_chat(chat.conversation_id))
    } <= teams.bf.issued
    # Short choices as suggested actions (pressed: the title comes back as the payload),
    # longer lists as a card whose buttons send the payload.
    assert any(a.get("suggestedActions") for a in activities)
    assert any(
        cards(a) and cards(a)[0].get("actions", [{}])[0].get("type") == "Action.Submit"
        for a in activities
    )
    stored = teams.db.user_texts(chat.sender_id)
    assert [text for text in stored if not text.startswith("/")] == ["hoi", *intake.typed]
    assert len([text for text in stored if text.startswith("/")]) == len(intake.pressed)
    # The advice: its text, the saved-advice link, and an Adaptive Card with a button to it.
    link = advice_link(intake.turns[-1], public_url)
    assert link is not None
    advice_cards = [s for s in intake.turns[-1] if link in s.links]
    assert len(advice_cards) == 1
    assert teams.db.slot(chat.sender_id, "advice_given") is True
    assert teams.db.slot(chat.sender_id, "recruiter") is True
    assert teams.db.outbox_count(chat.sender_id) == 0
    latest = [e for e in teams.db.events(chat.sender_id) if e["event"] == "user"][-1]
    assert latest["input_channel"] == "teams"


def test_a_redelivered_activity_reaches_the_conversation_once(teams: Teams) -> None:
    chat = teams.chat()
    activity = chat.activity("hoi")
    assert teams.post(activity) == 200
    turn = wait_turn_delivered(chat, teams.db, chat.sender_id, 0)
    assert teams.post(activity) == 200  # the Bot Framework resends it
    chat.send_text("wat kost het?")
    wait_turn_delivered(chat, teams.db, chat.sender_id, len(turn))
    assert teams.db.user_texts(chat.sender_id) == ["hoi", "wat kost het?"]
    texts = [words(s.text) for s in chat.shown()]
    assert all(texts.count(words(s.text)) == 1 for s in turn)


def test_a_reply_is_retried_through_an_outage_and_an_expired_token(teams: Teams) -> None:
    chat = teams.chat()
    teams.bf.fail_next(2, 503)
    chat.send_text("hoi")
    turn = wait_turn_delivered(chat, teams.db, chat.sender_id, 0)
    assert len(teams.bf.select(lambda c: c.method == chat.conversation_id and c.status == 503)) == 2
    # The connector's token stops working: refused once, a new token, sent.
    teams.bf.expire_tokens()
    tokens_before = len(teams.bf.select(lambda c: c.service == "token"))
    chat.send_text("wat kost het?")
    wait_turn_delivered(chat, teams.db, chat.sender_id, len(turn))
    assert len(teams.bf.select(lambda c: c.service == "token")) > tokens_before
    texts = [words(s.text) for s in chat.shown()]
    assert all(texts.count(words(s.text)) == 1 for s in turn)
    assert teams.db.outbox_count(chat.sender_id) == 0


def test_messages_of_other_kinds_are_acknowledged_and_not_stored(teams: Teams) -> None:
    chat = teams.chat()
    update = {**chat.activity(None), "type": "conversationUpdate", "membersAdded": [{"id": "x"}]}
    assert teams.post(update) == 200
    group = chat.activity("hoi", conversation_type="groupChat")
    assert teams.post(group) == 200
    assert teams.db.event_count(chat.sender_id) == 0


def test_a_service_url_off_the_allow_list_is_not_answered(teams: Teams) -> None:
    chat = teams.chat()
    activity = message_activity(chat.conversation_id, "hoi", "https://smba.evil.example/teams/")
    # A token that really names that serviceUrl: authentic, but not a place we send to.
    assert teams.post(activity) == 403
    assert teams.db.nothing_stored(chat.sender_id, "teams", activity["id"])


# ---- forgeries ---------------------------------------------------------------------------------


def forged(bf: FakeBotFramework, name: str, service_url: str) -> str | None:
    """The Authorization header of a forged request."""
    now = int(time.time())
    claims = bf.claims(service_url)
    other_key = new_private_key()
    headers: dict[str, Callable[[], str | None]] = {
        "no token": lambda: None,
        "not a JWT": lambda: "Bearer not-a-jwt",
        "signed by another key": lambda: f"Bearer {bf.token(service_url, key=other_key)}",
        "another key with an unknown kid": lambda: (
            f"Bearer {bf.token(service_url, key=other_key, kid='other')}"
        ),
        "alg none": lambda: f"Bearer {unsigned_token(claims, bf.kid)}",
        "HS256 with the public key as secret": lambda: (
            f"Bearer {hmac_token(claims, public_pem(bf.private_key), bf.kid)}"
        ),
        "wrong issuer": lambda: (
            f"Bearer {bf.token(service_url, iss='https://login.microsoftonline.com/x/v2.0')}"
        ),
        "wrong audience": lambda: f"Bearer {bf.token(service_url, aud='another-bots-app-id')}",
        "expired": lambda: f"Bearer {bf.token(service_url, exp=now - 900, nbf=now - 4500)}",
        "serviceUrl not in the token": lambda: f"Bearer {bf.token(service_url, serviceurl=None)}",
        "another serviceUrl in the token": lambda: f"Bearer {bf.token(bf.url + '/elsewhere/')}",
        "RS384": lambda: (
            "Bearer "
            + jwt.encode(claims, bf.private_key, algorithm="RS384", headers={"kid": bf.kid})
        ),
    }
    return headers[name]()


FORGERIES = [
    "no token",
    "not a JWT",
    "signed by another key",
    "another key with an unknown kid",
    "alg none",
    "HS256 with the public key as secret",
    "wrong issuer",
    "wrong audience",
    "expired",
    "serviceUrl not in the token",
    "another serviceUrl in the token",
    "RS384",
]


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_activity_is_refused_and_nothing_is_stored(teams: Teams, forgery: str) -> None:
    chat = teams.chat()
    activity = chat.activity("hoi")
    assert teams.post(activity, forged(teams.bf, forgery, activity["serviceUrl"])) == 401
    # A real message afterwards is answered: by then the forged one would have been too.
    other = teams.chat()
    other.send_text("hoi")
    wait_turn_delivered(other, teams.db, other.sender_id, 0)
    assert teams.db.nothing_stored(chat.sender_id, "teams", activity["id"])
    assert teams.bf.select(to_chat(chat.conversation_id, accepted=False)) == []
