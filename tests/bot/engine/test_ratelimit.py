"""The fixed-window limiter (bot/engine/ratelimit.py): in process memory, and in Redis.

The Redis variant runs in the engine's runtime (.venv-rasa has redis, .venv does not), in a
child process, against ZIJWIJZER_TEST_REDIS_URL; without that variable it is skipped.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from bot.engine.ratelimit import MemoryLimiter, Verdict, limiter_for
from tests.engine_runtime import run_in_engine_runtime

ROOT = Path(__file__).resolve().parents[3]
# In the middle of a minute window (and of an hour window): 1_800_000_000 = 30_000_000 * 60.
START = 1_800_000_000.0 + 20.0


async def test_allows_up_to_the_limit_then_refuses_until_the_window_ends() -> None:
    limiter = MemoryLimiter()
    verdicts = [await limiter.hit("m", "conv-1", 3, 60, now=START + i) for i in range(3)]
    assert verdicts == [Verdict(True)] * 3
    refused = await limiter.hit("m", "conv-1", 3, 60, now=START + 3)
    # The window started 20 s before START and ends 60 s after it started: 37 s from now.
    assert refused == Verdict(False, 37)
    assert (await limiter.hit("m", "conv-1", 3, 60, now=START + 39.5)).retry_after == 1
    # The next window starts afresh.
    assert await limiter.hit("m", "conv-1", 3, 60, now=START + 40) == Verdict(True)


async def test_subjects_and_names_are_counted_apart() -> None:
    limiter = MemoryLimiter()
    for _ in range(2):
        assert (await limiter.hit("m", "a", 2, 60, now=START)).allowed
    assert not (await limiter.hit("m", "a", 2, 60, now=START)).allowed
    assert (await limiter.hit("m", "b", 2, 60, now=START)).allowed
    assert (await limiter.hit("other", "a", 2, 60, now=START)).allowed


async def test_hour_window_and_zero_means_unlimited() -> None:
    limiter = MemoryLimiter()
    assert (await limiter.hit("c", "addr", 1, 3600, now=START)).allowed
    refused = await limiter.hit("c", "addr", 1, 3600, now=START)
    assert not refused.allowed and 0 < refused.retry_after <= 3600
    assert all([(await limiter.hit("x", "y", 0, 60, now=START)).allowed for _ in range(50)])


async def test_ended_windows_are_forgotten() -> None:
    limiter = MemoryLimiter()
    for i in range(100):
        await limiter.hit("m", f"client-{i}", 5, 60, now=START)
    await limiter.hit("m", "late", 5, 60, now=START + 120)
    assert len(limiter._counts) == 1


def test_no_redis_url_means_in_process_counters() -> None:
    assert isinstance(limiter_for(""), MemoryLimiter)


# ---- Redis, in the engine's runtime -----------------------------------------------------------

SCENARIO = """
import asyncio, json, logging, sys
from bot.engine.ratelimit import RedisLimiter

async def main(url, name):
    limiter = RedisLimiter(url)
    now = float(sys.argv[3])
    verdicts = [await limiter.hit(name, "conv", 3, 60, now=now) for _ in range(4)]
    other = await limiter.hit(name, "another", 3, 60, now=now)
    nextwindow = await limiter.hit(name, "conv", 3, 60, now=now + 60)
    ttl = None
    if limiter.failures == 0:
        keys = await limiter._client.keys(f"zijwijzer:ratelimit:{name}:*")
        ttl = max([await limiter._client.ttl(k) for k in keys])
        await limiter._client.delete(*keys)
    await limiter.close()
    print(json.dumps({
        "verdicts": [[v.allowed, v.retry_after] for v in verdicts],
        "other": other.allowed, "next": nextwindow.allowed,
        "failures": limiter.failures, "ttl": ttl,
    }))

logging.basicConfig(level=logging.ERROR, format="LOG %(message)s")
asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def run_scenario(url: str) -> tuple[dict[str, object], str]:
    done = run_in_engine_runtime(
        SCENARIO, url, f"test-{uuid.uuid4().hex[:8]}", str(START), cwd=ROOT / "build", timeout=60
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result, done.stderr


def test_redis_counters_are_shared_and_expire() -> None:
    url = os.environ.get("ZIJWIJZER_TEST_REDIS_URL")
    if not url:
        pytest.skip("set ZIJWIJZER_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to test Redis")
    result, _ = run_scenario(url)
    assert result["failures"] == 0
    assert result["verdicts"] == [[True, 0], [True, 0], [True, 0], [False, 40]]
    assert result["other"] is True and result["next"] is True
    # EXPIRE was set with INCR: the key disappears shortly after its window.
    assert isinstance(result["ttl"], int) and 0 < result["ttl"] <= 61


def test_redis_down_lets_requests_through_and_logs_once() -> None:
    # Nothing listens on port 1: every hit fails, and each is let through (fail open).
    result, log = run_scenario("redis://127.0.0.1:1/0")
    assert result["verdicts"] == [[True, 0]] * 4
    assert result["other"] is True and result["next"] is True
    assert result["failures"] == 6
    assert log.count("Rate limits not applied: Redis failed") == 1, log


def test_the_module_imports_in_the_engine_runtime_without_redis_configured() -> None:
    done = run_in_engine_runtime(
        "import bot.engine.ratelimit as r; print(type(r.limiter_for('')))",
        cwd=ROOT / "build",
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "MemoryLimiter" in done.stdout
