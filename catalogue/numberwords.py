"""Numbers written as digits or as Dutch or English words ("38", "achtendertig", "drie en
twintig", "thirty-eight").

The words come from catalogue/data/phrases.yaml (`numbers`); this module only composes them:
Dutch puts the unit first and joins it to the tens ("drie" + "en" + "twintig", as one word or
three), English puts the tens first ("twenty-three", "twenty three").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from catalogue.schema import NumberWords

# Highest number written as words that is recognised (ages, hours per week).
MAX_WORD_NUMBER = 199

# A number in digits, with a decimal comma or point; also catalogue.interpret's pattern.
# A minus sign counts when it starts a word ("-5"), not inside one ("mbo-2", "20-24").
DIGITS = re.compile(r"(?:(?<!\w)-)?\d+(?:[.,]\d+)?")
_TOKEN = re.compile(DIGITS.pattern + r"|[^\W\d_]+")


def _dutch_words(words: NumberWords) -> dict[str, int]:
    """Every Dutch spelling up to MAX_WORD_NUMBER, as one word ("drieëntwintig")."""

    def below_hundred(n: int) -> list[str]:
        if n < 10:
            return [words.units[n]] if n != 1 else ["één"]
        if n < 20:
            return [words.teens[n - 10]]
        tens, unit = divmod(n, 10)
        tens_word = words.tens[tens - 2]
        if unit == 0:
            return [tens_word]
        unit_word = "een" if unit == 1 else words.units[unit]
        joined = f"{unit_word}{words.joiner}{tens_word}"
        if unit_word.endswith("e"):  # "tweeëntwintig", also written without the trema
            return [f"{unit_word}ë{words.joiner[1:]}{tens_word}", joined]
        return [joined]

    found: dict[str, int] = {}
    for n in range(0, 100):
        for spelling in below_hundred(n):
            if spelling:
                found[spelling] = n
    found[words.hundred] = 100
    for n in range(1, MAX_WORD_NUMBER - 99):
        for spelling in below_hundred(n):
            # "honderdeen" is fine as one word, unlike the bare article "een".
            found[words.hundred + spelling.replace("één", "een")] = 100 + n
    return found


def _english_words(words: NumberWords) -> dict[str, int]:
    found = {word: n for n, word in enumerate([*words.units, *words.teens]) if word}
    unit_names = ["one", *words.units[2:10]]  # as the second part of "twenty-one"
    for i, tens_word in enumerate(words.tens):
        tens = (i + 2) * 10
        found[tens_word] = tens
        for unit, unit_word in enumerate(unit_names, start=1):
            found[f"{tens_word}-{unit_word}"] = tens + unit
            found[f"{tens_word} {unit_word}"] = tens + unit
    found[words.hundred] = 100
    found[f"one {words.hundred}"] = 100
    found[f"a {words.hundred}"] = 100
    return found


@dataclass(frozen=True)
class NumberReader:
    """Reads numbers in text with the number words of one catalogue."""

    dutch: dict[str, int]
    english: dict[str, int]
    dutch_units: tuple[str, ...]
    dutch_tens: tuple[str, ...]
    dutch_joiner: str
    english_small: tuple[str, ...]
    english_tens: tuple[str, ...]
    english_units: tuple[str, ...]
    english_hundred: str

    @classmethod
    def from_words(cls, dutch: NumberWords, english: NumberWords) -> NumberReader:
        return cls(
            dutch=_dutch_words(dutch),
            english=_english_words(english),
            dutch_units=tuple(dutch.units),
            dutch_tens=tuple(dutch.tens),
            dutch_joiner=dutch.joiner,
            english_small=(*english.units, *english.teens),
            english_tens=tuple(english.tens),
            english_units=("one", *english.units[2:10]),
            english_hundred=english.hundred,
        )

    def words(self) -> dict[str, int]:
        """Every spelled-out number this reader knows, Dutch and English, with its value."""
        return {**self.english, **self.dutch}

    def _dutch_at(self, tokens: list[str], i: int) -> tuple[int, int] | None:
        """A Dutch number at tokens[i], also written apart ("drie en twintig")."""
        word = tokens[i]
        if (
            word in self.dutch_units[2:]
            and i + 2 < len(tokens)
            and tokens[i + 1] == self.dutch_joiner
            and tokens[i + 2] in self.dutch_tens
        ):
            unit = self.dutch_units.index(word)
            return (self.dutch_tens.index(tokens[i + 2]) + 2) * 10 + unit, 3
        if word in self.dutch:
            return self.dutch[word], 1
        return None

    def _english_at(self, tokens: list[str], i: int) -> tuple[int, int] | None:
        word = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if word in ("a", "one") and nxt == self.english_hundred:
            return self._after_hundred(tokens, i + 2, used=2)
        if word == self.english_hundred:
            return self._after_hundred(tokens, i + 1, used=1)
        if word in self.english_tens:
            tens = (self.english_tens.index(word) + 2) * 10
            if nxt in self.english_units:
                return tens + self.english_units.index(nxt) + 1, 2
            return tens, 1
        if word and word in self.english_small:
            return self.english_small.index(word), 1
        return None

    def _after_hundred(self, tokens: list[str], j: int, used: int) -> tuple[int, int]:
        if j < len(tokens) and tokens[j] == "and":
            j += 1
            used += 1
        if j < len(tokens):
            rest = self._english_at(tokens, j)
            if rest is not None and rest[0] < 100:
                return 100 + rest[0], used + rest[1]
        return 100, used

    def find(self, text: str) -> Iterator[tuple[int, int | float]]:
        """(position in `text`, value) of every number in the text, in order.

        `text` should be lower case already (positions are into it as given).
        """
        matches = list(_TOKEN.finditer(text))
        tokens = [m.group().lower() for m in matches]
        i = 0
        while i < len(tokens):
            token = tokens[i]
            # isdecimal, not isdigit: "²" is a digit to isdigit but no number to int().
            if token[0].isdecimal() or token[0] == "-":
                yield matches[i].start(), _digits(token)
                i += 1
                continue
            found = self._dutch_at(tokens, i) or self._english_at(tokens, i)
            if found is None:
                i += 1
                continue
            yield matches[i].start(), found[0]
            i += found[1]

    def parse(self, text: str) -> int | float | None:
        """The first number in a short answer, or None when there is none.

        "38", "ik ben 40", "achtendertig", "Thirty-eight", "20,5 uur" -> 38, 40, 38, 38, 20.5.
        Whole numbers come back as int, numbers with a decimal comma or point as float.
        """
        return next((value for _, value in self.find(text.lower())), None)


def _digits(token: str) -> int | float:
    if "," in token or "." in token:
        return float(token.replace(",", "."))
    try:
        return int(token)
    except ValueError:
        # More digits than int() reads (4300): no age or number of hours, but a number all
        # the same, too large for any range (inf).
        return float(token)
