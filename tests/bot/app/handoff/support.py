"""Sample handoff requests for the handoff tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from bot.common.idempotency import IdempotencyKey
from bot.common.records import NewHandoff

T = TypeVar("T")
R = TypeVar("R")

PROFILE: dict[str, Any] = {
    "answers": [{"field": "age", "label": "Leeftijd", "value": 38, "shown": "38"}],
    "skipped": [],
    "recruiter": False,
}


TURN = "widget:m-1700000000"
ACTION = "action_confirm_handoff"


def new_handoff(**changes: Any) -> NewHandoff:
    base = NewHandoff(
        conversation_id="conversation-1",
        channel="rest",
        language="nl",
        contact_preference="phone",
        contact="+31612345678",
        consent=True,
        region="Almere",
        profile_summary=PROFILE,
        advice_summary={"route": {"id": "bbl", "title": "BBL"}, "units": []},
    )
    return replace(base, **changes)


def handoff(
    turn: str = TURN, not_after: float | None = None, **changes: Any
) -> tuple[NewHandoff, IdempotencyKey]:
    """A request and the key of the call that stores it (the turn's, unless `turn` says)."""
    new = new_handoff(**changes)
    return new, IdempotencyKey(new.conversation_id, turn, ACTION, not_after)


def all_at_once(work: Callable[[T], R], each: Sequence[T]) -> list[R]:
    """`work` on each item, in threads of their own that start it at the same moment."""
    barrier = threading.Barrier(len(each))
    results: list[R] = []

    def run(item: T) -> None:
        barrier.wait()
        results.append(work(item))

    threads = [threading.Thread(target=run, args=(item,)) for item in each]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
