"""`make prod`: the production shape on one machine, all on loopback.

    HAProxy :ZIJWIJZER_PROD_PORT (8080)  /webhooks/... -> Rasa engine 1, Rasa engine 2
                                         the rest      -> web app (widget, pages, console)
    HAProxy :ZIJWIJZER_PROD_ACTIONS_PORT (5050), for the engines -> action servers 1 and 2
    handoff worker; PostgreSQL (trackers and app database); Redis (conversation locks, limits)

The processes are started exactly as `make run` starts them (tools/assistant.py), each with its
own ports; HAProxy reads deploy/haproxy.cfg, whose addresses come from environment variables set
here. Ctrl-C or SIGTERM stops everything. tests/prod/ starts the same shape through ProdStack.

Settings (environment variables; the ZIJWIJZER_* ones of bot/settings.py apply to every process):
- ZIJWIJZER_PROD_PORT (8080): the one public entry point; ZIJWIJZER_PUBLIC_URL and
  ZIJWIJZER_CHAT_URL default to it (widget and engine on one origin), and so do the allowed
  origins.
- ZIJWIJZER_PROD_ENGINE_PORTS (5005,5006), ZIJWIJZER_PROD_ACTION_PORTS (5055,5056),
  ZIJWIJZER_PROD_ACTIONS_PORT (5050, the engines' way to the action servers),
  ZIJWIJZER_WEB_PORT (8000).
- ZIJWIJZER_DATABASE_URL, ZIJWIJZER_TRACKER_DATABASE_URL: the local PostgreSQL by default
  (DEFAULT_POSTGRES_URL); ZIJWIJZER_REDIS_URL: the local Redis by default (DEFAULT_REDIS_URL).
- ZIJWIJZER_PROD_LOG_DIR (var/prod): one log file per process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from unittest import mock
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bot` and `tools` importable
    sys.path.insert(0, str(ROOT))

from bot.settings import Settings, load_settings  # noqa: E402
from tools import assistant  # noqa: E402

HAPROXY = Path("/usr/sbin/haproxy")
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
DEFAULT_POSTGRES_URL = "postgresql+psycopg2://root@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_LOG_DIR = ROOT / "var" / "prod"
LOOPBACK = "127.0.0.1"
# Engines behind HAProxy: Sanic takes the client's address from the last X-Forwarded-For
# entry (HAProxy's), so per-address widget limits count people, not the proxy.
PROXY_ENV = {"SANIC_PROXIES_COUNT": "1"}


def _ports(environ: Mapping[str, str], name: str, default: str, count: int) -> tuple[int, ...]:
    raw = environ.get(name, "").strip() or default
    try:
        ports = tuple(int(part) for part in raw.split(","))
    except ValueError as error:
        raise ValueError(f"{name} must be {count} port numbers, comma-separated") from error
    if len(ports) != count:
        raise ValueError(f"{name} must be {count} port numbers, comma-separated, got {raw!r}")
    return ports


@dataclass(frozen=True)
class Ports:
    public: int
    engines: tuple[int, int]
    actions: tuple[int, int]
    actions_balancer: int
    web: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Ports:
        engines = _ports(environ, "ZIJWIJZER_PROD_ENGINE_PORTS", "5005,5006", 2)
        actions = _ports(environ, "ZIJWIJZER_PROD_ACTION_PORTS", "5055,5056", 2)
        return cls(
            public=_ports(environ, "ZIJWIJZER_PROD_PORT", "8080", 1)[0],
            engines=(engines[0], engines[1]),
            actions=(actions[0], actions[1]),
            actions_balancer=_ports(environ, "ZIJWIJZER_PROD_ACTIONS_PORT", "5050", 1)[0],
            web=_ports(environ, "ZIJWIJZER_WEB_PORT", "8000", 1)[0],
        )

    @property
    def public_url(self) -> str:
        return f"http://{LOOPBACK}:{self.public}"


def _unset(environ: Mapping[str, str], name: str) -> bool:
    return not environ.get(name, "").strip()


def prod_env(environ: Mapping[str, str], ports: Ports) -> dict[str, str]:
    """The environment every process of the shape gets: the caller's, with the shape's
    defaults where a variable is unset, and the addresses the shape needs."""
    env = dict(environ)
    defaults = {
        "ZIJWIJZER_DATABASE_URL": DEFAULT_POSTGRES_URL,
        "ZIJWIJZER_TRACKER_DATABASE_URL": DEFAULT_POSTGRES_URL,
        "ZIJWIJZER_REDIS_URL": DEFAULT_REDIS_URL,
        # One origin for the widget, its pages and the engine: the load balancer's.
        "ZIJWIJZER_PUBLIC_URL": ports.public_url,
        "ZIJWIJZER_CHAT_URL": ports.public_url,
        "ZIJWIJZER_ALLOWED_ORIGINS": f"{ports.public_url},http://localhost:{ports.public}",
        **PROXY_ENV,
    }
    for name, value in defaults.items():
        if _unset(env, name):
            env[name] = value
    # The engines reach the action servers through HAProxy (health checks, retries).
    env["ZIJWIJZER_ACTION_SERVER_URL"] = f"http://{LOOPBACK}:{ports.actions_balancer}/webhook"
    env["ZIJWIJZER_WEB_PORT"] = str(ports.web)
    env["PYTHONPATH"] = str(ROOT)
    return env


def haproxy_env(ports: Ports) -> dict[str, str]:
    """The variables deploy/haproxy.cfg reads."""
    return {
        "ZIJWIJZER_PROD_BIND": f"{LOOPBACK}:{ports.public}",
        "ZIJWIJZER_PROD_ENGINE1": f"{LOOPBACK}:{ports.engines[0]}",
        "ZIJWIJZER_PROD_ENGINE2": f"{LOOPBACK}:{ports.engines[1]}",
        "ZIJWIJZER_PROD_WEB": f"{LOOPBACK}:{ports.web}",
        "ZIJWIJZER_PROD_ACTIONS_BIND": f"{LOOPBACK}:{ports.actions_balancer}",
        "ZIJWIJZER_PROD_ACTIONS1": f"{LOOPBACK}:{ports.actions[0]}",
        "ZIJWIJZER_PROD_ACTIONS2": f"{LOOPBACK}:{ports.actions[1]}",
    }


def settings_for(env: Mapping[str, str]) -> Settings:
    """The settings a process started with `env` reads (bot/settings.py)."""
    with mock.patch.dict(os.environ, env, clear=True):
        return load_settings()


def haproxy_binary() -> Path | None:
    found = HAPROXY if HAPROXY.exists() else None
    which = shutil.which("haproxy")
    return found or (Path(which) if which else None)


def redis_reachable(url: str, timeout: float = 2.0) -> bool:
    """A PING over a plain socket (the launcher's runtime has no Redis client)."""
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or LOOPBACK, parts.port or 6379), timeout=timeout
        ) as sock:
            sock.sendall(b"PING\r\n")
            answer = sock.recv(64)
    except OSError:
        return False
    # -NOAUTH (a password is set) still means it is there.
    return answer.startswith((b"+PONG", b"-NOAUTH"))


