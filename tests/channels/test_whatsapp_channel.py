"""WhatsApp end to end: Meta's signed webhook in, the bot's answers out to a fake Graph API.

Uses the session's `strict_stack` (tests/conftest.py): the WhatsApp channel points at a local
fake of the Graph API (tests/channels/fake_meta.py), its replies are retried after 0.3 s, and
what a conversation stored is read from the tracker database. Each test has its own WhatsApp
number, so no test depends on another.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.channels import fake_meta
from tests.channels.conversation import (
    Choice,
    Shown,
    Webhook,
    advice_link,
    drive_to_advice,
    notice_texts,
    wait_turn_delivered,
    wait_until,
    words,
)
from tests.channels.fake_meta import (
    FakeGraphApi,
    choice_message,
    signature,
    text_message,
    to_number,
    webhook,
)
from tests.conftest import StrictStack

pytestmark = pytest.mark.integration

TIMEOUT = 60.0
_numbers = itertools.count(1)


def new_number() -> str:
    return f"3161{next(_numbers):07d}"


@dataclass
class WhatsApp(Webhook):
    channel = "whatsapp"
    graph: FakeGraphApi

    def post(self, body: bytes, header: str | None = "signed") -> int:
        return self.post_body(body, "X-Hub-Signature-256", header, lambda: signature(body))

    def chat(self, wa_id: str) -> WhatsAppChat:
        return WhatsAppChat(self, wa_id)


@dataclass
class WhatsAppChat:
    """A recruiter on WhatsApp (tests/channels/conversation.py's RecruiterChat)."""

    channel: WhatsApp
    wa_id: str

    @property
    def sender_id(self) -> str:
        return f"whatsapp:{self.wa_id}"

    def send_text(self, text: str) -> None:
        assert self.channel.post(webhook([text_message(self.wa_id, text)])) == 200

    def press(self, choice: Choice) -> None:
        kind, choice_id = choice.reply
        message = choice_message(self.wa_id, kind, choice.title, choice_id)
        assert self.channel.post(webhook([message])) == 200

    def shown(self) -> list[Shown]:
        return [
            Shown(
                fake_meta.shown_text(call.params),
                tuple(
                    Choice(title, (kind, cid))
                    for kind, title, cid in fake_meta.choices(call.params)
                ),
            )
            for call in self.channel.graph.select(to_number(self.wa_id))
        ]


@pytest.fixture
def whatsapp(strict_stack: StrictStack) -> WhatsApp:
    return WhatsApp(strict_stack.stack, strict_stack.graph)


# ---- Meta's verification -----------------------------------------------------------------------


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), ""


def test_meta_verification_gets_the_challenge_only_with_our_token(whatsapp: WhatsApp) -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": fake_meta.VERIFY_TOKEN,
        "hub.challenge": "8731",
    }
    assert get(f"{whatsapp.url}?{urlencode(query)}") == (200, "8731")
    wrong = {**query, "hub.verify_token": "guess"}
    assert get(f"{whatsapp.url}?{urlencode(wrong)}")[0] == 403
    assert get(whatsapp.url)[0] == 403


# ---- conversations -----------------------------------------------------------------------------


def test_a_recruiter_intake_reaches_the_advice_on_whatsapp(
    whatsapp: WhatsApp, strict_stack: StrictStack
) -> None:
    chat = whatsapp.chat(new_number())
    public_url = strict_stack.stack.settings.public_url
    intake = drive_to_advice(chat, whatsapp.db, chat.sender_id, public_url)
    shown = intake.all_shown
    # The privacy notice first, then the greeting.
    assert [words(s.text) for s in shown[:2]] == [words(t) for t in notice_texts()]
    # Choices as reply buttons and, where they do not fit, as list messages; every choice
    # pressed came back as its payload.
    kinds = {
        call.params["interactive"]["type"]
        for call in whatsapp.graph.select(to_number(chat.wa_id))
        if call.params["type"] == "interactive"
    }
    assert kinds == {"button", "list"}
    stored = whatsapp.db.user_texts(chat.sender_id)
    for choice in intake.pressed:
        assert choice.reply[1] in stored
    # The advice: its text and the saved-advice link, which opens the saved advice.
    link = advice_link(intake.turns[-1], public_url)
    assert link is not None
    with urllib.request.urlopen(link, timeout=TIMEOUT) as page:
        assert page.status == 200
    assert whatsapp.db.slot(chat.sender_id, "advice_given") is True
    assert whatsapp.db.slot(chat.sender_id, "recruiter") is True
    # Nothing is left waiting, and the notice came once.
    assert whatsapp.db.outbox_count(chat.sender_id) == 0
    notice = words(notice_texts()[0])
    assert [words(s.text) for s in shown].count(notice) == 1
    latest = [e for e in whatsapp.db.events(chat.sender_id) if e["event"] == "user"][-1]
    assert latest["input_channel"] == "whatsapp"
    assert {k: latest["metadata"].get(k) for k in ("channel", "recruiter")} == {
        "channel": "whatsapp",
        "recruiter": True,
    }


