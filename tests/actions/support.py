"""Helpers for the action tests: real rasa_sdk trackers, a fake catalogue, sample advice."""

from __future__ import annotations

import threading
from typing import Any

from rasa_sdk import Tracker


def make_tracker(
    slots: dict[str, Any] | None = None,
    *,
    text: str = "",
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
) -> Tracker:
    """A tracker after one user message `text`, followed by `events`."""
    all_slots: dict[str, Any] = {"language": "nl", "requested_slot": None}
    all_slots.update(slots or {})
    latest = {"text": text, "intent": {"name": "inform", "confidence": 1.0}, "entities": []}
    return Tracker(
        sender_id="test",
        slots=all_slots,
        latest_message=latest,
        events=[{"event": "user", "text": text, "parse_data": latest}, *(events or [])],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


class FakeCatalogue:
    """In-memory stand-in for CatalogueService: answers `advice` or raises `error`."""

    def __init__(self, advice: dict[str, Any] | None = None, error: Exception | None = None):
        self.advice = advice
        self.error = error
        self.profiles: list[dict[str, Any]] = []
        self.threads: list[int] = []

    def advise(self, profile: dict[str, Any]) -> dict[str, Any]:
        self.profiles.append(dict(profile))
        self.threads.append(threading.get_ident())
        if self.error is not None:
            raise self.error
        assert self.advice is not None
        return self.advice


def sample_advice(route_ids: list[str]) -> dict[str, Any]:
    """Advice in the catalogue's shape; the routes in `route_ids` are the summary's, best first."""
    source = {
        "id": "facts_routes",
        "title": "Domeinfeiten 2026",
        "url": None,
        "file": "domain/facts-2026.md",
        "checked": "2026-11-23",
        "status": "verified",
    }

    def item(kind: str, item_id: str, title: str, title_en: str, fit: str) -> dict[str, Any]:
        reason = {"rule": f"{item_id}_rule", "nl": "Omdat het kan.", "en": "Because it can."}
        return {
            "id": item_id,
            "kind": kind,
            "title": title,
            "title_en": title_en,
            "fit": fit,
            "reasons": [reason],
            "sources": [source],
        }

    return {
        "units": [item("unit", "adl", "ADL", "Activities of daily living", "possible")],
        "routes": [
            item("route", "bbl", "BBL: werken en leren", "BBL: work-based learning", "possible"),
            item("route", "evc", "EVC-traject", "Accreditation of prior learning", "not_possible"),
        ],
        "funding": [
            item(
                "funding", "praktijkleren", "Subsidie praktijkleren", "Work-based grant", "possible"
            ),
            item("funding", "slim", "SLIM-regeling", "SLIM scheme", "possible"),
        ],
        "warnings": [],
        "open_questions": [{"field": "goal", "nl": "Wat is je doel?", "en": "What is your goal?"}],
        "summary": {"routes": route_ids, "units": ["adl"], "funding": ["praktijkleren", "slim"]},
        "catalogue_version": "2026.11.23+test",
    }
