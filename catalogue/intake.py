"""Which question the intake asks next (catalogue/data/intake.yaml).

The order and the conditions are domain knowledge (the SBB question matters only for someone
at a care employer), so they live in the catalogue; the conversation only asks what this says.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from catalogue.compiled import Catalogue
from catalogue.errors import ProfileError
from catalogue.profile import PROFILE_FIELDS, parse_profile
from catalogue.rules import evaluate, profile_symbols


def symbols_of(catalogue: Catalogue, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The rule symbols of the answers so far; an answer the profile refuses is left out."""
    known = {k: v for k, v in answers.items() if k in PROFILE_FIELDS and v is not None}
    while True:
        try:
            profile = parse_profile(known, catalogue.qualification_ids)
        except ProfileError as error:
            if error.field not in known:
                return {}
            del known[error.field]
            continue
        return profile_symbols(profile, catalogue.regions)


def asks(catalogue: Catalogue, field: str, answers: Mapping[str, Any]) -> bool:
    """Whether the intake asks `field` for someone with these answers (its `ask_when` holds or
    cannot be decided yet)."""
    condition = catalogue.intake_conditions.get(field)
    return condition is None or evaluate(condition, symbols_of(catalogue, answers)) is not False


def next_question(
    catalogue: Catalogue, answers: Mapping[str, Any], skipped: Collection[str] = ()
) -> str | None:
    """The field the intake asks next: the first one not answered, not skipped, that matters
    for this person; None when the intake is complete."""
    symbols = symbols_of(catalogue, answers)
    for question in catalogue.data.intake:
        field = question.field
        if answers.get(field) is not None or field in skipped:
            continue
        condition = catalogue.intake_conditions.get(field)
        if condition is not None and evaluate(condition, symbols) is False:
            continue
        return field
    return None


def intake_fields(catalogue: Catalogue) -> tuple[str, ...]:
    """Every field the intake can ask, in its order."""
    return tuple(question.field for question in catalogue.data.intake)
