"""Saved advice behind an unguessable link ("bewaar mijn advies").

The advice holds the person's profile answers, so: the link carries only a random token
(`secrets.token_urlsafe(32)`, 256 bits), the database keeps only its SHA-256 (a leaked table
gives no working links), and every saved advice expires after `advice_link_days`;
`purge_expired` deletes what has expired (the retention command calls it). Each row keeps the
id of its conversation, so `forget_advice` deletes it when that conversation is erased.

Saving is idempotent (bot/common/idempotency.py): a save with an `IdempotencyKey` is stored once per
key (a unique column), and its link's token is derived from the key with the secret key
(HMAC-SHA256), so a repeated or retried call gets the same link back without the token ever
being stored; a call whose deadline has passed stores nothing (`TooLate`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, Integer, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.app.db import Base, Database, utcnow
from bot.app.schema_upgrade import add_missing_columns
from bot.common.idempotency import IdempotencyKey
from bot.common.records import SavedLink

if TYPE_CHECKING:  # the view is only read here as JSON: retention needs no catalogue
    from catalogue.plan_view import PlanView

# Where the web app serves a saved advice (bot/app/web/advice_page.py): <public_url>/advies/<token>.
ADVICE_PATH = "/advies"
# token_urlsafe(32) gives 43 characters; anything else in a URL is not one of ours.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{32,64}")


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite gives back naive datetimes; everything is stored in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def keyed_token(secret: str, key: IdempotencyKey) -> str:
    """The link token of the advice saved under `key`: 43 URL-safe characters, like
    token_urlsafe(32), and as unguessable without the secret key."""
    mac = hmac.new(secret.encode("utf-8"), f"saved-advice\x00{key.digest}".encode(), "sha256")
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


class SavedAdvice(Base):
    __tablename__ = "saved_advice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # SHA-256 (hex) of the link's token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The advice as it was given: the plan's view (catalogue/plan_view.py, "format" says so);
    # rows saved before the plan hold the engine's whole advice and are no longer shown.
    advice: Mapped[dict[str, Any]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    # The conversation it came from, so erasing that conversation deletes it too (never shown
    # on the page). Nullable: rows saved before the column, and callers that do not say.
    conversation_id: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    # The digest of the saving call's IdempotencyKey: one saved advice per turn and action.
    # Nullable: rows saved before the column, and callers without a key.
    idempotency_key: Mapped[str | None] = mapped_column(
        String(64), nullable=True, unique=True, index=True
    )


@dataclass(frozen=True)
class Found:
    """A saved advice looked up by token: `expired` tells a 410 from a working link."""

    advice: dict[str, Any]
    language: str
    created_at: dt.datetime
    expires_at: dt.datetime
    expired: bool


def save_advice(
    database: Database,
    advice: dict[str, Any],
    language: str,
    *,
    valid_days: int,
    now: dt.datetime | None = None,
    conversation_id: str | None = None,
    token: str | None = None,
    idempotency_key: str | None = None,
) -> str:
    """Saves the advice; returns the token for its link (shown once, never stored).

    With `idempotency_key`, a second save under the same key raises IntegrityError (the
    unique column) and stores nothing.
    """
    created = now or utcnow()
    token = token or secrets.token_urlsafe(32)
    with database.session() as session:
        session.add(
            SavedAdvice(
                token_hash=hash_token(token),
                advice=advice,
                language=language,
                created_at=created,
                expires_at=created + dt.timedelta(days=valid_days),
                conversation_id=conversation_id,
                idempotency_key=idempotency_key,
            )
        )
    return token


def find_advice(database: Database, token: str, *, now: dt.datetime | None = None) -> Found | None:
    """The saved advice for a token, expired or not; None when there is none."""
    if not TOKEN_PATTERN.fullmatch(token):
        return None
    with database.session() as session:
        row = session.scalars(
            select(SavedAdvice).where(SavedAdvice.token_hash == hash_token(token))
        ).one_or_none()
        if row is None:
            return None
        expires_at = _aware(row.expires_at)
        return Found(
            advice=row.advice,
            language=row.language,
            created_at=_aware(row.created_at),
            expires_at=expires_at,
            expired=expires_at <= (now or utcnow()),
        )


def load_advice(database: Database, token: str, *, now: dt.datetime | None = None) -> Found | None:
    """The saved advice for a working link; None when the token is unknown or expired."""
    found = find_advice(database, token, now=now)
    return None if found is None or found.expired else found


def purge_expired(database: Database, *, now: dt.datetime | None = None) -> int:
    """Deletes every expired saved advice; returns how many."""
    with database.session() as session:
        result = session.execute(
            delete(SavedAdvice).where(SavedAdvice.expires_at <= (now or utcnow()))
        )
        return int(getattr(result, "rowcount", 0) or 0)


def forget_advice(session: Session, conversation_ids: Sequence[str]) -> int:
    """Deletes the saved advice of these conversations (their links stop working); how many.

    Runs in the caller's transaction: bot.app.retention erases a conversation's handoff requests
    in the same one.
    """
    if not conversation_ids:
        return 0
    result = session.execute(
        delete(SavedAdvice)
        .where(SavedAdvice.conversation_id.in_(list(conversation_ids)))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def ensure_table(database: Database) -> None:
    """Makes the table when missing, and adds the columns a table made earlier lacks."""
    table = Base.metadata.tables[SavedAdvice.__tablename__]
    Base.metadata.create_all(database.engine, tables=[table])
    add_missing_columns(database.engine, table, "conversation_id", "idempotency_key")


class AdviceStore:
    """What the advice action uses: save an advice, get its token and expiry.

    Blocking (database I/O): callers on an event loop run it in a thread. The table is made
    on first use when missing, so the action server does not depend on the web app having
    started first.
    """

    def __init__(
        self, database: Database, valid_days: int, public_url: str, secret_key: str
    ) -> None:
        self.database = database
        self.valid_days = valid_days
        self.public_url = public_url.rstrip("/")
        self._secret_key = secret_key
        self._table_checked = False
        self._lock = threading.Lock()

    def _ensure_table(self) -> None:
        with self._lock:
            if not self._table_checked:
                ensure_table(self.database)
                self._table_checked = True

    def save(
        self,
        advice: PlanView,
        language: str,
        conversation_id: str | None = None,
        key: IdempotencyKey | None = None,
    ) -> SavedLink:
        """Saves the advice and gives its link.

        With `key`: once per key. A repeated call gets the first call's link (and expiry) and
        changes nothing; a call past the key's deadline raises TooLate and stores nothing.
        """
        self._ensure_table()
        token: str | None = None
        if key is not None:
            token = keyed_token(self._secret_key, key)
            first = self._saved_under(key)
            if first is not None:
                return self._link(token, first)
            key.check_in_time()
        now = utcnow()
        try:
            saved = save_advice(
                self.database,
                dict(advice),
                language,
                valid_days=self.valid_days,
                now=now,
                conversation_id=conversation_id,
                token=token,
                idempotency_key=key.digest if key is not None else None,
            )
        except IntegrityError:
            # A concurrent call under the same key won the race: its advice is the one.
            first = self._saved_under(key) if key is not None else None
            if first is None or token is None:
                raise
            return self._link(token, first)
        return self._link(saved, now + dt.timedelta(days=self.valid_days))

    def _saved_under(self, key: IdempotencyKey) -> dt.datetime | None:
        """When the advice saved under `key` expires; None when there is none."""
        with self.database.session() as session:
            expires: dt.datetime | None = session.scalar(
                select(SavedAdvice.expires_at).where(SavedAdvice.idempotency_key == key.digest)
            )
        return _aware(expires) if expires is not None else None

    def _link(self, token: str, expires_at: dt.datetime) -> SavedLink:
        return SavedLink(
            token=token,
            url=f"{self.public_url}{ADVICE_PATH}/{token}",
            expires_at=expires_at,
            valid_days=self.valid_days,
        )


def default_advice_store() -> AdviceStore:
    """The store on the configured database (settings read on first use)."""
    from bot.common.settings import load_settings

    settings = load_settings()
    return AdviceStore(
        Database(settings.database_url),
        settings.advice_link_days,
        settings.public_url,
        settings.secret_key,
    )
