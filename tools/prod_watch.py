"""The production shape's watcher: a supervisord event listener that probes every process.

supervisord restarts a process that exits; one that hangs (a stopped event loop, a deadlock,
SIGSTOP) keeps running. This listener probes each program the way the Kubernetes manifests'
probes do (tools/prod.py PROBES, written to watch.json): after every (re)start the startup probe
until it passes (a failure count beyond its threshold restarts the process), then the liveness
probe every period; `failures` failed liveness probes in a row have supervisord restart the
process (stop: SIGTERM, SIGKILL after its grace period; start). Every change of a process's
state (PROCESS_STATE events) and every failed probe is logged here (stderr: watch.log);
status.json holds each program's state, pid, number of starts and health, for
`make prod-status`.

Run by supervisord as `[eventlistener:watch]` (tools/prod.py supervisord_config): its stdout
is supervisord's event protocol, so nothing else is ever printed there.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supervisor import childutils

logger = logging.getLogger("zijwijzer.watch")
TICK_SECONDS = 1.0


@dataclass
class Watched:
    """What the watcher knows of one program."""

    name: str
    url: str | None
    startup: dict[str, float] | None
    liveness: dict[str, float] | None
    state: str = "UNKNOWN"
    pid: int = 0
    starts: int = 0
    # "starting" (startup probe), "live" (liveness probe), "restarting"
    phase: str = "starting"
    health: str = "-"
    failures: int = 0
    started_at: float = field(default_factory=time.monotonic)
    next_probe: float = 0.0


def probe(url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (loopback)
            return bool(200 <= answer.status < 400)
    except (OSError, urllib.error.URLError):
        return False


class Watcher:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.status_path = Path(spec["status"])
        self.lock = threading.Lock()
        self.programs = {
            name: Watched(name, item.get("url"), item.get("startup"), item.get("liveness"))
            for name, item in spec["programs"].items()
        }

    # ---- events (main thread) ------------------------------------------------------------

    def on_state(self, name: str, state: str, pid: int) -> None:
        with self.lock:
            watched = self.programs.get(name)
            if watched is None:
                return
            watched.state = state
            if state == "STARTING":
                watched.starts += 1
                watched.phase = "starting"
                watched.failures = 0
                watched.health = "starting"
                watched.started_at = time.monotonic()
                watched.next_probe = 0.0
            if state == "RUNNING":
                watched.pid = pid
            if state in ("EXITED", "BACKOFF", "FATAL", "STOPPED"):
                watched.health = state.lower()
        logger.info("%s: %s%s", name, state, f" (pid {pid})" if pid else "")
        self.write_status()

    # ---- probes (background thread) ------------------------------------------------------

    def run_probes(self) -> None:
        while True:
            now = time.monotonic()
            with self.lock:
                due = [
                    w
                    for w in self.programs.values()
                    if w.state == "RUNNING"
                    and w.url
                    and w.phase != "restarting"
                    and now >= w.next_probe
                ]
            for watched in due:
                self.probe_one(watched, now)
            self.write_status()
            time.sleep(TICK_SECONDS)

    def probe_one(self, watched: Watched, now: float) -> None:
        starting = watched.phase == "starting" and watched.startup is not None
        spec = watched.startup if starting else watched.liveness
        if spec is None:
            return
        if not starting and now - watched.started_at < spec.get("initial_delay", 0.0):
            return
        ok = probe(f"{watched.url}{spec['path']}", spec["timeout"])
        with self.lock:
            watched.next_probe = now + spec["period"]
            if ok:
                if starting:
                    logger.info("%s: started (%.0f s)", watched.name, now - watched.started_at)
                watched.phase, watched.failures, watched.health = "live", 0, "ok"
                return
            watched.failures += 1
            kind = "startup" if starting else "liveness"
            watched.health = f"{kind} probe failed {watched.failures}x"
            if watched.failures < spec["failures"]:
                if not starting:
                    logger.warning("%s: %s", watched.name, watched.health)
                return
            watched.phase = "restarting"
        logger.error(
            "%s: %s probe failed %d times in a row: restarting it",
            watched.name,
            kind,
            spec["failures"],
        )
        threading.Thread(target=self.restart, args=(watched,), daemon=True).start()

    def restart(self, watched: Watched) -> None:
        rpc = childutils.getRPCInterface(os.environ)
        try:
            rpc.supervisor.stopProcess(watched.name, True)  # SIGTERM, SIGKILL after its grace
        except Exception as error:  # already stopped, or exited meanwhile
            logger.warning("%s: stopping it: %s", watched.name, error)
        try:
            rpc.supervisor.startProcess(watched.name, False)
        except Exception as error:  # supervisord restarted it itself meanwhile
            logger.warning("%s: starting it: %s", watched.name, error)
        with self.lock:
            if watched.phase == "restarting":
                watched.phase = "starting"

    def write_status(self) -> None:
        with self.lock:
            status = {
                "updated": time.time(),
                "programs": {
                    w.name: {
                        "state": w.state,
                        "pid": w.pid,
                        "starts": w.starts,
                        "health": w.health,
                        "failures": w.failures,
                    }
                    for w in self.programs.values()
                },
            }
        temporary = self.status_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(status, indent=1), encoding="utf-8")
        temporary.replace(self.status_path)


def main() -> int:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    watcher = Watcher(spec)
    threading.Thread(target=watcher.run_probes, daemon=True, name="probes").start()
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        try:
            event = headers.get("eventname", "")
            if event.startswith("PROCESS_STATE_"):
                fields, _ = childutils.eventdata(payload + "\n")
                watcher.on_state(
                    fields.get("processname", ""),
                    event.removeprefix("PROCESS_STATE_"),
                    int(fields.get("pid", 0) or 0),
                )
        finally:
            childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
