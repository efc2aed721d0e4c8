"""The advice engine: a profile in, explained and sourced units, routes and funding out.

Pure and deterministic: the same catalogue and profile always give the same advice. The rules
themselves are data (rules.yaml); this module only combines their outcomes:
- not_possible beats possible beats recommended; notes explain without changing the fit;
- a rule that needs an unanswered question caps its item at possible, and the question is
  listed in open_questions with the items it could change;
- a unit or scheme is not possible when every route it can be followed through is not possible;
- an ended item is never offered.
The parts of an item that do not depend on the profile are built once per catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from catalogue.compiled import Catalogue, CompiledRule, ItemRef, Kind
from catalogue.profile import parse_profile
from catalogue.rules import Undecided, Verdict, evaluate, profile_symbols
from catalogue.schema import Funding, Route, Text, Unit

FIT_RANK: Final = {"recommended": 0, "possible": 1, "not_possible": 2}
SEVERITY_RANK: Final = {"high": 0, "warning": 1, "info": 2}
SUMMARY_ROUTES: Final = 2
SUMMARY_UNITS: Final = 2
SUMMARY_FUNDING: Final = 3
NO_DURATION: Final = 10_000


def _text(text: Text) -> dict[str, str]:
    return {"nl": text.nl, "en": text.en}


@dataclass(frozen=True)
class _Entry:
    """An item's profile-independent part, prepared once per catalogue."""

    ref: ItemRef
    status: str
    routes: tuple[str, ...]
    default: dict[str, Any]
    rules: tuple[tuple[CompiledRule, dict[str, Any]], ...]
    static: dict[str, Any]
    order: tuple[int, int]  # (duration in weeks or NO_DURATION, position in the data)


@dataclass(frozen=True)
class _Prepared:
    routes: tuple[_Entry, ...]
    units: tuple[_Entry, ...]
    funding: tuple[_Entry, ...]
    blocked: dict[str, Any]
    ended: dict[str, Any]
    undecided: dict[str, str]


def _source_dicts(catalogue: Catalogue, ids: Iterable[str]) -> list[dict[str, Any]]:
    out = []
    for source_id in dict.fromkeys(ids):
        s = catalogue.sources[source_id]
        out.append(
            {
                "id": s.id,
                "title": s.title,
                "publisher": s.publisher,
                "url": s.url,
                "file": s.file,
                "published": s.published,
                "checked": s.checked.isoformat(),
                "status": s.status,
            }
        )
    return out


def _rule_reason(compiled: CompiledRule) -> dict[str, Any]:
    return {
        "rule": compiled.rule.id,
        "outcome": compiled.rule.outcome,
        **_text(compiled.rule.reason),
        "sources": list(compiled.rule.sources),
    }


def _static(catalogue: Catalogue, kind: Kind, entry: Unit | Route | Funding) -> dict[str, Any]:
    rule_sources = [s for c in catalogue.rules_by_item.get((kind, entry.id), ()) for s in c.rule.sources]
    item: dict[str, Any] = {
        "id": entry.id,
        "kind": kind,
        "title": entry.title,
        "title_en": entry.title_en,
        "status": entry.status,
        "certain": entry.status == "verified",
        "checked": entry.checked.isoformat(),
        # The entry's own sources first, then those of every rule that can explain it.
        "sources": _source_dicts(catalogue, [*entry.sources, *rule_sources]),
    }
    if isinstance(entry, Route):
        item.update(explain=_text(entry.explain), cost=_text(entry.cost))
    elif isinstance(entry, Unit):
        qualification = catalogue.qualifications[entry.qualification]
        item.update(
            qualification={
                "id": qualification.id,
                "title": qualification.title,
                "level": qualification.level,
                "crebo": qualification.crebo,
            },
            level=entry.level,
            certificate=entry.certificate,
            sector=entry.sector,
            routes=list(entry.routes),
            enables=_text(entry.enables),
            werkprocessen=[{"code": w.code, "title": w.title} for w in entry.werkprocessen],
            duration=None if entry.duration is None else entry.duration.model_dump(mode="json"),
            price=None if entry.price is None else entry.price.model_dump(mode="json"),
        )
    else:
        item.update(
            applicant=entry.applicant,
            routes=list(entry.routes),
            amount=_text(entry.amount),
            conditions=_text(entry.conditions),
            valid_from=None if entry.valid_from is None else entry.valid_from.isoformat(),
            valid_until=None if entry.valid_until is None else entry.valid_until.isoformat(),
        )
    return item


