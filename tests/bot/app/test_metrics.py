"""The Prometheus figures of the action server, the web app and the worker (bot/app/metrics.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from bot.app.handoff.delivery import OutboxStatus
from bot.app.metrics import (
    ActionMetrics,
    OutboxCollector,
    WebMetrics,
    WorkerMetrics,
    exposition,
    new_registry,
)

ACTIONS = ["action_converse", "validate_x"]


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the registry's text exposition, parsed back."""
    body, _ = exposition(registry, None)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return samples(registry).get((name, tuple(sorted(labels.items()))))


def said(*responses: str) -> dict[str, Any]:
    return {"events": [], "responses": [{"response": r} for r in responses]}


@pytest.fixture
def registry() -> CollectorRegistry:
    return new_registry()


def test_action_runs_latency_and_errors(registry: CollectorRegistry) -> None:
    metrics = ActionMetrics(registry, ACTIONS)
    metrics.record("validate_x", "ok", 0.003, said())
    metrics.record("validate_x", "rejected", 0.001)
    metrics.record("validate_x", "error", 0.2)
    metrics.record("action_made_up", "not_found", 0.0)

    assert value(registry, "zijwijzer_actions_total", action="validate_x", outcome="ok") == 1
    assert value(registry, "zijwijzer_actions_total", action="validate_x", outcome="error") == 1
    # Names the server does not serve never become labels.
    assert value(registry, "zijwijzer_actions_total", action="unknown", outcome="not_found") == 1
    assert value(registry, "zijwijzer_action_errors_total", action="validate_x") == 1
    assert value(registry, "zijwijzer_action_errors_total", action="unknown") == 1
    assert value(registry, "zijwijzer_action_duration_seconds_count", action="validate_x") == 3
    assert (
        value(registry, "zijwijzer_action_duration_seconds_bucket", action="validate_x", le="0.005")
        == 2
    )


def test_fallbacks_by_kind(registry: CollectorRegistry) -> None:
    metrics = ActionMetrics(registry, ACTIONS)
    metrics.record("action_converse", "ok", 0.001, said("utter_not_understood", "utter_x"))
    metrics.record("action_converse", "ok", 0.001, said("utter_not_understood_general"))
    metrics.record("action_converse", "ok", 0.001, said("utter_miss_offer"))
    metrics.record("action_converse", "ok", 0.001, said("utter_auto_skipped", "utter_ask_x"))
    metrics.record("action_converse", "ok", 0.001, said("utter_offer_human"))
    metrics.record("action_converse", "ok", 0.001, said("utter_no_answer"))
    metrics.record("action_converse", "ok", 0.001, said("utter_answer"))
    assert value(registry, "zijwijzer_fallbacks_total", kind="rephrase") == 2
    assert value(registry, "zijwijzer_fallbacks_total", kind="offer_options") == 1
    assert value(registry, "zijwijzer_fallbacks_total", kind="skipped") == 1
    assert value(registry, "zijwijzer_fallbacks_total", kind="offer_human") == 1
    assert value(registry, "zijwijzer_fallbacks_total", kind="no_answer") == 1


def test_handoffs_by_outcome(registry: CollectorRegistry) -> None:
    metrics = ActionMetrics(registry, ACTIONS)
    metrics.record("action_converse", "ok", 0.01, said("utter_handoff_confirmed"))
    metrics.record("action_converse", "ok", 0.01, said("utter_handoff_confirmed_days", "utter_x"))
    metrics.record("action_converse", "ok", 0.01, said("utter_handoff_declined"))
    metrics.record("action_converse", "ok", 0.01, said("utter_handoff_failed"))
    # An action that failed says nothing about the handoff.
    metrics.record("action_converse", "error", 0.01)
    assert value(registry, "zijwijzer_handoffs_total", outcome="stored") == 2
    assert value(registry, "zijwijzer_handoffs_total", outcome="declined") == 1
    assert value(registry, "zijwijzer_handoffs_total", outcome="failed") == 1


