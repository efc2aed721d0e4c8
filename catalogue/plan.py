"""The plan: at most five numbered steps for one person, in Dutch (B1) and English.

1. what to become (the target qualification, chosen or proposed); 2. the first thing to do this
month and with whom; 3. what to learn first and when one can work; 4. what it costs and who
pays; 5. what comes after (only when it says something). Alternatives, reasons, what is not
possible, notices, what an advisor also says, and sources are separate fields, for "meer" and
"waarom".

The plan is built on the same assessment as `advise` (advice.assess), so it names the same best
route, units and schemes as the advice's summary. Every sentence is a template of plan.yaml;
this module chooses the variant and fills in values (titles and texts of the catalogue, dates in
words), nothing more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

from catalogue.advice import Assessment, Rated, assess, source_facts
from catalogue.compiled import Catalogue
from catalogue.items import SourceFacts
from catalogue.plan_templates import NO_ROUTE, CompiledPlan, CompiledVariant
from catalogue.profile import TARGET_UNKNOWN
from catalogue.rules import Expression, evaluate
from catalogue.schema import LANGUAGES, Qualification, Text, Unit, in_language

MAX_STEPS: Final = 5
MAX_ALTERNATIVES: Final = 3
MAX_NOT_POSSIBLE: Final = 4
MAX_NOTICES: Final = 3
# Links of a replaced qualification followed at most (pb_ghz_4 -> pb_mz_4).
MAX_REPLACEMENTS: Final = 5
# Kept per catalogue, cleared when full: condition verdicts, and the hard words in a text.
VERDICT_MEMO_LIMIT: Final = 100_000
TERMS_MEMO_LIMIT: Final = 20_000


@dataclass(frozen=True)
class PlanText:
    nl: str
    en: str

    def get(self, language: str) -> str:
        return in_language(language, self.nl, self.en)


RefKind = Literal[
    "qualification", "unit", "route", "funding", "term", "answer", "contact", "notice"
]


@dataclass(frozen=True)
class PlanRef:
    kind: RefKind
    id: str


@dataclass(frozen=True)
class Step:
    number: int
    kind: str  # target | first_step | learn | cost | next
    variant: str  # the template of plan.yaml that says it
    title: PlanText
    text: PlanText
    refs: tuple[PlanRef, ...]
    sources: tuple[str, ...]
    # Hard words used here for the first time in the plan ("term:adl", "route:bbl").
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Note:
    """One line behind "meer" or "waarom": an alternative, a reason, a notice, a fact."""

    kind: str  # target | route | unit | funding | notice | fact
    ref: PlanRef | None
    title: PlanText | None
    text: PlanText
    sources: tuple[str, ...]
    certain: bool


@dataclass(frozen=True)
class Target:
    qualification: str
    title: PlanText
    level: int
    kind: str  # mbo | hbo
    proposed: bool
    held: bool
    # What the person chose, when that qualification is being replaced by `qualification`.
    replaces: str | None


@dataclass(frozen=True)
class Contact:
    id: str
    name: PlanText


@dataclass(frozen=True)
class Explained:
    """A hard word the plan uses, with the explanation to show or link."""

    ref: str  # kind:id
    title: PlanText
    text: PlanText
    # The words that stand for it in a text (plan.yaml `explain`), to link where they appear.
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class DateWords:
    """How the plan says a date in words (plan.yaml `months` and `date`), for the dates its
    presenter shows besides the plan's own (a link's expiry, a source's check)."""

    months: tuple[PlanText, ...]  # January..December
    pattern: PlanText  # {day} {month} {year}


