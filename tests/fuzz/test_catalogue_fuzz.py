"""The catalogue loader and sync: mutated versions of the real catalogue load or fail clearly.

Each input is the real catalogue (catalogue/data) with one to three mutations: keys dropped
or renamed, values of the wrong type, huge strings, duplicated entries, impossible dates,
files cut off, garbage inserted, a file missing or one too many; the export around it may be
corrupt too. It goes through the real `sync` (an HTTP download from a local server, the
format and checksum checks, the loader, the transaction) into a SQLite database that holds a
catalogue already. The only way to fail is SyncError with a message, and then the database
is exactly as it was; otherwise the new catalogue is the one stored.

Loading parses ten YAML files (0.3 s with PyYAML's pure-Python parser); files a mutation did
not touch are parsed once and handed out as copies, so that the examples go to what changed.
"""

from __future__ import annotations

import copy
import functools
import json
import string
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given
from hypothesis import strategies as st
from sqlalchemy import Engine, MetaData, Table, select

from catalogue import reader, store
from catalogue.errors import CatalogueInvalid, SyncError
from catalogue.reader import DATA_DIR, FILE_NAMES, checksum_of, load_texts, parse_texts, read_texts
from catalogue.sync import EXPORT_FORMAT, parse_export, sync
from tests.catalogue.conftest import LocalServer
from tests.fuzz.budget import fuzz

DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
REAL_TEXTS = read_texts(DATA_DIR)
REAL_DOCUMENTS = {name: yaml.safe_load(text) for name, text in REAL_TEXTS.items()}


