"""The shape of the catalogue's YAML files, checked field by field with pydantic."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

Language = Literal["nl", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("nl", "en")
Status = Literal["verified", "unverified", "ended", "contested"]
Sector = Literal["vvt", "ghz", "both"]
Certificate = Literal["mbo-certificaat", "mbo-verklaring", "none", "unknown"]
Audience = Literal["starter", "helpende", "experienced", "diploma_part", "hbo"]
Outcome = Literal["not_possible", "possible", "recommended", "note"]
Applicant = Literal["person", "employer", "unknown"]
Severity = Literal["info", "warning", "high"]

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
SourceIds = Annotated[list[Id], Field(min_length=1)]


_Said = TypeVar("_Said")


def language_of(value: object) -> Language:
    """The language of a conversation or a view: English when it says so, else Dutch."""
    return "en" if value == "en" else "nl"


def in_language(language: str, nl: _Said, en: _Said) -> _Said:
    """The one of the two that is in `language` (Dutch unless it is English): the only place
    that chooses between a Dutch and an English text."""
    return en if language == "en" else nl


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A user-facing text in plain Dutch (B1) with its English variant."""

    nl: NonEmpty
    en: NonEmpty

    def get(self, language: str) -> str:
        return in_language(language, self.nl, self.en)


class Source(Strict):
    id: Id
    title: NonEmpty
    publisher: NonEmpty
    file: str | None = None
    url: str | None = None
    published: str
    checked: dt.date
    status: Status

    @field_validator("published", mode="before")
    @classmethod
    def _published_as_text(cls, value: object) -> object:
        return value.isoformat() if isinstance(value, dt.date) else value

    @model_validator(mode="after")
    def _has_location(self) -> Source:
        if not self.file and not self.url:
            raise ValueError("a source needs a file or a url")
        if self.url and not self.url.startswith(("https://", "http://")):
            raise ValueError("url must start with https:// or http://")
        return self


class Fact(Strict):
    """Fields every catalogue entry carries: where it comes from, when checked, how sure."""

    status: Status
    sources: SourceIds
    checked: dt.date


class Qualification(Fact):
    id: Id
    title: NonEmpty
    title_en: NonEmpty
    # Names people use for it ("VIG", "helpende"): the bot's entity recogniser learns them.
    synonyms: list[NonEmpty] = []
    level: Annotated[int, Field(ge=1, le=6)]
    kind: Literal["mbo", "hbo"]
    crebo: Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")] | None = None
    sector: Sector
    note: str | None = None
    replaced_by: Id | None = None


class Workprocess(Strict):
    code: NonEmpty
    title: NonEmpty


class Duration(Strict):
    min_weeks: Annotated[int, Field(ge=1, le=520)]
    max_weeks: Annotated[int, Field(ge=1, le=520)]
    note: str | None = None
    sources: SourceIds
    status: Status

    @model_validator(mode="after")
    def _ordered(self) -> Duration:
        if self.min_weeks > self.max_weeks:
            raise ValueError("min_weeks is larger than max_weeks")
        return self


class Price(Strict):
    min_eur: Annotated[int, Field(ge=0)]
    max_eur: Annotated[int, Field(ge=0)]
    note: str | None = None
    sources: SourceIds
    status: Status

    @model_validator(mode="after")
    def _ordered(self) -> Price:
        if self.min_eur > self.max_eur:
            raise ValueError("min_eur is larger than max_eur")
        return self


class Unit(Fact):
    id: Id
    title: NonEmpty
    title_en: NonEmpty
    synonyms: list[NonEmpty] = []
    qualification: Id
    level: Annotated[int, Field(ge=1, le=6)]
    certificate: Certificate
    audience: Audience
    sector: Sector
    routes: Annotated[list[Id], Field(min_length=1)]
    enables: Text
    werkprocessen: list[Workprocess] = []
    duration: Duration | None = None
    price: Price | None = None
    note: str | None = None
    # Units of one group are the same kind of unit (two names for one step): the advice
    # recommends at most one of a group.
    group: Id | None = None


class Route(Fact):
    id: Id
    title: NonEmpty
    title_en: NonEmpty
    synonyms: list[NonEmpty] = []
    explain: Text
    cost: Text
    # A short name for sentences ("BBL (werken en leren)"); the title when absent.
    short: Text | None = None


class Funding(Fact):
    id: Id
    title: NonEmpty
    title_en: NonEmpty
    synonyms: list[NonEmpty] = []
    applicant: Applicant
    routes: list[Id]
    amount: Text
    conditions: Text
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    note: str | None = None


class GlossaryTerm(Fact):
    """A word people ask about ("wat is een leereenheid?"), explained in plain words."""

    id: Id
    title: NonEmpty
    title_en: NonEmpty
    synonyms: list[NonEmpty] = []
    text: Text


