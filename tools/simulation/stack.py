"""An action server and engine of their own for `make simulate`, as `make run` starts them.

On free loopback ports, with a fresh SQLite tracker store under build/simulate/ and a copy
of the catalogue database (`make simulate` loads it first), so the advice saved and the
questions kept by thousands of simulated people stay out of var/; the trained model of
models/. Stopped (their process groups) when the block ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

from bot.common.settings import load_settings
from tools import assistant

WORKDIR = assistant.ROOT / "build" / "simulate"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running_stack(workdir: Path = WORKDIR) -> Iterator[tuple[str, str]]:
    """(engine URL, REST key) of a running action server and engine."""
    if not assistant.MODEL.exists():
        raise RuntimeError(f"no trained model at {assistant.MODEL}: run `make train` first")
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    action_port, engine_port = _free_port(), _free_port()
    settings = dataclasses.replace(
        load_settings(),
        rasa_port=engine_port,
        action_port=action_port,
        action_server_url=f"http://127.0.0.1:{action_port}/webhook",
        tracker_database_url=f"sqlite:///{workdir / 'trackers.db'}",
        log_level="WARNING",
    )
    catalogue_db = Path(settings.database_url.removeprefix("sqlite:///"))
    if not settings.database_url.startswith("sqlite:///") or not catalogue_db.exists():
        raise RuntimeError("no catalogue database: run `python -m catalogue load` first")
    shutil.copyfile(catalogue_db, workdir / "zijwijzer.db")
    env = {**os.environ, "ZIJWIJZER_DATABASE_URL": f"sqlite:///{workdir / 'zijwijzer.db'}"}
    with (
        (workdir / "actions.log").open("wb") as actions,
        (workdir / "engine.log").open("wb") as engine,
    ):
        processes = [
            assistant.start_action_server(settings, env, output=actions),
            assistant.start_engine(settings, env, workdir=workdir / "rasa", output=engine),
        ]
    try:
        assistant.wait_ready(processes)
        yield f"http://127.0.0.1:{engine_port}", settings.rest_api_key
    finally:
        assistant.stop(processes)
