"""How fast `find_region` reads a place from a message, with the real regions.yaml.

Prints, per sentence, the place found and the median and p95 time of one call (the name index
is built once per catalogue; its build time is printed first).

Run: .venv/bin/python bench/regions.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalogue.interpret import find_region
from catalogue.reader import load_directory

SENTENCES = (
    "Nijmegen",
    "ik woon in de buurt van Zwolle",
    "ik kom uit Emmeloord en wil graag in de ouderenzorg werken",
    "ik woon in een klein dorp",
    "weet ik niet",
    "I live in The Hague and would like to work in disability care",
    # A long message that names no place: every word is looked at.
    "ik ben 45 jaar en heb jarenlang in de horeca gewerkt als kok maar nu wil ik graag iets "
    "anders doen, het liefst in de zorg voor ouderen of mensen met een beperking, ik heb een "
    "mbo diploma niveau 2 en kan ongeveer 24 uur per week werken naast de zorg voor mijn kinderen",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    catalogue = load_directory()
    start = time.perf_counter()
    find_region("", catalogue)
    print(f"name index built in {(time.perf_counter() - start) * 1000:.1f} ms")
    for sentence in SENTENCES:
        found = find_region(sentence, catalogue)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            find_region(sentence, catalogue)
            times.append(time.perf_counter() - start)
        times.sort()
        median = statistics.median(times) * 1e6
        p95 = times[int(len(times) * 0.95)] * 1e6
        print(f"{median:8.1f} µs median {p95:8.1f} µs p95  {found!s:<16} {sentence[:50]!r}")


if __name__ == "__main__":
    main()
