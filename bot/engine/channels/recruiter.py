"""What the recruiter channels share, engine side (.venv-rasa): once-only delivery, recruiter
mode, the privacy notice, and for WhatsApp and Teams the turn whose replies go through the
outbox. The decisions live in stdlib modules (inbound.py, replies.py, webhook_auth.py, the
*_protocol.py modules) and in dedup.py and outbox.py, which are unit-tested from .venv; this
module only wires them to Rasa.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import Connection

from bot.common.settings import Settings, load_settings
from bot.engine.channels import outbox as channel_outbox
from bot.engine.channels.dedup import Claim, DeliveryLog
from bot.engine.channels.inbound import Inbound
from bot.engine.channels.replies import (
    PRIVACY_NOTICE_METADATA,
    BotReply,
    Button,
    bot_replies,
    buttons_of,
    language_of,
)
from bot.engine.channels.replies import (
    privacy_notice as notice_texts,
)
from bot.engine.engine_faults import StorageUnavailable

logger = logging.getLogger(__name__)

RECRUITER_SLOT = "recruiter"
LANGUAGE_SLOT = "language"

_log: DeliveryLog | None = None
_outbox: channel_outbox.ChannelOutbox | None = None
_settings: Settings | None = None


def settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


def delivery_log() -> DeliveryLog:
    # One connection pool per process to the tracker database, made on first use.
    global _log
    if _log is None:
        _log = DeliveryLog(settings().tracker_database_url)
    return _log


def outbox() -> channel_outbox.ChannelOutbox:
    """The WhatsApp and Teams replies' outbox, in the tracker database (one pool per process)."""
    global _outbox
    if _outbox is None:
        _outbox = channel_outbox.ChannelOutbox(
            settings().tracker_database_url, first_retry=settings().channel_retry_seconds
        )
    return _outbox


async def claim(inbound: Inbound) -> Claim:
    """NEW when this delivery is to be handled here; DUPLICATE or BUSY
    (bot/engine/channels/dedup.py)."""
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


@dataclass(frozen=True)
class Started:
    """What a recruiter channel needs to know of a conversation before its turn."""

    # No user message is stored yet: the privacy notice goes first after this turn.
    needs_notice: bool
    # The buttons the bot offered since the user's last message (Teams reads a pressed
    # button's title back into its payload).
    offered: tuple[Button, ...] = ()


def offered_buttons(events: Sequence[Any]) -> tuple[Button, ...]:
    """The buttons of the bot's latest question since the user's last message."""
    for event in reversed(events):
        if isinstance(event, UserUttered):
            return ()
        if isinstance(event, BotUttered):
            buttons = buttons_of((event.data or {}).get("buttons"))
            if buttons:
                return buttons
    return ()


async def start_as_recruiter(agent: Any, sender_id: str) -> Started:
    """A new conversation on a recruiter channel starts with the `recruiter` slot set.

    It gets the events Rasa's default action_session_start would write, plus the slot, so the
    first message is handled as usual and the intake questions speak of "de kandidaat". The
    domain carries slots over into new sessions, so the slot stays for the conversation.
    A conversation without a stored user message yet (new, or whose first turn failed) still
    needs the privacy notice.
    """
    domain = agent.domain
    if domain is None:
        return Started(needs_notice=False)
    async with agent.lock_store.lock(sender_id):
        tracker = await agent.tracker_store.retrieve(sender_id)
        if tracker is not None:
            events = list(tracker.events)
            answered = any(isinstance(event, UserUttered) for event in events)
            return Started(needs_notice=not answered, offered=offered_buttons(events))
        events = [ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted()]
        if RECRUITER_SLOT in {slot.name for slot in domain.slots}:
            events.append(SlotSet(RECRUITER_SLOT, True))
        events.append(ActionExecuted(ACTION_LISTEN_NAME))
        tracker = DialogueStateTracker.from_events(sender_id, events, domain.slots)
        await agent.tracker_store.save(tracker)
    return Started(needs_notice=True)


