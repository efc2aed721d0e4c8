"""Whole conversations through the REST channel: Zijwijzer against a plain `rasa init` bot.

    make bench    (bench/advice.py, then this: about 4 minutes, 5 the first time)
    .venv/bin/python bench/chat.py [--users 1 10 50] [--skip-plain]

In one run it
1. starts Zijwijzer (action server + engine, as `make run` does, through tools/assistant.py)
   on loopback ports of its own, with a fresh SQLite tracker store under build/bench/;
2. creates and trains a plain `rasa init` assistant once (cached under build/bench/plain;
   `rasa init --no-prompt` in .venv-rasa, no PYTHONPATH) and starts it, in-memory tracker;
3. for each assistant and each concurrency (1, 10, 50 users), lets every user run the
   scripted conversation(s) below one message after the other, each conversation with a
   new sender id, and measures every POST /webhooks/rest/webhook;
4. prints p50/p95 latency per message, messages per second per phase, and the ratios the
   conversation issue sets as goals (p50 at 1 user within 1.5x of the plain assistant,
   throughput at 50 users at least 0.8x of it).

Only 127.0.0.1; the number of messages is fixed and each phase also stops starting new
conversations after --max-phase-seconds. Every process it starts is stopped (its process
group) at the end, on an error and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.common.settings import Settings, load_settings  # noqa: E402
from bot.engine.main import JWT_SECRET_ENV, rasa_arguments  # noqa: E402
from tools import assistant  # noqa: E402

# ---- the scripted conversations: edit these when the flow changes ------------------------
# Zijwijzer: an intake as a user would type it. Replies the bot does not expect are fine
# for a load test, as long as every message gets an answer.
ZIJWIJZER_CONVERSATION = [
    "hoi",
    "ja",
    "ouderenzorg",  # sector
    "zo snel mogelijk aan het werk",  # goal
    "weet ik nog niet",  # target
    "38",  # age
    "havo",  # education
    "nee",  # care diplomas
    "2 jaar",  # care experience
    "nee nog geen werkgever",  # employer
    "24 uur",  # hours
    "nee",  # benefit
    "Utrecht",  # region: the profile is complete, the advice follows
    "wat kost een leereenheid?",
    "bedankt, doei",
]
# The plain `rasa init` bot (greet, mood, bot challenge, goodbye), as many messages.
PLAIN_CONVERSATION = [
    "hi",
    "great",
    "I am sad",
    "yes",
    "are you a bot?",
    "hello",
    "very good",
    "hey",
    "I am unhappy",
    "no",
    "are you human?",
    "good morning",
    "perfect",
    "bye",
]
# Conversations per user at each concurrency: enough messages for stable percentiles,
# bounded in time.
CONVERSATIONS_PER_USER = {1: 6, 10: 2, 50: 1}
WARMUP_CONVERSATIONS = 2

HOST = "127.0.0.1"
ZIJWIJZER_PORT, ACTION_PORT, PLAIN_PORT = 5305, 5355, 5405
BENCH_DIR = ROOT / "build" / "bench"
PLAIN_DIR = BENCH_DIR / "plain"
RASA = assistant.RASA
REQUEST_TIMEOUT_SECONDS = 60.0
PLAIN_TRAIN_TIMEOUT_SECONDS = 600.0


@dataclass
class Phase:
    assistant: str
    users: int
    latencies: list[float] = field(default_factory=list)  # seconds, per message
    by_message: dict[str, list[float]] = field(default_factory=dict)
    cpu_ms_per_message: dict[str, float] = field(default_factory=dict)  # by process
    errors: int = 0
    empty: int = 0  # answered 200 with no message
    seconds: float = 0.0

    @property
    def messages(self) -> int:
        return len(self.latencies)

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(q) - 1]

    @property
    def throughput(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every live process in a process group (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        # After the command: state ppid pgrp ... utime is field 14, stime 15 (1-based).
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def cpu_snapshot(processes: Sequence[assistant.Process]) -> dict[str, float]:
    return {p.name: group_cpu_seconds(p.popen.pid) for p in processes}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) != 0


# ---- load ------------------------------------------------------------------------------


def send(
    session: requests.Session, url: str, sender: str, message: str
) -> tuple[list[Any] | None, float]:
    """One turn over the REST channel: its replies (None when it failed) and its seconds."""
    started = time.perf_counter()
    try:
        answer = session.post(
            url, json={"sender": sender, "message": message}, timeout=REQUEST_TIMEOUT_SECONDS
        )
        elapsed = time.perf_counter() - started
        replies = answer.json() if answer.status_code == 200 else None
    except (requests.RequestException, ValueError):
        replies, elapsed = None, time.perf_counter() - started
    return replies, elapsed


def run_conversations(
    url: str,
    headers: dict[str, str],
    script: Sequence[str],
    conversations: int,
    phase: Phase,
    lock: threading.Lock,
    deadline: float,
    stop: threading.Event,
) -> None:
    """One user: `conversations` times the script, a new sender id each time."""
    with requests.Session() as session:
        session.headers.update(headers)
        for _ in range(conversations):
            if stop.is_set() or time.monotonic() > deadline:
                return
            sender = f"bench-{uuid.uuid4().hex[:12]}"
            for message in script:
                if stop.is_set():
                    return
                replies, elapsed = send(session, url, sender, message)
                with lock:
                    if replies is None:
                        phase.errors += 1
                        continue
                    phase.latencies.append(elapsed)
                    phase.by_message.setdefault(message, []).append(elapsed)
                    if not replies:
                        phase.empty += 1


def run_phase(
    name: str,
    url: str,
    headers: dict[str, str],
    script: Sequence[str],
    users: int,
    conversations: int,
    max_seconds: float,
    stop: threading.Event,
) -> Phase:
    phase = Phase(name, users)
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=users) as pool:
        futures = [
            pool.submit(
                run_conversations, url, headers, script, conversations, phase, lock, deadline, stop
            )
            for _ in range(users)
        ]
        try:
            for future in futures:
                future.result()
        except BaseException:  # Ctrl-C included: the users stop after their current message
            stop.set()
            raise
    phase.seconds = time.perf_counter() - started
    return phase


def parse_latencies(port: int, jwt: str, script: Sequence[str], rounds: int = 3) -> Phase:
    """NLU alone: the script's messages through POST /model/parse (HTTP API, JWT), one user."""
    phase = Phase("parse", 1)
    url = f"http://{HOST}:{port}/model/parse"
    started = time.perf_counter()
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {jwt}"
        for _ in range(rounds):
            for message in script:
                begin = time.perf_counter()
                answer = session.post(url, json={"text": message}, timeout=30)
                if answer.status_code == 200:
                    phase.latencies.append(time.perf_counter() - begin)
                else:
                    phase.errors += 1
    phase.seconds = time.perf_counter() - started
    return phase


