"""Slot extractors and validators: ages, hours, years of experience and education from free text.

`parse_number` (catalogue/numberwords.py), the catalogue's `interpret` (catalogue/interpret.py)
and the intake form's validators (actions/intake.py) read whatever a person types. Arbitrary
text never raises; every value found lies in its documented range (age 16-80 whole years,
0 < hours <= 60, 0-60 years of experience, a known education level), which the catalogue's own
`parse_profile` accepts; and a number outside the range is refused, never clamped.
"""

from __future__ import annotations

import functools
import math
import string
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from catalogue.compiled import Catalogue
from catalogue.interpret import MAX_EXPERIENCE_YEARS, interpret
from catalogue.numberwords import MAX_WORD_NUMBER, NumberReader
from catalogue.profile import EDUCATION_LEVELS, MAX_AGE, MAX_HOURS, MIN_AGE, parse_profile
from catalogue.reader import load_directory
from catalogue.service import CatalogueService
from tests.actions.support import Chat
from tests.fuzz.budget import ROOT, fuzz

NUMBER_FIELDS = ("age", "hours_per_week", "care_experience_years")
ASKED = st.sampled_from([None, *NUMBER_FIELDS, "education", "region", "sector", "employer"])


@functools.cache
def catalogue() -> Catalogue:
    return load_directory()


@functools.cache
def service() -> CatalogueService:
    return CatalogueService.from_catalogue(catalogue())


_NUMBER_WORDS = load_directory().data.phrases.numbers
READER = NumberReader.from_words(_NUMBER_WORDS["nl"], _NUMBER_WORDS["en"])
parse_number = READER.parse
number_words = READER.words


@functools.cache
def domain() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return loaded


# Words the readers know, mixed with arbitrary text: random text alone rarely says "uur".
VOCABULARY = (  # noqa: SIM905 - a word list reads best as text
    "ik ben jaar oud uur uren per week dagen ervaring al werk mbo niveau hbo havo vwo vmbo "
    "geen diploma in de zorg nee ja weet niet i am years old hours experience level "
    "achtendertig twintig honderd hundred thirty-eight , . - 0 5 16 24 36 60 61 80 81 1985"
).split()
answer_text = st.one_of(
    st.text(),
    st.lists(st.sampled_from(VOCABULARY) | st.text(max_size=6), max_size=12).map(" ".join),
    st.text(string.digits + ".,- ", max_size=30),
)


def assert_values_in_range(values: dict[str, Any]) -> None:
    if "age" in values:
        age = values["age"]
        assert isinstance(age, int) and not isinstance(age, bool)
        assert MIN_AGE <= age <= MAX_AGE
    if "hours_per_week" in values:
        assert 0 < values["hours_per_week"] <= MAX_HOURS
    if "care_experience_years" in values:
        assert 0 <= values["care_experience_years"] <= MAX_EXPERIENCE_YEARS
    if "education" in values:
        assert values["education"]["level"] in EDUCATION_LEVELS
    for field in (*NUMBER_FIELDS, "education"):
        if field in values:
            # The catalogue's own check of a profile accepts what the reader found.
            parse_profile({field: values[field]})


# ---- parse_number --------------------------------------------------------------------------------


@fuzz()
@given(answer_text)
@example("1" * 5_000)  # int() refuses more than 4300 digits: crashed with ValueError
@example("²")  # a digit to str.isdigit, but int("²") crashed
def test_parse_number_never_raises(text: str) -> None:
    value = parse_number(text)
    assert value is None or (isinstance(value, int | float) and not isinstance(value, bool))


@fuzz(0.5)
@given(st.integers(min_value=-(10**6), max_value=10**400), st.sampled_from(["", "ik ben ", "≈ "]))
def test_parse_number_reads_whole_numbers_as_written(number: int, before: str) -> None:
    value = parse_number(f"{before}{number}")
    if len(str(abs(number))) <= 4_300:
        assert value == number
    else:
        assert value == math.copysign(math.inf, number)


@fuzz(0.25)
@given(st.sampled_from(sorted(number_words().items())))
def test_parse_number_reads_every_number_word(item: tuple[str, int]) -> None:
    word, value = item
    assert 0 <= value <= MAX_WORD_NUMBER
    assert parse_number(word) == value
    assert parse_number(word.capitalize() + " jaar") == value


# ---- interpret -----------------------------------------------------------------------------------


@fuzz()
@given(answer_text, ASKED)
@example("ik ben " + "9" * 400, None)  # float("9" * 400) is inf: int(inf) crashed reading an age
def test_interpret_never_raises_and_stays_in_range(text: str, asked: str | None) -> None:
    result = interpret(text, catalogue(), asked)
    assert set(result) == {"values", "problems", "mentions", "short", "correcting"}
    assert not set(result["values"]) & set(result["problems"])
    assert_values_in_range(result["values"])