@dataclass(frozen=True)
class Plan:
    language: str
    target: Target
    # The best route (the advice's summary), or None when no route fits yet.
    route: str | None
    # True when the route is held back only by the first step (find an employer, ...).
    route_pending: bool
    units: tuple[str, ...]
    funding: tuple[str, ...]
    contact: Contact
    steps: tuple[Step, ...]
    alternatives: tuple[Note, ...]
    why: tuple[Note, ...]
    not_possible: tuple[Note, ...]
    notices: tuple[Note, ...]
    facts: tuple[Note, ...]
    glossary: tuple[Explained, ...]
    open_questions: tuple[str, ...]
    sources: tuple[SourceFacts, ...]
    # The day the plan was made for, and how it says dates.
    today: dt.date | None = None
    dates: DateWords | None = None

    def as_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data."""
        data = asdict(self)
        data["today"] = self.today.isoformat() if self.today is not None else None
        return data


def _text(text: Text) -> PlanText:
    return PlanText(text.nl, text.en)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


class _Builder:
    """One plan being built: the values its templates read, per language."""

    def __init__(self, catalogue: Catalogue, assessment: Assessment, today: dt.date) -> None:
        self.catalogue = catalogue
        self.compiled: CompiledPlan = catalogue.plan
        self.templates = self.compiled.templates
        self.assessment = assessment
        self.profile = assessment.profile
        self.today = today
        self.symbols: dict[str, Any] = dict(assessment.run.symbols)

    # ---- words -------------------------------------------------------------------------------

    def word(self, name: str, language: str) -> str:
        return self.templates.words[name].get(language)

    def join(self, items: Sequence[str], language: str) -> str:
        if len(items) <= 1:
            return "".join(items)
        return f"{', '.join(items[:-1])} {self.word('and', language)} {items[-1]}"

    def date(self, day: dt.date, language: str) -> str:
        months = in_language(language, self.templates.months.nl, self.templates.months.en)
        pattern = self.templates.date.get(language)
        return pattern.format(day=day.day, month=months[day.month - 1], year=day.year)

    def holds(self, expression: Expression, symbols: Mapping[str, Any]) -> bool:
        """Whether a condition holds; one that needs an unanswered question does not.

        Verdicts are kept per catalogue on the values of the symbols the condition reads.
        """
        memo: dict[tuple[Any, ...], bool] = self.catalogue.cache.setdefault("plan_verdicts", {})
        key = (expression.text, *(symbols.get(name) for name in sorted(expression.symbols)))
        verdict = memo.get(key)
        if verdict is None:
            if len(memo) > VERDICT_MEMO_LIMIT:
                memo.clear()
            verdict = memo[key] = evaluate(expression, symbols) is True
        return verdict


def _target(builder: _Builder) -> tuple[Qualification, bool, str | None, Note | None]:
    """The qualification to aim for, whether it is proposed, what it replaces, and the reason
    for a proposal."""
    catalogue, profile = builder.catalogue, builder.profile
    chosen = profile.target if profile.target not in (None, TARGET_UNKNOWN) else None
    reason: Note | None = None
    if chosen is None:
        for proposal, expression in builder.compiled.proposals:
            if builder.holds(expression, builder.symbols):
                chosen = proposal.target
                reason = Note(
                    kind="target",
                    ref=PlanRef("qualification", proposal.target),
                    title=None,
                    text=_text(proposal.reason),
                    sources=tuple(proposal.sources),
                    certain=True,
                )
                break
    # The last proposal is for everyone (checked at load), so one is always found.
    assert chosen is not None
    qualification = catalogue.qualifications[chosen]
    for _ in range(MAX_REPLACEMENTS):
        if qualification.replaced_by is None:
            break
        qualification = catalogue.qualifications[qualification.replaced_by]
    replaces = chosen if qualification.id != chosen else None
    return qualification, reason is not None, replaces, reason


def _leading_units(assessment: Assessment) -> list[Rated]:
    """The recommended units (ranked first), up to MAX_ALTERNATIVES beyond the summary's."""
    out: list[Rated] = []
    for rated in assessment.units:
        if (
            rated[1].fit != 0
            or rated[2]
            or len(out) > MAX_ALTERNATIVES + len(assessment.summary.units)
        ):
            break
        out.append(rated)
    return out


