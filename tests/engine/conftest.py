"""Fixtures of the engine's tests, which run in the engine's runtime (.venv-rasa, Python 3.10).

`make pytest-engine-runtime` runs this folder with only the engine's plugin folder on the path
(tools/assistant.py `plugin_path`), never the project root: our `catalogue` package would hide
spaCy's. So nothing here imports from `tests` or `tools`; the project's files are read by path.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "zijwijzer.tar.gz"
REDIS_URL_ENV = "ZIJWIJZER_TEST_REDIS_URL"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def trained_model() -> Path:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: `make train` first")
    return MODEL


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    if not url:
        pytest.skip(f"{REDIS_URL_ENV} not set (e.g. redis://127.0.0.1:6379/0): Redis tests skipped")
    return url


@pytest.fixture(autouse=True)
def pristine_rasa(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undoes what the engine's `install()` functions patch into Rasa after each test: the
    tests share one process, and each expects Rasa as it comes (as in a starting engine)."""
    from rasa.core import run as rasa_run
    from rasa.core.actions import action as rasa_actions
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    patched: list[tuple[object, str]] = [
        (Agent, "_create_tracker_store"),
        (SQLTrackerStore, "__init__"),
        (SQLTrackerStore, "session_scope"),
        (rasa_actions, "DEFAULT_REQUEST_TIMEOUT"),
        (rasa_actions.RemoteAction, "run"),
        (rasa_actions.RemoteAction, "_validate_action_result"),
        # bot/engine/action_client.py's mark
        (rasa_actions.RemoteAction, "_zijwijzer_action_client"),
        (rasa_run, "close_resources"),
        (Domain, "states_for_tracker_history"),
    ]
    for owner, name in patched:
        # On a class, monkeypatch restores the attribute as the class held it (a staticmethod
        # stays one) and deletes it again when the class did not hold it (the mark).
        if isinstance(owner, type):
            current = vars(owner).get(name, getattr(owner, name, None))
        else:
            current = getattr(owner, name)
        monkeypatch.setattr(owner, name, current, raising=False)


Until = Callable[[Callable[[], bool]], Awaitable[None]]


@pytest.fixture
def until() -> Until:
    """Waits for a condition: a bounded poll (5 s), failing the test when it never holds."""

    async def wait(condition: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail("the awaited condition never held")
            await asyncio.sleep(0.01)

    return wait


class ActionServer:
    """A local HTTP server (aiohttp, a free port) standing in for the action server; `stalled`
    keeps a request open, as a hung server does, until the test ends."""

    def __init__(self) -> None:
        self.released = asyncio.Event()
        self._runners: list[web.AppRunner] = []

    async def start(self, routes: dict[str, Handler]) -> str:
        """Serves `routes` (path -> handler, POST); the base URL."""
        app = web.Application()
        for path, handler in routes.items():
            app.router.add_post(path, handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runners.append(runner)
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return f"http://127.0.0.1:{port}"

    async def stalled(self) -> None:
        await self.released.wait()

    async def close(self) -> None:
        from bot.engine import action_client

        self.released.set()
        await action_client.close_sessions()
        for runner in self._runners:
            await runner.cleanup()


@pytest.fixture
async def action_server() -> AsyncIterator[ActionServer]:
    server = ActionServer()
    yield server
    await server.close()


@pytest.fixture
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Runs the test in its own working directory (files Rasa or SQLite write land there)."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
