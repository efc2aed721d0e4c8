"""One turn of the conversation as the dialogue reads it: the message, the slots, the state.

The conversation's state lives in slots (stored by the engine with the conversation), never in
the action server's memory: `open_question` is what the bot asked last and waits for an answer
to, `misses` how often in a row that question got an answer the bot could not use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from rasa_sdk import Tracker

from actions.idempotency import turn_of
from catalogue.profile import PROFILE_FIELDS
from catalogue.schema import language_of

# Every profile field the intake can ask, as slots (language is set, never asked). `target`
# (what the person wants to become) is read from answers even while the catalogue cannot
# take it yet: profile_from_slots sends only the fields the catalogue knows.
PROFILE_SLOTS: Final[tuple[str, ...]] = (
    *(f for f in PROFILE_FIELDS if f != "language"),
    *(("target",) if "target" not in PROFILE_FIELDS else ()),
)

# What the bot asked, besides a profile field.
INTAKE_OFFER: Final = "intake_offer"  # "Zal ik je een paar vragen stellen?"
CONTINUE_OFFER: Final = "continue_offer"  # "Zullen we verder gaan met de vragen?"
ERASE_CONFIRM: Final = "erase_confirm"  # "Wil je dat ik dit gesprek wis?"
HANDOFF_CONSENT: Final = "handoff_consent"
HANDOFF_PREFERENCE: Final = "handoff_contact_preference"
HANDOFF_CONTACT: Final = "handoff_contact"
HANDOFF_STEPS: Final = (HANDOFF_CONSENT, HANDOFF_PREFERENCE, HANDOFF_CONTACT)

# Slots of the conversation's state (domain.yml declares them all).
OPEN_QUESTION: Final = "open_question"
MISSES: Final = "misses"
INTAKE: Final = "intake"  # the intake is running: the bot asks its questions
INTAKE_DECLINED: Final = "intake_declined"  # the person said no to the intake, for now
INTAKE_EXPLAINED: Final = "intake_explained"  # the bot said how the intake goes
SKIPPED: Final = "skipped"
ADVICE_GIVEN: Final = "advice_given"
ADVICE_PROFILE: Final = "advice_profile"  # the answers the advice was given for
RECOMMENDED_ROUTE: Final = "recommended_route"
ADVISED_UNITS: Final = "advised_units"
# The last prompts the bot ended its turns with, to never end three turns in a row alike.
LAST_PROMPTS: Final = "last_prompts"
LANGUAGE: Final = "language"
RECRUITER: Final = "recruiter"

# Intents that stand for a command when the classifier is this sure of them (typed text); a
# button's intent always counts.
COMMAND_CONFIDENCE: Final = 0.6


# Slots whose value is a list: a button sends one entity per item, "none" for no items.
LIST_SLOTS: Final = frozenset({"care_qualifications"})
NO_ITEMS: Final = "none"


def _payload_values(entities: tuple[Mapping[str, Any], ...]) -> dict[str, Any]:
    """The values a button sent, by slot ('/inform{"employer": "care"}')."""
    values: dict[str, Any] = {}
    for entity in entities:
        name = entity.get("entity")
        if not isinstance(name, str):
            continue
        value = entity.get("value")
        if name in LIST_SLOTS:
            items = values.setdefault(name, [])
            if value != NO_ITEMS:
                items.append(value)
        else:
            values[name] = value
    return values


@dataclass(frozen=True)
class Turn:
    """The latest user message and the conversation's state before it."""

    sender_id: str
    text: str
    intent: str | None
    confidence: float
    # Values a button sent ('/inform{"employer": "care"}'), by slot name.
    payload: Mapping[str, Any]
    is_button: bool
    slots: Mapping[str, Any]
    channel: str | None
    # How many user messages this conversation has had, this one included.
    user_messages: int
    # This message, as idempotency keys name it: the same for a retried call of this turn
    # and for the widget's resend of it (actions/idempotency.py).
    message_key: str
    bot_said_before: bool = False
    entities: tuple[Mapping[str, Any], ...] = field(default=())

    @classmethod
    def from_tracker(cls, tracker: Tracker) -> Turn:
        latest = tracker.latest_message or {}
        text = str(latest.get("text") or "")
        intent = latest.get("intent") or {}
        entities = tuple(e for e in latest.get("entities") or [] if isinstance(e, Mapping))
        is_button = text.startswith("/")
        payload = _payload_values(entities) if is_button else {}
        users = [e for e in tracker.events if e.get("event") == "user"]
        return cls(
            sender_id=str(tracker.sender_id),
            text="" if is_button else text.strip(),
            intent=str(intent.get("name")) if intent.get("name") else None,
            confidence=1.0 if is_button else float(intent.get("confidence") or 0.0),
            payload=payload,
            is_button=is_button,
            slots=dict(tracker.current_slot_values()),
            channel=tracker.get_latest_input_channel(),
            user_messages=len(users),
            message_key=turn_of(tracker),
            bot_said_before=any(e.get("event") == "bot" for e in tracker.events),
            entities=entities,
        )

    def slot(self, name: str, default: Any = None) -> Any:
        value = self.slots.get(name)
        return default if value is None else value

    @property
    def language(self) -> str:
        return language_of(self.slots.get(LANGUAGE))

    @property
    def recruiter(self) -> bool:
        return bool(self.slots.get(RECRUITER))

    @property
    def open_question(self) -> str | None:
        value = self.slots.get(OPEN_QUESTION)
        return str(value) if value else None

    @property
    def asked_field(self) -> str | None:
        """The profile field the bot asked last, if the open question is one."""
        question = self.open_question
        return question if question in PROFILE_SLOTS else None

    @property
    def misses(self) -> int:
        return int(self.slots.get(MISSES) or 0)

    @property
    def command(self) -> str | None:
        """The intent, when it is sure enough to act on as a command."""
        if self.intent and (self.is_button or self.confidence >= COMMAND_CONFIDENCE):
            return self.intent
        return None

    @property
    def answers(self) -> dict[str, Any]:
        """The profile answers so far, by field."""
        return {
            slot: self.slots[slot] for slot in PROFILE_SLOTS if self.slots.get(slot) is not None
        }

    @property
    def skipped(self) -> list[str]:
        return [str(s) for s in self.slots.get(SKIPPED) or []]

    @property
    def first_message(self) -> bool:
        return self.user_messages <= 1 and not self.bot_said_before
