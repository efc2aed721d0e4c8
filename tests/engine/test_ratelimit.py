"""The fixed-window limiter in Redis (bot/engine/ratelimit.py `RedisLimiter`), shared by the
engines.

Against ZIJWIJZER_TEST_REDIS_URL (skipped without it), and against a Redis that is down. The
counters in process memory are tests/bot/test_ratelimit.py's (the app uses them too).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from bot.engine.ratelimit import MemoryLimiter, RedisLimiter, limiter_for

# In the middle of a minute window (and of an hour window): 1_800_000_000 = 30_000_000 * 60.
START = 1_800_000_000.0 + 20.0


async def scenario(url: str) -> dict[str, Any]:
    name = f"test-{uuid.uuid4().hex[:8]}"
    limiter = RedisLimiter(url)
    verdicts = [await limiter.hit(name, "conv", 3, 60, now=START) for _ in range(4)]
    other = await limiter.hit(name, "another", 3, 60, now=START)
    nextwindow = await limiter.hit(name, "conv", 3, 60, now=START + 60)
    ttl = None
    if limiter.failures == 0:
        keys = await limiter._client.keys(f"zijwijzer:ratelimit:{name}:*")
        ttl = max([await limiter._client.ttl(k) for k in keys])
        await limiter._client.delete(*keys)
    await limiter.close()
    return {
        "verdicts": [[v.allowed, v.retry_after] for v in verdicts],
        "other": other.allowed,
        "next": nextwindow.allowed,
        "failures": limiter.failures,
        "ttl": ttl,
    }


async def test_redis_counters_are_shared_and_expire(redis_url: str) -> None:
    result = await scenario(redis_url)
    assert result["failures"] == 0
    assert result["verdicts"] == [[True, 0], [True, 0], [True, 0], [False, 40]]
    assert result["other"] is True and result["next"] is True
    # EXPIRE was set with INCR: the key disappears shortly after its window.
    assert isinstance(result["ttl"], int) and 0 < result["ttl"] <= 61


async def test_redis_down_lets_requests_through_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Nothing listens on port 1: every hit fails, and each is let through (fail open).
    result = await scenario("redis://127.0.0.1:1/0")
    assert result["verdicts"] == [[True, 0]] * 4
    assert result["other"] is True and result["next"] is True
    assert result["failures"] == 6
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert sum("Rate limits not applied: Redis failed" in m for m in logged) == 1, logged


def test_the_module_imports_in_the_engine_runtime_without_redis_configured() -> None:
    # This module imported it in the engine's runtime; without a URL no Redis is used.
    assert isinstance(limiter_for(""), MemoryLimiter)
