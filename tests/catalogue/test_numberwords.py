"""Numbers in digits and in Dutch and English words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalogue.numberwords import MAX_WORD_NUMBER, NumberReader
from catalogue.reader import load_directory

_WORDS = load_directory().data.phrases.numbers
READER = NumberReader.from_words(_WORDS["nl"], _WORDS["en"])
DUTCH_WORDS = READER.dutch
ENGLISH_WORDS = READER.english
parse_number = READER.parse


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("achtendertig", 38),
        ("Ik ben achtendertig jaar", 38),
        ("tweeëntwintig", 22),
        ("tweeentwintig", 22),
        ("eenentwintig", 21),
        ("honderdveertig", 140),
        ("nul", 0),
        ("thirty-eight", 38),
        ("thirty eight years", 38),
        ("one hundred and forty", 140),
        ("a hundred", 100),
        ("20,5 uur", 20.5),
        ("20.5", 20.5),
        ("ik ben een vrouw van veertig", 40),  # "een" is an article here, not 1
        ("drie en twintig", 23),
        ("zes en dertig uur", 36),
        ("twenty three", 23),
    ],
)
def test_parse(text: str, number: float) -> None:
    assert parse_number(text) == number


@pytest.mark.parametrize("text", ["", "abc", "een", "one", "de ouderenzorg", "a lot"])
def test_no_number(text: str) -> None:
    assert parse_number(text) is None


@given(st.integers(min_value=0, max_value=10**6))
def test_digits_round_trip(n: int) -> None:
    assert parse_number(f"ik werk {n} uur") == n


@given(st.sampled_from(sorted(DUTCH_WORDS.items())))
def test_every_dutch_word_reads_back(item: tuple[str, int]) -> None:
    word, value = item
    assert parse_number(f"ik ben {word}") == value


@given(st.sampled_from(sorted(ENGLISH_WORDS.items())))
def test_every_english_word_reads_back(item: tuple[str, int]) -> None:
    word, value = item
    assert parse_number(f"I am {word} years old") == value


def test_every_number_up_to_the_maximum_has_a_dutch_word() -> None:
    assert set(DUTCH_WORDS.values()) == set(range(MAX_WORD_NUMBER + 1))
