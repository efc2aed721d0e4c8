"""Errors of the catalogue package; each says what is wrong in words a staff member can act on."""

from __future__ import annotations

from dataclasses import dataclass


class CatalogueError(Exception):
    """Base class of every error this package raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the catalogue data, located by file and entry."""

    file: str
    entry: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.entry}" if self.entry else self.file
        return f"{where}: {self.message}"


class CatalogueInvalid(CatalogueError):
    """The catalogue data has problems; nothing was loaded."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the catalogue data")

    def report(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


class CatalogueNotLoaded(CatalogueError):
    """The database holds no catalogue yet."""


class ProfileError(CatalogueError, ValueError):
    """A profile value makes no sense (age 7, an unknown sector, malformed JSON)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class SyncError(CatalogueError):
    """A catalogue export could not be fetched or is not usable; nothing was changed."""
