"""The advice and the catalogue's facts as typed, JSON-ready data: what `advice.advise` and
`advice.lookup` return, what `catalogue advise --json` prints, what the actions read.

TypedDicts, not classes: the advice is made thousands of items at a time (a dict per item is
the cheapest), and it is JSON as it is, so nothing converts it on its way out.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from catalogue.schema import (
    Applicant,
    Certificate,
    Outcome,
    Sector,
    Severity,
    Status,
    in_language,
)


class Bilingual(TypedDict):
    nl: str
    en: str


class SourceFacts(TypedDict):
    id: str
    title: str
    publisher: str
    url: str | None
    file: str | None
    published: str
    checked: str  # ISO date
    status: Status


# `if` is a keyword, so this one is spelled as a call.
Reason = TypedDict(
    "Reason",
    {
        "rule": str | None,  # None: the kind's default, or a reason the engine gives itself
        "outcome": Outcome,
        "nl": str,
        "en": str,
        "sources": list[str],
        # The routes that decide it (not possible through any of them; no better than them).
        "routes": NotRequired[list[str]],
        # A rule that needs open answers: the rule's own reason as a condition, and the fields.
        "if": NotRequired[Bilingual],
        "depends_on": NotRequired[list[str]],
    },
)


class ItemFacts(TypedDict):
    """What every item of the catalogue has."""

    id: str
    title: str
    title_en: str
    status: Status
    certain: bool  # verified
    checked: str  # ISO date
    sources: list[SourceFacts]


def title_in(facts: ItemFacts, language: str) -> str:
    """An item's title in the conversation's language."""
    return in_language(language, facts["title"], facts["title_en"])


class QualificationRef(TypedDict):
    id: str
    title: str
    level: int
    crebo: str | None


class WorkProcess(TypedDict):
    code: str
    title: str


class DurationFacts(TypedDict):
    min_weeks: int
    max_weeks: int
    note: str | None
    sources: list[str]
    status: Status


class PriceFacts(TypedDict):
    min_eur: int
    max_eur: int
    note: str | None
    sources: list[str]
    status: Status


class UnitFacts(ItemFacts):
    kind: Literal["unit"]
    qualification: QualificationRef
    level: int
    certificate: Certificate
    sector: Sector
    routes: list[str]
    enables: Bilingual
    werkprocessen: list[WorkProcess]
    duration: DurationFacts | None
    price: PriceFacts | None


class RouteFacts(ItemFacts):
    kind: Literal["route"]
    explain: Bilingual
    cost: Bilingual


class FundingFacts(ItemFacts):
    kind: Literal["funding"]
    applicant: Applicant
    routes: list[str]
    amount: Bilingual
    conditions: Bilingual
    valid_from: str | None  # ISO date
    valid_until: str | None


class QualificationFacts(ItemFacts):
    kind: Literal["qualification"]
    level: int
    crebo: str | None
    sector: Sector
    note: str | None
    units: list[str]


class TermFacts(ItemFacts):
    kind: Literal["term"]
    text: Bilingual


# One item of the units, routes or funding the advice makes: its facts, fit and reasons.
PlanItemFacts = UnitFacts | RouteFacts | FundingFacts
Facts = UnitFacts | RouteFacts | FundingFacts | QualificationFacts | TermFacts


Fit = Literal["recommended", "possible", "not_possible"]


class _Advised(TypedDict):
    fit: Fit
    reasons: list[Reason]


class AdvisedUnit(UnitFacts, _Advised):
    pass


class AdvisedRoute(RouteFacts, _Advised):
    pass


class AdvisedFunding(FundingFacts, _Advised):
    pass


AdvisedItem = AdvisedUnit | AdvisedRoute | AdvisedFunding


class NoticeHistoryFacts(TypedDict):
    date: str
    nl: str
    en: str
    sources: list[SourceFacts]


class NoticeFacts(TypedDict):
    id: str
    severity: Severity
    status: Status
    date: str
    nl: str
    en: str
    about: list[str]
    sources: list[SourceFacts]
    history: list[NoticeHistoryFacts]


class Affects(TypedDict):
    units: list[str]
    routes: list[str]
    funding: list[str]


class OpenQuestion(TypedDict):
    field: str
    affects: Affects


class SummaryIds(TypedDict):
    routes: list[str]
    units: list[str]
    funding: list[str]


class Advice(TypedDict):
    profile: dict[str, object]  # the profile as the engine read it (catalogue.profile)
    summary: SummaryIds
    # Each section holds items of its kind only.
    units: list[AdvisedItem]
    routes: list[AdvisedItem]
    funding: list[AdvisedItem]
    warnings: list[NoticeFacts]
    open_questions: list[OpenQuestion]
    catalogue_version: str


class NamedItem(TypedDict):
    """An item's names, for NLU patterns and lookups (`catalogue terms`)."""

    id: str
    title: str
    title_en: str
    synonyms: list[str]


class NamedQualification(NamedItem):
    level: int


class Terms(TypedDict):
    units: list[NamedItem]
    qualifications: list[NamedQualification]
    routes: list[NamedItem]
    funding: list[NamedItem]
    terms: list[NamedItem]
