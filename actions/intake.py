"""Validation of the answers to `profile_form` (the intake questions)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import SlotValidation


class ValidateProfileForm(SlotValidation):
    """Turns free-text answers into profile values, or re-asks with a friendly hint."""

    def name(self) -> str:
        return "validate_profile_form"

    def validate_age(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.number_in_range("age", value, dispatcher, domain, whole=True)

    def validate_hours_per_week(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.number_in_range("hours_per_week", value, dispatcher, domain, whole=False)

    def validate_sector(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.one_of_values("sector", value, dispatcher, domain)
