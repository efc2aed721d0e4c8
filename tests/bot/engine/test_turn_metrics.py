"""The engine's turn metrics (stdlib exposition) and its Agent.handle_message wrapper."""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass, field
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.common import request_context
from bot.engine.turn_metrics import TurnMetrics, is_wrapped, wrap_handle_message


def parsed(metrics: TurnMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    # prometheus-client's own parser: the hand-written text must be valid exposition format.
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(metrics.render())
        for sample in family.samples
    }


def test_turns_and_latency_render_as_prometheus_text() -> None:
    metrics = TurnMetrics()
    metrics.record("rest", "ok", 0.02)
    metrics.record("rest", "ok", 0.5)
    metrics.record("rest", "error", 40.0)
    metrics.record("widget", "ok", 0.005)
    found = parsed(metrics)

    assert found[("zijwijzer_turns_total", (("channel", "rest"), ("outcome", "ok")))] == 2
    assert found[("zijwijzer_turns_total", (("channel", "rest"), ("outcome", "error")))] == 1
    bucket = "zijwijzer_turn_duration_seconds_bucket"
    assert found[(bucket, (("channel", "rest"), ("le", "0.025")))] == 1
    assert found[(bucket, (("channel", "rest"), ("le", "0.5")))] == 2
    assert found[(bucket, (("channel", "rest"), ("le", "30.0")))] == 2
    assert found[(bucket, (("channel", "rest"), ("le", "+Inf")))] == 3
    # A value on a bound counts in that bound's bucket (le = less or equal).
    assert found[(bucket, (("channel", "widget"), ("le", "0.005")))] == 1
    assert found[("zijwijzer_turn_duration_seconds_count", (("channel", "rest"),))] == 3
    assert found[("zijwijzer_turn_duration_seconds_sum", (("channel", "rest"),))] == pytest.approx(
        40.52
    )
    assert found[("process_resident_memory_bytes", ())] > 0
    assert ("process_cpu_seconds_total", ()) in found


def test_odd_channel_names_never_become_labels() -> None:
    metrics = TurnMetrics()
    metrics.record('evil"} 1\n', "ok", 0.1)
    metrics.record(None, "ok", 0.1)
    assert metrics.turns("other", "ok") == 2
    assert parsed(metrics)  # still valid


@dataclass
class Message:
    text: str = "hoi"
    input_channel: str | None = "rest"
    metadata: Any = None


@dataclass
class Agent:
    ready: bool = True
    seen: list[tuple[str | None, Any]] = field(default_factory=list)
    fail: bool = False

    def is_ready(self) -> bool:
        return self.ready

    async def handle_message(self, message: Message) -> list[dict[str, Any]]:
        # What the action server would get: the id in the metadata, and the same id current.
        self.seen.append((request_context.current_request_id(), message.metadata))
        if self.fail:
            raise RuntimeError("tracker store down")
        return [{"text": "hallo"}]


async def run_turn(handle: Any, agent: Agent, message: Message, header: str | None) -> Any:
    async def turn() -> Any:
        if header is not None:
            request_context.begin_turn({"X-Request-ID": header})
        return await handle(agent, message)

    # Its own task with a fresh context, as each Sanic request has.
    return await asyncio.create_task(turn(), context=contextvars.Context())


async def test_a_turn_is_counted_timed_and_carries_the_channels_request_id() -> None:
    metrics = TurnMetrics()
    handle = wrap_handle_message(Agent.handle_message, metrics)
    agent = Agent()
    message = Message(metadata={"widget": {"silent": True}})

    assert await run_turn(handle, agent, message, "lb-id-1") == [{"text": "hallo"}]
    assert agent.seen == [("lb-id-1", {"widget": {"silent": True}, "request_id": "lb-id-1"})]
    assert metrics.turns("rest", "ok") == 1


async def test_without_a_channel_id_the_metadatas_or_a_new_one_is_used() -> None:
    metrics = TurnMetrics()
    handle = wrap_handle_message(Agent.handle_message, metrics)
    agent = Agent()
    await run_turn(handle, agent, Message(metadata={"request_id": "given-1"}), None)
    await run_turn(handle, agent, Message(metadata=None), None)
    assert agent.seen[0] == ("given-1", {"request_id": "given-1"})
    made, metadata = agent.seen[1]
    assert made and metadata == {"request_id": made}


async def test_errors_and_an_agent_without_a_model_are_counted() -> None:
    metrics = TurnMetrics()
    handle = wrap_handle_message(Agent.handle_message, metrics)
    with pytest.raises(RuntimeError):
        await run_turn(handle, Agent(fail=True), Message(input_channel="widget"), None)
    await run_turn(handle, Agent(ready=False), Message(input_channel="widget"), None)
    assert metrics.turns("widget", "error") == 1
    assert metrics.turns("widget", "not_ready") == 1


def test_the_wrapper_is_marked_so_it_is_installed_once() -> None:
    assert not is_wrapped(Agent.handle_message)
    assert is_wrapped(wrap_handle_message(Agent.handle_message))