def test_a_redelivered_message_reaches_the_conversation_once(whatsapp: WhatsApp) -> None:
    chat = whatsapp.chat(new_number())
    first = webhook([text_message(chat.wa_id, "hoi")])
    assert whatsapp.post(first) == 200
    turn = wait_turn_delivered(chat, whatsapp.db, chat.sender_id, 0)
    assert whatsapp.post(first) == 200  # Meta resends
    # Two at once (two engine instances would see this): still once.
    again = webhook([text_message(chat.wa_id, "wat kost het?")])
    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(lambda _: whatsapp.post(again), range(2)))
    assert statuses in ([200, 200], [200, 503])
    assert whatsapp.post(again) == 200
    wait_turn_delivered(chat, whatsapp.db, chat.sender_id, len(turn))
    assert whatsapp.db.user_texts(chat.sender_id) == ["hoi", "wat kost het?"]
    # Each reply was sent once: the greeting's texts appear once among all messages.
    texts = [words(s.text) for s in chat.shown()]
    assert all(texts.count(words(s.text)) == 1 for s in turn)


def test_status_callbacks_are_ignored(whatsapp: WhatsApp) -> None:
    number = new_number()
    statuses = [
        {
            "id": "wamid.OUT1",
            "status": "delivered",
            "timestamp": str(int(time.time())),
            "recipient_id": number,
        }
    ]
    assert whatsapp.post(webhook(statuses=statuses)) == 200
    assert whatsapp.db.event_count(f"whatsapp:{number}") == 0


def test_a_reply_is_retried_through_an_outage_and_sent_once(
    whatsapp: WhatsApp, caplog: Any
) -> None:
    chat = whatsapp.chat(new_number())
    whatsapp.graph.fail_next(3, 503)
    chat.send_text("hoi")
    # The failed attempts were made, then the turn's messages arrived, in order.
    turn = wait_turn_delivered(chat, whatsapp.db, chat.sender_id, 0)
    failed = whatsapp.graph.select(lambda c: c.params.get("to") == chat.wa_id and c.status == 503)
    assert len(failed) == 3
    assert failed[0].params == whatsapp.graph.select(to_number(chat.wa_id))[0].params
    # The next turn's answer arrives after them: by then a repeat would have been sent too.
    chat.send_text("wat kost het?")
    wait_turn_delivered(chat, whatsapp.db, chat.sender_id, len(turn))
    texts = [words(s.text) for s in chat.shown()]
    assert all(texts.count(words(s.text)) == 1 for s in turn)
    assert whatsapp.db.outbox_count(chat.sender_id) == 0


def test_a_rate_limited_reply_waits_and_goes(whatsapp: WhatsApp) -> None:
    chat = whatsapp.chat(new_number())
    whatsapp.graph.fail_next(1, 429, 130429, retry_after=1)
    chat.send_text("hoi")
    wait_turn_delivered(chat, whatsapp.db, chat.sender_id, 0)
    assert (
        len(whatsapp.graph.select(lambda c: c.params.get("to") == chat.wa_id and c.status == 429))
        == 1
    )


