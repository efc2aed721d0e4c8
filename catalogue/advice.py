"""The advice engine: a profile in, explained and sourced units, routes and funding out.

Pure and deterministic: the same catalogue and profile always give the same advice. The rules
themselves are data (rules.yaml); this module only combines their outcomes:
- not_possible beats possible beats recommended; notes explain without changing the fit;
- a rule that needs an unanswered question caps its item at possible, and the question is
  listed in open_questions with the items it could change;
- a unit or scheme is not possible when every route it can be followed through is not possible,
  and a scheme fits no better than the best of its routes;
- of units that are the same kind of step (a `group`), at most one is recommended;
- an ended item is never offered.
The summary names only what really fits: recommended routes, or else a route held back only by
a first step the person can take (`resolvable` rules); recommended units; recommended schemes,
or else certain schemes nothing speaks against that pay for the summary's route.
The parts of an item that do not depend on the profile are built once per catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from catalogue.compiled import Catalogue, CompiledRule, ItemRef, Kind
from catalogue.items import (
    Advice,
    AdvisedItem,
    Affects,
    Bilingual,
    DurationFacts,
    Facts,
    Fit,
    FundingFacts,
    ItemFacts,
    NoticeFacts,
    OpenQuestion,
    PlanItemFacts,
    PriceFacts,
    Reason,
    RouteFacts,
    SourceFacts,
    TermFacts,
    UnitFacts,
)
from catalogue.profile import Profile, parse_profile
from catalogue.rules import Undecided, Verdict, evaluate, profile_symbols
from catalogue.schema import Fact, Funding, GlossaryTerm, Outcome, Qualification, Route, Text, Unit

SEVERITY_RANK: Final = {"high": 0, "warning": 1, "info": 2}
SUMMARY_ROUTES: Final = 2
SUMMARY_UNITS: Final = 2
SUMMARY_FUNDING: Final = 3
NO_DURATION: Final = 10_000


def _text(text: Text) -> Bilingual:
    return {"nl": text.nl, "en": text.en}


def _engine_reason(outcome: Outcome, text: Text) -> Reason:
    """A reason no rule gives: the kind's default, or one the engine says itself."""
    return _reason(None, outcome, text, [])


# Rule outcomes as small ints, so that the hot loop compares ints.
_BLOCK, _CAP, _RECOMMEND, _NOTE = 0, 1, 2, 3
_OUTCOME_CODE: Final = {
    "not_possible": _BLOCK,
    "possible": _CAP,
    "recommended": _RECOMMEND,
    "note": _NOTE,
}


@dataclass(frozen=True)
class _EntryRule:
    expression: int  # index into catalogue.expressions
    outcome: int
    weight: int
    resolvable: bool
    reason: Reason
    undecided: Reason  # the same reason, said as a condition
    # The conditional reason per set of open fields, built once.
    undecided_by_fields: dict[frozenset[str], Reason]

    def undecided_reason(self, fields: frozenset[str]) -> Reason:
        reason = self.undecided_by_fields.get(fields)
        if reason is None:
            reason = self.undecided_by_fields[fields] = {
                **self.undecided,
                "depends_on": sorted(fields),
            }
        return reason


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: outcomes are interned
class _Outcome:
    """The fit of one rule pattern for one profile, as indexes into the entry's rules."""

    fit: int
    weight: int
    route_rank: int
    blocked_by_routes: bool
    ended: bool
    # A scheme held at possible because its routes are at best possible.
    capped_by_routes: bool
    # Possible, but recommended once the first steps that the resolvable (or unanswered) rules
    # name are taken: a route the summary may still name.
    pending: bool
    # (rule index, True when undecided) in the order the reasons are shown
    reasons: tuple[tuple[int, bool], ...]
    # No rule said anything but notes: the kind's default reason leads.
    default: bool
    # Expressions the answers left open, for open_questions.
    undecided: tuple[int, ...]
    # The open fields of each undecided reason, in order.
    fields: tuple[frozenset[str], ...]


