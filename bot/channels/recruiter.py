"""What the Telegram and Slack channels share, engine side (.venv-rasa): once-only delivery
and recruiter mode. The decisions live in stdlib modules (inbound.py, webhook_auth.py) and
dedup.py, which are unit-tested from .venv; this module only wires them to Rasa.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.dedup import DeliveryLog
from bot.channels.inbound import Inbound
from bot.settings import load_settings

logger = logging.getLogger(__name__)

RECRUITER_SLOT = "recruiter"

_log: DeliveryLog | None = None


def delivery_log() -> DeliveryLog:
    # One connection pool per process to the tracker database, made on first use.
    global _log
    if _log is None:
        _log = DeliveryLog(load_settings().tracker_database_url)
    return _log


async def claim(inbound: Inbound) -> bool:
    """True when this delivery is new on every instance; False for a duplicate or retry."""
    return await asyncio.to_thread(delivery_log().claim, inbound.channel, inbound.delivery_id)


async def release(inbound: Inbound) -> None:
    """Handling failed: forget the claim so that the platform's retry gets handled."""
    try:
        await asyncio.to_thread(delivery_log().release, inbound.channel, inbound.delivery_id)
    except Exception:  # the retry is then refused as a duplicate; nothing else breaks
        logger.exception("Could not release a %s delivery.", inbound.channel)


async def start_as_recruiter(agent: Any, sender_id: str) -> None:
    """A new conversation on a recruiter channel starts with the `recruiter` slot set.

    It gets the events Rasa's default action_session_start would write, plus the slot, so the
    first message is handled as usual and the intake questions speak of "de kandidaat". The
    domain carries slots over into new sessions, so the slot stays for the conversation.
    """
    domain = agent.domain
    if domain is None or RECRUITER_SLOT not in {slot.name for slot in domain.slots}:
        return
    async with agent.lock_store.lock(sender_id):
        if await agent.tracker_store.exists(sender_id):
            return
        events = [
            ActionExecuted(ACTION_SESSION_START_NAME),
            SessionStarted(),
            SlotSet(RECRUITER_SLOT, True),
            ActionExecuted(ACTION_LISTEN_NAME),
        ]
        tracker = DialogueStateTracker.from_events(sender_id, events, domain.slots)
        await agent.tracker_store.save(tracker)
