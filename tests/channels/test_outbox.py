"""The recruiter channels' outbox: stored with the turn's delivery mark, sent in order, retried
with backoff, sent once (also by two instances on PostgreSQL), dropped outside its window,
erased with its conversation."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.engine.channels import outbox as channel_outbox
from bot.engine.channels.dedup import Claim, DeliveryLog, deliveries
from bot.engine.channels.outbox import (
    SENT,
    ChannelOutbox,
    Outcome,
    Pending,
    Reply,
    SendResult,
    add_replies,
    outbox,
)
from tests.postgres import postgres_schema

NOW = 1_800_000_000.0
DAY = 24 * 3600.0


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Platform:
    """A sender that records what it sent and answers from a script (then `then`)."""

    def __init__(self, *script: SendResult, then: SendResult = SENT) -> None:
        self.script = list(script)
        self.then = then
        self.sent: list[Pending] = []
        self.tried: list[Pending] = []
        self._lock = threading.Lock()

    def __call__(self, pending: Pending) -> SendResult:
        with self._lock:
            self.tried.append(pending)
            result = self.script.pop(0) if self.script else self.then
            if result.outcome is Outcome.SENT:
                self.sent.append(pending)
            return result

    def texts(self) -> list[str]:
        return [str(p.body["text"]) for p in self.sent]


def replies(*texts: str, to: str = "31600000001") -> list[Reply]:
    return [Reply({"wa_id": to}, {"text": text}) for text in texts]


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'trackers.db'}"


@pytest.fixture
def box(url: str) -> ChannelOutbox:
    # No jitter: the waits are exact.
    return ChannelOutbox(url, first_retry=5.0, rng=random.Random(0))


def store(
    box: ChannelOutbox,
    conversation: str,
    *texts: str,
    not_after: float = NOW + DAY,
    now: float = NOW,
) -> list[int]:
    with box.engine.begin() as connection:
        return add_replies(
            connection,
            "whatsapp",
            conversation,
            replies(*texts),
            not_after=not_after,
            now=now,
        )


def test_a_turns_replies_are_stored_with_its_delivery_mark_or_not_at_all(
    url: str, box: ChannelOutbox
) -> None:
    log = DeliveryLog(url)
    assert box.waiting("whatsapp:1") == 0  # the table made, as the channel does at start
    assert log.claim("whatsapp", "wamid.1", now=NOW) is Claim.NEW

    def store_and_fail(connection: object) -> None:
        add_replies(connection, "whatsapp", "whatsapp:1", replies("a"), not_after=NOW + DAY)  # type: ignore[arg-type]
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        log.done("whatsapp", "wamid.1", also=store_and_fail)
    # Neither the replies nor the mark: a redelivery is still "busy", not a duplicate.
    assert box.waiting("whatsapp:1") == 0
    assert log.claim("whatsapp", "wamid.1", now=NOW + 1) is Claim.BUSY

    log.done(
        "whatsapp",
        "wamid.1",
        also=lambda c: add_replies(
            c, "whatsapp", "whatsapp:1", replies("a", "b"), not_after=NOW + DAY
        ),
    )
    assert box.waiting("whatsapp:1") == 2
    assert log.claim("whatsapp", "wamid.1", now=NOW + 2) is Claim.DUPLICATE
    with box.engine.begin() as connection:
        pending = connection.execute(select(deliveries.c.pending_since)).scalar()
    assert pending is None


def test_due_replies_are_sent_in_order_and_deleted(box: ChannelOutbox) -> None:
    store(box, "whatsapp:1", "first", "second")
    store(box, "whatsapp:2", "other")
    store(box, "whatsapp:1", "third")
    platform = Platform()
    done = box.deliver_due("whatsapp", platform, now=Clock())
    assert done.sent == 4
    mine = [p.body["text"] for p in platform.sent if p.conversation_id == "whatsapp:1"]
    assert mine == ["first", "second", "third"]
    assert platform.sent[0].address == {"wa_id": "31600000001"}
    assert box.waiting("whatsapp:1") == box.waiting("whatsapp:2") == 0
    # Nothing left: a second round sends nothing again.
    assert box.deliver_due("whatsapp", platform, now=Clock()).attempts == 0
    assert len(platform.sent) == 4


def test_another_channels_replies_are_not_taken(box: ChannelOutbox) -> None:
    store(box, "whatsapp:1", "hoi")
    assert box.deliver_due("teams", Platform(), now=Clock()).attempts == 0
    assert box.waiting("whatsapp:1") == 1


def test_a_failed_reply_waits_with_backoff_and_holds_back_the_later_ones(
    box: ChannelOutbox,
) -> None:
    store(box, "whatsapp:1", "first", "second")
    store(box, "whatsapp:2", "other conversation")
    clock = Clock()
    platform = Platform(SendResult(Outcome.RETRY, "HTTP 503"))
    done = box.deliver_due("whatsapp", platform, now=clock)
    # "first" failed; "second" waits behind it; the other conversation is not held back.
    assert (done.sent, done.retried) == (1, 1)
    assert platform.texts() == ["other conversation"]
    with box.engine.begin() as connection:
        row = connection.execute(select(outbox).where(outbox.c.id == platform.tried[0].id)).one()
    assert row.attempts == 1 and row.last_error == "HTTP 503"
    assert row.next_attempt_at == pytest.approx(NOW + 5.0, abs=1.0)
    # Not yet due.
    clock.now += 3.0
    assert box.deliver_due("whatsapp", platform, now=clock).attempts == 0
    clock.now += 3.0
    platform.script.append(SendResult(Outcome.RETRY, "timeout"))
    assert box.deliver_due("whatsapp", platform, now=clock).retried == 1  # the second failure
    clock.now += 6.0  # the second wait is about 10 s
    assert box.deliver_due("whatsapp", platform, now=clock).attempts == 0
    clock.now += 5.0
    assert box.deliver_due("whatsapp", platform, now=clock).sent == 2
    assert platform.texts() == ["other conversation", "first", "second"]


def test_retry_after_of_the_platform_is_respected(box: ChannelOutbox) -> None:
    store(box, "whatsapp:1", "hoi")
    clock = Clock()
    box.deliver_due("whatsapp", Platform(SendResult(Outcome.RETRY, "HTTP 429", 120.0)), now=clock)
    clock.now += 100.0
    assert box.deliver_due("whatsapp", Platform(), now=clock).attempts == 0
    clock.now += 21.0
    assert box.deliver_due("whatsapp", Platform(), now=clock).sent == 1


def test_a_reply_past_its_window_is_dropped_with_a_log_line(
    box: ChannelOutbox, caplog: pytest.LogCaptureFixture
) -> None:
    store(box, "whatsapp:1", "too late", not_after=NOW + 10.0)
    clock = Clock()
    platform = Platform(SendResult(Outcome.RETRY, "timeout"))
    box.deliver_due("whatsapp", platform, now=clock)
    clock.now += DAY
    with caplog.at_level(logging.WARNING, logger="bot.engine.channels.outbox"):
        done = box.deliver_due("whatsapp", platform, now=clock)
    assert done.dropped == 1 and len(platform.tried) == 1  # not tried again
    assert box.waiting("whatsapp:1") == 0
    assert "24-hour customer-service window" in caplog.text
    assert "too late" not in caplog.text  # never the reply's text


def test_a_new_message_of_the_user_reopens_the_window_for_waiting_replies(
    box: ChannelOutbox,
) -> None:
    store(box, "whatsapp:1", "old answer", not_after=NOW + 10.0)
    store(box, "whatsapp:1", "new answer", not_after=NOW + DAY)
    clock = Clock(NOW + 3600.0)
    platform = Platform()
    assert box.deliver_due("whatsapp", platform, now=clock).sent == 2
    assert platform.texts() == ["old answer", "new answer"]


def test_a_refusal_for_good_is_dropped_and_the_next_reply_goes(box: ChannelOutbox) -> None:
    store(box, "whatsapp:1", "refused", "fine")
    platform = Platform(SendResult(Outcome.DROP, "HTTP 400"))
    done = box.deliver_due("whatsapp", platform, now=Clock())
    assert (done.dropped, done.sent) == (1, 1)
    assert platform.texts() == ["fine"]


def test_a_sender_that_raises_counts_as_a_failed_attempt(box: ChannelOutbox) -> None:
    store(box, "whatsapp:1", "hoi")

    def broken(pending: Pending) -> SendResult:
        raise KeyError("bug")

    assert box.deliver_due("whatsapp", broken, now=Clock()).retried == 1
    assert box.waiting("whatsapp:1") == 1


def test_erasing_and_purging(url: str, box: ChannelOutbox) -> None:
    store(box, "whatsapp:1", "a", "b")
    store(box, "whatsapp:2", "c", not_after=NOW + 10.0)
    assert box.erase("whatsapp:1") == 2
    assert box.purge(now=NOW + 11.0) == 1
    assert box.waiting("whatsapp:2") == 0
    # A database where the table was never made: nothing to erase, no error.
    other = ChannelOutbox(url.replace("trackers.db", "empty.db"))
    with other.engine.begin() as connection:
        outbox.drop(connection)
        assert channel_outbox.erase_conversation(connection, "whatsapp:1") == 0
        assert channel_outbox.purge_expired(connection, NOW) == 0


# ---- two instances on PostgreSQL ---------------------------------------------------------------


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


@pytest.mark.postgres
def test_two_instances_never_send_a_reply_twice_and_keep_the_order(postgres_url: str) -> None:
    first, second = ChannelOutbox(postgres_url), ChannelOutbox(postgres_url)
    conversations = [f"whatsapp:{n}" for n in range(6)]
    for conversation in conversations:
        store(first, conversation, *(f"{conversation} #{i}" for i in range(5)))
    platform = Platform()
    barrier = threading.Barrier(2)

    def run(box: ChannelOutbox) -> None:
        barrier.wait()
        for _ in range(20):
            box.deliver_due("whatsapp", platform, now=Clock(), limit=3)

    threads = [threading.Thread(target=run, args=(box,)) for box in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [p.id for p in platform.sent]
    assert len(ids) == len(set(ids)) == 30
    for conversation in conversations:
        texts = [p.body["text"] for p in platform.sent if p.conversation_id == conversation]
        assert texts == [f"{conversation} #{i}" for i in range(5)]
    assert first.waiting(conversations[0]) == 0
