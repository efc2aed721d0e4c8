"""The thin clients of the Bot Framework for Teams replies: the OAuth token and the connector.

Used by the Teams channel's outbox sender (bot/engine/channels/outbox.py) in a worker thread.

- `ConnectorToken`: an OAuth 2.0 client-credentials token (app id and password, scope
  `https://api.botframework.com/.default`) from ZIJWIJZER_TEAMS_TOKEN_URL, cached until five
  minutes before it expires; dropped when the connector refuses it.
- `ConnectorClient`: POSTs an activity to `<serviceUrl>/v3/conversations/<id>/activities`, only
  when the serviceUrl is on the allow-list (the token goes with it), with a timeout. Answers:
  2xx sent; 401 the token is dropped and the reply tried again; 429, 5xx, a timeout, no
  connection, no token: tried again later; 403 (the user blocked or removed the bot), 404 (the
  conversation is gone) and other refusals: dropped. Logs name the kind of failure only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests

from bot.engine.channels.outbox import SENT, Outcome, Pending, SendResult, retry_after
from bot.engine.channels.teams_protocol import TeamsAddress, service_url_allowed

logger = logging.getLogger(__name__)

SCOPE = "https://api.botframework.com/.default"
TIMEOUT_SECONDS = 10.0
# A token is renewed this long before it expires.
RENEW_MARGIN_SECONDS = 300.0


class TokenUnavailable(Exception):
    """No token could be had; the text names the kind of failure."""


class ConnectorToken:
    """The bot's access token for the connector, cached until shortly before it expires."""

    def __init__(
        self,
        token_url: str,
        app_id: str,
        password: str,
        *,
        session: requests.Session | None = None,
        timeout: float = TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self._app_id = app_id
        self._password = password
        self._session = session or requests.Session()
        self._timeout = timeout
        self._clock = clock
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()
        self.fetches = 0  # how many tokens were fetched (tests, diagnostics)

    def get(self) -> str:
        with self._lock:
            if self._token is not None and self._clock() < self._renew_at:
                return self._token
            token, lifetime = self._fetch()
            self._token = token
            self._renew_at = self._clock() + max(0.0, lifetime - RENEW_MARGIN_SECONDS)
            self.fetches += 1
            return token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._app_id,
            "client_secret": self._password,
            "scope": SCOPE,
        }
        try:
            answer = self._session.post(
                self.token_url, data=form, timeout=self._timeout, allow_redirects=False
            )
        except requests.RequestException as error:
            raise TokenUnavailable(type(error).__name__) from error
        if answer.status_code != 200:
            raise TokenUnavailable(f"token endpoint HTTP {answer.status_code}")
        try:
            body: Any = answer.json()
        except ValueError as error:
            raise TokenUnavailable("token endpoint answered no JSON") from error
        token = body.get("access_token") if isinstance(body, dict) else None
        lifetime = body.get("expires_in") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenUnavailable("no access_token in the answer")
        if isinstance(lifetime, str) and lifetime.isdigit():
            lifetime = int(lifetime)
        if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime <= 0:
            lifetime = 3600
        return token, float(lifetime)


def connector_outcome(answer: requests.Response) -> SendResult:
    status = answer.status_code
    if 200 <= status < 300:
        return SENT
    kind = f"HTTP {status}"
    if status == 429 or status >= 500:
        return SendResult(Outcome.RETRY, kind, retry_after(answer.headers))
    return SendResult(Outcome.DROP, kind)


class ConnectorClient:
    """Sends activities to the Bot Framework connector of the conversation's serviceUrl."""

    def __init__(
        self,
        token: ConnectorToken,
        allowed_service_urls: Sequence[str],
        *,
        timeout: float = TIMEOUT_SECONDS,
        session: requests.Session | None = None,
    ) -> None:
        self._token = token
        self._allowed = tuple(allowed_service_urls)
        self.timeout = timeout
        self._session = session or requests.Session()

    def send(self, pending: Pending) -> SendResult:
        address = TeamsAddress.from_dict(pending.address)
        if not service_url_allowed(address.service_url, self._allowed):
            # Checked when the activity came in as well; our token goes nowhere else.
            return SendResult(Outcome.DROP, "serviceUrl not on the allow-list")
        try:
            token = self._token.get()
        except TokenUnavailable as error:
            return SendResult(Outcome.RETRY, f"no token ({error})")
        try:
            answer = self._session.post(
                address.activities_url,
                json=pending.body,
                headers={"Authorization": f"Bearer {token}"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            return SendResult(Outcome.RETRY, type(error).__name__)
        if answer.status_code == 401:
            self._token.invalidate()
            return SendResult(Outcome.RETRY, "HTTP 401: token refused, a new one next time")
        return connector_outcome(answer)

    def close(self) -> None:
        self._session.close()
