"""Tables of the staff console in the app database.

Everything about a conversation (summary, tags, notes, intent corrections) hangs off
`ConversationSummary` with ON DELETE CASCADE, so forgetting a conversation removes all of it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.app.db import Base, utcnow

ROLES = ("reviewer", "admin")
OUTCOMES = ("advice", "handoff", "abandoned")


class StaffUser(Base):
    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Start of the current window of failed attempts (lockout counts within it).
    first_failed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StaffSession(Base):
    """Server-side sessions: logout and lockout take effect on every instance at once."""

    __tablename__ = "console_sessions"

    # sha256 of the random token in the cookie; the token itself is never stored.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("console_users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)

    user: Mapped[StaffUser] = relationship()


class AuditEntry(Base):
    __tablename__ = "console_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # Kept as text, not a foreign key: the trail outlives a deleted account.
    username: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    # The tracker's sender id; kept after an erasure, as proof of who saw what.
    conversation_id: Mapped[str | None] = mapped_column(String(255), index=True)
    detail: Mapped[str | None] = mapped_column(Text)


class ConversationSummary(Base):
    """One row per conversation, kept up to date from the tracker store's events."""

    __tablename__ = "console_conversations"
    __table_args__ = (
        # Each list filter has a composite index ending in the sort key, so a filtered,
        # sorted page is an index range scan.
        Index("ix_console_conv_started", "started_at", "id"),
        Index("ix_console_conv_channel", "channel", "started_at", "id"),
        Index("ix_console_conv_language", "language", "started_at", "id"),
        Index("ix_console_conv_outcome", "outcome", "started_at", "id"),
        Index("ix_console_conv_review", "needs_review", "started_at", "id"),
        Index("ix_console_conv_fallbacks", "fallbacks", "started_at"),
        Index("ix_console_conv_confidence", "min_confidence", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(255), unique=True)
    # The first tracker events.id seen: when the conversation's events are later deleted (an
    # erasure asked for in the chat), `reconcile_index` notices it is gone or different.
    first_event_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(32), default="")
    language: Mapped[str] = mapped_column(String(8), default="nl")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16), default="abandoned")
    advice_given: Mapped[bool] = mapped_column(Boolean, default=False)
    handoff: Mapped[bool] = mapped_column(Boolean, default=False)
    fallbacks: Mapped[int] = mapped_column(Integer, default=0)
    # Lowest intent confidence of a typed message (1.0 when there is none yet).
    min_confidence: Mapped[float] = mapped_column(Float, default=1.0)
    user_messages: Mapped[int] = mapped_column(Integer, default=0)
    # The intake question asked last (drop-off of abandoned conversations).
    last_requested_slot: Mapped[str | None] = mapped_column(String(64))
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    # Lowercased user texts and intents, for the full-text search.
    search_text: Mapped[str] = mapped_column(Text, default="")

    tags: Mapped[list[ConversationTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class ConversationTag(Base):
    __tablename__ = "console_conversation_tags"
    __table_args__ = (UniqueConstraint("conversation_pk", "tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_pk: Mapped[int] = mapped_column(
        ForeignKey("console_conversations.id", ondelete="CASCADE")
    )
    tag: Mapped[str] = mapped_column(String(64), index=True)


class Note(Base):
    __tablename__ = "console_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_pk: Mapped[int] = mapped_column(
        ForeignKey("console_conversations.id", ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    text: Mapped[str] = mapped_column(Text)


class IntentMark(Base):
    """A user message marked with its correct intent, for the NLU export."""

    __tablename__ = "console_intent_marks"
    __table_args__ = (UniqueConstraint("conversation_pk", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_pk: Mapped[int] = mapped_column(
        ForeignKey("console_conversations.id", ondelete="CASCADE"), index=True
    )
    # events.id in the tracker store.
    event_id: Mapped[int] = mapped_column(Integer)
    # The (already redacted) message text, copied so the export needs no tracker read.
    text: Mapped[str] = mapped_column(Text)
    predicted_intent: Mapped[str | None] = mapped_column(String(64))
    correct_intent: Mapped[str] = mapped_column(String(64), index=True)
    marked_by: Mapped[str] = mapped_column(String(64))
    marked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IndexState(Base):
    """The indexer's watermark: the highest tracker events.id already summarised."""

    __tablename__ = "console_index_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class IntentDay(Base):
    """User messages per intent and day (dashboard); counts only, nothing personal."""

    __tablename__ = "console_intent_days"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    intent: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class CatalogueUpload(Base):
    """A catalogue export uploaded by an admin: checked and reviewed (the replay diff) before
    it is loaded. Kept after loading, as the record of what was loaded and by whom."""

    __tablename__ = "console_catalogue_uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[str] = mapped_column(String(64))
    checksum: Mapped[str] = mapped_column(String(64))
    # The export document as uploaded (format zijwijzer-catalogue/1).
    export: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | loaded
    loaded_by: Mapped[str | None] = mapped_column(String(64))
    loaded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