@dataclass(frozen=True)
class Notice:
    """The privacy notice sent in a conversation (empty when it had been sent already)."""

    texts: tuple[str, ...]
    # The conversation's language after its first turn (the notice's language).
    language: str

    def as_messages(self) -> list[dict[str, Any]]:
        return [{"text": text} for text in self.texts]


async def privacy_notice(agent: Any, sender_id: str) -> Notice:
    """The recruiters' privacy notice (utter_privacy_notice_recruiter, with the link to the
    privacy statement when ZIJWIJZER_PRIVACY_URL is set) for a conversation's first turn.

    Rendered after that turn, so it is in the language the conversation took (Dutch unless the
    recruiter wrote English), and sent before the turn's replies. Stored as bot events marked
    `privacy_notice`, once: a second delivery that raced the first finds them and sends none.
    Not stored (the database failed just now): still sent, and logged.
    """
    domain = agent.domain
    if domain is None:
        return Notice((), language_of(None))
    config = settings()
    async with agent.lock_store.lock(sender_id):
        tracker = await agent.tracker_store.retrieve(sender_id)
        if tracker is None:  # erased in this very turn
            return Notice((), language_of(None))
        language = language_of(tracker.get_slot(LANGUAGE_SLOT))
        if any(
            isinstance(event, BotUttered) and (event.metadata or {}).get(PRIVACY_NOTICE_METADATA)
            for event in tracker.events
        ):
            return Notice((), language)
        texts = notice_texts(
            domain.responses,
            language,
            retention_days=config.retention_days,
            privacy_url=config.privacy_url,
        )
        for text in texts:
            tracker.update(BotUttered(text, metadata={PRIVACY_NOTICE_METADATA: True}))
        try:
            await agent.tracker_store.save(tracker)
        except StorageUnavailable:
            logger.warning("The privacy notice was sent but could not be stored.")
    return Notice(tuple(texts), language)


async def notice_after_turn(agent: Any, sender_id: str, started: Started) -> Notice | None:
    """`privacy_notice` after a stored turn that needs one; None otherwise, or when it could
    not be made (logged: the turn's own replies still go)."""
    if not started.needs_notice:
        return None
    try:
        return await privacy_notice(agent, sender_id)
    except Exception as error:
        logger.warning("No privacy notice could be made (%s).", type(error).__name__)
        return None


async def conversation_language(agent: Any, sender_id: str) -> str:
    """The conversation's `language` slot (Dutch when unknown or unreadable)."""
    try:
        tracker = await agent.tracker_store.retrieve(sender_id)
    except Exception as error:
        logger.warning("Could not read a conversation's language (%s).", type(error).__name__)
        return language_of(None)
    return language_of(tracker.get_slot(LANGUAGE_SLOT) if tracker is not None else None)


# ---- WhatsApp and Teams: turns whose replies go through the outbox ----------------------------


class TurnOutcome(enum.Enum):
    STORED = "stored"  # the turn and its replies are stored: answer 200
    DUPLICATE = "duplicate"  # handled before: answer 200, do nothing
    BUSY = "busy"  # another attempt is running: the platform should come back (503)
    UNSTORED = "unstored"  # the database failed: nothing was kept, the platform retries (503)
    FAILED = "failed"  # handling failed otherwise: released, the platform retries (500)


# The platform messages for a turn's replies, given the conversation's language (which only
# labels: a list message's button, the advice card's link).
Outgoing = Callable[[list[BotReply], str], list[channel_outbox.Reply]]


@dataclass(frozen=True)
class OutboxTurn:
    """How a channel wants one verified message handled."""

    inbound: Inbound
    input_channel: str
    outgoing: Outgoing
    # Whether `outgoing` needs the conversation's language for these replies.
    needs_language: Callable[[list[BotReply]], bool]
    # Until when the replies may be sent (WhatsApp's window; a day for Teams).
    not_after: float
    # Turns the user's text into what the bot reads (Teams: a pressed button's title).
    text_of: Callable[[Started], str] | None = None


