"""The profile answers as the catalogue takes them, and as people read them.

No domain rules here: which answers count comes from the catalogue (intake.yaml `ask_when`),
words from domain.yml's utter_labels_* tables and the catalogue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from rasa_sdk.types import DomainDict

from actions.base import CatalogueSource, response_variant
from actions.turn import PROFILE_SLOTS
from catalogue.items import title_in
from catalogue.profile import PROFILE_FIELDS

logger = logging.getLogger(__name__)

# Profile slots whose values have words in the utter_labels_<slot> tables of domain.yml.
LABELS_PREFIX = "utter_labels_"
LABELLED_SLOTS = frozenset({"employer", "employer_sbb_recognised", "sector", "goal", "benefit"})


def profile_for_catalogue(
    answers: Mapping[str, Any], language: str, catalogue: CatalogueSource
) -> dict[str, Any]:
    """The profile for `advise`: the answers the catalogue knows and that count for this
    person (an answer to a question the intake no longer asks is left out), plus language."""
    profile = {
        field: value
        for field, value in answers.items()
        if field in PROFILE_FIELDS and value is not None and catalogue.asks(field, answers)
    }
    profile["language"] = language
    return profile


def labels(domain: DomainDict, table: str, language: str, recruiter: bool) -> dict[str, str]:
    """One utter_labels_<table> response as a value -> words table."""
    slots = {"language": language, "recruiter": recruiter}
    custom = response_variant(domain, f"{LABELS_PREFIX}{table}", slots).get("custom")
    return {str(k): str(v) for k, v in (custom or {}).items()}


def profile_in_words(
    answers: Mapping[str, Any],
    skipped: list[str],
    domain: DomainDict,
    catalogue: CatalogueSource,
    *,
    language: str,
    recruiter: bool,
    fields: tuple[str, ...] = PROFILE_SLOTS,
) -> dict[str, str]:
    """Every profile field as a person reads it ("Ouderenzorg", not "vvt").

    Labels from domain.yml in `language`, qualification titles and the region's province from
    the catalogue. Blocking (the catalogue may read its database): call it in a thread.
    """
    common = labels(domain, "common", language, recruiter)
    names = _catalogue_names(catalogue, answers, language)
    shown: dict[str, str] = {}
    for slot in fields:
        value = answers.get(slot)
        if value is None:
            shown[slot] = common.get("skipped" if slot in skipped else "unknown", "?")
        elif slot == "education" and isinstance(value, dict):
            words = labels(domain, slot, language, recruiter)
            level = words.get(str(value.get("level")), str(value.get("level") or ""))
            shown[slot] = " ".join(str(part) for part in (level, value.get("field")) if part)
        elif slot in names:
            shown[slot] = names[slot] or common.get("none", "-")
        elif slot in LABELLED_SLOTS:
            shown[slot] = labels(domain, slot, language, recruiter).get(str(value), str(value))
        else:
            shown[slot] = _number(value)
    return shown


def _catalogue_names(
    catalogue: CatalogueSource, answers: Mapping[str, Any], language: str
) -> dict[str, str]:
    """Qualification titles and the region's province, as the catalogue names them.

    A catalogue that cannot answer leaves the ids and the place as they are.
    """
    names: dict[str, str] = {}
    for slot in ("care_qualifications", "target"):
        if slot not in answers or answers[slot] is None:
            continue
        ids = answers[slot]
        ids = ids if isinstance(ids, list) else [ids]
        titles = []
        for item_id in ids:
            facts = _safely(catalogue.lookup, "qualification", str(item_id))
            titles.append(title_in(facts, language) if facts is not None else str(item_id))
        names[slot] = ", ".join(titles)
    region = answers.get("region")
    if region is not None:
        found = _safely(catalogue.province, str(region))
        names["region"] = f"{region} ({found})" if found and found != region else str(region)
    return names


def _safely(function: Callable[..., Any], *args: str) -> Any:
    try:
        return function(*args)
    except Exception:
        logger.exception("the catalogue could not name a profile value")
        return None


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
