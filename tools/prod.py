"""`make prod`: the production shape on one machine, all on loopback.

    HAProxy :ZIJWIJZER_PROD_PORT (8080)  /webhooks/... -> Rasa engine 1, Rasa engine 2
                                         the rest      -> web app (widget, pages, console)
    HAProxy :ZIJWIJZER_PROD_ACTIONS_PORT (5050), for the engines -> action servers 1 and 2
    handoff worker; PostgreSQL (trackers and app database); Redis (conversation locks, limits)

The processes are started exactly as `make run` starts them (tools/assistant.py), each with its
own ports, as programs of supervisord (below: restarted when they die or hang, with backoff);
HAProxy reads deploy/haproxy.cfg, whose addresses come from environment variables set here.
Ctrl-C or SIGTERM stops everything. tests/prod/ starts the same shape through ProdStack.

    tools/prod.py            `make prod`: start and supervise the shape
    tools/prod.py status     `make prod-status`: each process's state, pid, starts, health
    tools/prod.py reload [MODEL]
                             `make prod-reload`: replace the engines one at a time (with MODEL)

Settings (environment variables; the ZIJWIJZER_* ones of bot/common/settings.py apply to every
process):
- ZIJWIJZER_PROD_PORT (8080): the one public entry point; ZIJWIJZER_PUBLIC_URL and
  ZIJWIJZER_CHAT_URL default to it (widget and engine on one origin), and so do the allowed
  origins.
- ZIJWIJZER_PROD_ENGINE_PORTS (5005,5006), ZIJWIJZER_PROD_ACTION_PORTS (5055,5056),
  ZIJWIJZER_PROD_ACTIONS_PORT (5050, the engines' way to the action servers),
  ZIJWIJZER_WEB_PORT (8000).
- ZIJWIJZER_DATABASE_URL, ZIJWIJZER_TRACKER_DATABASE_URL: the local PostgreSQL by default
  (DEFAULT_POSTGRES_URL); ZIJWIJZER_REDIS_URL: the local Redis by default (DEFAULT_REDIS_URL).
- ZIJWIJZER_WORKER_HEALTH_PORT (5070): the handoff worker's health server.
- ZIJWIJZER_PROD_LOG_DIR (var/prod): one log file per process, supervisord's log, the
  watcher's log and status, and the sockets of supervisord and HAProxy's runtime API.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xmlrpc.client
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any
from unittest import mock
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bot` and `tools` importable
    sys.path.insert(0, str(ROOT))

from bot.common.settings import Settings, load_settings  # noqa: E402
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
    worker_health: int = 5070

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
            worker_health=_ports(environ, "ZIJWIJZER_WORKER_HEALTH_PORT", "5070", 1)[0],
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
    """The settings a process started with `env` reads (bot/common/settings.py)."""
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


# ---- supervision: supervisord runs every process, a watcher probes them ---------------------
#
# supervisord (PyPI `supervisor`, pinned in requirements/app.lock) starts each process of the
# shape as a program, restarts one that exits (at once; a program that dies again within
# `startsecs` is retried after 1, 2, 3... s: its backoff) and logs every change of state in
# supervisord.log. A process that hangs is not something supervisord sees: the watcher
# (tools/prod_watch.py, a supervisord event listener) probes each one over HTTP with the very
# probes of the Kubernetes manifests (PROBES; tests/deploy/test_supervision.py checks they are
# the same) and has supervisord restart one whose liveness probe failed `failures` times in a
# row, as the kubelet does. It writes what it sees (state, pid, starts, health) to status.json;
# `make prod-status` shows it.


@dataclass(frozen=True)
class Probe:
    """One HTTP probe, as a Kubernetes probe: GET path, every period, timeout, failures."""

    path: str
    period: float
    timeout: float
    failures: int
    initial_delay: float = 0.0


@dataclass(frozen=True)
class Probes:
    """A process's startup probe (None: liveness from the start) and liveness probe."""

    startup: Probe | None
    liveness: Probe | None