def _units_of(catalogue: Catalogue, qualification_id: str) -> tuple[str, ...]:
    """The ids of a qualification's units, in data order."""
    by_qualification: dict[str, tuple[str, ...]] | None = catalogue.cache.get("plan_units")
    if by_qualification is None:
        found: dict[str, list[str]] = {}
        for unit in catalogue.data.units:
            found.setdefault(unit.qualification, []).append(unit.id)
        by_qualification = {q: tuple(ids) for q, ids in found.items()}
        catalogue.cache["plan_units"] = by_qualification
    return by_qualification.get(qualification_id, ())


def _values(
    builder: _Builder,
    qualification: Qualification,
    route_id: str | None,
    units: Sequence[Unit],
    scheme_ids: Sequence[str],
) -> dict[str, dict[str, str]]:
    """The placeholders' values per language; a value the plan lacks is left out."""
    catalogue, profile = builder.catalogue, builder.profile
    out: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        values = {
            "target": in_language(language, qualification.title, qualification.title_en),
            "level": str(qualification.level),
            "region": profile.region or builder.word("your_region", language),
        }
        if route_id is not None:
            route = catalogue.routes[route_id]
            short = route.short or Text(nl=route.title, en=route.title_en)
            values["route"] = short.get(language)
        if units:
            titles = [in_language(language, u.title, u.title_en) for u in units]
            values["units"] = builder.join(titles, language)
            values["unit"] = titles[0]
            values["enables"] = units[0].enables.get(language)
            duration = units[0].duration
            if duration is not None:
                weeks_range = builder.templates.words["weeks_range"]
                weeks = (
                    str(duration.min_weeks)
                    if duration.min_weeks == duration.max_weeks
                    else weeks_range.get(language).format(
                        min=duration.min_weeks, max=duration.max_weeks
                    )
                )
                values["weeks"] = weeks
                values["date"] = builder.date(
                    builder.today + dt.timedelta(weeks=duration.min_weeks), language
                )
        if scheme_ids:
            schemes = [catalogue.funding[f] for f in scheme_ids]
            titles = [in_language(language, f.title, f.title_en) for f in schemes]
            values["schemes"] = builder.join(titles, language)
        out[language] = values
    return out


def _choose(
    builder: _Builder,
    variants: tuple[CompiledVariant, ...],
    symbols: Mapping[str, Any],
    values: dict[str, dict[str, str]],
) -> CompiledVariant | None:
    available = set(values["nl"]) | {"contact"}
    for compiled in variants:
        if compiled.fields <= available and builder.holds(compiled.expression, symbols):
            return compiled
    return None


def _render(text: Text, values: Mapping[str, str], language: str) -> str:
    return text.get(language).format_map(values)


def _fact_text(catalogue: Catalogue, answer_id: str, symbols: Mapping[str, Any]) -> Text:
    """The answer's personal variant that holds for this person, else its general answer."""
    answer = catalogue.answers[answer_id]
    for index, personal in enumerate(answer.personal):
        expression = catalogue.answer_conditions.get((answer_id, index))
        if expression is not None and evaluate(expression, symbols) is True:
            return personal.answer
    return answer.answer


def _item_title(catalogue: Catalogue, kind: str, item_id: str) -> PlanText:
    item: Unit | Qualification | Any
    if kind == "unit":
        item = catalogue.units[item_id]
    elif kind == "route":
        item = catalogue.routes[item_id]
    elif kind == "funding":
        item = catalogue.funding[item_id]
    else:
        item = catalogue.qualifications[item_id]
    return PlanText(item.title, item.title_en)


def _reason_notes(builder: _Builder, rated: Rated) -> list[Note]:
    entry = rated[0]
    kind, item_id = entry.ref
    title = _item_title(builder.catalogue, kind, item_id)
    return [
        Note(
            kind=kind,
            ref=PlanRef(kind, item_id),
            title=title,
            text=PlanText(reason["nl"], reason["en"]),
            sources=tuple(reason["sources"]),
            certain=entry.certain == 0,
        )
        for reason in builder.assessment.reasons(rated)
    ]


