"""The compact advice payload (docs/architecture.md, "The advice payload") the widget draws.

Pure: no Rasa, no database. It only reshapes what the advice engine returned: picks the
doable items (recommended first), their texts in one language, and keeps the whole under a
size budget; it decides nothing about fit. The full advice is on the advice page behind `link`.

Words around the facts ("Kosten", "Duur (weken)") come in as `labels`, read from domain.yml
by the action, so every user-facing word stays in the domain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

# The contract says under 10 KB; keep room for the REST channel's envelope.
PAYLOAD_BUDGET: Final = 9 * 1024
# At most this many cards per kind; the advice page shows all.
MAX_CARDS: Final = {"route": 3, "unit": 4, "funding": 3}
KIND_ORDER: Final = ("route", "unit", "funding")
SECTIONS: Final = {"route": "routes", "unit": "units", "funding": "funding"}
MAX_TEXT: Final = 280
MAX_WHY: Final = 3
MAX_WHY_CHARS: Final = 200
MAX_SOURCES: Final = 2
MAX_SOURCE_CHARS: Final = 120
MAX_FACT_CHARS: Final = 160
DOABLE: Final = ("recommended", "possible")
# Fact labels the action reads from domain.yml (response utter_advice_fact_<name>).
FACT_LABELS: Final = (
    "cost",
    "qualification",
    "duration",
    "price",
    "amount",
    "valid_until",
    "unverified",
)


def localised(item: Mapping[str, Any], key: str, language: str) -> str:
    """item[key] in `language`: a {"nl","en"} dict, or `<key>_en` next to a Dutch `key`."""
    value = item.get(key)
    if isinstance(value, Mapping):
        return str(value.get(language) or value.get("nl") or "")
    if language != "nl" and item.get(f"{key}_{language}"):
        return str(item[f"{key}_{language}"])
    return "" if value is None else str(value)


def said(texts: Mapping[str, Any], language: str) -> str:
    """A {"nl": ..., "en": ...} text (a reason, a warning) in `language`, else in Dutch."""
    return str(texts.get(language) or texts.get("nl") or "")


def shorten(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if text[limit - 1] != " " and " " in cut:  # drop the last word only when it was cut
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.") + "…"


def _size(value: Any) -> int:
    # ASCII-escaped: what a JSON event store writes (€ becomes \u20ac), the larger figure.
    return len(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def _why(item: Mapping[str, Any], language: str) -> list[str]:
    texts: list[str] = []
    for reason in item.get("reasons") or []:
        text = shorten(said(reason, language), MAX_WHY_CHARS)
        if text and text not in texts:
            texts.append(text)
    return texts[:MAX_WHY]


def _range(low: Any, high: Any, prefix: str = "") -> str:
    if low is None and high is None:
        return ""
    if low is None or high is None or low == high:
        return f"{prefix}{low if low is not None else high}"
    return f"{prefix}{low}–{prefix}{high}"


def _facts(
    item: Mapping[str, Any], kind: str, language: str, labels: Mapping[str, str]
) -> list[dict[str, str]]:
    """(label, value) pairs of the item's main facts; unverified ones are said to be."""
    pairs: list[tuple[str, str, bool]] = []  # (label name, value, verified)
    if kind == "route":
        pairs.append(("cost", localised(item, "cost", language), True))
    elif kind == "unit":
        qualification = item.get("qualification") or {}
        if qualification.get("title"):
            level = qualification.get("level")
            value = str(qualification["title"]) + (f" (mbo {level})" if level else "")
            pairs.append(("qualification", value, True))
        duration = item.get("duration") or {}
        weeks = _range(duration.get("min_weeks"), duration.get("max_weeks"))
        pairs.append(("duration", weeks, duration.get("status", "verified") == "verified"))
        price = item.get("price") or {}
        euros = _range(price.get("min_eur"), price.get("max_eur"), "€ ")
        pairs.append(("price", euros, price.get("status", "verified") == "verified"))
    else:
        pairs.append(("amount", localised(item, "amount", language), True))
        pairs.append(("valid_until", str(item.get("valid_until") or ""), True))
    facts = []
    unverified = labels.get("unverified", "{value}")
    for name, value, verified in pairs:
        label = labels.get(name)
        if not label or not value:
            continue
        value = shorten(value, MAX_FACT_CHARS)
        facts.append(
            {"label": label, "value": value if verified else unverified.format(value=value)}
        )
    return facts


