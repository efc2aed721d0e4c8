"""The whole assistant as processes, for tests: action server, engine and web app.

Started the way `make run` starts them (tools/assistant.py), on free loopback ports, with
a catalogue database loaded by `python -m catalogue load`, the app database and the tracker
store in temporary SQLite files (or the URLs given), and the trained model from models/.
`tests/conftest.py` has two session-wide stacks, each started once (an engine costs 40-60 s):
- `stack`: default settings, the HTTP API on with a random JWT secret (tests read trackers
  through it) and widget limits no test reaches;
- `strict_stack`: the recruiter channels against a fake API, the HTTP API off, low widget
  limits and a proxy's client-address header (STRICT_ENV), for the refusal tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.common.settings import Settings, load_settings
from tests.channels import fake_botframework, fake_meta
from tools import assistant

ROOT = Path(__file__).resolve().parents[1]
REQUEST_TIMEOUT = 60.0
SECRET_KEY = "test-secret-key-that-is-long-enough-for-hmac"
# A key "from before a rotation": widget tokens signed with it still work.
PREVIOUS_SECRET_KEY = "test-previous-secret-key-from-before-a-rotation"
# Generous widget limits for the shared `stack`: many tests talk to it from 127.0.0.1.
GENEROUS_LIMITS = {
    "ZIJWIJZER_WIDGET_MESSAGES_PER_MINUTE": "100000",
    "ZIJWIJZER_WIDGET_MESSAGES_PER_MINUTE_PER_ADDRESS": "100000",
    "ZIJWIJZER_WIDGET_CONVERSATIONS_PER_HOUR_PER_ADDRESS": "100000",
}
# The recruiter channels of the strict stack (tests/channels/test_recruiter_channels.py).
TELEGRAM_TOKEN = "123456:TEST-token"
TELEGRAM_SECRET = "telegram-test-secret_1"
SLACK_TOKEN = "xoxb-test-token"
SLACK_SECRET = "slack-test-signing-secret"
# The header a proxy would set; tests give each client its own (documentation) address.
CLIENT_ADDRESS_HEADER = "X-Real-IP"
STRICT_LIMITS = {
    "ZIJWIJZER_WIDGET_MESSAGES_PER_MINUTE": 3,
    "ZIJWIJZER_WIDGET_MESSAGES_PER_MINUTE_PER_ADDRESS": 6,
    "ZIJWIJZER_WIDGET_CONVERSATIONS_PER_HOUR_PER_ADDRESS": 3,
}


def strict_env(fake_api_url: str, graph_api_url: str, bot_framework_url: str) -> dict[str, str]:
    """The strict stack's settings: API off, low limits, a proxy header, recruiter channels
    (Telegram and Slack against `fake_api_url`, WhatsApp against the fake Graph API, Teams
    against the fake Bot Framework), their replies retried after a fraction of a second."""
    return {
        "ZIJWIJZER_ENGINE_API_JWT_SECRET": "",  # the HTTP API off, as by default
        **{name: str(value) for name, value in STRICT_LIMITS.items()},
        # Sanic reads SANIC_* into its configuration: the client address comes from here.
        "SANIC_REAL_IP_HEADER": CLIENT_ADDRESS_HEADER,
        "ZIJWIJZER_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "ZIJWIJZER_TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "ZIJWIJZER_TELEGRAM_API_URL": fake_api_url,
        "ZIJWIJZER_SLACK_TOKEN": SLACK_TOKEN,
        "ZIJWIJZER_SLACK_SIGNING_SECRET": SLACK_SECRET,
        "ZIJWIJZER_SLACK_API_URL": f"{fake_api_url}/api/",
        "ZIJWIJZER_WHATSAPP_ACCESS_TOKEN": fake_meta.ACCESS_TOKEN,
        "ZIJWIJZER_WHATSAPP_APP_SECRET": fake_meta.APP_SECRET,
        "ZIJWIJZER_WHATSAPP_VERIFY_TOKEN": fake_meta.VERIFY_TOKEN,
        "ZIJWIJZER_WHATSAPP_PHONE_NUMBER_ID": fake_meta.PHONE_NUMBER_ID,
        "ZIJWIJZER_WHATSAPP_API_URL": f"{graph_api_url}/{fake_meta.VERSION}",
        "ZIJWIJZER_TEAMS_APP_ID": fake_botframework.APP_ID,
        "ZIJWIJZER_TEAMS_APP_PASSWORD": fake_botframework.APP_PASSWORD,
        "ZIJWIJZER_TEAMS_TOKEN_URL": bot_framework_url + fake_botframework.TOKEN_PATH,
        "ZIJWIJZER_TEAMS_OPENID_METADATA_URL": bot_framework_url + fake_botframework.METADATA_PATH,
        "ZIJWIJZER_TEAMS_ISSUER": fake_botframework.ISSUER,
        "ZIJWIJZER_TEAMS_SERVICE_URLS": bot_framework_url,
        "ZIJWIJZER_CHANNEL_RETRY_SECONDS": "0.3",
    }


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
    # The running processes (action server, engine, web app), stopped with the stack; a test
    # that restarts one appends the new one here.
    processes: list[assistant.Process] = field(default_factory=list)

    @property
    def engine_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.web_port}"

    @property
    def tracker_db(self) -> Path:
        return Path(self.settings.tracker_database_url.removeprefix("sqlite:///"))

    @property
    def rest_headers(self) -> dict[str, str]:
        """What the REST channel wants: its key (bot/engine/channels/rest.py)."""
        return {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.settings.rest_api_key}",
        }

    def api_headers(self) -> dict[str, str]:
        """A fresh JWT for the engine's HTTP API (on in the default `stack` only)."""
        secret = self.settings.engine_api_jwt_secret
        assert secret, "this stack runs without the HTTP API"
        return {"Authorization": f"Bearer {assistant.api_jwt(secret, username='tests')}"}

    def say(self, sender: str, message: str) -> list[dict[str, Any]]:
        """One message over the REST channel; the bot's replies."""
        body = json.dumps({"sender": sender, "message": message}).encode()
        request = urllib.request.Request(
            f"{self.engine_url}/webhooks/rest/webhook", data=body, headers=self.rest_headers
        )
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as answer:
            replies: list[dict[str, Any]] = json.load(answer)
        return replies

    def tracker(self, sender: str) -> dict[str, Any]:
        """The tracker from the engine's HTTP API (loopback, JWT in the header)."""
        request = urllib.request.Request(
            f"{self.engine_url}/conversations/{sender}/tracker", headers=self.api_headers()
        )
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as answer:
            tracker: dict[str, Any] = json.load(answer)
        return tracker

    def diagnostics(self) -> str:
        return "\n".join(f"--- {name}\n{tail(path)}" for name, path in self.logs.items())