@dataclass(frozen=True)
class _Entry:
    """An item's profile-independent part, prepared once per catalogue."""

    ref: ItemRef
    ended: bool
    routes: tuple[str, ...]
    group: str | None
    applicant: str | None
    default: Reason
    rules: tuple[_EntryRule, ...]
    static: PlanItemFacts
    certain: int  # 0 when verified: sorts first
    order: tuple[int, int]  # (duration in weeks or NO_DURATION, position in the data)
    # Entries whose rules have the same expressions, outcomes and weights get the same fit for
    # any profile and rank of their best route: it is worked out once per pattern and advice.
    pattern: int
    # This entry's reasons list per (interned) outcome, built once; bounded.
    reasons_by_outcome: dict[_Outcome, list[Reason]]


@dataclass(frozen=True)
class _Class:
    """Entries of one section that get the same outcome for every profile: the same rule
    pattern, and routes of the same patterns (so the same best route rank). Rated once per
    advice; its members, in prepared order, follow it into their bucket."""

    pattern: int
    route_patterns: tuple[int, ...]
    representative: _Entry
    members: tuple[_Entry, ...]
    # Each member's place in the section's prepared order (to merge classes of one bucket).
    positions: tuple[int, ...]


@dataclass(frozen=True)
class _Prepared:
    routes: tuple[_Entry, ...]
    units: tuple[_Entry, ...]
    funding: tuple[_Entry, ...]
    # The same entries as classes, per section; route ids to their pattern.
    classes: dict[str, tuple[_Class, ...]]
    route_pattern: dict[str, int]
    # id(entry) -> its place in its section's prepared order.
    position: dict[int, int]
    # Per section: item id -> (entry, its class).
    by_id: dict[str, dict[str, tuple[_Entry, _Class]]]
    blocked: Reason
    ended: Reason
    alternative: Reason
    route_possible: Reason
    # Per expression: the symbols it reads, so that its verdict can be memoised on their values.
    expression_symbols: tuple[tuple[str, ...], ...]
    verdict_memo: dict[tuple[Any, ...], Verdict]
    # Outcomes per (pattern, best route rank, verdicts of the pattern's expressions), interned
    # so that an entry can keep the reasons it built for one.
    outcome_memo: dict[tuple[Any, ...], _Outcome]
    # The ids of the items that share each pattern, per section, for open questions.
    pattern_members: dict[int, dict[str, list[str]]]
    # Each notice's expression index and its warning as shown, in the order warnings are listed.
    warnings: tuple[tuple[int, NoticeFacts], ...]


# Memoised verdicts and outcomes kept per catalogue, and reasons lists kept per entry; each is
# cleared when full (values such as age make many keys).
VERDICT_MEMO_LIMIT: Final = 200_000
OUTCOME_MEMO_LIMIT: Final = 50_000
ENTRY_REASONS_LIMIT: Final = 256


def source_facts(catalogue: Catalogue, ids: Iterable[str]) -> list[SourceFacts]:
    out: list[SourceFacts] = []
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


def _reason(rule: str | None, outcome: Outcome, text: Text, sources: list[str]) -> Reason:
    return {"rule": rule, "outcome": outcome, "nl": text.nl, "en": text.en, "sources": sources}


def _rule_reason(compiled: CompiledRule) -> Reason:
    rule = compiled.rule
    return _reason(rule.id, rule.outcome, rule.reason, list(rule.sources))


def _facts(catalogue: Catalogue, entry: Fact, sources: Iterable[str]) -> ItemFacts:
    """What every kind of item says of itself, with its sources."""
    assert isinstance(entry, Unit | Route | Funding | Qualification | GlossaryTerm)
    return {
        "id": entry.id,
        "title": entry.title,
        "title_en": entry.title_en,
        "status": entry.status,
        "certain": entry.status == "verified",
        "checked": entry.checked.isoformat(),
        "sources": source_facts(catalogue, sources),
    }