def _text(item: Mapping[str, Any], kind: str, language: str) -> str:
    key = {"route": "explain", "unit": "enables", "funding": "conditions"}[kind]
    return shorten(localised(item, key, language), MAX_TEXT)


def card(
    item: Mapping[str, Any], kind: str, language: str, labels: Mapping[str, str]
) -> dict[str, Any]:
    """One advice item as a card, in `language`."""
    return {
        "kind": kind,
        "id": str(item["id"]),
        "title": localised(item, "title", language),
        "fit": str(item["fit"]),
        "certain": bool(item.get("certain")),
        "text": _text(item, kind, language),
        "why": _why(item, language),
        "facts": _facts(item, kind, language, labels),
        "sources": [
            {
                "title": shorten(str(s.get("title") or s.get("id") or ""), MAX_SOURCE_CHARS),
                "url": s.get("url"),
            }
            for s in (item.get("sources") or [])[:MAX_SOURCES]
        ],
    }


def _candidates(advice: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Doable items in the order they claim room: the summary's, then recommended, then
    possible; within each, routes, units, funding, in the engine's ranking."""
    summary = advice.get("summary") or {}
    doable = {
        kind: [i for i in advice.get(SECTIONS[kind]) or [] if i.get("fit") in DOABLE]
        for kind in KIND_ORDER
    }
    ordered: list[tuple[str, Mapping[str, Any]]] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: str, item: Mapping[str, Any]) -> None:
        if (kind, item["id"]) not in seen:
            seen.add((kind, item["id"]))
            ordered.append((kind, item))

    for kind in KIND_ORDER:
        by_id = {i["id"]: i for i in doable[kind]}
        for item_id in summary.get(SECTIONS[kind]) or []:
            if item_id in by_id:
                add(kind, by_id[item_id])
    for fit in DOABLE:
        for kind in KIND_ORDER:
            for item in doable[kind]:
                if item["fit"] == fit:
                    add(kind, item)
    return ordered


def advice_payload(
    advice: Mapping[str, Any],
    language: str,
    *,
    labels: Mapping[str, str],
    link: str | None,
    link_expires: str | None,
    budget: int = PAYLOAD_BUDGET,
) -> dict[str, Any]:
    """The compact payload: cards of doable items (recommended first), warnings, summary ids,
    link; cards that would take it over `budget` bytes are left for the advice page."""
    summary = advice.get("summary") or {}
    payload: dict[str, Any] = {
        "type": "advice",
        "language": language,
        "catalogue_version": str(advice.get("catalogue_version") or ""),
        "link": link,
        "link_expires": link_expires,
        "summary": {key: list(summary.get(key) or []) for key in ("routes", "units", "funding")},
        "cards": [],
        "warnings": [
            {
                "id": str(w.get("id")),
                "severity": "info" if w.get("severity") == "info" else "warning",
                "text": said(w, language),
            }
            for w in advice.get("warnings") or []
        ],
    }
    size = _size(payload)
    chosen: list[dict[str, Any]] = []
    per_kind = dict.fromkeys(KIND_ORDER, 0)
    for kind, item in _candidates(advice):
        if per_kind[kind] >= MAX_CARDS[kind]:
            continue
        new = card(item, kind, language, labels)
        extra = _size(new) + (1 if chosen else 0)  # the comma between cards
        if size + extra > budget:
            continue
        chosen.append(new)
        size += extra
        per_kind[kind] += 1
    rank = {fit: n for n, fit in enumerate(DOABLE)}
    kind_rank = {kind: n for n, kind in enumerate(KIND_ORDER)}
    position = {
        (kind, item["id"]): n
        for kind in KIND_ORDER
        for n, item in enumerate(advice.get(SECTIONS[kind]) or [])
    }
    # Shown recommended first, then by kind, then in the engine's order.
    payload["cards"] = sorted(
        chosen,
        key=lambda c: (rank[c["fit"]], kind_rank[c["kind"]], position[(c["kind"], c["id"])]),
    )
    return payload
