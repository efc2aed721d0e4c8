"""What the actions need from the catalogue and the stores, and the abstract action base.

The SDK registers every non-abstract `Action` subclass it finds, so the base here keeps an
abstract method: it is never registered itself.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from typing import Any, Protocol

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.common.settings import load_settings
from catalogue.answers import FoundAnswer
from catalogue.interpret import Reading
from catalogue.items import Facts
from catalogue.plan import Plan
from catalogue.service import CatalogueService, default_service


class CatalogueSource(Protocol):
    """What the actions ask the catalogue: `CatalogueService` in production (blocking calls:
    the actions run them in a thread). Tests pass a service over an in-memory catalogue."""

    def plan(self, profile: Any, today: dt.date | None = None) -> Plan: ...

    def interpret(self, text: str, asked: str | None = None) -> Reading: ...

    def is_question(self, text: str) -> bool: ...

    def next_question(
        self, answers: Mapping[str, Any], skipped: Collection[str] = ()
    ) -> str | None: ...

    def asks(self, field: str, answers: Mapping[str, Any]) -> bool: ...

    def find_answer(
        self, question: str, language: str, answers: Mapping[str, Any]
    ) -> FoundAnswer | None: ...

    def lookup(self, kind: str, item_id: str) -> Facts | None: ...

    def province(self, region: str) -> str | None: ...

    def common_words(self) -> frozenset[str]: ...

    def accepts(self, field: str, value: Any) -> bool: ...


# rasa_sdk ships no type information, so its classes are `Any` to mypy.
def configured_service() -> CatalogueService:
    """The process-wide catalogue service on the configured database (settings read here)."""
    settings = load_settings()
    return default_service(
        settings.database_url, refresh_seconds=settings.catalogue_refresh_seconds
    )


class CatalogueAction(Action, ABC):  # type: ignore[misc]
    """An action that reads the catalogue.

    The catalogue comes in through the constructor (tests pass one over an in-memory
    catalogue); the SDK constructs actions without arguments, and then the process-wide
    service is taken on first use, so importing the actions opens no database.
    """

    def __init__(self, catalogue: CatalogueSource | None = None) -> None:
        self._catalogue = catalogue

    @property
    def catalogue(self) -> CatalogueSource:
        if self._catalogue is None:
            self._catalogue = configured_service()
        return self._catalogue

    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]: ...


def response_variant(domain: DomainDict, name: str, slots: dict[str, Any]) -> dict[str, Any]:
    """The variant of a domain response that Rasa would pick for these slot values.

    Used for responses that are data rather than messages (the utter_labels_* tables): a
    conditional variant whose conditions all hold, else the one without a condition.
    """
    variants: list[dict[str, Any]] = (domain.get("responses") or {}).get(name) or []
    default: dict[str, Any] = {}
    for variant in variants:
        conditions = variant.get("condition")
        if not conditions:
            default = variant
        elif all(slots.get(c.get("name")) == c.get("value") for c in conditions):
            return variant
    return default
