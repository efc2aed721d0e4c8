"""Handoff to a human advisor: consent and contact preference, collected and confirmed."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import CatalogueAction, SlotValidation


class ValidateHandoffForm(SlotValidation):
    """No consent: the form stops at once (no contact details are asked)."""

    def name(self) -> str:
        return "validate_handoff_form"

    def validate_handoff_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is False:
            return {"handoff_consent": False, "requested_slot": None, "handoff_contact": "-"}
        return {"handoff_consent": bool(value)}

    def validate_handoff_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if not text:
            return {"handoff_contact": None}
        return {"handoff_contact": text[:200]}


class ActionConfirmHandoff(CatalogueAction):
    """Confirms the handoff (delivering it is another issue) or says nothing is passed on."""

    def name(self) -> str:
        return "action_confirm_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("handoff_consent"):
            dispatcher.utter_message(
                response="utter_handoff_confirmed",
                handoff_contact=tracker.get_slot("handoff_contact"),
            )
            return []
        dispatcher.utter_message(response="utter_handoff_declined")
        return [SlotSet("handoff_consent", None), SlotSet("handoff_contact", None)]
