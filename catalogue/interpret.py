"""Free-text answers to profile values: "achtendertig", "mbo 2 helpende", "nee nog geen werkgever".

How people describe their situation is domain knowledge: the words live in
catalogue/data/phrases.yaml (staff extend them), what short answers mean for each question in
intake.yaml, and the names of qualifications, units, routes, schemes, terms and places in the
catalogue itself (titles and synonyms). This module only reads a message with them.

`asked` is the profile field the bot asked last: a bare "24", "nee" or "weet ik niet" is an
answer to that question. Anything else a message says fills other fields too, so nothing has
to be asked twice. A message is read clause by clause ("ik werk niet in de zorg, maar bij een
bank"): a negation counts in its own clause, a wish ("wil verzorgende ig worden") is no
diploma, a job ("werk als helpende") is no diploma either. Values that make no sense (age 7,
200 hours) are reported as problems, never returned as values.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypedDict, TypeVar

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from catalogue.compiled import Catalogue
from catalogue.numberwords import NumberReader
from catalogue.profile import MAX_AGE, MAX_HOURS, MIN_AGE
from catalogue.schema import (
    CLARIFY,
    SKIP,
    Funding,
    GlossaryTerm,
    IntakeQuestion,
    Phrases,
    Qualification,
    Route,
    Unit,
)

K = TypeVar("K", bound=str)

FULL_TIME_HOURS: Final = 36
MAX_EXPERIENCE_YEARS: Final = 60
# "3 dagen" (per week) is read as working days of 8 hours, the usual shift in care.
HOURS_PER_DAY: Final = 8
# Words of at least this length that are one letter off a known word are read as that word
# ("ouderezorg", "gehandicaptezorg"); from TYPO_TWO_FROM letters on, two letters off.
TYPO_MIN_LENGTH: Final = 8
TYPO_TWO_FROM: Final = 12
# Unknown words remembered per catalogue, with the word each is read as (bounded: people
# type anything).
TYPO_MEMO_WORDS: Final = 20_000
# Negations that count within their own clause.
NEGATIONS: Final = ("niet", "geen", "nooit", "not", "no", "never", "nor")

ProblemKind = Literal["out_of_range", "unclear", "unknown", "unknown_place", "clarify"]


class Mention(TypedDict):
    kind: str
    id: str


ShortAnswer = Literal["yes", "no", "dont_know"]


class Reading(TypedDict):
    """What a message says: profile values, problems per field, catalogue items it names,
    and whether it is a short yes, no or "weet ik niet"."""

    values: dict[str, Any]
    problems: dict[str, ProblemKind]
    mentions: list[Mention]
    short: ShortAnswer | None
    # Whether it says an earlier answer is changed ("ik ben eigenlijk 45").
    correcting: bool


def normalise(text: str) -> str:
    """Lower case, accents off, punctuation to spaces; padded with spaces for word matching."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("’", "'")
    # A comma or full stop that ends a clause stays, as ",", so that what follows it is not
    # read as part of the answer before it ("havo, nog geen werkgever"); decimal commas stay.
    plain = re.sub(r"[,;.!?:]+(?=\s|$)", " , ", plain)
    # A decimal point between digits stays too ("20.5 uur" is not "20 5 uur").
    kept = re.sub(r"(?:(?!(?<=\d)\.(?=\d))[^\w'&+,-])+", " ", plain)
    return " " + " ".join(kept.split()) + " "


def _has(text: str, phrases: Iterable[str]) -> bool:
    return any(f" {p} " in text for p in phrases)


def _places(text: str, phrase: str) -> Iterator[int]:
    """Every position where the phrase stands as whole words."""
    at = text.find(f" {phrase} ")
    while at >= 0:
        yield at
        at = text.find(f" {phrase} ", at + 1)


def _first(
    text: str, table: Mapping[K, Iterable[str]], where: Callable[[int], bool] | None = None
) -> K | None:
    """The key whose phrase occurs earliest in the text (the first thing said wins), counting
    only the places `where` accepts."""
    best: tuple[int, K] | None = None
    for key, phrases in table.items():
        for phrase in phrases:
            at = next((a for a in _places(text, phrase) if where is None or where(a)), -1)
            if at >= 0 and (best is None or at < best[0]):
                best = (at, key)
    return None if best is None else best[1]


# Where one clause of a message ends and the next begins ("hbo accountancy , wil 24 uur").
_CLAUSE_BREAK: Final = re.compile(r"(?<= )(?:,|en|and|maar|but|want|because)(?= )")


@dataclass(frozen=True)
class _Matcher:
    """Catalogue names and synonyms, longest first, to find what a message mentions."""

    pattern: re.Pattern[str] | None
    by_phrase: dict[str, tuple[str, str]]