def _static(catalogue: Catalogue, kind: Kind, entry: Unit | Route | Funding) -> PlanItemFacts:
    rule_sources = [
        s for c in catalogue.rules_by_item.get((kind, entry.id), ()) for s in c.rule.sources
    ]
    # The entry's own sources first, then those of every rule that can explain it.
    facts = _facts(catalogue, entry, [*entry.sources, *rule_sources])
    if isinstance(entry, Route):
        route: RouteFacts = {
            **facts,
            "kind": "route",
            "explain": _text(entry.explain),
            "cost": _text(entry.cost),
        }
        return route
    if isinstance(entry, Unit):
        qualification = catalogue.qualifications[entry.qualification]
        unit: UnitFacts = {
            **facts,
            "kind": "unit",
            "qualification": {
                "id": qualification.id,
                "title": qualification.title,
                "level": qualification.level,
                "crebo": qualification.crebo,
            },
            "level": entry.level,
            "certificate": entry.certificate,
            "sector": entry.sector,
            "routes": list(entry.routes),
            "enables": _text(entry.enables),
            "werkprocessen": [{"code": w.code, "title": w.title} for w in entry.werkprocessen],
            # The schema's own JSON (the same fields, checked at load).
            "duration": None
            if entry.duration is None
            else cast(DurationFacts, entry.duration.model_dump(mode="json")),
            "price": None
            if entry.price is None
            else cast(PriceFacts, entry.price.model_dump(mode="json")),
        }
        return unit
    funding: FundingFacts = {
        **facts,
        "kind": "funding",
        "applicant": entry.applicant,
        "routes": list(entry.routes),
        "amount": _text(entry.amount),
        "conditions": _text(entry.conditions),
        "valid_from": None if entry.valid_from is None else entry.valid_from.isoformat(),
        "valid_until": None if entry.valid_until is None else entry.valid_until.isoformat(),
    }
    return funding


def _prepared_warnings(
    catalogue: Catalogue, expression_index: dict[str, int]
) -> tuple[tuple[int, NoticeFacts], ...]:
    warnings: list[tuple[int, NoticeFacts]] = []
    for compiled in catalogue.notices:
        notice = compiled.notice
        warning: NoticeFacts = {
            "id": notice.id,
            "severity": notice.severity,
            "status": notice.status,
            "date": notice.date.isoformat(),
            **_text(notice.text),
            "about": list(notice.about),
            "sources": source_facts(catalogue, notice.sources),
            "history": [
                {
                    "date": h.date.isoformat(),
                    **_text(h.text),
                    "sources": source_facts(catalogue, h.sources),
                }
                for h in notice.history
            ],
        }
        warnings.append((expression_index[compiled.expression.text], warning))
    warnings.sort(key=lambda pair: (SEVERITY_RANK[pair[1]["severity"]], pair[1]["id"]))
    return tuple(warnings)


