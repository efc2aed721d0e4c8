"""The engine's lock store: one turn of a conversation at a time, across engine instances.

Engine side (.venv-rasa), named in endpoints.yml as `bot.engine.lock_store.ConversationLockStore`
with
`url: ${ZIJWIJZER_REDIS_URL}`. Rasa builds it with `ConversationLockStore(endpoint_config=...)`
(rasa/core/lock_store.py) and wraps every turn in `lock_store.lock(conversation_id)`: a ticket
lock (rasa/core/lock.py), served in the order the tickets were issued.

- URL empty (`make run`, one engine): the locks live in this process, as Rasa's
  InMemoryLockStore keeps them; one event loop changes them, so every change is atomic.
- URL set (several engines): the locks live in Redis. Rasa 3.6's RedisLockStore reads the lock,
  changes it in Python and writes it back: two engines issuing a ticket at once can both get the
  same number (two turns of one conversation at the same time), and a cleanup can delete a
  ticket issued in between. Here every read-change-write (issuing a ticket, removing expired
  ones, finishing a ticket and deleting an empty lock) is one optimistic transaction
  (WATCH/MULTI/EXEC, retried when another engine changed the lock in between). A lock key
  expires in Redis a while after its last ticket, so an engine killed mid-turn leaves nothing
  behind for good.
- Tickets are short-lived and kept alive: a ticket lives `ticket_lifetime` seconds (the action
  timeout plus a second by default, not Rasa's minute) and the engine holding it renews it every
  third of that while the turn waits or runs. A ticket whose engine died, or whose release failed
  (Redis cut at the end of a turn), stops being renewed and expires within `ticket_lifetime`, so
  the conversation is free again seconds after Redis is back.
- Waiting has a deadline: a turn that has not got its conversation's lock after `lock_wait`
  seconds (twice the ticket lifetime by default) fails with `LockTimeout` (a LockError: the
  channel refuses the turn honestly), instead of waiting for as long as the tickets before it.
- A release that fails after the turn ran (and was stored) is logged, not raised: the turn is
  answered; its ticket expires by itself.
- Redis unreachable or failing: `LockStoreUnavailable` (a LockError), so the turn fails and the
  channel answers with an error; never an in-memory lock instead (that would let two engines
  process one conversation at once). Logged once when Redis becomes unreachable and once when it
  is back, not on every turn.

Rasa's lock store API is synchronous (it is called from the event loop): short socket timeouts
keep a hanging Redis from stalling the engine for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "zijwijzer"
# Seconds a Redis command may take (it blocks the engine's event loop meanwhile).
DEFAULT_SOCKET_TIMEOUT_SECONDS = 2.0
# A lock key outlives its last ticket by this long, then Redis drops it (crashed engines).
KEY_GRACE_SECONDS = 10
# How often a waiting turn looks whether its ticket is being served (Rasa: every second).
POLL_SECONDS = 0.05
# Tickets are renewed this many times per lifetime while their turn waits or runs.
RENEWALS_PER_LIFETIME = 3

T = TypeVar("T")


class LockStoreUnavailable(LockError):  # type: ignore[misc]  # rasa has no type information
    """Redis could not be reached or failed: the turn cannot be locked, so it is refused."""


class LockTimeout(LockError):  # type: ignore[misc]
    """The conversation's lock was not free within the wait's deadline: the turn is refused."""


def default_ticket_lifetime() -> float:
    """The action timeout plus a second: the longest a turn waits on anything but its lock."""
    from bot.common.settings import load_settings

    return load_settings().action_timeout_seconds + 1.0


def _describe(url: str) -> str:
    """host:port/db of a Redis URL, without credentials (for the log)."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"