def _matcher(catalogue: Catalogue) -> _Matcher:
    cached = catalogue.cache.get("interpret")
    if isinstance(cached, _Matcher):
        return cached
    by_phrase: dict[str, tuple[str, str]] = {}
    data = catalogue.data
    groups: list[tuple[str, Iterable[Qualification | Unit | Route | Funding | GlossaryTerm]]] = [
        ("qualification", data.qualifications),
        ("unit", data.units),
        ("route", data.routes),
        ("funding", data.funding),
        ("term", data.glossary),
    ]
    for kind, items in groups:
        for item in items:
            names = [item.title, item.title_en, *item.synonyms]
            if isinstance(item, Qualification) and item.crebo:
                names.append(item.crebo)
            for name in names:
                phrase = normalise(name).strip()
                # The first claim on a phrase wins: qualifications before units and terms.
                if len(phrase) >= 2 and phrase not in by_phrase:
                    by_phrase[phrase] = (kind, item.id)
    phrases = sorted(by_phrase, key=len, reverse=True)
    pattern = (
        re.compile(r"(?<= )(" + "|".join(re.escape(p) for p in phrases) + r")(?= )")
        if phrases
        else None
    )
    matcher = _Matcher(pattern, by_phrase)
    catalogue.cache["interpret"] = matcher
    return matcher


def _found(text: str, catalogue: Catalogue) -> Iterator[tuple[int, tuple[str, str]]]:
    """(position, (kind, id)) of every catalogue name in a normalised text."""
    matcher = _matcher(catalogue)
    if matcher.pattern is None:
        return
    for match in matcher.pattern.finditer(text):
        yield match.start(), matcher.by_phrase[match.group(1)]


def found_items(text: str, catalogue: Catalogue) -> list[tuple[str, str]]:
    """(kind, id) of every catalogue name in a normalised text, in order, repeats included."""
    return [ref for _, ref in _found(text, catalogue)]


def corrected(text: str, catalogue: Catalogue) -> str:
    """The text normalised (see `normalise`) with typos of long words read as the word meant."""
    return _words(catalogue).correct(normalise(text))


def mentions(text: str, catalogue: Catalogue) -> list[Mention]:
    """The catalogue items a message names, in order, without repeats."""
    found: list[Mention] = []
    seen: set[tuple[str, str]] = set()
    for _, ref in _found(corrected(text, catalogue), catalogue):
        if ref not in seen:
            seen.add(ref)
            found.append({"kind": ref[0], "id": ref[1]})
    return found


@dataclass(frozen=True)
class _Words:
    """What messages are read with, built once per catalogue: phrases, numbers, spellings."""

    phrases: Phrases
    numbers: NumberReader
    intake: dict[str, IntakeQuestion]
    # Known long words, for reading a typo as the word meant.
    vocabulary: tuple[str, ...]
    known: frozenset[str]
    # (phrase, qualification id) of the target phrases, longest first.
    target_phrases: tuple[tuple[str, str], ...]
    # Unknown words already looked up, and the word each is read as (itself if none).
    _meant: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def correct(self, text: str) -> str:
        """The normalised text with each long unknown word replaced by the known word it is
        one (or, for long words, two) letters off."""
        words = text.split()
        changed = False
        for index, word in enumerate(words):
            if len(word) < TYPO_MIN_LENGTH or word in self.known or not word.isalpha():
                continue
            meant = self._meant.get(word)
            if meant is None:
                meant = self._word_meant(word)
                if len(self._meant) < TYPO_MEMO_WORDS:
                    self._meant[word] = meant
            if meant != word:
                words[index] = meant
                changed = True
        return " " + " ".join(words) + " " if changed else text

    def _word_meant(self, word: str) -> str:
        limit = 2 if len(word) >= TYPO_TWO_FROM else 1
        # Damerau: two letters swapped ("Flveoland") is one typo, as people make them.
        best = process.extractOne(
            word, self.vocabulary, scorer=DamerauLevenshtein.distance, score_cutoff=limit
        )
        return word if best is None else str(best[0])


