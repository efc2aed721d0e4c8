"""Conversation-level actions: what to do with input the bot did not understand."""

from __future__ import annotations

import asyncio
import logging

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import CatalogueAction
from bot.redaction import ERASE_ACTION
from bot.retention import forget_elsewhere

FALLBACK_INTENT = "nlu_fallback"
logger = logging.getLogger(__name__)


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


class ActionEraseConversation(CatalogueAction):
    """Erases the conversation the user asked to erase (and confirmed).

    The engine's rows are deleted by the tracker store when it saves this turn: its
    ActionExecuted event is the marker (bot/tracker_store.py ERASE_ACTION). Deleting them
    here would not work, since the engine writes the tracker back after the action. Here, before
    that (bot.retention.forget_elsewhere): the conversation's handoff requests with their outbox
    messages and its saved advice links go in one transaction of the app database (a request
    the webhook had already accepted is logged, as a count), then the staff console's index
    forgets it; the user gets the confirmation, and an active form stops, so nothing is asked
    after it.
    """

    def name(self) -> str:
        return ERASE_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            await asyncio.to_thread(forget_elsewhere, [tracker.sender_id])
        except Exception as error:
            # The conversation itself is still erased by the tracker store (the user asked for
            # that); its handoff requests, saved advice and index entry are left for an admin
            # to erase (python -m bot.retention erase). Only the error's class is logged: a
            # driver's message can quote the conversation id.
            logger.error(
                "Erasing a conversation's data outside the tracker store failed (%s)",
                type(error).__name__,
            )
        dispatcher.utter_message(response="utter_conversation_erased")
        events: list[EventType] = [ActiveLoop(None)]
        if tracker.active_loop.get("name"):
            events.append(SlotSet("requested_slot", None))
        return events