def _prepare(catalogue: Catalogue) -> _Prepared:
    cached = catalogue.cache.get("advice")
    if isinstance(cached, _Prepared):
        return cached
    defaults = catalogue.data.rule_defaults
    expression_index = {e.text: i for i, e in enumerate(catalogue.expressions)}
    undecided_text = _text(defaults.undecided)

    def entry_rule(compiled: CompiledRule) -> _EntryRule:
        reason = _rule_reason(compiled)
        return _EntryRule(
            expression=expression_index[compiled.expression.text],
            outcome=_OUTCOME_CODE[compiled.rule.outcome],
            weight=compiled.rule.weight,
            resolvable=compiled.rule.resolvable,
            reason=reason,
            # The rule's own reason moves under `if`: it may hold, depending on open answers.
            undecided={**reason, **undecided_text, "if": {"nl": reason["nl"], "en": reason["en"]}},
            undecided_by_fields={},
        )

    patterns: dict[tuple[Any, ...], int] = {}

    def entries(
        kind: Kind, items: Sequence[Unit | Route | Funding], default: Text
    ) -> tuple[_Entry, ...]:
        out = []
        for position, entry in enumerate(items):
            ref: ItemRef = (kind, entry.id)
            duration = entry.duration if isinstance(entry, Unit) else None
            rules = tuple(entry_rule(c) for c in catalogue.rules_by_item.get(ref, ()))
            routes = () if isinstance(entry, Route) else tuple(entry.routes)
            ended = entry.status == "ended"
            shape = (
                kind,
                ended,
                bool(routes),
                tuple((r.expression, r.outcome, r.weight) for r in rules),
            )
            out.append(
                _Entry(
                    ref=ref,
                    ended=ended,
                    routes=routes,
                    group=entry.group if isinstance(entry, Unit) else None,
                    applicant=entry.applicant if isinstance(entry, Funding) else None,
                    default=_engine_reason("possible", default),
                    rules=rules,
                    static=_static(catalogue, kind, entry),
                    certain=0 if entry.status == "verified" else 1,
                    order=(duration.min_weeks if duration else NO_DURATION, position),
                    pattern=patterns.setdefault(shape, len(patterns)),
                    reasons_by_outcome={},
                )
            )
        # In the order of their profile-independent sort keys, so that ranking per advice is a
        # stable bucket pass instead of a sort (see _ranked).
        out.sort(key=lambda e: (e.certain, e.order))
        return tuple(out)

    route_entries = entries("route", catalogue.data.routes, defaults.route)
    unit_entries = entries("unit", catalogue.data.units, defaults.unit)
    funding_entries = entries("funding", catalogue.data.funding, defaults.funding)
    route_pattern = {e.ref[1]: e.pattern for e in route_entries}

    def classes(section: tuple[_Entry, ...]) -> tuple[_Class, ...]:
        found: dict[tuple[int, tuple[int, ...]], list[tuple[int, _Entry]]] = {}
        for position, entry in enumerate(section):
            route_patterns = tuple(sorted({route_pattern[r] for r in entry.routes}))
            found.setdefault((entry.pattern, route_patterns), []).append((position, entry))
        return tuple(
            _Class(
                pattern=pattern,
                route_patterns=route_patterns,
                representative=members[0][1],
                members=tuple(e for _, e in members),
                positions=tuple(p for p, _ in members),
            )
            for (pattern, route_patterns), members in found.items()
        )

    section_classes = {
        "routes": classes(route_entries),
        "units": classes(unit_entries),
        "funding": classes(funding_entries),
    }
    prepared = _Prepared(
        routes=route_entries,
        units=unit_entries,
        funding=funding_entries,
        classes=section_classes,
        by_id={
            section: {
                entry.ref[1]: (entry, rated_class)
                for rated_class in found
                for entry in rated_class.members
            }
            for section, found in section_classes.items()
        },
        route_pattern=route_pattern,
        position={
            id(entry): index
            for section in (route_entries, unit_entries, funding_entries)
            for index, entry in enumerate(section)
        },
        blocked=_engine_reason("not_possible", defaults.route_blocked),
        ended=_engine_reason("not_possible", defaults.ended),
        alternative=_engine_reason("possible", defaults.alternative),
        route_possible=_engine_reason("possible", defaults.route_possible),
        expression_symbols=tuple(tuple(sorted(e.symbols)) for e in catalogue.expressions),
        verdict_memo={},
        outcome_memo={},
        pattern_members={},
        warnings=_prepared_warnings(catalogue, expression_index),
    )
    sections = {"unit": "units", "route": "routes", "funding": "funding"}
    for entry in (*prepared.routes, *prepared.units, *prepared.funding):
        kind, item_id = entry.ref
        by_section = prepared.pattern_members.setdefault(entry.pattern, {})
        by_section.setdefault(sections[kind], []).append(item_id)
    catalogue.cache["advice"] = prepared
    return prepared


_FIT_NAMES: Final[tuple[Fit, Fit, Fit]] = ("recommended", "possible", "not_possible")