def load_catalogue(env: Mapping[str, str], output: IO[bytes] | None = None) -> None:
    """`python -m catalogue load` into the app database of `env` (idempotent)."""
    done = subprocess.run(
        [str(assistant.PYTHON), "-m", "catalogue", "load"],
        cwd=ROOT,
        env=dict(env),
        stdout=output if output else subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        text = done.stdout.decode("utf-8", "replace") if done.stdout else ""
        raise RuntimeError(f"loading the catalogue failed (exit code {done.returncode})\n{text}")


@dataclass
class ProdStack:
    """The processes of the shape, by key: actions1, actions2, engine1, engine2, web, handoff,
    haproxy. Each writes to log_dir/<key>.log."""

    env: dict[str, str]
    ports: Ports
    log_dir: Path
    processes: dict[str, assistant.Process] = field(default_factory=dict)
    _logs: dict[str, IO[bytes]] = field(default_factory=dict)

    def log(self, key: str) -> Path:
        return self.log_dir / f"{key}.log"

    def _output(self, key: str) -> IO[bytes]:
        if key not in self._logs:
            self._logs[key] = self.log(key).open("ab")
        return self._logs[key]

    def start(self, key: str) -> assistant.Process:
        """Starts one process of the shape (not waiting for it)."""
        kind, number = key.rstrip("12"), int(key[-1]) if key[-1] in "12" else 1
        out = self._output(key)
        if kind == "engine":
            env = {**self.env, "ZIJWIJZER_RASA_PORT": str(self.ports.engines[number - 1])}
            process = assistant.start_engine(
                settings_for(env), env, workdir=self.log_dir / f"rasa-{number}", output=out
            )
        elif kind == "actions":
            env = {**self.env, "ZIJWIJZER_ACTION_PORT": str(self.ports.actions[number - 1])}
            process = assistant.start_action_server(settings_for(env), env, output=out)
        elif kind == "web":
            process = assistant.start_web(settings_for(self.env), self.env, output=out)
        elif kind == "handoff":
            process = assistant.start_handoff_worker(settings_for(self.env), self.env, output=out)
        elif kind == "haproxy":
            process = start_haproxy(self.ports, self.env, out)
        else:
            raise ValueError(f"no process {key!r} in the production shape")
        process.name = f"{process.name} {number}" if key[-1] in "12" else process.name
        self.processes[key] = process
        return process

    def start_all(self, timeout: float = assistant.READY_TIMEOUT_SECONDS) -> None:
        """Starts everything; HAProxy last, once its servers are ready."""
        servers = ["actions1", "actions2", "engine1", "engine2", "web", "handoff"]
        assistant.wait_ready([self.start(key) for key in servers], timeout=timeout)
        assistant.wait_ready([self.start("haproxy")], timeout=30)

    def kill(self, key: str) -> None:
        """SIGKILL to the process (and its group): a crash, no goodbye."""
        popen = self.processes[key].popen
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)
        popen.wait()

    def restart(self, key: str, timeout: float = assistant.READY_TIMEOUT_SECONDS) -> None:
        old = self.processes.get(key)
        if old is not None and old.popen.poll() is None:
            assistant.stop([old])
        assistant.wait_ready([self.start(key)], timeout=timeout)

    def running(self, key: str) -> bool:
        process = self.processes.get(key)
        return process is not None and process.popen.poll() is None

    def stop(self) -> None:
        # HAProxy first: no new requests while the servers stop.
        order = ["haproxy", *[key for key in self.processes if key != "haproxy"]]
        assistant.stop([self.processes[key] for key in order if key in self.processes])
        for out in self._logs.values():
            out.close()
        self._logs.clear()