def _words(catalogue: Catalogue) -> _Words:
    cached = catalogue.cache.get("interpret_words")
    if isinstance(cached, _Words):
        return cached
    phrases = catalogue.data.phrases
    lists: list[Iterable[str]] = [
        phrases.care_work,
        phrases.not_care_work,
        phrases.no_employer,
        phrases.no_experience,
        phrases.wish,
        phrases.dont_know,
        *phrases.sector.values(),
        *phrases.goal.values(),
        *phrases.benefit.values(),
        (phrase for phrase, _ in phrases.education),
    ]
    names = _matcher(catalogue).by_phrase
    # Place names too: "Flveoland" is Flevoland (accents off, as the matching compares them).
    places = (normalise(name) for name in catalogue.data.regions)
    # And number words ("vierentwinig" is vierentwintig).
    numbers_nl = NumberReader.from_words(phrases.numbers["nl"], phrases.numbers["en"]).dutch
    words = {
        word
        for phrase in itertools.chain(*lists, names, places, numbers_nl)
        for word in normalise(phrase).split()
        if word.isalpha()
    }
    numbers = phrases.numbers
    words_obj = _Words(
        phrases=phrases,
        numbers=NumberReader.from_words(numbers["nl"], numbers["en"]),
        intake={q.field: q for q in catalogue.data.intake},
        vocabulary=tuple(sorted(w for w in words if len(w) >= TYPO_MIN_LENGTH - 1)),
        known=frozenset(words),
        target_phrases=tuple(
            sorted(
                (
                    (normalise(p).strip(), target)
                    for target, ps in phrases.target.items()
                    for p in ps
                ),
                key=lambda pair: -len(pair[0]),
            )
        ),
    )
    catalogue.cache["interpret_words"] = words_obj
    return words_obj


# A sentence ends at ".", "!" or "?" before a space or the end ("20.5 uur" goes on).
_SENTENCE: Final = re.compile(r"(?:[^.!?]|[.!?](?!\s|$))+(?:[.!?]+|$)")


def _split_questions(text: str, words: _Words) -> tuple[str, str]:
    """(what the message tells, what it asks), each normalised and spelling-corrected.

    In a sentence that asks something (it ends with "?" or a clause starts like a question),
    the clauses from the first asking one on are the question; those before it tell something
    ("Ik ben 20, mag ik ...?": told "ik ben 20").
    """
    p = words.phrases
    told: list[str] = []
    asked: list[str] = []
    for sentence in _SENTENCE.findall(text):
        normalised = words.correct(normalise(sentence))
        starts = [0, *(m.start() for m in _CLAUSE_BREAK.finditer(normalised)), len(normalised)]
        clauses = [normalised[a:b] for a, b in itertools.pairwise(starts)]
        asking = next(
            (
                index
                for index, clause in enumerate(clauses)
                if _starts_question(clause.replace(",", " ").split(), p)
                or _has(" " + clause + " ", p.question_phrases)
            ),
            None,
        )
        if asking is None and sentence.rstrip().endswith("?"):
            asking = len(clauses) - 1
        if asking is None:
            asking = len(clauses)
        told.append(" ".join(clauses[:asking]))
        asked.append(" ".join(clauses[asking:]))
    return " " + " ".join(" ".join(told).split()) + " ", " ".join(" ".join(asked).split())


def _without_questions(text: str, words: _Words) -> str:
    return _split_questions(text, words)[0]


def _starts_question(words: list[str], p: Phrases) -> bool:
    # A clause break word ("maar", "en") may come first: "maar mag ik ...".
    return bool(words) and (
        words[0] in p.question_starts
        or (
            len(words) > 1
            and words[1] in p.question_starts
            and words[0] in ("en", "maar", "and", "but")
        )
    )


class _Reading:
    """One message being read: the values and problems found so far."""

    def __init__(self, text: str, asked: str | None, words: _Words, today: dt.date) -> None:
        self.raw = text
        self.words = words
        self.phrases = words.phrases
        self.asked = asked
        # What the message asks is no answer ("Moet mijn werkgever erkend zijn?"): its
        # questions are blanked, what it tells stays ("Ik ben 20, mag ik ...?": age 20).
        self.text = _without_questions(text, words)
        self.today = today
        self.values: dict[str, Any] = {}
        self.problems: dict[str, ProblemKind] = {}
        tokens = self.text.split()
        self.bare = len([t for t in tokens if t != ","]) <= 3  # a short answer to the question
        first = tokens[0] if tokens else ""
        p = self.phrases
        # "ja" / "nee" count when they start the message or stand in a short one.
        hesitating = _has(self.text, p.hesitation)
        self.yes = not hesitating and (first in p.yes or (self.bare and _has(self.text, p.yes)))
        self.no = not hesitating and (first in p.no or (self.bare and _has(self.text, p.no)))
        self.dont_know = _has(self.text, p.dont_know)
        starts = [0, *(m.start() for m in _CLAUSE_BREAK.finditer(self.text)), len(self.text)]
        self.clauses = list(itertools.pairwise(starts))
        self._wish_clauses = [c for c in self.clauses if _has(self.clause(c), p.wish)]
        self.wish = bool(self._wish_clauses)
        # The message without its wishes: what the user has and does, not what they want.
        self.had = "".join(
            " , " if clause in self._wish_clauses else self.text[slice(*clause)]
            for clause in self.clauses
        )

    def clause(self, clause: tuple[int, int]) -> str:
        return " " + self.text[slice(*clause)] + " "

    def clause_at(self, position: int) -> tuple[int, int]:
        return next((c for c in self.clauses if c[0] <= position < c[1]), self.clauses[-1])

    def wished_at(self, position: int) -> bool:
        """Whether the clause around this position says what the user wants (not has)."""
        return self.clause_at(position) in self._wish_clauses

    def negated_at(self, position: int) -> bool:
        """Whether the clause around this position is negated ("niet in de zorg")."""
        return _has(self.clause(self.clause_at(position)), NEGATIONS)

    def put(self, field: str, value: Any) -> None:
        self.values.setdefault(field, value)

    def problem(self, field: str, kind: ProblemKind) -> None:
        if field not in self.values:
            self.problems.setdefault(field, kind)


