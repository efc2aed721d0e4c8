"""Fixtures of the catalogue tests: catalogue copies to break, databases, a local HTTP server.
(`real_catalogue`, the compiled catalogue/data, comes from tests/conftest.py.)

Database fixtures: `sqlite_engine` (a file in tmp_path), `postgres_engine` (a temporary schema
in the database named by ZIJWIJZER_TEST_POSTGRES_URL, skipped when that is unset) and `engine`,
parametrized over both so that most store and sync tests run on both backends.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, create_engine

from catalogue import store
from catalogue.compiled import Catalogue
from catalogue.reader import DATA_DIR, load_directory
from catalogue.sync import build_export
from tests.catalogue.replay.corpus import RECORD_ENV
from tests.catalogue.samples import SAMPLE_PROFILES
from tests.postgres import postgres_schema

# ---- recording the profiles the tests use (for the replay corpus) --------------------------------

_recorded: dict[str, dict[str, Any]] = {}
_recording_paused: list[bool] = [False]


@contextlib.contextmanager
def recording_paused() -> Iterator[None]:
    """Profiles replayed from the corpus itself are not recorded again."""
    _recording_paused[0] = True
    try:
        yield
    finally:
        _recording_paused[0] = False


@pytest.fixture(autouse=True)
def _record_profiles(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ZIJWIJZER_RECORD_PROFILES set, every valid profile a test gives the engine is kept
    (hypothesis's generated ones aside: they differ per run)."""
    if not os.environ.get(RECORD_ENV) or "test_properties" in request.node.nodeid:
        return
    import catalogue.advice as advice_module

    original = advice_module.parse_profile
    source = request.node.nodeid.removeprefix("tests/catalogue/").replace(".py::", "::")

    def recording(data: Any, known_qualifications: Any = None) -> Any:
        profile = original(data, known_qualifications)
        if not _recording_paused[0] and isinstance(data, dict):
            key = json.dumps(data, sort_keys=True, ensure_ascii=False)
            _recorded.setdefault(key, {"source": source, "profile": json.loads(key)})
        return profile

    monkeypatch.setattr(advice_module, "parse_profile", recording)


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get(RECORD_ENV)
    if path:
        recorded = sorted(_recorded.values(), key=lambda r: (r["source"], json.dumps(r["profile"])))
        with open(path, "w", encoding="utf-8") as out:
            json.dump(recorded, out, ensure_ascii=False)


# ---- catalogue files ----------------------------------------------------------------------------


class CatalogueFiles:
    """A copy of the catalogue's YAML files in a folder, with helpers to break one thing."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, name: str) -> Path:
        return self.directory / name

    def read(self, name: str) -> str:
        return self.path(name).read_text(encoding="utf-8")

    def write(self, name: str, content: str) -> None:
        self.path(name).write_text(content, encoding="utf-8")

    def remove(self, name: str) -> None:
        self.path(name).unlink()

    def replace_text(self, name: str, old: str, new: str) -> None:
        """Replaces the one occurrence of `old` (which must occur exactly once)."""
        content = self.read(name)
        assert content.count(old) == 1, f"{old!r} occurs {content.count(old)} times in {name}"
        self.write(name, content.replace(old, new))

    def edit_yaml(self, name: str, edit: Callable[[Any], None]) -> None:
        """Parses the file, lets `edit` change the document in place, and dumps it back.

        YAML anchors (units.yaml's shared price) come back as one shared object: replace such
        a value instead of changing it in place, or every entry sharing it changes too.
        """
        document = yaml.safe_load(self.read(name))
        edit(document)
        self.write(name, yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=1000))

    def entry(self, document: Any, key: str, entry_id: str) -> dict[str, Any]:
        """The entry with `entry_id` in the list under `key` of a parsed document."""
        found = [item for item in document[key] if item.get("id") == entry_id]
        assert len(found) == 1, f"{key} has {len(found)} entries with id {entry_id!r}"
        return found[0]

    def set_version(self, version: str) -> None:
        content = self.read("catalogue.yaml")
        changed, count = re.subn(r"(?m)^version: .*$", f'version: "{version}"', content)
        assert count == 1
        self.write("catalogue.yaml", changed)

    def load(self) -> Catalogue:
        return load_directory(self.directory)

    def export_body(self) -> bytes:
        return json.dumps(build_export(self.directory), ensure_ascii=False).encode("utf-8")


@pytest.fixture
def make_files(tmp_path: Path) -> Callable[..., CatalogueFiles]:
    """Copies catalogue/data into tmp_path/<name> (optionally with another version)."""

    def make(name: str = "data", *, version: str | None = None) -> CatalogueFiles:
        target = tmp_path / name
        shutil.copytree(DATA_DIR, target)
        files = CatalogueFiles(target)
        if version is not None:
            files.set_version(version)
        return files

    return make


@pytest.fixture
def files(make_files: Callable[..., CatalogueFiles]) -> CatalogueFiles:
    """A fresh copy of the real catalogue's files, ready to be broken."""
    return make_files()


@pytest.fixture
def sample_profiles() -> dict[str, dict[str, Any]]:
    return json.loads(json.dumps(SAMPLE_PROFILES))


# ---- databases ----------------------------------------------------------------------------------


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = store.make_engine(f"sqlite:///{tmp_path / 'db' / 'catalogue.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    """An engine whose connections only see a schema of their own, dropped afterwards."""
    with postgres_schema() as url:
        # The same settings as store.make_engine gives a PostgreSQL URL.
        engine = create_engine(url, pool_pre_ping=True)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The catalogue database, once on SQLite and once on PostgreSQL (when configured)."""
    engine: Engine = request.getfixturevalue(f"{request.param}_engine")
    return engine


# ---- a local HTTP server ------------------------------------------------------------------------

Respond = Callable[["Handler"], None]


class Handler(BaseHTTPRequestHandler):
    """Counts each GET and hands it to the test's `respond` function."""

    server: LocalServer

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests += 1
        # The client may have given up (a timeout test): then there is nothing to answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.server.respond(self)

    def send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        """A complete answer; headers may override Content-Length."""
        all_headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        all_headers.update(headers or {})
        self.send_response(status)
        for name, value in all_headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler still asleep never holds up the test's teardown

    def __init__(self, respond: Respond) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.respond = respond
        self.requests = 0
        self.lock = threading.Lock()
        # Set at teardown: handlers that wait for it (the slow server) wake up and finish.
        self.stopping = threading.Event()
        self.thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/export.json"

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def http_server() -> Iterator[Callable[[Respond], LocalServer]]:
    """Starts local servers on 127.0.0.1 (port chosen by the OS); all stopped afterwards."""
    started: list[LocalServer] = []

    def start(respond: Respond) -> LocalServer:
        server = LocalServer(respond)
        server.thread.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def serve_bytes(
    http_server: Callable[[Respond], LocalServer],
) -> Callable[..., LocalServer]:
    """A server answering every GET with `body` (status 200 unless told)."""

    def start(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> LocalServer:
        return http_server(lambda handler: handler.send(status, body, headers))

    return start
