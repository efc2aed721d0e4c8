"""One turn being answered: what the turn says, what the bot will say, and the services.

The concerns (intake, questions, advice, handoff, privacy) each take a `Conversation` and add
to its reply; the slots they change are read back here first, so a later step of the same turn
sees an earlier one's change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from rasa_sdk.types import DomainDict

from actions.base import CatalogueSource
from actions.reply import Reply
from actions.turn import (
    ADVICE_GIVEN,
    INTAKE,
    LANGUAGE,
    MISSES,
    OPEN_QUESTION,
    PROFILE_SLOTS,
    RECRUITER,
    SKIPPED,
    Turn,
)
from bot.common.idempotency import IdempotencyKey
from bot.common.records import NewHandoff, SavedLink, StoredHandoff
from catalogue.plan_view import PlanView
from catalogue.schema import language_of

T = TypeVar("T")


class AdviceSaver(Protocol):
    """Saves a plan's view (catalogue/plan_view.py) behind a link: `AdviceStore` in
    production (blocking)."""

    def save(
        self,
        advice: PlanView,
        language: str,
        conversation_id: str | None = None,
        key: IdempotencyKey | None = None,
    ) -> SavedLink: ...


class HandoffRecorder(Protocol):
    """Stores a request for a person, once per key: `HandoffStore` in production (blocking)."""

    def create(self, new: NewHandoff, call: IdempotencyKey) -> StoredHandoff: ...


class QuestionLog(Protocol):
    """Keeps questions the bot could not answer, for staff: `UnansweredQuestions` (blocking)."""

    def record(self, conversation_id: str, question: str, language: str) -> None: ...


@dataclass(frozen=True)
class AppStores:
    """The app's stores, each made on first use. The actions import no app code (import-linter,
    pyproject.toml): the action server (bot/app/action_server.py) provides these with
    `provide_app_stores` before any action runs; tests give their own stores to the action."""

    advice_store: Callable[[], AdviceSaver]
    handoff_store: Callable[[], HandoffRecorder]
    question_log: Callable[[], QuestionLog]
    # What the chat's erasure deletes outside the tracker store (blocking).
    forget_elsewhere: Callable[[Sequence[str]], object]


_app_stores: AppStores | None = None


def provide_app_stores(stores: AppStores) -> None:
    global _app_stores
    _app_stores = stores


def app_stores() -> AppStores:
    if _app_stores is None:
        raise RuntimeError(
            "no app stores: the action server provides them (bot/app/action_server.py)"
        )
    return _app_stores


@dataclass
class Services:
    """What a turn may use besides the catalogue; each made on first use in production."""

    catalogue: CatalogueSource
    advice_store: Callable[[], AdviceSaver]
    handoff_store: Callable[[], HandoffRecorder]
    question_log: Callable[[], QuestionLog]
    handoff_response_days: Callable[[], int]


@dataclass
class Conversation:
    turn: Turn
    reply: Reply
    services: Services
    domain: DomainDict
    # Fields this turn filled or changed, in order.
    filled: list[str] = field(default_factory=list)

    @property
    def catalogue(self) -> CatalogueSource:
        return self.services.catalogue

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """A blocking call (catalogue, database) off the event loop."""
        return await asyncio.to_thread(function, *args)

    def get(self, slot: str, default: Any = None) -> Any:
        """A slot as this turn has left it so far."""
        value = self.reply.slots[slot] if slot in self.reply.slots else self.turn.slots.get(slot)
        return default if value is None else value

    def set(self, slot: str, value: Any) -> None:
        self.reply.set(slot, value)

    @property
    def language(self) -> str:
        return language_of(self.get(LANGUAGE))

    @property
    def recruiter(self) -> bool:
        return bool(self.get(RECRUITER))

    @property
    def open_question(self) -> str | None:
        value = self.get(OPEN_QUESTION)
        return str(value) if value else None

    @property
    def misses(self) -> int:
        return int(self.get(MISSES, 0))

    @property
    def intake(self) -> bool:
        return bool(self.get(INTAKE))

    @property
    def advice_given(self) -> bool:
        return bool(self.get(ADVICE_GIVEN))

    @property
    def answers(self) -> dict[str, Any]:
        return {slot: self.get(slot) for slot in PROFILE_SLOTS if self.get(slot) is not None}

    @property
    def skipped(self) -> list[str]:
        return [str(s) for s in self.get(SKIPPED, [])]

    def ask_open(self, question: str | None) -> None:
        """What the bot now waits for an answer to; a new question starts without misses."""
        if question != self.open_question:
            self.set(MISSES, 0)
        self.set(OPEN_QUESTION, question)
