"""How the engine behaves when the tracker database or the action server fails (Rasa 3.6).

Engine side (.venv-rasa). `install()` is called by bot/engine/main.py before Rasa starts; standard
library only at import time, so the channels can import `StorageUnavailable` cheaply.

Tracker database. Stock Rasa wraps the store in `FailSafeTrackerStore`: on an error it logs,
falls back to an in-memory store and keeps answering, so turns are silently lost (and a failed
read starts the conversation afresh). Instead:
- every store error (SQLAlchemy, OS/connection) is raised as `StorageUnavailable`, so the turn
  fails and each channel refuses it honestly (503 for the widget and REST, a non-2xx status for
  Telegram and Slack, which then redeliver); nothing is answered that was not stored: the
  REST/widget answers are collected and only returned after the save;
- the SQL store connects lazily: Rasa's own `__init__` blocks the event loop in a retry loop
  (`sleep(5)`) while the database is down at start; ours makes the tables on first use;
- connections are checked before use (`pool_pre_ping`) and time out (`connect_timeout`), so
  stale connections after a database restart are replaced instead of failing a turn.

Action server. Rasa 3.6 waits 300 s for an action, then drops its events and carries on.
Here a call has ZIJWIJZER_ACTION_TIMEOUT_SECONDS (default 5 s) in all. An attempt gets half of
that at most; an attempt that fails (no answer in time, connection refused, 5xx: a stalled or
dead action server) is tried once more with the time left, which the load balancer sends to
another action server (HAProxy takes a server that timed out out of rotation at once:
deploy/haproxy.cfg). That is safe because actions with a side effect are idempotent
(bot/common/idempotency.py): both attempts carry the same idempotency key, and each call carries the
moment after which its answer no longer counts (`DEADLINE_HEADER`: the call's start plus its
budget, less a margin for the answer's way back), after which the action server stores nothing.
When the budget is spent the user gets `utter_action_unavailable` (through the domain's NLG,
so in their language) and the bot listens; a form's validation that failed puts the slots of
the current message back, so the form asks the same question again. After a failed call in a
turn the other calls of that turn fail at once (one timeout per turn, not one per action).
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import logging
import time
from typing import Any

from bot.engine import action_client

logger = logging.getLogger(__name__)

UNAVAILABLE_RESPONSE = "utter_action_unavailable"
STORAGE_RESPONSE = "utter_storage_unavailable"
# What the channels tell a client to wait; the friendly text says "over een minuut".
STORAGE_RETRY_AFTER_SECONDS = 60
# A connection attempt to the tracker database that takes longer has failed.
DATABASE_CONNECT_TIMEOUT_SECONDS = 5
_MARK = "_zijwijzer_faults"
# An attempt at an action call gets at most this share of the call's time; the rest is for a
# second attempt (on another action server).
ATTEMPT_SHARE = 0.5
# A second attempt only with at least this much time left.
MIN_RETRY_SECONDS = 0.25
# The action server must have stored an effect this long before the engine gives up, so that
# its answer can still arrive (bot/common/idempotency.py).
DEADLINE_MARGIN_SECONDS = 0.5

# The turn (conversation, user message id) in which an action call failed: later calls of
# that turn fail at once. Keyed by turn, since Sanic serves a keep-alive connection's requests
# in one task (one context).
_failed_turn: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "zijwijzer_failed_turn", default=None
)


def _turn_of(tracker: Any) -> tuple[str, str] | None:
    message_id = getattr(getattr(tracker, "latest_message", None), "message_id", None)
    return None if message_id is None else (str(tracker.sender_id), str(message_id))


class StorageUnavailable(Exception):
    """The tracker store could not read or write a conversation: refuse the turn."""

    retry_after = STORAGE_RETRY_AFTER_SECONDS


def install(action_timeout: float | None = None) -> None:
    """Installs the patches (once); `action_timeout` defaults to the settings' value."""
    if action_timeout is None:
        from bot.common.settings import load_settings

        action_timeout = load_settings().action_timeout_seconds
    _install_strict_tracker_store()
    _install_lazy_sql_store()
    _install_action_timeout(action_timeout)


# ------------------------------------------------------------------ tracker store


def _is_storage_error(error: BaseException) -> bool:
    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(error, (SQLAlchemyError, OSError, ConnectionError))


def strict_tracker_store(store: Any) -> Any:
    """The agent's store: `store` with every storage error raised as `StorageUnavailable`."""
    from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore

    class StrictTrackerStore(FailSafeTrackerStore):  # type: ignore[misc]
        """Rasa's fail-safe wrapper (kept for isinstance checks) without the fallback."""

        async def _call(self, method: str, *args: Any) -> Any:
            try:
                return await getattr(self._tracker_store, method)(*args)
            except Exception as error:
                if not _is_storage_error(error):
                    raise
                # The error's class only: its text may hold the database URL.
                logger.error(
                    "Tracker store unreachable (%s at %s); the turn is refused.",
                    type(error).__name__,
                    method,
                )
                raise StorageUnavailable(method) from error

        async def retrieve(self, sender_id: str) -> Any:
            return await self._call("retrieve", sender_id)

        async def retrieve_full_tracker(self, sender_id: str) -> Any:
            return await self._call("retrieve_full_tracker", sender_id)

        async def keys(self) -> Any:
            return await self._call("keys")

        async def save(self, tracker: Any) -> None:
            await self._call("save", tracker)

        async def latest_user_event(self, sender_id: str) -> dict[str, Any] | None:
            """The latest stored user message (bot/engine/tracker_store.py); None from a store
            that cannot tell cheaply."""
            if not hasattr(self._tracker_store, "latest_user_event"):
                return None
            found: dict[str, Any] | None = await self._call("latest_user_event", sender_id)
            return found

    return StrictTrackerStore(store if store is not None else InMemoryTrackerStore(None))


