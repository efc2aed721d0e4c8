"""Operations against the running stack: the engine's and the action server's metrics, and
one request id per turn from the engine to the action server's log lines."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.stack import Stack

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def action_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.settings.action_port}"


def counted(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_turns_and_actions_are_counted(stack: Stack) -> None:
    sender = f"ops-{uuid.uuid4().hex[:12]}"
    engine_before = scrape(f"{stack.engine_url}/webhooks/metrics/")
    actions_before = scrape(f"{action_url(stack)}/metrics")

    for message in ("hoi", "ik wil graag advies", "ouderenzorg"):
        stack.say(sender, message)

    engine = scrape(f"{stack.engine_url}/webhooks/metrics/")
    turns = "zijwijzer_turns_total"
    assert (
        counted(engine, turns, channel="rest", outcome="ok")
        - counted(engine_before, turns, channel="rest", outcome="ok")
        >= 3
    )
    assert counted(engine, "zijwijzer_turn_duration_seconds_count", channel="rest") >= 3
    assert counted(engine, "process_resident_memory_bytes") > 100_000_000  # a loaded model

    actions = scrape(f"{action_url(stack)}/metrics")
    runs = "zijwijzer_actions_total"
    labels = {"action": "action_converse", "outcome": "ok"}
    assert counted(actions, runs, **labels) > counted(actions_before, runs, **labels)


def request_ids_in_tracker(tracker: dict[str, Any]) -> set[str]:
    return {
        str((event.get("metadata") or {}).get("request_id"))
        for event in tracker["events"]
        if event.get("event") == "user" and (event.get("metadata") or {}).get("request_id")
    }


def test_the_action_server_logs_under_the_engines_request_id(stack: Stack) -> None:
    sender = f"ops-{uuid.uuid4().hex[:12]}"
    stack.say(sender, "ik wil graag advies")
    stack.say(sender, "ouderenzorg")
    # Every turn got an id, kept in the user message's metadata (bot/engine/turn_metrics.py).
    stored = request_ids_in_tracker(stack.tracker(sender))
    assert len(stored) == 2
    logged = set(
        re.findall(r"\[request ([A-Za-z0-9._:-]+)\]", stack.logs["actions"].read_text("utf-8"))
    )
    # The tracker store keeps a redacted copy; an id that happened to look like a number
    # could differ there, so one shared id is the proof.
    assert stored & logged, json.dumps({"stored": sorted(stored), "logged": sorted(logged)[-5:]})


def test_every_process_answers_its_health_checks(stack: Stack) -> None:
    for url in (
        f"{stack.engine_url}/webhooks/widget/",
        f"{action_url(stack)}/health",
        f"{action_url(stack)}/ready",
        f"{stack.web_url}/health",
        f"{stack.web_url}/ready",
    ):
        with urllib.request.urlopen(url, timeout=30) as answer:
            assert answer.status == 200, url
    assert counted(scrape(f"{stack.web_url}/metrics"), "zijwijzer_handoff_outbox_up") == 1


def test_the_load_balancers_request_id_reaches_the_action_servers_log(stack: Stack) -> None:
    sender = f"ops-{uuid.uuid4().hex[:12]}"
    stack.say(sender, "ik wil graag advies")
    request_id = f"lb-{uuid.uuid4().hex[:16]}"
    request = urllib.request.Request(
        f"{stack.engine_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": "ouderenzorg"}).encode(),
        headers={**stack.rest_headers, "X-Request-ID": request_id},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.status == 200
    log = stack.logs["actions"].read_text("utf-8")
    assert re.search(rf"action action_converse: ok in .* \[request {request_id}\]", log)
    assert "turn on rest: ok in" in stack.logs["engine"].read_text("utf-8")