def _first_reason_note(builder: _Builder, rated: Rated) -> Note:
    notes = _reason_notes(builder, rated)
    if rated[2]:  # held back for another unit of its group: that is the reason
        return notes[0]
    # Rule reasons (they have sources) say more than the kind's default; the first one leads.
    ruled = [n for n in notes if n.sources] or notes
    return ruled[0]


def _explanation(catalogue: Catalogue, ref: str) -> Explained:
    kind, _, item_id = ref.partition(":")
    words = _words_for(catalogue, ref)
    if kind == "term":
        term = catalogue.glossary[item_id]
        return Explained(ref, PlanText(term.title, term.title_en), _text(term.text), words)
    if kind == "route":
        route = catalogue.routes[item_id]
        return Explained(ref, PlanText(route.title, route.title_en), _text(route.explain), words)
    if kind == "funding":
        scheme = catalogue.funding[item_id]
        return Explained(
            ref, PlanText(scheme.title, scheme.title_en), _text(scheme.conditions), words
        )
    unit = catalogue.units[item_id]
    return Explained(ref, PlanText(unit.title, unit.title_en), _text(unit.enables), words)


def _words_for(catalogue: Catalogue, ref: str) -> tuple[str, ...]:
    """The words of plan.yaml `explain` that stand for `ref`, as written there."""
    by_ref: dict[str, tuple[str, ...]] | None = catalogue.cache.get("plan_words")
    if by_ref is None:
        found: dict[str, list[str]] = {}
        for entry in catalogue.plan.templates.explain:
            found.setdefault(entry.ref, []).extend(entry.words)
        by_ref = {key: tuple(words) for key, words in found.items()}
        catalogue.cache["plan_words"] = by_ref
    return by_ref.get(ref, ())


def _date_words(catalogue: Catalogue) -> DateWords:
    templates = catalogue.plan.templates
    return DateWords(
        months=tuple(
            PlanText(nl, en)
            for nl, en in zip(templates.months.nl, templates.months.en, strict=True)
        ),
        pattern=_text(templates.date),
    )


def _terms_in(catalogue: Catalogue, texts: Iterable[str]) -> list[str]:
    """The explained words' refs in these texts, in order of first use."""
    compiled = catalogue.plan
    pattern = compiled.explain_pattern
    if pattern is None:
        return []
    memo: dict[str, tuple[str, ...]] = catalogue.cache.setdefault("plan_terms", {})
    found: list[str] = []
    for text in texts:
        refs = memo.get(text)
        if refs is None:
            if len(memo) > TERMS_MEMO_LIMIT:
                memo.clear()
            refs = memo[text] = tuple(
                dict.fromkeys(
                    compiled.explain_refs[m.group(1).casefold()] for m in pattern.finditer(text)
                )
            )
        for ref in refs:
            if ref not in found:
                found.append(ref)
    return found


