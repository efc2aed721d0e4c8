"""bench/chat.py's pure parts: percentiles, throughput, ratios (the load itself: `make bench`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

PATH = Path(__file__).resolve().parents[2] / "bench" / "chat.py"


@pytest.fixture(scope="module")
def chat() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_chat", PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_chat"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_phase_figures(chat: ModuleType) -> None:
    phase = chat.Phase("x", 1, latencies=[0.01 * i for i in range(1, 101)], seconds=4.0)
    assert phase.messages == 100
    assert phase.percentile(50) == pytest.approx(0.505)
    assert phase.percentile(95) == pytest.approx(0.9505)
    assert phase.throughput == 25.0
    assert chat.Phase("y", 1).throughput == 0.0


def test_ratios_and_goals(chat: ModuleType) -> None:
    ours = [
        chat.Phase("zijwijzer", 1, latencies=[0.04, 0.04, 0.04], seconds=1.0),
        chat.Phase("zijwijzer", 50, latencies=[0.1] * 150, seconds=10.0),
    ]
    plain = [
        chat.Phase("plain", 1, latencies=[0.02, 0.02, 0.02], seconds=1.0),
        chat.Phase("plain", 50, latencies=[0.1] * 100, seconds=10.0),
    ]
    lines = chat.ratios(ours, plain)
    assert lines[0] == "  1 users: p50 2.00x the plain assistant's, throughput 1.00x"
    assert "throughput 1.50x" in lines[1]
    # The speed issue's goals: p50 at 1 user at most 0.8x, throughput at least 1.5x.
    assert lines[2] == "goal p50 at 1 user <= 0.8x: 2.00x, NOT met"
    assert lines[3] == "goal throughput at 1 users >= 1.5x: 1.00x, NOT met"
    assert lines[4] == "goal throughput at 50 users >= 1.5x: 1.50x, met"
    table = chat.format_results(ours + plain)
    assert table.splitlines()[1].split()[:4] == ["zijwijzer", "1", "3", "40.0"]


def test_scripts_are_short_and_loopback_only(chat: ModuleType) -> None:
    assert chat.HOST == "127.0.0.1"
    assert 0 < len(chat.ZIJWIJZER_CONVERSATION) <= 20
    assert 0 < len(chat.PLAIN_CONVERSATION) <= 20
    assert max(chat.CONVERSATIONS_PER_USER) <= 100


def test_group_cpu_seconds_counts_this_process_group(chat: ModuleType) -> None:
    import os

    assert chat.group_cpu_seconds(os.getpgid(0)) > 0
    assert chat.group_cpu_seconds(2**22 + 12345) == 0  # no such group


def test_zijwijzer_is_benchmarked_with_its_rest_key_and_a_jwt_api(chat: ModuleType) -> None:
    settings = chat.zijwijzer_settings(6001, 6002, "bench-jwt-secret")
    assert (settings.rasa_port, settings.action_port) == (6001, 6002)
    assert settings.engine_api_jwt_secret == "bench-jwt-secret"
    assert chat.rest_headers(settings) == {"Authorization": f"Bearer {settings.rest_api_key}"}
    assert settings.rest_api_key  # the REST channel is on