class _Run:
    """One advice computation: the verdicts for one profile and the questions they leave open."""

    def __init__(self, catalogue: Catalogue, prepared: _Prepared, symbols: dict[str, Any]) -> None:
        self.prepared = prepared
        self.symbols = symbols
        memo = prepared.verdict_memo
        if len(memo) > VERDICT_MEMO_LIMIT:
            memo.clear()
        verdicts: list[Verdict] = []
        # Each distinct expression once, however many items its rules apply to; and a verdict
        # seen before for the same values of the symbols it reads is not evaluated again.
        for index, (expression, names) in enumerate(
            zip(catalogue.expressions, prepared.expression_symbols, strict=True)
        ):
            key = (index, *map(symbols.get, names))  # None: not answered
            verdict = memo.get(key)
            if verdict is None:
                verdict = memo[key] = evaluate(expression, symbols)
            verdicts.append(verdict)
        self.verdicts = verdicts
        # Patterns met in this advice, by (pattern, best route rank).
        self.outcomes: dict[tuple[int, int], _Outcome] = {}
        # The fit of each route pattern (routes are rated first).
        self.route_fit: dict[int, int] = {}
        # Units held back for another unit of their group (by id, and in ranked order).
        self.held_back: set[str] = set()
        self.held_back_rated: list[Rated] = []

    def outcome(self, entry: _Entry, route_rank: int) -> _Outcome:
        verdicts = self.verdicts
        signature = (
            entry.pattern,
            route_rank,
            *(
                v.fields if isinstance(v, Undecided) else v
                for v in (verdicts[r.expression] for r in entry.rules)
            ),
        )
        memo = self.prepared.outcome_memo
        found = memo.get(signature)
        if found is not None:
            return found
        if len(memo) > OUTCOME_MEMO_LIMIT:
            memo.clear()
        blocking: list[tuple[int, bool]] = []
        capping: list[tuple[int, bool]] = []
        recommending: list[tuple[int, bool]] = []
        notes: list[tuple[int, bool]] = []
        undecided: list[int] = []
        weight = 0
        for index, rule in enumerate(entry.rules):
            verdict = verdicts[rule.expression]
            if verdict is True:
                kind = rule.outcome
                if kind == _BLOCK:
                    blocking.append((index, False))
                elif kind == _CAP:
                    capping.append((index, False))
                elif kind == _RECOMMEND:
                    recommending.append((index, False))
                    weight += rule.weight
                else:
                    notes.append((index, False))
            elif verdict is not False:
                undecided.append(rule.expression)
                if rule.outcome <= _CAP:
                    # It may hold: said as a condition, and nothing is recommended yet.
                    capping.append((index, True))
        # Not possible when every route it can be followed through is not possible.
        blocked_by_routes = bool(entry.routes) and route_rank == 2
        ended = entry.ended and not blocking and not blocked_by_routes
        # A scheme fits no better than the best route it pays for.
        capped_by_routes = (
            entry.ref[0] == "funding" and route_rank == 1 and not capping and bool(recommending)
        )
        if blocking or blocked_by_routes or ended:
            fit, weight, shown, default = 2, 0, blocking + notes, False
        elif capping or capped_by_routes:
            fit, shown, default = 1, capping + recommending + notes, False
        elif recommending:
            fit, shown, default = 0, recommending + notes, False
        else:
            fit, weight, shown, default = 1, 0, notes, True
        pending = (
            fit == 1
            and bool(recommending)
            and not capped_by_routes
            and all(is_open or entry.rules[index].resolvable for index, is_open in capping)
        )
        fields = tuple(
            cast(Undecided, verdicts[entry.rules[index].expression]).fields
            for index, is_open in shown
            if is_open
        )
        outcome = _Outcome(
            fit,
            weight,
            route_rank,
            blocked_by_routes,
            ended,
            capped_by_routes,
            pending,
            tuple(shown),
            default,
            tuple(undecided),
            fields,
        )
        memo[signature] = outcome
        return outcome

    def reasons(self, entry: _Entry, outcome: _Outcome) -> list[Reason]:
        """The entry's reasons: shared, prebuilt dicts (read them, don't change them)."""
        cache = entry.reasons_by_outcome
        reasons = cache.get(outcome)
        if reasons is not None:
            return reasons
        if outcome.blocked_by_routes:
            reasons = [{**self.prepared.blocked, "routes": list(entry.routes)}]
        elif outcome.ended:
            reasons = [self.prepared.ended]
        elif outcome.default:
            reasons = [entry.default]
        elif outcome.capped_by_routes:
            reasons = [{**self.prepared.route_possible, "routes": list(entry.routes)}]
        else:
            reasons = []
        rules = entry.rules
        fields = iter(outcome.fields)
        for index, is_open in outcome.reasons:
            rule = rules[index]
            reasons.append(rule.undecided_reason(next(fields)) if is_open else rule.reason)
        if len(cache) >= ENTRY_REASONS_LIMIT:
            cache.clear()
        cache[outcome] = reasons
        return reasons

    def rate(self, rated_class: _Class) -> _Outcome:
        """The outcome of every entry of a class; a route's fit is kept for its units."""
        route_patterns = rated_class.route_patterns
        if not route_patterns:
            route_rank = 1
        elif len(route_patterns) == 1:
            route_rank = self.route_fit[route_patterns[0]]
        else:
            route_rank = min([self.route_fit[p] for p in route_patterns])
        key = (rated_class.pattern, route_rank)
        outcome = self.outcomes.get(key)
        if outcome is None:
            outcome = self.outcomes[key] = self.outcome(rated_class.representative, route_rank)
        if rated_class.representative.ref[0] == "route":
            self.route_fit[rated_class.pattern] = outcome.fit
        return outcome

    def open_questions(self, answered: frozenset[str]) -> list[OpenQuestion]:
        """The unanswered fields that could change this advice, most items affected first.

        `affects` lists the ids per kind; items are collected per rule pattern (the members of a
        pattern are prepared in data order), so no per-item work is done here.
        """
        patterns_by_field: dict[str, set[int]] = {}
        for (pattern, _rank), outcome in self.outcomes.items():
            for expression in outcome.undecided:
                verdict = self.verdicts[expression]
                assert isinstance(verdict, Undecided)
                for field in verdict.fields:
                    if field not in answered:
                        patterns_by_field.setdefault(field, set()).add(pattern)
        members = self.prepared.pattern_members
        questions: list[tuple[int, str, OpenQuestion]] = []
        for field, patterns in patterns_by_field.items():
            found: dict[str, list[str]] = {"units": [], "routes": [], "funding": []}
            for pattern in sorted(patterns):
                for section, ids in members[pattern].items():
                    found[section].extend(ids)
            affects: Affects = {
                "units": found["units"],
                "routes": found["routes"],
                "funding": found["funding"],
            }
            count = sum(len(ids) for ids in found.values())
            questions.append((-count, field, {"field": field, "affects": affects}))
        questions.sort(key=lambda q: (q[0], q[1]))
        return [question for _, _, question in questions]


