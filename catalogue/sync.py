"""Catalogue exports, and `sync`: fetch a newer export over HTTP and swap it in atomically.

An export is one JSON document: {"format", "version", "sha256", "files": {name: text}}, where
sha256 is the checksum of the files (reader.checksum_of). A sync checks, in this order, that the
download is complete, is JSON of that format, matches its checksum (and the one given on the
command line, if any), holds a valid catalogue, and is newer than the loaded one. Only then is
it written, in one transaction. Any failure changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import requests
from packaging.version import InvalidVersion, Version
from requests.adapters import HTTPAdapter
from sqlalchemy import Engine
from urllib3.util.retry import Retry

from catalogue import store
from catalogue.errors import CatalogueInvalid, SyncError
from catalogue.reader import DATA_DIR, checksum_of, load_texts, read_texts

EXPORT_FORMAT: Final = "zijwijzer-catalogue/1"
MAX_EXPORT_BYTES: Final = 20 * 1024 * 1024


def build_export(directory: Path = DATA_DIR) -> dict[str, Any]:
    texts = read_texts(directory)
    data = load_texts(texts).data  # an export of a broken catalogue is refused at the source
    return {
        "format": EXPORT_FORMAT,
        "version": data.version,
        "sha256": checksum_of(texts),
        "files": texts,
    }


def _version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise SyncError(
            f"catalogue version {text!r} is not a version number like 2026.11.23"
        ) from None


@dataclass(frozen=True)
class SyncResult:
    status: str  # "updated" | "unchanged"
    version: str
    previous_version: str | None


def _session(retries: int, backoff: float) -> requests.Session:
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def fetch(url: str, *, timeout: float, retries: int, backoff: float = 0.5) -> bytes:
    """The export's bytes; raises SyncError for anything but a complete 200 answer."""
    if not url.startswith(("http://", "https://")):
        raise SyncError(f"url must start with http:// or https://, got {url!r}")
    try:
        with _session(retries, backoff) as session:
            response = session.get(url, timeout=(timeout, timeout), stream=True)
            response.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(chunk_size=65536):
                size += len(chunk)
                if size > MAX_EXPORT_BYTES:
                    raise SyncError(f"export is larger than {MAX_EXPORT_BYTES} bytes")
                chunks.append(chunk)
            body = b"".join(chunks)
    except requests.RequestException as exc:
        raise SyncError(f"could not fetch {url}: {exc.__class__.__name__}: {exc}") from None
    expected = response.headers.get("Content-Length")
    received = response.raw.tell()  # bytes on the wire: Content-Length counts gzip's, not len(body)
    if expected is not None and expected.isdigit() and int(expected) != received:
        raise SyncError(f"download is incomplete: {received} of {expected} bytes")
    return body


def parse_export(body: bytes, expected_sha256: str | None = None) -> dict[str, str]:
    """The files of an export, after the format and checksum checks."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SyncError(f"export is not valid JSON ({exc}); was the download cut off?") from None
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise SyncError(f"export is not in the format {EXPORT_FORMAT}")
    files = document.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise SyncError("export has no files mapping of names to texts")
    try:
        actual = checksum_of(files)
    except UnicodeEncodeError:  # JSON's "\ud800": a lone surrogate is no text of a file
        raise SyncError("export has files that are not valid unicode text") from None
    if document.get("sha256") != actual:
        raise SyncError("export checksum does not match its files: corrupt or tampered")
    if expected_sha256 is not None and expected_sha256.lower() != actual:
        raise SyncError("export checksum is not the one given with --sha256")
    return files


def sync(
    engine: Engine,
    url: str,
    *,
    timeout: float = 10.0,
    retries: int = 3,
    backoff: float = 0.5,
    expected_sha256: str | None = None,
    force: bool = False,
) -> SyncResult:
    files = parse_export(
        fetch(url, timeout=timeout, retries=retries, backoff=backoff), expected_sha256
    )
    try:
        catalogue = load_texts(files)
    except CatalogueInvalid as exc:
        raise SyncError("export holds an invalid catalogue:\n" + exc.report()) from None
    previous = store.current_version(engine)
    if store.current_checksum(engine) == catalogue.checksum:
        return SyncResult("unchanged", catalogue.version, previous)
    if previous is not None and not force and _version(catalogue.version) <= _version(previous):
        raise SyncError(
            f"export version {catalogue.version} is not newer than the loaded {previous} "
            "(use --force to load it anyway)"
        )
    store.save(engine, catalogue, origin=url)
    return SyncResult("updated", catalogue.version, previous)