_HOURS_AFTER: Final = re.compile(r"^\S+ (?:uur|uren|u|hours|hrs|hour|h)\b")
_DAYS_AFTER: Final = re.compile(r"^\S+ (?:dag|dagen|days|day)\b")
_YEARS_AFTER: Final = re.compile(r"^\S+ (?:jaar|jr|years|year|yrs)\b( oud| old)?")
_AGE_BEFORE: Final = re.compile(
    r"(?:\bben|\bi am|\bi'm|\bleeftijd|\bage|\baged|\bgeworden|\bis|\bwordt)\s*"
    r"(?:net|bijna|nu|now|just|almost|nearly|ongeveer|about|eigenlijk|toch|inmiddels|intussen|"
    r"pas|actually|really)?\s*$"
)
# "24 geworden", "24 jaar geworden", "net 40 geworden".
_AGE_AFTER: Final = re.compile(r"^\S+ (?:jaar )?(?:geworden|oud)\b")
_EXPERIENCE_BEFORE: Final = re.compile(
    r"(?:\bal|\bervaring|\bgewerkt|\bwerk|\bfor|\bexperience|\bsinds)\b[^0-9]{0,12}$"
)
_EXPERIENCE_AFTER: Final = re.compile(
    r"^\S+ (?:jaar|jr|years|year) "
    r"(?:ervaring|werkervaring|experience|in de zorg|gewerkt|worked|als|as)\b"
)
# "20-24 uur", "tussen de 20 en 24 uur", "20 a 24 uur", "20 tot 24 hours": the middle.
_HOURS_RANGE: Final = re.compile(
    r"(?:tussen (?:de )?|between )?(\d+(?:[.,]\d+)?) ?(?:-|tot en met|tot|a|en|to|and|or|of) ?"
    r"(\d+(?:[.,]\d+)?) (?:uur|uren|u|hours|hrs|h)\b"
)
_BORN: Final = re.compile(r"\b(?:geboren|born|geb|bouwjaar)\b[^0-9]{0,12}$")
BIRTH_YEAR_FROM: Final = 1930


def _read_numbers(r: _Reading) -> None:
    """Each number is read by what stands right next to it: "24 uur", "ik ben 38", "7 jaar als"."""
    ranges = [m for m in _HOURS_RANGE.finditer(r.text)]
    for match in ranges:
        low, high = (float(g.replace(",", ".")) for g in match.groups())
        if low < high:
            _check("hours_per_week", (low + high) / 2, r)
    in_range = [(m.start(), m.end()) for m in ranges]
    p = r.phrases
    for position, value in r.words.numbers.find(r.text):
        if any(start <= position < end for start, end in in_range):
            continue
        before, after = r.text[max(0, position - 24) : position], r.text[position:]
        almost = _has(" " + before[-14:], p.almost)
        if BIRTH_YEAR_FROM <= value <= r.today.year - MIN_AGE + 1 and float(value).is_integer():
            if r.asked == "age" or _BORN.search(before):
                _check("age", r.today.year - value, r)
            continue
        if _DAYS_AFTER.match(after) and value <= 7:
            _check("hours_per_week", value * HOURS_PER_DAY, r)
        elif _HOURS_AFTER.match(after) or (r.asked == "hours_per_week" and r.bare):
            _check("hours_per_week", value, r)
        elif _AGE_BEFORE.search(before) or _AGE_AFTER.match(after):
            _check("age", value - 1 if almost else value, r)
        elif years := _YEARS_AFTER.match(after):
            experience = _EXPERIENCE_BEFORE.search(before) or _EXPERIENCE_AFTER.match(after)
            if years.group(1) or r.asked == "age":
                _check("age", value - 1 if almost else value, r)
            elif experience or r.asked == "care_experience_years":
                _check("care_experience_years", value, r)
            else:
                _check("age", value - 1 if almost else value, r)  # "38 jaar" alone is an age
        elif r.asked in ("age", "hours_per_week", "care_experience_years") and r.bare:
            _check(r.asked, value - 1 if almost and r.asked == "age" else value, r)
    if _has(r.text, p.full_time):
        r.put("hours_per_week", FULL_TIME_HOURS)
    elif r.asked == "hours_per_week" and _has(r.text, p.part_time_half):
        r.problem("hours_per_week", "clarify")  # parttime: how many hours, roughly?


