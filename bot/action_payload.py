"""The domain in each action call's body, encoded to JSON once instead of on every call.

Engine side (.venv-rasa). Every call to the action server carries the whole domain (about
67 kB of JSON; rasa-sdk 3.21 answers 449 without it and Rasa 3.6 does not send it again) next
to the tracker, and aiohttp encodes the body with `json.dumps` on each call: encoding the body
was about two thirds of the engine's time in `EndpointConfig.request` (py-spy,
docs/performance.md), and the domain part never changes.

`Domain.as_dict()` returns the same dict for the life of a domain, so `install()` gives Rasa's
HTTP client sessions a JSON encoder that encodes a body's "domain" value once per dict object
(kept with the dict, so its identity cannot be reused while cached) and splices it into the
rest of the body, encoded as before. The text differs from `json.dumps(body)` only in the
place of the "domain" key, which JSON does not give a meaning. Any other body, and a body whose
"domain" is not a dict, is encoded by `json.dumps` as it was. Installed by the tracker store,
which every engine of ours loads, as bot/action_validation.py is.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from typing import Any

logger = logging.getLogger(__name__)

_MARK = "_zijwijzer_domain_encoded_once"
DOMAIN_KEY = "domain"
# A running engine has one domain; a model swap brings a second one.
CACHE_ENTRIES = 2

_encoded: OrderedDict[int, tuple[dict[str, Any], str]] = OrderedDict()


def _encoded_domain(domain: dict[str, Any]) -> str:
    hit = _encoded.get(id(domain))
    if hit is not None and hit[0] is domain:
        return hit[1]
    text = json.dumps(domain)
    _encoded[id(domain)] = (domain, text)
    while len(_encoded) > CACHE_ENTRIES:
        _encoded.popitem(last=False)
    return text


def dumps(body: Any) -> str:
    """`json.dumps(body)`, with a dict body's "domain" dict encoded once per dict."""
    if not isinstance(body, dict) or not isinstance(body.get(DOMAIN_KEY), dict):
        return json.dumps(body)
    rest = json.dumps({key: value for key, value in body.items() if key != DOMAIN_KEY})
    domain = _encoded_domain(body[DOMAIN_KEY])
    separator = ", " if rest != "{}" else ""
    return f"{rest[:-1]}{separator}{json.dumps(DOMAIN_KEY)}: {domain}}}"


def install() -> bool:
    """Gives `EndpointConfig.session` our encoder; True when done now, False if already."""
    import aiohttp
    from rasa.utils import endpoints as rasa_endpoints
    from rasa.utils.endpoints import EndpointConfig

    if getattr(EndpointConfig.session, _MARK, False):
        return False

    # Rasa's own `session`, plus the encoder.
    def session(self: Any) -> aiohttp.ClientSession:
        auth = None
        if self.basic_auth:
            auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
        return aiohttp.ClientSession(
            headers=self.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=rasa_endpoints.DEFAULT_REQUEST_TIMEOUT),
            json_serialize=dumps,
        )

    setattr(session, _MARK, True)
    EndpointConfig.session = session
    logger.debug("action calls: the domain is encoded once")
    return True
