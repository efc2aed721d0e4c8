"""Personal data never passes the redactor; ordinary numbers and words do."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.redaction import bsn_valid, iban_valid, redact


@pytest.mark.parametrize(
    ("text", "kind", "secret"),
    [
        ("mail me op jan.de.vries@example.nl aub", "email", "jan.de.vries@example.nl"),
        ("mijn nummer is 06-12345678", "phone", "12345678"),
        ("bel 06 1234 5678", "phone", "1234 5678"),
        ("+31 6 12345678 is mijn mobiel", "phone", "12345678"),
        ("vast: 020-1234567", "phone", "1234567"),
        ("0031 6 1234 5678", "phone", "1234 5678"),
        ("mijn bsn is 111222333", "bsn", "111222333"),
        ("BSN 123.456.782", "bsn", "123.456.782"),
        ("rekening NL91 ABNA 0417 1643 00", "iban", "0417 1643"),
        ("iban nl91abna0417164300", "iban", "0417164300"),
        ("ik woon op 3811 AB 12", "address", "3811"),
        ("postcode 1234ab, 5a", "address", "1234ab"),
        ("Dorpsstraat 12, 3811 AB Amersfoort", "address", "Dorpsstraat 12"),
        ("geboren op 12-03-1985", "birth_date", "12-03-1985"),
        ("geboortedatum 1985-03-12", "birth_date", "1985-03-12"),
        ("ik ben geboren op 3 maart 1985", "birth_date", "maart 1985"),
        ("born 1/3/85", "birth_date", "1/3/85"),
    ],
)
def test_each_kind_is_redacted(text: str, kind: str, secret: str) -> None:
    result = redact(text)
    assert secret not in result.text, result.text
    assert kind in result.kinds


@pytest.mark.parametrize(
    "text",
    [
        "ik ben 38 jaar",
        "24 uur per week",
        "mbo 2 helpende, 7 jaar ervaring",
        "bestelnummer 123456789",  # nine digits that fail the 11-test
        "in 2024 en 2025 werkte ik in de thuiszorg",
        "crebo 25656",
        "ik verdien 2500 euro",
        "Leereenheid ADL kost 600 tot 1200 euro",
    ],
)
def test_ordinary_text_stays(text: str) -> None:
    result = redact(text)
    assert result.text == text
    assert result.kinds == ()


def test_the_11_test() -> None:
    assert bsn_valid("111222333")
    assert bsn_valid("123456782")
    assert not bsn_valid("123456789")
    assert not bsn_valid("000000000")


def test_the_iban_check() -> None:
    assert iban_valid("NL91 ABNA 0417 1643 00")
    assert iban_valid("DE89370400440532013000")
    assert not iban_valid("NL91 ABNA 0417 1643 01")


def _bsn_digits(prefix: list[int]) -> str | None:
    total = sum(d * w for d, w in zip(prefix, range(9, 1, -1), strict=True))
    last = total % 11
    return None if last > 9 else "".join(map(str, prefix)) + str(last)


nine_digit_prefixes = st.lists(st.integers(0, 9), min_size=8, max_size=8)
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", max_size=30)


@settings(max_examples=500, deadline=None)
@given(nine_digit_prefixes, words, words)
def test_every_valid_bsn_is_redacted_wherever_it_stands(
    prefix: list[int], before: str, after: str
) -> None:
    bsn = _bsn_digits(prefix)
    if bsn is None or bsn == "000000000":
        return
    result = redact(f"{before} {bsn} {after}")
    assert bsn not in result.text


@settings(max_examples=500, deadline=None)
@given(
    st.from_regex(r"[a-z]{1,10}(\.[a-z]{1,8})?@[a-z]{2,10}\.(nl|com|org)", fullmatch=True), words
)
def test_every_email_is_redacted(address: str, around: str) -> None:
    assert address not in redact(f"{around} {address} {around}").text


@settings(max_examples=300, deadline=None)
@given(st.integers(10_000_000, 99_999_999), words)
def test_every_dutch_mobile_number_is_redacted(number: int, around: str) -> None:
    for written in (f"06{number}", f"06-{number}", f"+316{number}"):
        assert str(number) not in redact(f"{around} {written} {around}").text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_handled_quickly_and_idempotently(text: str) -> None:
    once = redact(text)
    assert redact(once.text).text == once.text
