"""Personal data out of text before it is stored: e-mail, phone, BSN, IBAN, address, birth date.

Standard library only: the Rasa engine's runtime (Python 3.10, .venv-rasa) loads this through
its tracker-store plugin (bot/engine/tracker_store.py), and everything else imports it from .venv.
`redact` cleans one text; `redact_event` cleans one serialised Rasa event (user text, parse data,
slot values, bot texts and payloads) and is what the tracker store applies to every event.

Checks keep ordinary text intact where a pattern alone would not: a BSN is only a BSN when it
passes the 11-test, an IBAN only when its mod-97 check holds, a postcode only with a house
number or written as a postcode (capital letters), and a date only counts as a birth date when
it says so ("geboren op ...") or its year lies at least ten years back, so that "ik ben 38",
"24 uur", a 9-digit order number or "ik kan starten op 01-09-2027" stay as they are.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# The action after which the tracker store erases the conversation instead of saving it
# (bot/engine/tracker_store.py; the action is in actions/session.py). Here, so that both runtimes
# read the one name.
ERASE_ACTION = "action_erase_conversation"

PLACEHOLDERS = {
    "email": "[e-mail]",
    "phone": "[telefoonnummer]",
    "bsn": "[bsn]",
    "iban": "[iban]",
    "address": "[adres]",
    "birth_date": "[geboortedatum]",
}

# People born less than this many years ago are not our users: a more recent date is a start
# date or a deadline, not a birth date (unless the text says "geboren").
_MIN_AGE_YEARS = 10

# Starts only where a run of address characters starts: trying every position inside a long
# run of letters or digits (a pasted text) would take quadratic time.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){10,30}\b", re.IGNORECASE)
# Nine digits, optionally grouped by dots, spaces or dashes (123.456.782, 123 45 6782); not part
# of a longer number (a tenth digit, or a decimal part), but a full stop after it is fine.
_BSN = re.compile(r"(?<![\d.,-])\d(?:[ .-]?\d){8}(?!\d)(?![.,]\d)")
# Between digit groups people write a space, a dot, a dash or a slash, sometimes with spaces
# around it ("06 - 123 456 78"), and on a phone keyboard often two or three spaces.
_SEP_REQUIRED = r"(?:\s{0,3}[./-]\s{0,3}|\s{1,3})"
_SEP = _SEP_REQUIRED + "?"
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    rf"(?:\+|00)\d{{1,3}}{_SEP}(?:\(0\))?{_SEP}\d(?:{_SEP}\d){{6,12}}"  # +31 6 12345678
    rf"|0\d(?:{_SEP}\d){{8}}"  # 06-12345678, 020 123 4567, 0612345678, 06 - 123 456 78
    rf"|\(0\d{{1,3}}\)\s?\d(?:{_SEP}\d){{5,7}}"  # (020) 123 45 67, (06) 12345678
    r")(?!\d)"
)
_MONTHS = (
    "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|"
    "jan|feb|mrt|maa|apr|jun|jul|aug|sep|sept|okt|nov|dec|"
    "january|february|march|may|june|july|august|october|mar|oct"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_ORDINAL = r"(?:e|ste|de|st|nd|rd|th)?"
_YEAR = r"(?:(?:19|20)\d{2}|'?\d{2})"
_DATE = re.compile(
    r"(?<![\w/.-])(?:"
    rf"{_DAY}(?P<sep>[-/.])\s?{_MONTH}(?P=sep)\s?{_YEAR}"  # 12-03-1985, 1/3/85, 12.03.1985
    rf"|{_DAY}\s{_MONTH}\s(?:19|20)\d{{2}}"  # 12 3 1985
    rf"|(?:19|20)\d{{2}}-{_MONTH}-{_DAY}"  # 1985-03-12
    # 12 maart 1985, 3e mei '90, 12-mrt-1985, 12th of March 1985
    rf"|{_DAY}{_ORDINAL}(?:\s(?:of\s)?|-)(?:{_MONTHS})\.?(?:\s|-|,\s?){_YEAR}"
    # March 12, 1985 / maart 12 1985
    rf"|(?:{_MONTHS})\.?\s{_DAY}{_ORDINAL},?\s{_YEAR}"
    r")(?![\w/-])(?![.,]\d)",
    re.IGNORECASE,
)
_FULL_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
# After "geboren (op)", "geboortedatum", "born (on)", "date of birth", "dob": any way of writing
# a date, including 12031985 or 12 3 85; the words themselves stay.
_BIRTH_WORDS = (
    r"(?:geboren|geboortedatum|geb\.|born|birth\s?date|date\sof\sbirth|birthday|d\.?o\.?b\.?)"
)
_BIRTH_CONTEXT = re.compile(
    # Bounded runs of spaces: unbounded ones in a row would make long texts slow.
    rf"(?P<lead>\b{_BIRTH_WORDS}\s{{0,3}}:?\s{{0,3}}(?:(?:is|op|on|in)\s{{1,3}})?)"
    rf"(?P<date>\d{{1,2}}{_SEP_REQUIRED}\d{{1,2}}{_SEP_REQUIRED}\d{{2,4}}|\d{{6,8}}"
    rf"|{_DAY}{_ORDINAL}\s(?:of\s)?(?:{_MONTHS})\.?\s?(?:'?\d{{2,4}})?"
    rf"|(?:{_MONTHS})\.?\s{_DAY}{_ORDINAL}(?:,?\s'?\d{{2,4}})?)"
    r"(?!\d)",
    re.IGNORECASE,
)
# Dutch postcode: "1234 AB" or "1234ab" (lower case only when written together, so that
# "in 2024 en 2025" stays text), with a house number after it or on its own.
_POSTCODE_PART = r"[1-9]\d{3}(?:\s?[A-Z]{2}|[a-z]{2})"
_POSTCODE_HOUSE = re.compile(
    rf"\b{_POSTCODE_PART}\b[ ,]*\d{{1,5}}(?:\s?[A-Za-z](?![A-Za-z]))?(?:[-/]\d{{1,4}})?"
)
# Street, house number, postcode: the street is up to four words, none of them the words around
# an address ("ik woon op Dorpsstraat 12, ..." keeps "ik woon op").
_NOT_STREET = r"(?!(?i:ik|woon|woont|wonen|op|mijn|adres|is|i|live|at|my|address)\b)"
# The street starts where its word starts (not after each dot or dash inside one long word,
# which would take quadratic time); a word may begin with an apostrophe ('s-Hertogenbosch).
_HOUSE_POSTCODE = re.compile(
    rf"(?<![\w'.-]){_NOT_STREET}[A-Za-z'][\w'.-]+(?:\s{_NOT_STREET}[A-Za-z][\w'.-]+){{0,3}}"
    r"\s\d{1,5}[A-Za-z]?,?\s+[1-9]\d{3}\s?[A-Z]{2}\b"
)
_POSTCODE = re.compile(r"\b[1-9]\d{3}\s?[A-Z]{2}\b")


def bsn_valid(digits: str) -> bool:
    """The 11-test ("elfproef") of a Dutch citizen service number."""
    if len(digits) != 9 or not digits.isdigit() or digits == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True))
    total -= int(digits[8])
    return total % 11 == 0


def iban_valid(text: str) -> bool:
    """ISO 13616 mod-97 check."""
    iban = re.sub(r"\s+", "", text).upper()
    # ASCII only: the pattern's IGNORECASE also matches the Kelvin sign and a dotted capital I.
    if not iban.isascii() or not iban.isalnum():
        return False
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _could_be_born(match: re.Match[str]) -> bool:
    # Two-digit years ('85, 1/3/85) are ambiguous: treated as birth dates, to be safe.
    year = _FULL_YEAR.search(match.group())
    return year is None or int(year.group()) <= datetime.date.today().year - _MIN_AGE_YEARS


def _redact_ibans(text: str, placeholder: Callable[[], str]) -> str:
    """Each valid IBAN replaced. The pattern may run on into the next word ("NL91 ABNA 0417
    1643 00 en ..."): the IBAN is then the longest valid part that ends before a space."""
    parts: list[str] = []
    position = 0
    while (match := _IBAN.search(text, position)) is not None:
        found = match.group()
        end = next(
            (
                end
                for end in range(len(found), 14, -1)
                if (end == len(found) or found[end] == " ") and iban_valid(found[:end])
            ),
            None,
        )
        if end is None:
            parts.append(text[position : match.start() + 1])
            position = match.start() + 1
        else:
            parts.append(text[position : match.start()] + placeholder())
            position = match.start() + end
    parts.append(text[position:])
    return "".join(parts)


@dataclass(frozen=True)
class Redaction:
    text: str
    # The kinds found, each once, in the order of PLACEHOLDERS.
    kinds: tuple[str, ...]


def redact(text: str) -> Redaction:
    """`text` with personal data replaced by placeholders such as [e-mail] and [bsn]."""
    found: set[str] = set()

    def replace(kind: str) -> str:
        found.add(kind)
        return PLACEHOLDERS[kind]

    out = _EMAIL.sub(lambda m: replace("email"), text)
    out = _redact_ibans(out, lambda: replace("iban"))
    out = _BIRTH_CONTEXT.sub(lambda m: m.group("lead") + replace("birth_date"), out)
    out = _DATE.sub(lambda m: replace("birth_date") if _could_be_born(m) else m.group(), out)
    out = _HOUSE_POSTCODE.sub(lambda m: replace("address"), out)
    out = _POSTCODE_HOUSE.sub(lambda m: replace("address"), out)
    out = _POSTCODE.sub(lambda m: replace("address"), out)
    out = _BSN.sub(
        lambda m: replace("bsn") if bsn_valid(re.sub(r"\D", "", m.group())) else m.group(), out
    )
    out = _PHONE.sub(lambda m: replace("phone"), out)
    return Redaction(out, tuple(kind for kind in PLACEHOLDERS if kind in found))


# Keys of a serialised Rasa event whose values are names the engine needs as they are (event
# type, action, slot, intent and entity names, the channel): never free text, never redacted.
# Everything else that is a string, at any depth, is.
IDENTIFIER_KEYS = frozenset(
    {
        "event",
        "name",
        "policy",
        "intent",
        "intent_ranking",
        "entity",
        "extractor",
        "role",
        "group",
        "processors",
        "input_channel",
        "message_id",
        "utter_action",
        "template_name",
        "intent_response_key",
        "model_id",
        "assistant_id",
    }
)


def redact_value(value: Any) -> Any:
    """Strings redacted at any depth of lists and dicts (identifier keys left alone)."""
    if isinstance(value, str):
        return redact(value).text
    if isinstance(value, Mapping):
        return {
            key: item if key in IDENTIFIER_KEYS else redact_value(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


def redact_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a serialised Rasa event (`Event.as_dict()`) fit to be stored.

    User text, parse data (its text, entity values, metadata), slot values, bot texts and their
    data (buttons, custom payloads) lose their personal data; event type, timestamps, names and
    numbers stay, so the engine rebuilds the same dialogue state from the stored events.
    """
    redacted: dict[str, Any] = redact_value(event)
    return redacted
