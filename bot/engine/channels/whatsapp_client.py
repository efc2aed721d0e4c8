"""The thin client of Meta's Graph API for the WhatsApp channel: one POST per message.

Used by the channel's outbox sender (bot/engine/channels/outbox.py) in a worker thread. Every call
has
a timeout; every answer becomes one of the outbox's outcomes, with the kind of failure only
(never the message, never the token):

- 2xx: sent;
- Meta's error 131047 ("more than 24 hours have passed since the recipient last replied"):
  dropped, the customer-service window is closed;
- 429 and Meta's rate-limit errors, 5xx, a timeout, no connection: tried again later (with the
  Retry-After Meta gives, if any);
- 401 and error 190 (the access token expired or was revoked): tried again later, so replies
  wait until an operator sets a new token, with a warning in the log;
- any other refusal (a malformed message, an unknown recipient): dropped.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from bot.engine.channels.outbox import SENT, Outcome, Pending, SendResult, retry_after

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
WINDOW_CLOSED_ERROR = 131047
RATE_LIMIT_ERRORS = frozenset({4, 80007, 130429, 131048, 131056})
TOKEN_ERROR = 190


def _error_code(answer: requests.Response) -> int | None:
    try:
        body: Any = answer.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def graph_outcome(answer: requests.Response) -> SendResult:
    """What a Graph API answer means for the reply."""
    status = answer.status_code
    if 200 <= status < 300:
        return SENT
    code = _error_code(answer)
    kind = f"HTTP {status}" + (f", Meta error {code}" if code is not None else "")
    if code == WINDOW_CLOSED_ERROR:
        return SendResult(Outcome.DROP, f"{kind}: outside the 24-hour customer-service window")
    if status == 429 or code in RATE_LIMIT_ERRORS or status >= 500:
        return SendResult(Outcome.RETRY, kind, retry_after(answer.headers))
    if status == 401 or code == TOKEN_ERROR:
        logger.warning("WhatsApp refused the access token (%s): replies wait for a new one.", kind)
        return SendResult(Outcome.RETRY, kind)
    return SendResult(Outcome.DROP, kind)


class GraphClient:
    """Sends WhatsApp messages from one business phone number."""

    def __init__(
        self,
        api_url: str,
        phone_number_id: str,
        access_token: str,
        *,
        timeout: float = TIMEOUT_SECONDS,
        session: requests.Session | None = None,
    ) -> None:
        self.url = f"{api_url.rstrip('/')}/{phone_number_id}/messages"
        self.timeout = timeout
        self._token = access_token
        self._session = session or requests.Session()

    def send(self, pending: Pending) -> SendResult:
        """Sends one stored reply (its body is the Graph API's message object)."""
        try:
            answer = self._session.post(
                self.url,
                json=pending.body,
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            return SendResult(Outcome.RETRY, type(error).__name__)
        return graph_outcome(answer)

    def close(self) -> None:
        self._session.close()
