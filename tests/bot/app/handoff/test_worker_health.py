"""The handoff worker's health endpoint: 200 while its loop comes round, 503 when stuck."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app.db import Database
from bot.app.handoff.delivery import Deliverer, WebhookClient
from bot.app.handoff.store import HandoffStore
from bot.app.handoff.worker import HealthServer, Heartbeat, run, start_health_server
from bot.app.metrics import WorkerMetrics, new_registry
from bot.common.settings import load_settings
from tests.bot.app.handoff.conftest import WEBHOOK_SECRET, Receiver
from tests.bot.app.handoff.support import handoff
from tests.stack import free_port

ROOT = Path(__file__).resolve().parents[4]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def heartbeat(clock: Clock) -> Heartbeat:
    return Heartbeat(stuck_after=30.0, clock=clock)


@pytest.fixture
def server(heartbeat: Heartbeat) -> Iterator[HealthServer]:
    running = HealthServer("127.0.0.1", 0, heartbeat, new_registry())
    yield running
    running.close()


def test_healthy_while_the_loop_comes_round_then_stuck(
    server: HealthServer, heartbeat: Heartbeat, clock: Clock
) -> None:
    url = f"http://127.0.0.1:{server.port}/health"
    status, body = get(url)
    assert (status, json.loads(body)["status"]) == (200, "ok")
    clock.now += 31.0  # no round for longer than allowed
    status, body = get(url)
    assert (status, json.loads(body)) == (503, {"status": "stuck", "age": 31.0})
    heartbeat.beat()
    assert get(url)[0] == 200
    assert get(f"http://127.0.0.1:{server.port}/other")[0] == 404


def test_the_loop_beats_and_counts_its_deliveries(tmp_path: Path, receiver: Receiver) -> None:
    database = Database(f"sqlite:///{tmp_path / 'app.db'}")
    HandoffStore(database).create(*handoff())
    clock = Clock()
    heartbeat = Heartbeat(stuck_after=30.0, clock=clock)
    registry = new_registry()
    server = HealthServer("127.0.0.1", 0, heartbeat, registry)
    clock.now += 100.0  # stuck until the loop comes round
    assert get(f"http://127.0.0.1:{server.port}/health")[0] == 503
    stopping = threading.Event()
    deliverer = Deliverer(database, WebhookClient(receiver.url, WEBHOOK_SECRET))
    thread = threading.Thread(
        target=run,
        args=(deliverer,),
        kwargs={
            "once": False,
            "interval": 0.05,
            "stopping": stopping,
            "heartbeat": heartbeat,
            "metrics": WorkerMetrics(registry),
        },
    )
    thread.start()
    try:
        for _ in range(200):
            if (
                receiver.accepted_per_key()
                and get(f"http://127.0.0.1:{server.port}/health")[0] == 200
            ):
                break
            time.sleep(0.05)
        status, body = get(f"http://127.0.0.1:{server.port}/metrics")
        assert status == 200
    finally:
        stopping.set()
        thread.join(timeout=10)
        server.close()
        database.dispose()
    # A beat follows the round's counts, so the counts below are in.
    assert heartbeat.healthy()
    found = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }
    assert found[("zijwijzer_handoff_deliveries_total", (("outcome", "delivered"),))] == 1
    assert found[("zijwijzer_handoff_worker_rounds_total", (("outcome", "ok"),))] >= 1


def test_off_with_port_zero_and_logged_when_the_port_is_taken(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = dataclasses.replace(load_settings(), worker_health_port=0)
    assert start_health_server(settings, Heartbeat(), new_registry()) is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = dataclasses.replace(settings, worker_health_port=port)
        with caplog.at_level(logging.ERROR):
            assert start_health_server(settings, Heartbeat(), new_registry()) is None
    assert f"cannot listen on 127.0.0.1:{port}" in caplog.text


def test_the_worker_process_serves_its_health(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ZIJWIJZER_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "ZIJWIJZER_SECRET_KEY": "test-secret",
        "ZIJWIJZER_HANDOFF_WEBHOOK_URL": "",
        "ZIJWIJZER_WORKER_HEALTH_PORT": str(port),
        "ZIJWIJZER_LOG_FORMAT": "json",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot.app.handoff.worker", "--interval", "0.1"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = 0
        for _ in range(300):
            try:
                status, body = get(f"http://127.0.0.1:{port}/health")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        assert status == 200
        assert json.loads(body)["status"] == "ok"
    finally:
        worker.terminate()
        _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0
    entries = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert {e["process"] for e in entries} == {"handoff-worker"}
    assert any(e["message"] == f"health endpoint on 127.0.0.1:{port}" for e in entries)
