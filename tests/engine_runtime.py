"""Runs a script of tests/engine in the engine's runtime (.venv-rasa, Python 3.10), for a test
in .venv whose input is app code (e.g. the console's exports, read back by Rasa).

No project on the path (our `catalogue` would hide spaCy's); skips the test when .venv-rasa is
missing. Tests of engine code alone are tests/engine's, run in that runtime directly.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tools.assistant import RASA_PYTHON

ENGINE_TESTS = Path(__file__).resolve().parent / "engine"


def run_in_engine_runtime(
    script: str, *args: str, cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Runs tests/engine/`script` with `args`."""
    if not RASA_PYTHON.exists():
        pytest.skip(".venv-rasa is missing (make setup)")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(
        [str(RASA_PYTHON), str(ENGINE_TESTS / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