@pytest.fixture(scope="module")
def cached_yaml() -> Iterator[None]:
    """The loader's YAML parser, with the unchanged real files' results reused (as copies)."""
    real_parse = reader.parse_yaml

    def parse_yaml(text: str) -> Any:
        for name, real in REAL_TEXTS.items():
            if text == real:
                return copy.deepcopy(REAL_DOCUMENTS[name])
        return real_parse(text)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader, "parse_yaml", parse_yaml)
        yield


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A SQLite catalogue database holding the real catalogue."""
    path = tmp_path_factory.mktemp("fuzz-catalogue") / "catalogue.db"
    engine = store.make_engine(f"sqlite:///{path}")
    store.save(engine, load_texts(REAL_TEXTS), origin="fuzz")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def export_server() -> Iterator[tuple[LocalServer, dict[str, bytes]]]:
    """A local server answering every GET with `served["body"]`."""
    served: dict[str, bytes] = {"body": b""}
    server = LocalServer(lambda handler: handler.send(200, served["body"]))
    server.thread.start()
    yield server, served
    server.stop()


@functools.cache
def _tables(engine: Engine) -> list[Table]:
    tables = MetaData()
    tables.reflect(engine)
    return list(tables.sorted_tables)


def snapshot(engine: Engine) -> list[list[str]]:
    """Every row of every table, in a comparable form."""
    with engine.connect() as connection:
        return [
            sorted(repr(tuple(row)) for row in connection.execute(select(table)))
            for table in _tables(engine)
        ]


# ---- mutations -----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
    max_leaves=6,
)
bad_dates = st.sampled_from(["2026-13-45", "2026-02-30", "0000-00-00", "gisteren", "2026-1-1"])
huge_strings = st.sampled_from(["x" * 100_000, "é" * 50_000, "\n" * 10_000, "<b>" * 20_000])


def node_path(draw: st.DrawFn, document: Any) -> list[Any]:
    """A random path of keys and indexes into a parsed document (at most four deep)."""
    path: list[Any] = []
    node = document
    for _ in range(draw(st.integers(1, 4))):
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node, key=str)))
        elif isinstance(node, list) and node:
            key = draw(st.integers(0, len(node) - 1))
        else:
            break
        path.append(key)
        node = node[key]
    return path


def mutate_document(draw: st.DrawFn, document: Any) -> Any:
    path = node_path(draw, document)
    if not path:
        return draw(json_values)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    how = draw(
        st.sampled_from(["drop", "rename", "wrong type", "huge", "duplicate", "date", "none"])
    )
    if how == "drop":
        del parent[key]
    elif how == "rename" and isinstance(parent, dict):
        parent[draw(st.text(max_size=12))] = parent.pop(key)
    elif how == "wrong type":
        parent[key] = draw(json_values)
    elif how == "huge":
        parent[key] = draw(huge_strings)
    elif how == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[key]))
    elif how == "duplicate" and isinstance(parent, dict):
        # A second entry with this one's id: every list entry holds an id.
        parent["id"] = str(draw(st.sampled_from(sorted(map(str, parent)))))
    elif how == "date":
        parent[key] = draw(bad_dates)
    else:
        parent[key] = None
    return document


def mutate_text(draw: st.DrawFn, text: str) -> str:
    at = draw(st.integers(0, len(text)))
    how = draw(st.sampled_from(["cut", "insert", "date", "delete"]))
    if how == "cut":
        return text[:at]
    if how == "insert":
        junk = draw(
            st.text(max_size=20)
            | st.sampled_from(["\t", ": :", "- - -", "&a *a", "!!python/object:os.system x"])
            | st.sampled_from(['"\\ud800"', "[" * 2_000, "{" * 500, "\x00", "\ufeff"])
        )
        return text[:at] + junk + text[at:]
    if how == "date":
        # An impossible date written as YAML reads a date (unquoted).
        return text.replace("2026-11-23", draw(bad_dates), 1)
    return text[:at] + text[at + draw(st.integers(1, 200)) :]


@st.composite
def catalogue_files(draw: st.DrawFn) -> dict[str, str]:
    files = dict(REAL_TEXTS)
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(FILE_NAMES))
        kind = draw(st.sampled_from(["document", "document", "text", "file"]))
        if name not in files:
            continue
        if kind == "document":
            try:
                unchanged = files[name] == REAL_TEXTS.get(name)
                parsed = (
                    copy.deepcopy(REAL_DOCUMENTS[name])
                    if unchanged
                    else yaml.safe_load(files[name])
                )
            except (yaml.YAMLError, ValueError, RecursionError):
                continue  # already broken by an earlier mutation of its text
            document = mutate_document(draw, parsed)
            # libyaml's emitter when there is one: the input is made fast, the loader's parser
            # (libyaml's too, as in production) reads it.
            files[name] = yaml.dump(
                document, Dumper=DUMPER, allow_unicode=True, sort_keys=False, width=1000
            )
        elif kind == "text":
            files[name] = mutate_text(draw, files[name])
        elif draw(st.booleans()):
            del files[name]
        else:
            files[draw(st.text(string.ascii_lowercase, min_size=1, max_size=8)) + ".yaml"] = "{}"
    return files


@st.composite
def export_bodies(draw: st.DrawFn) -> bytes:
    files = draw(catalogue_files())
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "version": "2099.1.1",
        "sha256": checksum_of(files),
        "files": files,
    }
    corrupt = draw(st.sampled_from(["none"] * 6 + ["sha256", "format", "cut", "files"]))
    if corrupt == "sha256":
        document["sha256"] = draw(st.text(string.hexdigits, max_size=64))
    elif corrupt == "format":
        document["format"] = draw(json_values)
    elif corrupt == "files":
        document["files"] = draw(json_values)
    body = json.dumps(document, ensure_ascii=draw(st.booleans())).encode()
    if corrupt == "cut":
        body = body[: draw(st.integers(0, len(body) - 1))]
    return body


# ---- properties ----------------------------------------------------------------------------------


def real_export(change: Callable[[dict[str, str]], None]) -> bytes:
    files = dict(REAL_TEXTS)
    change(files)
    return json.dumps(
        {"format": EXPORT_FORMAT, "version": "x", "sha256": checksum_of(files), "files": files}
    ).encode()


@fuzz(0.1, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=export_bodies(), force=st.booleans())
@example(  # PyYAML's date constructor raised ValueError for 2026-13-45 (not a YAMLError)
    body=real_export(
        lambda f: f.update(
            {"sources.yaml": f["sources.yaml"].replace("2026-11-23", "2026-13-45", 1)}
        )
    ),
    force=True,
)
@example(  # PyYAML reads nesting recursively: RecursionError escaped the loader
    body=real_export(
        lambda f: f.update({"glossary.yaml": "a: " + "[" * 2_000 + f["glossary.yaml"]})
    ),
    force=False,
)
@example(  # a "\ud800" escape in YAML is a lone surrogate: the schema refuses it
    body=real_export(
        lambda f: f.update({"catalogue.yaml": 'version: "2099.1.1"\ntitle: "\\ud800"\n'})
    ),
    force=True,
)
def test_sync_of_a_mutated_catalogue_loads_or_changes_nothing(
    body: bytes,
    force: bool,
    cached_yaml: None,
    database: Engine,
    export_server: tuple[LocalServer, dict[str, bytes]],
) -> None:
    server, served = export_server
    served["body"] = body
    before = snapshot(database)
    try:
        result = sync(database, server.url, timeout=10, retries=0, force=force)
    except SyncError as exc:
        event("refused: " + str(exc).split(":")[0][:40])
        assert str(exc).strip()
        assert snapshot(database) == before
        return
    event(f"sync: {result.status}")
    stored = store.read(database)
    assert result.version == stored.version
    assert stored.checksum == checksum_of(json.loads(body)["files"])


@fuzz(0.5)
@given(
    st.binary(max_size=300)
    | st.builds(
        lambda v: json.dumps(v).encode(),
        st.builds(
            lambda files, sha: {"format": EXPORT_FORMAT, "sha256": sha, "files": files},
            st.dictionaries(st.text(max_size=10), st.text(max_size=20)) | json_values,
            st.text(max_size=64),
        ),
    )
)
@example(b'{"format": "zijwijzer-catalogue/1", "sha256": "", "files": {"a": "\\ud800"}}')
def test_parse_export_refuses_garbage_with_sync_error(body: bytes) -> None:
    try:
        files = parse_export(body)
    except SyncError as exc:
        assert str(exc).strip()
        return
    assert checksum_of(files) == json.loads(body)["sha256"]


def test_the_real_catalogue_still_loads() -> None:
    # The mutations are only meaningful if the unmutated catalogue loads (the real parser here,
    # not the cached_yaml fixture that the sync test reuses its results through).
    assert parse_texts(REAL_TEXTS).version
    with pytest.raises(CatalogueInvalid):
        load_texts({**REAL_TEXTS, "catalogue.yaml": "version: [1]\ntitle: x\n"})


def test_read_texts_of_a_folder_that_is_not_there(tmp_path: Path) -> None:
    with pytest.raises(CatalogueInvalid):
        read_texts(tmp_path / "missing")