def _prepare(catalogue: Catalogue) -> _Prepared:
    cached = catalogue.cache.get("advice")
    if isinstance(cached, _Prepared):
        return cached
    defaults = catalogue.data.rule_defaults

    def entries(kind: Kind, items: Sequence[Unit | Route | Funding], default: Text) -> tuple[_Entry, ...]:
        out = []
        for position, entry in enumerate(items):
            ref: ItemRef = (kind, entry.id)
            duration = getattr(entry, "duration", None)
            out.append(
                _Entry(
                    ref=ref,
                    status=entry.status,
                    routes=tuple(getattr(entry, "routes", ())) if kind != "route" else (),
                    default={"rule": None, "outcome": "possible", **_text(default), "sources": []},
                    rules=tuple((c, _rule_reason(c)) for c in catalogue.rules_by_item.get(ref, ())),
                    static=_static(catalogue, kind, entry),
                    order=(duration.min_weeks if duration else NO_DURATION, position),
                )
            )
        return tuple(out)

    prepared = _Prepared(
        routes=entries("route", catalogue.data.routes, defaults.route),
        units=entries("unit", catalogue.data.units, defaults.unit),
        funding=entries("funding", catalogue.data.funding, defaults.funding),
        blocked={"rule": None, "outcome": "not_possible", **_text(defaults.route_blocked), "sources": []},
        ended={"rule": None, "outcome": "not_possible", **_text(defaults.ended), "sources": []},
        undecided=_text(defaults.undecided),
    )
    catalogue.cache["advice"] = prepared
    return prepared


class _Run:
    """One advice computation: the verdicts for one profile and the questions they leave open."""

    def __init__(self, catalogue: Catalogue, prepared: _Prepared, symbols: dict[str, Any]) -> None:
        self.prepared = prepared
        # Each distinct expression once, however many items its rules apply to.
        self.verdicts: dict[str, Verdict] = {e.text: evaluate(e, symbols) for e in catalogue.expressions}
        self.open_fields: dict[str, set[ItemRef]] = {}

    def assess(self, entry: _Entry, route_fit: dict[str, str]) -> dict[str, Any]:
        blocking: list[dict[str, Any]] = []
        capping: list[dict[str, Any]] = []
        recommending: list[dict[str, Any]] = []
        notes: list[dict[str, Any]] = []
        undecided: list[dict[str, Any]] = []
        weight = 0
        for compiled, reason in entry.rules:
            verdict = self.verdicts[compiled.expression.text]
            outcome = compiled.rule.outcome
            if isinstance(verdict, Undecided):
                for field in verdict.fields:
                    self.open_fields.setdefault(field, set()).add(entry.ref)
                if outcome in ("not_possible", "possible"):
                    # It may hold, depending on the open answers: say so conditionally (the
                    # rule's reason goes under `if`), and recommend nothing yet.
                    undecided.append(
                        {
                            **reason,
                            **self.prepared.undecided,
                            "if": {"nl": reason["nl"], "en": reason["en"]},
                            "depends_on": sorted(verdict.fields),
                        }
                    )
            elif verdict:
                if outcome == "not_possible":
                    blocking.append(reason)
                elif outcome == "possible":
                    capping.append(reason)
                elif outcome == "recommended":
                    recommending.append(reason)
                    weight += compiled.rule.weight
                else:
                    notes.append(reason)

        if entry.routes and all(route_fit[r] == "not_possible" for r in entry.routes):
            blocking.insert(0, {**self.prepared.blocked, "routes": list(entry.routes)})
        if entry.status == "ended" and not blocking:
            blocking.append(self.prepared.ended)

        if blocking:
            fit, reasons, weight = "not_possible", blocking + notes, 0
        elif capping or undecided:
            # What would make it a recommendation follows what holds it back.
            fit, reasons = "possible", capping + undecided + recommending + notes
        elif recommending:
            fit, reasons = "recommended", recommending + notes
        else:
            fit, reasons = "possible", [entry.default, *notes]
        # Units and schemes whose best route fits better rank first.
        route_rank = min((FIT_RANK[route_fit[r]] for r in entry.routes), default=1)
        item = dict(entry.static)
        item["fit"] = fit
        item["reasons"] = reasons
        item["_key"] = (FIT_RANK[fit], route_rank, -weight, 0 if item["certain"] else 1, *entry.order)
        return item


