"""Sample profiles shared by the catalogue tests."""

from __future__ import annotations

from typing import Any

# Profiles that between them exercise most rules: a starter, a helper with a diploma, an
# experienced worker in disability care, a young person, and someone who answered little.
SAMPLE_PROFILES: dict[str, dict[str, Any]] = {
    "starter_vvt": {
        "age": 35,
        "sector": "vvt",
        "goal": "tasks",
        "care_qualifications": [],
        "employer": "care",
        "employer_sbb_recognised": "yes",
        "hours_per_week": 24,
        "region": "Almere",
    },
    "helpende": {
        "age": 44,
        "sector": "either",
        "goal": "certificate",
        "care_qualifications": ["helpende_zw_2"],
        "care_experience_years": 6,
        "employer": "care",
        "employer_sbb_recognised": "unknown",
        "hours_per_week": 20,
        "language": "en",
    },
    "experienced_ghz": {
        "age": 51,
        "sector": "ghz",
        "goal": "diploma",
        "care_qualifications": ["begeleider_ghz_3"],
        "care_experience_years": 12,
        "benefit": "ww",
        "education": {"level": "mbo3", "field": "zorg"},
    },
    "young": {"age": 19, "goal": "diploma", "employer": "none"},
    "little_known": {"goal": "orientation"},
}

# The 38-year-old of the issue: switching from accountancy, no care employer, 24 hours, elderly
# care, wants to work soon.
ISSUE_PROFILE: dict[str, Any] = {
    "age": 38,
    "education": {"level": "hbo", "field": "accountancy"},
    "care_qualifications": [],
    "care_experience_years": 0,
    "employer": "none",
    "hours_per_week": 24,
    "sector": "vvt",
    "goal": "tasks",
    "target": "unknown",
    "benefit": "none",
    "region": "Utrecht",
}
# The same person at a care employer that SBB recognises as a place to learn.
AT_RECOGNISED_EMPLOYER = {"employer": "care", "employer_sbb_recognised": "yes"}
