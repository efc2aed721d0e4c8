"""Faults under load, through HAProxy, on the supervised production shape (tools/prod.py).

Twenty simulated widget users (tests/prod/load.py) chat through the load balancer while a
process is killed, frozen or hangs, Redis or PostgreSQL is cut, or the engines are replaced;
afterwards every answer they got is checked against the tracker store (answered: stored once,
with its answer; refused with 503: not stored). The figures (failed turns, restart and recovery
times, waits) are printed (`-s`) and quoted in docs/deployment.md ("Faults and recovery").
"""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, expect
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.common.idempotency import DEADLINE_HEADER
from tests.browser import screenshot_path
from tests.prod.conftest import Prod
from tests.prod.load import Load, Report, check
from tests.stack import STARTUP_TIMEOUT_SECONDS
from tools import assistant, prod

pytestmark = pytest.mark.integration

USERS = 20
# Long enough for every conversation to hit the fault several times (a turn under 20 users
# takes well under a second) and for HAProxy to mark a frozen server down (about 3 s).
FAULT_SECONDS = 10.0
WARM_SECONDS = 3.0
MARKED_DOWN_WITHIN_SECONDS = 20.0
# The bounds.
MOST_FAILED_PER_KILL = 2
BACK_WITHIN_SECONDS = 30.0
MOST_ACTION_UNAVAILABLE = 3
LONGEST_WAIT_AFTER_RETURN_SECONDS = 10.0
ROOT = Path(__file__).resolve().parents[2]


def checked(prod_shape: Prod, report: Report) -> None:
    problems = check(report, prod_shape.events)
    assert not problems, problems[:20]
    assert report.answered, "no turn was answered at all"


def wait_for(condition: Any, timeout: float, what: str) -> float:
    """Seconds until `condition()` held; fails after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - started


def in_haproxy(prod_shape: Prod, server: str) -> bool:
    return server in prod.haproxy_servers_up(prod_shape.stack.haproxy_socket)


def kill_and_wait(prod_shape: Prod, key: str) -> tuple[float, float]:
    """SIGKILL to a process; seconds until supervisord runs it again (a new pid) and until
    HAProxy sends it traffic again."""
    stack = prod_shape.stack
    old = stack.kill(key)
    killed = time.monotonic()
    wait_for(lambda: stack.pid(key) not in (0, old), 60, f"{key} restarted")
    restarted = time.monotonic() - killed
    server = f"{'engines' if key.startswith('engine') else 'actions'}/{key}"
    # Ready (the new process answers its readiness check: an engine once its model is
    # loaded), and in HAProxy's rotation again.
    # An engine loads its model in 30-60 s on a quiet machine; beside `make test`'s other
    # training it took minutes: the startup probe's 6 minutes, as the watcher allows.
    wait_for(lambda: stack.ready(key), STARTUP_TIMEOUT_SECONDS, f"{key} ready")
    wait_for(lambda: in_haproxy(prod_shape, server), 30, server)
    return restarted, time.monotonic() - killed


@pytest.mark.parametrize("kind", ["actions", "engine"])
def test_a_killed_process_is_restarted_and_costs_at_most_two_turns(
    prod_shape: Prod, kind: str
) -> None:
    times: dict[str, tuple[float, float]] = {}
    with Load(prod_shape.url, USERS) as load:
        load.run_for(WARM_SECONDS)
        for key in (f"{kind}1", f"{kind}2"):  # each alone, one after the other
            times[key] = kill_and_wait(prod_shape, key)
            load.run_for(WARM_SECONDS)
    report = load.report()
    for key, (restarted, back) in times.items():
        print(
            f"\n{key} killed: running again after {restarted:.1f} s, ready and in HAProxy "
            f"after {back:.1f} s"
        )
    print(f"{kind} kills under {USERS} users: {report.summary()}")
    checked(prod_shape, report)
    assert len(report.failed) <= MOST_FAILED_PER_KILL * 2, report.failed
    assert all(restarted < BACK_WITHIN_SECONDS for restarted, _ in times.values()), times
    # supervisord logged each crash and restart.
    log = prod_shape.stack.log("supervisord").read_text(errors="replace")
    for key in times:
        assert f"exited: {key} (terminated by SIGKILL" in log


def handoff_call(conversation_id: str, message_id: str, domain: dict[str, Any]) -> dict[str, Any]:
    """What the engine sends when a person, asked for their phone number for a handoff,
    gives it: the dialogue's action stores the request."""
    slots = {
        "language": "nl",
        "open_question": "handoff_contact",
        "handoff_contact_preference": "phone",
    }
    user = {
        "event": "user",
        "text": "0612345678",
        "timestamp": time.time(),
        "input_channel": "widget",
        "metadata": {"widget": {"message_id": message_id}},
        "parse_data": {"intent": {"name": "inform"}, "entities": []},
    }
    return {
        "next_action": "action_converse",
        "sender_id": conversation_id,
        "version": "3.6.21",
        "domain": domain,
        "tracker": {
            "sender_id": conversation_id,
            "slots": slots,
            "latest_message": {
                "text": user["text"],
                "metadata": user["metadata"],
                "intent": {"name": "inform", "confidence": 0.9},
            },
            "events": [user],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": None,
            "latest_input_channel": "widget",
        },
    }


