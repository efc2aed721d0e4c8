"""Telegram and Slack end to end: webhook in (signed), the bot's answer out to a fake API.

Uses the session's `strict_stack` (tests/conftest.py), shared with tests/security: both
channels point at one local fake API server (tests/channels/fakes.py), and the engine's HTTP
API is off there, so what a conversation stored is read from the tracker database itself.
Each test has its own chat/user ids, so no test depends on another.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.channels.conversation import TrackerDb, notice_texts, words
from tests.channels.fakes import Call, FakeApis
from tests.conftest import StrictStack
from tests.stack import SLACK_SECRET, SLACK_TOKEN, TELEGRAM_SECRET, Stack

pytestmark = pytest.mark.integration

TIMEOUT = 60.0
# The intake's first question in recruiter mode (domain.yml, utter_ask_sector).
SECTOR_QUESTION = "In welke zorg gaat de kandidaat werken: de ouderenzorg of de gehandicaptenzorg?"
_ids = itertools.count(1)


@dataclass
class Channels:
    stack: Stack
    fake: FakeApis

    # ---- Telegram -------------------------------------------------------------------------
    def telegram(
        self, update: dict[str, Any], secret: str | None = TELEGRAM_SECRET
    ) -> tuple[int, dict[str, str]]:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        return post(
            f"{self.stack.engine_url}/webhooks/telegram/webhook",
            json.dumps(update).encode(),
            headers,
        )

    def sent_to_chat(self, chat_id: int) -> Any:
        def predicate(call: Call) -> bool:
            return call.method == "sendMessage" and call.params.get("chat_id") == str(chat_id)

        return predicate

    # ---- Slack ----------------------------------------------------------------------------
    def slack(
        self,
        body: bytes,
        content_type: str = "application/json",
        *,
        secret: str | None = SLACK_SECRET,
        timestamp: int | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        headers = {"Content-Type": content_type, **(extra_headers or {})}
        if secret is not None:
            base = f"v0:{stamp}:".encode() + body
            digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
            headers["X-Slack-Request-Timestamp"] = stamp
            headers["X-Slack-Signature"] = f"v0={digest}"
        return post_full(f"{self.stack.engine_url}/webhooks/slack/webhook", body, headers)

    def posted_to_channel(self, channel: str) -> Any:
        def predicate(call: Call) -> bool:
            return call.method == "chat.postMessage" and call.params.get("channel") == channel

        return predicate

    # ---- tracker database -----------------------------------------------------------------
    @property
    def db(self) -> TrackerDb:
        return TrackerDb(self.stack.tracker_db)

    def user_texts(self, sender_id: str) -> list[str]:
        """The user messages stored for a conversation, straight from the tracker database."""
        return self.db.user_texts(sender_id)

    def wait_user_texts(self, sender_id: str, count: int) -> list[str]:
        """The stored user messages once there are `count`: Slack's turns run in the
        background, and the engine stores a turn just after sending its replies."""
        deadline = time.monotonic() + TIMEOUT
        texts = self.user_texts(sender_id)
        while len(texts) < count and time.monotonic() < deadline:
            time.sleep(0.2)
            texts = self.user_texts(sender_id)
        return texts

    def latest_user_event(self, sender_id: str) -> dict[str, Any]:
        return [e for e in self.db.events(sender_id) if e["event"] == "user"][-1]

    def slot(self, sender_id: str, name: str) -> Any:
        return self.db.slot(sender_id, name)

    def event_count(self, sender_id: str) -> int:
        return self.db.event_count(sender_id)


def post_full(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            return answer.status, dict(answer.headers.items()), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    status, answer_headers, _ = post_full(url, body, headers)
    return status, answer_headers


@pytest.fixture
def channels(strict_stack: StrictStack) -> Channels:
    return Channels(strict_stack.stack, strict_stack.fake)


def new_chat_id() -> int:
    return 700_000 + next(_ids)


def telegram_text(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "from": {"id": chat_id, "is_bot": False, "first_name": "Rita"},
            "chat": {"id": chat_id, "type": "private", "first_name": "Rita"},
            "text": text,
        },
    }


def telegram_click(update_id: int, chat_id: int, data: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cbq-{update_id}",
            "chat_instance": "1",
            "from": {"id": chat_id, "is_bot": False, "first_name": "Rita"},
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": "...",
            },
            "data": data,
        },
    }


def inline_buttons(call: Call) -> list[dict[str, Any]]:
    markup = json.loads(call.params.get("reply_markup") or "{}")
    return [button for row in markup.get("inline_keyboard", []) for button in row]


# ---- Telegram --------------------------------------------------------------------------------


def test_telegram_webhook_is_registered_with_the_secret(channels: Channels) -> None:
    (call,) = channels.fake.wait_for(lambda c: c.method == "setWebhook")[:1]
    assert call.params["url"] == f"{channels.stack.engine_url}/webhooks/telegram/webhook"
    assert call.params["secret_token"] == TELEGRAM_SECRET
    assert json.loads(call.params["allowed_updates"]) == ["message", "callback_query"]


def test_telegram_message_is_answered_with_an_inline_keyboard(channels: Channels) -> None:
    chat = new_chat_id()
    status, _ = channels.telegram(telegram_text(chat * 10, chat, "hoi"))
    assert status == 200
    sent = channels.fake.wait_for(channels.sent_to_chat(chat))
    buttons = [button for call in sent for button in inline_buttons(call)]
    assert {"text": "Ja, graag", "callback_data": "/request_advice"} in buttons
    sender = f"telegram:{chat}"
    latest = channels.latest_user_event(sender)
    assert latest["input_channel"] == "telegram"
    assert channels.slot(sender, "recruiter") is True
    # (Rasa adds its model_id and assistant_id to the stored metadata; the turn hook the
    # turn's request id, bot/engine/turn_metrics.py.)
    metadata = latest["metadata"]
    assert {key: metadata.get(key) for key in ("channel", "recruiter")} == {
        "channel": "telegram",
        "recruiter": True,
    }
    assert set(metadata) <= {"channel", "recruiter", "model_id", "assistant_id", "request_id"}


def test_telegram_button_press_comes_back_as_its_payload(channels: Channels) -> None:
    chat = new_chat_id()
    assert channels.telegram(telegram_text(chat * 10, chat, "hoi"))[0] == 200
    greeting = len(channels.fake.wait_for(channels.sent_to_chat(chat)))
    assert channels.telegram(telegram_click(chat * 10 + 1, chat, "/request_advice"))[0] == 200
    sent = channels.fake.wait_for(channels.sent_to_chat(chat), count=greeting + 1)
    # The intake starts, asking about the candidate: recruiter mode from the channel.
    assert SECTOR_QUESTION in [call.params["text"] for call in sent[greeting:]]
    assert channels.user_texts(f"telegram:{chat}") == ["hoi", "/request_advice"]
    acknowledged = channels.fake.select(lambda c: c.method == "answerCallbackQuery")
    assert f"cbq-{chat * 10 + 1}" in [call.params["callback_query_id"] for call in acknowledged]


def test_telegram_start_command_starts_the_recruiter_intake(channels: Channels) -> None:
    chat = new_chat_id()
    assert channels.telegram(telegram_text(chat * 10, chat, "/start"))[0] == 200
    texts = [call.params["text"] for call in channels.fake.wait_for(channels.sent_to_chat(chat))]
    assert SECTOR_QUESTION in texts


def test_a_new_telegram_chat_gets_the_privacy_notice_first_and_once(channels: Channels) -> None:
    chat = new_chat_id()
    assert channels.telegram(telegram_text(chat * 10, chat, "hoi"))[0] == 200
    first = channels.fake.wait_for(channels.sent_to_chat(chat))
    texts = [words(call.params["text"]) for call in first]
    assert texts[:2] == [words(text) for text in notice_texts()]
    assert channels.telegram(telegram_text(chat * 10 + 1, chat, "wat kost het?"))[0] == 200
    later = channels.fake.wait_for(channels.sent_to_chat(chat), count=len(first) + 1)
    assert all(words(c.params["text"]) != texts[0] for c in later[len(first) :])


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", TELEGRAM_SECRET + "x"])
def test_telegram_update_without_the_secret_is_refused(
    channels: Channels, secret: str | None
) -> None:
    chat = new_chat_id()
    status, _ = channels.telegram(telegram_text(chat * 10, chat, "hoi"), secret=secret)
    assert status == 401
    # A correct update afterwards is answered: by then the refused one would have been too.
    other = new_chat_id()
    assert channels.telegram(telegram_text(other * 10, other, "hoi"))[0] == 200
    channels.fake.wait_for(channels.sent_to_chat(other))
    assert channels.fake.select(channels.sent_to_chat(chat)) == []
    assert channels.event_count(f"telegram:{chat}") == 0


def test_telegram_resent_update_reaches_the_conversation_once(channels: Channels) -> None:
    chat = new_chat_id()
    update = telegram_text(chat * 10, chat, "hoi")
    assert channels.telegram(update)[0] == 200
    answers = len(channels.fake.wait_for(channels.sent_to_chat(chat)))
    assert channels.telegram(update)[0] == 200  # Telegram resends
    # Two at once (two engine instances would see this): still once.
    concurrent = telegram_text(chat * 10 + 1, chat, "wat kost het?")
    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = list(pool.map(lambda _: channels.telegram(concurrent)[0], range(2)))
    # The second is a duplicate (200) once the first is stored, or while the first is still
    # being handled "busy" (503: Telegram sends it again later, and then it is a duplicate).
    assert sorted(statuses) in ([200, 200], [200, 503])
    assert channels.telegram(concurrent)[0] == 200
    assert channels.user_texts(f"telegram:{chat}") == ["hoi", "wat kost het?"]
    assert answers >= 1


# ---- Slack -----------------------------------------------------------------------------------


def new_slack_ids() -> tuple[str, str]:
    number = next(_ids)
    return f"U{number:06d}", f"D{number:06d}"


def slack_message(event_id: str, user: str, channel: str, text: str) -> bytes:
    envelope = {
        "token": "unused",
        "team_id": "T000001",
        "api_app_id": "A000001",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"user_id": "U0BOT", "is_bot": True}],
        "event": {
            "type": "message",
            "channel_type": "im",
            "user": user,
            "channel": channel,
            "text": text,
            "ts": f"{time.time():.6f}",
        },
    }
    return json.dumps(envelope).encode()


def slack_click(user: str, channel: str, value: str) -> bytes:
    payload = {
        "type": "block_actions",
        "trigger_id": f"trigger-{user}-{value}",
        "team": {"id": "T000001"},
        "user": {"id": user},
        "channel": {"id": channel},
        "message": {"ts": "1.000100"},
        "actions": [{"type": "button", "value": value, "action_ts": f"{time.time():.6f}"}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def slack_buttons(call: Call) -> list[dict[str, Any]]:
    return [
        element
        for block in call.params.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    ]


def test_slack_url_verification_when_signed(channels: Channels) -> None:
    body = json.dumps({"type": "url_verification", "token": "x", "challenge": "c-123"}).encode()
    status, _, answer = channels.slack(body)
    assert status == 200
    assert json.loads(answer) == {"challenge": "c-123"}
    assert channels.slack(body, secret=None)[0] == 401
    assert channels.slack(body, secret="not-the-secret")[0] == 401


def test_slack_message_is_answered_with_buttons(channels: Channels) -> None:
    user, channel = new_slack_ids()
    status, _, _ = channels.slack(slack_message(f"Ev{user}", user, channel, "hoi"))
    assert status == 200
    sent = channels.fake.wait_for(channels.posted_to_channel(channel))
    buttons = [button for call in sent for button in slack_buttons(call)]
    assert {
        "type": "button",
        "text": {"type": "plain_text", "text": "Ja, graag"},
        "value": "/request_advice",
    } in buttons
    assert sent[0].headers["authorization"] == f"Bearer {SLACK_TOKEN}"
    assert all("as_user" not in call.params for call in sent)  # classic apps only
    sender = f"slack:{user}:{channel}"
    assert channels.wait_user_texts(sender, 1) == ["hoi"]
    assert channels.latest_user_event(sender)["input_channel"] == "slack"
    assert channels.slot(sender, "recruiter") is True


def test_slack_button_click_comes_back_as_its_value(channels: Channels) -> None:
    user, channel = new_slack_ids()
    assert channels.slack(slack_message(f"Ev{user}", user, channel, "hoi"))[0] == 200
    greeting = len(channels.fake.wait_for(channels.posted_to_channel(channel)))
    click = slack_click(user, channel, "/request_advice")
    assert channels.slack(click, "application/x-www-form-urlencoded")[0] == 200
    sent = channels.fake.wait_for(channels.posted_to_channel(channel), count=greeting + 1)
    assert SECTOR_QUESTION in [call.params.get("text") for call in sent[greeting:]]
    assert channels.wait_user_texts(f"slack:{user}:{channel}", 2) == ["hoi", "/request_advice"]


def test_a_new_slack_conversation_gets_the_privacy_notice_first(channels: Channels) -> None:
    user, channel = new_slack_ids()
    assert channels.slack(slack_message(f"Ev{user}", user, channel, "hoi"))[0] == 200
    sent = channels.fake.wait_for(channels.posted_to_channel(channel), count=3)
    texts = [words(call.params.get("text") or "") for call in sent]
    assert texts[:2] == [words(text) for text in notice_texts()]


@pytest.mark.parametrize(
    ("secret", "age"),
    [(None, 0), ("not-the-secret", 0), (SLACK_SECRET, 600), (SLACK_SECRET, -600)],
    ids=["unsigned", "wrong-secret", "too-old", "from-the-future"],
)
def test_slack_event_without_a_valid_signature_is_refused(
    channels: Channels, secret: str | None, age: int
) -> None:
    user, channel = new_slack_ids()
    body = slack_message(f"Ev{user}", user, channel, "hoi")
    status, _, _ = channels.slack(body, secret=secret, timestamp=int(time.time()) - age)
    assert status == 401
    # The same event signed afterwards is answered: the refused one left no trace behind.
    other_user, other_channel = new_slack_ids()
    assert (
        channels.slack(slack_message(f"Ev{other_user}", other_user, other_channel, "hoi"))[0] == 200
    )
    channels.fake.wait_for(channels.posted_to_channel(other_channel))
    assert channels.fake.select(channels.posted_to_channel(channel)) == []
    assert channels.event_count(f"slack:{user}:{channel}") == 0


def test_slack_signature_is_checked_on_the_raw_body(channels: Channels) -> None:
    user, channel = new_slack_ids()
    body = slack_message(f"Ev{user}", user, channel, "hoi")
    stamp = int(time.time())
    digest = hmac.new(SLACK_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    tampered = body.replace(b'"hoi"', b'"/restart"')
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }
    status, _, _ = post_full(
        f"{channels.stack.engine_url}/webhooks/slack/webhook", tampered, headers
    )
    assert status == 401


def test_slack_retry_of_an_event_reaches_the_conversation_once(channels: Channels) -> None:
    user, channel = new_slack_ids()
    body = slack_message(f"Ev{user}", user, channel, "hoi")
    assert channels.slack(body)[0] == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    status, headers, _ = channels.slack(body, extra_headers=retry)
    assert status == 200
    assert headers.get("X-Slack-No-Retry") == "1"
    channels.fake.wait_for(channels.posted_to_channel(channel))
    # A next, different event in the same conversation is handled after the first one.
    assert channels.slack(slack_message(f"Ev{user}-2", user, channel, "wat kost het?"))[0] == 200
    assert channels.wait_user_texts(f"slack:{user}:{channel}", 2) == ["hoi", "wat kost het?"]
