"""Figures for the dashboard, from the summary table, and bar charts as plain SVG shapes
(drawn by the template: no JavaScript, no external assets)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.app.console.models import ConversationSummary, IntentDay


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    horizontal: bool


def column_chart(points: list[tuple[str, float]], height: int = 160, slot: int = 18) -> Chart:
    """Vertical bars (one per point), scaled to the largest value."""
    top = max((value for _, value in points), default=0) or 1
    plot = height - 20
    bars = []
    for index, (label, value) in enumerate(points):
        bar_height = plot * value / top
        bars.append(
            Bar(
                label,
                value,
                f"{value:g}",
                index * slot + 2,
                plot - bar_height,
                slot - 4,
                bar_height,
            )
        )
    return Chart(bars, max(len(points) * slot + 4, 40), height, horizontal=False)


def bar_chart(points: list[tuple[str, float]], width: int = 420, row: int = 22) -> Chart:
    """Horizontal bars with labels (top intents, drop-off per question)."""
    top = max((value for _, value in points), default=0) or 1
    label_width, plot = 170, width - 230
    bars = [
        Bar(label, value, f"{value:g}", label_width, index * row + 3, plot * value / top, row - 6)
        for index, (label, value) in enumerate(points)
    ]
    return Chart(bars, width, max(len(points) * row + 4, 24), horizontal=True)


@dataclass(frozen=True)
class Figures:
    total: int
    advice: int
    handoff: int
    abandoned: int
    with_fallback: int
    fallbacks: int
    user_messages: int
    per_day: Chart
    top_intents: Chart
    drop_off: Chart

    def rate(self, part: int) -> str:
        return f"{100 * part / self.total:.1f}%" if self.total else "–"

    @property
    def fallback_rate(self) -> str:
        if not self.user_messages:
            return "–"
        return f"{100 * self.fallbacks / self.user_messages:.1f}%"


def figures(session: Session, start: dt.date, end: dt.date) -> Figures:
    """Figures for conversations started from `start` up to and including `end`."""
    low = dt.datetime.combine(start, dt.time(), dt.UTC)
    high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    within = (ConversationSummary.started_at >= low, ConversationSummary.started_at < high)
    outcomes: dict[str, int] = dict(
        session.execute(
            select(ConversationSummary.outcome, func.count())
            .where(*within)
            .group_by(ConversationSummary.outcome)
        )
        .tuples()
        .all()
    )
    totals = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(ConversationSummary.fallbacks), 0),
            func.coalesce(func.sum(ConversationSummary.user_messages), 0),
        ).where(*within)
    ).one()
    with_fallback = session.scalar(
        select(func.count()).where(*within, ConversationSummary.fallbacks > 0)
    )
    day = func.date(ConversationSummary.started_at)
    per_day = {
        str(key): count
        for key, count in session.execute(
            select(day, func.count()).where(*within).group_by(day)
        ).all()
    }
    days = [start + dt.timedelta(days=offset) for offset in range((end - start).days + 1)]
    intents = session.execute(
        select(IntentDay.intent, func.sum(IntentDay.count).label("n"))
        .where(IntentDay.day >= start, IntentDay.day <= end)
        .group_by(IntentDay.intent)
        .order_by(func.sum(IntentDay.count).desc())
        .limit(10)
    ).all()
    slot = func.coalesce(ConversationSummary.last_requested_slot, "–")
    drop = session.execute(
        select(slot, func.count())
        .where(*within, ConversationSummary.outcome == "abandoned")
        .group_by(slot)
        .order_by(func.count().desc())
        .limit(12)
    ).all()
    return Figures(
        total=int(totals[0]),
        advice=int(outcomes.get("advice", 0)),
        handoff=int(outcomes.get("handoff", 0)),
        abandoned=int(outcomes.get("abandoned", 0)),
        with_fallback=int(with_fallback or 0),
        fallbacks=int(totals[1]),
        user_messages=int(totals[2]),
        per_day=column_chart([(d.strftime("%d-%m"), per_day.get(d.isoformat(), 0)) for d in days]),
        top_intents=bar_chart([(str(name), int(count)) for name, count in intents]),
        drop_off=bar_chart([(str(name), int(count)) for name, count in drop]),
    )
