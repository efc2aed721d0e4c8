"""Free-text answers to profile values: "achtendertig", "mbo 2 helpende", "nee nog geen werkgever".

Domain knowledge of how people describe their situation lives here, next to the catalogue, so
that the bot's actions hold none. Names of qualifications, units, routes, schemes, terms and
places come from the catalogue itself (titles and synonyms); the phrase lists below cover the
closed questions (sector, employer, goal, benefit) in Dutch and English as people write them,
typos included where they are common.

`asked` is the profile field the bot asked last: a bare "24", "nee" or "weet ik niet" is an
answer to that question. Anything else a message says fills other fields too, so nothing has
to be asked twice. Values that make no sense (age 7, 200 hours) are reported as problems,
never returned as values.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from catalogue.compiled import Catalogue
from catalogue.numberwords import DIGITS, parse_number
from catalogue.profile import MAX_AGE, MAX_HOURS, MIN_AGE, TARGET_UNKNOWN

FULL_TIME_HOURS: Final = 36
MAX_EXPERIENCE_YEARS: Final = 60

# Phrases are matched on whole words of the lower-cased text without accents.
SECTOR_PHRASES: Final[dict[str, tuple[str, ...]]] = {
    "vvt": (
        "ouderenzorg",
        "ouderen",
        "oudere mensen",
        "bejaarden",
        "bejaardenzorg",
        "verpleeghuis",
        "verpleeghuizen",
        "verzorgingshuis",
        "thuiszorg",
        "wijkzorg",
        "vvt",
        "psychogeriatrie",
        "dementie",
        "elderly",
        "elderly care",
        "older people",
        "nursing home",
        "home care",
        "care home",
        "ouderen zorg",
    ),
    "ghz": (
        "gehandicaptenzorg",
        "gehandicapten",
        "gehandicapte",
        "ghz",
        "beperking",
        "beperkingen",
        "verstandelijke beperking",
        "lichamelijke beperking",
        "disability",
        "disabilities",
        "disability care",
        "gehandicapte zorg",
        "gehandicapten zorg",
    ),
    "either": (
        "allebei",
        "beide",
        "maakt niet uit",
        "maakt me niet uit",
        "both",
        "either",
        "doesn't matter",
        "does not matter",
        "no preference",
        "geen voorkeur",
    ),
    "other": (
        "ziekenhuis",
        "ggz",
        "kinderopvang",
        "jeugdzorg",
        "hospital",
        "mental health",
        "childcare",
        "huisartsenpraktijk",
    ),
}
CARE_WORK_WORDS: Final = (
    "zorg",
    "verpleeghuis",
    "verzorgingshuis",
    "thuiszorg",
    "zorginstelling",
    "zorgorganisatie",
    "instelling",
    "begeleider",
    "verzorgende",
    "helpende",
    "woongroep",
    "dagbesteding",
    "gehandicaptenzorg",
    "ouderenzorg",
    "care",
    "nursing home",
    "care home",
    "carer",
    "support worker",
)
WORK_PHRASES: Final = (
    "werk al",
    "werk nu",
    "en werk",
    "ik werk",
    "werk ik",
    "werkzaam",
    "in dienst",
    "mijn werkgever",
    "baan bij",
    "baan als",
    "werk als",
    "werk bij",
    "werk in",
    "i work",
    "working at",
    "working as",
    "my employer",
    "employed",
    "job at",
    "job as",
)
WORKPLACE_WORDS: Final = ("bij", "als", "op", "at", "as", "for")
NO_EMPLOYER_PHRASES: Final = (
    "geen werkgever",
    "nog geen werkgever",
    "geen werk",
    "geen baan",
    "werkloos",
    "zonder werk",
    "zonder baan",
    "werkzoekend",
    "no employer",
    "no job",
    "unemployed",
    "not working",
    "don't have a job",
    "do not have a job",
    "looking for work",
    "looking for a job",
)
GOAL_PHRASES: Final[dict[str, tuple[str, ...]]] = {
    "tasks": (
        "snel aan het werk",
        "snel aan de slag",
        "snel werken",
        "snel beginnen",
        "zo snel mogelijk",
        "snel geld verdienen",
        "direct aan de slag",
        "meteen aan het werk",
        "taken",
        "start working",
        "work quickly",
        "work soon",
        "as soon as possible",
        "quickly",
    ),
    "certificate": ("certificaat", "certificaten", "certificate"),
    "diploma": (
        "diploma",
        "hele opleiding",
        "volledige opleiding",
        "heel diploma",
        "full diploma",
        "whole programme",
        "whole program",
        "degree",
    ),
    "orientation": (
        "eerst kijken",
        "orienteren",
        "orientatie",
        "kennismaken",
        "proberen",
        "uitproberen",
        "weet nog niet of",
        "eerst proeven",
        "snuffelen",
        "explore",
        "try it",
        "try out",
        "look around",
        "find out",
    ),
    "hbo": ("hbo", "hogeschool", "hbo-v", "hbo verpleegkunde", "university of applied sciences"),
}
# Without one of these, goal words describe something else ("mijn diploma", "hbo accountancy").
# They count in their own clause: "ik heb hbo accountancy en wil in de zorg werken" has a
# diploma and a wish, not an hbo goal.
WISH_WORDS: Final = (
    "wil",
    "wilt",
    "willen",
    "wens",
    "doel",
    "graag",
    "liefst",
    "zou",
    "worden",
    "halen",
    "want",
    "goal",
    "would like",
    "hope",
    "plan",
    "become",
)
BENEFIT_PHRASES: Final[dict[str, tuple[str, ...]]] = {
    "ww": (
        "ww",
        "ww-uitkering",
        "ww uitkering",
        "werkloosheidsuitkering",
        "werkloosheidswet",
        "unemployment benefit",
    ),
    "bijstand": (
        "bijstand",
        "bijstandsuitkering",
        "participatiewet",
        "sociale dienst",
        "social assistance",
        "welfare",
    ),
    "other": (
        "wia",
        "wajong",
        "wao",
        "ziektewet",
        "wga",
        "ioaw",
        "disability benefit",
        "sickness benefit",
    ),
    "none": ("geen uitkering", "no benefit", "no benefits", "niet in de uitkering"),
}
EDUCATION_PHRASES: Final[tuple[tuple[str, str], ...]] = (
    # (phrase, level), checked in this order: the more specific first.
    ("geen diploma", "none"),
    ("geen opleiding", "none"),
    ("basisschool", "none"),
    ("lagere school", "none"),
    ("no diploma", "none"),
    ("no education", "none"),
    ("primary school", "none"),
    ("mbo 1", "mbo1"),
    ("mbo-1", "mbo1"),
    ("mbo niveau 1", "mbo1"),
    ("entree", "mbo1"),
    ("mbo 2", "mbo2"),
    ("mbo-2", "mbo2"),
    ("mbo niveau 2", "mbo2"),
    ("mbo 3", "mbo3"),
    ("mbo-3", "mbo3"),
    ("mbo niveau 3", "mbo3"),
    ("mbo 4", "mbo4"),
    ("mbo-4", "mbo4"),
    ("mbo niveau 4", "mbo4"),
    ("vmbo", "vmbo"),
    ("mavo", "vmbo"),
    ("lbo", "vmbo"),
    ("vbo", "vmbo"),
    ("havo", "havo"),
    ("vwo", "vwo"),
    ("atheneum", "vwo"),
    ("gymnasium", "vwo"),
    ("hbo", "hbo"),
    ("hogeschool", "hbo"),
    ("bachelor", "hbo"),
    ("hbo-v", "hbo"),
    ("universiteit", "wo"),
    ("university", "wo"),
    ("wo", "wo"),
    ("master", "wo"),
    ("msc", "wo"),
    ("phd", "wo"),
    ("degree", "hbo"),
)
# A bare "niveau 2" or "level 3" means mbo in this context.
LEVEL_ONLY: Final = re.compile(r"\b(?:niveau|level)\s*([1-4])\b")
YES: Final = ("ja", "jawel", "jazeker", "klopt", "zeker", "yes", "yep", "yeah", "sure", "correct")
NO: Final = ("nee", "neen", "nope", "no", "niet", "geen", "nooit", "never", "not")
DONT_KNOW: Final = (
    "weet ik niet",
    "weet niet",
    "geen idee",
    "geen flauw idee",
    "weet ik nog niet",
    "dont know",
    "don't know",
    "do not know",
    "no idea",
    "not sure",
    "niet zeker",
    "onbekend",
    "unknown",
)
FULL_TIME: Final = ("fulltime", "full-time", "full time", "voltijd", "hele week")
NO_EXPERIENCE: Final = (
    "geen ervaring",
    "geen werkervaring",
    "nog nooit",
    "no experience",
    "never worked",
    "niet in de zorg gewerkt",
    "nooit in de zorg gewerkt",
)
# "geen zorgervaring", "no care experience", "zonder ervaring in de zorg": a negation, at most
# two words, then experience.
NO_EXPERIENCE_PATTERN: Final = re.compile(
    r" (?:geen|no|zero|zonder|without|nul) (?:\S+ ){0,2}?"
    r"(?:ervaring|werkervaring|zorgervaring|experience) "
)
# Words that tell the two languages apart (none of them is common in both).
EN_WORDS: Final = frozenset(
    [
        "i",
        "am",
        "the",
        "and",
        "want",
        "work",
        "my",
        "years",
        "old",
        "hello",
        "hi",
        "please",
        "what",
        "how",
        "are",
        "do",
        "have",
        "would",
        "like",
        "english",
        "yes",
        "with",
        "job",
        "can",
        "you",
        "only",
        "speak",
        "little",
        "a",
        "to",
        "of",
        "for",
        "this",
        "that",
        "it",
        "i'm",
        "don't",
        "need",
        "help",
        "about",
        "where",
        "when",
        "which",
        "who",
    ]
)
NL_WORDS: Final = frozenset(
    [
        "ik",
        "ben",
        "de",
        "het",
        "een",
        "wil",
        "werk",
        "mijn",
        "jaar",
        "oud",
        "hallo",
        "hoi",
        "wat",
        "hoe",
        "zijn",
        "heb",
        "graag",
        "met",
        "baan",
        "kan",
        "je",
        "jij",
        "nee",
        "ja",
        "niet",
        "geen",
        "en",
        "van",
        "voor",
        "dit",
        "dat",
        "mag",
        "moet",
        "waar",
        "wanneer",
        "welke",
        "wie",
    ]
)
# Fields the bot can ask, and the value "weet ik niet" stands for where there is one.
UNKNOWN_VALUE: Final[dict[str, Any]] = {
    "employer_sbb_recognised": "unknown",
    "sector": "either",
    "target": TARGET_UNKNOWN,
}


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
    text: str, table: dict[str, tuple[str, ...]], where: Callable[[int], bool] | None = None
) -> str | None:
    """The key whose phrase occurs earliest in the text (the first thing said wins), counting
    only the places `where` accepts."""
    best: tuple[int, str] | None = None
    for key, phrases in table.items():
        for phrase in phrases:
            at = next((a for a in _places(text, phrase) if where is None or where(a)), -1)
            if at >= 0 and (best is None or at < best[0]):
                best = (at, key)
    return None if best is None else best[1]


# Where one clause of a message ends and the next begins ("hbo accountancy , wil 24 uur").
_CLAUSE_BREAK: Final = re.compile(r"(?<= )(?:,|en|and|maar|but)(?= )")


def _numbers(text: str) -> list[tuple[int, float]]:
    """(position, value) of every number in the text, digits or words."""
    found: list[tuple[int, float]] = []
    # A minus sign starting a word is kept, so that "-5" is refused rather than read as 5.
    for match in DIGITS.finditer(text):
        found.append((match.start(), float(match.group().replace(",", "."))))
    if not found:
        # Number words ("achtendertig", "twenty four"), word by word.
        position = 0
        for word in text.split():
            at = text.find(f" {word} ", position)
            value = parse_number(word)
            if value is not None:
                found.append((at + 1, float(value)))
            position = at + len(word) + 1
    return found


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
    groups: list[tuple[str, Iterable[Any]]] = [
        ("qualification", data.qualifications),
        ("unit", data.units),
        ("route", data.routes),
        ("funding", data.funding),
        ("term", data.glossary),
    ]
    for kind, items in groups:
        for item in items:
            names = [item.title, item.title_en, *getattr(item, "synonyms", ())]
            if kind == "qualification" and item.crebo:
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


def mentions(text: str, catalogue: Catalogue) -> list[dict[str, str]]:
    """The catalogue items a message names, in order, without repeats."""
    matcher = _matcher(catalogue)
    if matcher.pattern is None:
        return []
    found: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for match in matcher.pattern.finditer(normalise(text)):
        ref = matcher.by_phrase[match.group(1)]
        if ref not in seen:
            seen.add(ref)
            found.append({"kind": ref[0], "id": ref[1]})
    return found


class _Reading:
    """One message being read: the values and problems found so far."""

    def __init__(self, text: str, asked: str | None) -> None:
        self.raw = text
        self.text = normalise(text)
        self.asked = asked
        self.values: dict[str, Any] = {}
        self.problems: dict[str, str] = {}
        words = self.text.split()
        self.bare = len(words) <= 3  # a short answer to the question asked
        self.yes = _has(self.text, YES)
        self.no = _has(self.text, NO)
        self.dont_know = _has(self.text, DONT_KNOW)
        starts = [0, *(m.start() for m in _CLAUSE_BREAK.finditer(self.text)), len(self.text)]
        self._wish_clauses = [
            (start, end)
            for start, end in itertools.pairwise(starts)
            if _has(" " + self.text[start:end] + " ", WISH_WORDS)
        ]
        self.wish = bool(self._wish_clauses)
        # The message without its wishes: what the user has and does, not what they want.
        self.had = "".join(
            " , " if (start, end) in self._wish_clauses else self.text[start:end]
            for start, end in itertools.pairwise(starts)
        )

    def wished_at(self, position: int) -> bool:
        """Whether the clause around this position says what the user wants (not has)."""
        return any(start <= position < end for start, end in self._wish_clauses)

    def put(self, field: str, value: Any) -> None:
        self.values.setdefault(field, value)

    def problem(self, field: str, kind: str) -> None:
        if field not in self.values:
            self.problems.setdefault(field, kind)


_HOURS_AFTER: Final = re.compile(r"^\S+ (?:uur|uren|u|hours|hrs|hour)\b")
# "3 dagen" (per week) is read as working days of 8 hours, the usual shift in care.
_DAYS_AFTER: Final = re.compile(r"^\S+ (?:dag|dagen|days|day)\b")
HOURS_PER_DAY: Final = 8
_YEARS_AFTER: Final = re.compile(r"^\S+ (?:jaar|jr|years|year|yrs)\b( oud| old)?")
_AGE_BEFORE: Final = re.compile(
    r"(?:\bben|\bi am|\bi'm|\bleeftijd|\bage|\baged|\bgeworden)\s*(?:net|bijna|nu|now|just)?\s*$"
)
_EXPERIENCE_BEFORE: Final = re.compile(
    r"(?:\bal|\bervaring|\bgewerkt|\bwerk|\bfor|\bexperience|\bsinds)\b[^0-9]{0,12}$"
)
_EXPERIENCE_AFTER: Final = re.compile(
    r"^\S+ (?:jaar|jr|years|year) "
    r"(?:ervaring|werkervaring|experience|in de zorg|gewerkt|worked|als|as)\b"
)


def _read_numbers(r: _Reading) -> None:
    """Each number is read by what stands right next to it: "24 uur", "ik ben 38", "7 jaar als"."""
    for position, value in _numbers(r.text):
        before, after = r.text[max(0, position - 24) : position], r.text[position:]
        if _HOURS_AFTER.match(after) or (r.asked == "hours_per_week" and r.bare):
            _check("hours_per_week", value, r)
        elif _DAYS_AFTER.match(after) and value <= 7:
            _check("hours_per_week", value * HOURS_PER_DAY, r)
        elif _AGE_BEFORE.search(before):
            _check("age", value, r)
        elif years := _YEARS_AFTER.match(after):
            experience = _EXPERIENCE_BEFORE.search(before) or _EXPERIENCE_AFTER.match(after)
            if years.group(1) or r.asked == "age":
                _check("age", value, r)
            elif experience or r.asked == "care_experience_years":
                _check("care_experience_years", value, r)
            else:
                _check("age", value, r)  # "38 jaar" on its own is an age
        elif r.asked in ("age", "hours_per_week", "care_experience_years") and r.bare:
            _check(r.asked, value, r)
    if _has(r.text, FULL_TIME):
        r.put("hours_per_week", FULL_TIME_HOURS)


def _check(field: str, value: float, r: _Reading) -> None:
    if field == "age":
        # is_integer, not int(value): a number of 400 digits reads as inf.
        if value.is_integer() and MIN_AGE <= value <= MAX_AGE:
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


def _read_education(r: _Reading, catalogue: Catalogue) -> None:
    text = r.text
    level = None
    end = -1

    # A level in a wish is a goal, not a diploma ("ik wil naar het hbo", "wil mbo 3 halen"),
    # unless it answers the education question.
    def had(at: int) -> bool:
        return r.asked == "education" or not r.wished_at(at)

    for phrase, candidate in EDUCATION_PHRASES:
        # "geen diploma in de zorg", answering the care-diploma question, says nothing of
        # schooling in general.
        if candidate == "none" and r.asked == "care_qualifications":
            continue
        at = next((a for a in _places(text, phrase) if had(a)), -1)
        if at >= 0:
            level, end = candidate, at + len(phrase) + 1
            break
    if level is None:
        match = next((m for m in LEVEL_ONLY.finditer(text) if had(m.start())), None)
        if match and (r.asked == "education" or "mbo" in text):
            level, end = f"mbo{match.group(1)}", match.end()
    if level is None and r.asked == "education" and r.no:
        level = "none"
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
    ", en and maar but ik i werk work ben am heb have wil want jaar years uur hours".split()  # noqa: SIM905 - a word list reads best as text
)
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
    "mbo 1",
    "mbo 2",
    "mbo 3",
    "mbo 4",
    "niveau",
)


def _read_qualifications(r: _Reading, catalogue: Catalogue) -> None:
    asked_here = r.asked in ("education", "care_qualifications")
    # A diploma named in a wish ("wil verzorgende ig worden") is not one the user has.
    said = r.raw if asked_here else r.had
    found = [m["id"] for m in mentions(said, catalogue) if m["kind"] == "qualification"]
    if found and (asked_here or _has(r.text, POSSESSION)):
        r.put("care_qualifications", sorted(set(found)))
    elif r.asked == "care_qualifications" and r.no:
        r.put("care_qualifications", [])


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
    text = r.text
    if _has(text, NO_EMPLOYER_PHRASES):
        r.put("employer", "none")
    elif _has(r.had, WORK_PHRASES):
        # Only the clauses about work as it is: "ik werk als kok en wil in de zorg werken".
        if _has(r.had, CARE_WORK_WORDS):
            r.put("employer", "care")
        elif _has(r.had, WORKPLACE_WORDS):
            # "ik werk als kok", "ik werk bij de bank": work, outside care. A bare
            # "ik werk 32 uur" says nothing about where.
            r.put("employer", "other")
    elif r.asked == "employer":
        if r.no:
            r.put("employer", "none")
        elif _has(text, CARE_WORK_WORDS) and (r.yes or r.bare):
            r.put("employer", "care")
        elif r.yes:
            r.problem("employer", "unclear")  # yes, but where? asked again with buttons
    no_experience = _has(text, NO_EXPERIENCE) or NO_EXPERIENCE_PATTERN.search(text)
    if no_experience or (r.asked == "care_experience_years" and r.no):
        r.put("care_experience_years", 0)
    if r.asked == "employer_sbb_recognised":
        if r.dont_know:
            r.put("employer_sbb_recognised", "unknown")
        elif r.no:
            r.put("employer_sbb_recognised", "no")
        elif r.yes:
            r.put("employer_sbb_recognised", "yes")
    elif _has(text, ("niet erkend", "geen erkend leerbedrijf", "not recognised", "not recognized")):
        r.put("employer_sbb_recognised", "no")
    elif _has(text, ("erkend leerbedrijf", "sbb-erkend", "sbb erkend", "recognised", "recognized")):
        r.put("employer_sbb_recognised", "yes")


def _read_choices(r: _Reading) -> None:
    sector = _first(r.text, SECTOR_PHRASES)
    if sector in ("vvt", "ghz", "other") or (sector == "either" and r.asked == "sector"):
        r.put("sector", sector)
    if r.asked == "goal" or r.wish:
        goal = _first(r.text, GOAL_PHRASES, None if r.asked == "goal" else r.wished_at)
        if goal is not None:
            r.put("goal", goal)
    benefit = _first(r.text, BENEFIT_PHRASES)
    if benefit is not None:
        r.put("benefit", benefit)
    elif r.asked == "benefit":
        if r.no:
            r.put("benefit", "none")
        elif _has(r.text, ("uitkering", "benefit", "uwv")):
            r.problem("benefit", "unclear")


# Other ways people write a province or place than regions.yaml does ("Brabant", "Fryslân",
# "'s-Hertogenbosch" without its apostrophe). Keys and names as `_place_key` reads them.
REGION_ALIASES: Final[dict[str, str]] = {
    "brabant": "Noord-Brabant",
    "north brabant": "Noord-Brabant",
    "fryslan": "Friesland",
    "frisia": "Friesland",
    "friesland": "Friesland",
    "north holland": "Noord-Holland",
    "south holland": "Zuid-Holland",
    "zeeuws vlaanderen": "Zeeland",
    "s gravenhage": "Den Haag",
    "the hague": "Den Haag",
    "hertogenbosch": "'s-Hertogenbosch",
    "s hertogenbosch": "'s-Hertogenbosch",
    "den bosch": "'s-Hertogenbosch",
}


def _place_key(text: str) -> str:
    """A place name as compared: accents, case, hyphens and apostrophes do not count."""
    return " " + " ".join(re.sub(r"[-'\s]+", " ", normalise(text)).split()) + " "


def _region_names(catalogue: Catalogue) -> list[tuple[str, str]]:
    """(key, name as the catalogue writes it) of every place, province and alias, longest first.

    Built once per catalogue (the catalogue is immutable; `cache` is meant for such views).
    """
    cached = catalogue.cache.get("region_names")
    if cached is None:
        names: dict[str, str] = {}
        for place, province in catalogue.data.regions.items():
            names.setdefault(_place_key(province), province)
            names[_place_key(place)] = place
        known = set(names.values())
        for alias, name in REGION_ALIASES.items():
            if name in known:
                names.setdefault(_place_key(alias), name)
        cached = sorted(names.items(), key=lambda item: len(item[0]), reverse=True)
        catalogue.cache["region_names"] = cached
    found: list[tuple[str, str]] = cached
    return found


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
)


def find_region(text: str, catalogue: Catalogue, *, anywhere: bool = True) -> str | None:
    """The place or province of regions.yaml named in `text`, as the catalogue writes it.

    With `anywhere` false, only a name after a marker word ("in Zwolle", "uit Brabant").
    """
    key = _place_key(text)
    for name_key, name in _region_names(catalogue):
        if name_key in key and (
            anywhere or any(f" {marker}{name_key}" in key for marker in PLACE_MARKERS)
        ):
            return name
    return None


def province_of(region: str, catalogue: Catalogue) -> str | None:
    """The province of a place or province name of regions.yaml; None when unknown."""
    name = find_region(region, catalogue)
    if name is None:
        return None
    provinces = set(catalogue.data.regions.values())
    if name in provinces and name.casefold() not in catalogue.regions:
        return name
    return catalogue.regions.get(name.casefold())


def _read_region(r: _Reading, catalogue: Catalogue) -> None:
    name = find_region(r.raw, catalogue, anywhere=r.asked == "region")
    if name is not None:
        r.put("region", name)
    elif r.asked == "region" and not (r.no or r.dont_know):
        # An answer to the region question that names no place we know: asked again.
        r.problem("region", "unknown_place")


def _read_language(r: _Reading) -> None:
    text = r.text
    if _has(text, ("english", "engels", "in english", "in het engels", "english please")):
        r.put("language", "en")
        return
    # Asking for Dutch; merely mentioning it ("I speak a little Dutch") is no such request.
    if _has(text, ("nederlands", "in het nederlands", "in dutch", "dutch please")):
        r.put("language", "nl")
        return
    words = text.split()
    english = sum(w in EN_WORDS for w in words)
    dutch = sum(w in NL_WORDS for w in words)
    if english >= 2 and english > 2 * dutch:
        r.put("language", "en")
    elif dutch >= 2 and dutch > 2 * english:
        r.put("language", "nl")


def interpret(text: str, catalogue: Catalogue, asked: str | None = None) -> dict[str, Any]:
    """{"values": {profile fields}, "problems": {field: kind}, "mentions": [{kind, id}]}."""
    r = _Reading(text, asked)
    _read_numbers(r)
    _read_education(r, catalogue)
    _read_qualifications(r, catalogue)
    _read_target(r, catalogue)
    _read_work(r)
    _read_choices(r)
    _read_region(r, catalogue)
    _read_language(r)
    if asked is not None and asked not in r.values and asked not in r.problems and r.dont_know:
        if asked in UNKNOWN_VALUE:
            r.put(asked, UNKNOWN_VALUE[asked])
        else:
            r.problem(asked, "unknown")
    # A value found is never also a problem.
    problems = {f: kind for f, kind in r.problems.items() if f not in r.values}
    return {"values": r.values, "problems": problems, "mentions": mentions(text, catalogue)}
