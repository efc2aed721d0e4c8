"""Regression replay: the corpus, the golden plans, and the diff a change shows."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from catalogue.cli import EXIT_PLANS_CHANGED, main
from catalogue.compiled import Catalogue
from catalogue.plan import make_plan
from catalogue.profile import PROFILE_FIELDS
from catalogue.replay import (
    GOLDEN_FILE,
    REPLAY_TODAY,
    ReplayError,
    ReplayProfile,
    compare,
    load_corpus,
    load_golden,
    plan_lines,
    replay_lines,
    report,
    save_golden,
)
from tests.catalogue.conftest import CatalogueFiles, recording_paused
from tests.catalogue.replay.corpus import VALUES, generated_profiles
from tests.catalogue.samples import SAMPLE_PROFILES


def test_the_corpus_plans_are_the_reviewed_ones(real_catalogue: Catalogue) -> None:
    """Fails on any plan change nobody accepted, and prints what changes."""
    corpus = load_corpus()
    with recording_paused():
        after = replay_lines(real_catalogue, corpus)
    changes = compare(load_golden(), after, corpus)
    if changes:
        pytest.fail(
            "\n".join(report(changes, len(corpus)))
            + "\n\nPlans changed. Review the diff above; accept it with "
            "`.venv/bin/python -m catalogue replay --update` (and commit plans.json).",
            pytrace=False,
        )


def test_the_corpus_is_the_generator_plus_the_tests_profiles() -> None:
    corpus = load_corpus()
    assert len(corpus) >= 300
    generated = [p.profile for p in corpus if p.source == "generated"]
    assert generated == generated_profiles()  # the committed corpus can be made again
    keys = {json.dumps(p.profile, sort_keys=True) for p in corpus}
    for name, profile in SAMPLE_PROFILES.items():
        assert json.dumps(profile, sort_keys=True) in keys, name
    assert any(p.source.startswith("test_advice::") for p in corpus)
    assert any(p.source.startswith("test_plan::") for p in corpus)


def test_the_corpus_covers_every_value_of_every_field() -> None:
    profiles = [p.profile for p in load_corpus()]
    for field in PROFILE_FIELDS:
        for value in VALUES[field]:
            expected = list(value) if isinstance(value, tuple) else value
            assert any(p.get(field) == expected for p in profiles), (field, value)
        assert any(field not in p for p in profiles), f"no profile leaves {field} open"


def _corpus(*profiles: dict[str, Any]) -> list[ReplayProfile]:
    return [ReplayProfile(f"p{i}", "test", p) for i, p in enumerate(profiles)]


def test_a_changed_template_shows_exactly_the_plans_it_changes(
    real_catalogue: Catalogue, files: CatalogueFiles
) -> None:
    corpus = _corpus(
        {"age": 40, "employer": "care", "employer_sbb_recognised": "no", "goal": "diploma"},
        {"age": 40, "employer": "none", "goal": "tasks", "sector": "vvt", "region": "Utrecht"},
    )
    before = replay_lines(real_catalogue, corpus)
    old = "Nog geen leerweg"
    files.replace_text("plan.yaml", f'{{nl: "{old}"', '{nl: "Nog geen passende leerweg"')
    after = replay_lines(files.load(), corpus)
    changes = compare(before, after, corpus)
    assert [c.profile_id for c in changes] == ["p0"]
    (change,) = changes
    assert any(line.startswith("-") and old in line for line in change.diff)
    assert any(line.startswith("+") and "Nog geen passende leerweg" in line for line in change.diff)
    text = "\n".join(report(changes, len(corpus)))
    assert "1 of 2 plans change" in text and "p0 (test)" in text


def test_a_rule_change_shows_the_route_and_steps_that_move(
    real_catalogue: Catalogue, files: CatalogueFiles
) -> None:
    at_unrecognised = {
        "age": 40,
        "employer": "care",
        "employer_sbb_recognised": "no",
        "goal": "diploma",
        "hours_per_week": 24,
    }
    corpus = _corpus(at_unrecognised, {**at_unrecognised, "employer_sbb_recognised": "yes"})
    before = replay_lines(real_catalogue, corpus)
    # BBL at a non-recognised employer becomes a caution instead of a block.
    files.replace_text(
        "rules.yaml",
        "    when: \"employer == 'care' and employer_sbb_recognised == 'no'\"\n"
        '    outcome: not_possible\n    reason:\n      nl: "BBL kan alleen',
        "    when: \"employer == 'care' and employer_sbb_recognised == 'no'\"\n"
        '    outcome: possible\n    resolvable: true\n    reason:\n      nl: "BBL kan alleen',
    )
    changes = compare(before, replay_lines(files.load(), corpus), corpus)
    assert [c.profile_id for c in changes] == ["p0"]
    diff = changes[0].diff
    assert "-route: -" in diff and "+route: bbl (after the first step)" in diff
    assert any(line.startswith("-3. [learn/no_route]") for line in diff)
    assert any(line.startswith("+3. [learn/bbl]") for line in diff)


def test_profiles_the_catalogue_no_longer_accepts_are_named(real_catalogue: Catalogue) -> None:
    corpus = _corpus({"target": "vig_9"})
    assert replay_lines(real_catalogue, corpus)["p0"][0].startswith("refused: target must be")


def test_golden_files_round_trip_compactly(real_catalogue: Catalogue, tmp_path: Path) -> None:
    corpus = _corpus(*SAMPLE_PROFILES.values())
    lines = replay_lines(real_catalogue, corpus)
    path = tmp_path / "plans.json"
    save_golden(lines, path)
    assert load_golden(path) == lines
    document = json.loads(path.read_text(encoding="utf-8"))
    assert len(document["lines"]) < sum(len(v) for v in lines.values())  # shared lines once
    # One plan per line of the file: a changed plan is one changed line.
    text = path.read_text(encoding="utf-8")
    for profile_id in lines:
        assert sum(1 for row in text.splitlines() if row.startswith(f'"{profile_id}": [')) == 1
    assert load_golden(tmp_path / "missing.json") == {}
    path.write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(ReplayError):
        load_golden(path)


def test_plan_lines_read_as_the_plan(real_catalogue: Catalogue) -> None:
    plan = make_plan(real_catalogue, SAMPLE_PROFILES["starter_vvt"], today=REPLAY_TODAY)
    lines = plan_lines(plan)
    assert lines[0].startswith("target: ")
    assert any(line.startswith("1. [target/") for line in lines)
    assert sum(1 for line in lines if line[0].isdigit() and ". en: " in line) == len(plan.steps)


def test_the_replay_command_reports_changes_and_accepts_them(
    files: CatalogueFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus_path = tmp_path / "profiles.json"
    corpus_path.write_text(
        json.dumps(
            {"profiles": [{"id": "a", "source": "test", "profile": SAMPLE_PROFILES["young"]}]}
        ),
        encoding="utf-8",
    )
    golden = tmp_path / "plans.json"
    args = ["replay", "--dir", str(files.directory), "--corpus", str(corpus_path)]
    out = io.StringIO()
    assert main([*args, "--golden", str(golden), "--update"], out=out) == 0
    assert "accepted: 1 plans" in out.getvalue()
    out = io.StringIO()
    assert main([*args, "--golden", str(golden)], out=out) == 0
    assert "no plan changes (1 profiles)" in out.getvalue()
    content = files.read("plan.yaml")
    files.write(
        "plan.yaml",
        content.replace('nl: "Werken en leren met BBL"', 'nl: "Leren en werken met BBL"'),
    )
    out = io.StringIO()
    assert main([*args, "--golden", str(golden)], out=out) == EXIT_PLANS_CHANGED
    text = out.getvalue()
    assert "1 of 1 plans change" in text and "-3. [learn/bbl] Werken en leren met BBL" in text
    assert "+3. [learn/bbl] Leren en werken met BBL" in text


def test_a_broken_corpus_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "profiles.json"
    path.write_text("[1, 2]", encoding="utf-8")
    assert main(["replay", "--corpus", str(path), "--golden", str(GOLDEN_FILE)]) == 2
    assert "needs a list under 'profiles'" in capsys.readouterr().err
