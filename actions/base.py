"""Abstract bases shared by the actions.

The SDK registers every non-abstract `Action` subclass it finds, so the bases here keep an
abstract method: they are never registered themselves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Protocol

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from catalogue.numberwords import parse_number
from catalogue.service import default_service


class AdviceSource(Protocol):
    """What the actions need from the catalogue: `CatalogueService` in production.

    `interpret`, `lookup`, `glossary` and `province` are optional at run time (looked up with
    getattr), so an older catalogue without them still gives advice.
    """

    def advise(self, profile: dict[str, Any]) -> dict[str, Any]: ...


# rasa_sdk ships no type information, so its classes are `Any` to mypy.
class CatalogueAction(Action, ABC):  # type: ignore[misc]
    """An action that reads the catalogue.

    The catalogue comes in through the constructor (tests pass a fake); the SDK constructs
    actions without arguments, and then the process-wide service is taken on first use,
    so importing the actions opens no database.
    """

    def __init__(self, catalogue: AdviceSource | None = None) -> None:
        self._catalogue = catalogue

    @property
    def catalogue(self) -> AdviceSource:
        if self._catalogue is None:
            self._catalogue = default_service()
        return self._catalogue

    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]: ...


class SlotValidation(FormValidationAction, ABC):  # type: ignore[misc]
    """Form validation whose limits come from the slot definitions in domain.yml.

    Number slots use `min_value`/`max_value`, categorical slots `values`; so the domain
    is the one place where an answer's allowed range is written down.
    """

    @abstractmethod
    def name(self) -> str: ...

    @staticmethod
    def _slot(domain: DomainDict, slot: str) -> dict[str, Any]:
        definition: dict[str, Any] = domain["slots"][slot]
        return definition

    def number_in_range(
        self,
        slot: str,
        value: Any,
        dispatcher: CollectingDispatcher,
        domain: DomainDict,
        *,
        whole: bool,
    ) -> dict[str, Any]:
        """{slot: number} for an answer within the slot's range, else re-ask and {slot: None}.

        The re-ask response is `utter_invalid_<slot>`, filled with {min} and {max}.
        """
        definition = self._slot(domain, slot)
        low, high = definition["min_value"], definition["max_value"]
        number = _as_number(value)
        if (
            number is not None
            and low <= number <= high
            and (not whole or float(number).is_integer())
        ):
            return {slot: int(number) if whole else number}
        dispatcher.utter_message(response=f"utter_invalid_{slot}", min=low, max=high)
        return {slot: None}

    def one_of_values(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, domain: DomainDict
    ) -> dict[str, Any]:
        """{slot: value} when it is one of the slot's categorical values, else re-ask."""
        allowed = self._slot(domain, slot)["values"]
        if isinstance(value, str) and value.strip().lower() in allowed:
            return {slot: value.strip().lower()}
        dispatcher.utter_message(response=f"utter_invalid_{slot}")
        return {slot: None}


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


def _as_number(value: Any) -> int | float | None:
    # bool is an int subclass; a button or entity may already give a number.
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        return parse_number(value)
    return None
