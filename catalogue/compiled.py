"""A catalogue ready to advise from: cross-checked, rules compiled, items indexed.

Built from CatalogueData whether that came from the YAML files or from the database, so that
both paths are checked by the same code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from catalogue.errors import CatalogueInvalid, Problem, ProfileError
from catalogue.plan_templates import CompiledPlan, compile_plan
from catalogue.profile import PROFILE_FIELDS, TARGET_UNKNOWN, parse_profile
from catalogue.rules import FIXED_VALUES, Expression, compile_expression
from catalogue.schema import CLARIFY, SKIP, CatalogueData, Funding, Notice, Route, Rule, Unit

Kind = Literal["unit", "route", "funding"]
KINDS: Final[tuple[Kind, ...]] = ("unit", "route", "funding")
ItemRef = tuple[Kind, str]

# Fields a selector may filter on, per kind.
SELECTOR_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "unit": ("audience", "sector", "level", "certificate", "qualification", "status", "group"),
    "route": ("status",),
    "funding": ("status", "applicant"),
}

# Which data file each kind of entry lives in (for problem reports).
FILES: Final[dict[str, str]] = {
    "source": "sources.yaml",
    "qualification": "qualifications.yaml",
    "unit": "units.yaml",
    "route": "routes.yaml",
    "funding": "funding.yaml",
    "rule": "rules.yaml",
    "notice": "notices.yaml",
    "term": "glossary.yaml",
    "answer": "answers.yaml",
    "intake": "intake.yaml",
    "region": "regions.yaml",
    "plan": "plan.yaml",
}


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    expression: Expression
    targets: tuple[ItemRef, ...]


@dataclass(frozen=True)
class CompiledNotice:
    notice: Notice
    expression: Expression


class Catalogue:
    """An immutable, validated catalogue. Construct with `compile_catalogue`."""

    def __init__(
        self,
        data: CatalogueData,
        rules: tuple[CompiledRule, ...],
        notices: tuple[CompiledNotice, ...],
        checksum: str,
        plan: CompiledPlan,
        answer_conditions: dict[tuple[str, int], Expression] | None = None,
        intake_conditions: dict[str, Expression] | None = None,
    ) -> None:
        self.data = data
        self.checksum = checksum
        self.version = data.version
        self.rules = rules
        self.notices = notices
        self.sources = {s.id: s for s in data.sources}
        self.qualifications = {q.id: q for q in data.qualifications}
        self.units: dict[str, Unit] = {u.id: u for u in data.units}
        self.routes: dict[str, Route] = {r.id: r for r in data.routes}
        self.funding: dict[str, Funding] = {f.id: f for f in data.funding}
        self.glossary = {t.id: t for t in data.glossary}
        self.answers = {a.id: a for a in data.answers}
        # (answer id, index of its personal variant) -> the compiled `when` of that variant.
        self.answer_conditions = dict(answer_conditions or {})
        # intake field -> the compiled `ask_when` of its question.
        self.intake_conditions = dict(intake_conditions or {})
        self.plan = plan  # plan.yaml, compiled
        self.regions = {name.casefold(): province for name, province in data.regions.items()}
        # A province named as the answer is in that province ("Flevoland", not only "Almere").
        for province in set(data.regions.values()):
            self.regions.setdefault(province.casefold(), province)
        # So is a region kept as written another way ("Den Bosch" for 's-Hertogenbosch).
        for alias, name in data.region_aliases.items():
            if name.casefold() in self.regions:
                self.regions.setdefault(alias.casefold(), self.regions[name.casefold()])
        self.qualification_ids = frozenset(self.qualifications)
        # Data order breaks ties between equally fitting items.
        self.position: dict[ItemRef, int] = {}
        for kind in KINDS:
            for index, item in enumerate(items_of(data, kind)):
                self.position[(kind, item.id)] = index
        # Rules by the item they apply to, and the distinct expressions to evaluate once each.
        by_item: dict[ItemRef, list[CompiledRule]] = {}
        for compiled in rules:
            for target in compiled.targets:
                by_item.setdefault(target, []).append(compiled)
        self.rules_by_item = {ref: tuple(found) for ref, found in by_item.items()}
        # Derived, read-only views that users of the catalogue build once (see advice.py).
        self.cache: dict[str, Any] = {}
        expressions = {c.expression.text: c.expression for c in rules}
        expressions.update({n.expression.text: n.expression for n in notices})
        self.expressions = tuple(expressions.values())

    @property
    def version_label(self) -> str:
        return f"{self.version}+{self.checksum[:12]}"


def _item_field(item: Unit | Route | Funding, name: str) -> str:
    return str(getattr(item, name))


def items_of(data: CatalogueData, kind: Kind) -> Sequence[Unit | Route | Funding]:
    if kind == "unit":
        return data.units
    if kind == "route":
        return data.routes
    return data.funding


def resolve_selector(data: CatalogueData, selector: str) -> tuple[ItemRef, ...]:
    """`kind:*`, `kind:id` or `kind:field=value[,field=value]` to the items it names."""
    kind_name, sep, rest = selector.partition(":")
    if not sep or kind_name not in KINDS or not rest:
        raise ValueError(
            f"selector {selector!r} must look like unit:*, route:bbl or unit:sector=vvt"
        )
    kind: Kind = kind_name
    items = items_of(data, kind)
    if rest == "*":
        return tuple((kind, item.id) for item in items)
    if "=" not in rest:
        if not any(item.id == rest for item in items):
            raise ValueError(f"selector {selector!r} names no known {kind}")
        return ((kind, rest),)
    conditions: list[tuple[str, str]] = []
    for part in rest.split(","):
        name, eq, value = part.partition("=")
        if not eq or name not in SELECTOR_FIELDS[kind]:
            allowed = ", ".join(SELECTOR_FIELDS[kind])
            raise ValueError(f"selector {selector!r}: {kind} can be selected by {allowed}")
        conditions.append((name, value))
    return tuple(
        (kind, item.id)
        for item in items
        if all(_item_field(item, name) == value for name, value in conditions)
    )


def _duplicates(ids: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dupes: list[str] = []
    for item_id in ids:
        if item_id in seen and item_id not in dupes:
            dupes.append(item_id)
        seen.add(item_id)
    return dupes


def compile_catalogue(data: CatalogueData, checksum: str) -> Catalogue:
    """Cross-checks references and compiles every expression; raises CatalogueInvalid."""
    problems: list[Problem] = []

    def problem(kind: str, entry_id: str, message: str) -> None:
        if kind == "plan":  # plan.yaml names its entries itself ("steps.cost 'no_route'")
            problems.append(Problem(FILES[kind], entry_id, message))
            return
        label = f"{kind} {entry_id!r}" if entry_id else ""
        problems.append(Problem(FILES[kind], label, message))

    groups: list[tuple[str, list[str]]] = [
        ("source", [s.id for s in data.sources]),
        ("qualification", [q.id for q in data.qualifications]),
        ("unit", [u.id for u in data.units]),
        ("route", [r.id for r in data.routes]),
        ("funding", [f.id for f in data.funding]),
        ("rule", [r.id for r in data.rules]),
        ("notice", [n.id for n in data.notices]),
        ("term", [t.id for t in data.glossary]),
        ("answer", [a.id for a in data.answers]),
    ]
    for kind, ids in groups:
        for dupe in _duplicates(ids):
            problem(kind, dupe, "duplicate id")

    source_ids = {s.id for s in data.sources}
    qualification_ids = {q.id for q in data.qualifications}
    route_ids = {r.id for r in data.routes}

    def check_sources(kind: str, entry_id: str, refs: Iterable[str], what: str = "") -> None:
        for ref in refs:
            if ref not in source_ids:
                problem(kind, entry_id, f"{what}source {ref!r} is not in sources.yaml")

    def check_routes(kind: str, entry_id: str, refs: Iterable[str]) -> None:
        for ref in refs:
            if ref not in route_ids:
                problem(kind, entry_id, f"route {ref!r} is not in routes.yaml")

    for q in data.qualifications:
        check_sources("qualification", q.id, q.sources)
        if q.replaced_by is not None and q.replaced_by not in qualification_ids:
            problem("qualification", q.id, f"replaced_by {q.replaced_by!r} is not a qualification")
    for u in data.units:
        check_sources("unit", u.id, u.sources)
        if u.duration is not None:
            check_sources("unit", u.id, u.duration.sources, "duration: ")
        if u.price is not None:
            check_sources("unit", u.id, u.price.sources, "price: ")
        if u.qualification not in qualification_ids:
            problem(
                "unit", u.id, f"qualification {u.qualification!r} is not in qualifications.yaml"
            )
        check_routes("unit", u.id, u.routes)
    for r in data.routes:
        check_sources("route", r.id, r.sources)
    for t in data.glossary:
        check_sources("term", t.id, t.sources)
    for f in data.funding:
        check_sources("funding", f.id, f.sources)
        check_routes("funding", f.id, f.routes)
        if f.status == "ended" and f.valid_until is None:
            problem("funding", f.id, "an ended scheme needs valid_until (the day it ended)")

    check_sources("region", "", data.region_sources)

    provinces = tuple(sorted(set(data.regions.values())))
    fixed_values = dict(FIXED_VALUES)
    fixed_values["care_qualifications"] = tuple(sorted(qualification_ids))
    fixed_values["target"] = (*sorted(qualification_ids), TARGET_UNKNOWN)
    fixed_values["province"] = (*provinces, "")

    def compile_when(kind: str, entry_id: str, text: str) -> Expression | None:
        try:
            return compile_expression(text, fixed_values)
        except ValueError as exc:
            problem(kind, entry_id, str(exc))
            return None

    compiled_rules: list[CompiledRule] = []
    for rule in data.rules:
        check_sources("rule", rule.id, rule.sources)
        targets: list[ItemRef] = []
        for selector in rule.applies_to:
            try:
                found = resolve_selector(data, selector)
            except ValueError as exc:
                problem("rule", rule.id, str(exc))
                continue
            if not found:
                problem("rule", rule.id, f"selector {selector!r} matches no item")
            targets.extend(t for t in found if t not in targets)
        expression = compile_when("rule", rule.id, rule.when)
        if expression is not None and targets:
            compiled_rules.append(CompiledRule(rule, expression, tuple(targets)))

    compiled_notices: list[CompiledNotice] = []
    for notice in data.notices:
        check_sources("notice", notice.id, notice.sources)
        for entry in notice.history:
            check_sources("notice", notice.id, entry.sources, f"history {entry.date}: ")
            if entry.date > notice.date:
                problem("notice", notice.id, f"history entry {entry.date} is newer than the notice")
        for selector in notice.about:
            try:
                resolve_selector(data, selector)
            except ValueError as exc:
                problem("notice", notice.id, str(exc))
        expression = compile_when("notice", notice.id, notice.when)
        if expression is not None:
            compiled_notices.append(CompiledNotice(notice, expression))

    personal: dict[tuple[str, int], Expression] = {}
    for answer in data.answers:
        check_sources("answer", answer.id, answer.sources)
        for index, variant in enumerate(answer.personal):
            expression = compile_when("answer", answer.id, variant.when)
            if expression is not None:
                personal[(answer.id, index)] = expression

    for target in data.phrases.target:
        if target not in qualification_ids:
            problems.append(
                Problem("phrases.yaml", f"target {target!r}", "is not in qualifications.yaml")
            )

    intake_conditions: dict[str, Expression] = {}
    for index, field in enumerate(q.field for q in data.intake):
        if field in (q.field for q in data.intake[:index]):
            problem("intake", field, "is asked twice")
    for question in data.intake:
        if question.field not in PROFILE_FIELDS or question.field == "language":
            problem("intake", question.field, "is not a profile field the bot can ask")
            continue
        if question.ask_when is not None:
            expression = compile_when("intake", question.field, question.ask_when)
            if expression is not None:
                intake_conditions[question.field] = expression
        for short, value in (
            ("yes", question.yes),
            ("no", question.no),
            ("dont_know", question.dont_know),
        ):
            if value in (CLARIFY, SKIP):
                continue
            try:
                parse_profile({question.field: value}, frozenset(qualification_ids))
            except ProfileError as error:
                problem("intake", question.field, f"{short}: {error}")
    plan = compile_plan(data, fixed_values, lambda entry, message: problem("plan", entry, message))

    if problems:
        raise CatalogueInvalid(problems)
    assert plan is not None  # compile_plan returns None only after reporting problems
    return Catalogue(
        data,
        tuple(compiled_rules),
        tuple(compiled_notices),
        checksum,
        plan,
        answer_conditions=personal,
        intake_conditions=intake_conditions,
    )
