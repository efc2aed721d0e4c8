"""The end-to-end test stories in tests/e2e/, run by `rasa test core` against the trained model.

Rasa runs the way make/assistant.mk runs it: from .venv-rasa, without PYTHONPATH, in the empty
directory build/rasa, with absolute paths (our `catalogue` package would hide spaCy's). The
policies and the NLU model are tested turn by turn (intents, entities, next actions); the
custom actions themselves are covered by tests/actions and tests/integration.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.stack import trained_model

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
STORIES = ROOT / "tests" / "e2e"
OUT = ROOT / "build" / "e2e"
MIN_STORIES = 40
TIMEOUT = 900


def story_count() -> int:
    total = 0
    for path in STORIES.glob("*.yml"):
        total += len(yaml.safe_load(path.read_text(encoding="utf-8")).get("stories", []))
    return total


def test_e2e_stories_pass() -> None:
    model = trained_model()
    assert story_count() >= MIN_STORIES
    workdir = ROOT / "build" / "rasa"
    workdir.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update({"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"})
    run = subprocess.run(
        [
            str(RASA),
            "test",
            "core",
            "--stories",
            str(STORIES),
            "--model",
            str(model),
            "--out",
            str(OUT),
            "--fail-on-prediction-errors",
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    log = run.stdout + run.stderr
    (OUT / "rasa-test.log").write_text(log, encoding="utf-8")
    failed = OUT / "failed_test_stories.yml"
    details = failed.read_text(encoding="utf-8")[-6000:] if failed.exists() else log[-4000:]
    assert run.returncode == 0, f"rasa test core failed (log: {OUT / 'rasa-test.log'}):\n{details}"
    match = re.search(r"Correct:\s+(\d+)\s*/\s*(\d+)", log)
    assert match, f"no story count in the output:\n{log[-3000:]}"
    correct, total = int(match.group(1)), int(match.group(2))
    assert total >= MIN_STORIES
    assert correct == total, details
