"""`make bench-prod`: locust against the production shape, then against one instance of each.

    .venv/bin/python bench/prod.py [--users 10 50 200] [--seconds 60]

Starts the production shape of `make prod` (tools/prod.py: HAProxy, two engines, two action
servers, the web app and the handoff worker) on free loopback ports, with the trackers and the
app database in a fresh PostgreSQL schema of their own (ZIJWIJZER_BENCH_POSTGRES_URL, default
the local server; dropped afterwards) and Redis as lock store. Then headless locust
(bench/locustfile.py: whole widget conversations with 3-8 s think time) at each number of
users, each for --seconds after a warm-up; then the second engine and action server are stopped
(HAProxy's health checks take them out) and the same loads run against one of each, for the
scale-out ratio.

Prints per load: turns, turns per second, p50/p95 per turn, failures, the CPU our processes
used per turn and the largest resident memory of each process. Figures go in
docs/performance.md. Nothing here passes or fails on a timing.
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import chat  # noqa: E402  (bench/chat.py: CPU time of a process group)

from tests.postgres import fresh_schema  # noqa: E402
from tools import prod  # noqa: E402

LOCUST = ROOT / ".venv" / "bin" / "locust"
LOCUSTFILE = ROOT / "bench" / "locustfile.py"
DEFAULT_POSTGRES_URL = "postgresql+psycopg2://root@127.0.0.1:5432/test"
WARMUP_USERS, WARMUP_SECONDS = 5, 20
# Every locust user comes from 127.0.0.1: the widget's per-address limits would refuse a
# load test that real users, each from their own address, never reach.
BENCH_LIMITS = {
    "ZIJWIJZER_WIDGET_MESSAGES_PER_MINUTE": "100000",
    "ZIJWIJZER_WIDGET_MESSAGES_PER_MINUTE_PER_ADDRESS": "100000",
    "ZIJWIJZER_WIDGET_CONVERSATIONS_PER_HOUR_PER_ADDRESS": "100000",
}
CORES = os.cpu_count() or 1


@dataclass
class Load:
    shape: str
    users: int
    seconds: float
    turns: int = 0
    failures: int = 0
    turns_per_second: float = 0.0
    p50_ms: float = float("nan")
    p95_ms: float = float("nan")
    cpu_seconds: float = 0.0
    rss_mb: dict[str, float] = field(default_factory=dict)

    @property
    def cpu_ms_per_turn(self) -> float:
        return 1000 * self.cpu_seconds / self.turns if self.turns else float("nan")


def free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.add(sock.getsockname()[1])
    return sorted(ports)


def group_rss_mb(pgid: int) -> float:
    """Resident memory of every live process in a process group, in MB (Linux /proc)."""
    total_kb = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            status = (stat.parent / "status").read_text()
        except OSError:
            continue  # gone meanwhile
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


class MemorySampler:
    """The largest resident memory of each process while a load runs (every second)."""

    def __init__(self, stack: prod.ProdStack) -> None:
        self.stack = stack
        self.peak: dict[str, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.wait(1.0):
            for key, pid in self.stack.pids().items():
                if pid:
                    rss = group_rss_mb(pid)
                    self.peak[key] = max(self.peak.get(key, 0.0), rss)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def cpu_seconds(stack: prod.ProdStack) -> float:
    return sum(chat.group_cpu_seconds(pid) for pid in stack.pids().values() if pid)


def run_locust(host: str, users: int, seconds: float, folder: Path) -> dict[str, str]:
    """One headless locust run; the "turn" row of its statistics."""
    prefix = folder / f"u{users}"
    spawn_rate = max(5, users // 10)
    command = [
        str(LOCUST),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "--users",
        str(users),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        f"{int(seconds)}s",
        "--stop-timeout",
        "30",
        "--host",
        host,
        "--csv",
        str(prefix),
        "--loglevel",
        "WARNING",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(command, cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL)
    with (folder / f"u{users}_stats.csv").open(encoding="utf-8") as stats:
        for row in csv.DictReader(stats):
            if row["Name"] == "turn":
                return row
    raise RuntimeError(f"locust reported no turns at {users} users (see {prefix}_stats.csv)")


def measure(stack: prod.ProdStack, shape: str, users: int, seconds: float, folder: Path) -> Load:
    load = Load(shape, users, seconds)
    before = cpu_seconds(stack)
    with MemorySampler(stack) as memory:
        row = run_locust(stack.ports.public_url, users, seconds, folder)
    load.cpu_seconds = cpu_seconds(stack) - before
    load.rss_mb = dict(memory.peak)
    load.turns = int(row["Request Count"])
    load.failures = int(row["Failure Count"])
    load.turns_per_second = float(row["Requests/s"])
    load.p50_ms = float(row["50%"])
    load.p95_ms = float(row["95%"])
    return load


def format_loads(loads: Sequence[Load]) -> str:
    lines = [
        f"{'shape':<22}{'users':>6}{'turns':>7}{'turns/s':>9}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'failed':>8}{'CPU ms/turn':>13}",
    ]
    for load in loads:
        lines.append(
            f"{load.shape:<22}{load.users:>6}{load.turns:>7}{load.turns_per_second:>9.1f}"
            f"{load.p50_ms:>8.0f}{load.p95_ms:>8.0f}{load.failures:>8}"
            f"{load.cpu_ms_per_turn:>13.1f}"
        )
    lines.append("largest resident memory per process (MB), over all loads of each shape:")
    for shape in dict.fromkeys(load.shape for load in loads):
        peak: dict[str, float] = {}
        for load in loads:
            if load.shape == shape:
                for key, rss in load.rss_mb.items():
                    peak[key] = max(peak.get(key, 0.0), rss)
        listed = ", ".join(f"{key} {rss:.0f}" for key, rss in sorted(peak.items()))
        lines.append(f"  {shape}: {listed}")
    return "\n".join(lines)


def ratios(loads: Sequence[Load]) -> list[str]:
    scaled = {load.users: load for load in loads if load.shape.startswith("2")}
    single = {load.users: load for load in loads if load.shape.startswith("1")}
    lines = []
    for users in sorted(scaled.keys() & single.keys()):
        two, one = scaled[users], single[users]
        if one.turns_per_second:
            lines.append(
                f"{users} users: scale-out ratio (turns/s, 2+2 over 1+1) "
                f"{two.turns_per_second / one.turns_per_second:.2f}x; p95 {two.p95_ms:.0f} vs "
                f"{one.p95_ms:.0f} ms"
            )
    for load in loads:
        if load.cpu_seconds:
            used_cores = load.cpu_seconds / load.seconds
            lines.append(
                f"{load.shape}, {load.users} users: {used_cores:.2f} of {CORES} cores busy "
                f"with our processes, {load.turns_per_second / max(used_cores, 1e-9):.1f} "
                f"turns/s per busy core"
            )
    return lines


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--single", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)
    if prod.haproxy_binary() is None:
        print("bench-prod needs Debian's HAProxy: apt-get install haproxy")
        return 1
    postgres = os.environ.get("ZIJWIJZER_BENCH_POSTGRES_URL", "").strip() or DEFAULT_POSTGRES_URL
    public, web, balancer, *instances = free_ports(7)
    signal.signal(signal.SIGTERM, _interrupt)
    loads: list[Load] = []
    with (
        fresh_schema(postgres, prefix="zw_bench_") as database,
        tempfile.TemporaryDirectory(prefix="zw-bench-prod-") as folder,
    ):
        environ = {
            **os.environ,
            **BENCH_LIMITS,
            "ZIJWIJZER_PROD_PORT": str(public),
            "ZIJWIJZER_WEB_PORT": str(web),
            "ZIJWIJZER_PROD_ACTIONS_PORT": str(balancer),
            "ZIJWIJZER_PROD_ENGINE_PORTS": f"{instances[0]},{instances[1]}",
            "ZIJWIJZER_PROD_ACTION_PORTS": f"{instances[2]},{instances[3]}",
            "ZIJWIJZER_DATABASE_URL": database,
            "ZIJWIJZER_TRACKER_DATABASE_URL": database,
            "ZIJWIJZER_REDIS_URL": os.environ.get("ZIJWIJZER_REDIS_URL", "")
            or prod.DEFAULT_REDIS_URL,
            "ZIJWIJZER_LOG_LEVEL": "WARNING",
        }
        ports = prod.Ports.from_env(environ)
        env = prod.prod_env(environ, ports)
        log_dir = Path(folder)
        prod.load_catalogue(env)
        stack = prod.ProdStack(env, ports, log_dir)
        print(f"Starting the production shape (logs in {log_dir})", flush=True)
        try:
            started = time.monotonic()
            stack.start_all()
            print(f"Ready after {time.monotonic() - started:.0f} s", flush=True)
            shapes: list[tuple[str, tuple[str, ...]]] = [("2 engines + 2 actions", ())]
            if args.single:
                shapes.append(("1 engine + 1 actions", ("engine2", "actions2")))
            for shape, killed in shapes:
                for key in killed:
                    stack.stop_program(key)  # stopped for good: supervisord leaves it
                time.sleep(5)  # HAProxy's health checks take the stopped servers out
                run_locust(ports.public_url, WARMUP_USERS, WARMUP_SECONDS, log_dir)
                for users in args.users:
                    load = measure(stack, shape, users, args.seconds, log_dir)
                    loads.append(load)
                    print(format_loads([load]).splitlines()[1], flush=True)
        except KeyboardInterrupt:
            print("Interrupted.")
            return 1
        finally:
            stack.stop()
    print()
    print(f"Locust, widget conversations through HAProxy, think time 3-8 s, {args.seconds:.0f} s")
    print(f"per load, PostgreSQL trackers, Redis locks, {CORES} cores (locust runs beside them):")
    print(format_loads(loads))
    for line in ratios(loads):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