# One rated item: its entry, its outcome, and whether it was held back to possible because
# another unit of its group is recommended. Plain tuples: thousands are made per call.
Rated = tuple[_Entry, _Outcome, bool]


def _ranked(run: _Run, section: str) -> list[Rated]:
    """Items best first: by rank bucket (fit, best route, -weight), and within a bucket by the
    entries' prepared order. Of a group, only the first recommended unit stays recommended.

    Classes are rated, not entries: at 100x a section has thousands of entries but a few
    hundred classes, and a bucket's members are merged in prepared order.
    """
    buckets: dict[tuple[int, int, int], list[tuple[_Class, _Outcome]]] = {}
    for rated_class in run.prepared.classes[section]:
        outcome = run.rate(rated_class)
        bucket = (outcome.fit, outcome.route_rank, -outcome.weight)
        found = buckets.get(bucket)
        if found is None:
            buckets[bucket] = [(rated_class, outcome)]
        else:
            found.append((rated_class, outcome))
    ordered: dict[tuple[int, int, int], list[Rated]] = {}
    for bucket, members in buckets.items():
        if len(members) == 1:
            rated_class, outcome = members[0]
            ordered[bucket] = [(entry, outcome, False) for entry in rated_class.members]
        else:
            # Positions are unique, so the tuples compare on them alone (no key function).
            merged = [
                (position, entry, outcome)
                for rated_class, outcome in members
                for position, entry in zip(rated_class.positions, rated_class.members, strict=True)
            ]
            merged.sort()
            ordered[bucket] = [(entry, outcome, False) for _, entry, outcome in merged]
    order = sorted(ordered)
    ranked: list[Rated] = []
    held_back: list[Rated] = []
    groups: set[str] = set()
    for bucket in order:
        if bucket[0] != 0:
            break
        for rated in ordered[bucket]:
            group = rated[0].group
            if group is None:
                ranked.append(rated)
            elif group in groups:
                held_back.append((rated[0], rated[1], True))
                run.held_back.add(rated[0].ref[1])
                run.held_back_rated.append(held_back[-1])
            else:
                groups.add(group)
                ranked.append(rated)
    if held_back:
        position = run.prepared.position
        for rated in held_back:
            ordered.setdefault((1, rated[1].route_rank, 0), []).append(rated)
        for key in {(1, r[1].route_rank, 0) for r in held_back}:
            ordered[key].sort(key=lambda r: position[id(r[0])])
        order = sorted(ordered)
    for bucket in order:
        if bucket[0] != 0:
            ranked.extend(ordered[bucket])
    return ranked


