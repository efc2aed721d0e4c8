"""The table that holds the loaded catalogue (SQLite by default, PostgreSQL by URL).

One row: the validated catalogue as one JSON document, with its version and checksum. The shape
of the document is the pydantic schema (catalogue/schema.py), so there is one place that lists
the catalogue's fields; reading it back validates it again, exactly as a load from files does.
The advice engine works on the compiled catalogue in memory and never queries single items.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON}


class StoredCatalogue(Base):
    """The loaded catalogue; one row. Its checksum tells processes to reload."""

    __tablename__ = "catalogue_current"
    key: Mapped[str] = mapped_column(String(16), primary_key=True, default="current")
    version: Mapped[str] = mapped_column(String(64))
    checksum: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    document: Mapped[dict[str, Any]]
