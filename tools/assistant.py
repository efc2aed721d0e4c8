"""Starts the assistant: the action server (.venv) and the Rasa engine (.venv-rasa).

`make run` runs this in the foreground; Ctrl-C stops both. The integration test uses the
same functions, so it starts the processes exactly the way `make run` does.

Settings come from bot/common/settings.py (environment variables with defaults); the variables
endpoints.yml reads are set here from those settings, so no default is written twice.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bot` importable
    sys.path.insert(0, str(ROOT))

# Read by bot/engine/main.py inside the engine, which turns it into Rasa's JWT arguments.
from bot.common import logs  # noqa: E402
from bot.common.settings import REST_CHANNEL_OFF, Settings, load_settings  # noqa: E402
from bot.engine.main import JWT_SECRET_ENV as ENGINE_API_JWT_SECRET_ENV  # noqa: E402

PYTHON = ROOT / ".venv" / "bin" / "python"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
MODEL = ROOT / "models" / "zijwijzer.tar.gz"
ENGINE_WORKDIR = ROOT / "var" / "rasa"
# Our Rasa plugins (channels, tracker store) live in bot/engine, with bot/common beside them;
# the engine sees them through a folder that holds only links to those two (and bot's
# __init__.py), never the project root, whose `catalogue` package would hide spaCy's dependency
# of the same name, nor bot/app.
PLUGIN_PATH = ROOT / "build" / "rasa-plugins"
ENGINE_PACKAGES = ("__init__.py", "engine", "common")
# Cold start of the engine is about 30 s on a 2-core machine (engineering notes).
READY_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 15.0


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    # None: no HTTP endpoint (the handoff worker); ready as soon as it runs.
    ready_url: str | None
    # Sent with the readiness request (a JWT for an HTTP API); never a token in the URL.
    ready_headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Launch:
    """How a process of the assistant is started: what `start_*` run, and what the production
    shape's supervisor (tools/prod.py) runs for the same process."""

    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str]
    ready_url: str | None


def spawn(launch: Launch, output: IO[bytes] | None = None) -> Process:
    popen = subprocess.Popen(
        launch.command,
        cwd=launch.cwd,
        env=launch.env,
        stdout=output,
        stderr=subprocess.STDOUT if output else None,
        start_new_session=True,  # its own process group: stopped as a whole
    )
    return Process(launch.name, popen, launch.ready_url)


SQLITE = "sqlite:///"


def endpoint_env(settings: Settings) -> dict[str, str]:
    """The variables endpoints.yml reads, from the settings."""
    return {
        "ZIJWIJZER_ACTION_SERVER_URL": settings.action_server_url,
        "ZIJWIJZER_TRACKER_DATABASE_URL": _absolute_sqlite(settings.tracker_database_url),
    }


def channel_env(settings: Settings) -> dict[str, str]:
    """The variables credentials.yml reads for the recruiter channels.

    Always all of them, empty when not configured: Rasa refuses a credentials file naming an
    unset variable, and an empty token switches that channel off (bot/engine/channels/).
    """
    return {
        "ZIJWIJZER_TELEGRAM_TOKEN": settings.telegram_token,
        "ZIJWIJZER_TELEGRAM_WEBHOOK_SECRET": settings.telegram_webhook_secret,
        "ZIJWIJZER_TELEGRAM_WEBHOOK_URL": settings.telegram_webhook_url,
        "ZIJWIJZER_TELEGRAM_API_URL": settings.telegram_api_url,
        "ZIJWIJZER_SLACK_TOKEN": settings.slack_token,
        "ZIJWIJZER_SLACK_SIGNING_SECRET": settings.slack_signing_secret,
        "ZIJWIJZER_SLACK_API_URL": settings.slack_api_url,
        "ZIJWIJZER_WHATSAPP_ACCESS_TOKEN": settings.whatsapp_access_token,
        "ZIJWIJZER_WHATSAPP_APP_SECRET": settings.whatsapp_app_secret,
        "ZIJWIJZER_WHATSAPP_VERIFY_TOKEN": settings.whatsapp_verify_token,
        "ZIJWIJZER_WHATSAPP_PHONE_NUMBER_ID": settings.whatsapp_phone_number_id,
        "ZIJWIJZER_WHATSAPP_API_URL": settings.whatsapp_api_url,
        "ZIJWIJZER_TEAMS_APP_ID": settings.teams_app_id,
        "ZIJWIJZER_TEAMS_APP_PASSWORD": settings.teams_app_password,
        "ZIJWIJZER_TEAMS_TOKEN_URL": settings.teams_token_url,
        "ZIJWIJZER_TEAMS_OPENID_METADATA_URL": settings.teams_openid_metadata_url,
        "ZIJWIJZER_TEAMS_ISSUER": settings.teams_issuer,
        "ZIJWIJZER_TEAMS_SERVICE_URLS": ",".join(settings.teams_service_urls),
    }