def _check(field: str, value: float, r: _Reading) -> None:
    if field == "age":
        # Range first: float() of a number of 400 digits overflows.
        if MIN_AGE <= value <= MAX_AGE and float(value).is_integer():
            r.put("age", int(value))
        else:
            r.problem("age", "out_of_range")
    elif field == "hours_per_week":
        if 0 < value <= MAX_HOURS:
            r.put("hours_per_week", int(value) if value == int(value) else value)
        else:
            r.problem("hours_per_week", "out_of_range")
    elif field == "care_experience_years":
        if 0 <= value <= MAX_EXPERIENCE_YEARS:
            r.put("care_experience_years", int(value) if value == int(value) else value)
        else:
            r.problem("care_experience_years", "out_of_range")


# A bare "niveau 2" or "level 3" means mbo in this context.
LEVEL_ONLY: Final = re.compile(r"\b(?:niveau|level)\s*([1-4])\b")


def _read_education(r: _Reading) -> None:
    text = r.text
    level: str | None = None
    end = -1

    # A level in a wish is a goal, not a diploma ("ik wil naar het hbo", "wil mbo 3 halen"),
    # unless it answers the education question.
    def had(at: int) -> bool:
        return r.asked == "education" or not r.wished_at(at)

    for phrase, candidate in r.phrases.education:
        if candidate == "none" and r.asked != "education":
            # "geen diploma" outside the education question is about a care diploma ("ik werk
            # als helpende maar heb nog geen diploma"), not about schooling.
            continue
        at = next((a for a in _places(text, phrase) if had(a)), -1)
        if at >= 0:
            level, end = candidate, at + len(phrase) + 1
            break
    if level is None:
        match = next((m for m in LEVEL_ONLY.finditer(text) if had(m.start())), None)
        if match and (r.asked == "education" or " mbo" in text):
            level, end = f"mbo{match.group(1)}", match.end()
    if level is None:
        return
    education: dict[str, Any] = {"level": level}
    field: list[str] = []
    for word in text[end:].split():
        if word in _FIELD_ENDS or len(field) == 3:
            break
        if word not in _FIELD_FILLERS and not word.isdigit():
            field.append(word)
    if field and level != "none":
        education["field"] = " ".join(field)
    r.put("education", education)


# The field of study follows the level ("hbo accountancy", "mbo 4 in de richting ICT") and ends
# where the sentence moves on ("havo en ik werk ...").
_FIELD_FILLERS: Final = frozenset(
    [
        "in",
        "de",
        "het",
        "een",
        "als",
        "richting",
        "opleiding",
        "diploma",
        "gehaald",
        "afgerond",
        "met",
        "niveau",
        "gedaan",
        "studie",
        "studied",
        "a",
        "an",
        "the",
        "degree",
        "of",
    ]
)
_FIELD_ENDS: Final = frozenset(
    [
        ",",
        "en",
        "and",
        "maar",
        "but",
        "ik",
        "i",
        "werk",
        "work",
        "ben",
        "am",
        "heb",
        "have",
        "wil",
        "want",
        "jaar",
        "years",
        "uur",
        "hours",
    ]
)
# Words that say a diploma is the person's own ("ik heb ...", "diploma ...").
POSSESSION: Final = (
    "diploma",
    "heb",
    "gehaald",
    "afgerond",
    "ik ben",
    "opgeleid",
    "ben ik",
    "i have",
    "i am",
    "i'm",
    "qualified",
    "certified",
    "niveau",
)


def _read_qualifications(r: _Reading, catalogue: Catalogue) -> None:
    """Diplomas the person has; a diploma named in a wish is the target, one named as a job
    ("werk als helpende") is neither, and a negated one ("nog geen diploma") is not had."""
    asked_here = r.asked in ("education", "care_qualifications")
    had: list[str] = []
    wished: list[str] = []
    for position, (kind, item_id) in _found(r.text, catalogue):
        if kind != "qualification":
            continue
        clause = r.clause(r.clause_at(position))
        if r.asked == "target" or (r.wished_at(position) and not asked_here):
            wished.append(item_id)
        elif _has(clause, r.phrases.work) and not _has(clause, POSSESSION[:4]):
            continue  # a job, not a diploma
        elif r.negated_at(position) and not (asked_here and r.bare):
            continue
        elif asked_here or _has(clause, POSSESSION):
            had.append(item_id)
    if had:
        r.put("care_qualifications", sorted(set(had)))
    elif _has(r.text, (" geen diploma", "nog geen diploma", "no diploma")) and (
        asked_here or _has(r.text, r.phrases.work)
    ):
        r.put("care_qualifications", [])
    if wished and (r.asked == "target" or r.wish):
        r.put("target", wished[0])
    elif r.asked == "target" or r.wish:
        # "ik wil verpleegkundige worden", "I want to be a nurse": the phrases of phrases.yaml,
        # the longest first, in a wish or as the answer to the target question.
        for phrase, target in r.words.target_phrases:
            at = next(
                (a for a in _places(r.text, phrase) if r.asked == "target" or r.wished_at(a)), -1
            )
            if at >= 0:
                r.put("target", target)
                break


