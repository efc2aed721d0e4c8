"""Prometheus metrics of the processes in .venv: action server, web app, handoff worker.

prometheus-client (requirements/app.lock). Each process keeps its metrics in its own
registry and answers `GET /metrics` on its own port (docs/architecture.md, "Operations");
the load balancer never lets /metrics through from outside. The engine (.venv-rasa) has
its own small, stdlib-only exposition of turn counts and latency (bot/engine/channels/metrics.py).

Labels only take values from fixed sets (action names the server registered, route
templates, outcomes): never a conversation id, a path with a token, or user text.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import (
    GC_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

NAMESPACE = "zijwijzer"
# Seconds. A turn's actions take milliseconds; advice with a cold catalogue up to seconds;
# the engine gives up on the action server after ZIJWIJZER_ACTION_TIMEOUT_SECONDS (5).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# What the domain counters read in an action's result: the responses it said (domain.yml) and
# whether it set advice_given (actions/dialogue.py says them all).
FALLBACK_RESPONSES = {
    "utter_not_understood": "rephrase",
    "utter_not_understood_general": "rephrase",
    "utter_miss_offer": "offer_options",
    "utter_offer_human": "offer_human",
    "utter_auto_skipped": "skipped",
    "utter_no_answer": "no_answer",
}
# Which response says what became of a handoff request (domain.yml).
HANDOFF_OUTCOMES = {
    "utter_handoff_confirmed": "stored",
    "utter_handoff_confirmed_days": "stored",
    "utter_handoff_declined": "declined",
    "utter_handoff_failed": "failed",
}
UNKNOWN = "unknown"


def new_registry() -> CollectorRegistry:
    """A registry with the process's own figures (memory, CPU, open files, Python GC)."""
    # No `*_created` series next to every counter: they double the output and say little.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    registry.register(GC_COLLECTOR)
    return registry


def exposition(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The registry's metrics in the format the scraper asked for (Prometheus text, or
    OpenMetrics), and that format's content type."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


