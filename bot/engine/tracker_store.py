"""The engine's tracker store: Rasa's SQL store, storing every event without personal data.

Engine side (.venv-rasa, loaded by module path from endpoints.yml as
`bot.engine.tracker_store.RedactingSQLTrackerStore`); Rasa passes the endpoint's `url` as `host` and
the other keys as keyword arguments, which `SQLTrackerStore` takes as they are. Every channel's
turns pass through `save`, so this is the one place where conversations are written: each new
event goes through `bot.common.redaction.redact_event` first (user text, parse data, slot values,
bot
texts and payloads). Only the stored copy is redacted; the turn in progress keeps the real text,
so actions still read what the user typed.

A bounded history: stock Rasa loads and replays every event of the session each turn, and the
policies and the action server then walk all of them, so a turn got slower with every turn
before it. Beyond `history_events` stored events (ZIJWIJZER_TRACKER_HISTORY_EVENTS, default
400; 0: no bound) `retrieve` loads only the latest events, from a turn boundary on, preceded
by the state the older ones left: the event that started the session, the latest surviving
value of every slot (their stored, redacted rows: nothing new is written) and the names of the
loops that ran. Where that state is can only be decided by replaying Rasa's rules for applied
events (rewinds, undos, loop executions): that replay runs on three light columns of the older
rows (`_plan_history`), not on their JSON. The window starts only where the result is exact: no
later rewind or loop reaches back across it, and no loop is active and nothing paused there.
Shorter sessions load all their events, as stock Rasa does; `retrieve_full_tracker` (widget
history, exports, erasure) always loads everything. Two cheaper steps on the same path: the
latest session's start is looked up before its events are (`_event_query`), and events are read
with a table of event classes (`_deserialise`). Figures: docs/performance.md, "Long
conversations" (bench/long_conversation.py).

Which events are new: the number of events a tracker was loaded with is kept on it (`_LOADED`),
and everything after that is new. Trackers that did not come from `retrieve` fall back to Rasa's
way, counting the stored events of the latest session (never comparing texts), so a redacted
row still counts as the event it stands for.

Erasing a conversation from the chat: the action `action_erase_conversation` cannot delete these
rows itself (the engine saves the tracker after the action and would write it back). Instead,
when a save brings that action's ActionExecuted event, all stored events of the conversation are
deleted in the same transaction (with its WhatsApp and Teams replies still waiting in the
channel outbox, bot/engine/channels/outbox.py) and nothing of it is stored: the next message starts
afresh.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.utils.common import all_subclasses

from bot.common.redaction import ERASE_ACTION, redact_event
from bot.common.settings import load_settings
from bot.engine import action_validation, dialogue_states
from bot.engine.channels import outbox as channel_outbox

logger = logging.getLogger(__name__)

# Set on a tracker by `retrieve`: how many of its events are stored already.
_LOADED = "_zijwijzer_loaded_events"

# Rasa 3.6's event type names (rasa/shared/core/events.py), as stored in `type_name`; for
# actions, slots and loops `action_name` holds the action, slot or loop name.
_ACTION, _USER, _SLOT = "action", "user", "slot"
_LISTEN = "action_listen"
_SESSION_STARTED = "session_started"
_CLEARS = frozenset({_SESSION_STARTED, "restart"})  # applied events start afresh
_LOOPS = frozenset({"active_loop", "form"})  # ActiveLoop and its legacy subclass
_REJECTED = "action_execution_rejected"
_COLLAPSED = frozenset({_ACTION, _USER, "user_featurization"})
_ACTIONS, _USERS = frozenset({_ACTION}), frozenset({_USER})
# A candidate start whose state is not exact is moved back at most this often.
_MAX_MOVES = 8

Row = tuple[int, str, "str | None"]  # id, type_name, action_name


def _erase_requested(events: list[Event]) -> bool:
    return any(
        isinstance(event, ActionExecuted) and event.action_name == ERASE_ACTION for event in events
    )


@dataclass(frozen=True)
class HistoryPlan:
    """A bounded load: the rows from `start_id` on, after `prefix_ids` and `loops`."""

    start_id: int
    prefix_ids: tuple[int, ...]  # the session's start, then the latest slot values
    loops: tuple[str, ...]  # loops activated before the start (for Rasa's loop rules)


class _Replay:
    """Rasa's `DialogueStateTracker.applied_events`, on light rows, noting how far back each
    rewind, undo and loop execution looked (`reach`: the lowest id it examined)."""

    def __init__(self, rows: Sequence[Row]) -> None:
        self.loop_names = {name for _, kind, name in rows if kind in _LOOPS and name}
        self.applied: list[Row] = []
        self.reach: dict[int, int] = {}

    def step(self, row: Row) -> None:
        row_id, kind, name = row
        if kind in _CLEARS:
            self.applied = []
        elif kind == "undo":
            self.reach[row_id] = self._undo_till(_ACTIONS)
        elif kind == "rewind":
            self.reach[row_id] = min(self._undo_till(_USERS), self._undo_till(_ACTIONS))
        elif kind == _ACTION and name in self.loop_names:
            first, low = self._first_execution_or_unhappy_path(name)
            if first:
                self.applied.append(row)
            else:
                low = min(low, self._undo_till_previous_execution(name))
            self.reach[row_id] = low
        else:
            self.applied.append(row)

    def _undo_till(self, kinds: frozenset[str]) -> int:
        while self.applied:
            row_id, kind, _ = self.applied.pop()
            if kind in kinds:
                return row_id
        return -1  # not found: it ran past the first event

    def _first_execution_or_unhappy_path(self, loop: str | None) -> tuple[bool, int]:
        next_action: str | None = None
        for row_id, kind, name in reversed(self.applied):
            if kind in _LOOPS and name is None:
                return True, row_id
            if kind == _REJECTED and name == loop:
                return True, row_id
            if kind == _USER and next_action is not None and next_action != loop:
                return True, row_id
            if kind == _ACTION:
                if name == loop:
                    return False, row_id
                next_action = name
        return True, -1

    def _undo_till_previous_execution(self, loop: str | None) -> int:
        offset = 0
        for row_id, kind, name in reversed(self.applied[:]):
            if kind == _ACTION and name == loop:
                return row_id
            if kind in _COLLAPSED:
                del self.applied[len(self.applied) - 1 - offset]
            else:
                offset += 1
        return -1


def _state_at(rows: Sequence[Row], index: int) -> list[Row]:
    replay = _Replay(rows)
    for row in rows[:index]:
        replay.step(row)
    return replay.applied


def _plan_history(rows: Sequence[Row], keep: int) -> HistoryPlan | None:
    """Where a tracker of the session `rows` (in id order) can start so that it holds about
    `keep` events and predicts exactly as the whole session would; None: load everything."""
    if keep <= 0 or len(rows) <= keep:
        return None
    replay = _Replay(rows)
    for row in rows:
        replay.step(row)
    # Lowest id examined by any rewind, undo or loop execution at or after each position.
    reach_from = [0] * (len(rows) + 1)
    reach_from[len(rows)] = rows[-1][0] + 1
    for i in range(len(rows) - 1, -1, -1):
        reach_from[i] = min(reach_from[i + 1], replay.reach.get(rows[i][0], rows[i][0]))

    def candidate_before(limit: int) -> int | None:
        # A turn boundary (action_listen) that nothing after it reaches back across.
        for i in range(min(limit, len(rows) - 1), 0, -1):
            row_id, kind, name = rows[i]
            if kind == _ACTION and name == _LISTEN and reach_from[i] >= row_id:
                return i
        return None

    index = candidate_before(len(rows) - keep)
    for _ in range(_MAX_MOVES):
        if index is None:
            return None
        applied = _state_at(rows, index)
        loop = next((row for row in reversed(applied) if row[1] in _LOOPS), None)
        paused = next((row for row in reversed(applied) if row[1] in ("pause", "resume")), None)
        if loop is not None and loop[2] is not None:
            index = candidate_before(rows.index(loop) - 1)  # before the loop's activation
        elif paused is not None and paused[1] == "pause":
            index = candidate_before(rows.index(paused) - 1)
        else:
            return _plan_at(rows, index, applied)
    return None


def _plan_at(rows: Sequence[Row], index: int, applied: list[Row]) -> HistoryPlan:
    start_id = rows[index][0]
    clear = next((row[0] for row in reversed(rows[:index]) if row[1] in _CLEARS), None)
    # Slot values as a replay of the applied events leaves them: after the latest reset.
    resets = [i for i, row in enumerate(applied) if row[1] == "reset_slots"]
    latest: dict[str, int] = {}
    for row_id, kind, name in applied[resets[-1] + 1 if resets else 0 :]:
        if kind == _SLOT and name is not None:
            latest[name] = row_id
    prefix = ([clear] if clear is not None else []) + sorted(latest.values())
    loops = sorted({name for _, kind, name in rows[:index] if kind in _LOOPS and name})
    return HistoryPlan(start_id, tuple(prefix), tuple(loops))


class RedactingSQLTrackerStore(SQLTrackerStore):  # type: ignore[misc]
    """`SQLTrackerStore` that redacts what it writes, loads a bounded history and erases a
    conversation on request."""

    def __init__(self, *args: Any, history_events: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # endpoints.yml may set it; otherwise ZIJWIJZER_TRACKER_HISTORY_EVENTS.
        if history_events is None:
            history_events = load_settings().tracker_history_events
        self.history_events = history_events
        # Every engine of ours makes this store at start: the place to make the engine's
        # check of action answers (bot/engine/action_validation.py) and its dialogue states
        # (bot/engine/dialogue_states.py) cheaper.
        action_validation.install()
        dialogue_states.install()

    def _event_query(
        self, session: Any, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Any:
        """Rasa's query of a conversation's events (of its latest session, or all), with the
        start of the latest session looked up first. Rasa joins that lookup into the query,
        and PostgreSQL may then run it once per event: a 1,400-event session took 160 ms."""
        event = self.SQLEvent
        query = session.query(event).filter(event.sender_id == sender_id)
        if not fetch_events_from_all_sessions:
            start = (
                session.query(sa.func.max(event.timestamp))
                .filter(event.sender_id == sender_id, event.type_name == _SESSION_STARTED)
                .scalar()
            )
            if start is not None:
                query = query.filter(event.timestamp >= start)
        return query.order_by(event.id)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session, bounded to about `history_events` events (module docstring)."""
        tracker = await self._retrieve_bounded(sender_id)
        if tracker is not None:
            setattr(tracker, _LOADED, len(tracker.events))
        return tracker

    async def latest_user_event(self, sender_id: str) -> dict[str, Any] | None:
        """The conversation's latest stored user message, as stored (one indexed row, nothing
        deserialised): the widget channel's check that a message id was already handled."""
        table = self.SQLEvent.__table__
        with self.session_scope() as session:
            data = session.execute(
                sa.select(table.c.data)
                .where(table.c.sender_id == sender_id, table.c.type_name == "user")
                .order_by(table.c.id.desc())
                .limit(1)
            ).scalar()
        if data is None:
            return None
        found = json.loads(data) if isinstance(data, str) else data
        return found if isinstance(found, dict) else None

    async def _retrieve_bounded(self, sender_id: str) -> DialogueStateTracker | None:
        if self.history_events <= 0 or not self.domain:
            return await self._retrieve(sender_id, fetch_events_from_all_sessions=False)
        # Core statements on the table, not ORM queries: the same SQL, without the ORM's
        # per-query work (about a third of a short session's read, profiled).
        table = self.SQLEvent.__table__
        with self.session_scope() as session:
            start = session.execute(
                sa.select(sa.func.max(table.c.timestamp)).where(
                    table.c.sender_id == sender_id, table.c.type_name == _SESSION_STARTED
                )
            ).scalar()
            where = [table.c.sender_id == sender_id]
            if start is not None:
                where.append(table.c.timestamp >= start)
            rows: list[Row] = [
                (row_id, kind, name)
                for row_id, kind, name in session.execute(
                    sa.select(table.c.id, table.c.type_name, table.c.action_name)
                    .where(*where)
                    .order_by(table.c.id)
                )
            ]
            plan = _plan_history(rows, self.history_events)
            if plan is None:
                data = list(
                    session.execute(
                        sa.select(table.c.data).where(*where).order_by(table.c.id)
                    ).scalars()
                )
            else:
                wanted = session.execute(
                    sa.select(table.c.id, table.c.data)
                    .where(
                        *where,
                        sa.or_(table.c.id >= plan.start_id, table.c.id.in_(plan.prefix_ids)),
                    )
                    .order_by(table.c.id)
                )
                data = _with_loops([tuple(row) for row in wanted], plan)
        if not data:
            return None
        events = _deserialise(json.loads(item) if isinstance(item, str) else item for item in data)
        return DialogueStateTracker.from_events(sender_id, events, self.domain.slots)

    def _new_events(self, session: Any, tracker: DialogueStateTracker) -> list[Event]:
        loaded = getattr(tracker, _LOADED, None)
        if isinstance(loaded, int):
            return list(tracker.events)[loaded:]
        return list(self._additional_events(session, tracker))

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        # Stock Rasa diffs against a fresh `retrieve`, which is bounded here: the same new
        # events as `save` instead.
        if self.event_broker is None:
            return
        with self.session_scope() as session:
            new_events = self._new_events(session, tracker)
        await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)

        with self.session_scope() as session:
            new_events = self._new_events(session, tracker)
            if _erase_requested(new_events):
                # Every session of the conversation, and none of the new events.
                session.query(self.SQLEvent).filter(
                    self.SQLEvent.sender_id == tracker.sender_id
                ).delete(synchronize_session=False)
                # And the WhatsApp/Teams replies still waiting to be sent (they hold its texts).
                channel_outbox.erase_conversation(session.connection(), tracker.sender_id)
                session.commit()
                setattr(tracker, _LOADED, len(tracker.events))
                logger.info("A conversation was erased at the user's request.")
                return

            rows = []
            for event in new_events:
                data = redact_event(event.as_dict())
                intent = data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY)
                rows.append(
                    {
                        "sender_id": tracker.sender_id,
                        "type_name": event.type_name,
                        "timestamp": data.get("timestamp"),
                        "intent_name": intent,
                        "action_name": data.get("name"),
                        "data": json.dumps(data),
                    }
                )
            if rows:
                # One multi-row INSERT: the ORM's unit of work made an object per event.
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()
        # A second save of the same tracker stores only what came after this one.
        setattr(tracker, _LOADED, len(tracker.events))

    async def _stream_new_events(
        self, event_broker: EventBroker, new_events: list[Event], sender_id: str
    ) -> None:
        # An event broker (none is configured today) gets the same redacted events.
        for event in new_events:
            body: dict[str, Any] = {"sender_id": sender_id}
            body.update(redact_event(event.as_dict()))
            event_broker.publish(body)