# By kind of process: the same numbers as deploy/k8s (engine.yaml, action-server.yaml,
# web.yaml, handoff-worker.yaml). An engine gets 6 minutes to load its model: 30-60 s on a quiet
# machine, but two engines loading beside other work took over 3 minutes here, and restarting
# a loading engine only starts the wait again.
PROBES: dict[str, Probes] = {
    "engine": Probes(
        startup=Probe("/webhooks/widget/", period=5, timeout=3, failures=72),
        liveness=Probe("/", period=20, timeout=5, failures=3),
    ),
    "actions": Probes(
        startup=Probe("/health", period=2, timeout=2, failures=30),
        liveness=Probe("/health", period=20, timeout=5, failures=3),
    ),
    "web": Probes(
        startup=Probe("/health", period=2, timeout=2, failures=30),
        liveness=Probe("/health", period=20, timeout=5, failures=3),
    ),
    "handoff": Probes(
        startup=None,
        liveness=Probe("/health", period=20, timeout=5, failures=3, initial_delay=10),
    ),
    "haproxy": Probes(startup=None, liveness=None),
}
# Seconds supervisord waits after SIGTERM before SIGKILL: the pods' terminationGracePeriod.
STOP_WAIT_SECONDS = {"engine": 45, "actions": 30, "web": 30, "handoff": 30, "haproxy": 10}
# A program counts as started once it ran this long (a quicker death is a failed start, retried
# with backoff up to START_RETRIES times, then left FATAL and logged).
START_SECONDS = 5
START_RETRIES = 10
PROGRAMS = ("actions1", "actions2", "engine1", "engine2", "web", "handoff", "haproxy")
SUPERVISORD = ROOT / ".venv" / "bin" / "supervisord"


def kind_of(key: str) -> str:
    return key.rstrip("12")


def _number(key: str) -> int:
    return int(key[-1]) if key[-1] in "12" else 1


