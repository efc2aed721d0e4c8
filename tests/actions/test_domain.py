"""domain.yml against the code that uses it (Rasa's validator cannot see inside actions)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from catalogue import profile

ROOT = Path(__file__).resolve().parents[2]
FORM = "profile_form"


def responses_named_in_actions() -> set[str]:
    """Every literal `response="utter_..."` passed in actions/*.py."""
    names: set[str] = set()
    for path in (ROOT / "actions").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.keyword)
                and node.arg == "response"
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                names.add(node.value.value)
    return names


def test_responses_used_by_actions_exist(domain: dict[str, Any]) -> None:
    used = responses_named_in_actions()
    assert "utter_advice_summary" in used  # the scan finds them
    assert used <= set(domain["responses"])


def test_every_form_slot_has_a_question_and_a_reask(domain: dict[str, Any]) -> None:
    for slot in domain["forms"][FORM]["required_slots"]:
        assert f"utter_ask_{slot}" in domain["responses"]
        assert f"utter_invalid_{slot}" in domain["responses"]


def _placeholders(text: str) -> set[str]:
    # {name}, not the {{...}} of a button payload's JSON
    return set(re.findall(r"(?<!\{)\{(\w+)\}(?!\})", text))


def test_every_response_is_dutch_by_default_with_an_english_variant(
    domain: dict[str, Any],
) -> None:
    for response, variants in domain["responses"].items():
        dutch = [v for v in variants if "condition" not in v]
        english = [
            v
            for v in variants
            if v.get("condition") == [{"type": "slot", "name": "language", "value": "en"}]
        ]
        assert len(dutch) == 1 and len(english) == 1, response
        assert _placeholders(dutch[0]["text"]) == _placeholders(english[0]["text"]), response
        assert len(dutch[0].get("buttons", [])) == len(english[0].get("buttons", [])), response


def test_answer_limits_agree_with_the_catalogue(domain: dict[str, Any]) -> None:
    """What the form accepts is what the catalogue's profile accepts."""
    slots = domain["slots"]
    assert (slots["age"]["min_value"], slots["age"]["max_value"]) == (
        profile.MIN_AGE,
        profile.MAX_AGE,
    )
    assert (slots["hours_per_week"]["min_value"], slots["hours_per_week"]["max_value"]) == (
        0,
        profile.MAX_HOURS,
    )
    assert tuple(slots["sector"]["values"]) == profile.SECTORS
    assert tuple(slots["language"]["values"]) == profile.LANGUAGES
