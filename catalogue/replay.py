"""Regression replay: the plans of a fixed corpus of profiles, before and after a change.

A plan is written as readable lines (target, route, each step in Dutch and English, the notes
behind "meer" and "waarom"); the golden file keeps the accepted lines of every profile. Replaying
a catalogue shows exactly which profiles' plans change and how (unified diff lines), grouping
profiles whose plans change in the same way. `python -m catalogue replay` compares the files in
catalogue/data with the golden plans; `--update` accepts the change. The staff console compares
the loaded catalogue with an uploaded export the same way, before it is loaded.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from catalogue.compiled import Catalogue
from catalogue.errors import CatalogueError, ProfileError
from catalogue.plan import Note, Plan, make_plan

# The plans of the replay are dated, so that "rond 15 februari 2027" does not change daily.
REPLAY_TODAY: Final = dt.date(2026, 12, 7)
REPLAY_DIR: Final = Path(__file__).resolve().parent.parent / "tests" / "catalogue" / "replay"
CORPUS_FILE: Final = REPLAY_DIR / "profiles.json"
GOLDEN_FILE: Final = REPLAY_DIR / "plans.json"
GOLDEN_FORMAT: Final = "zijwijzer-replay/2"
LINE_KEY_LENGTH: Final = 12


class ReplayError(CatalogueError):
    """The corpus or golden file cannot be read."""


@dataclass(frozen=True)
class ReplayProfile:
    id: str
    # Where the profile comes from: "generated" or the test that used it.
    source: str
    profile: dict[str, Any]


@dataclass(frozen=True)
class PlanChange:
    profile_id: str
    source: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    # Unified diff lines: "-" before, "+" after, " " context.
    diff: tuple[str, ...]


def _ids(values: Iterable[str]) -> str:
    return ", ".join(values) or "-"


def _note_line(label: str, note: Note) -> str:
    ref = f"{note.ref.kind}:{note.ref.id}" if note.ref else "-"
    certain = "" if note.certain else " [not certain]"
    return f"{label}: {ref}{certain} — {note.text.nl}"


def plan_lines(plan: Plan) -> list[str]:
    """The plan as the lines the replay compares (what a person and a reviewer read)."""
    target = plan.target
    marks = [m for m, on in (("proposed", target.proposed), ("held", target.held)) if on]
    if target.replaces:
        marks.append(f"replaces {target.replaces}")
    lines = [
        f"target: {target.qualification}" + (f" ({', '.join(marks)})" if marks else ""),
        f"route: {plan.route or '-'}" + (" (after the first step)" if plan.route_pending else ""),
        f"units: {_ids(plan.units)}",
        f"funding: {_ids(plan.funding)}",
        f"contact: {plan.contact.id}",
    ]
    for step in plan.steps:
        lines.append(
            f"{step.number}. [{step.kind}/{step.variant}] {step.title.nl} — {step.text.nl}"
        )
        lines.append(f"{step.number}. en: {step.title.en} — {step.text.en}")
    for label, notes in (
        ("alternative", plan.alternatives),
        ("why", plan.why),
        ("not possible", plan.not_possible),
        ("notice", plan.notices),
        ("fact", plan.facts),
    ):
        lines.extend(_note_line(label, note) for note in notes)
    lines.append(f"words: {_ids(t.ref for t in plan.glossary)}")
    lines.append(f"open questions: {_ids(plan.open_questions)}")
    lines.append(f"sources: {_ids(s['id'] for s in plan.sources)}")
    return lines


def load_corpus(path: Path = CORPUS_FILE) -> list[ReplayProfile]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReplayError(f"cannot read the replay corpus {path}: {exc}") from None
    entries = document.get("profiles") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ReplayError(f"{path} needs a list under 'profiles'")
    out = []
    for index, entry in enumerate(entries):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("id"), str)
            and isinstance(entry.get("profile"), dict)
        ):
            raise ReplayError(f"{path}: profile #{index + 1} needs an id and a profile object")
        out.append(ReplayProfile(entry["id"], str(entry.get("source", "")), entry["profile"]))
    ids = [p.id for p in out]
    if len(set(ids)) != len(ids):
        raise ReplayError(f"{path}: profile ids must be unique")
    return out


def replay_lines(
    catalogue: Catalogue, corpus: Sequence[ReplayProfile], today: dt.date = REPLAY_TODAY
) -> dict[str, list[str]]:
    """Each profile's plan as lines; a profile the catalogue no longer accepts says why."""
    out: dict[str, list[str]] = {}
    for entry in corpus:
        try:
            out[entry.id] = plan_lines(make_plan(catalogue, entry.profile, today=today))
        except ProfileError as exc:
            out[entry.id] = [f"refused: {exc}"]
    return out