@dataclass
class ProdStack:
    """The processes of the shape under supervisord, by key: actions1, actions2, engine1,
    engine2, web, handoff, haproxy. Each writes to log_dir/<key>.log; supervisord's own log
    (every start, exit and restart) is log_dir/supervisord.log, the watcher's watch.log."""

    env: dict[str, str]
    ports: Ports
    log_dir: Path
    model: Path = assistant.MODEL
    supervisord: subprocess.Popen[bytes] | None = None
    # The manifests' probes; the fault tests pass shorter liveness periods so that a hang is
    # found in seconds rather than a minute (the watcher's logic is the same).
    probes: dict[str, Probes] = field(default_factory=lambda: dict(PROBES))

    def log(self, key: str) -> Path:
        return self.log_dir / f"{key}.log"

    @property
    def socket_path(self) -> Path:
        return self.log_dir / "supervisor.sock"

    @property
    def haproxy_socket(self) -> Path:
        return self.log_dir / "haproxy.sock"

    @property
    def status_path(self) -> Path:
        return self.log_dir / "status.json"

    # ---- configuration ------------------------------------------------------------------

    def launch(self, key: str) -> assistant.Launch:
        """How one process of the shape is started (the same as `make run` starts it)."""
        kind, number = kind_of(key), _number(key)
        if kind == "engine":
            env = {**self.env, "ZIJWIJZER_RASA_PORT": str(self.ports.engines[number - 1])}
            return assistant.engine_launch(
                settings_for(env), env, model=self.model, workdir=self.log_dir / f"rasa-{number}"
            )
        if kind == "actions":
            env = {**self.env, "ZIJWIJZER_ACTION_PORT": str(self.ports.actions[number - 1])}
            return assistant.action_server_launch(settings_for(env), env)
        if kind == "web":
            return assistant.web_launch(settings_for(self.env), self.env)
        if kind == "handoff":
            env = {**self.env, "ZIJWIJZER_WORKER_HEALTH_PORT": str(self.ports.worker_health)}
            return assistant.handoff_worker_launch(settings_for(env), env)
        if kind == "haproxy":
            return haproxy_launch(self.ports, self.env, self.haproxy_socket)
        raise ValueError(f"no process {key!r} in the production shape")

    def base_url(self, key: str) -> str | None:
        kind, number = kind_of(key), _number(key)
        port = {
            "engine": lambda: self.ports.engines[number - 1],
            "actions": lambda: self.ports.actions[number - 1],
            "web": lambda: self.ports.web,
            "handoff": lambda: self.ports.worker_health,
        }.get(kind)
        return f"http://{LOOPBACK}:{port()}" if port else None

    def write_config(self) -> Path:
        """launch.json (each program's command, directory and environment: secrets, so
        readable by the owner only), watch.json (the probes) and supervisord.conf."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        launches = {}
        for key in PROGRAMS:
            launch = self.launch(key)
            launches[key] = {
                "name": launch.name,
                "command": launch.command,
                "cwd": str(launch.cwd),
                "env": launch.env,
            }
        _write_private(self.log_dir / "launch.json", json.dumps(launches, indent=1))
        watch = {
            "status": str(self.status_path),
            "programs": {
                key: {
                    "url": self.base_url(key),
                    "startup": _probe_dict(self.probes[kind_of(key)].startup),
                    "liveness": _probe_dict(self.probes[kind_of(key)].liveness),
                }
                for key in PROGRAMS
            },
        }
        (self.log_dir / "watch.json").write_text(json.dumps(watch, indent=1))
        config = self.log_dir / "supervisord.conf"
        config.write_text(supervisord_config(self.log_dir, self.socket_path))
        return config

    # ---- running ------------------------------------------------------------------------

    def start_all(self, timeout: float = assistant.READY_TIMEOUT_SECONDS) -> None:
        """supervisord with every program; returns once each is ready and HAProxy sees both
        engines and both action servers up."""
        config = self.write_config()
        out = (self.log_dir / "supervisord.out").open("ab")
        self.supervisord = subprocess.Popen(
            [str(SUPERVISORD), "-n", "-c", str(config)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        self.wait_ready(PROGRAMS, timeout=timeout)

    def rpc(self) -> Any:
        """supervisord's XML-RPC interface over its unix socket."""
        return rpc_interface(self.socket_path)

    def info(self, key: str) -> dict[str, Any]:
        info: dict[str, Any] = self.rpc().supervisor.getProcessInfo(key)
        return info

    def pid(self, key: str) -> int:
        """The running process's pid; 0 when it is not running."""
        return int(self.info(key)["pid"])

    def pids(self) -> dict[str, int]:
        everything = self.rpc().supervisor.getAllProcessInfo()
        return {info["name"]: int(info["pid"]) for info in everything}

    def running(self, key: str) -> bool:
        return bool(self.info(key)["statename"] == "RUNNING")

    def kill(self, key: str) -> int:
        """SIGKILL to the process and its group (a crash: supervisord restarts it); its pid."""
        pid = self.pid(key)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        return pid

    def signal(self, key: str, sig: signal.Signals) -> None:
        """A signal to the process's group (SIGSTOP: frozen, SIGCONT: going on)."""
        os.killpg(self.pid(key), sig)

    def stop_program(self, key: str) -> None:
        """Stops a program for good (until start_program): not a crash, not restarted."""
        self.rpc().supervisor.stopProcess(key, True)

    def start_program(self, key: str, timeout: float = assistant.READY_TIMEOUT_SECONDS) -> None:
        self.rpc().supervisor.startProcess(key, True)
        self.wait_ready([key], timeout=timeout)

    def ready(self, key: str) -> bool:
        if kind_of(key) == "haproxy":
            return haproxy_servers_up(self.haproxy_socket) >= {
                "engines/engine1",
                "engines/engine2",
                "actions/actions1",
                "actions/actions2",
            }
        launch_url = self.launch_ready_url(key)
        return launch_url is None or _answers(launch_url)

    def launch_ready_url(self, key: str) -> str | None:
        base = self.base_url(key)
        if base is None:
            return None
        return {
            "engine": f"{base}/webhooks/widget/",
            "actions": f"{base}/health",
            "web": f"{base}/ready",
        }.get(kind_of(key))

    def wait_ready(self, keys: Sequence[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(keys)
        while waiting:
            if self.supervisord is not None and self.supervisord.poll() is not None:
                raise RuntimeError(f"supervisord stopped (exit code {self.supervisord.returncode})")
            for key in list(waiting):
                with contextlib.suppress(OSError, xmlrpc.client.Fault):
                    if self.running(key) and self.ready(key):
                        waiting.remove(key)
            if waiting and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout:.0f} s: {', '.join(waiting)}")
            if waiting:
                time.sleep(0.5)

    def stop(self) -> None:
        """supervisord stops every program (HAProxy first: no new requests), then itself."""
        if self.supervisord is None:
            return
        with contextlib.suppress(OSError, xmlrpc.client.Fault):
            self.rpc().supervisor.stopProcess("haproxy", True)
        with contextlib.suppress(ProcessLookupError):
            self.supervisord.send_signal(signal.SIGTERM)
        try:
            self.supervisord.wait(timeout=max(STOP_WAIT_SECONDS.values()) + 15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.supervisord.pid, signal.SIGKILL)
            self.supervisord.wait()
        self.supervisord = None

    # ---- rolling update -----------------------------------------------------------------

    def reload_engines(
        self,
        model: Path | None = None,
        timeout: float = assistant.READY_TIMEOUT_SECONDS,
        report: Callable[[str], None] = print,
    ) -> None:
        """Replaces the engines one at a time (with `model`, when given): each is drained in
        HAProxy (no new turns), stopped once its turns in progress are done (SIGTERM: Sanic
        finishes them), started anew, and taken back once it has loaded its model and HAProxy's
        checks pass; meanwhile the other engine takes every turn."""
        if model is not None:
            self.model = model
            set_engine_model(self.log_dir / "launch.json", model)  # read at each start
        for key in ("engine1", "engine2"):
            server = f"engines/{key}"
            started = time.monotonic()
            haproxy_command(self.haproxy_socket, f"set server {server} state drain")
            _wait(partial(_drained, self.haproxy_socket, server), 60)
            self.rpc().supervisor.stopProcess(key, True)
            self.rpc().supervisor.startProcess(key, True)
            self.wait_ready([key], timeout=timeout)
            haproxy_command(self.haproxy_socket, f"set server {server} state ready")
            _wait(partial(_up, self.haproxy_socket, server), 30)
            report(f"{key} replaced in {time.monotonic() - started:.0f} s")


def _drained(stats_socket: Path, server: str) -> bool:
    return haproxy_sessions(stats_socket, server) == 0


def _up(stats_socket: Path, server: str) -> bool:
    return server in haproxy_servers_up(stats_socket)


def _probe_dict(probe: Probe | None) -> dict[str, float] | None:
    return None if probe is None else dict(vars(probe))


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
    path.chmod(0o600)


def _answers(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (loopback)
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _wait(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s in vain")
        time.sleep(0.2)


def supervisord_config(log_dir: Path, socket_path: Path) -> str:
    """supervisord.conf: one program per process, run through `tools/prod.py exec KEY` (the
    command, directory and environment of launch.json), and the watcher as event listener."""
    python = assistant.PYTHON
    script = ROOT / "tools" / "prod.py"
    lines = [
        "[unix_http_server]",
        f"file={socket_path}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={log_dir / 'supervisord.log'}",
        "logfile_maxbytes=10MB",
        f"pidfile={log_dir / 'supervisord.pid'}",
        f"directory={ROOT}",
        "nodaemon=true",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{socket_path}",
        "",
    ]
    for key in PROGRAMS:
        kind = kind_of(key)
        lines += [
            f"[program:{key}]",
            f"command={python} {script} exec {key} {log_dir / 'launch.json'}",
            f"directory={ROOT}",
            "autostart=true",
            "autorestart=true",
            f"startsecs={START_SECONDS}",
            f"startretries={START_RETRIES}",
            "stopsignal=TERM",
            f"stopwaitsecs={STOP_WAIT_SECONDS[kind]}",
            "stopasgroup=true",
            "killasgroup=true",
            f"stdout_logfile={log_dir / (key + '.log')}",
            "stdout_logfile_maxbytes=20MB",
            "redirect_stderr=true",
            # HAProxy last when starting, first when stopping.
            f"priority={900 if kind == 'haproxy' else 100}",
            "",
        ]
    lines += [
        "[eventlistener:watch]",
        f"command={python} {ROOT / 'tools' / 'prod_watch.py'} {log_dir / 'watch.json'}",
        f"directory={ROOT}",
        "events=PROCESS_STATE",
        "autorestart=true",
        f"stderr_logfile={log_dir / 'watch.log'}",
        "buffer_size=100",
        "priority=1",
        "",
    ]
    return "\n".join(lines)


def rpc_interface(socket_path: Path) -> Any:
    from supervisor.xmlrpc import SupervisorTransport

    transport = SupervisorTransport(None, None, f"unix://{socket_path}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def set_engine_model(launch_file: Path, model: Path) -> None:
    """The model the engines load at their next start (their `--model` in launch.json)."""
    launches = json.loads(launch_file.read_text(encoding="utf-8"))
    for key in ("engine1", "engine2"):
        command = launches[key]["command"]
        command[command.index("--model") + 1] = str(model)
    _write_private(launch_file, json.dumps(launches, indent=1))


def exec_program(key: str, launch_file: Path) -> None:
    """`tools/prod.py exec KEY FILE`: becomes the program's process (supervisord's child)."""
    launch = json.loads(launch_file.read_text(encoding="utf-8"))[key]
    os.chdir(launch["cwd"])
    # Our own launch.json (written by write_config, owner-only): the program's command.
    os.execve(launch["command"][0], launch["command"], launch["env"])  # noqa: S606


# ---- HAProxy --------------------------------------------------------------------------------


def haproxy_launch(ports: Ports, env: Mapping[str, str], stats_socket: Path) -> assistant.Launch:
    binary = haproxy_binary()
    if binary is None:
        raise RuntimeError("HAProxy is missing: apt-get install haproxy (or `make prod` as root)")
    child_env = {**env, **haproxy_env(ports), "ZIJWIJZER_PROD_HAPROXY_SOCKET": str(stats_socket)}
    command = [str(binary), "-f", str(HAPROXY_CONFIG)]
    check = subprocess.run(
        [*command, "-c", "-q"], env=child_env, capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        raise RuntimeError(f"{HAPROXY_CONFIG} is not valid:\n{check.stdout}{check.stderr}")
    # -db: in the foreground, supervised like the others.
    return assistant.Launch("HAProxy", [*command, "-db"], ROOT, child_env, None)


def haproxy_command(stats_socket: Path, command: str) -> str:
    """One command on HAProxy's runtime API; its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(stats_socket))
        sock.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def haproxy_stats(stats_socket: Path) -> list[dict[str, str]]:
    """`show stat`: one row per frontend, backend and server."""
    text = haproxy_command(stats_socket, "show stat").lstrip("# ")
    rows = list(csv.DictReader(text.splitlines()))
    return [row for row in rows if row.get("pxname")]


def haproxy_servers_up(stats_socket: Path) -> set[str]:
    """backend/server of every server HAProxy sends traffic to now."""
    try:
        rows = haproxy_stats(stats_socket)
    except OSError:
        return set()
    return {
        f"{row['pxname']}/{row['svname']}"
        for row in rows
        if row["svname"] not in ("FRONTEND", "BACKEND") and row["status"].startswith("UP")
    }


def haproxy_sessions(stats_socket: Path, server: str) -> int:
    """Requests a server is serving now (backend/server)."""
    backend, _, name = server.partition("/")
    for row in haproxy_stats(stats_socket):
        if (row["pxname"], row["svname"]) == (backend, name):
            return int(row["scur"] or 0)
    raise KeyError(server)


@contextlib.contextmanager
def started(stack: ProdStack, timeout: float = assistant.READY_TIMEOUT_SECONDS) -> Iterator[None]:
    try:
        stack.start_all(timeout=timeout)
        yield
    finally:
        stack.stop()


# ---- make prod, make prod-status, make prod-reload ------------------------------------------


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _log_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("ZIJWIJZER_PROD_LOG_DIR", "").strip() or DEFAULT_LOG_DIR)


def run() -> int:
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
    log_dir = _log_dir(env)
    log_dir.mkdir(parents=True, exist_ok=True)
    begun = time.monotonic()
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
        "Starting 2 engines, 2 action servers, the web app, the handoff worker and HAProxy "
        f"under supervisord (logs in {log_dir})",
        flush=True,
    )
    try:
        stack.start_all()
        print(
            f"Zijwijzer (production shape) is running after {time.monotonic() - begun:.0f} s: "
            f"{ports.public_url}/ (demo page with the widget), {ports.public_url}/console. "
            "A process that dies or hangs is restarted (make prod-status shows each one; "
            "make prod-reload replaces the engines one at a time). Stop with Ctrl-C.",
            flush=True,
        )
        assert stack.supervisord is not None
        while stack.supervisord.poll() is None:
            time.sleep(1)
        print(f"supervisord stopped (exit code {stack.supervisord.returncode}).")
        return 1
    except KeyboardInterrupt:
        return 0
    except (RuntimeError, TimeoutError) as error:
        print(f"{error} (logs in {log_dir})")
        return 1
    finally:
        stack.stop()


def attached(environ: Mapping[str, str]) -> ProdStack:
    """The stack `make prod` runs (its log folder), for status and reload."""
    ports = Ports.from_env(environ)
    env = prod_env(environ, ports)
    stack = ProdStack(env, ports, _log_dir(env))
    if not stack.socket_path.exists():
        raise RuntimeError(f"no production shape running here ({stack.socket_path} missing)")
    return stack


def status_lines(stack: ProdStack) -> list[str]:
    """One line per process: supervisord's state and pid, the watcher's starts and health,
    HAProxy's view of the servers."""
    try:
        watched = json.loads(stack.status_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        watched = {}
    up = haproxy_servers_up(stack.haproxy_socket)
    lines = [f"{'process':<10}{'state':<10}{'pid':>8}{'uptime':>9}{'starts':>8}  health"]
    for info in stack.rpc().supervisor.getAllProcessInfo():
        key = info["name"]
        seen = watched.get("programs", {}).get(key, {})
        uptime = (info["now"] - info["start"]) if info["statename"] == "RUNNING" else 0
        balancer = [server for server in up if server.endswith(f"/{key}")]
        health = seen.get("health", "-") + (" (in HAProxy)" if balancer else "")
        lines.append(
            f"{key:<10}{info['statename']:<10}{info['pid']:>8}{uptime:>8}s"
            f"{seen.get('starts', '-'):>8}  {health}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = arguments[0] if arguments else "run"
    if command == "exec" and len(arguments) == 3:
        exec_program(arguments[1], Path(arguments[2]))
        return 1  # not reached: exec replaced this process
    if command == "run":
        return run()
    try:
        stack = attached(os.environ)
    except RuntimeError as error:
        print(f"{error}: start it with `make prod`.")
        return 1
    if command == "status":
        print("\n".join(status_lines(stack)))
        return 0
    if command == "reload":
        model = Path(arguments[1]).resolve() if len(arguments) > 1 else None
        begun = time.monotonic()
        stack.reload_engines(model)
        print(f"Both engines replaced in {time.monotonic() - begun:.0f} s.")
        return 0
    print("usage: tools/prod.py [run | status | reload [MODEL]]")
    return 2


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


if __name__ == "__main__":
    sys.exit(main())
