"""A fake Bot Framework for the Teams channel: its own RSA key pair, OpenID metadata and JWKS,
an OAuth token endpoint and a connector, on one local HTTP server.

- `GET /v1/.well-known/openidconfiguration` and `GET /v1/.well-known/keys`: what the channel
  checks incoming tokens with (the keys endorsed for msteams, as Microsoft's are);
- `POST /botframework.com/oauth2/v2.0/token`: client credentials (our app id and password)
  give a bearer token for the connector;
- `POST /teams/v3/conversations/<id>/activities`: the connector; only a token it issued gets
  in; `fail_next` scripts outages;
- `token(...)` signs what the Bot Framework would send with an activity, and the helpers
  below forge what it would not (another key, alg none, HS256 with the public key).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.channels.fakes import Call, LocalServer, answer_json

APP_ID = "5b3a1c2e-0000-4000-8000-00000000a11d"
APP_PASSWORD = "teams-app-password-of-the-tests"
ISSUER = "https://api.botframework.com"
METADATA_PATH = "/v1/.well-known/openidconfiguration"
KEYS_PATH = "/v1/.well-known/keys"
TOKEN_PATH = "/botframework.com/oauth2/v2.0/token"
_ids = itertools.count(1)


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str, endorsements: list[str] | None) -> dict[str, Any]:
    jwk: dict[str, Any] = dict(RSAAlgorithm.to_jwk(key.public_key(), as_dict=True))
    jwk.update({"kid": kid, "use": "sig"})
    if endorsements is not None:
        jwk["endorsements"] = endorsements
    return jwk


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(claims: dict[str, Any], kid: str) -> str:
    """A token with `alg: none` and no signature."""
    header = {"alg": "none", "typ": "JWT", "kid": kid}
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def hmac_token(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """A token signed with HS256 and `secret` (the public key's PEM, in the classic attack).
    Made by hand: PyJWT refuses to use a public key as an HMAC secret."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    digest = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(digest)}"


class FakeBotFramework(LocalServer):
    def __init__(self) -> None:
        self.kid = "fake-bf-key-1"
        self.private_key = new_private_key()
        self.endorsements: list[str] | None = ["msteams", "skype"]
        self.keys: list[dict[str, Any]] = [
            public_jwk(self.private_key, self.kid, self.endorsements)
        ]
        self.issued: set[str] = set()
        self._failures: list[int] = []
        super().__init__()

    # ---- addresses --------------------------------------------------------------------------
    @property
    def metadata_url(self) -> str:
        return self.url + METADATA_PATH

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    @property
    def service_url(self) -> str:
        """The serviceUrl of the activities (the connector's base)."""
        return self.url + "/teams/"

    # ---- what the Bot Framework sends -------------------------------------------------------
    def claims(self, service_url: str | None = None, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "serviceurl": self.service_url if service_url is None else service_url,
            "nbf": now - 10,
            "exp": now + 3600,
            "iss": ISSUER,
            "aud": APP_ID,
        }
        claims.update(changes)
        return {key: value for key, value in claims.items() if value is not None}

    def token(
        self,
        service_url: str | None = None,
        *,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        **changes: Any,
    ) -> str:
        """A token as the Bot Framework signs it (RS256, its key), with `changes` to the claims
        (None removes a claim)."""
        return jwt.encode(
            self.claims(service_url, **changes),
            key or self.private_key,
            algorithm="RS256",
            headers={"kid": kid or self.kid},
        )

    def fail_next(self, count: int, status: int = 503) -> None:
        """The next `count` connector calls get `status` instead of being accepted."""
        with self._lock:
            self._failures.extend([status] * count)

    def expire_tokens(self) -> None:
        """Every connector token issued so far stops working (as after its hour)."""
        with self._lock:
            self.issued.clear()

    # ---- what it answers --------------------------------------------------------------------
    def _token_answer(self, form: dict[str, str]) -> tuple[int, Any]:
        good = (
            form.get("grant_type") == "client_credentials"
            and form.get("client_id") == APP_ID
            and form.get("client_secret") == APP_PASSWORD
            and form.get("scope") == "https://api.botframework.com/.default"
        )
        with self._lock:
            self.calls.append(Call("token", TOKEN_PATH, {}, {}, 200 if good else 401))
            if not good:
                return 401, {"error": "invalid_client"}
            token = f"bf-connector-token-{next(_ids)}"
            self.issued.add(token)
        return 200, {"token_type": "Bearer", "expires_in": 3600, "access_token": token}

    def _connector_answer(self, conversation_id: str, body: Any, headers: dict[str, str]) -> int:
        with self._lock:
            token = headers.get("authorization", "").removeprefix("Bearer ")
            if token not in self.issued:
                status = 401
            elif self._failures:
                status = self._failures.pop(0)
            else:
                status = 201
            self.calls.append(Call("teams", conversation_id, body, headers, status))
        return status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == METADATA_PATH:
                    with fake._lock:
                        fake.calls.append(Call("openid", METADATA_PATH, {}, {}))
                    answer_json(
                        self,
                        200,
                        {
                            "issuer": ISSUER,
                            "authorization_endpoint": "https://invalid.example/authorize",
                            "jwks_uri": fake.url + KEYS_PATH,
                            "id_token_signing_alg_values_supported": ["RS256"],
                            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                        },
                    )
                elif self.path == KEYS_PATH:
                    with fake._lock:
                        fake.calls.append(Call("openid", KEYS_PATH, {}, {}))
                        keys = list(fake.keys)
                    answer_json(self, 200, {"keys": keys})
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path == TOKEN_PATH:
                    form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                    status, answer = fake._token_answer(form)
                    answer_json(self, status, answer)
                    return
                prefix, suffix = "/teams/v3/conversations/", "/activities"
                if self.path.startswith(prefix) and self.path.endswith(suffix):
                    conversation_id = unquote(self.path[len(prefix) : -len(suffix)])
                    status = fake._connector_answer(conversation_id, json.loads(raw), headers)
                    answer_json(self, status, {"id": f"reply-{next(_ids)}"} if status < 300 else {})
                    return
                self.send_error(404)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextlib.contextmanager
def fake_bot_framework() -> Iterator[FakeBotFramework]:
    fake = FakeBotFramework()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


# ---- activities ------------------------------------------------------------------------------


def new_conversation_id() -> str:
    return f"a:1fake-personal-chat-{next(_ids)}"


def message_activity(
    conversation_id: str,
    text: str | None,
    service_url: str,
    *,
    activity_id: str | None = None,
    value: dict[str, Any] | None = None,
    conversation_type: str = "personal",
) -> dict[str, Any]:
    """A message activity as Teams sends it from a personal chat with the bot."""
    activity: dict[str, Any] = {
        "type": "message",
        "id": activity_id or f"1700000{next(_ids):06d}",
        "timestamp": "2026-11-20T10:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": f"29:user-of-{conversation_id}", "name": "Rita", "aadObjectId": "0000-rita"},
        "conversation": {
            "conversationType": conversation_type,
            "tenantId": "tenant-1",
            "id": conversation_id,
        },
        "recipient": {"id": f"28:{APP_ID}", "name": "Zijwijzer"},
        "textFormat": "plain",
        "locale": "nl-NL",
        "channelData": {"tenant": {"id": "tenant-1"}},
    }
    if text is not None:
        activity["text"] = text
    if value is not None:
        activity["value"] = value
    return activity