PRIVACY_URL = "https://werkgever.example/privacy"


def trained_model() -> Path:
    """The trained model. Without one the integration tests fail, never skip: `make pytest`
    trains first, so a missing model is a broken setup, not an optional part."""
    if not assistant.MODEL.exists():
        pytest.fail(f"no trained model at {assistant.MODEL}: run `make train` (or `make pytest`)")
    return assistant.MODEL


@contextlib.contextmanager
def start_stack(folder: Path, extra_env: Mapping[str, str] | None = None) -> Iterator[Stack]:
    trained_model()
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
        "ZIJWIJZER_SECRET_KEY": SECRET_KEY,
        # Derived from the secret key (bot/common/settings.py), whatever the developer's shell says.
        "ZIJWIJZER_REST_API_KEY": "",
        "ZIJWIJZER_PREVIOUS_SECRET_KEYS": PREVIOUS_SECRET_KEY,
        "ZIJWIJZER_REDIS_URL": "",
        "ZIJWIJZER_ENGINE_MAX_BODY_BYTES": "",
        # The HTTP API on, JWT only, with a secret nobody else knows.
        "ZIJWIJZER_ENGINE_API_JWT_SECRET": secrets.token_urlsafe(32),
        # The deploying organisation's privacy statement, linked from the widget's notice.
        "ZIJWIJZER_PRIVACY_URL": PRIVACY_URL,
        **GENEROUS_LIMITS,
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
        processes: list[assistant.Process] = stack.processes
        try:
            processes.append(assistant.start_action_server(settings, env, output=out["actions"]))
            processes.append(
                assistant.start_engine(
                    settings,
                    env,
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


def unread_at(port: int) -> bool:
    """Whether a request waits unread at local TCP `port` (Linux, /proc/net/tcp): a connection
    not yet accepted, or bytes not yet read, as when the server there is paused (SIGSTOP)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text(encoding="ascii").splitlines()[1:]:
                fields = line.split()
                local, queues = fields[1], fields[4]
                if int(local.rpartition(":")[2], 16) == port and int(queues.split(":")[1], 16):
                    return True
    return False


def wait_for_unread_request(port: int, timeout: float = 30) -> None:
    """Until a request waits at the paused server on `port` (a bounded poll)."""
    deadline = time.monotonic() + timeout
    while not unread_at(port):
        if time.monotonic() > deadline:
            pytest.fail(f"no request reached port {port} within {timeout:.0f} s")
        time.sleep(0.02)
