"""Runs a snippet in the engine's runtime (.venv-rasa, Python 3.10), the way the engine runs.

No project on the path (our `catalogue` would hide spaCy's), only bot/engine and bot/common
through the plugin folder when `with_bot`; skips the test when .venv-rasa is missing.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tools.assistant import RASA_PYTHON, plugin_path


def run_in_engine_runtime(
    code: str, *args: str, cwd: Path, with_bot: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    if not RASA_PYTHON.exists():
        pytest.skip(".venv-rasa is missing (make setup)")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if with_bot:
        env["PYTHONPATH"] = str(plugin_path())
    return subprocess.run(
        [str(RASA_PYTHON), "-c", code, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
