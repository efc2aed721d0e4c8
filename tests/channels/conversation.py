"""What the channel tests read and do: the stored conversation (straight from the strict
stack's tracker database, its HTTP API being off) and a recruiter intake driven to the advice
through a channel.

The intake follows whatever the bot asks: it presses the first of the choices the bot's latest
message offers (so a question's buttons are used as the bot sent them), and only a question
without choices is answered by typing, by the question the bot asked (`open_question`). So
the tests check what a channel guarantees, not the wording of the intake's questions.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from bot.app.advice_store import ADVICE_PATH
from tests.stack import PRIVACY_URL, Stack, dutch_responses

TIMEOUT = 60.0
# Typed answers to the questions that offer no choices, by the slot they fill.
TYPED_ANSWERS = {
    "age": "38",
    "education": "havo",
    "care_qualifications": "geen diploma in de zorg",
    "care_experience_years": "0",
    "hours_per_week": "24",
    "region": "Utrecht",
}
MAX_STEPS = 30


@dataclass(frozen=True)
class TrackerDb:
    """The tracker database of a running stack (SQLite)."""

    path: Path

    def _rows(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        if not self.path.exists():
            return []
        with sqlite3.connect(self.path) as db:
            return db.execute(query, args).fetchall()

    def _has_table(self, name: str) -> bool:
        query = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
        return bool(self._rows(query, name)[0][0]) if self.path.exists() else False

    def events(self, sender_id: str) -> list[dict[str, Any]]:
        rows = self._rows("SELECT data FROM events WHERE sender_id = ? ORDER BY id", sender_id)
        return [json.loads(data) for (data,) in rows]

    def event_count(self, sender_id: str) -> int:
        if not self._has_table("events"):
            return 0
        return int(self._rows("SELECT count(*) FROM events WHERE sender_id = ?", sender_id)[0][0])

    def user_texts(self, sender_id: str) -> list[str]:
        return [e["text"] for e in self.events(sender_id) if e["event"] == "user"]

    def slot(self, sender_id: str, name: str) -> Any:
        """The slot's last stored value (what the tracker's `slots` would say)."""
        values = [
            e["value"] for e in self.events(sender_id) if e["event"] == "slot" and e["name"] == name
        ]
        return values[-1] if values else None

    def latest_bot_events(self, sender_id: str) -> list[dict[str, Any]]:
        """The bot events after the latest user message: what the latest turn said (with
        the privacy notice, stored after a conversation's first turn)."""
        events = self.events(sender_id)
        users = [n for n, e in enumerate(events) if e["event"] == "user"]
        after = users[-1] + 1 if users else 0
        return [e for e in events[after:] if e["event"] == "bot"]

    def outbox_count(self, sender_id: str) -> int:
        if not self._has_table("channel_outbox"):
            return 0
        query = "SELECT count(*) FROM channel_outbox WHERE conversation_id = ?"
        return int(self._rows(query, sender_id)[0][0])

    def claimed(self, channel: str, delivery_id: str) -> bool:
        if not self._has_table("channel_deliveries"):
            return False
        query = "SELECT count(*) FROM channel_deliveries WHERE channel = ? AND delivery_id = ?"
        return bool(self._rows(query, channel, delivery_id)[0][0])

    def nothing_stored(self, sender_id: str, channel: str, delivery_id: str) -> bool:
        """No event, no waiting reply, no claim: a refused request left no trace."""
        return (
            self.event_count(sender_id) == 0
            and self.outbox_count(sender_id) == 0
            and not self.claimed(channel, delivery_id)
        )


@dataclass(frozen=True)
class Choice:
    title: str
    # What pressing it sends, as the channel's test knows it (a payload, a list row id, …).
    reply: Any


@dataclass(frozen=True)
class Shown:
    """One platform message as the recruiter sees it."""

    text: str
    choices: tuple[Choice, ...] = ()
    # Links behind buttons (the Teams advice card's), besides those in the text.
    links: tuple[str, ...] = ()


class RecruiterChat(Protocol):
    """A recruiter's chat with the bot on one channel."""

    def send_text(self, text: str) -> None: ...

    def press(self, choice: Choice) -> None: ...

    def shown(self) -> list[Shown]:
        """Every message the bot delivered to this chat so far, in order."""
        ...


def notice_texts(retention_days: int = 180) -> list[str]:
    """The Dutch privacy notice as the strict stack sends it, with its privacy statement's link
    (the notice is this change's own text, so its wording is checked)."""
    responses = dutch_responses()
    notice = responses["utter_privacy_notice_recruiter"]["text"]
    link = responses["utter_privacy_statement_link"]["text"]
    return [
        notice.replace("{retention_days}", str(retention_days)),
        link.replace("{url}", PRIVACY_URL),
    ]


def post_status(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POSTs to a webhook; its HTTP status."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@dataclass
class Webhook:
    """A channel's webhook on a running stack's engine, and the tracker database behind it."""

    stack: Stack
    # The channel's name in the webhook's path.
    channel: ClassVar[str]

    @property
    def url(self) -> str:
        return f"{self.stack.engine_url}/webhooks/{self.channel}/webhook"

    @property
    def db(self) -> TrackerDb:
        return TrackerDb(self.stack.tracker_db)

    def post_body(
        self, body: bytes, header: str, value: str | None, signed: Callable[[], str]
    ) -> int:
        """POSTs `body` with the platform's signature `header`: "signed" is a valid one
        (`signed()`), None none, anything else is sent as it is."""
        headers = {"Content-Type": "application/json"}
        if value == "signed":
            headers[header] = signed()
        elif value is not None:
            headers[header] = value
        return post_status(self.url, body, headers)


def words(text: str) -> str:
    return " ".join(text.split())


def wait_until(
    condition: Callable[[], bool], what: Callable[[], str], timeout: float = TIMEOUT
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(what())
        time.sleep(0.1)


def wait_turn_delivered(
    chat: RecruiterChat, db: TrackerDb, sender_id: str, seen: int
) -> list[Shown]:
    """The messages delivered for the latest turn (after the first `seen`), once every text the
    turn stored has been delivered, in that order (the notice of a first turn first)."""
    texts = [words(e["text"]) for e in db.latest_bot_events(sender_id) if e.get("text")]
    notice = [
        words(e["text"])
        for e in db.latest_bot_events(sender_id)
        if (e.get("metadata") or {}).get("privacy_notice")
    ]
    expected = notice + [text for text in texts if text not in notice]

    def delivered() -> str:
        return " ".join(words(shown.text) for shown in chat.shown()[seen:])

    def in_order() -> bool:
        joined, position = delivered(), 0
        for text in expected:
            found = joined.find(text, position)
            if found < 0:
                return False
            position = found + len(text)
        return True

    wait_until(
        in_order,
        lambda: f"the turn's texts {expected} were not all delivered in order: {delivered()!r}",
    )
    return chat.shown()[seen:]


@dataclass
class Intake:
    """The record of an intake driven to the advice."""

    turns: list[list[Shown]] = field(default_factory=list)
    pressed: list[Choice] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)

    @property
    def all_shown(self) -> list[Shown]:
        return [shown for turn in self.turns for shown in turn]


def advice_link(shown: Sequence[Shown], public_url: str) -> str | None:
    """The saved-advice link, if a delivered text carries it."""
    prefix = f"{public_url}{ADVICE_PATH}/"
    for message in shown:
        for token in message.text.split():
            if token.startswith(prefix):
                return token.rstrip(".,")
    return None


def drive_to_advice(
    chat: RecruiterChat, db: TrackerDb, sender_id: str, public_url: str, first: str = "hoi"
) -> Intake:
    """A recruiter intake through `chat`, from `first` until a delivered text carries the
    saved-advice link; every turn's stored texts must have been delivered."""
    intake = Intake()
    chat.send_text(first)
    for _ in range(MAX_STEPS):
        seen = sum(len(turn) for turn in intake.turns)
        turn = wait_turn_delivered(chat, db, sender_id, seen)
        intake.turns.append(turn)
        if advice_link(turn, public_url):
            return intake
        offered = [shown for shown in turn if shown.choices]
        if offered:
            choice = offered[-1].choices[0]
            intake.pressed.append(choice)
            chat.press(choice)
            continue
        asked = db.slot(sender_id, "open_question")
        assert asked in TYPED_ANSWERS, f"the bot asks for {asked!r} without choices: {turn}"
        intake.typed.append(TYPED_ANSWERS[asked])
        chat.send_text(TYPED_ANSWERS[asked])
    raise AssertionError(f"no advice after {MAX_STEPS} steps: {intake.turns}")