class ActionMetrics:
    """The action server's figures: every custom action run, plus what the domain's key
    actions did (fallbacks, handoff requests, advice given)."""

    def __init__(self, registry: CollectorRegistry, known_actions: Iterable[str] = ()) -> None:
        self.known_actions = frozenset(known_actions)
        self.runs = Counter(
            "actions",
            "Custom actions run, by action and outcome (ok, rejected, not_found, error).",
            ["action", "outcome"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.latency = Histogram(
            "action_duration_seconds",
            "Time to run a custom action, by action.",
            ["action"],
            namespace=NAMESPACE,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.errors = Counter(
            "action_errors",
            "Custom actions that raised an error (the engine got HTTP 500 or 404).",
            ["action"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.fallbacks = Counter(
            "fallbacks",
            "Messages the bot did not understand, by what it did: 'rephrase' (asked again with "
            "an example), 'offer_options' (skip, example or a person), 'skipped' (the question "
            "skipped after the third), 'offer_human', 'no_answer' (a question it could not "
            "answer).",
            ["kind"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.handoffs = Counter(
            "handoffs",
            "Requests for a person, by outcome: stored, declined "
            "(no consent or no contact), failed (not stored).",
            ["outcome"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.advice = Counter(
            "advice_given",
            "Advice given (the action set advice_given).",
            namespace=NAMESPACE,
            registry=registry,
        )

    def label(self, action: object) -> str:
        """The action's name, or "unknown" for a name this server does not serve."""
        return action if isinstance(action, str) and action in self.known_actions else UNKNOWN

    def record(
        self,
        action: object,
        outcome: str,
        seconds: float,
        result: Mapping[str, Any] | None = None,
    ) -> None:
        """One action call: its outcome, duration and, when it ran, what it said and did."""
        name = self.label(action)
        self.runs.labels(name, outcome).inc()
        self.latency.labels(name).observe(seconds)
        if outcome in ("error", "not_found"):
            self.errors.labels(name).inc()
        if outcome == "ok" and result is not None:
            self._domain(name, result)

    def _domain(self, name: str, result: Mapping[str, Any]) -> None:
        responses = [
            r.get("response") for r in result.get("responses") or [] if isinstance(r, Mapping)
        ]
        for response in responses:
            if response in FALLBACK_RESPONSES:
                self.fallbacks.labels(FALLBACK_RESPONSES[response]).inc()
        outcome = next((HANDOFF_OUTCOMES[r] for r in responses if r in HANDOFF_OUTCOMES), None)
        if outcome is not None:
            self.handoffs.labels(outcome).inc()
        if any(
            isinstance(e, Mapping)
            and e.get("event") == "slot"
            and e.get("name") == "advice_given"
            and e.get("value") is True
            for e in result.get("events") or []
        ):
            self.advice.inc()


# Advice pages (bot/app/web/advice_page.py) by route template, and their format.
ADVICE_PAGE_ROUTES = {"/advies/{token}": "html", "/advies/{token}.pdf": "pdf"}


class WebMetrics:
    """The web app's figures: requests by route template and status, latency, advice pages
    served; and the handoff outbox as the database holds it (read at each scrape)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        outbox_status: Callable[[], Any] | None = None,
    ) -> None:
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            namespace=NAMESPACE,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.advice_pages = Counter(
            "advice_pages_served",
            "Saved advice pages served (200), by format (html, pdf).",
            ["format"],
            namespace=NAMESPACE,
            registry=registry,
        )
        if outbox_status is not None:
            registry.register(OutboxCollector(outbox_status))

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        page = ADVICE_PAGE_ROUTES.get(route)
        if page is not None and status == 200:
            self.advice_pages.labels(page).inc()


class OutboxCollector(Collector):
    """The handoff outbox at scrape time (`Deliverer.status()`): waiting, failing, delivered,
    the age of the oldest waiting message. Shared by every worker, so any web instance tells
    the same; a database error gives `zijwijzer_handoff_outbox_up 0` and nothing else."""

    def __init__(
        self,
        status: Callable[[], Any],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._status = status
        self._clock = clock

    def describe(self) -> Iterable[Metric]:
        # Nothing to describe up front: collect() would query the database at registration.
        return []

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            f"{NAMESPACE}_handoff_outbox_up", "Whether the outbox could be read (1) or not (0)."
        )
        try:
            status = self._status()
        except Exception as error:  # any database failure: report it, never fail the scrape
            logger.warning("handoff outbox status unavailable: %s", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for name, help_text, value in (
            ("waiting", "Handoff requests not yet delivered to the webhook.", status.waiting),
            ("failing", "Undelivered handoff requests after 8 or more attempts.", status.failing),
            ("delivered", "Delivered handoff requests still kept.", status.delivered),
        ):
            gauge = GaugeMetricFamily(f"{NAMESPACE}_handoff_outbox_{name}", help_text)
            gauge.add_metric([], value)
            yield gauge
        oldest = GaugeMetricFamily(
            f"{NAMESPACE}_handoff_outbox_oldest_waiting_seconds",
            "Age of the oldest undelivered handoff request (0: none waiting).",
        )
        age = 0.0
        if status.oldest_waiting is not None:
            created = status.oldest_waiting
            if created.tzinfo is None:  # stored as naive UTC
                created = created.replace(tzinfo=dt.UTC)
            age = max(0.0, (self._clock() - created).total_seconds())
        oldest.add_metric([], age)
        yield oldest


class WorkerMetrics:
    """The handoff worker's own figures (its health port's /metrics)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter(
            "handoff_deliveries",
            "Handoff delivery attempts by this worker, by outcome (delivered, failed).",
            ["outcome"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.rounds = Counter(
            "handoff_worker_rounds",
            "Outbox rounds by outcome (ok, error).",
            ["outcome"],
            namespace=NAMESPACE,
            registry=registry,
        )
