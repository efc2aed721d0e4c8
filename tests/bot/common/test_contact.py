"""Reading Dutch phone numbers, e-mail addresses and the contact preference."""

from __future__ import annotations

import pytest

from bot.common.contact import (
    normalise_contact,
    normalise_email,
    normalise_phone,
    read_preference,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0612345678", "+31612345678"),
        ("06 12345678", "+31612345678"),
        ("06-12345678", "+31612345678"),
        ("06 1234 5678", "+31612345678"),
        ("06-123 456 78", "+31612345678"),
        ("+31612345678", "+31612345678"),
        ("+31 6 12345678", "+31612345678"),
        ("+31 (0)6 12345678", "+31612345678"),
        ("0031 6 12345678", "+31612345678"),
        ("010-1234567", "+31101234567"),
        ("020 123 4567", "+31201234567"),
        ("(020) 123 45 67", "+31201234567"),
        ("mijn nummer is 06-12345678, bel maar na 5 uur", "+31612345678"),
    ],
)
def test_dutch_phone_numbers(text: str, expected: str) -> None:
    assert normalise_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nee",
        "12345",
        "06 1234",
        "061234567890",  # one digit too many
        "0012345678",
        "+32 470 12 34 56",  # Belgian
        "+31 06 12345678",  # 0 after the country code
        "jan@example.org",
        "1 2 3",
    ],
)
def test_not_dutch_phone_numbers(text: str) -> None:
    assert normalise_phone(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jan@example.org", "jan@example.org"),
        ("Jan.de.Vries@Example.NL", "Jan.de.Vries@example.nl"),
        ("mail me op jan+zorg@voorbeeld.nl.", "jan+zorg@voorbeeld.nl"),
        ("<an@mail.example.com>", "an@mail.example.com"),
    ],
)
def test_email_addresses(text: str, expected: str) -> None:
    assert normalise_email(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "jan",
        "jan@",
        "jan@example",
        "@example.org",
        "jan@@example.org",
        "jan@exa mple.org",
        "jan@example.o",
        "0612345678",
        "a" * 65 + "@example.org",
    ],
)
def test_not_email_addresses(text: str) -> None:
    assert normalise_email(text) is None


@pytest.mark.parametrize(
    ("text", "preference", "expected"),
    [
        ("0612345678", "phone", ("phone", "+31612345678")),
        ("jan@example.org", "email", ("email", "jan@example.org")),
        # The other kind than chosen: clearly what the person wants.
        ("jan@example.org", "phone", ("email", "jan@example.org")),
        ("06 12345678", "email", ("phone", "+31612345678")),
        ("jan@", "email", None),
        ("geen idee", None, None),
    ],
)
def test_contact_for_a_preference(
    text: str, preference: str | None, expected: tuple[str, str] | None
) -> None:
    assert normalise_contact(text, preference) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bellen", "phone"),
        ("Bel me maar", "phone"),
        ("telefonisch", "phone"),
        ("call me", "phone"),
        ("mailen", "email"),
        ("liever per e-mail", "email"),
        ("Email me", "email"),
        ("bellen of mailen, maakt niet uit", None),
        ("weet ik niet", None),
    ],
)
def test_preference_words(text: str, expected: str | None) -> None:
    assert read_preference(text) == expected
