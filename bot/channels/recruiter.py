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

from bot.channels.dedup import Claim, DeliveryLog
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


async def claim(inbound: Inbound) -> Claim:
    """NEW when this delivery is to be handled here; DUPLICATE or BUSY (bot/channels/dedup.py)."""
    return await asyncio.to_thread(delivery_log().claim, inbound.channel, inbound.delivery_id)


async def done(inbound: Inbound) -> None:
    """The turn was stored: a redelivery is a duplicate from now on."""
    try:
        await asyncio.to_thread(delivery_log().done, inbound.channel, inbound.delivery_id)
    except Exception:  # the claim stays pending: a redelivery only within stale_after is BUSY
        logger.exception("Could not mark a %s delivery as handled.", inbound.channel)


async def deliver(out_channel: Any, recipient_id: str, messages: list[dict[str, Any]]) -> None:
    """Sends the replies collected during a turn, once the turn was stored.

    The turn runs against a CollectingOutputChannel: a turn whose save fails has then sent
    nothing, and the platform's redelivery is answered once, not twice.
    """
    for message in messages:
        reply = {key: value for key, value in message.items() if key != "recipient_id"}
        try:
            await out_channel.send_response(recipient_id, reply)
        except Exception as error:  # stored already: a redelivery would double the turn
            logger.warning(
                "Could not send a reply on %s (%s).", out_channel.name(), type(error).__name__
            )
            return


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