def bench(
    name: str,
    port: int,
    script: Sequence[str],
    users_list: Sequence[int],
    max_seconds: float,
    stop: threading.Event,
    processes: Sequence[assistant.Process] = (),
    headers: dict[str, str] | None = None,
) -> list[Phase]:
    url = f"http://{HOST}:{port}/webhooks/rest/webhook"
    headers = headers or {}
    # Warm-up (not measured): first requests load lazily initialised parts.
    run_phase(name, url, headers, script, 1, WARMUP_CONVERSATIONS, max_seconds, stop)
    phases = []
    for users in users_list:
        conversations = CONVERSATIONS_PER_USER.get(users, 2)
        before = cpu_snapshot(processes)
        phase = run_phase(name, url, headers, script, users, conversations, max_seconds, stop)
        after = cpu_snapshot(processes)
        if phase.messages:
            phase.cpu_ms_per_message = {
                k: (after[k] - before[k]) * 1000 / phase.messages for k in after
            }
        print(f"  {name}: {users} users, {phase.messages} messages in {phase.seconds:.1f} s")
        phases.append(phase)
    return phases


# ---- the two assistants ----------------------------------------------------------------


def _rasa_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
    return env


def plain_model() -> Path:
    """The plain `rasa init` assistant's model, created and trained once."""
    models = sorted((PLAIN_DIR / "models").glob("*.tar.gz"))
    if models:
        return models[-1]
    shutil.rmtree(PLAIN_DIR, ignore_errors=True)
    PLAIN_DIR.mkdir(parents=True)  # rasa init wants an existing, empty directory
    log = BENCH_DIR / "plain-init.log"
    print(f"Creating and training the plain `rasa init` assistant, about a minute (log: {log})")
    workdir = ROOT / "build" / "rasa"  # empty: our `catalogue` must not be on sys.path
    workdir.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        subprocess.run(
            [str(RASA), "init", "--no-prompt", "--init-dir", str(PLAIN_DIR)],
            cwd=workdir,
            env=_rasa_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=PLAIN_TRAIN_TIMEOUT_SECONDS,
            start_new_session=True,
        )
    models = sorted((PLAIN_DIR / "models").glob("*.tar.gz"))
    if not models:
        raise RuntimeError(f"rasa init trained no model; see {log}")
    return models[-1]


