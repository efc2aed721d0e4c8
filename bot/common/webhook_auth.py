"""Checks that a webhook call really comes from Telegram, Slack or WhatsApp (Meta).

Standard library only: the engine's channels (.venv-rasa) call it, and the tests in .venv
check it directly. Every comparison is constant-time, and a missing or malformed header is
simply "not authentic": the caller answers 401 and nothing reaches a conversation.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
SLACK_SIGNATURE_HEADER = "X-Slack-Signature"
SLACK_TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
# Slack's advice: refuse requests whose timestamp is more than five minutes off (replays).
SLACK_MAX_AGE_SECONDS = 5 * 60
SLACK_VERSION = "v0"
WHATSAPP_SIGNATURE_HEADER = "X-Hub-Signature-256"
_WHATSAPP_PREFIX = "sha256="


def derive_secret(key: str, purpose: str) -> str:
    """A secret for one purpose from the instance's secret key (HMAC-SHA256, hex).

    Hex only, 64 characters: Telegram allows A-Z, a-z, 0-9, _ and - in its secret token,
    at most 256 characters. Every instance with the same key derives the same secret.
    """
    return hmac.new(key.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def telegram_request_ok(header_value: str | None, secret: str) -> bool:
    """Whether the X-Telegram-Bot-Api-Secret-Token header equals our secret."""
    if not secret or not header_value:
        return False
    return hmac.compare_digest(header_value.encode(), secret.encode())


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature of a request: HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    base = f"{SLACK_VERSION}:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return f"{SLACK_VERSION}={digest}"


def slack_request_ok(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: float | None = None,
    max_age: float = SLACK_MAX_AGE_SECONDS,
) -> bool:
    """Whether a request carries Slack's signature over exactly this raw body, recently made."""
    if not secret or not timestamp or not signature:
        return False
    current = time.time() if now is None else now
    try:
        too_old = abs(current - int(timestamp)) > max_age
    except (ValueError, OverflowError):  # not a number, or one too large for a float
        return False
    if too_old:
        return False
    expected = slack_signature(secret, timestamp.strip(), body)
    return hmac.compare_digest(expected.encode(), signature.encode())


def whatsapp_signature(app_secret: str, body: bytes) -> str:
    """Meta's X-Hub-Signature-256 of a webhook body: `sha256=` + HMAC-SHA256 with the app secret."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return _WHATSAPP_PREFIX + digest


def whatsapp_request_ok(app_secret: str, header_value: str | None, body: bytes) -> bool:
    """Whether X-Hub-Signature-256 signs exactly this raw body with the app secret.

    Meta's header has no time stamp, so a replay of a real delivery passes: the message ids
    it carries are claimed once (bot/engine/channels/dedup.py), so a replay changes nothing."""
    if not app_secret or not header_value:
        return False
    expected = whatsapp_signature(app_secret, body)
    # Hex digits in either case are the same digest.
    given = header_value.strip()
    if given[: len(_WHATSAPP_PREFIX)].lower() == _WHATSAPP_PREFIX:
        given = _WHATSAPP_PREFIX + given[len(_WHATSAPP_PREFIX) :].lower()
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def whatsapp_challenge(
    mode: str | None, token: str | None, challenge: str | None, verify_token: str
) -> str | None:
    """The answer to Meta's webhook verification (GET with hub.mode, hub.verify_token and
    hub.challenge): the challenge when the token is ours, else None (answered 403)."""
    if mode != "subscribe" or not verify_token or not token or challenge is None:
        return None
    if not hmac.compare_digest(token.encode("utf-8", "replace"), verify_token.encode()):
        return None
    return challenge
