"""A cheaper check of the action server's answers in the engine (Rasa 3.6).

Engine side (.venv-rasa). Rasa 3.6 checks every answer of the action server with
`jsonschema.validate(result, schema)`, which first checks Rasa's own, unchanging schema against
the metaschema and builds a new validator: about 10 ms of the engine's CPU per action call
(13 ms against 3 ms for a validator built once, measured in .venv-rasa with jsonschema 3.2.0;
docs/performance.md). `install()` swaps in the same check with a validator built once: the same
schema, the same validator class `validate` would pick, the same best-matching
`ValidationError` with Rasa's explanation appended. Installed by the tracker store, which every
engine of ours loads (endpoints.yml), before the first message.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

_MARK = "_zijwijzer_prebuilt_validator"


def install() -> bool:
    """Replaces `RemoteAction._validate_action_result`; True when done now, False if already."""
    from jsonschema import exceptions, validators
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if getattr(RemoteAction._validate_action_result, _MARK, False):
        return False
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)  # once, instead of on every call
    validator = validator_class(schema)

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        error = exceptions.best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error

    setattr(_validate_action_result, _MARK, True)
    RemoteAction._validate_action_result = _validate_action_result
    logger.debug("action server answers: checked with a prebuilt %s", validator_class.__name__)
    return True