def _install_strict_tracker_store() -> None:
    from rasa.core.agent import Agent

    if getattr(Agent._create_tracker_store, _MARK, False):
        return

    def _create_tracker_store(store: Any, domain: Any) -> Any:
        if store is not None:
            store.domain = domain
        strict = strict_tracker_store(store)
        strict.domain = domain
        return strict

    setattr(_create_tracker_store, _MARK, True)
    Agent._create_tracker_store = staticmethod(_create_tracker_store)


def engine_options(url: Any, rasa_options: dict[str, Any]) -> dict[str, Any]:
    """`create_engine` options: Rasa's, plus a checked pool and a connect timeout.

    A SQLite file gets a pool of kept connections, as SQLAlchemy 2.0 gives it by default:
    1.4 (Rasa's) opens and closes a connection for every session, two or three per turn.
    """
    from sqlalchemy.pool import QueuePool

    options: dict[str, Any] = {**rasa_options, "pool_pre_ping": True}
    connect_args = dict(options.get("connect_args", {}))
    if str(url).startswith("postgres"):
        connect_args.setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT_SECONDS)
        options["connect_args"] = connect_args
    elif _is_sqlite_file(url):
        # The pool may hand a connection to another thread than the one that opened it;
        # each is used by one session at a time.
        connect_args.setdefault("check_same_thread", False)
        options["connect_args"] = connect_args
        options["poolclass"] = QueuePool
    return options


def _is_sqlite_file(url: Any) -> bool:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")


