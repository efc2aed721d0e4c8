"""Responses of domain.yml rendered here, as the engine would render them.

The engine renders a response with the slots as they were before the action ran: a turn that
switches the language ("Hi, I only speak a little Dutch. What is a learning unit?") or the
role (a recruiter) would get its own answer in the old language. Such a turn renders its
responses here, with the slots as the turn leaves them: the variant whose conditions hold,
placeholders filled the way Rasa fills them (rasa.core.nlg.interpolator).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any, Final

from rasa_sdk.types import DomainDict

from actions.base import response_variant

_PLACEHOLDER: Final = re.compile(r"{([^\n{}]+?)}")
# The parts of a response Rasa fills in.
FILLED_KEYS: Final = ("text", "buttons", "custom")


def _fill_text(text: str, values: Mapping[str, Any]) -> str:
    try:
        filled = _PLACEHOLDER.sub(r"{0[\1]}", text).format(values)
    except (KeyError, IndexError, ValueError):
        return text
    if "0[" in filled:  # a placeholder in double braces: Rasa keeps it, braces unescaped
        return text.format({})
    return filled


def _fill(part: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(part, str):
        return _fill_text(part, values)
    if isinstance(part, dict):
        return {key: _fill(value, values) for key, value in part.items()}
    if isinstance(part, list):
        return [_fill(item, values) for item in part]
    return part


def render(
    domain: DomainDict, name: str, slots: Mapping[str, Any], values: Mapping[str, Any]
) -> dict[str, Any]:
    """The message `name` becomes for these slots: text, buttons, custom (what is there)."""
    variant = copy.deepcopy(response_variant(domain, name, dict(slots)))
    filling = {**slots, **values}
    return {key: _fill(variant[key], filling) for key in FILLED_KEYS if key in variant}
