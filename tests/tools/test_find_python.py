"""tools/find-python.sh finds an interpreter on PATH or in pyenv, or says what to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "find-python.sh"


def run(*versions: str, path: str, pyenv_root: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": path, "PYENV_ROOT": str(pyenv_root), "HOME": str(pyenv_root)}
    return subprocess.run(
        ["/bin/bash", str(SCRIPT), *versions], env=env, capture_output=True, text=True, timeout=30
    )


def test_finds_the_running_interpreter_in_a_pyenv_layout(tmp_path: Path) -> None:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    bin_dir = tmp_path / "versions" / f"{version}.99" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    result = run("3.99", version, path="/usr/bin:/bin", pyenv_root=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(bin_dir / "python")


def test_finds_one_on_path(tmp_path: Path) -> None:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / f"python{version}").symlink_to(sys.executable)
    result = run(version, path=f"{bin_dir}{os.pathsep}/usr/bin:/bin", pyenv_root=tmp_path / "none")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(bin_dir / f"python{version}")


def test_missing_interpreter_gets_one_sentence_saying_what_to_install(tmp_path: Path) -> None:
    result = run("3.97", path="/usr/bin:/bin", pyenv_root=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "3.97" in lines[0] and "install" in lines[0]
