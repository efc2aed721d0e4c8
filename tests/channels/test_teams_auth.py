"""The Bot Framework token of an incoming Teams activity: what is accepted and every forgery
that is not, against a local fake Bot Framework with its own key pair (keys fetched over HTTP
from its OpenID metadata, as in production)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from bot.engine.channels.teams_auth import KeysUnavailable, SigningKeys, TokenValidator, http_fetch
from tests.channels.fake_botframework import (
    APP_ID,
    ISSUER,
    FakeBotFramework,
    fake_bot_framework,
    hmac_token,
    new_private_key,
    public_jwk,
    public_pem,
    unsigned_token,
)


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def bf() -> Iterator[FakeBotFramework]:
    with fake_bot_framework() as fake:
        yield fake


def validator(bf: FakeBotFramework, clock: Clock | None = None) -> TokenValidator:
    keys = SigningKeys(bf.metadata_url, http_fetch(timeout=2.0), clock=clock or Clock())
    return TokenValidator(APP_ID, ISSUER, keys)


def check(
    bf: FakeBotFramework, token: str, service_url: str | None = None, channel: str = "msteams"
) -> Any:
    url = bf.service_url if service_url is None else service_url
    return validator(bf).check(f"Bearer {token}", url, channel)


def test_a_token_of_the_bot_framework_is_accepted(bf: FakeBotFramework) -> None:
    result = check(bf, bf.token())
    assert result.accepted, result.reason


def test_a_small_clock_skew_is_tolerated(bf: FakeBotFramework) -> None:
    now = int(time.time())
    assert check(bf, bf.token(exp=now - 120, nbf=now - 3600)).accepted
    assert check(bf, bf.token(nbf=now + 120)).accepted


def forgeries(bf: FakeBotFramework) -> dict[str, tuple[str | None, str]]:
    """name -> (Authorization header, the reason it is refused)."""
    other_key = new_private_key()
    claims = bf.claims()
    now = int(time.time())
    return {
        "no header": (None, "no bearer token"),
        "not bearer": (f"Basic {bf.token()}", "no bearer token"),
        "not a JWT": ("Bearer not.a.jwt", "not a JWT"),
        "another key, its kid": (f"Bearer {bf.token(key=other_key)}", "bad signature"),
        "another key, unknown kid": (
            f"Bearer {bf.token(key=other_key, kid='stolen')}",
            "unknown key id",
        ),
        "alg none": (f"Bearer {unsigned_token(claims, bf.kid)}", "algorithm is not RS256"),
        "HS256 with the public key": (
            f"Bearer {hmac_token(claims, public_pem(bf.private_key), bf.kid)}",
            "algorithm is not RS256",
        ),
        "RS512": (
            "Bearer "
            + jwt.encode(claims, bf.private_key, algorithm="RS512", headers={"kid": bf.kid}),
            "algorithm is not RS256",
        ),
        "no kid": ("Bearer " + jwt.encode(claims, bf.private_key, algorithm="RS256"), "no key id"),
        "wrong issuer": (f"Bearer {bf.token(iss='https://sts.windows.net/evil/')}", "wrong issuer"),
        "no issuer": (f"Bearer {bf.token(iss=None)}", "invalid token"),
        "wrong audience": (f"Bearer {bf.token(aud='another-bot')}", "wrong audience"),
        "no audience": (f"Bearer {bf.token(aud=None)}", "invalid token"),
        "expired": (f"Bearer {bf.token(exp=now - 600, nbf=now - 4000)}", "expired"),
        "no expiry": (f"Bearer {bf.token(exp=None)}", "invalid token"),
        "not yet valid": (f"Bearer {bf.token(nbf=now + 900)}", "invalid token"),
        "other serviceUrl in the token": (
            f"Bearer {bf.token(service_url='https://evil.example/teams/')}",
            "serviceUrl differs",
        ),
        "no serviceUrl in the token": (f"Bearer {bf.token(serviceurl=None)}", "serviceUrl differs"),
        "tampered claims": (f"Bearer {_tampered(bf.token())}", "bad signature"),
    }


def _tampered(token: str) -> str:
    header, _, signature = token.split(".")
    claims = jwt.utils.base64url_encode(
        b'{"aud":"'
        + APP_ID.encode()
        + b'","iss":"https://api.botframework.com","exp":9999999999,"serviceurl":"x"}'
    )
    return f"{header}.{claims.decode()}.{signature}"


FORGERIES = [
    "no header",
    "not bearer",
    "not a JWT",
    "another key, its kid",
    "another key, unknown kid",
    "alg none",
    "HS256 with the public key",
    "RS512",
    "no kid",
    "wrong issuer",
    "no issuer",
    "wrong audience",
    "no audience",
    "expired",
    "no expiry",
    "not yet valid",
    "other serviceUrl in the token",
    "no serviceUrl in the token",
    "tampered claims",
]


@pytest.mark.parametrize("name", FORGERIES)
def test_forged_tokens_are_refused(bf: FakeBotFramework, name: str) -> None:
    header, reason = forgeries(bf)[name]
    result = validator(bf).check(header, bf.service_url, "msteams")
    assert not result.accepted and not result.unavailable
    assert result.reason.startswith(reason), result.reason


def test_every_forgery_is_tested() -> None:
    with fake_bot_framework() as fake:
        assert sorted(forgeries(fake)) == sorted(FORGERIES)


def test_the_activitys_service_url_must_be_the_tokens(bf: FakeBotFramework) -> None:
    token = bf.token()
    assert not check(bf, token, service_url=bf.service_url + "other/").accepted
    assert not check(bf, token, service_url="").accepted


def test_a_key_not_endorsed_for_teams_is_refused(bf: FakeBotFramework) -> None:
    assert not check(bf, bf.token(), channel="webchat").accepted
    assert check(bf, bf.token(), channel="skype").accepted


def test_keys_are_cached_and_fetched_again_for_an_unknown_key_id_at_most_every_5_minutes() -> None:
    with fake_bot_framework() as bf:
        clock = Clock()
        check_with = validator(bf, clock)
        assert check_with.check(f"Bearer {bf.token()}", bf.service_url, "msteams").accepted
        assert check_with.check(f"Bearer {bf.token()}", bf.service_url, "msteams").accepted
        assert check_with.keys.fetches == 1
        # Microsoft rolls its keys over: a token with the new key id makes us fetch again.
        new_key = new_private_key()
        bf.keys.append(public_jwk(new_key, "fake-bf-key-2", ["msteams"]))
        clock.now += 301
        rolled = bf.token(key=new_key, kid="fake-bf-key-2")
        assert check_with.check(f"Bearer {rolled}", bf.service_url, "msteams").accepted
        assert check_with.keys.fetches == 2
        # Unknown key ids right after do not make us fetch again (a forger cannot make us
        # hammer the metadata's host); they are refused from the cache.
        for n in range(5):
            forged = bf.token(key=new_private_key(), kid=f"made-up-{n}")
            assert not check_with.check(f"Bearer {forged}", bf.service_url, "msteams").accepted
        assert check_with.keys.fetches == 2
        openid = bf.select(lambda c: c.service == "openid")
        assert len(openid) == 4  # metadata and keys, twice


def test_keys_older_than_a_day_are_fetched_again() -> None:
    with fake_bot_framework() as bf:
        clock = Clock()
        check_with = validator(bf, clock)
        assert check_with.check(f"Bearer {bf.token()}", bf.service_url, "msteams").accepted
        clock.now += 24 * 3600 + 1
        assert check_with.check(f"Bearer {bf.token()}", bf.service_url, "msteams").accepted
        assert check_with.keys.fetches == 2


def test_without_reachable_keys_nothing_is_accepted_and_it_says_so() -> None:
    with fake_bot_framework() as bf:
        token = bf.token()
        url = bf.metadata_url
    # The fake is gone: no keys at all.
    keys = SigningKeys(url, http_fetch(timeout=1.0), clock=Clock())
    result = TokenValidator(APP_ID, ISSUER, keys).check(f"Bearer {token}", "x", "msteams")
    assert not result.accepted and result.unavailable
    with pytest.raises(KeysUnavailable):
        keys.get("fake-bf-key-1")


def test_cached_keys_serve_while_the_metadata_is_down() -> None:
    clock = Clock()
    with fake_bot_framework() as bf:
        check_with = validator(bf, clock)
        assert check_with.check(f"Bearer {bf.token()}", bf.service_url, "msteams").accepted
        token, service_url = bf.token(), bf.service_url
    clock.now += 24 * 3600 + 1  # stale, and the fetch fails
    assert check_with.check(f"Bearer {token}", service_url, "msteams").accepted


def test_metadata_without_usable_keys_is_no_key_at_all() -> None:
    documents = {
        "https://meta": {"jwks_uri": "https://keys"},
        "https://keys": {
            "keys": [{"kty": "EC", "kid": "x"}, {"kty": "RSA", "kid": "broken", "n": "x"}]
        },
    }
    keys = SigningKeys("https://meta", documents.__getitem__, clock=Clock())
    with pytest.raises(KeysUnavailable):
        keys.get("broken")
    no_uri = SigningKeys("https://meta", lambda url: {"issuer": ISSUER}, clock=Clock())
    with pytest.raises(KeysUnavailable):
        no_uri.get("x")
