"""The whole assistant as processes, for tests: action server, engine and web app.

Started the way `make run` starts them (tools/assistant.py), on free loopback ports, with
a catalogue database loaded by `python -m catalogue load`, the app database and the tracker
store in temporary SQLite files (or the URLs given), and the trained model from models/.
`tests/conftest.py` has a session-wide `stack` fixture; a test that needs other settings
(a channel's fake API, say) starts its own with `start_stack(...)`.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import Settings, load_settings
from tools import assistant

ROOT = Path(__file__).resolve().parents[1]
API_TOKEN = "integration-test-token"
REQUEST_TIMEOUT = 60.0
# The engine starts in ~40 s on an idle 2-core machine, but took up to 7.5 min while other
# heavy processes shared the cores: tests wait longer than `make run` does.
STARTUP_TIMEOUT_SECONDS = 600.0


def texts(replies: list[dict[str, Any]]) -> list[str]:
    """The text of each reply that has one (buttons and payloads left out)."""
    return [reply["text"] for reply in replies if "text" in reply]


def dutch_responses() -> dict[str, dict[str, Any]]:
    """The Dutch (default) variant of every response in domain.yml."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return {
        name: next(v for v in variants if not v.get("condition"))
        for name, variants in domain["responses"].items()
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Stack:
    settings: Settings
    env: dict[str, str]
    folder: Path
    logs: dict[str, Path] = field(default_factory=dict)

    @property
    def engine_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.web_port}"

    @property
    def tracker_db(self) -> Path:
        return Path(self.settings.tracker_database_url.removeprefix("sqlite:///"))

    def say(self, sender: str, message: str) -> list[dict[str, Any]]:
        """One message over the REST channel; the bot's replies."""
        body = json.dumps({"sender": sender, "message": message}).encode()
        request = urllib.request.Request(
            f"{self.engine_url}/webhooks/rest/webhook",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as answer:
            replies: list[dict[str, Any]] = json.load(answer)
        return replies

    def tracker(self, sender: str) -> dict[str, Any]:
        """The tracker from the engine's HTTP API (loopback, test token)."""
        url = f"{self.engine_url}/conversations/{sender}/tracker?token={API_TOKEN}"
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT) as answer:
            tracker: dict[str, Any] = json.load(answer)
        return tracker

    def diagnostics(self) -> str:
        return "\n".join(f"--- {name}\n{tail(path)}" for name, path in self.logs.items())


@contextlib.contextmanager
def start_stack(folder: Path, extra_env: Mapping[str, str] | None = None) -> Iterator[Stack]:
    if not assistant.MODEL.exists():
        pytest.fail(f"no trained model at {assistant.MODEL}: run `make train` (or `make pytest`)")
    ports: set[int] = set()
    while len(ports) < 3:
        ports.add(free_port())
    rasa_port, action_port, web_port = sorted(ports)
    variables = {
        "ZIJWIJZER_DATABASE_URL": f"sqlite:///{folder / 'zijwijzer.db'}",
        "ZIJWIJZER_TRACKER_DATABASE_URL": f"sqlite:///{folder / 'trackers.db'}",
        "ZIJWIJZER_RASA_PORT": str(rasa_port),
        "ZIJWIJZER_ACTION_PORT": str(action_port),
        "ZIJWIJZER_WEB_PORT": str(web_port),
        "ZIJWIJZER_ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        "ZIJWIJZER_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        "ZIJWIJZER_CHAT_URL": f"http://127.0.0.1:{rasa_port}",
        "ZIJWIJZER_ALLOWED_ORIGINS": f"http://127.0.0.1:{web_port},http://localhost:{web_port}",
        "ZIJWIJZER_SECRET_KEY": "test-secret-key-that-is-long-enough-for-hmac",
        "RASA_TELEMETRY_ENABLED": "false",
        **(extra_env or {}),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in variables.items():
            patch.setenv(name, value)
        settings = load_settings()
        env = dict(os.environ)

    load = subprocess.run(
        [str(assistant.PYTHON), "-m", "catalogue", "load"],
        cwd=ROOT,
        env=env,
        timeout=120,
        capture_output=True,
        text=True,
    )
    assert load.returncode == 0, f"catalogue load failed:\n{load.stdout}\n{load.stderr}"

    stack = Stack(settings, env, folder)
    stack.logs = {name: folder / f"{name}.log" for name in ("actions", "engine", "web")}
    print(f"logs: {' '.join(str(p) for p in stack.logs.values())}")
    with contextlib.ExitStack() as files:
        out = {name: files.enter_context(path.open("wb")) for name, path in stack.logs.items()}
        processes: list[assistant.Process] = []
        try:
            processes.append(assistant.start_action_server(settings, env, output=out["actions"]))
            processes.append(
                assistant.start_engine(
                    settings,
                    env,
                    api_token=API_TOKEN,
                    workdir=folder / "rasa",
                    output=out["engine"],
                )
            )
            processes.append(assistant.start_web(settings, env, output=out["web"]))
            try:
                assistant.wait_ready(processes, timeout=STARTUP_TIMEOUT_SECONDS)
            except (RuntimeError, TimeoutError) as error:
                pytest.fail(f"{error}\n{stack.diagnostics()}")
            yield stack
        finally:
            assistant.stop(processes)