def test_outside_the_24_hour_window_nothing_is_sent_and_the_log_says_so(
    whatsapp: WhatsApp, strict_stack: StrictStack
) -> None:
    chat = whatsapp.chat(new_number())
    # Meta redelivers a message the recruiter sent 25 hours ago (it retries for days).
    late = text_message(chat.wa_id, "hoi", sent_at=time.time() - 25 * 3600)
    assert whatsapp.post(webhook([late])) == 200
    assert whatsapp.db.user_texts(chat.sender_id) == ["hoi"]  # the turn itself is kept
    log = strict_stack.stack.logs["engine"]
    wait_until(
        lambda: whatsapp.db.outbox_count(chat.sender_id) == 0,
        lambda: "the late replies were neither sent nor dropped",
    )
    assert "24-hour customer-service window" in log.read_text(encoding="utf-8", errors="replace")
    assert whatsapp.graph.select(to_number(chat.wa_id, accepted=False)) == []
    # A new message opens the window again: answered.
    chat.send_text("hallo")
    assert wait_turn_delivered(chat, whatsapp.db, chat.sender_id, 0)


def test_erasing_the_conversation_takes_its_waiting_replies_along(whatsapp: WhatsApp) -> None:
    chat = whatsapp.chat(new_number())
    chat.send_text("hoi")
    seen = len(wait_turn_delivered(chat, whatsapp.db, chat.sender_id, 0))
    whatsapp.graph.fail_next(10_000, 503)  # WhatsApp is down for now
    try:
        chat.send_text("wis dit gesprek")
        asked = [
            e
            for e in whatsapp.db.latest_bot_events(chat.sender_id)
            if e.get("data", {}).get("buttons")
        ]
        assert asked and whatsapp.db.outbox_count(chat.sender_id) > 0  # the question waits
        confirm = asked[-1]["data"]["buttons"][0]  # the bot's own first choice: erase it
        message = choice_message(chat.wa_id, "button_reply", confirm["title"], confirm["payload"])
        assert whatsapp.post(webhook([message])) == 200
        # Erased, and with it the question still waiting; only the answer to the erasure waits.
        assert whatsapp.db.event_count(chat.sender_id) == 0
        waiting = whatsapp.db.outbox_count(chat.sender_id)
        assert waiting >= 1
    finally:
        whatsapp.graph.recover()
    wait_until(
        lambda: whatsapp.db.outbox_count(chat.sender_id) == 0,
        lambda: "the erasure's answer was not sent",
    )
    later = chat.shown()[seen:]
    assert len(later) == waiting  # the erasure's answer; never the question it answered
    assert all(not shown.choices for shown in later)


# ---- forgeries ---------------------------------------------------------------------------------

FORGERIES: dict[str, Callable[[bytes], str | None]] = {
    "no signature": lambda body: None,
    "empty signature": lambda body: "",
    "another secret": lambda body: signature(body, "not-the-app-secret"),
    "another body": lambda body: signature(body.replace(b"hoi", b"hallo")),
    "sha1": lambda body: "sha1=" + signature(body).removeprefix("sha256=")[:40],
    "no prefix": lambda body: signature(body).removeprefix("sha256="),
    "verify token as signature": lambda body: fake_meta.VERIFY_TOKEN,
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_forged_webhook_is_refused_and_nothing_is_stored(
    whatsapp: WhatsApp, forgery: str
) -> None:
    chat = whatsapp.chat(new_number())
    message = text_message(chat.wa_id, "hoi")
    body = webhook([message])
    assert whatsapp.post(body, FORGERIES[forgery](body)) == 401
    # A real message afterwards is answered: by then the forged one would have been too.
    other = whatsapp.chat(new_number())
    other.send_text("hoi")
    wait_turn_delivered(other, whatsapp.db, other.sender_id, 0)
    assert whatsapp.db.nothing_stored(chat.sender_id, "whatsapp", message["id"])
    assert whatsapp.graph.select(to_number(chat.wa_id, accepted=False)) == []


def test_a_signed_body_that_is_not_json_is_refused(whatsapp: WhatsApp) -> None:
    assert whatsapp.post(b"not json") == 400
    assert whatsapp.post(json.dumps([1, 2]).encode()) == 400
