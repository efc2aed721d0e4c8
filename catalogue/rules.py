"""Eligibility expressions: compiled and type-checked with rule-engine, never eval.

A rule's expression reads profile symbols. When the person has not answered a symbol the
expression needs, evaluation does not guess: it reports the rule as undecided, with the
missing fields, so that the advice can say which answers would change it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import rule_engine

from catalogue.profile import (
    BENEFITS,
    EDUCATION_LEVELS,
    EMPLOYERS,
    GOALS,
    LANGUAGES,
    SBB_ANSWERS,
    SECTORS,
    Profile,
)

_T = rule_engine.DataType
SYMBOL_TYPES: Final[dict[str, Any]] = {
    "age": _T.FLOAT,
    "education_level": _T.STRING,
    "education_field": _T.STRING,
    "care_qualifications": _T.ARRAY(_T.STRING),
    "care_experience_years": _T.FLOAT,
    "employer": _T.STRING,
    "employer_sbb_recognised": _T.STRING,
    "hours_per_week": _T.FLOAT,
    "sector": _T.STRING,
    "goal": _T.STRING,
    "target": _T.STRING,
    "benefit": _T.STRING,
    "region": _T.STRING,
    "province": _T.STRING,
    "language": _T.STRING,
}

# Symbols whose string literals in an expression must be one of these values, so that a typo
# such as goal == 'taks' is a load error instead of a rule that silently never fires.
FIXED_VALUES: Final[dict[str, tuple[str, ...]]] = {
    "education_level": EDUCATION_LEVELS,
    "employer": EMPLOYERS,
    "employer_sbb_recognised": SBB_ANSWERS,
    "sector": SECTORS,
    "goal": GOALS,
    "benefit": BENEFITS,
    "language": LANGUAGES,
}

# Which profile field a person answers to fill a symbol.
SYMBOL_FIELDS: Final[dict[str, str]] = {
    "education_level": "education",
    "education_field": "education",
    "province": "region",
}


class _Missing(Exception):
    """Raised by the resolver when an expression reads a symbol the person has not answered."""


def _resolve(thing: Mapping[str, Any], name: str) -> Any:
    try:
        return thing[name]
    except KeyError:
        raise _Missing(name) from None


_TYPE_RESOLVER = rule_engine.type_resolver_from_dict(SYMBOL_TYPES)


def _context(resolver: Any = None, type_resolver: Any = _TYPE_RESOLVER) -> rule_engine.Context:
    return rule_engine.Context(type_resolver=type_resolver, resolver=resolver)


@dataclass(frozen=True)
class Expression:
    text: str
    compiled: Any  # rule_engine.Rule
    symbols: frozenset[str]

    @property
    def fields(self) -> frozenset[str]:
        """The profile fields whose answers this expression reads."""
        return frozenset(SYMBOL_FIELDS.get(s, s) for s in self.symbols)


@dataclass(frozen=True)
class Undecided:
    """The expression needs answers the person has not given."""

    fields: frozenset[str]


Verdict = bool | Undecided


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    # rule-engine's nodes keep children in slots or in __dict__, depending on the class.
    names: set[str] = set(getattr(node, "__dict__", {}))
    for cls in type(node).__mro__:
        names.update(getattr(cls, "__slots__", ()))
    for name in sorted(names - {"context", "_evaluator", "_object_type"}):
        value = getattr(node, name, None)
        if isinstance(value, rule_engine.ast.ExpressionBase | rule_engine.ast.Statement):
            yield from _nodes(value)
        elif isinstance(value, tuple | list):
            for item in value:
                if isinstance(item, rule_engine.ast.ExpressionBase):
                    yield from _nodes(item)


def _literals(node: Any) -> list[str]:
    if isinstance(node, rule_engine.ast.StringExpression):
        return [node.value]
    if isinstance(node, rule_engine.ast.ArrayExpression):
        return [v.value for v in node.value if isinstance(v, rule_engine.ast.StringExpression)]
    return []


def _symbol(node: Any) -> str | None:
    return node.name if isinstance(node, rule_engine.ast.SymbolExpression) else None


def _type(node: Any) -> Any:
    return getattr(node, "result_type", rule_engine.DataType.UNDEFINED)


def _incompatible(left: Any, right: Any) -> bool:
    """Both types known and never equal: the comparison can never hold (age == '23')."""
    undefined = rule_engine.DataType.UNDEFINED
    if left == undefined or right == undefined:
        return False
    return not rule_engine.DataType.is_compatible(left, right)


def compile_expression(
    text: str,
    fixed_values: Mapping[str, tuple[str, ...]],
    extra_symbols: Mapping[str, Any] | None = None,
) -> Expression:
    """Parses and type-checks an expression; raises ValueError saying what is wrong.

    `extra_symbols` (name -> rule_engine type) adds symbols beyond the profile's (the plan's
    conditions also read what the advice decided, such as the route it names).
    """
    type_resolver = (
        rule_engine.type_resolver_from_dict({**SYMBOL_TYPES, **extra_symbols})
        if extra_symbols
        else _TYPE_RESOLVER
    )
    try:
        compiled = rule_engine.Rule(text, context=_context(_resolve, type_resolver))
    except rule_engine.errors.SymbolResolutionError as exc:
        raise ValueError(f"unknown symbol {exc.symbol_name!r} in {text!r}") from None
    except rule_engine.errors.EngineError as exc:
        raise ValueError(f"bad expression {text!r}: {exc.message}") from None
    symbols: set[str] = set()
    for node in _nodes(compiled.statement):
        name = _symbol(node)
        if name is not None:
            symbols.add(name)
        # rule-engine checks the types of < and >, not of ==, != and in: a mistyped literal
        # would make a rule that silently never fires.
        if isinstance(node, rule_engine.ast.ComparisonExpression) and _incompatible(
            _type(node.left), _type(node.right)
        ):
            raise ValueError(f"compares values of different types in {text!r}")
        if isinstance(node, rule_engine.ast.ContainsExpression):
            container = _type(node.container)
            # Only arrays and sets have a value_type; for a string container `in` is substring.
            value_type = getattr(container, "value_type", None)
            if value_type is not None and _incompatible(value_type, _type(node.member)):
                raise ValueError(f"looks for a value of the wrong type in {text!r}")
        pairs: list[tuple[str | None, list[str]]] = []
        if isinstance(node, rule_engine.ast.ComparisonExpression):
            pairs = [(_symbol(node.left), _literals(node.right))]
            pairs.append((_symbol(node.right), _literals(node.left)))
        elif isinstance(node, rule_engine.ast.ContainsExpression):
            pairs = [(_symbol(node.member), _literals(node.container))]
            pairs.append((_symbol(node.container), _literals(node.member)))
        for symbol, literals in pairs:
            allowed = fixed_values.get(symbol) if symbol else None
            for literal in literals:
                if allowed is not None and literal not in allowed:
                    raise ValueError(
                        f"{symbol} is never {literal!r} (allowed: {', '.join(allowed)}) in {text!r}"
                    )
    return Expression(text=text, compiled=compiled, symbols=frozenset(symbols))


def evaluate(expression: Expression, symbols: Mapping[str, Any]) -> Verdict:
    """True or False when decided; Undecided naming the unanswered fields otherwise."""
    try:
        return bool(expression.compiled.matches(symbols))
    except _Missing:
        missing = expression.symbols - symbols.keys()
        return Undecided(frozenset(SYMBOL_FIELDS.get(s, s) for s in missing))


def profile_symbols(profile: Profile, regions: Mapping[str, str]) -> dict[str, Any]:
    """The values rules read; unanswered fields are left out so that rules see them as missing."""
    values: dict[str, Any] = {
        "age": None if profile.age is None else float(profile.age),
        "education_level": profile.education_level,
        "education_field": profile.education_field,
        "care_qualifications": profile.care_qualifications,
        "care_experience_years": profile.care_experience_years,
        "employer": profile.employer,
        "employer_sbb_recognised": profile.employer_sbb_recognised,
        "hours_per_week": profile.hours_per_week,
        "sector": profile.sector,
        "goal": profile.goal,
        "target": profile.target,
        "benefit": profile.benefit,
        "region": profile.region,
        "language": profile.language,
    }
    if profile.region is not None:
        # A place we do not know is outside every named province, not unanswered.
        values["province"] = regions.get(profile.region.casefold(), "")
    return {name: value for name, value in values.items() if value is not None}
