"""The engine's calls to the action server: kept connections, and the domain sent by digest.

Engine side (.venv-rasa). Rasa 3.6's `RemoteAction.run` opens a new HTTP session, and so a new
connection, for every action call, and sends the whole domain (about 126 kB of JSON) with
each; encoding, sending and reading it cost the engine and the action server more than the
action itself. `install()` replaces that method with the same call, made cheaper:

- One aiohttp session per event loop and action endpoint, its connections kept alive. The
  engine drops an idle connection after `KEEP_ALIVE_SECONDS`, before the action server (Sanic
  keeps one 5 s) would, so a request never goes out on a connection the server is closing.
- The domain by digest, rasa-sdk's own protocol (rasa_sdk/executor.py,
  `update_and_return_domain`): a call carries `domain_digest`, the SHA-256 of the domain's
  JSON, and no domain. An action server that does not hold that domain answers 449 without
  running the action; the call is then sent once more with the domain, which that server
  keeps. So each action server (or worker) receives the domain once per model.

The rest is Rasa's: the body (the tracker at `EventVerbosity.ALL`), the check of the answer
(bot/engine/action_validation.py), the responses uttered through the NLG, the events; an answer 400
is
the action rejecting (`ActionExecutionRejection`); any other failure is a `RasaException`, which
bot/engine/engine_faults.py turns into `utter_action_unavailable` within its timeout. Rasa's plugin
hooks for prefixed action names (Rasa Pro only) are not called.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import ssl
import weakref
from typing import Any

logger = logging.getLogger(__name__)

_MARK = "_zijwijzer_action_client"
# Below Sanic's default keep-alive (5 s): the engine, not the server, ends an idle connection.
KEEP_ALIVE_SECONDS = 3.0
# rasa-sdk's answer when it lacks the domain the digest names (rasa_sdk/endpoint.py).
DOMAIN_MISSING_STATUS = 449
DIGEST_KEY, DOMAIN_KEY = "domain_digest", "domain"

# The sessions of each running event loop (Sanic runs one; tests may run several in turn).
_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]] = (
    weakref.WeakKeyDictionary()
)
# The JSON and digest of each domain dict (`Domain.as_dict()` returns the same dict for the
# life of a domain); kept with the dict, so its identity cannot be reused while cached.
_digests: dict[int, tuple[dict[str, Any], str, str]] = {}


def domain_digest(domain: dict[str, Any]) -> tuple[str, str]:
    """The domain's JSON and its SHA-256 (hex), worked out once per domain dict."""
    hit = _digests.get(id(domain))
    if hit is not None and hit[0] is domain:
        return hit[1], hit[2]
    text = json.dumps(domain, sort_keys=True)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if len(_digests) >= 2:  # a running engine has one domain; a model swap brings a second
        _digests.clear()
    _digests[id(domain)] = (domain, text, digest)
    return text, digest


def _session(endpoint: Any) -> Any:
    """The kept session for this event loop and endpoint URL (made on first use); headers
    go with each request, not with the session."""
    import aiohttp

    loop = asyncio.get_running_loop()
    sessions = _sessions.setdefault(loop, {})
    session = sessions.get(endpoint.url)
    if session is None or session.closed:
        auth = None
        if endpoint.basic_auth:
            auth = aiohttp.BasicAuth(
                endpoint.basic_auth["username"], endpoint.basic_auth["password"]
            )
        # True: aiohttp's default verification (3.9 in .venv-rasa takes no None).
        ssl_context: ssl.SSLContext | bool = True
        if endpoint.cafile:
            ssl_context = ssl.create_default_context(cafile=endpoint.cafile)
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEP_ALIVE_SECONDS, ssl=ssl_context),
            auth=auth,
        )
        sessions[endpoint.url] = session
    return session


async def post(endpoint: Any, body: dict[str, Any], seconds: float) -> tuple[int, bytes]:
    """POSTs `body` (JSON) to the endpoint's URL; the status and the raw answer."""
    import aiohttp

    params = dict(endpoint.params)
    if endpoint.token:
        params[endpoint.token_name] = endpoint.token
    async with _session(endpoint).post(
        endpoint.url,
        data=body_text(body),
        # The endpoint's headers with each request: they may differ per call (a deadline).
        headers={**(endpoint.headers or {}), "Content-Type": "application/json"},
        params=params,
        timeout=aiohttp.ClientTimeout(total=seconds),
    ) as response:
        return response.status, await response.read()