def start_haproxy(ports: Ports, env: Mapping[str, str], output: IO[bytes]) -> assistant.Process:
    binary = haproxy_binary()
    if binary is None:
        raise RuntimeError("HAProxy is missing: apt-get install haproxy (or `make prod` as root)")
    child_env = {**env, **haproxy_env(ports)}
    command = [str(binary), "-f", str(HAPROXY_CONFIG)]
    check = subprocess.run(
        [*command, "-c", "-q"], env=child_env, capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        raise RuntimeError(f"{HAPROXY_CONFIG} is not valid:\n{check.stdout}{check.stderr}")
    popen = subprocess.Popen(
        [*command, "-db"],  # foreground: stopped with the others
        cwd=ROOT,
        env=child_env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    # Ready when the web app answers through it.
    return assistant.Process("HAProxy", popen, f"{ports.public_url}/ready")


@contextlib.contextmanager
def started(stack: ProdStack, timeout: float = assistant.READY_TIMEOUT_SECONDS) -> Iterator[None]:
    try:
        stack.start_all(timeout=timeout)
        yield
    finally:
        stack.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    ports = Ports.from_env(os.environ)
    env = prod_env(os.environ, ports)
    if not assistant.MODEL.exists():
        print(f"No trained model at {assistant.MODEL.relative_to(ROOT)}: run `make train` first.")
        return 1
    if haproxy_binary() is None:
        print("make prod needs Debian's HAProxy: apt-get install haproxy")
        return 1
    redis_url = env["ZIJWIJZER_REDIS_URL"]
    if not redis_reachable(redis_url):
        print(f"Redis does not answer at {redis_url} (ZIJWIJZER_REDIS_URL).")
        return 1
    log_dir = Path(env.get("ZIJWIJZER_PROD_LOG_DIR", "").strip() or DEFAULT_LOG_DIR)
    log_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"Loading the catalogue into {_without_password(env['ZIJWIJZER_DATABASE_URL'])}")
    try:
        load_catalogue(env)
    except RuntimeError as error:
        print(error)
        return 1
    stack = ProdStack(env, ports, log_dir)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    print(
        f"Starting 2 engines, 2 action servers, the web app, the handoff worker and HAProxy "
        f"(logs in {log_dir})",
        flush=True,
    )
    try:
        stack.start_all()
        print(
            f"Zijwijzer (production shape) is running after {time.monotonic() - started:.0f} s: "
            f"{ports.public_url}/ (demo page with the widget), {ports.public_url}/console. "
            f"Stop with Ctrl-C.",
            flush=True,
        )
        while all(stack.running(key) for key in stack.processes):
            time.sleep(0.5)
        dead = next(p for k, p in stack.processes.items() if not stack.running(k))
        print(f"The {dead.name} stopped (exit code {dead.popen.returncode}); stopping the rest.")
        return 1
    except KeyboardInterrupt:
        return 0
    except (RuntimeError, TimeoutError) as error:
        print(f"{error} (logs in {log_dir})")
        return 1
    finally:
        stack.stop()


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


if __name__ == "__main__":
    sys.exit(main())