def call_action(url: str, body: dict[str, Any], deadline: float, timeout: float) -> int:
    request = urllib.request.Request(
        f"{url}/webhook",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", DEADLINE_HEADER: f"{deadline:.3f}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def handoffs(prod_shape: Prod, conversations: list[str]) -> int:
    engine = create_engine(prod_shape.database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT count(*) FROM handoff_requests WHERE conversation_id = ANY(:ids)"),
                    {"ids": conversations},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_a_frozen_action_server_costs_at_most_three_turns_and_its_late_calls_change_nothing(
    prod_shape: Prod, dutch: dict[str, dict[str, Any]]
) -> None:
    stack = prod_shape.stack
    frozen_url = stack.base_url("actions1")
    healthy_url = stack.base_url("actions2")
    assert frozen_url and healthy_url
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    calls = [
        handoff_call(f"late-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex, domain) for _ in range(5)
    ]
    conversations = [call["sender_id"] for call in calls]
    abandoned: list[int] = []
    with Load(prod_shape.url, USERS) as load:
        load.run_for(WARM_SECONDS)
        stack.signal("actions1", signal.SIGSTOP)
        frozen_at = time.monotonic()
        try:
            # Handoff calls the engine would give up on (deadline 2 s): queued in the frozen
            # server, run when it resumes.
            senders = [
                threading.Thread(
                    target=lambda c=call: abandoned.append(
                        call_action(frozen_url, c, time.time() + 2.0, timeout=2.5)
                    )
                )
                for call in calls
            ]
            for sender in senders:
                sender.start()
            out = wait_for(
                lambda: not in_haproxy(prod_shape, "actions/actions1"),
                MARKED_DOWN_WITHIN_SECONDS,
                "marked down",
            )
            load.run_for(max(0.0, FAULT_SECONDS - (time.monotonic() - frozen_at)))
            for sender in senders:
                sender.join()
        finally:
            stack.signal("actions1", signal.SIGCONT)
        resumed = time.monotonic()
        back = wait_for(lambda: in_haproxy(prod_shape, "actions/actions1"), 30, "back in HAProxy")
        load.run_for(WARM_SECONDS)
    report = load.report()
    unavailable = report.saying(dutch["utter_action_unavailable"]["text"])
    during = [a for a in report.attempts if frozen_at <= a.started < resumed]
    print(
        f"\nactions1 frozen {resumed - frozen_at:.0f} s under {USERS} users: out of HAProxy "
        f"after {out:.1f} s, back {back:.1f} s after it resumed; {len(unavailable)} 'action "
        f"unavailable' answers; {len(during)} turns during the freeze, the slowest "
        f"{max((a.seconds for a in during), default=0):.2f} s; {report.summary()}"
    )
    checked(prod_shape, report)
    assert len(unavailable) <= MOST_ACTION_UNAVAILABLE
    assert abandoned == [0] * len(calls)  # each call gave up on the frozen server

    # Resumed, the frozen server ran (or refused) the abandoned calls: nothing was stored.
    wait_for(lambda: _answers(f"{frozen_url}/health"), 30, "actions1 answers")

    def refused_late() -> int:
        log = stack.log("actions1").read_text(errors="replace")
        return log.count("after its deadline: not run")

    # Its backlog is done: every abandoned call was read, found past its deadline, not run.
    wait_for(lambda: refused_late() >= len(calls), 30, "the late calls refused")
    assert handoffs(prod_shape, conversations) == 0
    # The same calls in time (the engine's retry, on the healthy server): stored once each,
    # and a repeat changes nothing.
    for _ in range(2):
        for call in calls:
            assert call_action(healthy_url, call, time.time() + 5, timeout=10) == 200
    assert handoffs(prod_shape, conversations) == len(calls)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.mark.parametrize("service", ["redis", "postgres"])
def test_a_cut_refuses_turns_honestly_and_no_conversation_waits_long_after_it(
    prod_shape: Prod, service: str
) -> None:
    proxy = prod_shape.redis_proxy if service == "redis" else prod_shape.postgres_proxy
    with Load(prod_shape.url, USERS) as load:
        load.run_for(WARM_SECONDS)
        proxy.cut()
        cut_at = time.monotonic()
        try:
            load.run_for(FAULT_SECONDS)
        finally:
            proxy.restore()
        returned = time.monotonic()
        # Long enough to see a conversation wait longer than the bound.
        load.run_for(LONGEST_WAIT_AFTER_RETURN_SECONDS + 3)
    report = load.report()
    during = [a for a in report.attempts if cut_at <= a.started < returned]
    refused = [a for a in during if a.status == 503]
    first = report.first_answer_after(returned)
    longest_turn = report.longest_turn_after(returned)
    waited = report.longest_wait_per_conversation_after(returned)
    print(
        f"\n{service} cut {returned - cut_at:.0f} s under {USERS} users: {len(during)} turns "
        f"during the cut, {len(refused)} refused (503), the slowest refusal "
        f"{max((a.seconds for a in refused), default=0):.2f} s; after it came back: first "
        f"answer after {first:.2f} s, longest turn {longest_turn:.2f} s, longest wait of a "
        f"conversation {waited:.2f} s; {report.summary()}"
    )
    checked(prod_shape, report)
    assert refused, "the cut refused no turn: was it cut?"
    # Nothing but honest refusals: no 502, no timeout, no server error.
    assert {a.status for a in report.failed} <= {503}, report.statuses()
    assert all(a.error == "storage_unavailable" for a in report.failed)
    assert longest_turn <= LONGEST_WAIT_AFTER_RETURN_SECONDS
    assert waited <= LONGEST_WAIT_AFTER_RETURN_SECONDS


def test_the_widget_loads_while_the_database_is_down_and_says_it_cannot_chat(
    prod_shape: Prod, browser: Browser, dutch: dict[str, dict[str, Any]]
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        # No wait: cut() returns with every database connection closed and new ones refused,
        # and no health check in HAProxy depends on the database (deploy/haproxy.cfg).
        prod_shape.postgres_proxy.cut()
        page.goto(f"{prod_shape.url}/")
        page.get_by_role("button", name="Chat met Zijwijzer").click()
        page.get_by_role("button", name="Akkoord, start de chat").click()
        unavailable = dutch["utter_storage_unavailable"]["text"]
        expect(page.get_by_role("alert")).to_contain_text(unavailable.split("{")[0].strip()[:40])
        page.screenshot(path=screenshot_path("prod-widget-database-down"))
        prod_shape.postgres_proxy.restore()
        page.get_by_role("button", name="Opnieuw proberen").click()
        greet = dutch["utter_greet"]["text"].split("{")[0].strip()[:40]
        expect(page.locator(".zw-message.zw-bot .zw-text").last).to_contain_text(greet)
    finally:
        prod_shape.postgres_proxy.restore()
        context.close()


def engine_models(prod_shape: Prod) -> set[str]:
    models = set()
    for key in ("engine1", "engine2"):
        words = Path(f"/proc/{prod_shape.stack.pid(key)}/cmdline").read_bytes().split(b"\0")
        models.add(words[words.index(b"--model") + 1].decode())
    return models


@pytest.fixture
def new_model(prod_shape: Prod) -> Iterator[Path]:
    """A 'newly trained' model: the trained one under a new name (training takes minutes)."""
    model = prod_shape.stack.log_dir / f"model-{uuid.uuid4().hex[:8]}.tar.gz"
    shutil.copyfile(assistant.MODEL, model)
    yield model
    prod.set_engine_model(prod_shape.stack.log_dir / "launch.json", assistant.MODEL)
    prod_shape.stack.model = assistant.MODEL


def test_a_rolling_update_of_both_engines_fails_no_turn(prod_shape: Prod, new_model: Path) -> None:
    steps: list[str] = []
    with Load(prod_shape.url, USERS) as load:
        load.run_for(WARM_SECONDS)
        started = time.monotonic()
        prod_shape.stack.reload_engines(new_model, report=steps.append)
        took = time.monotonic() - started
        load.run_for(WARM_SECONDS)
    report = load.report()
    print(
        f"\nrolling update under {USERS} users in {took:.0f} s ({'; '.join(steps)}): "
        f"{report.summary()}"
    )
    checked(prod_shape, report)
    assert report.failed == []
    assert engine_models(prod_shape) == {str(new_model)}


def test_a_hung_process_is_restarted_by_the_watcher(prod_shape: Prod) -> None:
    stack = prod_shape.stack
    old = stack.pid("actions2")
    stack.signal("actions2", signal.SIGSTOP)  # hangs: alive, answering nothing
    started = time.monotonic()
    try:
        wait_for(lambda: stack.pid("actions2") not in (0, old), 150, "actions2 restarted")
    finally:
        pid = stack.pid("actions2")
        if pid == old:
            stack.signal("actions2", signal.SIGCONT)
    restarted = time.monotonic() - started
    back = wait_for(lambda: in_haproxy(prod_shape, "actions/actions2"), 60, "back in HAProxy")
    print(
        f"\nactions2 hung: restarted by the watcher after {restarted:.0f} s, "
        f"in HAProxy {back:.0f} s later"
    )
    watch_log = stack.log("watch").read_text(errors="replace")
    assert "actions2: liveness probe failed 3 times in a row: restarting it" in watch_log
    status = json.loads(stack.status_path.read_text())["programs"]["actions2"]
    assert status["starts"] >= 2
    # `make prod-status` says so too: running, started again, healthy (its startup probe can
    # take a while beside make test's other training).
    wait_for(
        lambda: json.loads(stack.status_path.read_text())["programs"]["actions2"]["health"] == "ok",
        150,
        "healthy",
    )
    [line] = [line for line in prod.status_lines(stack) if line.startswith("actions2 ")]
    words = line.split()
    assert words[1] == "RUNNING" and int(words[4]) >= 2 and "ok" in words[5:]
