"""Conversation tokens for the website widget: who may read and write one conversation.

A widget conversation has a random id; the browser gets it together with a token, an
HMAC-SHA256 signature over the id and an expiry time made with the secret key. Only a
holder of the token can send messages to that conversation or read its history. The token
is checked without any server-side state, so every engine instance accepts it.

Stdlib only: the engine (.venv-rasa, Python 3.10) imports this module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

# Kept apart from other HMAC uses of the same secret key (console sessions, CSRF tokens):
# a signature made for one purpose never verifies for another.
_PURPOSE = b"zijwijzer-widget-conversation-v1"
_VERSION = "v1"
_ID_PATTERN = re.compile(r"[0-9a-f]{32}")
_EXPIRES_PATTERN = re.compile(r"[0-9]{1,12}")
# Tokens are short; anything far longer is not one of ours (and not worth hashing).
_MAX_TOKEN_LENGTH = 200
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    token: str
    expires: int  # Unix time


def new_conversation_id() -> str:
    """128 random bits: unguessable, and says nothing about the person."""
    return secrets.token_hex(16)


def _signature(secret_key: str, conversation_id: str, expires: int) -> str:
    message = _PURPOSE + f":{conversation_id}:{expires}".encode("ascii")
    digest = hmac.new(secret_key.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue_token(
    secret_key: str, conversation_id: str, *, days: int, now: float | None = None
) -> Conversation:
    """A token for `conversation_id` that stops working `days` days from now."""
    if not secret_key:
        raise ValueError("the secret key is empty")
    if not _ID_PATTERN.fullmatch(conversation_id):
        raise ValueError("not a widget conversation id")
    if days <= 0:
        raise ValueError("a token must live at least one day")
    expires = int(now if now is not None else time.time()) + days * SECONDS_PER_DAY
    signature = _signature(secret_key, conversation_id, expires)
    return Conversation(
        conversation_id, f"{_VERSION}.{conversation_id}.{expires}.{signature}", expires
    )


def new_conversation(secret_key: str, *, days: int, now: float | None = None) -> Conversation:
    return issue_token(secret_key, new_conversation_id(), days=days, now=now)


def verify_token(
    secret_key: str,
    token: object,
    *,
    now: float | None = None,
    previous_keys: Sequence[str] = (),
) -> str | None:
    """The conversation id the token is valid for, or None (forged, altered, expired, garbage).

    `previous_keys` (ZIJWIJZER_PREVIOUS_SECRET_KEYS) are the keys used before a rotation: a
    token signed with one of them still works until it expires, while every new token is
    signed with `secret_key` (issue_token). Drop a previous key once its tokens have expired.
    """
    if not secret_key or not isinstance(token, str) or len(token) > _MAX_TOKEN_LENGTH:
        return None
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != _VERSION:
        return None
    _, conversation_id, expires_text, signature = parts
    if not _ID_PATTERN.fullmatch(conversation_id) or not _EXPIRES_PATTERN.fullmatch(expires_text):
        return None
    expires = int(expires_text)
    try:
        # Decoding first refuses signatures that are not base64 at all.
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (binascii.Error, ValueError):
        return None
    given = signature.encode("ascii", "replace")
    # Every key is tried (no early exit), so the time taken says nothing about which matched.
    matched = False
    for key in (secret_key, *previous_keys):
        if key:
            expected = _signature(key, conversation_id, expires).encode("ascii")
            matched |= hmac.compare_digest(expected, given)
    if not matched:
        return None
    if expires <= (now if now is not None else time.time()):
        return None
    return conversation_id


def token_matches(
    secret_key: str,
    token: object,
    conversation_id: object,
    *,
    now: float | None = None,
    previous_keys: Sequence[str] = (),
) -> bool:
    """True when the token is valid and was issued for exactly this conversation."""
    owner = verify_token(secret_key, token, now=now, previous_keys=previous_keys)
    return owner is not None and isinstance(conversation_id, str) and owner == conversation_id


def bearer_token(authorization: str | None) -> str | None:
    """The token from an `Authorization: Bearer <token>` header value."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