numbers = st.one_of(
    st.integers(min_value=-1_000, max_value=1_000),
    st.integers(min_value=0, max_value=10**400),
    st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False),
)
RANGES = {
    "age": (MIN_AGE, MAX_AGE),
    "hours_per_week": (0, MAX_HOURS),
    "care_experience_years": (0, MAX_EXPERIENCE_YEARS),
}
# Answers that name the field themselves, and bare answers to the question asked.
PHRASES = {
    "age": ["ik ben {} jaar", "{} jaar oud", "i am {} years old", "{}"],
    "hours_per_week": ["{} uur per week", "ik wil {} uur werken", "{} hours", "{}"],
    "care_experience_years": ["{} jaar ervaring", "ik werk al {} jaar in de zorg", "{}"],
}


def inside(field: str, value: float) -> bool:
    low, high = RANGES[field]
    if field == "age":
        return value.is_integer() and low <= value <= high
    if field == "hours_per_week":
        return low < value <= high
    return low <= value <= high


@fuzz()
@given(st.sampled_from(NUMBER_FIELDS), numbers, st.data())
def test_interpret_refuses_numbers_out_of_range(
    field: str, number: Any, data: st.DataObject
) -> None:
    phrase = data.draw(st.sampled_from(PHRASES[field]))
    written = str(number)
    if "." in written and data.draw(st.booleans()):
        written = written.replace(".", ",")  # the Dutch decimal comma
    result = interpret(phrase.format(written), catalogue(), asked=field)
    value = float(number) if len(str(number)) < 300 else math.inf
    if inside(field, value):
        assert result["values"].get(field) == pytest.approx(value), result
    else:
        assert field not in result["values"], result
        assert result["problems"].get(field) == "out_of_range", result


# ---- the intake form's validators ----------------------------------------------------------------

slot_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | numbers.map(str),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)
VALIDATED = ("age", "hours_per_week", "care_experience_years", "education", "sector", "employer")


@fuzz()
@given(st.sampled_from(VALIDATED), st.text(max_size=80) | numbers.map(str))
@example("age", "-20")
@example("hours_per_week", "inf uur")
async def test_the_dialogue_never_fails_and_stores_only_sensible_answers(
    slot: str, text: str
) -> None:
    """Whatever is typed to whatever question: a reply that asks or offers something, and a
    number is stored only within its range (never clamped)."""
    chat = Chat(service(), domain())
    chat.resume(sector="vvt", goal="tasks", target="unknown", intake=True, open_question=slot)
    reply = await chat.say(text, "inform", 0.5)
    assert reply, text
    stored = chat.slots.get(slot)
    if slot in RANGES and stored is not None:
        definition = RANGES[slot]
        assert definition[0] <= stored <= definition[1], (text, stored)


@fuzz()
@given(st.sampled_from(VALIDATED), slot_values)
async def test_a_forged_button_stores_nothing_the_profile_refuses(slot: str, value: Any) -> None:
    chat = Chat(service(), domain())
    chat.resume(sector="vvt", goal="tasks", target="unknown", intake=True, open_question=slot)
    await chat.press("inform", **{slot: value})
    stored = chat.slots.get(slot)
    if stored is not None:
        parse_profile({slot: stored}, catalogue().qualification_ids)


def plain_number(text: str) -> float | int | None:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return parse_number(text)


def test_negative_numbers_are_refused_not_read_without_their_sign() -> None:
    # Found by test_interpret_refuses_numbers_out_of_range and the validators' test: "-5 uur"
    # was read as 5 hours, "-20" as age 20.
    assert parse_number("-5") == -5
    assert parse_number("mbo-2") == 2  # a dash inside a word is no minus sign
    for field, text in (("hours_per_week", "-5 uur"), ("age", "ik ben -20"), ("age", "-20")):
        result = interpret(text, catalogue(), asked=field)
        assert field not in result["values"] and result["problems"][field] == "out_of_range"


def test_a_decimal_point_is_a_decimal_point() -> None:
    # Found by test_interpret_refuses_numbers_out_of_range: normalise() turned "0.16 uur" into
    # "0 16 uur" (16 hours) and "20.5 uur" into "20 5 uur" (5 hours).
    assert interpret("ik werk 20.5 uur", catalogue())["values"]["hours_per_week"] == 20.5
    result = interpret("0.16 uur per week", catalogue(), asked="hours_per_week")
    assert result["values"].get("hours_per_week") == 0.16
    result = interpret("ik ben 0.16 jaar", catalogue(), asked="age")
    assert "age" not in result["values"] and result["problems"]["age"] == "out_of_range"
