"""The engine's turn metrics, in Prometheus' text format, with the standard library only.

The engine (.venv-rasa) does not have prometheus-client, and its lock file feeds the model's
training fingerprint; the few figures it keeps are simple enough to write out by hand:

    zijwijzer_turns_total{channel, outcome}          user messages handled (ok, error, not_ready)
    zijwijzer_turn_duration_seconds{channel}          histogram: message in, replies out
    process_resident_memory_bytes, process_cpu_seconds_total, process_start_time_seconds

`wrap_handle_message` wraps Rasa's `Agent.handle_message` (installed by
bot/engine/channels/metrics.py) so that every turn, from any channel, is counted, timed and logged
in
one line ("turn on rest: ok in 48.2 ms"), and runs under a request id that is also put into
the message's metadata for the action server (bot/common/request_context.py).
`GET /webhooks/metrics/` serves `render()`.
"""

from __future__ import annotations

import bisect
import functools
import logging
import os
import resource
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from bot.common import request_context

logger = logging.getLogger("bot.turn")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The same buckets as the action server's and the web app's histograms (bot/app/metrics.py).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Channel names come from our channel classes, never from a request; anything odd is "other".
_CHANNEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-.")
_STARTED = time.time()


def _channel(name: object) -> str:
    if isinstance(name, str) and 0 < len(name) <= 32 and set(name) <= _CHANNEL_CHARS:
        return name
    return "other"


def _number(value: float) -> str:
    return repr(float(value))


class TurnMetrics:
    """Counts and times turns; thread-safe (Rasa may hand work to threads)."""

    def __init__(self, buckets: Iterable[float] = LATENCY_BUCKETS) -> None:
        self.buckets = tuple(sorted(buckets))
        self._lock = threading.Lock()
        self._turns: dict[tuple[str, str], int] = {}
        # channel -> (count per bucket, +Inf last; sum of seconds)
        self._latency: dict[str, tuple[list[int], list[float]]] = {}

    def record(self, channel: object, outcome: str, seconds: float) -> None:
        name = _channel(channel)
        with self._lock:
            key = (name, outcome)
            self._turns[key] = self._turns.get(key, 0) + 1
            counts, total = self._latency.setdefault(name, ([0] * (len(self.buckets) + 1), [0.0]))
            counts[bisect.bisect_left(self.buckets, seconds)] += 1
            total[0] += seconds

    def turns(self, channel: str, outcome: str) -> int:
        with self._lock:
            return self._turns.get((channel, outcome), 0)

    def render(self) -> str:
        """Everything in Prometheus' text exposition format (version 0.0.4)."""
        lines = [
            "# HELP zijwijzer_turns_total User messages the engine handled, by channel and "
            "outcome (ok, error, not_ready).",
            "# TYPE zijwijzer_turns_total counter",
        ]
        with self._lock:
            turns = sorted(self._turns.items())
            latency = {name: (list(c), t[0]) for name, (c, t) in sorted(self._latency.items())}
        for (channel, outcome), count in turns:
            lines.append(
                f'zijwijzer_turns_total{{channel="{channel}",outcome="{outcome}"}} {count}'
            )
        lines += [
            "# HELP zijwijzer_turn_duration_seconds Time from a user message to the bot's "
            "replies (lock wait, NLU, policies, actions, storage), by channel.",
            "# TYPE zijwijzer_turn_duration_seconds histogram",
        ]
        for channel, (counts, total) in latency.items():
            cumulative = 0
            for bound, count in zip((*self.buckets, float("inf")), counts, strict=True):
                cumulative += count
                le = "+Inf" if bound == float("inf") else _number(bound)
                lines.append(
                    f'zijwijzer_turn_duration_seconds_bucket{{channel="{channel}",le="{le}"}} '
                    f"{cumulative}"
                )
            lines.append(
                f'zijwijzer_turn_duration_seconds_count{{channel="{channel}"}} {cumulative}'
            )
            lines.append(
                f'zijwijzer_turn_duration_seconds_sum{{channel="{channel}"}} {_number(total)}'
            )
        lines += _process_lines()
        return "\n".join(lines) + "\n"


def _resident_bytes() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _process_lines() -> list[str]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    lines = [
        "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
        "# TYPE process_cpu_seconds_total counter",
        f"process_cpu_seconds_total {_number(usage.ru_utime + usage.ru_stime)}",
        "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
        "# TYPE process_start_time_seconds gauge",
        f"process_start_time_seconds {_number(_STARTED)}",
    ]
    resident = _resident_bytes()
    if resident is not None:
        lines += [
            "# HELP process_resident_memory_bytes Resident memory size in bytes.",
            "# TYPE process_resident_memory_bytes gauge",
            f"process_resident_memory_bytes {resident}",
        ]
    return lines


TURNS = TurnMetrics()

HandleMessage = Callable[..., Awaitable[Any]]


def wrap_handle_message(original: HandleMessage, metrics: TurnMetrics = TURNS) -> HandleMessage:
    """`Agent.handle_message`, counted and timed per turn, under the turn's request id.

    The id is the one the channel began (`begin_turn`), else the one already in the message's
    metadata, else a new one; it is written into the metadata, so the action server sees it.
    """

    @functools.wraps(original)
    async def handle_message(agent: Any, message: Any, *args: Any, **kwargs: Any) -> Any:
        metadata = message.metadata if isinstance(message.metadata, dict) else {}
        request_id = request_context.current_request_id() or request_context.adopt(
            metadata.get(request_context.METADATA_KEY)
        )
        if metadata.get(request_context.METADATA_KEY) != request_id:
            message.metadata = {**metadata, request_context.METADATA_KEY: request_id}
        is_ready = getattr(agent, "is_ready", None)
        ready = is_ready() if callable(is_ready) else True
        channel = getattr(message, "input_channel", None)
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await original(agent, message, *args, **kwargs)
            outcome = "ok" if ready else "not_ready"
            return result
        finally:
            seconds = time.perf_counter() - started
            metrics.record(channel, outcome, seconds)
            # One line per turn, under its request id: no text, no conversation id.
            logger.info("turn on %s: %s in %.1f ms", _channel(channel), outcome, seconds * 1000)

    handle_message.__zijwijzer_wrapped__ = True  # type: ignore[attr-defined]
    return handle_message


def is_wrapped(function: object) -> bool:
    return bool(getattr(function, "__zijwijzer_wrapped__", False))