def use_write_ahead_log(engine: Any) -> None:
    """SQLite in write-ahead-log mode, synced at checkpoints (`synchronous=NORMAL`): a commit
    appends to one file without waiting for the disk (about 0.6 ms a commit here, in the
    engine's event loop), and readers in other processes (web app, console) do not block it.
    Every committed turn survives a crash of the engine; a power cut or an operating-system
    crash may take back the last few. That is the single-machine setup (`make run`);
    production's PostgreSQL syncs every commit."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _write_ahead_log(connection: Any, record: Any) -> None:
        cursor = connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()


def _install_lazy_sql_store() -> None:
    import sqlalchemy as sa
    from rasa.core import tracker_store as rasa_stores
    from rasa.core.tracker_store import SQLTrackerStore, TrackerStore

    if getattr(SQLTrackerStore.__init__, _MARK, False):
        return
    original_init = SQLTrackerStore.__init__
    original_scope = SQLTrackerStore.session_scope

    def __init__(
        self: Any,
        domain: Any = None,
        dialect: str = "sqlite",
        host: str | None = None,
        port: int | None = None,
        db: str = "rasa.db",
        username: str | None = None,
        password: str | None = None,
        event_broker: Any = None,
        login_db: str | None = None,
        query: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if login_db:  # creating the database first: Rasa's own way (not used by us)
            original_init(
                self, domain, dialect, host, port, db, username, password, event_broker,
                login_db, query, **kwargs,
            )  # fmt: skip
            self._zijwijzer_tables_ready = True
            return
        url = self.get_db_url(
            dialect, host, rasa_stores.validate_port(port), db, username, password, None, query
        )
        self.engine = sa.create_engine(
            url, **engine_options(url, rasa_stores.create_engine_kwargs(url))
        )
        if _is_sqlite_file(url):
            use_write_ahead_log(self.engine)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self._zijwijzer_tables_ready = False
        try:
            _ensure_tables(self)
        except sa.exc.SQLAlchemyError as error:
            # Not fatal and not in memory: each turn is refused until the database answers.
            logger.warning(
                "Tracker database unreachable at start (%s); turns are refused until it is.",
                type(error).__name__,
            )
        TrackerStore.__init__(self, domain, event_broker, **kwargs)

    def session_scope(self: Any) -> Any:
        if not getattr(self, "_zijwijzer_tables_ready", True):
            _ensure_tables(self)
        return original_scope(self)

    setattr(__init__, _MARK, True)
    SQLTrackerStore.__init__ = __init__
    SQLTrackerStore.session_scope = session_scope


def _ensure_tables(store: Any) -> None:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        store.Base.metadata.create_all(store.engine)
    except ProgrammingError:
        # Another engine instance made them at the same moment: a second look settles it.
        store.Base.metadata.create_all(store.engine)
    except OperationalError:
        raise
    store._zijwijzer_tables_ready = True


# ------------------------------------------------------------------ action server


def _install_action_timeout(timeout: float) -> None:
    from rasa.core.actions import action as rasa_actions

    # The HTTP request itself gives up after `timeout` (Rasa passes this module constant).
    rasa_actions.DEFAULT_REQUEST_TIMEOUT = timeout
    remote = rasa_actions.RemoteAction
    if getattr(remote.run, _MARK, False):
        remote.run.__dict__["timeout"] = timeout
        return
    action_client.install()  # the call itself, wrapped here
    original_run = remote.run

    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> Any:
        turn = _turn_of(tracker)
        if turn is not None and _failed_turn.get() == turn:
            # Told once already this turn: no second wait, no second message.
            return await unavailable_events(self.name(), nlg, tracker, domain, output_channel)
        budget = float(run.__dict__["timeout"])
        started = time.monotonic()
        deadline = time.time() + budget - DEADLINE_MARGIN_SECONDS
        endpoint = self.action_endpoint
        attempt = 0
        try:
            while True:
                attempt += 1
                left = budget - (time.monotonic() - started)
                self.action_endpoint = with_deadline(endpoint, deadline)
                try:
                    # The whole attempt, connection and answer, within its share.
                    return await asyncio.wait_for(
                        original_run(self, output_channel, nlg, tracker, domain),
                        min(left, budget * ATTEMPT_SHARE) if attempt == 1 else left,
                    )
                except rasa_actions.ActionExecutionRejection:
                    raise  # a form's "not this slot": normal flow
                except Exception as error:
                    if not _is_action_failure(error):
                        raise
                    left = budget - (time.monotonic() - started)
                    if attempt > 1 or left < MIN_RETRY_SECONDS:
                        raise
                    logger.warning(
                        "Action server call failed for %s after %.1f s (%s); trying again.",
                        self.name(),
                        time.monotonic() - started,
                        type(error).__name__,
                    )
        except rasa_actions.ActionExecutionRejection:
            raise
        except Exception as error:
            if not _is_action_failure(error):
                raise
            _failed_turn.set(turn)
            logger.warning(
                "Action server call failed for %s after %.1f s and %d attempts (%s); "
                "the user is told.",
                self.name(),
                time.monotonic() - started,
                attempt,
                type(error).__name__,
            )
            return await unavailable_events(
                self.name(), nlg, tracker, domain, output_channel, tell=True
            )
        finally:
            self.action_endpoint = endpoint

    run.__dict__["timeout"] = timeout
    setattr(run, _MARK, True)
    remote.run = run


def with_deadline(endpoint: Any, deadline: float) -> Any:
    """A copy of the action server's EndpointConfig whose requests carry the call's deadline."""
    if endpoint is None:
        return None
    from bot.common.idempotency import DEADLINE_HEADER

    clone = copy.copy(endpoint)  # the shared one stays as it is
    clone.headers = {**(endpoint.headers or {}), DEADLINE_HEADER: f"{deadline:.3f}"}
    return clone


def _is_action_failure(error: BaseException) -> bool:
    import aiohttp  # only in .venv-rasa (pyproject.toml: no stubs needed)
    from rasa.shared.exceptions import RasaException

    return isinstance(error, (RasaException, asyncio.TimeoutError, aiohttp.ClientError, OSError))


async def unavailable_events(
    action_name: str,
    nlg: Any,
    tracker: Any,
    domain: Any,
    output_channel: Any,
    *,
    tell: bool = False,
) -> list[Any]:
    """What a failed action call leaves in the conversation.

    Validation of a form (`validate_*`): the slots set since the user's message, and the slot
    the form asked for, are set back to their earlier values: the form counts that as
    validated (no rejection, which would drop the message and fall back) and asks its
    question again. Any other action: the bot listens next (no loop of predictions).
    `tell`: with the friendly message (once a turn).
    """
    from rasa.core.actions.action import create_bot_utterance
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import FollowupAction

    events: list[Any] = []
    if tell and UNAVAILABLE_RESPONSE in domain.responses:
        message = await nlg.generate(UNAVAILABLE_RESPONSE, tracker, output_channel.name())
        if message:
            message.setdefault("utter_action", UNAVAILABLE_RESPONSE)
            events.append(create_bot_utterance(message))
    if action_name.startswith("validate_"):
        events.extend(_slots_before_last_message(tracker, domain))
    else:
        events.append(FollowupAction(ACTION_LISTEN_NAME))
    return events


def _slots_before_last_message(tracker: Any, domain: Any) -> list[Any]:
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    events = list(tracker.events)
    last_user = max(
        (index for index, event in enumerate(events) if isinstance(event, UserUttered)),
        default=None,
    )
    if last_user is None:
        return []
    before = DialogueStateTracker.from_events(tracker.sender_id, events[:last_user], domain.slots)
    changed = {event.key for event in events[last_user:] if isinstance(event, SlotSet)}
    asked = tracker.get_slot("requested_slot")
    if isinstance(asked, str) and asked in {slot.name for slot in domain.slots}:
        changed.add(asked)
    changed.discard("requested_slot")
    return [SlotSet(name, before.get_slot(name)) for name in sorted(changed)]