def make_plan(catalogue: Catalogue, raw_profile: Any, *, today: dt.date | None = None) -> Plan:
    """The plan for a profile (decoded JSON); raises ProfileError for values that make no sense.

    `today` dates the plan ("rond 6 januari 2027"); fixed in tests and in the replay.
    """
    assessment = assess(catalogue, raw_profile)
    builder = _Builder(catalogue, assessment, today or dt.date.today())
    profile = assessment.profile
    summary = assessment.summary

    qualification, proposed, replaces, proposal_note = _target(builder)
    held = qualification.id in (profile.care_qualifications or ())
    route_id = summary.routes[0] if summary.routes else None
    route_rated = assessment.rated("routes", route_id) if route_id else None
    route_pending = route_rated is not None and assessment.fit(route_rated) != "recommended"
    units = [catalogue.units[u] for u in summary.units]
    scheme_ids = list(summary.funding)

    symbols = builder.symbols
    symbols.update(
        plan_route=route_id or NO_ROUTE,
        target_id=qualification.id,
        target_kind=qualification.kind,
        target_level=float(qualification.level),
        target_proposed=proposed,
        target_held=held,
        unit_count=float(len(units)),
        scheme_count=float(len(scheme_ids)),
        employer_schemes=any(catalogue.funding[f].applicant == "employer" for f in scheme_ids),
    )
    if units and units[0].duration is not None:
        symbols["unit_weeks"] = float(units[0].duration.min_weeks)
    values = _values(builder, qualification, route_id, units, scheme_ids)

    # The first step decides the contact, which the other steps may name.
    compiled = builder.compiled
    first = _choose(builder, compiled.steps["first_step"], symbols, values)
    assert first is not None and first.variant.contact is not None  # "true" variant at the end
    contact_id = first.variant.contact
    contact_text = builder.templates.contacts[contact_id]
    for language in LANGUAGES:
        values[language]["contact"] = _render(contact_text, values[language], language)
    contact = Contact(contact_id, PlanText(values["nl"]["contact"], values["en"]["contact"]))

    steps: list[Step] = []
    explained: list[str] = []
    for kind in ("target", "first_step", "learn", "cost", "next"):
        chosen = (
            first
            if kind == "first_step"
            else _choose(builder, compiled.steps[kind], symbols, values)
        )
        if chosen is None:
            continue
        variant = chosen.variant
        title = PlanText(*(_render(variant.title, values[lang], lang) for lang in LANGUAGES))
        text = PlanText(*(_render(variant.text, values[lang], lang) for lang in LANGUAGES))
        refs: list[PlanRef] = []
        sources: list[str] = list(variant.sources)
        fields = chosen.fields
        if fields & {"target", "level"}:
            refs.append(PlanRef("qualification", qualification.id))
            sources.extend(qualification.sources)
        if "contact" in fields or kind == "first_step":
            refs.append(PlanRef("contact", contact_id))
        if route_id is not None and ("route" in fields or kind in ("learn", "cost")):
            refs.append(PlanRef("route", route_id))
            sources.extend(catalogue.routes[route_id].sources)
        unit_fields = fields & {"units", "unit", "enables", "weeks", "date"}
        for unit in units if "units" in unit_fields else units[:1] if unit_fields else ():
            refs.append(PlanRef("unit", unit.id))
            sources.extend(unit.sources)
            if fields & {"weeks", "date"} and unit.duration is not None:
                sources.extend(unit.duration.sources)
        if "schemes" in fields:
            for scheme_id in scheme_ids:
                refs.append(PlanRef("funding", scheme_id))
                sources.extend(catalogue.funding[scheme_id].sources)
        terms = [
            t
            for t in _terms_in(catalogue, (title.nl, text.nl, title.en, text.en))
            if t not in explained
        ]
        explained.extend(terms)
        steps.append(
            Step(
                number=len(steps) + 1,
                kind=kind,
                variant=variant.id,
                title=title,
                text=text,
                refs=tuple(dict.fromkeys(refs)),
                sources=_unique(sources),
                terms=tuple(terms),
            )
        )
        if len(steps) == MAX_STEPS:
            break

    # ---- why: the reasons behind the target, the route, the units and the schemes ----------
    why: list[Note] = []
    if proposal_note is not None:
        why.append(proposal_note)
    if replaces is not None:
        chosen_q = catalogue.qualifications[replaces]
        replaced = builder.templates.notes["replaced"]
        why.append(
            Note(
                kind="target",
                ref=PlanRef("qualification", qualification.id),
                title=None,
                text=PlanText(
                    replaced.nl.format(chosen=chosen_q.title, target=qualification.title),
                    replaced.en.format(chosen=chosen_q.title_en, target=qualification.title_en),
                ),
                sources=tuple(chosen_q.sources),
                certain=chosen_q.status == "verified",
            )
        )
    if route_rated is not None:
        why.extend(_reason_notes(builder, route_rated))
    for unit in units:
        why.extend(_reason_notes(builder, assessment.rated("units", unit.id)))
    for scheme_id in scheme_ids:
        why.extend(_reason_notes(builder, assessment.rated("funding", scheme_id)))

    # ---- more: other ways that fit, and what is not possible ------------------------------
    alternatives: list[Note] = []
    for rated in assessment.routes:
        if len(alternatives) >= MAX_ALTERNATIVES or rated[1].fit == 2:
            break
        if rated[0].ref[1] != route_id and (
            assessment.fit(rated) == "recommended" or rated[1].pending
        ):
            alternatives.append(_first_reason_note(builder, rated))
    # Recommended units beyond the plan's, then units held back for one of the plan's.
    others = [r for r in _leading_units(assessment) if r[0].ref[1] not in summary.units]
    for rated in [*others, *assessment.run.held_back_rated][:MAX_ALTERNATIVES]:
        alternatives.append(_first_reason_note(builder, rated))

    not_possible: list[Note] = []
    for rated in assessment.routes:
        if len(not_possible) >= MAX_NOT_POSSIBLE - 1:
            break
        route = catalogue.routes[rated[0].ref[1]]
        if rated[1].fit == 2 and route.status == "verified":
            not_possible.append(_first_reason_note(builder, rated))
    # The target's own units that are not possible, in data order (a handful per target).
    for unit_id in () if held else _units_of(catalogue, qualification.id):
        if len(not_possible) >= MAX_NOT_POSSIBLE:
            break
        rated = assessment.rated("units", unit_id)
        if rated[1].fit == 2 and not rated[1].blocked_by_routes:
            not_possible.append(_first_reason_note(builder, rated))

    notices = [
        Note(
            kind="notice",
            ref=PlanRef("notice", warning["id"]),
            title=None,
            text=PlanText(warning["nl"], warning["en"]),
            sources=tuple(s["id"] for s in warning["sources"]),
            certain=warning["status"] == "verified",
        )
        for warning in assessment.warnings()[:MAX_NOTICES]
    ]

    facts: list[Note] = []
    for fact, expression in compiled.facts:
        if builder.holds(expression, symbols):
            answer = catalogue.answers[fact.answer]
            facts.append(
                Note(
                    kind="fact",
                    ref=PlanRef("answer", answer.id),
                    title=None,
                    text=_text(_fact_text(catalogue, answer.id, symbols)),
                    sources=tuple(answer.sources),
                    certain=answer.status == "verified",
                )
            )

    notes = [*why, *alternatives, *not_possible, *notices, *facts]
    note_texts = [t for n in notes for t in (n.text.nl, n.text.en)]
    note_texts += [t for n in notes if n.title is not None for t in (n.title.nl, n.title.en)]
    for ref in _terms_in(catalogue, [*note_texts, contact.name.nl, contact.name.en]):
        if ref not in explained:
            explained.append(ref)
    # An explanation may use a hard word of its own ("ingeschaald in het NLQF"): explained too.
    glossary: list[Explained] = []
    while len(glossary) < len(explained):
        entry = _explanation(catalogue, explained[len(glossary)])
        glossary.append(entry)
        for ref in _terms_in(catalogue, (entry.text.nl, entry.text.en)):
            if ref not in explained:
                explained.append(ref)

    source_ids = [s for step in steps for s in step.sources] + [
        s for note in notes for s in note.sources
    ]
    open_questions = tuple(q["field"] for q in assessment.run.open_questions(profile.answered))
    return Plan(
        language=profile.language,
        target=Target(
            qualification=qualification.id,
            title=PlanText(qualification.title, qualification.title_en),
            level=qualification.level,
            kind=qualification.kind,
            proposed=proposed,
            held=held,
            replaces=replaces,
        ),
        route=route_id,
        route_pending=route_pending,
        units=tuple(summary.units),
        funding=tuple(scheme_ids),
        contact=contact,
        steps=tuple(steps),
        alternatives=tuple(alternatives),
        why=tuple(why),
        not_possible=tuple(not_possible),
        notices=tuple(notices),
        facts=tuple(facts),
        glossary=tuple(glossary),
        open_questions=open_questions,
        sources=tuple(source_facts(catalogue, source_ids)),
        today=builder.today,
        dates=_date_words(catalogue),
    )
