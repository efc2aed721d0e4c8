"""The web app's /metrics, /health and request ids (FastAPI TestClient, temporary SQLite)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot.app.db import Database
from bot.app.handoff.store import HandoffStore
from tests.bot.app.handoff.support import handoff


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def requests(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], route: str) -> float:
    return sum(
        value
        for (name, labels), value in found.items()
        if name == "zijwijzer_http_requests_total" and ("route", route) in labels
    )


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready"}


def test_requests_are_counted_by_route_template_never_by_path(client: TestClient) -> None:
    token = "A" * 43
    assert client.get(f"/advies/{token}").status_code == 404
    assert client.get("/health").status_code == 200
    assert client.get("/no/such/page").status_code == 404
    found = scrape(client)
    labels = (("method", "GET"), ("route", "/advies/{token}"), ("status", "404"))
    assert found[("zijwijzer_http_requests_total", labels)] == 1
    assert requests(found, "/health") == 1
    assert requests(found, "unmatched") == 1
    count = (
        "zijwijzer_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/health")),
    )
    assert found[count] == 1
    # Neither the token nor the made-up path became a label.
    body = client.get("/metrics").text
    assert token not in body
    assert "/no/such/page" not in body
    # Not found pages are not advice pages served.
    assert found.get(("zijwijzer_advice_pages_served_total", (("format", "html"),)), 0) == 0


def test_the_handoff_outbox_is_in_the_metrics(client: TestClient, database: Database) -> None:
    HandoffStore(database).create(*handoff())
    found = scrape(client)
    assert found[("zijwijzer_handoff_outbox_up", ())] == 1
    assert found[("zijwijzer_handoff_outbox_waiting", ())] == 1
    assert found[("zijwijzer_handoff_outbox_delivered", ())] == 0


def test_metrics_stay_out_of_the_api_description(client: TestClient) -> None:
    assert "/metrics" not in client.app.openapi()["paths"]  # type: ignore[attr-defined]


def test_a_request_id_from_the_load_balancer_is_echoed_else_one_is_made(
    client: TestClient,
) -> None:
    answer = client.get("/health", headers={"X-Request-ID": "lb-1234"})
    assert answer.headers["x-request-id"] == "lb-1234"
    made = client.get("/health", headers={"X-Request-ID": "not valid!"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/health").headers["x-request-id"] != made


def test_the_security_headers_are_still_there(client: TestClient) -> None:
    answer = client.get("/metrics")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