def start_plain(model: Path, port: int, jwt_secret: str, log: Path) -> assistant.Process:
    """The plain bot keeps Rasa's stock REST channel; its API takes JWTs, as ours does."""
    out = log.open("wb")
    # The same API arguments bot/engine/main.py gives ours, on the visible command line here.
    arguments = ["run", "--model", str(model), "--interface", HOST, "--port", str(port)]
    command = [str(RASA), *rasa_arguments(arguments, {JWT_SECRET_ENV: jwt_secret})]
    popen = subprocess.Popen(
        command,
        cwd=PLAIN_DIR,  # its own endpoints.yml and credentials.yml (REST channel)
        env=_rasa_env(),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out.close()  # the child holds its own descriptor
    return assistant.Process(
        "plain Rasa engine",
        popen,
        f"http://{HOST}:{port}/status",
        {"Authorization": f"Bearer {assistant.api_jwt(jwt_secret)}"},
    )


def zijwijzer_settings(port: int, action_port: int, jwt_secret: str) -> Settings:
    """The settings of the benchmarked Zijwijzer: its own ports and tracker file, its HTTP
    API on (JWT) for /model/parse, and widget limits it never reaches (REST is not limited)."""
    return dataclasses.replace(
        load_settings(),
        rasa_port=port,
        action_port=action_port,
        action_server_url=f"http://{HOST}:{action_port}/webhook",
        tracker_database_url=f"sqlite:///{BENCH_DIR / 'trackers.db'}",
        log_level="WARNING",
        engine_api_jwt_secret=jwt_secret,
    )


def rest_headers(settings: Settings) -> dict[str, str]:
    """Zijwijzer's REST channel wants its key (bot/engine/channels/rest.py)."""
    return {"Authorization": f"Bearer {settings.rest_api_key}"}


def start_zijwijzer(
    settings: Settings,
    *,
    memory_tracker: bool = False,
    model: Path = assistant.MODEL,
) -> list[assistant.Process]:
    """Action server and engine as `make run` starts them; the tracker store is a fresh
    SQLite file (as deployed by default), or Rasa's in-memory one like the plain bot's."""
    if not model.exists():
        raise RuntimeError(f"no trained model at {model}: run `make train` first")
    trackers = Path(settings.tracker_database_url.removeprefix("sqlite:///"))
    trackers.unlink(missing_ok=True)
    endpoints = ROOT / "endpoints.yml"
    if memory_tracker:
        endpoints = BENCH_DIR / "endpoints-memory.yml"
        endpoints.write_text(
            "action_endpoint:\n  url: ${ZIJWIJZER_ACTION_SERVER_URL}\n", encoding="utf-8"
        )
    env = dict(os.environ)
    action_log = (BENCH_DIR / "zijwijzer-actions.log").open("wb")
    engine_log = (BENCH_DIR / "zijwijzer-engine.log").open("wb")
    try:
        action = assistant.start_action_server(settings, env, output=action_log)
        engine = assistant.start_engine(
            settings,
            env,
            model=model,
            workdir=BENCH_DIR / "zijwijzer-rasa",
            output=engine_log,
            endpoints=endpoints,
        )
    finally:
        action_log.close()
        engine_log.close()
    return [action, engine]


# ---- report ----------------------------------------------------------------------------


def format_results(phases: Sequence[Phase]) -> str:
    lines = [
        f"{'assistant':<11}{'users':>6}{'messages':>10}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'msg/s':>8}{'errors':>8}{'no reply':>9}"
    ]
    for p in phases:
        lines.append(
            f"{p.assistant:<11}{p.users:>6}{p.messages:>10}{p.percentile(50) * 1000:>9.1f}"
            f"{p.percentile(95) * 1000:>9.1f}{p.throughput:>8.1f}{p.errors:>8}{p.empty:>9}"
        )
    return "\n".join(lines)


def ratios(zijwijzer: Sequence[Phase], plain: Sequence[Phase]) -> list[str]:
    lines = []
    by_users = {p.users: p for p in plain}
    for ours in zijwijzer:
        theirs = by_users.get(ours.users)
        if theirs is None or not theirs.latencies or not ours.latencies:
            continue
        p50 = ours.percentile(50) / theirs.percentile(50)
        throughput = ours.throughput / theirs.throughput if theirs.throughput else float("nan")
        lines.append(
            f"{ours.users:>3} users: p50 {p50:.2f}x the plain assistant's, "
            f"throughput {throughput:.2f}x"
        )
    # The goals of the speed issue (#21): p50 at 1 user at most 0.8x the plain assistant's,
    # throughput at every level at least 1.5x.
    first = {p.users: p for p in zijwijzer}
    if 1 in first and 1 in by_users:
        r = first[1].percentile(50) / by_users[1].percentile(50)
        lines.append(f"goal p50 at 1 user <= 0.8x: {r:.2f}x, {'met' if r <= 0.8 else 'NOT met'}")
    for users in sorted(first):
        if users in by_users and by_users[users].throughput:
            r = first[users].throughput / by_users[users].throughput
            lines.append(
                f"goal throughput at {users} users >= 1.5x: {r:.2f}x, "
                f"{'met' if r >= 1.5 else 'NOT met'}"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--max-phase-seconds", type=float, default=120.0)
    parser.add_argument("--skip-plain", action="store_true", help="only Zijwijzer")
    parser.add_argument(
        "--model", type=Path, default=assistant.MODEL, help="Zijwijzer model (for experiments)"
    )
    parser.add_argument(
        "--memory-tracker",
        action="store_true",
        help="Zijwijzer with Rasa's in-memory tracker store instead of SQLite (for comparison)",
    )
    parser.add_argument("--json", type=Path, default=BENCH_DIR / "chat.json", help="results file")
    args = parser.parse_args(argv)
    if any(u < 1 or u > 100 for u in args.users):
        parser.error("--users: between 1 and 100")

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    ports = [ZIJWIJZER_PORT, ACTION_PORT] + ([] if args.skip_plain else [PLAIN_PORT])
    busy = [p for p in ports if not port_free(p)]
    if busy:
        print(f"error: ports in use on {HOST}: {busy}", file=sys.stderr)
        return 2

    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    stop = threading.Event()
    processes: list[assistant.Process] = []
    # A fresh secret per run for both HTTP APIs (JWT only, never a token in a URL).
    jwt_secret = secrets.token_urlsafe(32)
    jwt = assistant.api_jwt(jwt_secret, ttl_seconds=24 * 3600)
    settings = zijwijzer_settings(ZIJWIJZER_PORT, ACTION_PORT, jwt_secret)
    try:
        model = None if args.skip_plain else plain_model()
        started = time.monotonic()
        ours = start_zijwijzer(
            settings, memory_tracker=args.memory_tracker, model=args.model.resolve()
        )
        processes += ours
        if model is not None:
            processes.append(
                start_plain(model, PLAIN_PORT, jwt_secret, BENCH_DIR / "plain-engine.log")
            )
        assistant.wait_ready(processes)
        print(
            f"Both assistants ready after {time.monotonic() - started:.0f} s; logs in {BENCH_DIR}"
        )

        load_before = os.getloadavg()
        parses = [parse_latencies(ZIJWIJZER_PORT, jwt, ZIJWIJZER_CONVERSATION)]
        if model is not None:
            parses.append(parse_latencies(PLAIN_PORT, jwt, PLAIN_CONVERSATION))
        zijwijzer = bench(
            "zijwijzer",
            ZIJWIJZER_PORT,
            ZIJWIJZER_CONVERSATION,
            args.users,
            args.max_phase_seconds,
            stop,
            ours,
            rest_headers(settings),
        )
        plain: list[Phase] = []
        if model is not None:
            plain = bench(
                "plain",
                PLAIN_PORT,
                PLAIN_CONVERSATION,
                args.users,
                args.max_phase_seconds,
                stop,
                processes[len(ours) :],
            )
        load_after = os.getloadavg()
    except KeyboardInterrupt:
        stop.set()
        print("interrupted; stopping the assistants", file=sys.stderr)
        return 130
    except (RuntimeError, TimeoutError, subprocess.SubprocessError) as error:
        stop.set()
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        assistant.stop(processes)

    print()
    print(format_results(zijwijzer + plain))
    for line in ratios(zijwijzer, plain):
        print(line)
    # Where the time goes in a conversation: the median of each scripted message, 1 user.
    for phase in zijwijzer + plain:
        if phase.users == 1:
            medians = ", ".join(
                f"{m!r} {statistics.median(v) * 1000:.0f}" for m, v in phase.by_message.items()
            )
            print(f"per message at 1 user, p50 ms ({phase.assistant}): {medians}")
    # Where the CPU goes (2 cores: this bounds the throughput).
    for phase in zijwijzer + plain:
        if phase.cpu_ms_per_message:
            cpu = ", ".join(f"{k} {v:.0f}" for k, v in phase.cpu_ms_per_message.items())
            print(f"CPU ms per message, {phase.assistant} at {phase.users} users: {cpu}")
    names = ["zijwijzer", "plain"]
    for name, parse in zip(names, parses, strict=False):
        print(
            f"NLU alone (/model/parse, 1 user): {name} p50 {parse.percentile(50) * 1000:.1f} ms, "
            f"p95 {parse.percentile(95) * 1000:.1f} ms"
        )
    # Other work on the machine skews every figure: say how busy it was.
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    tracker = "in-memory" if args.memory_tracker else "SQLite"
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "zijwijzer_tracker_store": tracker,
        "load_average_before_after": [load_before[0], load_after[0]],
        "nlu_parse_p50_ms": {
            n: p.percentile(50) * 1000 for n, p in zip(names, parses, strict=False)
        },
        "scripts": {"zijwijzer": ZIJWIJZER_CONVERSATION, "plain": PLAIN_CONVERSATION},
        "phases": [
            {
                "assistant": p.assistant,
                "users": p.users,
                "messages": p.messages,
                "p50_ms": p.percentile(50) * 1000,
                "p95_ms": p.percentile(95) * 1000,
                "messages_per_second": p.throughput,
                "errors": p.errors,
                "no_reply": p.empty,
                "cpu_ms_per_message": p.cpu_ms_per_message,
                "p50_ms_by_message": {
                    m: statistics.median(v) * 1000 for m, v in p.by_message.items()
                },
            }
            for p in zijwijzer + plain
        ],
    }
    args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 1 if any(p.errors for p in zijwijzer + plain) else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
