"""Numbers written as digits or as Dutch or English words ("38", "achtendertig", "thirty-eight").

Pure functions, standard library only: bot/nlp/build_pipeline.py loads this file by path
from the Rasa runtime (Python 3.10) to make the spaCy NUMBER patterns, so that the form
validators and the entity ruler know the same words.
"""

from __future__ import annotations

import re

# Highest number written as words that is recognised (ages, hours per week).
MAX_WORD_NUMBER = 199

# "een" and "one" are left out on purpose: they are mostly articles or pronouns
# ("een opleiding", "the right one"), so reading them as 1 would be wrong far more often.
_NL_UNITS = ["nul", "", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen"]
_NL_TEENS = [
    "tien",
    "elf",
    "twaalf",
    "dertien",
    "veertien",
    "vijftien",
    "zestien",
    "zeventien",
    "achttien",
    "negentien",
]
_NL_TENS = ["twintig", "dertig", "veertig", "vijftig", "zestig", "zeventig", "tachtig", "negentig"]

_EN_SMALL = [
    "zero",
    "",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_EN_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_EN_UNIT_NAMES = ["one", *_EN_SMALL[2:10]]  # as the second part of "twenty-one"

# A number in digits, with a decimal comma or point; also catalogue.interpret's pattern.
# A minus sign counts when it starts a word ("-5"), not inside one ("mbo-2", "20-24").
DIGITS = re.compile(r"(?:(?<!\w)-)?\d+(?:[.,]\d+)?")
_TOKEN = re.compile(DIGITS.pattern + r"|[^\W\d_]+")


def _dutch_below_hundred(n: int) -> list[str]:
    """All spellings of 0 < n < 100 (with and without the trema in "tweeëntwintig")."""
    if n < 10:
        return [_NL_UNITS[n]] if n != 1 else ["één"]
    if n < 20:
        return [_NL_TEENS[n - 10]]
    tens, unit = divmod(n, 10)
    tens_word = _NL_TENS[tens - 2]
    if unit == 0:
        return [tens_word]
    unit_word = "een" if unit == 1 else _NL_UNITS[unit]
    if unit_word.endswith("e"):
        return [f"{unit_word}ën{tens_word}", f"{unit_word}en{tens_word}"]
    return [f"{unit_word}en{tens_word}"]


def _dutch_words() -> dict[str, int]:
    words: dict[str, int] = {"nul": 0}
    for n in range(1, 100):
        for spelling in _dutch_below_hundred(n):
            words[spelling] = n
    words["honderd"] = 100
    for n in range(1, MAX_WORD_NUMBER - 99):
        for spelling in _dutch_below_hundred(n):
            # "honderdeen" is fine as one word, unlike the bare article "een".
            words["honderd" + spelling.replace("één", "een")] = 100 + n
    return words


def _english_words() -> dict[str, int]:
    words = {word: n for n, word in enumerate(_EN_SMALL) if word}
    for i, tens_word in enumerate(_EN_TENS):
        tens = (i + 2) * 10
        words[tens_word] = tens
        for unit, unit_word in enumerate(_EN_UNIT_NAMES, start=1):
            words[f"{tens_word}-{unit_word}"] = tens + unit
            words[f"{tens_word} {unit_word}"] = tens + unit
    words["hundred"] = 100
    words["one hundred"] = 100
    words["a hundred"] = 100
    return words


DUTCH_WORDS: dict[str, int] = _dutch_words()
ENGLISH_WORDS: dict[str, int] = _english_words()


def number_words() -> dict[str, int]:
    """Every spelled-out number this module reads, Dutch and English, with its value."""
    return {**ENGLISH_WORDS, **DUTCH_WORDS}


def _english_at(tokens: list[str], i: int) -> tuple[int, int] | None:
    """Reads an English number starting at tokens[i]: (value, tokens used) or None."""
    word = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if word in ("a", "one") and nxt == "hundred":
        return _after_hundred(tokens, i + 2, used=2)
    if word == "hundred":
        return _after_hundred(tokens, i + 1, used=1)
    if word in _EN_TENS:
        tens = (_EN_TENS.index(word) + 2) * 10
        if nxt in _EN_UNIT_NAMES:
            return tens + _EN_UNIT_NAMES.index(nxt) + 1, 2
        return tens, 1
    if word and word in _EN_SMALL:
        return _EN_SMALL.index(word), 1
    return None


def _after_hundred(tokens: list[str], j: int, used: int) -> tuple[int, int]:
    if j < len(tokens) and tokens[j] == "and":
        j += 1
        used += 1
    if j < len(tokens):
        rest = _english_at(tokens, j)
        if rest is not None and rest[0] < 100:
            return 100 + rest[0], used + rest[1]
    return 100, used


def parse_number(text: str) -> int | float | None:
    """The first number in a short answer, or None when there is none.

    "38", "ik ben 40", "achtendertig", "Thirty-eight", "20,5 uur" -> 38, 40, 38, 38, 20.5.
    Whole numbers come back as int, numbers with a decimal comma or point as float.
    """
    tokens = _TOKEN.findall(text.lower())
    for i, token in enumerate(tokens):
        # isdecimal, not isdigit: "²" is a digit to isdigit but no number to int().
        if token[0].isdecimal() or token[0] == "-":
            if "," in token or "." in token:
                return float(token.replace(",", "."))
            try:
                return int(token)
            except ValueError:
                # More digits than int() reads (4300): no age or number of hours, but a
                # number all the same, too large for any range (inf).
                return float(token)
        if token in DUTCH_WORDS:
            return DUTCH_WORDS[token]
        english = _english_at(tokens, i)
        if english is not None:
            return english[0]
    return None