def _ranked(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    items.sort(key=lambda item: item["_key"])
    for item in items:
        del item["_key"]
    return items


def _best(items: list[dict[str, Any]], limit: int, fallback: str) -> list[str]:
    """Recommended items first; with none, `fallback` says which possible ones may stand in:
    "any" (routes: there is always a way to name), "certain" (funding: only verified schemes),
    "none" (units: a unit is only named when it really fits)."""
    recommended = [i["id"] for i in items if i["fit"] == "recommended"]
    if recommended or fallback == "none":
        return recommended[:limit]
    possible = [i for i in items if i["fit"] == "possible" and (fallback == "any" or i["certain"])]
    return [i["id"] for i in possible][:limit]


def advise(catalogue: Catalogue, raw_profile: Any) -> dict[str, Any]:
    """Advice for a profile (decoded JSON); raises ProfileError for values that make no sense.

    The returned structures share profile-independent parts with later calls: read, don't mutate.
    """
    profile = parse_profile(raw_profile, catalogue.qualification_ids)
    prepared = _prepare(catalogue)
    run = _Run(catalogue, prepared, profile_symbols(profile, catalogue.regions))

    route_fit: dict[str, str] = {}
    routes = []
    for entry in prepared.routes:
        item = run.assess(entry, route_fit)
        route_fit[entry.ref[1]] = item["fit"]
        routes.append(item)
    units = [run.assess(entry, route_fit) for entry in prepared.units]
    funding = [run.assess(entry, route_fit) for entry in prepared.funding]
    routes, units, funding = _ranked(routes), _ranked(units), _ranked(funding)

    warnings = []
    for compiled in catalogue.notices:
        # Only what is known to hold: a notice may say something about the person.
        if run.verdicts[compiled.expression.text] is True:
            notice = compiled.notice
            warnings.append(
                {
                    "id": notice.id,
                    "severity": notice.severity,
                    "status": notice.status,
                    "date": notice.date.isoformat(),
                    **_text(notice.text),
                    "about": list(notice.about),
                    "sources": _source_dicts(catalogue, notice.sources),
                    "history": [
                        {
                            "date": h.date.isoformat(),
                            **_text(h.text),
                            "sources": _source_dicts(catalogue, h.sources),
                        }
                        for h in notice.history
                    ],
                }
            )
    warnings.sort(key=lambda w: (SEVERITY_RANK[w["severity"]], w["id"]))

    open_questions = [
        {"field": field, "affects": [{"kind": k, "id": i} for k, i in sorted(refs)]}
        for field, refs in sorted(run.open_fields.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        if field not in profile.answered
    ]
    return {
        "profile": profile.as_dict(),
        "summary": {
            "routes": _best(routes, SUMMARY_ROUTES, "any"),
            "units": _best(units, SUMMARY_UNITS, "none"),
            "funding": _best(funding, SUMMARY_FUNDING, "certain"),
        },
        "units": units,
        "routes": routes,
        "funding": funding,
        "warnings": warnings,
        "open_questions": open_questions,
        "catalogue_version": catalogue.version_label,
    }
