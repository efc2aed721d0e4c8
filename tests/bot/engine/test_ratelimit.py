"""The fixed-window limiter (bot/engine/ratelimit.py) in process memory.

The Redis variant runs in the engine's runtime (.venv-rasa has redis, .venv does not):
tests/engine/test_ratelimit.py.
"""

from __future__ import annotations

from bot.engine.ratelimit import MemoryLimiter, Verdict, limiter_for

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