def guard_env(settings: Settings) -> dict[str, str]:
    """The engine's guards, from the settings (bot/engine/channels/ reads them in the engine).

    Set explicitly, so a caller's changed Settings (bench, tests) is what the engine gets.
    Sanic reads SANIC_* variables into its configuration: REQUEST_MAX_SIZE bounds every body.
    """
    return {
        "ZIJWIJZER_REST_API_KEY": settings.rest_api_key or REST_CHANNEL_OFF,
        "ZIJWIJZER_PREVIOUS_SECRET_KEYS": ",".join(settings.previous_secret_keys),
        "ZIJWIJZER_WIDGET_MESSAGES_PER_MINUTE": str(settings.widget_messages_per_minute),
        "ZIJWIJZER_WIDGET_MESSAGES_PER_MINUTE_PER_ADDRESS": str(
            settings.widget_messages_per_minute_per_address
        ),
        "ZIJWIJZER_WIDGET_CONVERSATIONS_PER_HOUR_PER_ADDRESS": str(
            settings.widget_conversations_per_hour_per_address
        ),
        "ZIJWIJZER_REDIS_URL": settings.redis_url,
        "SANIC_REQUEST_MAX_SIZE": str(settings.engine_max_body_bytes),
    }


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def api_jwt(
    secret: str, *, username: str = "zijwijzer", ttl_seconds: int = 3600, now: float | None = None
) -> str:
    """An HS256 JWT for Rasa's HTTP API (send as `Authorization: Bearer ...`).

    Rasa 3.6 (rasa/server.py, requires_auth) reads {"user": {"username", "role"}}: role
    "admin" may use every endpoint, role "user" only the conversation named like it.
    """
    issued = int(time.time() if now is None else now)
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {
        "user": {"username": username, "role": "admin"},
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)
    )
    signature = hmac.new(secret.encode(), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def _absolute_sqlite(url: str) -> str:
    # The engine runs in ENGINE_WORKDIR: a relative SQLite path means the repository root.
    path = url.removeprefix(SQLITE)
    if url.startswith(SQLITE) and path and not path.startswith(("/", ":")):
        return SQLITE + str(ROOT / path)
    return url


def _sqlite_parent(url: str) -> None:
    # SQLite creates the file but not its directory (var/ on a fresh checkout).
    url = _absolute_sqlite(url)
    if url.startswith(SQLITE) and len(url) > len(SQLITE):
        Path(url.removeprefix(SQLITE)).parent.mkdir(parents=True, exist_ok=True)


def log_env(settings: Settings) -> dict[str, str]:
    """The log settings a child process reads (bot/common/logs.py), from `settings`."""
    return {"ZIJWIJZER_LOG_FORMAT": settings.log_format, "ZIJWIJZER_LOG_LEVEL": settings.log_level}


def _engine_log_arguments(settings: Settings, workdir: Path) -> list[str]:
    """JSON logs for the engine: Rasa's `--logging-config-file` with our formatter
    (bot/common/logs.py, written next to the engine's working directory), and structlog's JSON
    renderer for Rasa's own events. Text: Rasa's usual coloured lines, no file."""
    if settings.log_format != logs.JSON:
        return []
    path = logs.write_config_file(
        workdir / "logging.json", logs.ENGINE, settings.log_level, settings.log_format
    )
    return ["--logging-config-file", str(path)]


def _sdk_log_flags(level: str) -> list[str]:
    # rasa-sdk takes its log level from flags only.
    if level == "DEBUG":
        return ["--debug"]
    if level in ("WARNING", "ERROR", "CRITICAL"):
        return ["--quiet"]
    return ["--verbose"]


def action_server_launch(settings: Settings, env: Mapping[str, str]) -> Launch:
    """rasa-sdk's action server as `python -m bot.app.action_server` (bot/app/action_server.py): the
    SDK's command line and routes (/health, /actions, /webhook) plus /metrics, /ready and
    our log format. `/health` is the readiness wait here: /ready needs a loaded catalogue."""
    # `-m` with cwd=ROOT puts the project first on sys.path, so `actions` imports.
    # Loopback only; rasa-sdk reads its interface from SANIC_HOST.
    child_env = {**env, "SANIC_HOST": "127.0.0.1", **log_env(settings)}
    command = [str(PYTHON), "-m", "bot.app.action_server", "--actions", "actions"]
    command += ["--port", str(settings.action_port), *_sdk_log_flags(settings.log_level)]
    ready = f"http://127.0.0.1:{settings.action_port}/health"
    return Launch("action server", command, ROOT, child_env, ready)


def start_action_server(
    settings: Settings, env: Mapping[str, str], output: IO[bytes] | None = None
) -> Process:
    return spawn(action_server_launch(settings, env), output)


def start_engine(
    settings: Settings,
    env: Mapping[str, str],
    *,
    model: Path = MODEL,
    workdir: Path = ENGINE_WORKDIR,
    output: IO[bytes] | None = None,
    endpoints: Path = ROOT / "endpoints.yml",
) -> Process:
    launch = engine_launch(settings, env, model=model, workdir=workdir, endpoints=endpoints)
    return spawn(launch, output)


def engine_launch(
    settings: Settings,
    env: Mapping[str, str],
    *,
    model: Path = MODEL,
    workdir: Path = ENGINE_WORKDIR,
    endpoints: Path = ROOT / "endpoints.yml",
) -> Launch:
    """Starts `rasa run` with the channels of credentials.yml; the HTTP API only when
    settings.engine_api_jwt_secret is set, then with JWTs only. Started as
    `python -m bot.engine run ...` (bot/engine/main.py), which adds the secret to Rasa's arguments
    inside the process: no secret on a command line that `ps` shows.

    The widget channel's GET /webhooks/widget/ answers 200 only once the model is loaded
    (Rasa keeps running and says "up and running" when loading fails), so it is the
    readiness check, with or without the API.
    """
    _sqlite_parent(settings.tracker_database_url)
    # The project's `catalogue` package would hide spaCy's `catalogue`: only the plugin
    # folder on PYTHONPATH, and a working directory without the project (rasa puts its
    # working directory on sys.path).
    workdir.mkdir(parents=True, exist_ok=True)
    child_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    child_env["PYTHONPATH"] = str(plugin_path())
    child_env["ZIJWIJZER_SECRET_KEY"] = settings.secret_key
    child_env.update(endpoint_env(settings))
    child_env.update(channel_env(settings))
    child_env.update(guard_env(settings))
    child_env[ENGINE_API_JWT_SECRET_ENV] = settings.engine_api_jwt_secret  # empty: API off
    child_env["LOG_LEVEL"] = settings.log_level  # Rasa's own variable
    child_env.update(log_env(settings))
    if settings.log_format == logs.JSON:
        child_env["FORCE_JSON_LOGGING"] = "true"  # Rasa's structlog events as JSON, tty or not
        # TensorFlow's C++ side prints its info and warning lines straight to stderr, not JSON.
        # (Python's deprecation notices while Rasa is imported stay: Sanic 21 shows each once,
        # whatever PYTHONWARNINGS says.)
        child_env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    # Also when started outside make: no telemetry, no error reports sent to Sentry.
    child_env["RASA_TELEMETRY_ENABLED"] = "false"
    command = [
        str(RASA_PYTHON),
        "-m",
        "bot.engine",
        "run",
        "--model",
        str(model),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(ROOT / "credentials.yml"),
        "--interface",
        "127.0.0.1",
        "--port",
        str(settings.rasa_port),
        *_engine_log_arguments(settings, workdir),
        "--cors",
        *settings.allowed_origins,
    ]
    ready = f"http://127.0.0.1:{settings.rasa_port}/webhooks/widget/"
    return Launch("Rasa engine", command, workdir, child_env, ready)


def plugin_path() -> Path:
    """The folder the engine gets as PYTHONPATH: a `bot` folder holding links to bot/engine and
    bot/common only, so the engine cannot import the app's code (bot/app) or the project's
    `catalogue`. An older checkout's link to the whole of bot/ is replaced."""
    package = PLUGIN_PATH / "bot"
    if package.is_symlink():
        package.unlink()
    package.mkdir(parents=True, exist_ok=True)
    for name in ENGINE_PACKAGES:
        link = package / name
        if not link.is_symlink():
            link.symlink_to(ROOT / "bot" / name, target_is_directory=name != "__init__.py")
    return PLUGIN_PATH


def web_launch(settings: Settings, env: Mapping[str, str]) -> Launch:
    """The web app (widget, advice pages, staff console) on loopback."""
    child_env = {**env, "PYTHONPATH": str(ROOT), "ZIJWIJZER_SECRET_KEY": settings.secret_key}
    ready = f"http://127.0.0.1:{settings.web_port}/ready"
    return Launch("web app", [str(PYTHON), "-m", "bot.app.web"], ROOT, child_env, ready)


def start_web(
    settings: Settings, env: Mapping[str, str], output: IO[bytes] | None = None
) -> Process:
    return spawn(web_launch(settings, env), output)


def handoff_worker_launch(settings: Settings, env: Mapping[str, str]) -> Launch:
    """The outbox worker that delivers handoff requests to ZIJWIJZER_HANDOFF_WEBHOOK_URL."""
    command = [str(PYTHON), "-m", "bot.app.handoff.worker"]
    return Launch("handoff worker", command, ROOT, {**env, "PYTHONPATH": str(ROOT)}, None)


def start_handoff_worker(
    settings: Settings, env: Mapping[str, str], output: IO[bytes] | None = None
) -> Process:
    return spawn(handoff_worker_launch(settings, env), output)


def wait_ready(processes: Sequence[Process], timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Returns when every process answers its readiness URL; raises when one dies or on timeout."""
    deadline = time.monotonic() + timeout
    waiting = list(processes)
    while waiting:
        for process in list(waiting):
            code = process.popen.poll()
            if code is not None:
                raise RuntimeError(f"the {process.name} stopped while starting (exit code {code})")
            if process.ready_url is None:
                waiting.remove(process)
                continue
            # Our own loopback http:// URLs only.
            headers = dict(process.ready_headers or {})
            request = urllib.request.Request(process.ready_url, headers=headers)  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        waiting.remove(process)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
        if waiting and time.monotonic() > deadline:
            names = ", ".join(p.name for p in waiting)
            raise TimeoutError(f"not ready after {timeout:.0f} s: {names}")
        if waiting:
            time.sleep(0.5)


def stop(processes: Sequence[Process], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """Stops each process group: SIGTERM, then SIGKILL for what is left after `timeout`."""
    for process in processes:
        if process.popen.poll() is None:
            _signal_group(process.popen, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        # Also the group: the SDK runs a worker next to its main process.
        _signal_group(process.popen, signal.SIGKILL)
        process.popen.wait()


def _signal_group(popen: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(popen.pid, sig)


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM (e.g. from a process manager) ends the same way as Ctrl-C.
    raise KeyboardInterrupt


def main() -> int:
    settings = load_settings()
    if not MODEL.exists():
        print(f"No trained model at {MODEL.relative_to(ROOT)}: run `make train` first.")
        return 1
    env = dict(os.environ)
    processes = [
        start_action_server(settings, env),
        start_engine(settings, env),
        start_web(settings, env),
        start_handoff_worker(settings, env),
    ]
    signal.signal(signal.SIGINT, _interrupt)  # also when started with SIGINT ignored (nohup, &)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        wait_ready(processes)
        print(
            f"Zijwijzer is running. Demo page with the widget: {settings.public_url}/ ; "
            f"staff console: {settings.public_url}/console ; chat in the terminal with "
            f"`make chat`. Stop with Ctrl-C.",
            flush=True,
        )
        while all(p.popen.poll() is None for p in processes):
            time.sleep(0.5)
        dead = next(p for p in processes if p.popen.poll() is not None)
        print(f"The {dead.name} stopped (exit code {dead.popen.returncode}); stopping the rest.")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
