"""`python -m bot.app.action_server`, started as `make run` starts it: the SDK's routes unchanged,
plus /metrics, /ready, JSON logs with the turn's request id and no personal data."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.common.idempotency import DEADLINE_HEADER
from bot.common.settings import Settings, load_settings
from tests.stack import free_port
from tools import assistant

EMAIL = "jan.jansen@example.nl"


@dataclass
class Server:
    settings: Settings
    env: dict[str, str]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.action_port}"

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def call(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.url + "/webhook",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.load(answer)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("action-server")
    with pytest.MonkeyPatch.context() as patch:
        # An empty catalogue database: /ready says so until a catalogue is loaded.
        patch.setenv("ZIJWIJZER_DATABASE_URL", f"sqlite:///{folder / 'zijwijzer.db'}")
        patch.setenv("ZIJWIJZER_ACTION_PORT", str(free_port()))
        patch.setenv("ZIJWIJZER_LOG_FORMAT", "json")
        patch.setenv("ZIJWIJZER_LOG_LEVEL", "INFO")
        patch.setenv("ZIJWIJZER_SECRET_KEY", "test-secret-key-for-the-action-server")
        settings = load_settings()
        env = dict(os.environ)
    log = folder / "actions.log"
    with log.open("wb") as output:
        process = assistant.start_action_server(settings, env, output=output)
        try:
            assistant.wait_ready([process], timeout=120)
            yield Server(settings, env, log)
        finally:
            assistant.stop([process])


def tracker(request_id: str | None, intent: str, text: str, earlier: int = 0) -> dict[str, Any]:
    """A tracker after `earlier` exchanges and then the message `text` with `intent`."""
    events: list[dict[str, Any]] = []
    for _ in range(earlier):
        events += [{"event": "user", "text": "hoi"}, {"event": "bot", "text": "hoi"}]
    metadata = {"request_id": request_id} if request_id else {}
    latest = {"text": text, "metadata": metadata, "intent": {"name": intent, "confidence": 0.3}}
    return {
        "sender_id": "test-conversation",
        "slots": {},
        "latest_message": latest,
        "events": [*events, {"event": "user", "text": text, "parse_data": latest}],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": None,
    }


def action_call(
    name: str, request_id: str | None = None, intent: str = "greet", earlier: int = 0
) -> Any:
    """A call of `name` for a message that holds an e-mail address (the logs must not)."""
    return {
        "next_action": name,
        "sender_id": "test-conversation",
        "version": "3.6.21",
        "tracker": tracker(request_id, intent, f"mail {EMAIL}", earlier),
        "domain": {},
    }


def metric_values(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def test_the_sdk_routes_answer_as_before(server: Server) -> None:
    status, _, body = server.get("/health")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    status, _, body = server.get("/actions")
    names = {item["name"] for item in json.loads(body)}
    assert names == {"action_converse", "action_erase_conversation"}

    # No catalogue is loaded here: a message the bot cannot read is not understood.
    status, answer = server.call(action_call("action_converse", "turn-abc-1", "greet"))
    assert status == 200
    assert [r["response"] for r in answer["responses"]] == ["utter_intro", "utter_offer_intake"]
    status, answer = server.call(action_call("action_converse", "turn-abc-2", "inform", 1))
    assert [r["response"] for r in answer["responses"]] == ["utter_not_understood_general"]

    status, answer = server.call(action_call("action_made_up"))
    assert status == 404
    assert answer == {
        "error": "No registered action found for name 'action_made_up'.",
        "action_name": "action_made_up",
    }


def test_the_domain_is_kept_by_digest_as_the_engine_sends_it(server: Server) -> None:
    """rasa-sdk's protocol that bot/engine/action_client.py relies on: 449 for a digest it does not
    hold, the domain kept once it was sent with its digest."""
    body = action_call("action_converse", "turn-digest-1")
    del body["domain"]
    body["domain_digest"] = "digest-not-sent-yet"
    status, answer = server.call(body)
    assert status == 449
    assert answer["action_name"] == "action_converse"
    with_domain = {**body, "domain": {"responses": {}, "slots": {}}}
    status, _ = server.call(with_domain)
    assert status == 200
    status, answer = server.call(body)
    assert status == 200
    assert answer["responses"]


def test_metrics_count_the_actions_run(server: Server) -> None:
    server.call(action_call("action_converse", "turn-metrics", "inform", 1))
    status, headers, body = server.get("/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    found = metric_values(body)
    ok = found[("zijwijzer_actions_total", (("action", "action_converse"), ("outcome", "ok")))]
    assert ok >= 1
    assert found[("zijwijzer_fallbacks_total", (("kind", "rephrase"),))] >= 1
    # Every run is timed, whatever its outcome.
    runs = sum(
        value
        for (name, labels), value in found.items()
        if name == "zijwijzer_actions_total" and ("action", "action_converse") in labels
    )
    assert (
        found[("zijwijzer_action_duration_seconds_count", (("action", "action_converse"),))] == runs
    )
    assert ("process_resident_memory_bytes", ()) in found

    server.call(action_call("action_converse", "turn-metrics-2", "inform", 1))
    again = metric_values(server.get("/metrics")[2])
    assert (
        again[("zijwijzer_actions_total", (("action", "action_converse"), ("outcome", "ok")))]
        == ok + 1
    )


def test_a_call_past_its_deadline_is_not_run(server: Server) -> None:
    def counted() -> float:
        found = metric_values(server.get("/metrics")[2])
        key = ("zijwijzer_actions_total", (("action", "action_converse"), ("outcome", "ok")))
        return found.get(key, 0.0)

    before = counted()
    # The engine gave up on this call a second ago (a frozen server serving its backlog).
    late = {DEADLINE_HEADER: f"{time.time() - 1:.3f}"}
    status, answer = server.call(action_call("action_converse", "turn-late"), late)
    assert (status, answer) == (410, {"error": "too_late"})
    assert counted() == before
    # In time: run as usual.
    in_time = {DEADLINE_HEADER: f"{time.time() + 30:.3f}"}
    status, answer = server.call(action_call("action_converse", "turn-in-time"), in_time)
    assert status == 200 and answer["responses"]
    assert counted() == before + 1


def test_ready_once_the_catalogue_can_be_read(server: Server) -> None:
    status, _, body = server.get("/ready")
    assert (status, json.loads(body)) == (503, {"status": "catalogue unavailable"})
    load = subprocess.run(
        [str(assistant.PYTHON), "-m", "catalogue", "load"],
        cwd=assistant.ROOT,
        env={**server.env, "PYTHONPATH": str(assistant.ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert load.returncode == 0, load.stderr
    # Reading it (and training its answers' model) takes a few seconds; each /ready waits up
    # to READY_TIMEOUT_SECONDS for it, so this asks a few times at most.
    deadline = time.monotonic() + 120
    status, _, body = server.get("/ready")
    while status != 200 and time.monotonic() < deadline:
        status, _, body = server.get("/ready")
    assert (status, json.loads(body)) == (200, {"status": "ready"})


def test_logs_are_json_with_the_turns_request_id_and_no_personal_data(server: Server) -> None:
    server.call(action_call("action_converse", "turn-logged", "greet"))
    lines = server.log.read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines if line.strip()]  # every line is JSON
    assert EMAIL not in "\n".join(lines)
    assert {entry["process"] for entry in entries} == {"action-server"}
    logged = [e for e in entries if e.get("request_id") == "turn-logged"]
    assert len(logged) == 1
    assert logged[0]["message"].startswith("action action_converse: ok in ")
    assert logged[0]["logger"] == "bot.app.action_server"
    # The worker process serves the requests; it has our log set-up too.
    assert {e["logger"] for e in entries} >= {"rasa_sdk.executor", "bot.app.action_server"}
