"""The shape of the catalogue's YAML files, checked field by field with pydantic."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

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


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A user-facing text in plain Dutch (B1) with its English variant."""

    nl: NonEmpty
    en: NonEmpty


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
    plan: PlanTemplates
    # municipality -> province
    regions: dict[str, str]
