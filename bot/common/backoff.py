"""Waits between delivery attempts: exponential backoff with jitter, shared by the outboxes.

Standard library only: the handoff worker (.venv) and the engine's recruiter-channel outbox
(.venv-rasa, bot/engine/channels/outbox.py) wait the same way after a failed attempt.
"""

from __future__ import annotations

import datetime as dt
import random

FIRST_DELAY_SECONDS = 5.0
MAX_DELAY_SECONDS = 15 * 60.0
# Each delay is shortened by up to this share, so workers that failed together spread out.
JITTER = 0.2


def backoff_seconds(
    attempts: int,
    rng: random.Random | None = None,
    *,
    first: float = FIRST_DELAY_SECONDS,
    cap: float = MAX_DELAY_SECONDS,
) -> float:
    """Seconds to wait after the `attempts`-th failed attempt (1, 2, …): `first` doubling,
    at most `cap`, shortened by up to JITTER."""
    exponent = max(0, attempts - 1)
    # min() before the power: 2**huge would overflow a float.
    base = min(cap, first * 2.0 ** min(exponent, 32))
    shortening = (rng or random).uniform(0.0, JITTER) if JITTER else 0.0
    return base * (1.0 - shortening)


def backoff_delay(attempts: int, rng: random.Random | None = None) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt: 5 s doubling, at most 15 min, jittered."""
    return dt.timedelta(seconds=backoff_seconds(attempts, rng))
