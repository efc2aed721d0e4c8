"""The exports read back by Rasa 3.6 itself (in .venv-rasa), not only by a YAML parser."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.app.console.exports import nlu_yaml, stories_yaml, story_steps
from tests.console.seed import Plan, conversation
from tests.engine_runtime import run_in_engine_runtime

ROOT = Path(__file__).resolve().parents[2]


def test_nlu_yaml_with_awkward_texts() -> None:
    text = nlu_yaml(
        [
            ("inform", "ik ben 38: #geen 'diploma' \"echt\""),
            ("inform", "regel een\nregel twee"),
            ("greet", "- hoi"),
            ("inform", "ik ben 38: #geen 'diploma' \"echt\""),
        ]
    )
    document = yaml.safe_load(text)
    assert document["version"] == "3.1"
    examples = {block["intent"]: block["examples"] for block in document["nlu"]}
    assert examples["inform"].splitlines() == [
        "- ik ben 38: #geen 'diploma' \"echt\"",
        "- regel een regel twee",
    ]
    assert examples["greet"].splitlines() == ["- - hoi"]
    assert yaml.safe_load(nlu_yaml([]))["nlu"] == []


def test_rasa_reads_the_exports(tmp_path: Path) -> None:
    plans = [
        Plan("a", 1.79e9, "handoff", "rest", "en", 2),
        Plan("b", 1.79e9, "abandoned", "widget", "nl", 1, stop_at="sector"),
    ]
    stories = tmp_path / "stories.yml"
    stories.write_text(
        stories_yaml(
            (f"conversation {n}", story_steps(list(enumerate(conversation(plan), 1))))
            for n, plan in enumerate(plans)
        ),
        encoding="utf-8",
    )
    nlu = tmp_path / "nlu.yml"
    nlu.write_text(nlu_yaml([("inform", "ik ben 38"), ("greet", "hoi: daar")]), encoding="utf-8")
    # The engine's runtime, outside the repository (our `catalogue` would shadow spaCy's).
    done = run_in_engine_runtime(
        "read_exports.py", str(ROOT / "domain.yml"), str(stories), str(nlu), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    count, events, examples = map(int, done.stdout.split()[-3:])
    assert count == 2 and events > 50 and examples == 2