def _is_care_word(word: str, p: Phrases) -> bool:
    if word in p.not_care_work:
        return False
    return any(part in word for part in p.care_work_parts)


def _says_care(clause: str, p: Phrases) -> bool:
    return _has(clause, p.care_work) or any(_is_care_word(w, p) for w in clause.split())


def _read_target(r: _Reading, catalogue: Catalogue) -> None:
    """What the user wants to become: a qualification named in a wish ("wil verzorgende ig
    worden"), or any named when the bot asked for the target. The first one named counts."""
    matcher = _matcher(catalogue)
    if matcher.pattern is None:
        return
    for match in matcher.pattern.finditer(r.text):
        kind, item_id = matcher.by_phrase[match.group(1)]
        if kind == "qualification" and (r.asked == "target" or r.wished_at(match.start())):
            r.put("target", item_id)
            return


def _read_work(r: _Reading) -> None:
    """Where the person works: in care, elsewhere, or nowhere (yet); clause by clause."""
    p = r.phrases
    employer: str | None = None
    working = r.asked == "employer"
    for clause_span in r.clauses:
        clause = r.clause(clause_span)
        if clause_span in r._wish_clauses and not _has(clause, p.current_employer):
            continue
        if _has(clause, p.own_organisation):
            employer = "care"  # a recruiter's own organisation
            break
        says_work = _has(clause, p.work) or _has(clause, p.current_employer)
        working = working or says_work
        if working and _has(clause, p.outside_care):
            employer = employer or "other"  # "ja, buiten de zorg"
            continue
        negated = _has(clause, NEGATIONS)
        if _says_care(clause, p) and (working or r.asked == "employer"):
            if not negated:
                employer = "care"
                break
            continue  # "ik werk niet in de zorg": where, then, says the next clause
        if (
            working
            and _has(clause, p.workplace)
            and not negated
            and not _has(clause, p.no_employer)
        ):
            employer = employer or "other"  # "werk als kok", "maar bij een bank"
    # "ik zoek werk" is a wish, and to the employer question the answer that there is none.
    if employer is None and _has(r.had if r.asked != "employer" else r.text, p.no_employer):
        employer = "none"
    if employer is not None:
        r.put("employer", employer)
        if (
            employer == "other"
            and r.asked != "care_experience_years"
            and not CARE_EXPERIENCE_PATTERN.search(r.text)
        ):
            # "ik werk nu 12 jaar in een supermarkt": years of work outside care are no
            # experience in care.
            r.values.pop("care_experience_years", None)
    elif r.asked == "employer" and r.yes and not r.bare:
        r.problem("employer", "clarify")
    no_experience = _has(r.text, p.no_experience) or NO_EXPERIENCE_PATTERN.search(r.text)
    if no_experience:
        r.put("care_experience_years", 0)
    if r.asked != "employer_sbb_recognised":
        if _has(
            r.text, ("niet erkend", "geen erkend leerbedrijf", "not recognised", "not recognized")
        ):
            r.put("employer_sbb_recognised", "no")
        elif _has(
            r.text, ("erkend leerbedrijf", "sbb-erkend", "sbb erkend", "recognised", "recognized")
        ):
            r.put("employer_sbb_recognised", "yes")


# Years said to be in care, whatever the person does now ("3 jaar in de zorg gewerkt").
CARE_EXPERIENCE_PATTERN: Final = re.compile(
    r"\b(?:in de zorg gewerkt|gewerkt in de zorg|ervaring in de zorg|zorgervaring|"
    r"worked in care|experience in care|care experience)\b"
)

# "geen zorgervaring", "no care experience", "zonder ervaring in de zorg": a negation, at most
# two words, then experience.
NO_EXPERIENCE_PATTERN: Final = re.compile(
    r" (?:geen|no|zero|zonder|without|nul) (?:\S+ ){0,2}?"
    r"(?:ervaring|werkervaring|zorgervaring|experience) "
)


