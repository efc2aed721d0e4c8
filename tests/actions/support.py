"""Helpers for the action tests: real rasa_sdk trackers and dispatchers, the real catalogue,
in-memory stores, and a chat that runs the dialogue action turn by turn in this process.

The chat plays the engine's part that matters to the action: it keeps the slots the action
sets, and the user and bot events the action reads. The intent of each message is given by
the test (what the NLU model would say); tests/integration runs the real engine and model.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.dialogue import ActionConverse
from bot.common.idempotency import IdempotencyKey
from bot.common.records import NewHandoff, SavedLink, StoredHandoff
from catalogue.service import CatalogueService

_clock = itertools.count(1_700_000_000)


def make_tracker(
    slots: dict[str, Any] | None = None,
    *,
    text: str = "",
    intent: str = "inform",
    confidence: float = 1.0,
    entities: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    channel: str = "rest",
    sender_id: str = "test",
) -> Tracker:
    """A tracker after `events` and then one user message `text`."""
    all_slots: dict[str, Any] = {"language": "nl", "recruiter": False}
    all_slots.update(slots or {})
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
    }
    user = {
        "event": "user",
        "text": text,
        "parse_data": latest,
        "input_channel": channel,
        "timestamp": float(next(_clock)),
    }
    return Tracker(
        sender_id=sender_id,
        slots=all_slots,
        latest_message=latest,
        events=[*(events or []), user],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@dataclass
class FakeAdviceStore:
    saved: list[tuple[dict[str, Any], str, str | None]] = field(default_factory=list)
    keys: list[IdempotencyKey | None] = field(default_factory=list)
    fail: bool = False

    def save(
        self,
        advice: Mapping[str, object],
        language: str,
        conversation_id: str | None = None,
        key: IdempotencyKey | None = None,
    ) -> SavedLink:
        if self.fail:
            raise OSError("database down (simulated)")
        self.saved.append((dict(advice), language, conversation_id))
        self.keys.append(key)
        token = f"token{len(self.saved)}"
        return SavedLink(
            token=token,
            url=f"http://test/advies/{token}",
            expires_at=dt.datetime(2027, 1, 6, tzinfo=dt.UTC),
            valid_days=30,
        )


@dataclass
class FakeHandoffStore:
    created: list[NewHandoff] = field(default_factory=list)
    fail: bool = False

    keys: list[str] = field(default_factory=list)

    def create(self, new: NewHandoff, call: IdempotencyKey) -> StoredHandoff:
        """Once per key, as `HandoffStore` does."""
        if self.fail:
            raise OSError("database down (simulated)")
        first = call.digest not in self.keys
        if first:
            self.created.append(new)
            self.keys.append(call.digest)
        return StoredHandoff(
            public_id=f"ZW-{self.keys.index(call.digest) + 1}",
            idempotency_key=call.digest,
            created=first,
        )


@dataclass
class FakeQuestionLog:
    questions: list[tuple[str, str, str]] = field(default_factory=list)

    def record(self, conversation_id: str, question: str, language: str) -> None:
        self.questions.append((conversation_id, question, language))


@dataclass
class Said:
    """One message of the bot: the response's name (or the rendered text) and its values."""

    response: str | None
    values: dict[str, Any]
    text: str | None = None
    buttons: list[dict[str, Any]] = field(default_factory=list)
    custom: dict[str, Any] | None = None


def said(dispatcher: CollectingDispatcher) -> list[Said]:
    out = []
    for message in dispatcher.messages:
        values = {
            k: v
            for k, v in message.items()
            if k
            not in (
                "response",
                "text",
                "buttons",
                "custom",
                "elements",
                "image",
                "attachment",
                "template",
                "json_message",
            )
        }
        out.append(
            Said(
                response=message.get("response"),
                values=values,
                text=message.get("text"),
                buttons=list(message.get("buttons") or []),
                custom=message.get("custom"),
            )
        )
    return out


class Chat:
    """A conversation with the dialogue action, in this process (see the module docstring)."""

    def __init__(
        self,
        catalogue: CatalogueService,
        domain: dict[str, Any],
        *,
        slots: dict[str, Any] | None = None,
        channel: str = "rest",
        advice_store: FakeAdviceStore | None = None,
        handoff_store: FakeHandoffStore | None = None,
        question_log: FakeQuestionLog | None = None,
    ) -> None:
        self.advice_store = advice_store or FakeAdviceStore()
        self.handoff_store = handoff_store or FakeHandoffStore()
        self.question_log = question_log or FakeQuestionLog()
        self.action = ActionConverse(
            catalogue,
            advice_store=self.advice_store,
            handoff_store=self.handoff_store,
            question_log=self.question_log,
            handoff_response_days=0,
        )
        self.domain = domain
        self.slots: dict[str, Any] = {"language": "nl", "recruiter": False, **(slots or {})}
        self.channel = channel
        self.events: list[dict[str, Any]] = []
        self.followups: list[str] = []
        self.turns: list[list[Said]] = []
        self.last_tracker: Tracker | None = None

    def resume(self, **slots: Any) -> None:
        """A conversation that is under way: these slots, after an earlier exchange."""
        self.slots.update(slots)
        self.events += [
            {"event": "user", "text": "hoi", "timestamp": float(next(_clock))},
            {"event": "bot", "text": "earlier"},
        ]

    async def say(
        self,
        text: str,
        intent: str = "inform",
        confidence: float = 0.9,
        entities: list[dict[str, Any]] | None = None,
    ) -> list[Said]:
        tracker = make_tracker(
            dict(self.slots),
            text=text,
            intent=intent,
            confidence=confidence,
            entities=entities,
            events=list(self.events),
            channel=self.channel,
        )
        self.last_tracker = tracker
        dispatcher = CollectingDispatcher()
        events = await self.action.run(dispatcher, tracker, self.domain)
        self.events.append(tracker.events[-1])
        messages = said(dispatcher)
        for message in messages:
            self.events.append({"event": "bot", "text": message.text or message.response})
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
            elif event.get("event") == "followup":
                self.followups.append(event["name"])
        self.turns.append(messages)
        return messages

    async def retry(self) -> list[Said]:
        """The last turn's call once more, as the engine sends it again after a timeout (the
        same tracker); the conversation's state stays as the first call left it."""
        dispatcher = CollectingDispatcher()
        await self.action.run(dispatcher, self.last_tracker, self.domain)
        return said(dispatcher)

    async def press(self, intent: str, **values: Any) -> list[Said]:
        """A button: '/intent{"slot": value}' as Rasa parses it (one entity per list item)."""
        entities = []
        for name, value in values.items():
            for item in value if isinstance(value, list) else [value]:
                entities.append({"entity": name, "value": item})
        return await self.say("/" + intent, intent, 1.0, entities)


def responses(messages: list[Said]) -> list[str]:
    return [m.response or "" for m in messages]