class ConversationLockStore(LockStore):  # type: ignore[misc]
    """Ticket locks in Redis (atomic changes) when a URL is configured, else in memory."""

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        *,
        url: str | None = None,
        key_prefix: str | None = None,
        socket_timeout: float | None = None,
        ticket_lifetime: float | None = None,
        lock_wait: float | None = None,
    ) -> None:
        options: dict[str, Any] = dict(endpoint_config.kwargs) if endpoint_config else {}
        url = (url if url is not None else getattr(endpoint_config, "url", None)) or ""
        prefix = key_prefix or options.get("key_prefix") or DEFAULT_KEY_PREFIX
        self.key_prefix = f"{prefix}:lock:"
        self.ticket_lifetime = float(
            ticket_lifetime or options.get("ticket_lifetime") or default_ticket_lifetime()
        )
        self.lock_wait = float(lock_wait or options.get("lock_wait") or 2 * self.ticket_lifetime)
        self._memory: dict[str, TicketLock] = {}
        self._redis: Any = None
        self._where = ""
        self._down = False
        if url.strip():
            import redis  # only when configured

            timeout = float(
                socket_timeout or options.get("socket_timeout") or DEFAULT_SOCKET_TIMEOUT_SECONDS
            )
            self._redis = redis.Redis.from_url(
                url.strip(), socket_timeout=timeout, socket_connect_timeout=timeout
            )
            self._where = _describe(url.strip())
            logger.info("Conversation locks in Redis at %s.", self._where)
        super().__init__()

    @property
    def uses_redis(self) -> bool:
        return self._redis is not None

    # ---- storage (Rasa's LockStore API) ------------------------------------------------

    def _key(self, conversation_id: str) -> str:
        return self.key_prefix + conversation_id

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        if self._redis is None:
            return self._memory.get(conversation_id)
        raw = self._call(lambda: self._redis.get(self._key(conversation_id)))
        return TicketLock.from_dict(json.loads(raw)) if raw else None

    def delete_lock(self, conversation_id: str) -> None:
        if self._redis is None:
            deleted = self._memory.pop(conversation_id, None) is not None
        else:
            deleted = bool(self._call(lambda: self._redis.delete(self._key(conversation_id))))
        self._log_deletion(conversation_id, deleted)

    def save_lock(self, lock: TicketLock) -> None:
        if self._redis is None:
            self._memory[lock.conversation_id] = lock
            return
        self._call(
            lambda: self._redis.set(
                self._key(lock.conversation_id), lock.dumps(), px=_time_to_live_ms(lock)
            )
        )

    # ---- a turn's lock: short tickets kept alive, a deadline, a release that never fails a turn

    @contextlib.asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float | None = None,
        wait_time_in_seconds: float = POLL_SECONDS,
    ) -> AsyncIterator[TicketLock]:
        """Rasa's `LockStore.lock`, with the ticket kept alive while its turn waits or runs,
        a deadline on the wait, and a failed release logged instead of failing the turn.

        `lock_lifetime` is ignored: Rasa passes its minute-long default; ours is
        `ticket_lifetime`, renewed.
        """
        lifetime = self.ticket_lifetime
        ticket = self.issue_ticket(conversation_id, lifetime)
        renewing = asyncio.ensure_future(self._keep_alive(conversation_id, ticket, lifetime))
        try:
            yield await self._wait_for_turn(
                conversation_id, ticket, min(wait_time_in_seconds, POLL_SECONDS)
            )
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            try:
                self.cleanup(conversation_id, ticket)
            except LockError:
                # The turn itself is done (stored, or failed on its own): never make it fail
                # here. The ticket is no longer renewed and expires within its lifetime.
                logger.warning(
                    "A conversation's lock could not be released; its ticket expires within "
                    "%.0f s.",
                    lifetime,
                )

    async def _wait_for_turn(
        self, conversation_id: str, ticket: int, poll_seconds: float
    ) -> TicketLock:
        deadline = time.monotonic() + self.lock_wait
        while True:
            lock = self.get_lock(conversation_id)
            if lock is not None:
                lock.remove_expired_tickets()  # a dead engine's ticket no longer counts
            if lock is None or not any(t.number == ticket for t in lock.tickets):
                # Our ticket expired (it was not renewed in time): the order is lost.
                raise LockTimeout("the turn's ticket expired while it waited")
            if not lock.is_locked(ticket):
                return lock
            if time.monotonic() >= deadline:
                raise LockTimeout(f"the conversation's lock was not free within {self.lock_wait} s")
            await asyncio.sleep(poll_seconds)

    async def _keep_alive(self, conversation_id: str, ticket: int, lifetime: float) -> None:
        """Renews the ticket every third of its lifetime until cancelled."""
        while True:
            await asyncio.sleep(lifetime / RENEWALS_PER_LIFETIME)
            # Redis down: logged by _call; tried again at the next renewal.
            with contextlib.suppress(LockError):
                self.renew_ticket(conversation_id, ticket, lifetime)

    def renew_ticket(self, conversation_id: str, ticket_number: int, lifetime: float) -> bool:
        """Moves the ticket's expiry to `lifetime` from now; False when it is gone."""

        def renew(lock: TicketLock | None) -> tuple[TicketLock | None, bool]:
            found = (
                next((t for t in lock.tickets if t.number == ticket_number), None) if lock else None
            )
            if found is not None:
                found.expires = time.time() + lifetime
            return lock, found is not None

        return self._change(conversation_id, renew)

    # ---- the read-change-writes, atomic ------------------------------------------------

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: TicketLock | None) -> tuple[TicketLock | None, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        logger.debug("Issuing a ticket for a conversation.")
        return self._change(conversation_id, issue)

    def update_lock(self, conversation_id: str) -> None:
        def prune(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, prune)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def finish(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, finish)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # Finishing the ticket deletes the lock when nobody waits, in the same transaction:
        # a ticket issued meanwhile by another engine is never deleted with it.
        self.finish_serving(conversation_id, ticket_number)

    def _change(
        self,
        conversation_id: str,
        change: Callable[[TicketLock | None], tuple[TicketLock | None, T]],
    ) -> T:
        """Applies `change` to the stored lock atomically; an empty lock is deleted."""
        if self._redis is None:
            lock, result = change(self._memory.get(conversation_id))
            if lock is None or not lock.is_someone_waiting():
                self._memory.pop(conversation_id, None)
            else:
                self._memory[conversation_id] = lock
            return result

        key = self._key(conversation_id)

        def transaction(pipe: Any) -> T:
            raw = pipe.get(key)  # after WATCH: runs at once, not queued
            lock, result = change(TicketLock.from_dict(json.loads(raw)) if raw else None)
            pipe.multi()
            if lock is None or not lock.is_someone_waiting():
                pipe.delete(key)
            else:
                pipe.set(key, lock.dumps(), px=_time_to_live_ms(lock))
            return result

        # Retried by redis-py when another engine changed the key between WATCH and EXEC.
        outcome: T = self._call(
            lambda: self._redis.transaction(transaction, key, value_from_callable=True)
        )
        return outcome

    def _call(self, command: Callable[[], T]) -> T:
        """Runs one Redis command; a failure becomes LockStoreUnavailable, logged once."""
        import redis

        try:
            result = command()
        except redis.RedisError as error:
            if not self._down:
                self._down = True
                logger.error(
                    "Redis lock store at %s unreachable (%s): turns are refused until it is back.",
                    self._where,
                    type(error).__name__,
                )
            raise LockStoreUnavailable(
                f"the Redis lock store at {self._where} is unreachable"
            ) from error
        if self._down:
            self._down = False
            logger.warning("Redis lock store at %s reachable again.", self._where)
        return result


def _time_to_live_ms(lock: TicketLock) -> int:
    """Until the last ticket expires, plus a grace period; at least the grace period."""
    latest = max((ticket.expires for ticket in lock.tickets), default=time.time())
    return int((max(0.0, latest - time.time()) + KEY_GRACE_SECONDS) * 1000)
