"""Catalogue exports uploaded in the console: checked like `catalogue sync` checks them, and
reviewed with the replay diff (which profiles' plans change, and how) before they are loaded.

The diff compares the plans of the replay corpus under the loaded catalogue with those under
the uploaded one (catalogue.replay), so a staff member sees exactly what a change does to the
advice before anyone gets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version
from sqlalchemy import Engine

from catalogue import store
from catalogue.compiled import Catalogue
from catalogue.errors import CatalogueInvalid, CatalogueNotLoaded, SyncError
from catalogue.reader import load_texts
from catalogue.replay import CORPUS_FILE, compare, load_corpus, replay_lines, report
from catalogue.sync import parse_export


class UploadRefused(Exception):
    """The upload is not a usable catalogue export; `problems` says why, line by line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def check_export(body: bytes) -> Catalogue:
    """The catalogue in an export, after the same checks a sync makes (format, checksum, every
    file valid); raises UploadRefused."""
    try:
        files = parse_export(body)
    except SyncError as exc:
        raise UploadRefused([str(exc)]) from None
    try:
        return load_texts(files)
    except CatalogueInvalid as exc:
        raise UploadRefused([str(problem) for problem in exc.problems]) from None


def loaded(engine: Engine) -> Catalogue | None:
    """The catalogue in the database now; None when nothing was loaded yet."""
    try:
        return store.read(engine)
    except CatalogueNotLoaded:
        return None


@dataclass(frozen=True)
class Review:
    version: str
    previous_version: str | None
    # The loaded catalogue's checksum this review compared against (None: nothing loaded).
    base_checksum: str | None
    same_as_loaded: bool
    newer: bool
    changed: int
    total: int
    # The replay report: each distinct change once, with the profiles it applies to (empty
    # when nothing was loaded before).
    lines: tuple[str, ...]


def _newer(version: str, previous: str | None) -> bool:
    if previous is None:
        return True
    try:
        return Version(version) > Version(previous)
    except InvalidVersion:
        return False


def review(engine: Engine, uploaded: Catalogue, corpus_file: Path = CORPUS_FILE) -> Review:
    """The replay diff between the loaded catalogue and `uploaded`."""
    current = loaded(engine)
    corpus = load_corpus(corpus_file)
    after = replay_lines(uploaded, corpus)
    lines: tuple[str, ...] = ()
    if current is None:  # every plan is new: the page says so instead of 458 diffs
        changes = compare({}, after, corpus)
    else:
        changes = compare(replay_lines(current, corpus), after, corpus)
        lines = tuple(report(changes, len(corpus)))
    return Review(
        version=uploaded.version,
        previous_version=current.version if current else None,
        base_checksum=current.checksum if current else None,
        same_as_loaded=current is not None and current.checksum == uploaded.checksum,
        newer=_newer(uploaded.version, current.version if current else None),
        changed=len(changes),
        total=len(corpus),
        lines=lines,
    )