def _deserialise(items: Iterable[dict[str, Any]]) -> list[Event]:
    """Rasa's `deserialise_events`, finding each event's class in a table: Rasa walks every
    subclass of Event for each event, which took a third of a bounded load."""
    classes: dict[str, type[Event]] = {}
    for cls in all_subclasses(Event):
        classes.setdefault(cls.type_name, cls)  # the first, as Rasa's lookup takes
    events = []
    for item in items:
        if "event" not in item:
            continue
        cls = classes.get(item["event"])
        event = cls._from_parameters(item) if cls is not None else Event.from_parameters(item)
        if event:
            events.append(event)
        else:
            logger.warning("An event could not be read and was left out: %s", item.get("event"))
    return events


def _with_loops(rows: list[tuple[Any, ...]], plan: HistoryPlan) -> list[Any]:
    """The rows' data, with each earlier loop activated and ended right after the session's
    start: Rasa's loop rules look for loop names among all events (`applied_events`), and
    the ended loop leaves the state as it was."""
    data = [row[1] for row in rows]
    if not plan.loops:
        return data
    first = json.loads(data[0])
    stamp = first.get("timestamp")
    loops: list[Any] = []
    for name in plan.loops:
        loops.append({"event": "active_loop", "timestamp": stamp, "name": name})
        loops.append({"event": "active_loop", "timestamp": stamp, "name": None})
    at = 1 if first.get("event") in _CLEARS else 0
    return data[:at] + loops + data[at:]