def test_advice_given_only_when_the_action_says_so(registry: CollectorRegistry) -> None:
    metrics = ActionMetrics(registry, ACTIONS)
    given = {"events": [{"event": "slot", "name": "advice_given", "value": True}], "responses": []}
    not_given = {
        "events": [{"event": "slot", "name": "advice_given", "value": False}],
        "responses": [],
    }
    metrics.record("action_converse", "ok", 0.05, given)
    metrics.record("action_converse", "ok", 0.05, not_given)
    metrics.record("action_converse", "error", 0.05)
    assert value(registry, "zijwijzer_advice_given_total") == 1


def test_web_requests_and_advice_pages(registry: CollectorRegistry) -> None:
    metrics = WebMetrics(registry)
    metrics.record("GET", "/advies/{token}", 200, 0.02)
    metrics.record("GET", "/advies/{token}.pdf", 200, 0.2)
    metrics.record("GET", "/advies/{token}", 404, 0.01)
    metrics.record("GET", "/health", 200, 0.001)
    assert (
        value(
            registry,
            "zijwijzer_http_requests_total",
            method="GET",
            route="/advies/{token}",
            status="404",
        )
        == 1
    )
    assert value(registry, "zijwijzer_advice_pages_served_total", format="html") == 1
    assert value(registry, "zijwijzer_advice_pages_served_total", format="pdf") == 1
    assert (
        value(
            registry, "zijwijzer_http_request_duration_seconds_count", method="GET", route="/health"
        )
        == 1
    )


def test_the_outbox_is_read_at_each_scrape(registry: CollectorRegistry) -> None:
    now = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
    statuses = [
        OutboxStatus(
            waiting=3, failing=1, delivered=7, oldest_waiting=now - dt.timedelta(minutes=2)
        ),
        OutboxStatus(waiting=0, failing=0, delivered=10, oldest_waiting=None),
    ]
    registry.register(OutboxCollector(lambda: statuses.pop(0), clock=lambda: now))
    first = samples(registry)
    assert first[("zijwijzer_handoff_outbox_up", ())] == 1
    assert first[("zijwijzer_handoff_outbox_waiting", ())] == 3
    assert first[("zijwijzer_handoff_outbox_failing", ())] == 1
    assert first[("zijwijzer_handoff_outbox_delivered", ())] == 7
    assert first[("zijwijzer_handoff_outbox_oldest_waiting_seconds", ())] == 120
    second = samples(registry)
    assert second[("zijwijzer_handoff_outbox_waiting", ())] == 0
    assert second[("zijwijzer_handoff_outbox_oldest_waiting_seconds", ())] == 0


def test_an_unreadable_outbox_says_so_and_the_scrape_still_works(
    registry: CollectorRegistry,
) -> None:
    def broken() -> OutboxStatus:
        raise ConnectionError("database gone")

    registry.register(OutboxCollector(broken))
    found = samples(registry)
    assert found[("zijwijzer_handoff_outbox_up", ())] == 0
    assert ("zijwijzer_handoff_outbox_waiting", ()) not in found
    assert any(name.startswith("process_") for name, _ in found)


def test_worker_counts(registry: CollectorRegistry) -> None:
    metrics = WorkerMetrics(registry)
    metrics.deliveries.labels("delivered").inc(2)
    metrics.rounds.labels("error").inc()
    assert value(registry, "zijwijzer_handoff_deliveries_total", outcome="delivered") == 2
    assert value(registry, "zijwijzer_handoff_worker_rounds_total", outcome="error") == 1


def test_exposition_formats(registry: CollectorRegistry) -> None:
    body, content_type = exposition(registry, None)
    assert content_type.startswith("text/plain")
    assert b"process_resident_memory_bytes" in body
    assert b"_created" not in body
    body, content_type = exposition(registry, "application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")
