"""The profile the advice engine takes: parsed from JSON-like data and checked value by value."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final

from catalogue.errors import ProfileError

EDUCATION_LEVELS: Final = (
    "none",
    "vmbo",
    "havo",
    "vwo",
    "mbo1",
    "mbo2",
    "mbo3",
    "mbo4",
    "hbo",
    "wo",
)
EMPLOYERS: Final = ("none", "care", "other")
SBB_ANSWERS: Final = ("yes", "no", "unknown")
SECTORS: Final = ("vvt", "ghz", "either", "other")
GOALS: Final = ("tasks", "certificate", "diploma", "orientation", "hbo")
# What the person wants to become: a qualification id from the catalogue, or this value
# ("weet ik nog niet"), when the advice proposes one.
TARGET_UNKNOWN: Final = "unknown"
_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
BENEFITS: Final = ("none", "ww", "bijstand", "other")
LANGUAGES: Final = ("nl", "en")

# Plausible bounds for an adult switching careers; outside them a value is a typo or a joke.
MIN_AGE: Final = 16
MAX_AGE: Final = 80
MAX_HOURS: Final = 60
MAX_TEXT: Final = 200


@dataclass(frozen=True)
class Profile:
    """What we know of a person; None means not answered (yet)."""

    age: int | None = None
    education_level: str | None = None
    education_field: str | None = None
    care_qualifications: tuple[str, ...] | None = None
    care_experience_years: float | None = None
    employer: str | None = None
    employer_sbb_recognised: str | None = None
    hours_per_week: float | None = None
    sector: str | None = None
    goal: str | None = None
    target: str | None = None
    benefit: str | None = None
    region: str | None = None
    language: str = "nl"
    answered: frozenset[str] = field(default=frozenset(), compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The profile in the engine's input shape (only answered fields)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "answered" or value is None:
                continue
            if f.name in ("education_level", "education_field"):
                education = out.setdefault("education", {})
                education[f.name.removeprefix("education_")] = value
            elif f.name == "care_qualifications":
                out[f.name] = list(value)
            else:
                out[f.name] = value
        return out


# Every field of a profile, in the order the intake asks them (language is set, not asked).
PROFILE_FIELDS: Final = (
    "age",
    "education",
    "care_qualifications",
    "care_experience_years",
    "employer",
    "employer_sbb_recognised",
    "hours_per_week",
    "sector",
    "goal",
    "target",
    "benefit",
    "region",
    "language",
)


def _choice(
    data: Mapping[str, Any], key: str, allowed: tuple[str, ...], field: str | None = None
) -> str | None:
    """`field` is the profile field to name when `key` sits inside it (education.level)."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        label = f"{field}.{key}" if field else key
        raise ProfileError(
            f"{label} must be one of {', '.join(allowed)}; got {value!r}", field or key
        )
    return value


def _number(data: Mapping[str, Any], key: str, low: float, high: float) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProfileError(f"{key} must be a number; got {value!r}", key)
    if not low <= value <= high:
        raise ProfileError(f"{key} must be between {low:g} and {high:g}; got {value:g}", key)
    return float(value)


def _text(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProfileError(f"{key} must be text; got {value!r}", key)
    # Control characters and runs of white space carry nothing a rule could use.
    value = " ".join("".join(c if c.isprintable() else " " for c in value).split())
    if len(value) > MAX_TEXT:
        raise ProfileError(f"{key} is longer than {MAX_TEXT} characters", key)
    return value or None


def _is_target(value: Any, known_qualifications: frozenset[str] | None) -> bool:
    if not isinstance(value, str):
        return False
    if value == TARGET_UNKNOWN:
        return True
    if known_qualifications is not None:
        return value in known_qualifications
    return _ID.match(value) is not None


def parse_profile(data: Any, known_qualifications: frozenset[str] | None = None) -> Profile:
    """Checks raw profile data (as decoded from JSON) and returns a Profile.

    Raises ProfileError, naming the field, for anything that makes no sense.
    """
    if not isinstance(data, Mapping):
        raise ProfileError("a profile must be a JSON object")
    unknown = sorted(set(data) - set(PROFILE_FIELDS))
    if unknown:
        raise ProfileError(f"unknown field(s): {', '.join(map(str, unknown))}", str(unknown[0]))

    age_value = data.get("age")
    if age_value is not None and (
        isinstance(age_value, bool)
        or not isinstance(age_value, int | float)
        or not math.isfinite(age_value)
        or age_value != int(age_value)
    ):
        raise ProfileError(f"age must be a whole number; got {age_value!r}", "age")
    age = None if age_value is None else int(age_value)
    if age is not None and not MIN_AGE <= age <= MAX_AGE:
        raise ProfileError(f"age must be between {MIN_AGE} and {MAX_AGE}; got {age}", "age")

    education = data.get("education")
    education_level: str | None = None
    education_field: str | None = None
    if isinstance(education, str):
        education = {"level": education}
    if education is not None:
        if not isinstance(education, Mapping):
            raise ProfileError("education must be an object with level and field", "education")
        extra = sorted(set(education) - {"level", "field"})
        if extra:
            raise ProfileError(f"unknown education field(s): {', '.join(extra)}", "education")
        education_level = _choice(education, "level", EDUCATION_LEVELS, "education")
        education_field = _text(education.get("field"), "education")

    qualifications_value = data.get("care_qualifications")
    care_qualifications: tuple[str, ...] | None = None
    if qualifications_value is not None:
        if not isinstance(qualifications_value, list | tuple) or not all(
            isinstance(q, str) for q in qualifications_value
        ):
            raise ProfileError("care_qualifications must be a list of ids", "care_qualifications")
        if known_qualifications is not None:
            bad = sorted(set(qualifications_value) - known_qualifications)
            if bad:
                raise ProfileError(
                    f"unknown care qualification(s): {', '.join(bad)}", "care_qualifications"
                )
        care_qualifications = tuple(sorted(set(qualifications_value)))

    experience = _number(data, "care_experience_years", 0, 60)
    if experience is not None and age is not None and experience > age - 12:
        raise ProfileError(
            f"care_experience_years ({experience:g}) does not fit age {age}",
            "care_experience_years",
        )

    target = data.get("target")
    if target is not None and not _is_target(target, known_qualifications):
        raise ProfileError(
            f"target must be a qualification id or {TARGET_UNKNOWN!r}; got {target!r}", "target"
        )

    language = _choice(data, "language", LANGUAGES) or "nl"
    return Profile(
        age=age,
        education_level=education_level,
        education_field=education_field,
        care_qualifications=care_qualifications,
        care_experience_years=experience,
        employer=_choice(data, "employer", EMPLOYERS),
        employer_sbb_recognised=_choice(data, "employer_sbb_recognised", SBB_ANSWERS),
        hours_per_week=_number(data, "hours_per_week", 0, MAX_HOURS),
        sector=_choice(data, "sector", SECTORS),
        goal=_choice(data, "goal", GOALS),
        target=target,
        benefit=_choice(data, "benefit", BENEFITS),
        region=_text(data.get("region"), "region"),
        language=language,
        answered=frozenset(k for k in PROFILE_FIELDS if data.get(k) is not None),
    )