def _read_choices(r: _Reading) -> None:
    p = r.phrases

    def not_negated(at: int) -> bool:
        return not r.negated_at(at)

    # "maakt niet uit" holds its own negation; "niet in de ouderenzorg" is no choice for it.
    named = {key: phrases for key, phrases in p.sector.items() if key != "either"}
    sector: str | None = _first(r.text, named, not_negated)
    if sector is None and r.asked == "sector" and _has(r.text, p.sector["either"]):
        sector = "either"
    if sector is not None:
        r.put("sector", sector)
    if r.asked == "goal" or r.wish:
        goal = _first(r.text, p.goal, None if r.asked == "goal" else r.wished_at)
        if goal is not None:
            r.put("goal", goal)
    benefit = _first(r.text, p.benefit)
    if benefit is not None:
        r.put("benefit", benefit)
    elif r.asked == "benefit" and _has(r.text, p.benefit_any) and not r.no:
        r.problem("benefit", "clarify")  # "ja, een uitkering": which one?


def _short_answer(r: _Reading) -> None:
    """ "ja", "nee", "weet ik niet" to the question asked, as intake.yaml says they count."""
    asked = r.asked
    if asked is None or asked in r.values:
        return
    question = r.words.intake.get(asked)
    if question is None:
        return
    if r.dont_know:
        meaning = question.dont_know
        kind: ProblemKind = "unknown"
    elif r.no:
        meaning, kind = question.no, "clarify"
    elif r.yes:
        meaning, kind = question.yes, "clarify"
    else:
        return
    if meaning == SKIP:
        r.problem(asked, "unknown")
    elif meaning == CLARIFY:
        r.problem(asked, kind)
    else:
        r.put(asked, meaning)


def _place_key(text: str) -> str:
    """A place name as compared: accents, case, hyphens and apostrophes do not count."""
    return " " + " ".join(re.sub(r"[-'\s]+", " ", normalise(text)).split()) + " "


@dataclass(frozen=True)
class _RegionIndex:
    """Every province, municipality, place and alias of regions.yaml by its words."""

    names: dict[tuple[str, ...], str]  # words of a name -> the name as the catalogue writes it
    first_words: frozenset[str]
    longest: int  # the most words in a name
    words: frozenset[tuple[str, ...]]  # names that are also everyday words


def _region_index(catalogue: Catalogue) -> _RegionIndex:
    """Built once per catalogue (the catalogue is immutable; `cache` is meant for such views)."""
    cached = catalogue.cache.get("region_index")
    if isinstance(cached, _RegionIndex):
        return cached
    data = catalogue.data
    names: dict[tuple[str, ...], str] = {}
    # A province's name means the province ("Zeeland", not the village in Maashorst); the
    # reader has made every other name unique.
    for province in sorted(set(data.regions.values())):
        names.setdefault(tuple(_place_key(province).split()), province)
    for name in (*data.regions, *data.homonyms):
        names.setdefault(tuple(_place_key(name).split()), name)
    for alias, name in data.region_aliases.items():
        names.setdefault(tuple(_place_key(alias).split()), name)
    names.pop((), None)
    index = _RegionIndex(
        names=names,
        first_words=frozenset(key[0] for key in names),
        longest=max((len(key) for key in names), default=0),
        words=frozenset(tuple(_place_key(word).split()) for word in data.place_words),
    )
    catalogue.cache["region_index"] = index
    return index


# Words before a place that make it one ("ik woon in Goes"); without them, "it goes well" or
# "het best" would name a place.
PLACE_MARKERS: Final = (
    "in",
    "uit",
    "bij",
    "rond",
    "regio",
    "provincie",
    "omgeving",
    "from",
    "near",
    "buurt van",
    "omgeving van",
)
# A place name that is also a word counts only after these ("in Best", but not "bij hem") ...
WORD_PLACE_MARKERS: Final = tuple(m for m in PLACE_MARKERS if m not in ("bij", "rond", "near"))
# ... and only where the clause ends or a part of the town follows ("in een dorp" names none).
AFTER_WORD_PLACE: Final = frozenset(
    {",", "en", "and", "maar", "but", "centrum", "noord", "oost", "zuid", "west"}
)
_MARKER_WORDS: Final = tuple(tuple(m.split()) for m in PLACE_MARKERS)
_WORD_MARKER_WORDS: Final = tuple(tuple(m.split()) for m in WORD_PLACE_MARKERS)


def _after(words: list[str], start: int, markers: tuple[tuple[str, ...], ...]) -> bool:
    return any(start >= len(m) and tuple(words[start - len(m) : start]) == m for m in markers)


def _stands_as_place(
    index: _RegionIndex, key: tuple[str, ...], words: list[str], start: int, anywhere: bool
) -> bool:
    if key in index.words:
        end = start + len(key)
        return ((anywhere and start == 0) or _after(words, start, _WORD_MARKER_WORDS)) and (
            end == len(words) or words[end] in AFTER_WORD_PLACE
        )
    return anywhere or _after(words, start, _MARKER_WORDS)


