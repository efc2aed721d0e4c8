"""`sync`: a newer export from a local HTTP server is swapped in; anything else changes nothing.

Every server is a ThreadingHTTPServer on 127.0.0.1 (see conftest.http_server); nothing here
touches the internet. "Unchanged" is checked by reading the database back.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from catalogue import store
from catalogue.compiled import Catalogue
from catalogue.errors import CatalogueInvalid, SyncError
from catalogue.reader import checksum_of, read_texts
from catalogue.sync import EXPORT_FORMAT, build_export, parse_export, sync

NEW_VERSION = "2099.1.1"


@pytest.fixture
def loaded(engine: Engine, real_catalogue: Catalogue) -> Catalogue:
    """The database holds the real catalogue before each sync."""
    store.save(engine, real_catalogue, origin="catalogue/data")
    return real_catalogue


@pytest.fixture
def newer_export(make_files: Callable[..., Any]) -> bytes:
    return make_files("newer", version=NEW_VERSION).export_body()


def assert_unchanged(engine: Engine, before: Catalogue) -> None:
    assert store.current_checksum(engine) == before.checksum
    assert store.current_version(engine) == before.version
    stored = store.read(engine)
    assert stored.checksum == before.checksum
    assert stored.data == before.data


# ---- good exports -------------------------------------------------------------------------------


def test_a_newer_export_is_loaded_and_the_same_again_is_unchanged(
    engine: Engine, loaded: Catalogue, newer_export: bytes, serve_bytes: Callable[..., Any]
) -> None:
    server = serve_bytes(newer_export)

    first = sync(engine, server.url, timeout=5, retries=0)

    assert (first.status, first.version, first.previous_version) == (
        "updated",
        NEW_VERSION,
        loaded.version,
    )
    stored = store.read(engine)
    assert stored.version == NEW_VERSION
    assert stored.checksum == json.loads(newer_export)["sha256"]
    assert stored.checksum != loaded.checksum

    second = sync(engine, server.url, timeout=5, retries=0)

    assert (second.status, second.version) == ("unchanged", NEW_VERSION)
    assert store.read(engine).checksum == stored.checksum
    assert server.requests == 2


def test_an_export_into_an_empty_database_is_loaded(
    engine: Engine, newer_export: bytes, serve_bytes: Callable[..., Any]
) -> None:
    result = sync(engine, serve_bytes(newer_export).url, timeout=5, retries=0)

    assert (result.status, result.previous_version) == ("updated", None)
    assert store.current_version(engine) == NEW_VERSION


def test_the_export_of_the_real_data_round_trips(real_catalogue: Catalogue) -> None:
    document = build_export()

    assert document["format"] == EXPORT_FORMAT
    assert document["version"] == real_catalogue.version
    assert document["sha256"] == real_catalogue.checksum
    assert parse_export(json.dumps(document).encode()) == document["files"]


def test_a_gzip_encoded_export_is_loaded(
    engine: Engine, loaded: Catalogue, newer_export: bytes, serve_bytes: Callable[..., Any]
) -> None:
    # What a web server does with a precompressed file: Content-Length is the gzip size.
    server = serve_bytes(gzip.compress(newer_export), headers={"Content-Encoding": "gzip"})

    result = sync(engine, server.url, timeout=5, retries=0)

    assert result.status == "updated"
    assert store.current_version(engine) == NEW_VERSION


def test_unavailable_twice_then_ok_is_retried(
    engine: Engine,
    loaded: Catalogue,
    newer_export: bytes,
    http_server: Callable[..., Any],
) -> None:
    def respond(handler: Any) -> None:
        if handler.server.requests <= 2:
            handler.send(503, b'{"error": "busy"}')
        else:
            handler.send(200, newer_export)

    server = http_server(respond)

    result = sync(engine, server.url, timeout=5, retries=3, backoff=0)

    assert result.status == "updated"
    assert server.requests == 3
    assert store.current_version(engine) == NEW_VERSION


def test_force_loads_an_older_export(
    engine: Engine,
    loaded: Catalogue,
    make_files: Callable[..., Any],
    serve_bytes: Callable[..., Any],
) -> None:
    server = serve_bytes(make_files("older", version="2020.1.1").export_body())

    result = sync(engine, server.url, timeout=5, retries=0, force=True)

    assert (result.status, result.version) == ("updated", "2020.1.1")
    assert store.current_version(engine) == "2020.1.1"


def test_a_matching_sha256_is_accepted(
    engine: Engine, loaded: Catalogue, newer_export: bytes, serve_bytes: Callable[..., Any]
) -> None:
    sha256 = json.loads(newer_export)["sha256"]

    result = sync(
        engine, serve_bytes(newer_export).url, timeout=5, retries=0, expected_sha256=sha256.upper()
    )

    assert result.status == "updated"


# ---- bad downloads change nothing ---------------------------------------------------------------


def _flip_case_in_a_text(body: bytes) -> bytes:
    # Inside adl's title: the JSON stays valid, only the content no longer matches its sha256.
    at = body.index(b"Algemene Dagelijkse")
    return body[:at] + bytes([body[at] ^ 0x20]) + body[at + 1 :]


def _flip_bytes(body: bytes) -> bytes:
    middle = len(body) // 2
    return body[:middle] + bytes(b ^ 0xFF for b in body[middle : middle + 8]) + body[middle + 8 :]


@pytest.mark.parametrize(
    ("corrupt", "says"),
    [(_flip_case_in_a_text, "checksum does not match"), (_flip_bytes, "not valid JSON")],
    ids=["text_changed", "bytes_flipped"],
)
def test_a_corrupt_export_changes_nothing(
    engine: Engine,
    loaded: Catalogue,
    newer_export: bytes,
    serve_bytes: Callable[..., Any],
    corrupt: Callable[[bytes], bytes],
    says: str,
) -> None:
    server = serve_bytes(corrupt(newer_export))

    with pytest.raises(SyncError, match=says):
        sync(engine, server.url, timeout=5, retries=0)

    assert_unchanged(engine, loaded)


def test_a_half_sent_export_changes_nothing(
    engine: Engine, loaded: Catalogue, newer_export: bytes, http_server: Callable[..., Any]
) -> None:
    def respond(handler: Any) -> None:
        # Promises the whole body, sends half, and closes the connection (HTTP/1.0).
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(newer_export)))
        handler.end_headers()
        handler.wfile.write(newer_export[: len(newer_export) // 2])
        handler.wfile.flush()

    server = http_server(respond)

    with pytest.raises(SyncError):
        sync(engine, server.url, timeout=5, retries=0)

    assert server.requests == 1
    assert_unchanged(engine, loaded)


def test_a_server_slower_than_the_timeout_changes_nothing(
    engine: Engine, loaded: Catalogue, newer_export: bytes, http_server: Callable[..., Any]
) -> None:
    def respond(handler: Any) -> None:
        # At most 2 s, and woken at teardown: the server never holds up the test run.
        handler.server.stopping.wait(2.0)
        handler.send(200, newer_export)

    server = http_server(respond)

    with pytest.raises(SyncError, match="could not fetch"):
        sync(engine, server.url, timeout=0.5, retries=0)

    assert server.requests == 1
    assert_unchanged(engine, loaded)


def test_not_found_changes_nothing(
    engine: Engine, loaded: Catalogue, serve_bytes: Callable[..., Any]
) -> None:
    server = serve_bytes(b'{"error": "not found"}', status=404)

    with pytest.raises(SyncError, match="404"):
        sync(engine, server.url, timeout=5, retries=3, backoff=0)

    assert server.requests == 1  # a 404 is not retried
    assert_unchanged(engine, loaded)


def test_still_unavailable_after_the_retries_changes_nothing(
    engine: Engine, loaded: Catalogue, serve_bytes: Callable[..., Any]
) -> None:
    server = serve_bytes(b"{}", status=503)

    with pytest.raises(SyncError, match="503"):
        sync(engine, server.url, timeout=5, retries=2, backoff=0)

    assert server.requests == 3
    assert_unchanged(engine, loaded)


def test_an_invalid_catalogue_in_a_well_formed_export_changes_nothing(
    engine: Engine,
    loaded: Catalogue,
    make_files: Callable[..., Any],
    serve_bytes: Callable[..., Any],
) -> None:
    files = make_files("invalid", version=NEW_VERSION)
    files.edit_yaml(
        "units.yaml", lambda d: files.entry(d, "units", "adl").update(qualification="vig_9")
    )
    texts = read_texts(files.directory)
    document = {
        "format": EXPORT_FORMAT,
        "version": NEW_VERSION,
        "sha256": checksum_of(texts),  # correct: the export is intact, its content is wrong
        "files": texts,
    }
    server = serve_bytes(json.dumps(document).encode())

    with pytest.raises(SyncError) as raised:
        sync(engine, server.url, timeout=5, retries=0)

    assert "invalid catalogue" in str(raised.value)
    assert "units.yaml: unit 'adl': qualification 'vig_9' is not in qualifications.yaml" in str(
        raised.value
    )
    assert_unchanged(engine, loaded)


@pytest.mark.parametrize("version", ["2020.1.1", "2026.12.7"], ids=["older", "same_version"])
def test_an_export_that_is_not_newer_changes_nothing(
    engine: Engine,
    loaded: Catalogue,
    make_files: Callable[..., Any],
    serve_bytes: Callable[..., Any],
    version: str,
) -> None:
    files = make_files("older", version=version)
    files.replace_text("catalogue.yaml", "Zijwijzer-catalogus", "Zijwijzer catalogus")
    server = serve_bytes(files.export_body())

    with pytest.raises(SyncError, match=re.escape("not newer than the loaded 2026.12.7")):
        sync(engine, server.url, timeout=5, retries=0)

    assert_unchanged(engine, loaded)


def test_a_sha256_other_than_the_given_one_changes_nothing(
    engine: Engine, loaded: Catalogue, newer_export: bytes, serve_bytes: Callable[..., Any]
) -> None:
    server = serve_bytes(newer_export)

    with pytest.raises(SyncError, match="--sha256"):
        sync(engine, server.url, timeout=5, retries=0, expected_sha256="0" * 64)

    assert_unchanged(engine, loaded)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"format": "something-else/1", "files": {}}', "not in the format"),
        (json.dumps({"format": EXPORT_FORMAT, "files": ["units.yaml"]}).encode(), "no files"),
        (b"[1, 2, 3]", "not in the format"),
    ],
    ids=["other_format", "files_not_a_mapping", "not_an_object"],
)
def test_an_export_of_another_shape_changes_nothing(
    engine: Engine,
    loaded: Catalogue,
    serve_bytes: Callable[..., Any],
    body: bytes,
    says: str,
) -> None:
    with pytest.raises(SyncError, match=says):
        sync(engine, serve_bytes(body).url, timeout=5, retries=0)

    assert_unchanged(engine, loaded)


def test_only_http_urls_are_fetched(engine: Engine, loaded: Catalogue) -> None:
    with pytest.raises(SyncError, match="http"):
        sync(engine, "file:///etc/passwd", timeout=5, retries=0)

    assert_unchanged(engine, loaded)


# ---- exports are only made of valid catalogues --------------------------------------------------


def test_build_export_refuses_a_catalogue_with_field_problems(files: Any) -> None:
    files.replace_text("catalogue.yaml", 'version: "2026.12.7"', "version:")

    with pytest.raises(CatalogueInvalid):
        build_export(files.directory)


def test_build_export_refuses_a_catalogue_failing_the_cross_checks(files: Any) -> None:
    files.replace_text("rules.yaml", "when: \"goal == 'diploma'\"", "when: \"goal == 'diplom'\"")

    with pytest.raises(CatalogueInvalid) as raised:
        build_export(files.directory)

    assert any("goal is never 'diplom'" in str(p) for p in raised.value.problems)
