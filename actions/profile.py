"""The profile slots and how they map onto the catalogue's profile (no domain knowledge here)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from catalogue.profile import PROFILE_FIELDS

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
