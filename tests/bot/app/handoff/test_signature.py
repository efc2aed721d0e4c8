"""The X-Zijwijzer-Signature header: what a receiver's check accepts and refuses."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from bot.app.handoff.signature import MAX_AGE_SECONDS, sign_handoff, verify_handoff_signature
from bot.common.webhook_auth import derive_secret

SECRET = "s3cret-for-the-receiver"
BODY = b'{"type":"zijwijzer.handoff","contact":"+31612345678"}'
NOW = 1_790_000_000


def test_the_header_is_the_documented_hmac() -> None:
    header = sign_handoff(SECRET, BODY, NOW)
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={expected}"
    assert verify_handoff_signature(SECRET, header, BODY, now=NOW)


@pytest.mark.parametrize("offset", [-MAX_AGE_SECONDS, 0, MAX_AGE_SECONDS])
def test_a_small_clock_difference_is_accepted(offset: int) -> None:
    assert verify_handoff_signature(SECRET, sign_handoff(SECRET, BODY, NOW), BODY, NOW + offset)


@pytest.mark.parametrize("offset", [-MAX_AGE_SECONDS - 1, MAX_AGE_SECONDS + 1, 86400])
def test_an_old_or_future_delivery_is_refused(offset: int) -> None:
    # A replay of a recorded delivery, later: refused.
    assert not verify_handoff_signature(SECRET, sign_handoff(SECRET, BODY, NOW), BODY, NOW + offset)


def test_a_custom_max_age() -> None:
    header = sign_handoff(SECRET, BODY, NOW)
    assert not verify_handoff_signature(SECRET, header, BODY, NOW + 30, max_age=10)
    assert verify_handoff_signature(SECRET, header, BODY, NOW + 30, max_age=60)


def test_another_body_or_secret_is_refused() -> None:
    header = sign_handoff(SECRET, BODY, NOW)
    assert not verify_handoff_signature(SECRET, header, BODY.replace(b"+316", b"+317"), NOW)
    assert not verify_handoff_signature("other secret", header, BODY, NOW)
    assert not verify_handoff_signature("", header, BODY, NOW)


def test_the_time_stamp_is_signed_too() -> None:
    header = sign_handoff(SECRET, BODY, NOW)
    moved = header.replace(f"t={NOW}", f"t={NOW + 3600}")
    assert not verify_handoff_signature(SECRET, moved, BODY, NOW + 3600)


def test_during_a_rotation_one_matching_signature_is_enough() -> None:
    old = sign_handoff("old secret", BODY, NOW)
    new = sign_handoff(SECRET, BODY, NOW)
    both = f"{new},{old.split(',')[1]}"
    assert verify_handoff_signature(SECRET, both, BODY, NOW)
    assert verify_handoff_signature("old secret", both, BODY, NOW)
    assert not verify_handoff_signature("third secret", both, BODY, NOW)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "v1=abc",
        f"t={NOW}",
        f"t={NOW},v1=",
        f"t=soon,v1={'0' * 64}",
        f"t=-{NOW},v1={'0' * 64}",
        f"t=\u00b2,v1={'0' * 64}",
        f"t={NOW},t={NOW},v1={'0' * 64}",
        f"t={NOW},v1=é",
        # Too large for a float (309 digits), and past Python's int-parsing limit.
        f"t={'9' * 309},v1={'0' * 64}",
        f"t={'9' * 5000},v1={'0' * 64}",
    ],
)
def test_malformed_headers_are_refused_without_an_error(header: str | None) -> None:
    assert not verify_handoff_signature(SECRET, header, BODY, NOW)


def test_signing_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        sign_handoff("", BODY, NOW)


def test_the_default_secret_is_derived_from_the_secret_key() -> None:
    # What the settings use when ZIJWIJZER_HANDOFF_WEBHOOK_SECRET is not set.
    derived = derive_secret("instance key", "handoff-webhook")
    assert len(derived) == 64 and derived != derive_secret("instance key", "telegram-webhook")
    assert verify_handoff_signature(derived, sign_handoff(derived, BODY, NOW), BODY, NOW)
