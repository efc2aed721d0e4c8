"""Questions the bot had no good answer to, kept (redacted) for staff.

The staff console lists them (newest first); staff write a new answer in
catalogue/data/answers.yaml and mark the question done. Each row keeps its conversation's id,
so erasing the conversation deletes its questions too, and they go with the conversation's
retention period. Personal data in the question is redacted before it is stored.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import yaml
from sqlalchemy import DateTime, Integer, String, Text, delete, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.app.db import Base, Database, utcnow
from bot.common.redaction import redact

# Longer questions are cut: a question is a sentence or two, not a letter.
MAX_QUESTION_CHARS: Final = 500
STATUSES: Final = ("open", "done")


class UnansweredQuestion(Base):
    __tablename__ = "unanswered_question"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(255), index=True)
    language: Mapped[str] = mapped_column(String(2))
    question: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    status: Mapped[str] = mapped_column(String(8), default="open", index=True)


@dataclass(frozen=True)
class Unanswered:
    id: int
    conversation_id: str
    language: str
    question: str
    asked_at: dt.datetime
    status: str


class UnansweredQuestions:
    """Blocking (database I/O): callers on an event loop run it in a thread. The table is made
    on first use, so the action server does not depend on the web app having started first."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._table_checked = False
        self._lock = threading.Lock()

    def _ensure_table(self) -> None:
        with self._lock:
            if not self._table_checked:
                table = Base.metadata.tables[UnansweredQuestion.__tablename__]
                Base.metadata.create_all(self.database.engine, tables=[table])
                self._table_checked = True

    def record(self, conversation_id: str, question: str, language: str) -> None:
        self._ensure_table()
        text = redact(" ".join(question.split())).text[:MAX_QUESTION_CHARS]
        with self.database.session() as session:
            session.add(
                UnansweredQuestion(
                    conversation_id=conversation_id,
                    language=language if language in ("nl", "en") else "nl",
                    question=text,
                )
            )

    def listed(self, status: str = "open", limit: int = 100, offset: int = 0) -> list[Unanswered]:
        self._ensure_table()
        with self.database.session() as session:
            rows = session.scalars(
                select(UnansweredQuestion)
                .where(UnansweredQuestion.status == status)
                .order_by(UnansweredQuestion.asked_at.desc(), UnansweredQuestion.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return [
                Unanswered(r.id, r.conversation_id, r.language, r.question, r.asked_at, r.status)
                for r in rows
            ]

    def count(self, status: str = "open") -> int:
        self._ensure_table()
        with self.database.session() as session:
            total = session.scalar(select(func.count()).where(UnansweredQuestion.status == status))
            return int(total or 0)

    def mark(self, question_id: int, status: str) -> bool:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        self._ensure_table()
        with self.database.session() as session:
            result = session.execute(
                update(UnansweredQuestion)
                .where(UnansweredQuestion.id == question_id)
                .values(status=status)
            )
            return bool(getattr(result, "rowcount", 0))


def forget_questions(session: Session, conversation_ids: Sequence[str]) -> int:
    """Deletes the questions of these conversations (erasure), in the caller's transaction."""
    result = session.execute(
        delete(UnansweredQuestion)
        .where(UnansweredQuestion.conversation_id.in_(list(conversation_ids)))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def purge_questions(session: Session, days: int, now: dt.datetime | None = None) -> int:
    """Deletes questions older than the conversations' retention period."""
    moment = now or utcnow()
    result = session.execute(
        delete(UnansweredQuestion)
        .where(UnansweredQuestion.asked_at < moment - dt.timedelta(days=days))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def default_question_log() -> UnansweredQuestions:
    from bot.common.settings import load_settings

    return UnansweredQuestions(Database(load_settings().database_url))


def answer_draft(question: Unanswered) -> str:
    """A start for a new item of catalogue/data/answers.yaml, from an unanswered question."""
    words = re.findall(r"[a-z0-9]+", question.question.lower())[:5]
    item_id = "_".join(words) or f"vraag_{question.id}"
    if not item_id[0].isalpha():
        item_id = f"vraag_{item_id}"
    other = "en" if question.language == "nl" else "nl"
    return yaml.safe_dump(
        [
            {
                "id": item_id[:64],
                "about": "TODO",
                "aspect": "TODO (what, who, cost, duration, result, how, may, where, status)",
                "questions": {question.language: [question.question], other: ["TODO"]},
                "answer": {"nl": "TODO", "en": "TODO"},
                "sources": ["TODO"],
                "checked": utcnow().date().isoformat(),
                "status": "unverified",
            }
        ],
        allow_unicode=True,
        sort_keys=False,
        width=100,
    )