async def outbox_turn(
    agent: Any,
    turn: OutboxTurn,
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
) -> TurnOutcome:
    """One message of WhatsApp or Teams: claimed once, the conversation started in recruiter
    mode, the turn run against a collector, and only once it is stored its replies (the
    privacy notice first, on a conversation's first turn) written to the outbox in the
    transaction that marks the delivery as handled. The sender sends them from there."""
    inbound = turn.inbound
    try:
        claimed = await claim(inbound)
    except Exception:
        logger.exception("Could not record a %s delivery; it will be resent.", inbound.channel)
        return TurnOutcome.UNSTORED
    if claimed is Claim.DUPLICATE:
        return TurnOutcome.DUPLICATE
    if claimed is Claim.BUSY:
        return TurnOutcome.BUSY
    collector = CollectingOutputChannel()
    try:
        started = await start_as_recruiter(agent, inbound.sender_id)
        text = turn.text_of(started) if turn.text_of is not None else inbound.text
        await on_new_message(
            UserMessage(
                text,
                collector,
                inbound.sender_id,
                input_channel=turn.input_channel,
                metadata=inbound.metadata,
            )
        )
    except StorageUnavailable:
        logger.warning(
            "Tracker store down: a %s message is refused; it comes again.", inbound.channel
        )
        await release(inbound)
        return TurnOutcome.UNSTORED
    except Exception:
        logger.exception(
            "Handling a %s message failed; the platform will resend it.", inbound.channel
        )
        await release(inbound)
        return TurnOutcome.FAILED
    # The turn is stored: nothing below may fail it (the notice and the language fall back),
    # except storing its replies, which would otherwise be lost.
    replies = bot_replies(collector.messages)
    notice = await notice_after_turn(agent, inbound.sender_id, started)
    if notice is not None:
        replies = bot_replies(notice.as_messages()) + replies
        language = notice.language
    elif turn.needs_language(replies):
        language = await conversation_language(agent, inbound.sender_id)
    else:
        language = language_of(None)
    outgoing = turn.outgoing(replies, language)

    def store_replies(connection: Connection) -> None:
        channel_outbox.add_replies(
            connection, inbound.channel, inbound.sender_id, outgoing, not_after=turn.not_after
        )

    try:
        await asyncio.to_thread(
            delivery_log().done, inbound.channel, inbound.delivery_id, also=store_replies
        )
    except Exception:
        # The turn is stored but its replies are not: the redelivery runs it again and
        # answers then (a user message twice in the history, rather than no answer).
        logger.exception("Could not store the replies of a %s turn.", inbound.channel)
        await release(inbound)
        return TurnOutcome.UNSTORED
    return TurnOutcome.STORED


class OutboxSender:
    """Sends one channel's due replies from the outbox: a background task per engine process,
    woken after every stored turn and otherwise every `interval` seconds (for retries)."""

    def __init__(
        self,
        channel: str,
        send: channel_outbox.Sender,
        *,
        interval: float = 1.0,
        close: Callable[[], None] | None = None,
    ) -> None:
        self.channel = channel
        self._send = send
        self._interval = interval
        self._close = close
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, app: Any = None, loop: Any = None) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def stop(self, app: Any = None, loop: Any = None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._close is not None:
            self._close()

    async def _run(self) -> None:
        assert self._wake is not None
        limit = 50
        while True:
            self._wake.clear()
            attempts = 0
            try:
                done = await asyncio.to_thread(
                    outbox().deliver_due, self.channel, self._send, limit=limit
                )
                attempts = done.attempts
            except Exception as error:  # the database is down: the next round tries again
                logger.warning(
                    "%s outbox round failed (%s); trying again.", self.channel, type(error).__name__
                )
            if attempts >= limit:
                continue  # more may be due
            # asyncio.wait, not wait_for: no timeout exception (asyncio's own on Python 3.10).
            waiter = asyncio.ensure_future(self._wake.wait())
            finished, _ = await asyncio.wait({waiter}, timeout=self._interval)
            if not finished:
                waiter.cancel()
