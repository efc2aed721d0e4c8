"""The signature of handoff webhook deliveries, for the sender and for receivers.

Every POST carries `X-Zijwijzer-Signature: t=<unix seconds>,v1=<hex>`, where the hex is
HMAC-SHA256 with the shared secret over `<t>.<raw body>`. A receiver checks it with
`verify_handoff_signature` (standard library only: copy this file into the receiving system if
it is written in Python) over the raw body as received, before parsing it; the time stamp makes
an old delivery replayed later fail the check. During a secret rotation the header may carry
more than one `v1=` value; one match is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Zijwijzer-Signature"
SIGNATURE_VERSION = "v1"
# A delivery older (or further in the future) than this is refused: clocks drift a little,
# a replay days later is refused.
MAX_AGE_SECONDS = 5 * 60


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign_handoff(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for `body`, signed at `timestamp` (now by default)."""
    if not secret:
        raise ValueError("a handoff webhook secret is needed to sign")
    moment = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={moment},{SIGNATURE_VERSION}={_digest(secret, moment, body)}"


def verify_handoff_signature(
    secret: str,
    header: str | None,
    body: bytes,
    now: float | None = None,
    max_age: float = MAX_AGE_SECONDS,
) -> bool:
    """Whether `header` signs exactly `body` with `secret`, at most `max_age` seconds off `now`.

    Any missing, malformed, stale or wrong part is simply False; comparisons are constant-time.
    """
    if not secret or not header:
        return False
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if name == "t":
            timestamps.append(value.strip())
        elif name == SIGNATURE_VERSION:
            signatures.append(value.strip())
    if (
        len(timestamps) != 1
        or not signatures
        or not (timestamps[0].isascii() and timestamps[0].isdigit())
    ):
        return False
    current = time.time() if now is None else now
    try:
        sent_at = int(timestamps[0])
        too_old = abs(current - sent_at) > max_age
    except (ValueError, OverflowError):  # too many digits for an int, or for a float
        return False
    if too_old:
        return False
    expected = _digest(secret, sent_at, body).encode()
    # Every value is compared (no early exit), so timing tells nothing about which matched.
    matches = [hmac.compare_digest(expected, value.encode()) for value in signatures]
    return any(matches)
