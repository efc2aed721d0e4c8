"""The engine's tracker store: Rasa's SQL store, storing every event without personal data.

Engine side (.venv-rasa, loaded by module path from endpoints.yml as
`bot.tracker_store.RedactingSQLTrackerStore`); Rasa passes the endpoint's `url` as `host` and
the other keys as keyword arguments, which `SQLTrackerStore` takes as they are. Every channel's
turns pass through `save`, so this is the one place where conversations are written: each new
event goes through `bot.redaction.redact_event` first (user text, parse data, slot values, bot
texts and payloads). Only the stored copy is redacted; the turn in progress keeps the real text,
so actions still read what the user typed.

Which events are new is decided as Rasa does, by counting the stored events of the latest session
(never by comparing texts), so a redacted row still counts as the event it stands for, and the
tracker rebuilt from redacted rows has the same dialogue state.

Erasing a conversation from the chat: the action `action_erase_conversation` cannot delete these
rows itself (the engine saves the tracker after the action and would write it back). Instead,
when a save brings that action's ActionExecuted event, all stored events of the conversation are
deleted in the same transaction and nothing of it is stored: the next message starts afresh.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot import action_validation
from bot.redaction import ERASE_ACTION, redact_event

logger = logging.getLogger(__name__)


def _erase_requested(events: list[Event]) -> bool:
    return any(
        isinstance(event, ActionExecuted) and event.action_name == ERASE_ACTION for event in events
    )


class RedactingSQLTrackerStore(SQLTrackerStore):  # type: ignore[misc]
    """`SQLTrackerStore` that redacts what it writes and erases a conversation on request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every engine of ours makes this store at start: the place to make the engine's
        # check of action answers cheaper (bot/action_validation.py).
        action_validation.install()

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)

        with self.session_scope() as session:
            new_events = list(self._additional_events(session, tracker))
            if _erase_requested(new_events):
                # Every session of the conversation, and none of the new events.
                session.query(self.SQLEvent).filter(
                    self.SQLEvent.sender_id == tracker.sender_id
                ).delete(synchronize_session=False)
                session.commit()
                logger.info("A conversation was erased at the user's request.")
                return

            for event in new_events:
                data = redact_event(event.as_dict())
                intent = data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY)
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=intent,
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()

    async def _stream_new_events(
        self, event_broker: EventBroker, new_events: list[Event], sender_id: str
    ) -> None:
        # An event broker (none is configured today) gets the same redacted events.
        for event in new_events:
            body: dict[str, Any] = {"sender_id": sender_id}
            body.update(redact_event(event.as_dict()))
            event_broker.publish(body)