class Rule(Strict):
    id: Id
    applies_to: Annotated[list[NonEmpty], Field(min_length=1)]
    when: NonEmpty
    outcome: Outcome
    reason: Text
    sources: SourceIds
    # Among recommended items, a higher total weight ranks first.
    weight: Annotated[int, Field(ge=1, le=10)] = 1
    # For a `possible` rule: it only holds until the person takes a first step (find a care
    # employer, ask about SBB recognition, take the admission test). A route held back only by
    # such rules may still be named as the way to go, with that step first.
    resolvable: bool = False

    @model_validator(mode="after")
    def _resolvable_caps_only(self) -> Rule:
        if self.resolvable and self.outcome != "possible":
            raise ValueError("only a rule with outcome possible can be resolvable")
        return self


class RuleDefaults(Strict):
    unit: Text
    route: Text
    funding: Text
    # Reason for an item that can only be followed through routes that are all not possible.
    route_blocked: Text
    # Reason for an item whose status is ended, when no rule says more.
    ended: Text
    # Lead-in for a rule that cannot be decided yet; the rule's own reason follows as `if`.
    undecided: Text
    # Reason for a unit of a group whose other unit is recommended (one of the two is enough).
    alternative: Text
    # Reason for a scheme whose routes are at best possible: it fits no better than they do.
    route_possible: Text


class NoticeHistory(Strict):
    date: dt.date
    text: Text
    sources: SourceIds


class Notice(Strict):
    id: Id
    date: dt.date
    severity: Severity
    status: Status
    about: list[NonEmpty]
    when: NonEmpty
    text: Text
    sources: SourceIds
    history: list[NoticeHistory] = []


Aspect = Literal["what", "who", "cost", "duration", "result", "how", "may", "where", "status"]


class Variants(Strict):
    """How people ask one question, in Dutch and English (for retrieval, never shown)."""

    nl: Annotated[list[NonEmpty], Field(min_length=1)]
    en: Annotated[list[NonEmpty], Field(min_length=1)]


class PersonalAnswer(Strict):
    """What an answer means for this person, when their answers decide it."""

    when: NonEmpty
    answer: Text


class Answer(Fact):
    """A question people ask and its answer: the knowledge base behind "wat kost ...?"."""

    id: Id
    # The catalogue item or topic the answer is about (a term, unit, route, funding or
    # qualification id, or a topic of its own).
    about: Id
    aspect: Aspect
    questions: Variants
    answer: Text
    personal: list[PersonalAnswer] = []


Phrase = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True, to_lower=True)]
PhraseList = Annotated[list[Phrase], Field(min_length=1)]
Level = Literal["none", "vmbo", "havo", "vwo", "mbo1", "mbo2", "mbo3", "mbo4", "hbo", "wo"]


class NumberWords(Strict):
    """The words a language builds numbers from (catalogue/numberwords.py composes them)."""

    units: Annotated[list[str], Field(min_length=10, max_length=10)]
    teens: Annotated[list[NonEmpty], Field(min_length=10, max_length=10)]
    tens: Annotated[list[NonEmpty], Field(min_length=8, max_length=8)]
    hundred: NonEmpty
    joiner: NonEmpty


class Phrases(Strict):
    """How people describe their situation: the words answers are read with (phrases.yaml)."""

    sector: dict[Literal["vvt", "ghz", "either", "other"], PhraseList]
    care_work: PhraseList
    care_work_parts: PhraseList
    not_care_work: list[Phrase]
    outside_care: PhraseList
    work: PhraseList
    current_employer: PhraseList
    workplace: PhraseList
    no_employer: PhraseList
    own_organisation: PhraseList
    goal: dict[Literal["tasks", "certificate", "diploma", "orientation", "hbo"], PhraseList]
    wish: PhraseList
    target: dict[Id, PhraseList]
    benefit: dict[Literal["ww", "bijstand", "other", "none"], PhraseList]
    benefit_any: PhraseList
    education: Annotated[list[tuple[Phrase, Level]], Field(min_length=1)]
    yes: PhraseList
    no: PhraseList
    dont_know: PhraseList
    hesitation: PhraseList
    full_time: PhraseList
    part_time_half: PhraseList
    no_experience: PhraseList
    language_words: dict[Literal["nl", "en"], PhraseList]
    language_requests: dict[Literal["nl", "en"], PhraseList]
    chitchat: PhraseList
    question_starts: PhraseList
    question_phrases: PhraseList
    numbers: dict[Literal["nl", "en"], NumberWords]
    correction: PhraseList
    almost: PhraseList
    about: PhraseList
    question_aspects: dict[Aspect, PhraseList]

    @model_validator(mode="after")
    def _every_key(self) -> Phrases:
        tables = {
            "sector": ("vvt", "ghz", "either", "other"),
            "goal": ("tasks", "certificate", "diploma", "orientation", "hbo"),
            "benefit": ("ww", "bijstand", "other", "none"),
        }
        for name, keys in tables.items():
            missing = set(keys) - set(getattr(self, name))
            if missing:
                raise ValueError(f"{name} needs phrases for {', '.join(sorted(missing))}")
        for name in ("language_words", "language_requests", "numbers"):
            if set(getattr(self, name)) != {"nl", "en"}:
                raise ValueError(f"{name} needs nl and en")
        return self


