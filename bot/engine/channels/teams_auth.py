"""Who may speak on the Teams channel: the Bot Framework's JWT on every incoming activity.

Rasa 3.6's own Bot Framework connector checks the token's signature and audience, but takes
the algorithm from the token's own header, checks neither the issuer nor the `serviceurl`
claim, and fetches keys from a fixed Microsoft address. Here, following Microsoft's "Authenticate
requests from the Bot Connector service":

- the token comes in `Authorization: Bearer …` (nothing else is read before it is checked);
- the algorithm is pinned to RS256: a token whose header names another (`none`, HS256 with the
  public key as its secret) is refused before any key is looked at, and PyJWT is only ever
  given RS256;
- the signing key is one of those the Bot Framework's OpenID metadata lists (its `jwks_uri`),
  found by the token's key id; the keys are cached (a day at most) and fetched again when a
  token names an unknown key id, at most once per `min_refresh` seconds, so forged key ids
  cannot make us hammer Microsoft (or the metadata's host);
- issuer (`https://api.botframework.com`), audience (our app id), expiry and not-before with a
  five-minute clock skew; `exp`, `iss` and `aud` must be present;
- the key's endorsements, when it has any, must include the activity's channel (msteams);
- the token's `serviceurl` claim must equal the activity's serviceUrl exactly: a token lifted
  from one activity cannot send us to another service URL.

PyJWT (pinned in both locks) does the cryptography; this module only decides. Tested from
.venv against a local fake with its own key pair (tests/channels/fake_botframework.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import requests

from bot.engine.tokens import bearer_token

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
CLOCK_SKEW_SECONDS = 300
KEYS_MAX_AGE_SECONDS = 24 * 3600.0
MIN_REFRESH_SECONDS = 300.0
FETCH_TIMEOUT_SECONDS = 5.0
SERVICE_URL_CLAIM = "serviceurl"

Fetch = Callable[[str], Any]


class KeysUnavailable(Exception):
    """The signing keys could not be fetched and none are cached: nothing can be checked."""


def http_fetch(
    session: requests.Session | None = None, timeout: float = FETCH_TIMEOUT_SECONDS
) -> Fetch:
    """GET a JSON document, with a timeout; any failure is KeysUnavailable."""
    http = session or requests.Session()

    def fetch(url: str) -> Any:
        try:
            answer = http.get(url, timeout=timeout, allow_redirects=False)
            answer.raise_for_status()
            return answer.json()
        except (requests.RequestException, ValueError) as error:
            raise KeysUnavailable(type(error).__name__) from error

    return fetch


@dataclass(frozen=True)
class SigningKey:
    key: Any  # the public key object PyJWT verifies with
    # Channels the key may sign for; None: the key names none (any channel).
    endorsements: frozenset[str] | None


def _parse_keys(document: Any) -> dict[str, SigningKey]:
    keys: dict[str, SigningKey] = {}
    entries = document.get("keys") if isinstance(document, Mapping) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping) or entry.get("kty") != "RSA":
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        try:
            parsed = jwt.PyJWK(dict(entry), algorithm=ALGORITHM)
        except jwt.PyJWTError:
            continue  # a key we cannot use signs nothing we accept
        endorsed = entry.get("endorsements")
        endorsements = (
            frozenset(str(channel) for channel in endorsed) if isinstance(endorsed, list) else None
        )
        keys[kid] = SigningKey(parsed.key, endorsements)
    return keys


class SigningKeys:
    """The Bot Framework's signing keys by key id, from its OpenID metadata. Thread-safe."""

    def __init__(
        self,
        metadata_url: str,
        fetch: Fetch,
        *,
        max_age: float = KEYS_MAX_AGE_SECONDS,
        min_refresh: float = MIN_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.metadata_url = metadata_url
        self._fetch = fetch
        self._max_age = max_age
        self._min_refresh = min_refresh
        self._clock = clock
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None
        self._tried_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0  # how many times the keys were fetched (tests, diagnostics)

    def get(self, kid: str) -> SigningKey | None:
        """The key with this id, fetching the keys when none are cached, when they are older
        than `max_age`, or when the id is unknown (at most once per `min_refresh`)."""
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at > self._max_age
            unknown = kid not in self._keys
            may_try = self._tried_at is None or now - self._tried_at >= self._min_refresh
            if stale or (unknown and may_try):
                try:
                    self._refresh(now)
                except KeysUnavailable:
                    if not self._keys:
                        raise
                    logger.warning(
                        "Bot Framework signing keys not refreshed; the cached ones serve."
                    )
            return self._keys.get(kid)

    def _refresh(self, now: float) -> None:
        self._tried_at = now
        metadata = self._fetch(self.metadata_url)
        jwks_uri = metadata.get("jwks_uri") if isinstance(metadata, Mapping) else None
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise KeysUnavailable("no jwks_uri in the OpenID metadata")
        keys = _parse_keys(self._fetch(jwks_uri))
        if not keys:
            raise KeysUnavailable("no usable signing key")
        self.fetches += 1
        self._keys = keys
        self._fetched_at = now


@dataclass(frozen=True)
class Check:
    """The verdict on an activity's token: accepted, or why not (for the log)."""

    accepted: bool
    reason: str = ""
    # The keys could not be fetched: not a forgery, the check could not be made (503).
    unavailable: bool = False


ACCEPTED = Check(True)


def _refused(reason: str) -> Check:
    return Check(False, reason)


class TokenValidator:
    """Checks the Bot Framework token of an incoming activity."""

    def __init__(
        self,
        app_id: str,
        issuer: str,
        keys: SigningKeys,
        *,
        leeway: float = CLOCK_SKEW_SECONDS,
    ) -> None:
        self.app_id = app_id
        self.issuer = issuer
        self.keys = keys
        self.leeway = leeway

    def check(
        self, authorization: str | None, service_url: str | None, channel_id: str | None
    ) -> Check:
        token = bearer_token(authorization)
        if token is None:
            return _refused("no bearer token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return _refused("not a JWT")
        if header.get("alg") != ALGORITHM:
            return _refused("algorithm is not RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            return _refused("no key id")
        try:
            key = self.keys.get(kid)
        except KeysUnavailable as error:
            logger.error("Bot Framework signing keys unavailable (%s).", error)
            return Check(False, "signing keys unavailable", unavailable=True)
        if key is None:
            return _refused("unknown key id")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                audience=self.app_id,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            return _refused("expired")
        except jwt.InvalidAudienceError:
            return _refused("wrong audience")
        except jwt.InvalidIssuerError:
            return _refused("wrong issuer")
        except jwt.InvalidSignatureError:
            return _refused("bad signature")
        except jwt.PyJWTError as error:
            return _refused(f"invalid token ({type(error).__name__})")
        if key.endorsements is not None and channel_id not in key.endorsements:
            return _refused("key not endorsed for this channel")
        claimed = claims.get(SERVICE_URL_CLAIM)
        if not isinstance(claimed, str) or not service_url or claimed != service_url:
            return _refused("serviceUrl differs from the token's")
        return ACCEPTED
