"""Fixed-window rate limits: how many requests a key may make per window of time.

Used by the widget channel (bot/engine/channels/widget.py): messages per minute per conversation and
per client address, new conversations per hour per client address. A counter per key and
window: the window is `int(now // seconds)`, so every counter restarts at the window's edge
and a client may at worst send twice the limit across one edge; cheap and good enough here.

- With a Redis URL (ZIJWIJZER_REDIS_URL) the counters live in Redis (INCR and EXPIRE in one
  pipeline), shared by every engine instance; nothing is kept in process memory.
- Without one, in a dict in this process: right for the single, embedded instance.
- Redis unreachable or failing: the request is let through (fail open) and the failure is
  logged at most once a minute. A Redis outage must not stop people from chatting; the
  limits are a guard against abuse, not against a lost cache.

Keys hold a hash of the subject, never the client address or conversation id itself.
Stdlib only, plus redis (in .venv-rasa) imported only when a Redis URL is configured.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

logger = logging.getLogger(__name__)

KEY_PREFIX = "zijwijzer:ratelimit"
# Seconds Redis may take before a request is let through without counting it.
REDIS_TIMEOUT_SECONDS = 0.5
FAILURE_LOG_INTERVAL_SECONDS = 60.0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    # Whole seconds until the window ends (at least 1) when refused; 0 when allowed.
    retry_after: int = 0


class Limiter(Protocol):
    async def hit(
        self, name: str, subject: str, limit: int, window_seconds: int, *, now: float | None = None
    ) -> Verdict:
        """Counts one request of `subject` against `limit` per `window_seconds` for `name`."""
        ...


def _window(window_seconds: int, now: float | None) -> tuple[int, int]:
    """The window's number and the whole seconds left in it (at least 1)."""
    current = time.time() if now is None else now
    index = int(current // window_seconds)
    left = max(1, math.ceil((index + 1) * window_seconds - current))
    return index, left


def _key(name: str, subject: str, index: int) -> str:
    digest = hashlib.sha256(subject.encode("utf-8", "replace")).hexdigest()[:32]
    return f"{KEY_PREFIX}:{name}:{index}:{digest}"


def _verdict(count: int, limit: int, left: int) -> Verdict:
    return Verdict(True) if count <= limit else Verdict(False, left)


class MemoryLimiter:
    """Counters in this process (one engine instance)."""

    def __init__(self) -> None:
        # key -> (count, Unix time at which the window ends)
        self._counts: dict[str, tuple[int, float]] = {}
        self._next_prune = 0.0

    async def hit(
        self, name: str, subject: str, limit: int, window_seconds: int, *, now: float | None = None
    ) -> Verdict:
        if limit <= 0:
            return Verdict(True)  # 0: no limit
        current = time.time() if now is None else now
        index, left = _window(window_seconds, current)
        self._prune(current)
        key = _key(name, subject, index)
        count = self._counts.get(key, (0, 0.0))[0] + 1
        self._counts[key] = (count, (index + 1) * window_seconds)
        return _verdict(count, limit, left)

    def _prune(self, now: float) -> None:
        # Forget ended windows now and then, so memory stays bounded by the active clients.
        if now < self._next_prune:
            return
        self._next_prune = now + 60.0
        for key in [k for k, (_, ends) in self._counts.items() if ends <= now]:
            del self._counts[key]


class RedisLimiter:
    """Counters in Redis, shared by every engine instance."""

    def __init__(self, url: str, *, timeout: float = REDIS_TIMEOUT_SECONDS) -> None:
        from redis import asyncio as redis_asyncio

        self._client: Any = redis_asyncio.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._timeout = timeout
        self._last_failure_log = -math.inf
        self.failures = 0  # since start: for tests and a curious operator

    async def hit(
        self, name: str, subject: str, limit: int, window_seconds: int, *, now: float | None = None
    ) -> Verdict:
        if limit <= 0:
            return Verdict(True)
        index, left = _window(window_seconds, now)
        key = _key(name, subject, index)
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                # A little longer than the window: the key is gone once nobody needs it.
                pipe.expire(key, window_seconds + 1)
                count, _ = await asyncio.wait_for(pipe.execute(), self._timeout * 2)
        except Exception as error:  # any Redis or network error: fail open
            self._failed(error)
            return Verdict(True)
        return _verdict(int(count), limit, left)

    def _failed(self, error: Exception) -> None:
        self.failures += 1
        moment = time.monotonic()
        if moment - self._last_failure_log >= FAILURE_LOG_INTERVAL_SECONDS:
            self._last_failure_log = moment
            logger.error(
                "Rate limits not applied: Redis failed (%s). Requests are let through "
                "(logged at most once a minute).",
                type(error).__name__,
            )

    async def close(self) -> None:
        await self._client.close()


def limiter_for(redis_url: str) -> MemoryLimiter | RedisLimiter:
    """Redis when a URL is configured (several instances share counters), else in-process."""
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()