def _fit(rated: Rated) -> int:
    return 1 if rated[2] else rated[1].fit


def _item(run: _Run, rated: Rated) -> AdvisedItem:
    entry, outcome, held_back = rated
    static = entry.static
    fit = _FIT_NAMES[_fit(rated)]
    reasons = run.reasons(entry, outcome)
    if held_back:
        reasons = [run.prepared.alternative, *reasons]
    # One line per kind: each is its own TypedDict.
    if static["kind"] == "unit":
        return {**static, "fit": fit, "reasons": reasons}
    if static["kind"] == "route":
        return {**static, "fit": fit, "reasons": reasons}
    return {**static, "fit": fit, "reasons": reasons}


@dataclass(frozen=True)
class Summary:
    """What the advice names first: ids of routes, units and schemes."""

    routes: tuple[str, ...]
    units: tuple[str, ...]
    funding: tuple[str, ...]


def _leading(items: list[Rated], fit: int) -> list[Rated]:
    """The ranked items up to the first that fits worse than `fit` (they come first)."""
    out = []
    for rated in items:
        if (1 if rated[2] else rated[1].fit) > fit:
            break
        out.append(rated)
    return out


def _summary(routes: list[Rated], units: list[Rated], funding: list[Rated]) -> Summary:
    doable_routes = _leading(routes, 1)
    recommended_routes = [r[0].ref[1] for r in doable_routes if _fit(r) == 0]
    # No route fits yet: name one held back only by a first step the person can take.
    route_ids = recommended_routes or [r[0].ref[1] for r in doable_routes if r[1].pending]
    unit_ids = [r[0].ref[1] for r in _leading(units, 0)[:SUMMARY_UNITS]]
    doable_funding = _leading(funding, 1)
    scheme_ids = [r[0].ref[1] for r in doable_funding if _fit(r) == 0]
    if not scheme_ids and route_ids:
        # Certain schemes nothing speaks against, that pay for the route named first.
        best = route_ids[0]
        scheme_ids = [
            entry.ref[1]
            for entry, outcome, _ in doable_funding
            if outcome.fit == 1 and outcome.default and entry.certain == 0 and best in entry.routes
        ]
    return Summary(
        tuple(route_ids[:SUMMARY_ROUTES]),
        tuple(unit_ids[:SUMMARY_UNITS]),
        tuple(scheme_ids[:SUMMARY_FUNDING]),
    )


