"""The app database of a test: the bot's, web and console tests share how it is made."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from bot.app.db import Database


@contextlib.contextmanager
def app_database(
    url: str, create: Callable[[Database], None] = Database.create_all
) -> Iterator[Database]:
    """A Database at `url` with its tables made by `create`, disposed afterwards."""
    database = Database(url)
    create(database)
    try:
        yield database
    finally:
        database.dispose()
