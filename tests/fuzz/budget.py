"""How many generated inputs each fuzz target gets, and the hypothesis settings around them.

Two profiles, registered here and never loaded globally (a loaded profile would change every
other hypothesis test of the suite): "fuzz-ci" for `make test` (600 inputs per pure
function, about half a minute for the whole package on two cores) and "fuzz-long" for `make fuzz`.
FUZZ_PROFILE=fuzz-long selects the long one; FUZZ_EXAMPLES=N sets the count per target
(scaled down the same way for the slow targets). Failures print a reproduction blob
(@reproduce_failure). `make test` tries the same inputs every run; in `make fuzz` failing
examples are kept in .hypothesis/ and tried first next time.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

ROOT: Final = Path(__file__).resolve().parents[2]
PROFILES: Final = {"fuzz-ci": 600, "fuzz-long": 50_000}

for _name, _examples in PROFILES.items():
    settings.register_profile(
        _name,
        max_examples=_examples,
        # A hang detector, not a timing assertion: no single input may take seconds. Generous,
        # because `make test` runs beside a training on the same two cores (the slowest input
        # takes about 0.3 s on a quiet machine; the regexes it caught took 4 to 11 s).
        deadline=timedelta(seconds=5),
        print_blob=True,
        # `make test` tries the same inputs on every run (a failure there is reproducible);
        # `make fuzz` explores new ones each time.
        derandomize=_name == "fuzz-ci",
        database=(
            None
            if _name == "fuzz-ci"
            else DirectoryBasedExampleDatabase(ROOT / ".hypothesis" / "examples")
        ),
        # Big generated inputs are the point here, not a mistake of the strategy.
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def profile_name() -> str:
    name = os.environ.get("FUZZ_PROFILE", "fuzz-ci")
    if name not in PROFILES:
        raise ValueError(f"FUZZ_PROFILE={name!r}: expected one of {', '.join(PROFILES)}")
    return name


def examples_per_target() -> int:
    override = os.environ.get("FUZZ_EXAMPLES")
    return int(override) if override else PROFILES[profile_name()]


def fuzz(share: float = 1.0, **overrides: Any) -> settings:
    """Settings for one target: `share` of the examples per target (slow targets get less)."""
    return settings(
        settings.get_profile(profile_name()),
        max_examples=max(1, round(examples_per_target() * share)),
        **overrides,
    )
