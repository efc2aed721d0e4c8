"""Advice and plan latency in process: the real catalogue and one generated at 100x its size.

Prints p50/p95/p99 per advice (the full JSON advice) and per plan (catalogue.plan.make_plan,
the smaller output the presenter uses) over a fixed, seeded set of profiles (half complete, half
half-finished intakes). The 100x catalogue copies every qualification, unit, route, scheme,
notice and item-specific rule 100 times (copies point at each other), shifts the numbers in
the copied rules' expressions so that they are distinct expressions to evaluate, and keeps the
generic rules (selected by sector, audience, status, ...) once, as a larger real catalogue would.

Run: make bench  (or .venv/bin/python bench/advice.py [--profiles N] [--scale K])
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalogue.advice import advise
from catalogue.compiled import Catalogue, compile_catalogue
from catalogue.plan import make_plan
from catalogue.profile import BENEFITS, EDUCATION_LEVELS, EMPLOYERS, GOALS, SBB_ANSWERS, SECTORS
from catalogue.reader import load_directory
from catalogue.schema import CatalogueData
from catalogue.service import settle_long_lived

ID_SELECTOR = re.compile(r"^(unit|route|funding):([a-z][a-z0-9_]*)$")
QUALIFICATION_SELECTOR = re.compile(r"^unit:qualification=([a-z][a-z0-9_]*)$")
NUMBER = re.compile(r"\b(\d+)\b")


def scaled(data: CatalogueData, scale: int) -> CatalogueData:
    """`data` with every item copied `scale` times (copy 0 is the original)."""

    def cid(item_id: str, k: int) -> str:
        return item_id if k == 0 else f"{item_id}_c{k}"

    def selector(text: str, k: int) -> str | None:
        if match := ID_SELECTOR.match(text):
            return f"{match[1]}:{cid(match[2], k)}"
        if match := QUALIFICATION_SELECTOR.match(text):
            return f"unit:qualification={cid(match[1], k)}"
        return text if k == 0 else None  # generic selectors stay once

    def shifted(expression: str, k: int) -> str:
        return NUMBER.sub(lambda m: str(int(m[1]) + k % 7), expression)

    raw = data.model_dump(mode="python")
    out: dict[str, Any] = {
        **raw,
        "qualifications": [],
        "units": [],
        "routes": [],
        "funding": [],
        "rules": [],
        "notices": [],
    }
    for k in range(scale):
        for q in raw["qualifications"]:
            out["qualifications"].append(
                {
                    **q,
                    "id": cid(q["id"], k),
                    "replaced_by": q["replaced_by"] and cid(q["replaced_by"], k),
                }
            )
        for r in raw["routes"]:
            out["routes"].append({**r, "id": cid(r["id"], k)})
        for u in raw["units"]:
            out["units"].append(
                {
                    **u,
                    "id": cid(u["id"], k),
                    "qualification": cid(u["qualification"], k),
                    "routes": [cid(r, k) for r in u["routes"]],
                    "group": u["group"] and cid(u["group"], k),
                }
            )
        for f in raw["funding"]:
            out["funding"].append(
                {**f, "id": cid(f["id"], k), "routes": [cid(r, k) for r in f["routes"]]}
            )
        for rule in raw["rules"]:
            selectors = [s for s in (selector(t, k) for t in rule["applies_to"]) if s is not None]
            if selectors:
                when = rule["when"] if k == 0 else shifted(rule["when"], k)
                out["rules"].append(
                    {**rule, "id": cid(rule["id"], k), "applies_to": selectors, "when": when}
                )
        for notice in raw["notices"]:
            about = [s for s in (selector(t, k) for t in notice["about"]) if s is not None]
            out["notices"].append({**notice, "id": cid(notice["id"], k), "about": about})
    return CatalogueData.model_validate(out)


def profiles(count: int, regions: list[str], qualifications: list[str]) -> list[dict[str, Any]]:
    rng = random.Random(20261123)  # fixed: the same profiles every run
    # The target (issue 20) from a generator of its own: the other fields stay as they were.
    target_rng = random.Random(20261207)
    out = []
    for i in range(count):
        age = rng.randint(18, 66)
        profile: dict[str, Any] = {
            "age": age,
            "education": {"level": rng.choice(EDUCATION_LEVELS)},
            "care_qualifications": rng.sample(qualifications, rng.choice((0, 0, 0, 1))),
            # At most the years since 12 (the profile refuses more since issue 20), drawn as
            # before so the other profiles stay the same.
            "care_experience_years": min(rng.choice((0, 0, 1, 3, 7)), age - 12),
            "employer": rng.choice(EMPLOYERS),
            "employer_sbb_recognised": rng.choice(SBB_ANSWERS),
            "hours_per_week": rng.choice((8, 16, 24, 32, 36)),
            "sector": rng.choice(SECTORS),
            "goal": rng.choice(GOALS),
            "benefit": rng.choice(BENEFITS),
            "region": rng.choice(regions),
            "language": rng.choice(("nl", "en")),
            "target": target_rng.choice([*qualifications, "unknown"]),
        }
        if i % 2:  # a half-finished intake
            for key in rng.sample(sorted(profile), rng.randint(1, 8)):
                del profile[key]
        out.append(profile)
    return out


def measure(
    catalogue: Catalogue,
    batch: list[dict[str, Any]],
    rounds: int,
    run: Callable[..., Any],
    clock: Callable[[], int] = time.perf_counter_ns,
) -> list[float]:
    for profile in batch[:20]:
        run(catalogue, profile)  # warm-up: builds the per-catalogue cache
    settle_long_lived()  # as CatalogueService does after loading a catalogue
    samples = []
    for _ in range(rounds):
        for profile in batch:
            start = clock()
            run(catalogue, profile)
            samples.append((clock() - start) / 1e6)
    return samples


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profiles", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall: latency as a caller sees it; cpu: this process's CPU time per call, "
        "nearly unaffected by other processes on a shared machine",
    )
    args = parser.parse_args()
    clock = time.perf_counter_ns if args.clock == "wall" else time.process_time_ns

    real = load_directory()
    start = time.perf_counter()
    big_data = scaled(real.data, args.scale)
    big = compile_catalogue(big_data, real.checksum)
    build_seconds = time.perf_counter() - start
    batch = profiles(args.profiles, sorted(real.data.regions), sorted(real.qualification_ids))

    python = sys.version.split()[0]
    print(
        f"advice latency in process ({args.clock} clock), {len(batch)} profiles x "
        f"{args.rounds} rounds, Python {python}"
    )
    columns = (
        "units",
        "routes",
        "funding",
        "rules",
        "exprs",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "mean ms",
    )
    print(f"{'catalogue':<22}" + "".join(f"{c:>9}" for c in columns))
    runs: list[tuple[str, Callable[..., Any]]] = [("advise", advise), ("plan", make_plan)]
    for (name, catalogue), (what, run) in (
        (c, r) for c in (("real (1x)", real), (f"generated {args.scale}x", big)) for r in runs
    ):
        samples = measure(catalogue, batch, args.rounds, run, clock)
        d = catalogue.data
        counts = (
            len(d.units),
            len(d.routes),
            len(d.funding),
            len(d.rules),
            len(catalogue.expressions),
        )
        figures = (percentile(samples, 0.50), percentile(samples, 0.95), percentile(samples, 0.99))
        print(
            f"{what + ' ' + name:<22}"
            + "".join(f"{n:>9}" for n in counts)
            + "".join(f"{f:>9.3f}" for f in (*figures, statistics.fmean(samples)))
        )
    print(
        f"building and compiling the {args.scale}x catalogue: {build_seconds:.2f} s (once per load)"
    )


if __name__ == "__main__":
    main()