def load_golden(path: Path = GOLDEN_FILE) -> dict[str, list[str]]:
    """The accepted plans. Lines are stored once, under a short hash of their text, and each
    plan lists its lines' hashes: a changed plan is one changed line of the file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReplayError(f"cannot read the golden plans {path}: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != GOLDEN_FORMAT:
        raise ReplayError(f"{path} is not in the format {GOLDEN_FORMAT}")
    table = document.get("lines")
    plans = document.get("plans")
    if not isinstance(table, dict) or not isinstance(plans, dict):
        raise ReplayError(f"{path} needs 'lines' and 'plans'")
    try:
        return {pid: [table[key] for key in keys] for pid, keys in plans.items()}
    except (KeyError, TypeError):
        raise ReplayError(f"{path} refers to lines it does not hold") from None


def _line_key(line: str, length: int) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()[:length]


def save_golden(lines: Mapping[str, Sequence[str]], path: Path = GOLDEN_FILE) -> None:
    distinct = sorted({line for plan in lines.values() for line in plan})
    length = LINE_KEY_LENGTH
    while len({_line_key(line, length) for line in distinct}) < len(distinct):
        length += 2  # a collision: longer keys
    keys = {line: _line_key(line, length) for line in distinct}
    table = sorted((keys[line], line) for line in distinct)
    rows = [
        f'"format": {json.dumps(GOLDEN_FORMAT)}',
        f'"today": {json.dumps(REPLAY_TODAY.isoformat())}',
        '"lines": {\n'
        + ",\n".join(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in table)
        + "\n}",
        '"plans": {\n'
        + ",\n".join(
            f"{json.dumps(pid)}: {json.dumps([keys[line] for line in plan])}"
            for pid, plan in lines.items()
        )
        + "\n}",
    ]
    path.write_text("{\n" + ",\n".join(rows) + "\n}\n", encoding="utf-8")


def compare(
    before: Mapping[str, Sequence[str]],
    after: Mapping[str, Sequence[str]],
    corpus: Sequence[ReplayProfile],
) -> list[PlanChange]:
    """The profiles (in corpus order) whose plans differ, with their diff lines."""
    changes = []
    for entry in corpus:
        old = tuple(before.get(entry.id, ("(no plan yet)",)))
        new = tuple(after.get(entry.id, ("(no plan)",)))
        if old != new:
            diff = tuple(difflib.unified_diff(old, new, lineterm="", n=1))[2:]
            changes.append(PlanChange(entry.id, entry.source, old, new, diff))
    return changes


def report(changes: Sequence[PlanChange], total: int) -> list[str]:
    """Readable lines: each distinct change once, with the profiles it applies to."""
    if not changes:
        return [f"no plan changes ({total} profiles)"]
    groups: dict[tuple[str, ...], list[PlanChange]] = {}
    for change in changes:
        # The same change at another place in the plan (another hunk offset) is the same change.
        key = tuple(line for line in change.diff if not line.startswith("@@"))
        groups.setdefault(key, []).append(change)
    out = [f"{len(changes)} of {total} plans change ({len(groups)} distinct changes)"]
    for members in groups.values():
        out.append("")
        names = ", ".join(f"{c.profile_id} ({c.source})" for c in members[:8])
        more = f" and {len(members) - 8} more" if len(members) > 8 else ""
        out.append(f"=== {len(members)} profile(s): {names}{more}")
        out.extend(members[0].diff)
    return out
