"""Webhook verification for Telegram (secret token header), Slack (v0 signing secret) and
WhatsApp (X-Hub-Signature-256 with the app secret, and the GET verification)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from bot.common import webhook_auth

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = 1_800_000_000.0


def slack_headers(body: bytes, *, secret: str = SLACK_SECRET, at: float = NOW) -> tuple[str, str]:
    timestamp = str(int(at))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256)
    return timestamp, "v0=" + digest.hexdigest()


def test_telegram_accepts_exactly_the_configured_secret() -> None:
    assert webhook_auth.telegram_request_ok("s3cret-token_1", "s3cret-token_1")


@pytest.mark.parametrize("header", [None, "", "s3cret-token_", "s3cret-token_12", "S3CRET-TOKEN_1"])
def test_telegram_refuses_missing_or_other_secrets(header: str | None) -> None:
    assert not webhook_auth.telegram_request_ok(header, "s3cret-token_1")


def test_telegram_refuses_everything_without_a_configured_secret() -> None:
    assert not webhook_auth.telegram_request_ok("", "")
    assert not webhook_auth.telegram_request_ok("anything", "")


def test_derived_secret_is_stable_per_purpose_and_allowed_by_telegram() -> None:
    first = webhook_auth.derive_secret("key", "telegram-webhook")
    assert first == webhook_auth.derive_secret("key", "telegram-webhook")
    assert first != webhook_auth.derive_secret("key", "other")
    assert first != webhook_auth.derive_secret("other-key", "telegram-webhook")
    # Telegram: 1-256 characters of A-Z, a-z, 0-9, _ and -.
    assert 1 <= len(first) <= 256
    assert all(c.isascii() and (c.isalnum() or c in "_-") for c in first)


def test_slack_signature_matches_slacks_documented_example() -> None:
    # The worked example from Slack's "Verifying requests from Slack" page.
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
        b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
        b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    assert (
        webhook_auth.slack_signature(SLACK_SECRET, "1531420618", body)
        == "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


def test_slack_accepts_a_fresh_correct_signature() -> None:
    body = b'{"type":"event_callback","event_id":"Ev1"}'
    timestamp, signature = slack_headers(body)
    assert webhook_auth.slack_request_ok(SLACK_SECRET, timestamp, signature, body, now=NOW)
    # Within five minutes either way (clocks differ a little).
    assert webhook_auth.slack_request_ok(SLACK_SECRET, timestamp, signature, body, now=NOW + 299)
    assert webhook_auth.slack_request_ok(SLACK_SECRET, timestamp, signature, body, now=NOW - 299)


def test_slack_refuses_old_or_future_timestamps() -> None:
    body = b"{}"
    timestamp, signature = slack_headers(body)
    assert not webhook_auth.slack_request_ok(
        SLACK_SECRET, timestamp, signature, body, now=NOW + 301
    )
    assert not webhook_auth.slack_request_ok(
        SLACK_SECRET, timestamp, signature, body, now=NOW - 301
    )


def test_slack_signature_covers_the_raw_body_byte_for_byte() -> None:
    body = b'{"text": "hoi"}'
    timestamp, signature = slack_headers(body)
    for changed in (b'{"text":"hoi"}', b'{"text": "hoi"} ', b'{"text": "Hoi"}', b""):
        assert not webhook_auth.slack_request_ok(
            SLACK_SECRET, timestamp, signature, changed, now=NOW
        )


def test_slack_signature_covers_the_timestamp() -> None:
    body = b"{}"
    _, signature = slack_headers(body)
    later = str(int(NOW) + 10)
    assert not webhook_auth.slack_request_ok(SLACK_SECRET, later, signature, body, now=NOW)


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        (None, "v0=abc"),
        ("", "v0=abc"),
        ("1800000000", None),
        ("1800000000", ""),
        ("not-a-number", "v0=abc"),
        ("1800000000", "v0=" + "0" * 64),
        ("1800000000", "v1=" + "0" * 64),
        ("1800000000", "v0=Ünïcode"),
    ],
)
def test_slack_refuses_missing_or_malformed_headers(
    timestamp: str | None, signature: str | None
) -> None:
    assert not webhook_auth.slack_request_ok(SLACK_SECRET, timestamp, signature, b"{}", now=NOW)


def test_slack_refuses_a_signature_made_with_another_secret() -> None:
    body = b"{}"
    timestamp, signature = slack_headers(body, secret="someone-else")
    assert not webhook_auth.slack_request_ok(SLACK_SECRET, timestamp, signature, body, now=NOW)


def test_slack_refuses_everything_without_a_configured_secret() -> None:
    body = b"{}"
    timestamp, signature = slack_headers(body, secret="")
    assert not webhook_auth.slack_request_ok("", timestamp, signature, body, now=NOW)


# ---- WhatsApp (Meta) -------------------------------------------------------------------------

META_SECRET = "meta-app-secret"
BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def meta_signature(body: bytes, secret: str = META_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_whatsapp_accepts_the_app_secrets_signature_of_the_raw_body() -> None:
    assert webhook_auth.whatsapp_signature(META_SECRET, BODY) == meta_signature(BODY)
    assert webhook_auth.whatsapp_request_ok(META_SECRET, meta_signature(BODY), BODY)
    # Meta's hex is lower case; the same digest in capitals is the same digest.
    upper = "sha256=" + meta_signature(BODY).removeprefix("sha256=").upper()
    assert webhook_auth.whatsapp_request_ok(META_SECRET, upper, BODY)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        meta_signature(BODY).removeprefix("sha256="),  # no prefix
        "sha1=" + hmac.new(META_SECRET.encode(), BODY, hashlib.sha1).hexdigest(),
        meta_signature(BODY, "another-secret"),
        meta_signature(BODY + b" "),
        meta_signature(BODY)[:-1],
        meta_signature(BODY) + "0",
        "sha256=" + "é" * 64,
    ],
    ids=[
        "missing",
        "empty",
        "no-digest",
        "no-prefix",
        "sha1",
        "other-secret",
        "other-body",
        "short",
        "long",
        "not-ascii",
    ],
)
def test_whatsapp_refuses_missing_malformed_or_other_signatures(header: str | None) -> None:
    assert not webhook_auth.whatsapp_request_ok(META_SECRET, header, BODY)


def test_whatsapp_refuses_everything_without_an_app_secret() -> None:
    assert not webhook_auth.whatsapp_request_ok("", meta_signature(BODY, ""), BODY)


def test_whatsapp_verification_answers_the_challenge_only_for_our_token() -> None:
    assert webhook_auth.whatsapp_challenge("subscribe", "tok", "1158201444", "tok") == "1158201444"
    assert webhook_auth.whatsapp_challenge("subscribe", "other", "1", "tok") is None
    assert webhook_auth.whatsapp_challenge("unsubscribe", "tok", "1", "tok") is None
    assert webhook_auth.whatsapp_challenge("subscribe", None, "1", "tok") is None
    assert webhook_auth.whatsapp_challenge("subscribe", "tok", None, "tok") is None
    assert webhook_auth.whatsapp_challenge("subscribe", "", "1", "") is None
