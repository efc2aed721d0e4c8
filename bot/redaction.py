"""Personal data out of text before it is stored: e-mail, phone, BSN, IBAN, address, birth date.

Standard library only: the Rasa engine's runtime (Python 3.10, .venv-rasa) loads this through
its tracker-store plugin, and everything else imports it from .venv. One function, `redact`,
is the single place every channel's text passes through before storage.

Checks keep ordinary text intact where a pattern alone would not: a BSN is only a BSN when it
passes the 11-test, an IBAN only when its mod-97 check holds, a postcode only with a house
number or written as a postcode (capital letters), so that "ik ben 38", "24 uur" or a 9-digit
order number stay as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PLACEHOLDERS = {
    "email": "[e-mail]",
    "phone": "[telefoonnummer]",
    "bsn": "[bsn]",
    "iban": "[iban]",
    "address": "[adres]",
    "birth_date": "[geboortedatum]",
}

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){10,30}\b", re.IGNORECASE)
# Nine digits, optionally grouped by dots, spaces or dashes (123.456.782, 123 45 6782).
_BSN = re.compile(r"(?<![\d.,-])\d(?:[ .-]?\d){8}(?![\d.,]\d)")
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"(?:\+|00)\d{1,3}[ .-]?(?:\(0\))?[ .-]?\d(?:[ .-]?\d){6,12}"  # international
    r"|0\d(?:[ .-]?\d){8}"  # Dutch: 06-12345678, 020 123 4567, 0612345678
    r")(?!\d)"
)
_MONTHS = (
    "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|"
    "jan|feb|mrt|apr|jun|jul|aug|sep|sept|okt|nov|dec|"
    "january|february|march|may|june|july|august|october"
)
_DATE = re.compile(
    r"\b(?:"
    r"(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|1[0-2])[-/.](?:19|20)?\d{2}"  # 12-03-1985, 1/3/85
    r"|(?:19|20)\d{2}-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\d|3[01])"  # 1985-03-12
    # 12 maart 1985, 3e mei 1990
    rf"|(?:0?[1-9]|[12]\d|3[01])(?:e|ste|de)?\s+(?:{_MONTHS})\.?\s+(?:19|20)\d{{2}}"
    r")\b",
    re.IGNORECASE,
)
# Dutch postcode: "1234 AB" or "1234ab" (lower case only when written together, so that
# "in 2024 en 2025" stays text), with a house number after it or on its own.
_POSTCODE_PART = r"[1-9]\d{3}(?:\s?[A-Z]{2}|[a-z]{2})"
_POSTCODE_HOUSE = re.compile(
    rf"\b{_POSTCODE_PART}\b[ ,]*\d{{1,5}}(?:\s?[A-Za-z](?![A-Za-z]))?(?:[-/]\d{{1,4}})?"
)
_HOUSE_POSTCODE = re.compile(
    r"\b[A-Za-z][\w'.-]+(?:\s[A-Za-z][\w'.-]+){0,3}\s\d{1,5}[A-Za-z]?,?\s+[1-9]\d{3}\s?[A-Z]{2}\b"
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
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


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
    out = _IBAN.sub(lambda m: replace("iban") if iban_valid(m.group()) else m.group(), out)
    out = _DATE.sub(lambda m: replace("birth_date"), out)
    out = _HOUSE_POSTCODE.sub(lambda m: replace("address"), out)
    out = _POSTCODE_HOUSE.sub(lambda m: replace("address"), out)
    out = _POSTCODE.sub(lambda m: replace("address"), out)
    out = _BSN.sub(
        lambda m: replace("bsn") if bsn_valid(re.sub(r"\D", "", m.group())) else m.group(), out
    )
    out = _PHONE.sub(lambda m: replace("phone"), out)
    return Redaction(out, tuple(kind for kind in PLACEHOLDERS if kind in found))
