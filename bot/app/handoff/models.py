"""Handoff requests and the outbox that delivers them (tables in the app database).

A request and its outbox message are written in one transaction; the delivery worker
sends outbox messages until the webhook accepts them, so nothing is lost while it is down.
The staff console's handoff queue reads and updates `HandoffRequest`. Requests hold contact
details: bot.app.retention deletes them on erasure and after the retention period.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.app.db import Base, utcnow


class HandoffRequest(Base):
    __tablename__ = "handoff_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Shown to staff and sent to the webhook; never the conversation id.
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    conversation_id: Mapped[str] = mapped_column(String(255), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # "phone" | "email" | "chat"; the contact itself only with consent.
    contact_preference: Mapped[str] = mapped_column(String(16))
    contact: Mapped[str | None] = mapped_column(Text, nullable=True)
    consent: Mapped[bool]
    region: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # What the bot knows (profile answers with labels) and the advice summary, if any.
    profile_summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    advice_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # "open" | "assigned" | "closed" (staff console).
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    assigned_to: Mapped[str | None] = mapped_column(String(255), nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The last change (stored, console update, delivery): retention counts from it
    # (bot/app/handoff/store.py purge_handoffs). Nullable only for rows made before the column.
    updated_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, default=utcnow, onupdate=utcnow, index=True
    )

    # Deleting a request deletes its outbox messages (ON DELETE CASCADE in the database too).
    outbox: Mapped[list[OutboxMessage]] = relationship(
        back_populates="handoff", cascade="all, delete-orphan", passive_deletes=True
    )


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoff_id: Mapped[int] = mapped_column(
        ForeignKey("handoff_requests.id", ondelete="CASCADE"), index=True
    )
    # Sent as the Idempotency-Key header: the receiver can drop a repeat of a delivery
    # whose answer was lost, so a request is acted on once.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    delivered_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    handoff: Mapped[HandoffRequest] = relationship(back_populates="outbox")
