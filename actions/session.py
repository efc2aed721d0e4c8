"""Conversation-level actions: what to do with input the bot did not understand."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import CatalogueAction

FALLBACK_INTENT = "nlu_fallback"


class ActionFallback(CatalogueAction):
    """First not-understood message: ask to rephrase; the second in a row: offer a person."""

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intents = [
            (event.get("parse_data") or {}).get("intent", {}).get("name")
            for event in tracker.events
            if event.get("event") == "user"
        ]
        if len(intents) >= 2 and intents[-1] == intents[-2] == FALLBACK_INTENT:
            dispatcher.utter_message(response="utter_offer_human")
        else:
            dispatcher.utter_message(response="utter_default")
        return []
