"""Simulated widget users for the fault tests: they chat through HAProxy while a fault happens,
and every answer they got is checked against the tracker store afterwards.

Each user opens a widget conversation and sends a message, waits for the answer, reads
(`think` seconds: 2-4, quicker than people, whom `make bench-prod` gives 3-8) and sends the
next, as the widget does: each message with its own id. What
they type does not matter (any text gets an answer) and follows no script of questions, so the
check does not depend on the conversation's wording: a turn is found in the store by its
message id (metadata.widget.message_id) and its text.

After a refusal the user acts as the widget lets them:
- 503 `storage_unavailable` (the turn was refused, nothing stored): after a pause they type it
  again, as a new message (new id), so the check can tell that the refused one is not stored;
- no answer, or a 502/504 from HAProxy (the turn's fate is unknown): the widget's retry resends
  the same message (same id, `resend: true`), which the channel answers from the store when
  the first attempt was stored.

`check(events_of)` then holds the store to what the users were told: every message answered
200 is stored exactly once, with its text and a bot answer after it; every message refused
with 503 (and not answered later) is not stored at all; a message that got no answer is
stored at most once.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Things people type; the bot answers each somehow. Cycled from a random start per user.
MESSAGES = (
    "hoi",
    "wat is een leereenheid?",
    "ik ben 38 jaar",
    "wat kost dat?",
    "hoe lang duurt een opleiding?",
    "ik werk nu in een winkel",
    "weet ik niet",
    "wat is bbl?",
    "ja",
    "bedankt",
)
TURNS_PER_CONVERSATION = 25
REQUEST_TIMEOUT_SECONDS = 30.0
REFUSED_PAUSE_SECONDS = 1.0


@dataclass
class Attempt:
    user: int
    conversation_id: str
    message_id: str
    text: str
    resend: bool
    started: float  # time.monotonic()
    seconds: float
    status: int  # 0: no answer (connection refused or reset, timeout)
    error: str | None
    replies: list[str]

    @property
    def ended(self) -> float:
        return self.started + self.seconds


@dataclass
class Report:
    attempts: list[Attempt]
    problems: list[str] = field(default_factory=list)

    @property
    def answered(self) -> list[Attempt]:
        return [a for a in self.attempts if a.status == 200]

    @property
    def failed(self) -> list[Attempt]:
        return [a for a in self.attempts if a.status != 200]

    def statuses(self) -> dict[int, int]:
        counted: dict[int, int] = {}
        for attempt in self.attempts:
            counted[attempt.status] = counted.get(attempt.status, 0) + 1
        return dict(sorted(counted.items()))

    def saying(self, text: str) -> list[Attempt]:
        return [a for a in self.answered if text in a.replies]

    def after(self, moment: float) -> list[Attempt]:
        return [a for a in self.attempts if a.started >= moment]

    def first_answer_after(self, moment: float) -> float | None:
        """Seconds from `moment` to the end of the first turn begun after it and answered."""
        ends = [a.ended for a in self.answered if a.started >= moment]
        return min(ends) - moment if ends else None

    def longest_turn_after(self, moment: float) -> float:
        """The longest any turn begun after `moment` took, answered or not."""
        return max((a.seconds for a in self.after(moment)), default=0.0)

    def longest_wait_per_conversation_after(self, moment: float) -> float:
        """For each conversation, from `moment` to its first answered turn that began after
        it; the longest of these (think time included)."""
        firsts: dict[str, float] = {}
        for attempt in self.answered:
            if attempt.started >= moment:
                previous = firsts.get(attempt.conversation_id)
                firsts[attempt.conversation_id] = min(previous or attempt.ended, attempt.ended)
        return max((end - moment for end in firsts.values()), default=0.0)

    def summary(self) -> str:
        seconds = sorted(a.seconds for a in self.answered)
        p95 = seconds[int(0.95 * (len(seconds) - 1))] if seconds else float("nan")
        return (
            f"{len(self.attempts)} turns, statuses {self.statuses()}, "
            f"p95 {p95:.2f} s, longest {max(seconds, default=0):.2f} s"
        )


def _post(url: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{url}/webhooks/widget{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, None  # HAProxy's own error page
    except (OSError, ValueError) as error:
        return 0, type(error).__name__


class Load:
    """`users` simulated widget users through `url` (HAProxy), until stopped."""

    def __init__(
        self, url: str, users: int = 20, think: tuple[float, float] = (2.0, 4.0), seed: int = 23
    ) -> None:
        self.url = url
        self.users = users
        self.think = think
        self.random = random.Random(seed)
        self.headers = {"Origin": url}
        self.attempts: list[Attempt] = []
        self.conversations: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._user, args=(n, self.random.random()), daemon=True)
            for n in range(users)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=REQUEST_TIMEOUT_SECONDS + 10)

    def run_for(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def report(self) -> Report:
        with self._lock:
            return Report(sorted(self.attempts, key=lambda a: a.started))

    # ---- one user ------------------------------------------------------------------------

    def _open(self) -> tuple[str, str] | None:
        while not self._stop.is_set():
            status, body = _post(self.url, "/conversations", {}, self.headers)
            if status == 201 and isinstance(body, dict):
                with self._lock:
                    self.conversations.add(body["conversation_id"])
                return body["conversation_id"], body["token"]
            self._stop.wait(REFUSED_PAUSE_SECONDS)
        return None

    def _user(self, number: int, start: float) -> None:
        pick = random.Random(start)
        messages = itertools.cycle(MESSAGES[int(start * len(MESSAGES)) :] + MESSAGES)
        self._stop.wait(pick.uniform(0, self.think[1]))  # not all at once
        while not self._stop.is_set():
            opened = self._open()
            if opened is None:
                return
            conversation_id, token = opened
            headers = {**self.headers, "Authorization": f"Bearer {token}"}
            turns = 0
            while turns < TURNS_PER_CONVERSATION and not self._stop.is_set():
                text = next(messages)
                self._say(number, conversation_id, headers, text)
                turns += 1
                self._stop.wait(pick.uniform(*self.think))

    def _say(self, number: int, conversation_id: str, headers: dict[str, str], text: str) -> None:
        """One message until it is answered (or the load stops)."""
        message_id = uuid.uuid4().hex
        resend = False
        while True:
            body: dict[str, Any] = {
                "conversation_id": conversation_id,
                "message": text,
                "message_id": message_id,
            }
            if resend:
                body["resend"] = True
            started = time.monotonic()
            status, answer = _post(self.url, "/webhook", body, headers)
            replies = (
                [str(r["text"]) for r in answer if isinstance(r, dict) and "text" in r]
                if status == 200 and isinstance(answer, list)
                else []
            )
            error = None
            if status != 200:
                error = answer.get("error") if isinstance(answer, dict) else str(answer)
            attempt = Attempt(
                number,
                conversation_id,
                message_id,
                text,
                resend,
                started,
                time.monotonic() - started,
                status,
                error,
                replies,
            )
            with self._lock:
                self.attempts.append(attempt)
            if status == 200 or self._stop.is_set():
                return
            self._stop.wait(REFUSED_PAUSE_SECONDS)
            if status == 503 and error == "storage_unavailable":
                message_id, resend = uuid.uuid4().hex, False  # typed again: a new message
            else:
                resend = True  # the widget's retry: the same message again


def _widget_id(event: dict[str, Any]) -> str | None:
    metadata = event.get("metadata") or {}
    widget = metadata.get("widget") if isinstance(metadata, dict) else None
    found = widget.get("message_id") if isinstance(widget, dict) else None
    return str(found) if found else None


def check(report: Report, events_of: Callable[[str], Sequence[dict[str, Any]]]) -> list[str]:
    """What the store says against what the users were told; the problems found."""
    problems: list[str] = []
    by_conversation: dict[str, list[Attempt]] = {}
    for attempt in report.attempts:
        by_conversation.setdefault(attempt.conversation_id, []).append(attempt)
    for conversation_id, attempts in by_conversation.items():
        events = list(events_of(conversation_id))
        stored: dict[str, list[int]] = {}
        for index, event in enumerate(events):
            if event.get("event") == "user" and (found := _widget_id(event)):
                stored.setdefault(found, []).append(index)
        by_message: dict[str, list[Attempt]] = {}
        for attempt in attempts:
            by_message.setdefault(attempt.message_id, []).append(attempt)
        for message_id, tries in by_message.items():
            places = stored.get(message_id, [])
            if any(a.status == 200 for a in tries):
                if len(places) != 1:
                    problems.append(f"answered {message_id} stored {len(places)} times")
                    continue
                index = places[0]
                if events[index].get("text") != tries[0].text:
                    problems.append(f"answered {message_id} stored with another text")
                after = events[index + 1 :]
                following = next(
                    (i for i, e in enumerate(after) if e.get("event") == "user"), len(after)
                )
                if not any(e.get("event") == "bot" for e in after[:following]):
                    problems.append(f"answered {message_id} stored without an answer")
            elif all(a.status == 503 and a.error == "storage_unavailable" for a in tries):
                if places:
                    problems.append(f"refused {message_id} (503) is in the store")
            elif len(places) > 1:
                problems.append(f"unanswered {message_id} stored {len(places)} times")
    return problems
