"""Widget conversation tokens: only a token issued for a conversation opens it."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.engine.tokens import (
    SECONDS_PER_DAY,
    bearer_token,
    issue_token,
    new_conversation,
    new_conversation_id,
    token_matches,
    verify_token,
)

KEY = "test-secret-key-that-is-long-enough-for-hmac"
NOW = 1_800_000_000.0


def test_a_fresh_token_opens_its_conversation() -> None:
    conversation = new_conversation(KEY, days=30, now=NOW)
    assert verify_token(KEY, conversation.token, now=NOW) == conversation.conversation_id
    assert token_matches(KEY, conversation.token, conversation.conversation_id, now=NOW)
    assert conversation.expires == int(NOW) + 30 * SECONDS_PER_DAY


def test_ids_are_random_and_unguessable() -> None:
    ids = {new_conversation_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_another_key_forged_token_is_refused() -> None:
    forged = new_conversation("another-secret", days=30, now=NOW)
    assert verify_token(KEY, forged.token, now=NOW) is None


def test_expired_token_is_refused() -> None:
    conversation = new_conversation(KEY, days=1, now=NOW)
    assert verify_token(KEY, conversation.token, now=NOW + SECONDS_PER_DAY - 1)
    assert verify_token(KEY, conversation.token, now=NOW + SECONDS_PER_DAY) is None
    assert verify_token(KEY, conversation.token, now=NOW + 400 * SECONDS_PER_DAY) is None


def test_extending_the_expiry_breaks_the_signature() -> None:
    conversation = new_conversation(KEY, days=1, now=NOW)
    version, cid, expires, signature = conversation.token.split(".")
    longer = f"{version}.{cid}.{int(expires) + 365 * SECONDS_PER_DAY}.{signature}"
    assert verify_token(KEY, longer, now=NOW) is None


def test_token_of_another_conversation_does_not_match() -> None:
    mine = new_conversation(KEY, days=30, now=NOW)
    theirs = new_conversation(KEY, days=30, now=NOW)
    assert not token_matches(KEY, mine.token, theirs.conversation_id, now=NOW)
    # Swapping the id inside a valid token does not help either.
    version, _, expires, signature = mine.token.split(".")
    swapped = f"{version}.{theirs.conversation_id}.{expires}.{signature}"
    assert verify_token(KEY, swapped, now=NOW) is None


@pytest.mark.parametrize("position", [0, 5, 40, -1, -5])
def test_any_changed_character_is_refused(position: int) -> None:
    token = new_conversation(KEY, days=30, now=NOW).token
    index = position % len(token)
    replacement = "A" if token[index] != "A" else "B"
    tampered = token[:index] + replacement + token[index + 1 :]
    assert verify_token(KEY, tampered, now=NOW) is None


def test_a_signature_of_zeros_is_refused() -> None:
    conversation = new_conversation(KEY, days=30, now=NOW)
    version, cid, expires, _ = conversation.token.split(".")
    zeros = base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()
    assert verify_token(KEY, f"{version}.{cid}.{expires}.{zeros}", now=NOW) is None


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        "",
        42,
        ["v1"],
        "Bearer x",
        "v1...",
        "v1.abc.123.sig",
        "v2." + "0" * 32 + ".99999999999.x",
        "v1." + "0" * 32 + ".-5.x",
        "v1." + "0" * 32 + ".²³.x",
        "v1." + "0" * 32 + "\n.1.x",
        "v1." + "0" * 32 + ".1.x.y",
        "v1." + "0" * 32 + ".1.%%%%",
        "x" * 10_000,
    ],
)
def test_garbage_is_refused_without_error(garbage: object) -> None:
    assert verify_token(KEY, garbage, now=NOW) is None
    assert not token_matches(KEY, garbage, "0" * 32, now=NOW)


@given(st.text(max_size=300))
def test_no_text_is_accepted_or_crashes(text: str) -> None:
    assert verify_token(KEY, text, now=NOW) is None


def test_an_empty_key_never_verifies() -> None:
    token = new_conversation(KEY, days=30, now=NOW).token
    assert verify_token("", token, now=NOW) is None
    with pytest.raises(ValueError):
        new_conversation("", days=30)


def test_issue_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        issue_token(KEY, "../etc/passwd", days=30)
    with pytest.raises(ValueError):
        issue_token(KEY, new_conversation_id(), days=0)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        (None, None),
        ("", None),
        ("Basic abc", None),
        ("Bearer ", None),
    ],
)
def test_bearer_token(header: str | None, expected: str | None) -> None:
    assert bearer_token(header) == expected


# ---- rotation: ZIJWIJZER_PREVIOUS_SECRET_KEYS ------------------------------------------------

OLD_KEY = "the-key-before-the-rotation-also-long-enough"


def test_a_token_of_a_previous_key_still_works_after_a_rotation() -> None:
    old = new_conversation(OLD_KEY, days=30, now=NOW)
    assert verify_token(KEY, old.token, now=NOW) is None  # without the old key: refused
    assert verify_token(KEY, old.token, now=NOW, previous_keys=[OLD_KEY]) == old.conversation_id
    assert token_matches(KEY, old.token, old.conversation_id, now=NOW, previous_keys=[OLD_KEY])
    # Among several previous keys, and with empty entries left over from a list.
    keys = ["", "an-even-older-key", OLD_KEY]
    assert verify_token(KEY, old.token, now=NOW, previous_keys=keys) == old.conversation_id


def test_a_current_token_still_works_while_previous_keys_are_set() -> None:
    current = new_conversation(KEY, days=30, now=NOW)
    found = verify_token(KEY, current.token, now=NOW, previous_keys=[OLD_KEY])
    assert found == current.conversation_id


def test_a_previous_key_does_not_extend_expiry_or_accept_forgeries() -> None:
    old = new_conversation(OLD_KEY, days=1, now=NOW)
    later = NOW + 2 * SECONDS_PER_DAY
    assert verify_token(KEY, old.token, now=later, previous_keys=[OLD_KEY]) is None
    forged = new_conversation("an-attackers-key", days=30, now=NOW)
    assert verify_token(KEY, forged.token, now=NOW, previous_keys=[OLD_KEY]) is None
    # A previous key alone (the current one empty) opens nothing.
    assert verify_token("", old.token, now=NOW, previous_keys=[OLD_KEY]) is None


def test_new_tokens_are_signed_with_the_current_key_only() -> None:
    fresh = new_conversation(KEY, days=30, now=NOW)
    assert verify_token(KEY, fresh.token, now=NOW) == fresh.conversation_id
    # Once the rotation is over (the old key dropped), the new token still works; it never
    # depended on the old key.
    assert verify_token(OLD_KEY, fresh.token, now=NOW) is None