@dataclass(frozen=True)
class Assessment:
    """One profile against the catalogue: every item rated, best first, with its summary.

    The typed core that `advise` (the full JSON advice) and `plan.make_plan` share, so that they
    can never disagree on what fits.
    """

    profile: Profile
    run: _Run
    routes: list[Rated]
    units: list[Rated]
    funding: list[Rated]
    summary: Summary

    def warnings(self) -> list[NoticeFacts]:
        """The notices that are known to hold for this person (never one that only may)."""
        verdicts = self.run.verdicts
        return [w for index, w in self.run.prepared.warnings if verdicts[index] is True]

    def reasons(self, rated: Rated) -> list[Reason]:
        """An item's reasons as the advice shows them (shared dicts: read, don't change)."""
        entry, outcome, held_back = rated
        reasons = self.run.reasons(entry, outcome)
        return [self.run.prepared.alternative, *reasons] if held_back else reasons

    def fit(self, rated: Rated) -> Fit:
        return _FIT_NAMES[_fit(rated)]

    def rated(self, section: str, item_id: str) -> Rated:
        """One item's rating, without searching the ranked list."""
        entry, rated_class = self.run.prepared.by_id[section][item_id]
        return (entry, self.run.rate(rated_class), item_id in self.run.held_back)


def assess(catalogue: Catalogue, raw_profile: Any) -> Assessment:
    """Rates every item for a profile (decoded JSON); raises ProfileError for bad values."""
    profile = parse_profile(raw_profile, catalogue.qualification_ids)
    prepared = _prepare(catalogue)
    run = _Run(catalogue, prepared, profile_symbols(profile, catalogue.regions))
    # Routes first: a unit's or scheme's fit depends on its routes'.
    routes = _ranked(run, "routes")
    units = _ranked(run, "units")
    funding = _ranked(run, "funding")
    return Assessment(profile, run, routes, units, funding, _summary(routes, units, funding))


def advise(catalogue: Catalogue, raw_profile: Any) -> Advice:
    """Advice for a profile (decoded JSON); raises ProfileError for values that make no sense.

    The returned structures share profile-independent parts with later calls: read, don't mutate.
    """
    assessment = assess(catalogue, raw_profile)
    run, summary = assessment.run, assessment.summary
    return {
        "profile": assessment.profile.as_dict(),
        "summary": {
            "routes": list(summary.routes),
            "units": list(summary.units),
            "funding": list(summary.funding),
        },
        "units": [_item(run, rated) for rated in assessment.units],
        "routes": [_item(run, rated) for rated in assessment.routes],
        "funding": [_item(run, rated) for rated in assessment.funding],
        "warnings": assessment.warnings(),
        "open_questions": run.open_questions(assessment.profile.answered),
        "catalogue_version": catalogue.version_label,
    }


def lookup(catalogue: Catalogue, kind: str, item_id: str) -> Facts | None:
    """The profile-independent facts on one item (unit, route, funding, qualification, term)."""
    entry: Unit | Route | Funding | None = None
    if kind == "unit":
        entry = catalogue.units.get(item_id)
    elif kind == "route":
        entry = catalogue.routes.get(item_id)
    elif kind == "funding":
        entry = catalogue.funding.get(item_id)
    if entry is not None:
        return _static(catalogue, cast(Kind, kind), entry)
    if kind == "qualification":
        q = catalogue.qualifications.get(item_id)
        if q is None:
            return None
        return {
            **_facts(catalogue, q, q.sources),
            "kind": "qualification",
            "level": q.level,
            "crebo": q.crebo,
            "sector": q.sector,
            "note": q.note,
            "units": [u.id for u in catalogue.data.units if u.qualification == q.id],
        }
    if kind == "term":
        return term_facts(catalogue, item_id) if item_id in catalogue.glossary else None
    return None


def term_facts(catalogue: Catalogue, term_id: str) -> TermFacts:
    """A glossary term's explanation, with its sources (the id must be the glossary's)."""
    t = catalogue.glossary[term_id]
    return {**_facts(catalogue, t, t.sources), "kind": "term", "text": _text(t.text)}