def find_region(text: str, catalogue: Catalogue, *, anywhere: bool = True) -> str | None:
    """The province, municipality or place of regions.yaml named in `text`, as the catalogue
    writes it (an alias gives the name it stands for); None for a place the list lacks.

    The longest name wins ("Bergen op Zoom", not "Bergen"), then the first. With `anywhere`
    false, only a name after a marker word ("in Zwolle", "uit Brabant"). Each word of the text
    is looked up once per name length: a dict lookup, not a scan over the ~2,500 names.
    """
    index = _region_index(catalogue)
    words = _place_key(text).split()
    best: tuple[int, int, str] | None = None  # (-characters, start, name)
    for start, word in enumerate(words):
        if word not in index.first_words:
            continue
        for end in range(min(len(words), start + index.longest), start, -1):
            key = tuple(words[start:end])
            name = index.names.get(key)
            if name is not None and _stands_as_place(index, key, words, start, anywhere):
                found = (-len(" ".join(key)), start, name)
                best = found if best is None or found < best else best
                break
    return None if best is None else best[2]


def province_of(region: str, catalogue: Catalogue) -> str | None:
    """The province of a name of regions.yaml; None when unknown, or when the name is that of
    places in different provinces (a homonym such as Zevenhuizen)."""
    name = find_region(region, catalogue)
    return None if name is None else catalogue.regions.get(name.casefold())


def _read_region(r: _Reading, catalogue: Catalogue) -> None:
    anywhere = r.asked == "region"
    name = find_region(r.raw, catalogue, anywhere=anywhere)
    if name is None:
        # A typo of a long place name ("Flveoland", "Leeuwraden") as the name meant.
        name = find_region(r.words.correct(normalise(r.raw)), catalogue, anywhere=anywhere)
    if name is not None:
        r.put("region", name)
    elif r.asked == "region" and not (r.no or r.dont_know):
        # An answer to the region question that names no place we know: asked again.
        r.problem("region", "unknown_place")


def _read_language(r: _Reading) -> None:
    p = r.phrases
    text = normalise(r.raw)  # questions too: they are written in a language as well
    if _has(text, p.language_requests["en"]):
        r.put("language", "en")
        return
    # Asking for Dutch; merely mentioning it ("I speak a little Dutch") is no such request.
    if _has(text, p.language_requests["nl"]):
        r.put("language", "nl")
        return
    words = text.split()
    english = sum(w in p.language_words["en"] for w in words)
    dutch = sum(w in p.language_words["nl"] for w in words)
    if english >= 2 and english > 2 * dutch:
        r.put("language", "en")
    elif dutch >= 2 and dutch > 2 * english:
        r.put("language", "nl")


def common_words(catalogue: Catalogue) -> frozenset[str]:
    """Everyday words of both languages (phrases.yaml: language words, wishes, questions,
    yes and no, off-topic remarks): a message made of such words names no place."""
    cached = catalogue.cache.get("common_words")
    if isinstance(cached, frozenset):
        return cached
    p = catalogue.data.phrases
    lists = [*p.language_words.values(), p.wish, p.question_starts, p.yes, p.no, p.chitchat]
    words = frozenset(w for phrases in lists for phrase in phrases for w in phrase.split())
    catalogue.cache["common_words"] = words
    return words


def question_part(text: str, catalogue: Catalogue) -> str:
    """What a message asks ("Hi, I only speak a little Dutch. What is a learning unit?":
    "what is a learning unit"), normalised; empty when it asks nothing."""
    return _split_questions(text, _words(catalogue))[1].replace(",", " ").strip()


def is_question(text: str, catalogue: Catalogue) -> bool:
    """Whether a message asks something ("Wat kost een leereenheid", "mag ik ...?")."""
    return bool(question_part(text, catalogue))


def interpret(
    text: str, catalogue: Catalogue, asked: str | None = None, today: dt.date | None = None
) -> Reading:
    """What a message says: profile values, problems per field, the catalogue items it names."""
    r = _Reading(text, asked, _words(catalogue), today or dt.date.today())
    _read_numbers(r)
    _read_education(r)
    _read_qualifications(r, catalogue)
    _read_target(r, catalogue)
    _read_work(r)
    _read_choices(r)
    _read_region(r, catalogue)
    _read_language(r)
    _short_answer(r)
    # A value found is never also a problem.
    problems = {f: kind for f, kind in r.problems.items() if f not in r.values}
    short: ShortAnswer | None = (
        "dont_know" if r.dont_know else "no" if r.no else "yes" if r.yes else None
    )
    return {
        "values": r.values,
        "problems": problems,
        "mentions": mentions(text, catalogue),
        "short": short,
        "correcting": _has(normalise(text), r.phrases.correction),
    }
