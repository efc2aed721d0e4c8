"""The worker process: `python -m bot.app.handoff.worker --once`, the loop, and what it logs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.app.db import Database
from bot.app.handoff.delivery import Deliverer, WebhookClient
from bot.app.handoff.store import HandoffStore
from bot.app.handoff.worker import run
from tests.bot.app.handoff.conftest import WEBHOOK_SECRET, Receiver
from tests.bot.app.handoff.support import handoff

ROOT = Path(__file__).resolve().parents[4]
CONTACT = "+31612345678"


def test_once_from_the_command_line_delivers(tmp_path: Path, receiver: Receiver) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    database = Database(url)
    stored = HandoffStore(database).create(*handoff())
    database.dispose()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ZIJWIJZER_DATABASE_URL": url,
        "ZIJWIJZER_HANDOFF_WEBHOOK_URL": receiver.url,
        "ZIJWIJZER_SECRET_KEY": "test-secret",
        "ZIJWIJZER_HANDOFF_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.app.handoff.worker", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert receiver.accepted_per_key() == {stored.idempotency_key: 1}
    # The log names the outbox message, never what the request holds.
    assert "delivered" in done.stderr
    assert CONTACT not in done.stderr + done.stdout
    assert "Almere" not in done.stderr + done.stdout


def test_without_a_webhook_the_worker_says_so_and_waits(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'app.db'}")
    HandoffStore(database).create(*handoff())
    with caplog.at_level(logging.INFO):
        assert run(Deliverer(database, None), once=True) == 0
    assert "wait in the outbox" in caplog.text
    assert Deliverer(database, None).status().waiting == 1
    database.dispose()


def test_the_loop_stops_when_asked(tmp_path: Path, receiver: Receiver) -> None:
    database = Database(f"sqlite:///{tmp_path / 'app.db'}")
    stopping = threading.Event()
    deliverer = Deliverer(database, WebhookClient(receiver.url, WEBHOOK_SECRET))
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(run(deliverer, once=False, interval=0.05, stopping=stopping))
    )
    thread.start()
    HandoffStore(database).create(*handoff())
    # The loop picks up a request stored while it runs.
    for _ in range(200):
        if receiver.accepted_per_key():
            break
        stopping.wait(0.05)
    stopping.set()
    thread.join(timeout=10)

    assert result == [0]
    assert sum(receiver.accepted_per_key().values()) == 1
    database.dispose()


def test_failures_are_logged_without_personal_data(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'app.db'}")
    HandoffStore(database).create(*handoff())
    receiver.then = 500
    with caplog.at_level(logging.DEBUG):
        Deliverer(database, WebhookClient(receiver.url, WEBHOOK_SECRET)).deliver_due()
    assert "not delivered" in caplog.text
    assert CONTACT not in caplog.text
    assert "conversation-1" not in caplog.text
    database.dispose()
