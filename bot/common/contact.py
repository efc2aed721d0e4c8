"""Contact details for a handoff: Dutch phone numbers and e-mail addresses, read and normalised.

Pure functions (stdlib only): the form validation uses them, and so can anything else that
needs the same rules. A number comes back in international form (+31…), so staff and the
receiving system see one shape whatever the person typed.
"""

from __future__ import annotations

import re
from typing import Final, Literal

Preference = Literal["phone", "email"]
PREFERENCES: Final[tuple[Preference, ...]] = ("phone", "email")

# Digits with the separators people type between them: "06-123 456 78", "+31 (0)6 1234 5678".
_PHONE_CANDIDATE: Final = re.compile(r"(?:\+|00)?\d[\d\s\-.()/]{7,20}\d")
_EMAIL_CANDIDATE: Final = re.compile(r"[^\s@<>(),;:\"']+@[^\s@<>(),;:\"']+")
_EMAIL: Final = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
# A Dutch number is 0 + 9 digits nationally, +31 + the same 9 digits internationally; the
# first of those 9 is never 0 (area codes and 06 start with 1-9).
_NATIONAL_DIGITS: Final = 9


def normalise_phone(text: str) -> str | None:
    """The Dutch phone number in `text` as +31XXXXXXXXX, or None when there is none."""
    for match in _PHONE_CANDIDATE.finditer(text):
        number = _dutch_number(match.group(0))
        if number is not None:
            return number
    return None


def _dutch_number(raw: str) -> str | None:
    compact = raw.replace("(0)", "")
    digits = re.sub(r"[^\d+]", "", compact)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits.startswith("+31"):
        national = digits[3:]
    elif digits.startswith("0") and not digits.startswith("+"):
        national = digits[1:]
    else:
        return None
    if len(national) != _NATIONAL_DIGITS or not national.isdigit() or national[0] == "0":
        return None
    return "+31" + national


def normalise_email(text: str) -> str | None:
    """The e-mail address in `text` (domain in lower case), or None when there is none."""
    for match in _EMAIL_CANDIDATE.finditer(text):
        candidate = match.group(0).rstrip(".!?")
        if _EMAIL.match(candidate):
            local, domain = candidate.rsplit("@", 1)
            return f"{local}@{domain.lower()}"
    return None


def normalise_contact(text: str, preference: str | None) -> tuple[Preference, str] | None:
    """(kind, contact) for `text`: the chosen kind first, else the other one that fits.

    Someone who chose "bellen" and then types an e-mail address clearly wants e-mail.
    """
    order: list[Preference] = ["email", "phone"] if preference == "email" else ["phone", "email"]
    for kind in order:
        found = normalise_phone(text) if kind == "phone" else normalise_email(text)
        if found is not None:
            return kind, found
    return None


_PREFERENCE_WORDS: Final[dict[Preference, tuple[str, ...]]] = {
    "phone": ("bel", "telefo", "phone", "call", "nummer", "number", "mobiel", "mobile"),
    "email": ("mail",),
}


def read_preference(text: str) -> Preference | None:
    """ "bellen" -> phone, "liever mailen" -> email; None when neither or both are named."""
    lowered = text.casefold()
    found = [kind for kind, words in _PREFERENCE_WORDS.items() if any(w in lowered for w in words)]
    return found[0] if len(found) == 1 else None
