"""Erasing the conversation at the user's request: ask first, then erase.

The engine's rows are deleted by the tracker store when it saves the turn in which
`action_erase_conversation` ran: its ActionExecuted event is the marker
(bot/engine/tracker_store.py, ERASE_ACTION). The dialogue runs that action as its follow-up once the
person said yes; the action deletes what lives elsewhere first (`forget_elsewhere` of the app
stores, bot.app.retention: handoff requests with their outbox messages, saved advice links,
the staff console's index).
"""

from __future__ import annotations

import asyncio
import logging

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import CatalogueAction
from actions.conversation import Conversation, app_stores
from actions.turn import ERASE_CONFIRM
from bot.common.redaction import ERASE_ACTION

logger = logging.getLogger(__name__)


def confirm(c: Conversation) -> None:
    c.reply.ask("utter_ask_erase_confirm")
    c.ask_open(ERASE_CONFIRM)


def erase(c: Conversation) -> None:
    """Yes: the erase action runs next (it says it is done)."""
    c.ask_open(None)
    c.reply.followup = ERASE_ACTION


def cancel(c: Conversation) -> None:
    c.ask_open(None)
    c.reply.say("utter_erase_cancelled")


class ActionEraseConversation(CatalogueAction):
    """Erases the conversation the user asked to erase (and confirmed)."""

    def name(self) -> str:
        return ERASE_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            await asyncio.to_thread(app_stores().forget_elsewhere, [tracker.sender_id])
        except Exception as error:
            # The conversation itself is still erased by the tracker store (the user asked for
            # that); its handoff requests, saved advice and index entry are left for an admin
            # to erase (python -m bot.app.retention erase). Only the error's class is logged: a
            # driver's message can quote the conversation id.
            logger.error(
                "Erasing a conversation's data outside the tracker store failed (%s)",
                type(error).__name__,
            )
        dispatcher.utter_message(response="utter_conversation_erased")
        return []
