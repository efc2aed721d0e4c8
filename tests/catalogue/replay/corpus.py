"""The replay corpus: profiles generated over the whole profile space, plus every profile the
catalogue tests use.

Generated profiles come from a seeded generator (this file), so the corpus can always be made
again: first each value of each field once on a complete profile, then random complete and
half-finished profiles. Test profiles are recorded by running the catalogue tests with
ZIJWIJZER_RECORD_PROFILES set (tests/catalogue/conftest.py).

Rebuild after tests or the generator change:

    .venv/bin/python -m tests.catalogue.replay.corpus
    .venv/bin/python -m catalogue replay          # review what changes
    .venv/bin/python -m catalogue replay --update # accept
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Final

from catalogue.profile import (
    BENEFITS,
    EDUCATION_LEVELS,
    EMPLOYERS,
    GOALS,
    LANGUAGES,
    PROFILE_FIELDS,
    SBB_ANSWERS,
    SECTORS,
    TARGET_UNKNOWN,
)
from catalogue.replay import CORPUS_FILE, load_corpus
from tests.catalogue.samples import ISSUE_PROFILE

SEED: Final = 20261207
RANDOM_COUNT: Final = 260
RECORD_ENV: Final = "ZIJWIJZER_RECORD_PROFILES"
PROJECT_ROOT: Final = Path(__file__).resolve().parents[3]

# Fixed lists (not read from the catalogue), so that a catalogue change never changes the corpus.
AGES: Final = (16, 19, 20, 21, 22, 23, 24, 26, 27, 29, 30, 35, 38, 44, 50, 56, 57, 60, 67, 80)
HOURS: Final = (0, 8, 12, 15, 16, 20, 24, 32, 36, 40)
EXPERIENCE: Final = (0, 0.5, 1, 2, 3, 7, 15)
QUALIFICATIONS: Final = (
    "zorghulp_1",
    "helpende_zw_2",
    "vig_3",
    "begeleider_ghz_3",
    "begeleider_sd_3",
    "pb_ghz_4",
    "pb_sd_4",
    "pb_mz_4",
    "mz4_2014",
    "mbo_vp_4",
    "praktijkopleider_4",
    "ad_ghz_5",
    "bachelor_ghz_6",
    "hbo_v_6",
)
REGIONS: Final = (
    "Almere",
    "Lelystad",
    "Flevoland",
    "Utrecht",
    "Amersfoort",
    "Zwolle",
    "Rotterdam",
    "Maastricht",
    "Groningen",
    "Onbekendstad",
)
# The issue's example profile, its education without a field, in Dutch.
BASE: Final[dict[str, Any]] = {
    **ISSUE_PROFILE,
    "education": {"level": "hbo"},
    "target": TARGET_UNKNOWN,
    "language": "nl",
}
# The values each field can take in the generated corpus.
VALUES: Final[dict[str, tuple[Any, ...]]] = {
    "age": AGES,
    "education": tuple({"level": level} for level in EDUCATION_LEVELS),
    "care_qualifications": ((), *((q,) for q in QUALIFICATIONS)),
    "care_experience_years": EXPERIENCE,
    "employer": EMPLOYERS,
    "employer_sbb_recognised": SBB_ANSWERS,
    "hours_per_week": HOURS,
    "sector": SECTORS,
    "goal": GOALS,
    "target": (*QUALIFICATIONS, TARGET_UNKNOWN),
    "benefit": BENEFITS,
    "region": REGIONS,
    "language": LANGUAGES,
}
assert set(VALUES) == set(PROFILE_FIELDS)


def _fits(profile: dict[str, Any]) -> dict[str, Any]:
    """Experience cannot be longer than a working life (the profile's own check)."""
    age, years = profile.get("age"), profile.get("care_experience_years")
    if age is not None and years is not None and years > age - 12:
        profile["care_experience_years"] = 0
    if profile.get("employer_sbb_recognised") is not None and profile.get("employer") != "care":
        profile["employer"] = "care"  # the question is only asked of care employees
    return profile


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def generated_profiles() -> list[dict[str, Any]]:
    """Each value of each field once on the base profile, then seeded random profiles (one in
    three half-finished, as intakes are)."""
    out = []
    for field, values in VALUES.items():
        for value in values:
            out.append(_fits({**BASE, field: _plain(value)}))
    rng = random.Random(SEED)
    for index in range(RANDOM_COUNT):
        profile = {field: _plain(rng.choice(values)) for field, values in VALUES.items()}
        if rng.random() < 0.25:
            profile["care_qualifications"] = sorted(rng.sample(QUALIFICATIONS, 2))
        if profile["employer"] != "care":
            del profile["employer_sbb_recognised"]
        if index % 3 == 2:
            for field in rng.sample(sorted(profile), rng.randint(1, 6)):
                del profile[field]
        out.append(_fits(profile))
    return out


def _key(profile: dict[str, Any]) -> str:
    return json.dumps(profile, sort_keys=True, ensure_ascii=False)


def build(recorded: list[dict[str, Any]]) -> dict[str, Any]:
    """The corpus document: generated profiles (g001...), then the tests' profiles (t + a hash
    of the profile) that are not already in it."""
    entries = []
    seen: set[str] = set()
    for index, profile in enumerate(generated_profiles(), start=1):
        seen.add(_key(profile))
        entries.append({"id": f"g{index:03d}", "source": "generated", "profile": profile})
    for item in sorted(recorded, key=lambda r: (r["source"], _key(r["profile"]))):
        key = _key(item["profile"])
        if key in seen:
            continue
        seen.add(key)
        # Named by the profile itself: a profile keeps its id when tests come and go.
        profile_id = "t" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
        entries.append({"id": profile_id, "source": item["source"], "profile": item["profile"]})
    return {"profiles": entries}


def corpus_profiles() -> list[dict[str, Any]]:
    """The stored corpus; while the corpus is being rebuilt (recording), the generated part."""
    if os.environ.get(RECORD_ENV):
        return generated_profiles()
    return [entry.profile for entry in load_corpus()]


def record_test_profiles() -> list[dict[str, Any]]:
    """Runs the catalogue tests (except the corpus's own) and returns the profiles they used."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "recorded.json"
        env = {**os.environ, RECORD_ENV: str(path), "PYTHONPATH": str(PROJECT_ROOT)}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "tests/catalogue",
                "-q",
                "-p",
                "no:cacheprovider",
                # The replay's own test compares plans with the corpus being rebuilt.
                "--deselect",
                "tests/catalogue/test_replay.py::test_the_corpus_plans_are_the_reviewed_ones",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            print("warning: some tests failed; their profiles may be missing", file=sys.stderr)
        recorded: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
        return recorded


def write_corpus(document: dict[str, Any], path: Path = CORPUS_FILE) -> None:
    """One profile per line: small, and a changed profile is one changed line."""
    rows = ",\n".join(json.dumps(e, ensure_ascii=False) for e in document["profiles"])
    path.write_text('{"profiles": [\n' + rows + "\n]}\n", encoding="utf-8")


def main() -> None:
    document = build(record_test_profiles())
    write_corpus(document)
    print(f"wrote {len(document['profiles'])} profiles to {CORPUS_FILE}")


if __name__ == "__main__":
    main()
