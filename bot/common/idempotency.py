"""Idempotent side effects of actions: a key per (conversation, turn, action), and a deadline.

An action with a side effect (a handoff request, a saved advice) may run twice for one turn: the
engine retries a call whose answer did not come (bot/engine/engine_faults.py), and an action server
that
was frozen runs the calls it received once it resumes, long after the engine gave up on them.
So:

- the store records the effect once per `IdempotencyKey` (a unique column holds `key.digest`);
  a repeated call gets the first call's result and changes nothing;
- the engine sends each action call with the moment after which its answer no longer counts
  (`DEADLINE_HEADER`, seconds since the epoch); the action server keeps it for the call
  (`call_deadline`), the key carries it as `not_after`, and a store refuses to record a new
  effect after it (`TooLate`): the user has already been told the action failed.

Standard library only: the engine (.venv-rasa) imports the header's name from here.
"""

from __future__ import annotations

import contextvars
import hashlib
import time
from dataclasses import dataclass

# Sent by the engine with every action call: seconds since the epoch.
DEADLINE_HEADER = "X-Zijwijzer-Action-Deadline"

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "zijwijzer_action_deadline", default=None
)


class TooLate(Exception):
    """The engine has given up on this action call: its effect must not happen now."""


def parse_deadline(value: str | None) -> float | None:
    """The header's value as seconds since the epoch; None when missing or not a number."""
    try:
        deadline = float(value) if value is not None else None
    except ValueError:
        return None
    if deadline is None or deadline != deadline or deadline in (float("inf"), float("-inf")):
        return None
    return deadline


def set_call_deadline(deadline: float | None) -> None:
    """Called by the action server for each request (its task's context)."""
    _deadline.set(deadline)


def call_deadline() -> float | None:
    """The deadline of the action call being served here, if the engine sent one."""
    return _deadline.get()


@dataclass(frozen=True)
class IdempotencyKey:
    """One action's effect in one turn of one conversation."""

    conversation_id: str
    # The triggering user message: the widget's message id (the same on a resend), else the
    # engine's message id or the message's timestamp.
    turn: str
    action: str
    # Seconds since the epoch after which no new effect may be recorded (None: no deadline).
    not_after: float | None = None

    @property
    def digest(self) -> str:
        """What the stores keep (64 hex digits): nothing of the conversation id readable."""
        text = f"zijwijzer-effect\x00{self.conversation_id}\x00{self.turn}\x00{self.action}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def check_in_time(self, now: float | None = None) -> None:
        """Raises TooLate when the call's deadline has passed."""
        moment = time.time() if now is None else now
        if self.not_after is not None and moment > self.not_after:
            raise TooLate(f"{self.action}: the engine gave up on this call")
