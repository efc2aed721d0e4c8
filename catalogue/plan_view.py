"""The plan as people see it: one view in one language, from which the chat text, the widget's
card, the saved advice page and its PDF are all made, so that they can never disagree.

Knows nothing of Rasa or the bot (the action server and the web app both import it). Every
sentence in the view comes from the `Plan` (plan.yaml and the catalogue); the words around them
("Jouw plan", "Met wie", the headings) are each output's own labels, in domain.yml, the widget's
texts and the page's templates. Dates are in words ("6 januari 2027"); no catalogue version and
no ids are shown (`refs` is for the conversation's slots and for tests, never drawn).

A hard word is linked to its explanation in the glossary part where it first appears: the view
marks that place (`marks`: start, end, anchor) in the text of a step, a note or an explanation.

The chat's shorter forms are made here too, so that the rules of what the chat names are in
one place: the reasons on "waarom?" (grouped by what they are about, at most MAX_SOURCES
sources each) and the sources of an answer of the knowledge base.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, TypedDict, cast

from catalogue.plan import Explained, Note, Plan
from catalogue.schema import language_of

if TYPE_CHECKING:  # the knowledge base's classifiers are not for the web app to import
    from catalogue.answers import SourceRef

VIEW_FORMAT: Final = "zijwijzer-plan/1"
# The widget's message type (the channels that draw no cards pass it over by this type).
PAYLOAD_TYPE: Final = "advice"
# The card payload is stored with every bot message: the contract says under 10 KB; keep
# room for the REST channel's envelope.
PAYLOAD_BUDGET: Final = 9 * 1024
# Parts of the card payload's "meer", in the order they are shown; the last ones go first
# when the payload would be too large (the saved page always has everything).
MorePart = Literal["alternatives", "why", "not_possible", "notices"]
MORE_PARTS: Final[tuple[MorePart, ...]] = ("alternatives", "why", "not_possible", "notices")
# The step that says what to do first, and with whom.
FIRST_STEP: Final = "first_step"
# How many sources the chat names for one reason or one answer (the saved page has them all).
MAX_SOURCES: Final = 2
# Publisher of the project's own research notes: named only when no public source says it.
OWN_NOTES: Final = "Zijwijzer research notes"
_DATE: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})$")
_YEAR: Final = re.compile(r"\d{4}$")


class ViewTarget(TypedDict):
    title: str
    level: int
    kind: str  # mbo | hbo
    proposed: bool  # proposed by the advice ("weet ik nog niet")
    held: bool  # the person already holds it


class ViewStep(TypedDict):
    number: int
    kind: str  # target | first_step | learn | cost | next
    title: str
    text: str
    # Where a hard word is used for the first time: [start, end, anchor of its explanation].
    marks: list[list[Any]]
    # Hard words first used here that the text does not spell as listed (linked after it).
    words: list[str]
    sources: list[int]


class ViewNote(TypedDict):
    title: str | None
    text: str
    marks: list[list[Any]]
    certain: bool
    sources: list[int]
    # What it is about ("unit:adl"), to answer "meer over ..."; never shown.
    about: str | None


class ViewWord(TypedDict):
    anchor: str  # "word-3": the glossary entry's place on the page
    title: str
    text: str
    marks: list[list[Any]]


class ViewSource(TypedDict):
    number: int
    title: str
    publisher: str
    url: str | None  # https only
    published: str | None  # a year or a date in words; None when the source gives none
    checked: str  # in words
    status: str  # verified | unverified | contested | ended


class ViewDates(TypedDict):
    months: list[str]
    pattern: str  # {day} {month} {year}


class ViewRefs(TypedDict):
    """The plan's items by id, for the conversation's slots and for tests; never shown."""

    target: str
    route: str | None
    units: list[str]
    funding: list[str]


class PlanView(TypedDict):
    format: str
    language: str
    made: str  # the plan's day, in words
    target: ViewTarget
    contact: str
    # The number of the step that says what to do first (with `contact`), 0 when none does.
    first_step: int
    steps: list[ViewStep]
    alternatives: list[ViewNote]
    why: list[ViewNote]
    not_possible: list[ViewNote]
    notices: list[ViewNote]
    facts: list[ViewNote]
    glossary: list[ViewWord]
    # Profile fields whose answer could still change the plan (the outputs name them).
    open_questions: list[str]
    sources: list[ViewSource]
    dates: ViewDates
    refs: ViewRefs


class CardStep(TypedDict):
    number: int
    kind: str
    title: str
    text: str
    marks: list[list[Any]]


class CardNote(TypedDict):
    title: str | None
    text: str
    certain: bool


class CardMore(TypedDict):
    alternatives: list[CardNote]
    why: list[CardNote]
    not_possible: list[CardNote]
    notices: list[CardNote]


class CardWord(TypedDict):
    anchor: str
    title: str
    text: str


class CardPayload(TypedDict):
    """What the widget draws (the message's custom payload; docs/architecture.md)."""

    type: str
    format: str
    language: str
    target: ViewTarget
    contact: str
    first_step: int
    steps: list[CardStep]
    more: CardMore
    words: list[CardWord]
    link: str | None
    link_until: str | None
    refs: ViewRefs


class _Marker:
    """Marks the first use of each hard word, going through the texts in reading order."""

    def __init__(self, glossary: Sequence[tuple[str, Explained]]) -> None:
        self.waiting: dict[str, re.Pattern[str]] = {}
        for anchor, entry in glossary:
            words = sorted({w for w in entry.words if w.strip()}, key=len, reverse=True)
            if words:
                self.waiting[anchor] = re.compile(
                    r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")(?!\w)",
                    re.IGNORECASE,
                )

    def mark(self, text: str, only: Iterable[str] | None = None) -> list[list[Any]]:
        """[start, end, anchor] of the words first used in `text` (those in `only`, when
        given), in text order and never overlapping."""
        found: list[list[Any]] = []
        for anchor in list(only if only is not None else self.waiting):
            pattern = self.waiting.get(anchor)
            match = pattern.search(text) if pattern is not None else None
            if match is None:
                continue
            start, end = match.span()
            if any(start < e and s < end for s, e, _ in found):
                continue
            found.append([start, end, anchor])
            del self.waiting[anchor]
        return sorted(found)


def say_date(dates: ViewDates, day: dt.date) -> str:
    """A date in words in the view's language ("6 januari 2027")."""
    return dates["pattern"].format(day=day.day, month=dates["months"][day.month - 1], year=day.year)


def _said_date(dates: ViewDates, value: str | None) -> str | None:
    """An ISO date in words; a year as it is; anything else (undated, unknown) is None."""
    if not value:
        return None
    value = value.strip()
    if _YEAR.match(value):
        return value
    match = _DATE.match(value)
    if match is None:
        return None
    try:
        return say_date(dates, dt.date(int(match[1]), int(match[2]), int(match[3])))
    except ValueError:
        return None


def present(plan: Plan, language: str | None = None) -> PlanView:
    """The plan as one view in `language` (default: the plan's)."""
    lang = language_of(language or plan.language)
    dates = plan.dates
    view_dates: ViewDates = (
        {
            "months": [m.get(lang) for m in dates.months],
            "pattern": dates.pattern.get(lang),
        }
        if dates is not None
        else {"months": [str(n) for n in range(1, 13)], "pattern": "{day}-{month}-{year}"}
    )
    numbers = {source["id"]: n for n, source in enumerate(plan.sources, start=1)}

    def cited(ids: Iterable[str]) -> list[int]:
        return sorted({numbers[s] for s in ids if s in numbers})

    anchors = {entry.ref: f"word-{n}" for n, entry in enumerate(plan.glossary, start=1)}
    marker = _Marker([(anchors[entry.ref], entry) for entry in plan.glossary])

    steps: list[ViewStep] = []
    for step in plan.steps:
        text = step.text.get(lang)
        own = [anchors[t] for t in step.terms if t in anchors]
        marks = marker.mark(text, own)
        marked = {m[2] for m in marks}
        steps.append(
            {
                "number": step.number,
                "kind": step.kind,
                "title": step.title.get(lang),
                "text": text,
                "marks": marks,
                "words": [a for a in own if a not in marked],
                "sources": cited(step.sources),
            }
        )
    for step_view in steps:  # a word not in its own step's text may still be used later
        for anchor in step_view["words"]:
            marker.waiting.pop(anchor, None)

    def notes(items: Sequence[Note]) -> list[ViewNote]:
        out: list[ViewNote] = []
        for note in items:
            text = note.text.get(lang)
            out.append(
                {
                    "title": note.title.get(lang) if note.title is not None else None,
                    "text": text,
                    "marks": marker.mark(text),
                    "certain": note.certain,
                    "sources": cited(note.sources),
                    "about": f"{note.ref.kind}:{note.ref.id}" if note.ref is not None else None,
                }
            )
        return out

    # In the order the page shows them, so a word is linked where it is first read.
    alternatives = notes(plan.alternatives)
    why = notes(plan.why)
    not_possible = notes(plan.not_possible)
    notices = notes(plan.notices)
    facts = notes(plan.facts)
    glossary: list[ViewWord] = []
    for entry in plan.glossary:
        text = entry.text.get(lang)
        glossary.append(
            {
                "anchor": anchors[entry.ref],
                "title": entry.title.get(lang),
                "text": text,
                "marks": marker.mark(text),
            }
        )

    sources: list[ViewSource] = []
    for source in plan.sources:
        url = source["url"] if source["url"] and source["url"].startswith("https://") else None
        sources.append(
            {
                "number": numbers[source["id"]],
                "title": source["title"],
                "publisher": source["publisher"],
                "url": url,
                "published": _said_date(view_dates, source["published"]),
                "checked": _said_date(view_dates, source["checked"]) or "",
                "status": source["status"],
            }
        )

    first = next((s.number for s in plan.steps if s.kind == FIRST_STEP), 0)
    today = plan.today
    return {
        "format": VIEW_FORMAT,
        "language": lang,
        "made": say_date(view_dates, today) if today is not None else "",
        "target": {
            "title": plan.target.title.get(lang),
            "level": plan.target.level,
            "kind": plan.target.kind,
            "proposed": plan.target.proposed,
            "held": plan.target.held,
        },
        "contact": plan.contact.name.get(lang),
        "first_step": first,
        "steps": steps,
        "alternatives": alternatives,
        "why": why,
        "not_possible": not_possible,
        "notices": notices,
        "facts": facts,
        "glossary": glossary,
        "open_questions": list(plan.open_questions),
        "sources": sources,
        "dates": view_dates,
        "refs": {
            "target": plan.target.qualification,
            "route": plan.route,
            "units": list(plan.units),
            "funding": list(plan.funding),
        },
    }


def is_view(data: Any) -> bool:
    """Whether decoded JSON (a saved advice) is a view this module made."""
    return isinstance(data, dict) and data.get("format") == VIEW_FORMAT


def view_of(data: object) -> PlanView | None:
    """A saved view read back (decoded JSON) as the view it was, or None when this module did
    not make it (advice saved before the plan): where stored JSON becomes a typed view."""
    return cast(PlanView, data) if is_view(data) else None


# ---- the outputs' shared parts -----------------------------------------------------------------


def first_step(view: PlanView) -> ViewStep | None:
    return next((s for s in view["steps"] if s["number"] == view["first_step"]), None)


def chat_values(view: PlanView) -> dict[str, str]:
    """The values of the chat's plan responses (domain.yml utter_advice_plan and the like):
    the numbered steps, the target, the first step with its contact."""
    first = first_step(view)
    return {
        "steps": "\n".join(f"{s['number']}. {s['title']}" for s in view["steps"]),
        "target": view["target"]["title"],
        "contact": view["contact"],
        "first_step": first["title"] if first else "",
        "first_step_text": first["text"] if first else "",
        "count": str(len(view["steps"])),
    }


def segments(text: str, marks: Sequence[Sequence[Any]]) -> list[tuple[str, str | None]]:
    """A text cut at its marks: (text, anchor of the explanation or None)."""
    out: list[tuple[str, str | None]] = []
    position = 0
    for start, end, anchor in marks:
        if start < position:
            continue
        if start > position:
            out.append((text[position:start], None))
        out.append((text[start:end], str(anchor)))
        position = end
    if position < len(text):
        out.append((text[position:], None))
    return out


def notes_about(view: PlanView, topic: str | None) -> tuple[list[ViewNote], list[ViewNote]]:
    """The reasons and the other ways the chat gives on "waarom?" / "meer over ...": all of
    them for no topic, else those about that kind or item ("unit", "adl")."""

    def about(note: ViewNote) -> bool:
        if topic is None:
            return True
        kind, _, item = (note["about"] or "").partition(":")
        return topic in (kind, item)

    reasons = [n for n in view["why"] if about(n)]
    others = [n for n in view["alternatives"] if about(n)]
    if topic is not None:
        reasons += [n for n in view["not_possible"] if about(n)]
    return reasons, others


class SaidReason(TypedDict):
    """One reason as the chat says it (utter_advice_reason)."""

    title: str  # what it is about; the target's title for a note without one
    reason: str
    sources: list[str]  # titles of its first MAX_SOURCES sources


def said_reasons(view: PlanView, notes: Sequence[ViewNote]) -> list[SaidReason]:
    """Notes grouped by what they are about, each group said as one reason with its sources."""
    groups: dict[str, list[ViewNote]] = {}
    for note in notes:
        groups.setdefault(note["title"] or view["target"]["title"], []).append(note)
    said: list[SaidReason] = []
    for title, group in groups.items():
        numbers = list(dict.fromkeys(s for n in group for s in n["sources"]))[:MAX_SOURCES]
        sources = view["sources"]
        said.append(
            {
                "title": title,
                "reason": " ".join(dict.fromkeys(n["text"] for n in group)),
                "sources": [sources[n - 1]["title"] for n in numbers if 0 < n <= len(sources)],
            }
        )
    return said


def answer_sources(sources: Sequence[SourceRef]) -> list[str]:
    """Who says so, shortly: the publishers of an answer's sources, public ones first."""
    publishers = [s.publisher for s in sources if not s.publisher.startswith(OWN_NOTES)]
    publishers = publishers or [s.publisher for s in sources]
    return list(dict.fromkeys(publishers))[:MAX_SOURCES]


def _size(value: Any) -> int:
    # ASCII-escaped, as a JSON event store writes it (é becomes \u00e9): the larger figure.
    return len(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def card_payload(
    view: PlanView,
    *,
    link: str | None,
    link_until: str | None,
    budget: int = PAYLOAD_BUDGET,
) -> CardPayload:
    """What the widget draws: the steps, the target and contact, "meer" (other ways, reasons,
    what is not possible, notices) and the explained words of the steps, the saved link.

    Under `budget` bytes: the words, then the parts of "meer" from the last, are cut short
    when needed (the saved page has everything); the steps always go whole.
    """

    def short(note: ViewNote) -> CardNote:
        return {
            "title": note["title"],
            "text": note["text"],
            "certain": note["certain"],
        }

    used = {anchor for s in view["steps"] for anchor in (*(m[2] for m in s["marks"]), *s["words"])}
    payload: CardPayload = {
        "type": PAYLOAD_TYPE,
        "format": VIEW_FORMAT,
        "language": view["language"],
        "target": view["target"],
        "contact": view["contact"],
        "first_step": view["first_step"],
        "steps": [
            {
                "number": s["number"],
                "kind": s["kind"],
                "title": s["title"],
                "text": s["text"],
                "marks": s["marks"],
            }
            for s in view["steps"]
        ],
        "more": {
            "alternatives": [short(n) for n in view["alternatives"]],
            "why": [short(n) for n in view["why"]],
            "not_possible": [short(n) for n in view["not_possible"]],
            "notices": [short(n) for n in view["notices"]],
        },
        "words": [
            {"anchor": w["anchor"], "title": w["title"], "text": w["text"]}
            for w in view["glossary"]
            if w["anchor"] in used
        ],
        "link": link,
        "link_until": link_until,
        "refs": view["refs"],
    }
    while _size(payload) > budget:
        if payload["words"]:
            payload["words"].pop()
            continue
        part = next((p for p in reversed(MORE_PARTS) if payload["more"][p]), None)
        if part is None:
            break
        payload["more"][part].pop()
    return payload
