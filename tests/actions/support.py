"""Helpers for the action tests: real rasa_sdk trackers, a fake catalogue, sample advice."""

from __future__ import annotations

import threading
from typing import Any

from rasa_sdk import Tracker


def make_tracker(
    slots: dict[str, Any] | None = None,
    *,
    text: str = "",
    intent: str = "inform",
    entities: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
    earlier_intents: list[str] | None = None,
) -> Tracker:
    """A tracker after one user message `text` (after `earlier_intents`), then `events`."""
    all_slots: dict[str, Any] = {"language": "nl", "requested_slot": None, "recruiter": False}
    all_slots.update(slots or {})
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": entities or [],
    }
    earlier = [
        {"event": "user", "text": name, "parse_data": {"intent": {"name": name}, "entities": []}}
        for name in earlier_intents or []
    ]
    return Tracker(
        sender_id="test",
        slots=all_slots,
        latest_message=latest,
        events=[*earlier, {"event": "user", "text": text, "parse_data": latest}, *(events or [])],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


class FakeCatalogue:
    """In-memory stand-in for CatalogueService.

    `advise` answers `advice` or raises `error`; `interpret` answers from `readings`
    (text -> result); `lookup` from `facts` ((kind, id) -> dict); `glossary` from `terms`.
    """

    def __init__(
        self,
        advice: dict[str, Any] | None = None,
        error: Exception | None = None,
        readings: dict[str, dict[str, Any]] | None = None,
        facts: dict[tuple[str, str], dict[str, Any]] | None = None,
        terms: list[dict[str, Any]] | None = None,
    ):
        self.advice = advice
        self.error = error
        self.readings = readings or {}
        self.facts = facts or {}
        self.terms = terms or []
        self.profiles: list[dict[str, Any]] = []
        self.interpreted: list[tuple[str, str | None]] = []
        self.threads: list[int] = []

    def advise(self, profile: dict[str, Any]) -> dict[str, Any]:
        self.profiles.append(dict(profile))
        self.threads.append(threading.get_ident())
        if self.error is not None:
            raise self.error
        assert self.advice is not None
        return self.advice

    def interpret(self, text: str, asked: str | None = None) -> dict[str, Any]:
        self.interpreted.append((text, asked))
        self.threads.append(threading.get_ident())
        empty: dict[str, Any] = {"values": {}, "problems": {}, "mentions": []}
        return {**empty, **self.readings.get(text, {})}

    def lookup(self, kind: str, item_id: str) -> dict[str, Any] | None:
        return self.facts.get((kind, item_id))

    def glossary(self) -> list[dict[str, Any]]:
        return self.terms


class OldCatalogue:
    """A catalogue from before `interpret`/`lookup`/`glossary`: only `advise`."""

    def advise(self, profile: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("not called in these tests")


SOURCE = {
    "id": "facts_routes",
    "title": "Domeinfeiten 2026",
    "url": None,
    "file": "domain/facts-2026.md",
    "checked": "2026-11-23",
    "status": "verified",
}


def sample_advice(
    route_ids: list[str], warnings: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Advice in the catalogue's shape; the routes in `route_ids` are the summary's, best first."""

    def item(kind: str, item_id: str, title: str, title_en: str, fit: str) -> dict[str, Any]:
        reason = {"rule": f"{item_id}_rule", "nl": "Omdat het kan.", "en": "Because it can."}
        return {
            "id": item_id,
            "kind": kind,
            "title": title,
            "title_en": title_en,
            "fit": fit,
            "reasons": [reason],
            "sources": [SOURCE],
        }

    return {
        "units": [
            item("unit", "adl", "ADL", "Activities of daily living", "possible"),
            item("unit", "helpende_plus", "Helpende Plus", "Helpende Plus", "possible"),
        ],
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
        "warnings": warnings or [],
        "open_questions": [{"field": "goal", "affects": ["routes"]}],
        "summary": {
            "routes": route_ids,
            "units": ["adl", "helpende_plus"],
            "funding": ["praktijkleren", "slim"],
        },
        "catalogue_version": "2026.11.23+test",
    }


EVC_WARNING = {
    "id": "evc_stopped",
    "severity": "high",
    "nl": "Sinds februari 2026 accepteren scholen geen EVC-certificaten meer.",
    "en": "Since February 2026 schools no longer accept EVC certificates.",
    "sources": [SOURCE],
}
