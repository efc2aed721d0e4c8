"""plan.yaml checked and compiled: conditions with rule-engine, placeholders against a fixed list.

A template may only use the placeholders the plan fills in; anything else (a typo such as
{tagret}) is a load error, named with its step and variant. Each step that every plan has must
end with a variant for everyone (`when: "true"`) that uses only the values every plan has.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import rule_engine

from catalogue.rules import Expression, compile_expression
from catalogue.schema import (
    STEP_KINDS,
    CatalogueData,
    PlanFact,
    PlanTemplates,
    PlanVariant,
    TargetProposal,
    Text,
)

_T = rule_engine.DataType
# What the plan's conditions can read besides the profile: what the advice decided.
PLAN_SYMBOLS: Final[dict[str, Any]] = {
    "plan_route": _T.STRING,  # the route the plan names, or "none"
    "target_id": _T.STRING,  # the qualification to aim for
    "target_kind": _T.STRING,  # mbo | hbo
    "target_level": _T.FLOAT,
    "target_proposed": _T.BOOLEAN,  # proposed by the advice, not chosen by the person
    "target_held": _T.BOOLEAN,  # the person already holds it
    "unit_count": _T.FLOAT,  # units the plan names
    "unit_weeks": _T.FLOAT,  # weeks of the first unit (absent when not known)
    "scheme_count": _T.FLOAT,  # schemes the plan names
    "employer_schemes": _T.BOOLEAN,  # one of them is applied for by an employer
}
NO_ROUTE: Final = "none"

# Values every plan has, and those that only some plans have (a variant using one that is
# missing is passed over for the next).
ALWAYS: Final = frozenset({"target", "level", "region", "contact"})
SOMETIMES: Final = frozenset({"route", "units", "unit", "enables", "weeks", "date", "schemes"})
# Steps every plan has; the others appear only when a variant fits.
REQUIRED_STEPS: Final = ("target", "first_step", "learn", "cost")
# The placeholders of the small words.
WORD_PLACEHOLDERS: Final[dict[str, frozenset[str]]] = {
    "weeks_range": frozenset({"min", "max"}),
}
WORDS: Final = ("and", "your_region", "weeks_range")
NOTE_PLACEHOLDERS: Final[dict[str, frozenset[str]]] = {
    "replaced": frozenset({"chosen", "target"}),
}
DATE_PLACEHOLDERS: Final = frozenset({"day", "month", "year"})
EXPLAIN_KINDS: Final = ("term", "route", "funding", "unit")

Report = Callable[[str, str], None]


def placeholders(text: str) -> frozenset[str]:
    """The {names} a template uses; raises ValueError for a malformed one ("{ab", "{0}")."""
    names = set()
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{name}}} must be a plain name")
        names.add(name)
    return frozenset(names)


@dataclass(frozen=True)
class CompiledVariant:
    variant: PlanVariant
    expression: Expression
    # The placeholders its sentences use (both languages).
    fields: frozenset[str]


@dataclass(frozen=True)
class CompiledPlan:
    templates: PlanTemplates
    steps: dict[str, tuple[CompiledVariant, ...]]
    proposals: tuple[tuple[TargetProposal, Expression], ...]
    facts: tuple[tuple[PlanFact, Expression], ...]
    # The hard words, longest first, as one case-insensitive pattern; word -> "kind:id".
    explain_pattern: re.Pattern[str] | None
    explain_refs: dict[str, str]


def _text_fields(text: Text, where: str, allowed: frozenset[str], report: Report) -> frozenset[str]:
    found: set[str] = set()
    for language, value in (("nl", text.nl), ("en", text.en)):
        try:
            names = placeholders(value)
        except ValueError as exc:
            report(where, f"{language}: {exc}")
            continue
        for name in sorted(names - allowed):
            report(where, f"{language}: unknown placeholder {{{name}}}")
        found |= names
    return frozenset(found)


def _ids(data: CatalogueData, kind: str) -> set[str]:
    if kind == "term":
        return {t.id for t in data.glossary}
    if kind == "route":
        return {r.id for r in data.routes}
    if kind == "funding":
        return {f.id for f in data.funding}
    return {u.id for u in data.units}


def compile_plan(
    data: CatalogueData, fixed_values: Mapping[str, tuple[str, ...]], report: Report
) -> CompiledPlan | None:
    """Checks plan.yaml against the rest of the catalogue; `report(entry, message)` collects
    problems. Returns None when there were any."""
    templates = data.plan
    before = [0]

    def problem(entry: str, message: str) -> None:
        before[0] += 1
        report(entry, message)

    source_ids = {s.id for s in data.sources}
    qualification_ids = {q.id for q in data.qualifications}
    plan_fixed = dict(fixed_values)
    plan_fixed["plan_route"] = (*sorted(r.id for r in data.routes), NO_ROUTE)
    plan_fixed["target_id"] = tuple(sorted(qualification_ids))
    plan_fixed["target_kind"] = ("mbo", "hbo")

    def compile_when(entry: str, text: str, extra: bool) -> Expression | None:
        try:
            return compile_expression(text, plan_fixed, PLAN_SYMBOLS if extra else None)
        except ValueError as exc:
            problem(entry, str(exc))
            return None

    # Small words and the date.
    for word in WORDS:
        if word not in templates.words:
            problem("words", f"needs {word!r}")
    for word, text in templates.words.items():
        _text_fields(text, f"words.{word}", WORD_PLACEHOLDERS.get(word, frozenset()), problem)
    _text_fields(templates.date, "date", DATE_PLACEHOLDERS, problem)
    for note in NOTE_PLACEHOLDERS:
        if note not in templates.notes:
            problem("notes", f"needs {note!r}")
    for note, text in templates.notes.items():
        _text_fields(text, f"notes.{note}", NOTE_PLACEHOLDERS.get(note, frozenset()), problem)
    for contact, text in templates.contacts.items():
        _text_fields(text, f"contacts.{contact}", frozenset({"region"}), problem)

    steps: dict[str, tuple[CompiledVariant, ...]] = {}
    for kind in STEP_KINDS:
        variants = templates.steps.get(kind, [])
        if kind in REQUIRED_STEPS and not variants:
            problem(f"steps.{kind}", "needs at least one variant")
        compiled: list[CompiledVariant] = []
        seen: set[str] = set()
        last_fields: frozenset[str] = frozenset()
        for variant in variants:
            where = f"steps.{kind} {variant.id!r}"
            if variant.id in seen:
                problem(where, "duplicate id")
            seen.add(variant.id)
            for ref in variant.sources:
                if ref not in source_ids:
                    problem(where, f"source {ref!r} is not in sources.yaml")
            if kind == "first_step" and variant.contact is None:
                problem(where, "a first step needs a contact")
            if variant.contact is not None and variant.contact not in templates.contacts:
                problem(where, f"contact {variant.contact!r} is not in contacts")
            fields = _text_fields(variant.title, where, ALWAYS | SOMETIMES, problem)
            fields |= _text_fields(variant.text, where, ALWAYS | SOMETIMES, problem)
            last_fields = fields
            expression = compile_when(where, variant.when, extra=True)
            if expression is not None:
                compiled.append(CompiledVariant(variant, expression, fields))
        if kind in REQUIRED_STEPS and variants:
            last = variants[-1]
            if last.when.strip() != "true" or not last_fields <= ALWAYS:
                problem(
                    f"steps.{kind} {last.id!r}",
                    'the last variant must be for everyone (when: "true") and use only '
                    + ", ".join(sorted(ALWAYS)),
                )
        steps[kind] = tuple(compiled)

    proposals: list[tuple[TargetProposal, Expression]] = []
    for proposal in templates.proposals:
        where = f"proposals {proposal.id!r}"
        if proposal.target not in qualification_ids:
            problem(where, f"target {proposal.target!r} is not in qualifications.yaml")
        for ref in proposal.sources:
            if ref not in source_ids:
                problem(where, f"source {ref!r} is not in sources.yaml")
        _text_fields(proposal.reason, where, frozenset(), problem)
        expression = compile_when(where, proposal.when, extra=False)
        if expression is not None:
            proposals.append((proposal, expression))
    if templates.proposals and templates.proposals[-1].when.strip() != "true":
        problem("proposals", 'the last proposal must be for everyone (when: "true")')

    answer_ids = {a.id for a in data.answers}
    facts: list[tuple[PlanFact, Expression]] = []
    for fact in templates.facts:
        where = f"facts {fact.id!r}"
        if fact.answer not in answer_ids:
            problem(where, f"answer {fact.answer!r} is not in answers.yaml")
        expression = compile_when(where, fact.when, extra=True)
        if expression is not None:
            facts.append((fact, expression))

    refs: dict[str, str] = {}
    for entry in templates.explain:
        ref_kind, _, item_id = entry.ref.partition(":")
        where = f"explain {entry.ref!r}"
        if ref_kind not in EXPLAIN_KINDS:
            problem(where, f"ref must be one of {', '.join(EXPLAIN_KINDS)} followed by :id")
        elif item_id not in _ids(data, ref_kind):
            problem(where, f"no {ref_kind} has id {item_id!r}")
        for word in entry.words:
            key = word.casefold()
            if key in refs and refs[key] != entry.ref:
                problem(where, f"{word!r} already explains {refs[key]!r}")
            refs[key] = entry.ref
    pattern = (
        re.compile(
            r"(?<!\w)("
            + "|".join(re.escape(w) for w in sorted(refs, key=len, reverse=True))
            + r")(?!\w)",
            re.IGNORECASE,
        )
        if refs
        else None
    )
    if before[0]:
        return None
    return CompiledPlan(templates, steps, tuple(proposals), tuple(facts), pattern, refs)
