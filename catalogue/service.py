"""The catalogue as a service for other processes (the action server, the CLI).

Nothing is opened at import or construction: the first call loads the catalogue from the
database, and later calls look every `refresh_seconds` whether a newer one was loaded (by
`catalogue load` or `catalogue sync`), so every instance picks it up without a restart.
The catalogue is reference data, not conversation state: caching it per process is safe.
"""

from __future__ import annotations

import datetime as dt
import gc
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import Engine

from catalogue import store
from catalogue.advice import advise, lookup, term_facts
from catalogue.answers import FoundAnswer, find_answer, warm_up
from catalogue.compiled import Catalogue
from catalogue.errors import ProfileError
from catalogue.intake import asks, next_question
from catalogue.interpret import Reading, common_words, interpret, is_question, province_of
from catalogue.items import Advice, Facts, NamedItem, TermFacts, Terms
from catalogue.plan import Plan, make_plan
from catalogue.profile import parse_profile
from catalogue.schema import Funding, GlossaryTerm, Route, Unit


class CatalogueService:
    def __init__(
        self,
        database_url: str | None = None,
        *,
        refresh_seconds: float = 60.0,
        catalogue: Catalogue | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if database_url is None and catalogue is None:
            raise ValueError("give a database_url or a catalogue")
        self._database_url = database_url
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._catalogue = catalogue
        self._engine: Engine | None = None
        self._checked_at = clock() if catalogue is not None else float("-inf")
        self._lock = threading.Lock()

    @classmethod
    def from_catalogue(cls, catalogue: Catalogue) -> CatalogueService:
        """A service over an in-memory catalogue (tests, benchmarks): never touches a database."""
        return cls(catalogue=catalogue)

    def _engine_once(self) -> Engine:
        if self._engine is None:
            assert self._database_url is not None
            self._engine = store.make_engine(self._database_url)
        return self._engine

    def catalogue(self) -> Catalogue:
        """The current catalogue; raises CatalogueNotLoaded when the database holds none."""
        if self._database_url is None:
            assert self._catalogue is not None
            return self._catalogue
        now = self._clock()
        current = self._catalogue
        if current is not None and now - self._checked_at < self._refresh_seconds:
            return current
        with self._lock:
            if self._catalogue is not None and now - self._checked_at < self._refresh_seconds:
                return self._catalogue
            engine = self._engine_once()
            checksum = store.current_checksum(engine)
            if self._catalogue is None or checksum != self._catalogue.checksum:
                gc.unfreeze()  # let the catalogue being replaced be collected
                loaded = store.read(engine)
                # Its answers' model is trained before it is used (a few seconds), so no
                # question waits for the training.
                warm_up(loaded)
                self._catalogue = loaded
                settle_long_lived()
            self._checked_at = now
            return self._catalogue

    def advise(self, profile: Any) -> Advice:
        """Advice for a profile; raises ProfileError for values that make no sense."""
        return advise(self.catalogue(), profile)

    def plan(self, profile: Any, today: dt.date | None = None) -> Plan:
        """The plan for a profile (at most five steps, agreeing with `advise`); raises
        ProfileError for values that make no sense."""
        return make_plan(self.catalogue(), profile, today=today)

    def terms(self) -> Terms:
        """Names and synonyms of everything in the catalogue, for NLU patterns and lookups."""
        return catalogue_terms(self.catalogue())

    def interpret(self, text: str, asked: str | None = None) -> Reading:
        """Profile values, problems and catalogue mentions in a free-text message."""
        return interpret(text, self.catalogue(), asked)

    def is_question(self, text: str) -> bool:
        """Whether a message asks something (then the bot answers it before anything else)."""
        return is_question(text, self.catalogue())

    def next_question(
        self, answers: Mapping[str, Any], skipped: Collection[str] = ()
    ) -> str | None:
        """The profile field the intake asks next; None when it is complete."""
        return next_question(self.catalogue(), answers, skipped)

    def asks(self, field: str, answers: Mapping[str, Any]) -> bool:
        """Whether the intake asks `field` of someone with these answers."""
        return asks(self.catalogue(), field, answers)

    def find_answer(
        self, question: str, language: str, answers: Mapping[str, Any]
    ) -> FoundAnswer | None:
        """The knowledge base's answer to a question, personal where the answers decide it."""
        return find_answer(self.catalogue(), question, language, answers)

    def accepts(self, field: str, value: Any) -> bool:
        """Whether `value` is a value the profile takes for `field` (a button's, say)."""
        catalogue = self.catalogue()
        try:
            parse_profile({field: value}, catalogue.qualification_ids)
        except ProfileError:
            return False
        return True

    def common_words(self) -> frozenset[str]:
        """Everyday words (no names of places): a message made of them is no place."""
        return common_words(self.catalogue())

    def province(self, region: str) -> str | None:
        """The province of a place or province (regions.yaml, common spellings); None if unknown."""
        return province_of(region, self.catalogue())

    def lookup(self, kind: str, item_id: str) -> Facts | None:
        """The catalogue's facts on one item, to answer a question about it; None if unknown."""
        return lookup(self.catalogue(), kind, item_id)

    def glossary(self) -> list[TermFacts]:
        """The words people ask about, explained, with their sources."""
        catalogue = self.catalogue()
        return [term_facts(catalogue, t.id) for t in catalogue.data.glossary]


def settle_long_lived() -> None:
    """Moves what is alive now (the catalogue above all) out of the garbage collector's sight.

    A large catalogue is hundreds of thousands of objects that live as long as the process;
    without this, every full collection walks them all and a few advice calls take 10-20 times
    longer than the rest (measured in bench/advice.py).
    """
    gc.collect()
    gc.freeze()


def catalogue_terms(catalogue: Catalogue) -> Terms:
    data = catalogue.data

    def named(items: Iterable[Unit | Route | Funding | GlossaryTerm]) -> list[NamedItem]:
        return [
            {"id": i.id, "title": i.title, "title_en": i.title_en, "synonyms": list(i.synonyms)}
            for i in items
        ]

    return {
        "units": named(data.units),
        "qualifications": [
            {
                "id": q.id,
                "title": q.title,
                "title_en": q.title_en,
                "level": q.level,
                "synonyms": [*q.synonyms, *([q.crebo] if q.crebo else [])],
            }
            for q in data.qualifications
        ],
        "routes": named(data.routes),
        "funding": named(data.funding),
        "terms": named(data.glossary),
    }


_default: CatalogueService | None = None
_default_lock = threading.Lock()


def default_service(database_url: str, *, refresh_seconds: float) -> CatalogueService:
    """The process-wide service, made on the first call on the database its caller read from
    the settings (actions/base.py); later calls get the same service."""
    global _default
    with _default_lock:
        if _default is None:
            _default = CatalogueService(database_url, refresh_seconds=refresh_seconds)
        return _default
