"""The profile slots, how they map onto the catalogue's profile, and how they read in words.

No domain rules here: words come from domain.yml's utter_labels_* tables and the catalogue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.types import DomainDict

from actions.base import AdviceSource, response_variant
from actions.questions import title_of
from catalogue.profile import PROFILE_FIELDS

logger = logging.getLogger(__name__)

# Profile fields asked by profile_form, in the order they are asked: the catalogue's profile
# fields (language is set from how the user writes, never asked).
PROFILE_SLOTS: tuple[str, ...] = tuple(f for f in PROFILE_FIELDS if f != "language")
# Fields whose answers are numbers; their limits are the slots' min_value/max_value.
NUMBER_SLOTS: tuple[str, ...] = ("age", "hours_per_week", "care_experience_years")
# The profile field that is only asked (and only sent) when employer is "care".
SBB_SLOT = "employer_sbb_recognised"
INTAKE_FORM = "profile_form"
HANDOFF_FORM = "handoff_form"
# Intents whose text is an answer to the question just asked (so bare "24" or "nee" count).
ANSWER_INTENTS: frozenset[str] = frozenset({"inform", "affirm", "deny", "skip_question"})


def applies(slot: str, values: dict[str, Any]) -> bool:
    """Whether `slot` is part of the profile given the other answers."""
    if slot == SBB_SLOT:
        return values.get("employer") == "care"
    return True


def profile_from_slots(tracker: Tracker) -> dict[str, Any]:
    """The profile for `advise`: every profile slot that has a value, plus the language."""
    values = {slot: tracker.get_slot(slot) for slot in PROFILE_SLOTS}
    profile: dict[str, Any] = {
        slot: value for slot, value in values.items() if value is not None and applies(slot, values)
    }
    language = tracker.get_slot("language")
    if language is not None:
        profile["language"] = language
    return profile


def questions_left(tracker: Tracker) -> list[str]:
    """Profile slots still to ask, in order: not known, not skipped, applicable."""
    values = {slot: tracker.get_slot(slot) for slot in PROFILE_SLOTS}
    skipped = set(tracker.get_slot("skipped") or [])
    return [
        slot
        for slot in PROFILE_SLOTS
        if values[slot] is None and slot not in skipped and applies(slot, values)
    ]


# Profile slots whose values have words in the utter_labels_<slot> tables of domain.yml.
LABELS_PREFIX = "utter_labels_"
LABELLED_SLOTS = frozenset({"employer", "employer_sbb_recognised", "sector", "goal", "benefit"})


def profile_in_words(
    tracker: Tracker,
    domain: DomainDict,
    catalogue: AdviceSource,
    *,
    language: str | None = None,
    recruiter: bool | None = None,
) -> dict[str, str]:
    """Every profile slot as a person reads it ("Ouderenzorg", not "vvt").

    Labels from domain.yml in `language` (default: the conversation's), qualification titles
    and the region's province from the catalogue. Blocking (the catalogue may read its
    database): call it in a thread. "What do you know of me?" shows it to the user; a
    handoff request stores it in Dutch for the advisor.
    """
    language = language or str(tracker.get_slot("language") or "nl")
    if recruiter is None:
        recruiter = bool(tracker.get_slot("recruiter"))
    slots = {"language": language, "recruiter": recruiter}

    def labels(table: str) -> dict[str, str]:
        custom = response_variant(domain, f"{LABELS_PREFIX}{table}", slots).get("custom")
        return {str(k): str(v) for k, v in (custom or {}).items()}

    common = labels("common")
    profile = profile_from_slots(tracker)
    skipped = set(tracker.get_slot("skipped") or [])
    names = _catalogue_names(catalogue, profile, language)
    shown: dict[str, str] = {}
    for slot in PROFILE_SLOTS:
        value = profile.get(slot)
        if value is None:
            shown[slot] = common.get("skipped" if slot in skipped else "unknown", "?")
        elif slot == "education" and isinstance(value, dict):
            level = labels(slot).get(str(value.get("level")), str(value.get("level") or ""))
            shown[slot] = " ".join(str(part) for part in (level, value.get("field")) if part)
        elif slot in names:
            shown[slot] = names[slot] or common.get("none", "-")
        elif slot in LABELLED_SLOTS:
            shown[slot] = labels(slot).get(str(value), str(value))
        else:
            shown[slot] = _number(value)
    return shown


def _catalogue_names(
    catalogue: AdviceSource, profile: dict[str, Any], language: str
) -> dict[str, str]:
    """Qualification titles and the region's province, as the catalogue names them.

    A catalogue that cannot answer leaves the ids and the place as they are.
    """
    names: dict[str, str] = {}
    if "care_qualifications" in profile:
        ids = profile["care_qualifications"]
        ids = ids if isinstance(ids, list) else [ids]
        lookup = getattr(catalogue, "lookup", None)
        titles = []
        for item_id in ids:
            facts = _safely(lookup, "qualification", str(item_id)) if lookup else None
            titles.append(title_of(facts, language) if isinstance(facts, dict) else str(item_id))
        names["care_qualifications"] = ", ".join(titles)
    region = profile.get("region")
    if region is not None:
        province = getattr(catalogue, "province", None)
        found = _safely(province, str(region)) if province else None
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