# A short answer's meaning for a question: a value, or what the bot does instead.
CLARIFY: Final = "clarify"
SKIP: Final = "skip"
ShortAnswer = str | int | float | list[str]


class IntakeQuestion(Strict):
    """One question of the intake (intake.yaml): its field, when it matters, short answers."""

    field: Id
    ask_when: NonEmpty | None = None
    yes: ShortAnswer = CLARIFY
    no: ShortAnswer = CLARIFY
    dont_know: ShortAnswer = SKIP


# ---- the plan's templates (plan.yaml) -------------------------------------------------------

StepKind = Literal["target", "first_step", "learn", "cost", "next"]
STEP_KINDS: tuple[StepKind, ...] = ("target", "first_step", "learn", "cost", "next")


class PlanVariant(Strict):
    """One way to say a step; the first variant whose `when` holds is used."""

    id: Id
    when: NonEmpty
    # first_step only: who the person contacts (a key of `contacts`).
    contact: Id | None = None
    title: Text
    text: Text
    # Where the facts in this sentence come from (the items it names add their own).
    sources: list[Id] = []


class TargetProposal(Strict):
    """A target the advice proposes when the person does not know yet, and why."""

    id: Id
    when: NonEmpty
    target: Id
    reason: Text
    sources: SourceIds


class PlanFact(Strict):
    """Something an advisor also says (an answer of answers.yaml), when `when` holds."""

    id: Id
    when: NonEmpty
    answer: Id


class ExplainedWord(Strict):
    """A hard word (as written in Dutch or English) and the entry that explains it."""

    words: Annotated[list[NonEmpty], Field(min_length=1)]
    # kind:id of a glossary term, route, scheme or unit: "term:crebo", "route:bbl".
    ref: NonEmpty


class Months(Strict):
    nl: Annotated[list[NonEmpty], Field(min_length=12, max_length=12)]
    en: Annotated[list[NonEmpty], Field(min_length=12, max_length=12)]


class PlanTemplates(Strict):
    """Every sentence of the plan, per step kind and language, with the words around them."""

    months: Months
    # A date in words: {day} {month} {year}.
    date: Text
    # Small words the plan puts between values: and, your_region, weeks_range ({min}, {max}).
    words: dict[Id, Text]
    contacts: dict[Id, Text]
    # Sentences of the plan's notes: replaced ({chosen} {target}).
    notes: dict[Id, Text]
    proposals: Annotated[list[TargetProposal], Field(min_length=1)]
    steps: dict[StepKind, list[PlanVariant]]
    facts: list[PlanFact] = []
    explain: list[ExplainedWord] = []


class CatalogueData(Strict):
    """The whole catalogue as read from the YAML files (or from the database)."""

    version: NonEmpty
    title: NonEmpty
    sources: list[Source]
    qualifications: list[Qualification]
    units: list[Unit]
    routes: list[Route]
    funding: list[Funding]
    rule_defaults: RuleDefaults
    rules: list[Rule]
    notices: list[Notice]
    glossary: list[GlossaryTerm]
    answers: list[Answer]
    phrases: Phrases
    intake: Annotated[list[IntakeQuestion], Field(min_length=1)]
    plan: PlanTemplates
    # regions.yaml. Every name of a province, municipality or place -> its province; a name of
    # places in more than one province is not here (see homonyms).
    regions: dict[str, str]
    # Every municipality (-> itself) and place -> its municipality; a place whose name is used
    # more than once is here as "Place (Municipality)", and by its name alone only when that name
    # means one municipality.
    municipalities: dict[str, str] = {}
    # A name used for more than one place, or for a place and a municipality or province -> the
    # municipalities with a place (or that are a municipality) of that name.
    homonyms: dict[str, list[str]] = {}
    # Another way of writing a name ("Den Bosch") -> the name as regions.yaml writes it.
    region_aliases: dict[str, str] = {}
    # Place names that are also everyday words ("een", "best"): they need "in ..." or to be the
    # whole answer.
    place_words: list[str] = []
    # Where the municipalities and places come from (ids in sources.yaml).
    region_sources: list[Id] = []