def body_text(body: dict[str, Any]) -> str:
    """`json.dumps(body)`, with a domain dict's JSON taken from the digest cache."""
    domain = body.get(DOMAIN_KEY)
    if not isinstance(domain, dict):
        return json.dumps(body)
    rest = json.dumps({key: value for key, value in body.items() if key != DOMAIN_KEY})
    text, _ = domain_digest(domain)
    separator = ", " if rest != "{}" else ""
    return f"{rest[:-1]}{separator}{json.dumps(DOMAIN_KEY)}: {text}}}"


def call_body(action: Any, tracker: Any, domain: Any, *, with_domain: bool) -> dict[str, Any]:
    """Rasa's body of an action call, with the domain's digest, and the domain itself only
    when asked for (or when the endpoint turned selective domains on and the action needs it)."""
    body: dict[str, Any] = action._action_call_format(tracker, domain)
    domain_dict = domain.as_dict()
    _, digest = domain_digest(domain_dict)
    body[DIGEST_KEY] = digest
    if with_domain:
        body[DOMAIN_KEY] = domain_dict
    elif not action._is_selective_domain_enabled():
        body.pop(DOMAIN_KEY, None)
    return body


async def run(action: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> Any:
    """`RemoteAction.run`: one call, or two when the action server first needs the domain."""
    import aiohttp
    from rasa.core.actions import action as rasa_actions
    from rasa.shared.core import events
    from rasa.shared.exceptions import RasaException

    endpoint = action.action_endpoint
    if endpoint is None:
        raise RasaException(
            f"Failed to execute custom action '{action.name()}': no action endpoint configured."
        )
    timeout = rasa_actions.DEFAULT_REQUEST_TIMEOUT
    try:
        body = call_body(action, tracker, domain, with_domain=False)
        status, raw = await post(endpoint, body, timeout)
        if status == DOMAIN_MISSING_STATUS and DOMAIN_KEY not in body:
            logger.debug("action server lacks the domain: sent once more with it")
            body = call_body(action, tracker, domain, with_domain=True)
            status, raw = await post(endpoint, body, timeout)
        answer = json.loads(raw) if raw else None
    except (aiohttp.ClientError, OSError, ValueError) as error:
        # The class only: a connection error's text holds the URL.
        raise RasaException(
            f"Failed to execute custom action '{action.name()}' ({type(error).__name__})."
        ) from error
    if status == 400 and isinstance(answer, dict):
        rejection = rasa_actions.ActionExecutionRejection(
            answer.get("action_name", action.name()), answer.get("error")
        )
        logger.error(rejection.message)
        raise rejection
    if status >= 300:
        raise RasaException(
            f"Failed to execute custom action '{action.name()}': the action server "
            f"answered {status}."
        )
    if not isinstance(answer, dict):
        raise RasaException(
            f"Failed to execute custom action '{action.name()}': no answer from the action server."
        )
    response: dict[str, Any] = answer
    try:
        action._validate_action_result(response)
    except Exception as error:  # jsonschema's ValidationError: an answer not in Rasa's format
        raise RasaException(
            f"Failed to execute custom action '{action.name()}': {error}"
        ) from error
    bot_messages = await action._utter_responses(
        response.get("responses", []), output_channel, nlg, tracker
    )
    return [*bot_messages, *events.deserialise_events(response.get("events", []))]


async def close_sessions() -> None:
    """Closes this event loop's kept sessions (engine shutdown, tests)."""
    for session in _sessions.pop(asyncio.get_running_loop(), {}).values():
        await session.close()


def install() -> bool:
    """Replaces `RemoteAction.run`, and closes the kept sessions when the engine stops; True
    when done now, False if already. Before bot/engine/engine_faults.py wraps it with its
    timeout."""
    from rasa.core import run as rasa_run
    from rasa.core.actions.action import RemoteAction

    if getattr(RemoteAction, _MARK, False):  # on the class: engine_faults wraps `run` after
        return False
    close_resources = rasa_run.close_resources

    async def close_resources_and_sessions(app: Any, loop: Any) -> None:
        await close_sessions()
        await close_resources(app, loop)

    # Looked up by name when the server starts (rasa/core/run.py `serve_application`).
    rasa_run.close_resources = close_resources_and_sessions

    async def remote_run(
        self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any
    ) -> Any:
        return await run(self, output_channel, nlg, tracker, domain)

    RemoteAction.run = remote_run
    setattr(RemoteAction, _MARK, True)
    logger.debug("action calls: kept connections, the domain by digest")
    return True
