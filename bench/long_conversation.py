"""One long conversation over the REST channel: does turn 200 stay close to turn 10?

    .venv/bin/python bench/long_conversation.py [--turns 210] [--database sqlite postgresql]

Starts Zijwijzer (action server + engine, as `make run` does, through bench/chat.py and
tools/assistant.py) with the tracker store on a fresh SQLite file, and again on a schema of its
own in PostgreSQL when ZIJWIJZER_BENCH_POSTGRES_URL (or ZIJWIJZER_TEST_POSTGRES_URL) is set.
Then one user has one conversation of --turns messages without a pause (so no session
expiry): the intake of bench/chat.py, then the same cycle of questions, corrections and "wat
weet je van mij?" over and over. Every turn is timed (POST /webhooks/rest/webhook).

Prints the median latency of ten turns around turns 10, 50, 100 and 200 (turns 6-15, 46-55,
...), the ratio turn 200 / turn 10 (the production issue's goal: at most 3x), the same for the
question cycle alone (the first cycle against the last, same messages), and how many events
the conversation stored. ZIJWIJZER_TRACKER_HISTORY_EVENTS reaches the engine as set (the
tracker store's bound, bot/engine/tracker_store.py): set it to 0 for the unbounded figures.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import secrets
import signal
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import chat  # noqa: E402  (bench/chat.py: settings, start and REST headers of the chat bench)

from tests.postgres import fresh_schema  # noqa: E402
from tools import assistant  # noqa: E402

# ---- the conversation: edit these when the flow changes ----------------------------------
# The intake of the chat bench (without its goodbye), then questions a side-entrant asks
# while thinking it over, with corrections of earlier answers in between.
INTAKE = [message for message in chat.ZIJWIJZER_CONVERSATION if message != "bedankt, doei"]
CYCLE = [
    "wat kost de leereenheid ADL?",
    "wat is BBL?",
    "wat weet je van mij?",
    "wat is de derde leerweg?",
    "nee, ik ben 40",
    "wat kost het?",
    "waarom dit advies?",
    "wat is een leereenheid?",
    "ik kan 32 uur werken",
    "vertel meer over het advies",
    "wat kost EVC",
    "nee ik ben 38",
]
CHECKPOINTS = (10, 50, 100, 200)
WINDOW_BEFORE, WINDOW_AFTER = 4, 5  # turns 6-15 around turn 10

HOST = chat.HOST
PORT, ACTION_PORT = 5307, 5357
BENCH_DIR = chat.BENCH_DIR
POSTGRES_ENVS = ("ZIJWIJZER_BENCH_POSTGRES_URL", "ZIJWIJZER_TEST_POSTGRES_URL")


def script(turns: int) -> list[str]:
    messages = list(INTAKE)
    while len(messages) < turns:
        messages += CYCLE
    return messages[:turns]


@dataclass
class Run:
    database: str
    latencies: list[float] = field(default_factory=list)  # seconds, turn 1 first
    errors: int = 0
    empty: int = 0
    stored_events: int = 0

    def window(self, turn: int) -> list[float]:
        first = max(turn - WINDOW_BEFORE, 1)
        return self.latencies[first - 1 : turn + WINDOW_AFTER]

    def median_ms(self, turn: int) -> float:
        values = self.window(turn)
        return statistics.median(values) * 1000 if values else float("nan")

    def cycles_ms(self) -> tuple[float, float]:
        """p50 of the first and of the last complete question cycle (the same messages)."""
        start = len(INTAKE)
        complete = (len(self.latencies) - start) // len(CYCLE)
        if complete < 2:
            return float("nan"), float("nan")
        first = self.latencies[start : start + len(CYCLE)]
        last_start = start + (complete - 1) * len(CYCLE)
        last = self.latencies[last_start : last_start + len(CYCLE)]
        return statistics.median(first) * 1000, statistics.median(last) * 1000


def converse(url: str, headers: dict[str, str], messages: Sequence[str], run: Run) -> str:
    sender = f"bench-long-{uuid.uuid4().hex[:12]}"
    with requests.Session() as session:
        session.headers.update(headers)
        for number, message in enumerate(messages, start=1):
            replies, elapsed = chat.send(session, url, sender, message)
            run.latencies.append(elapsed)
            if replies is None:
                run.errors += 1
            elif not replies:
                run.empty += 1
            if number % 50 == 0:
                print(f"  {run.database}: turn {number}, {run.latencies[-1] * 1000:.0f} ms")
    return sender


def stored_events(url: str, sender: str) -> int:
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
            row = db.execute("SELECT count(*) FROM events WHERE sender_id = ?", (sender,))
            return int(row.fetchone()[0])
    database = create_engine(url, poolclass=NullPool)
    try:
        with database.connect() as connection:
            query = text("SELECT count(*) FROM events WHERE sender_id = :sender")
            return int(connection.execute(query, {"sender": sender}).scalar_one())
    finally:
        database.dispose()


def bench(database: str, tracker_url: str, turns: int) -> Run:
    jwt_secret = secrets.token_urlsafe(32)
    settings = chat.zijwijzer_settings(PORT, ACTION_PORT, jwt_secret)
    settings = dataclasses.replace(settings, tracker_database_url=tracker_url)
    run = Run(database)
    processes: list[assistant.Process] = []
    try:
        started = time.monotonic()
        processes += chat.start_zijwijzer(settings)
        assistant.wait_ready(processes)
        print(f"{database}: ready after {time.monotonic() - started:.0f} s")
        url = f"http://{HOST}:{PORT}/webhooks/rest/webhook"
        # Warm-up (not measured): the first turns load lazily initialised parts.
        converse(url, chat.rest_headers(settings), INTAKE[:3], Run("warm-up"))
        sender = converse(url, chat.rest_headers(settings), script(turns), run)
    finally:
        assistant.stop(processes)
    run.stored_events = stored_events(tracker_url, sender)
    return run


def report(run: Run) -> dict[str, object]:
    medians = {turn: run.median_ms(turn) for turn in CHECKPOINTS if turn <= len(run.latencies)}
    cells = ", ".join(
        f"turn {t} {m:.0f} ms (turns {max(t - WINDOW_BEFORE, 1)}-{t + WINDOW_AFTER})"
        for t, m in medians.items()
    )
    print(f"\n{run.database}: p50 per turn: {cells}")
    ratio = medians[200] / medians[10] if 200 in medians and 10 in medians else float("nan")
    verdict = "met" if ratio <= 3 else "NOT met"
    print(f"{run.database}: turn 200 / turn 10 = {ratio:.2f}x (goal <= 3x: {verdict})")
    first, last = run.cycles_ms()
    print(
        f"{run.database}: question cycle p50, first {first:.0f} ms, last {last:.0f} ms "
        f"({last / first:.2f}x)"
    )
    print(
        f"{run.database}: {len(run.latencies)} turns, {run.errors} errors, {run.empty} without a "
        f"reply, {run.stored_events} events stored"
    )
    return {
        "database": run.database,
        "turns": len(run.latencies),
        "p50_ms_at_turn": medians,
        "ratio_200_10": ratio,
        "cycle_first_last_p50_ms": [first, last],
        "errors": run.errors,
        "no_reply": run.empty,
        "stored_events": run.stored_events,
        "latencies_ms": [round(value * 1000, 1) for value in run.latencies],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=210)
    parser.add_argument("--database", nargs="+", choices=["sqlite", "postgresql"])
    parser.add_argument("--json", type=Path, default=BENCH_DIR / "long_conversation.json")
    args = parser.parse_args(argv)
    if args.turns < 20:
        parser.error("--turns: at least 20")
    postgres_url = next((os.environ[n].strip() for n in POSTGRES_ENVS if os.environ.get(n)), "")
    databases = args.database or (["sqlite", "postgresql"] if postgres_url else ["sqlite"])
    if "postgresql" in databases and not postgres_url:
        parser.error("postgresql: set ZIJWIJZER_BENCH_POSTGRES_URL")

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    busy = [p for p in (PORT, ACTION_PORT) if not chat.port_free(p)]
    if busy:
        print(f"error: ports in use on {HOST}: {busy}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, chat._interrupt)
    signal.signal(signal.SIGTERM, chat._interrupt)
    bound = os.environ.get("ZIJWIJZER_TRACKER_HISTORY_EVENTS", "(default)")
    print(f"ZIJWIJZER_TRACKER_HISTORY_EVENTS={bound}; {args.turns} turns per conversation")
    results = []
    load_before = os.getloadavg()[0]
    try:
        for database in databases:
            if database == "sqlite":
                run = bench("SQLite", f"sqlite:///{BENCH_DIR / 'long-trackers.db'}", args.turns)
            else:
                with fresh_schema(postgres_url, prefix="zw_bench_") as scoped:
                    run = bench("PostgreSQL", scoped, args.turns)
            results.append(report(run))
    except KeyboardInterrupt:
        print("interrupted; the assistant was stopped", file=sys.stderr)
        return 130
    except (RuntimeError, TimeoutError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    load_after = os.getloadavg()[0]
    # Other work on the machine skews every figure: say how busy it was.
    print(f"load average (1 min) before {load_before:.2f}, after {load_after:.2f}")
    args.json.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "tracker_history_events": bound,
                "load_average_before_after": [load_before, load_after],
                "runs": results,
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
