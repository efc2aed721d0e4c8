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


EN = {"type": "slot", "name": "language", "value": "en"}


def test_every_response_is_dutch_by_default_with_an_english_variant(
    domain: dict[str, Any],
) -> None:
    """One Dutch default; English variants for every condition; variants never overlap."""
    for response, variants in domain["responses"].items():
        dutch = [v for v in variants if "condition" not in v]
        english = [v for v in variants if EN in v.get("condition", [])]
        assert len(dutch) == 1 and english, response
        conditions = [
            tuple(sorted((c["name"], str(c["value"])) for c in v["condition"]))
            for v in variants
            if "condition" in v
        ]
        assert len(conditions) == len(set(conditions)), response
        for variant in variants:
            assert _placeholders(variant["text"]) == _placeholders(dutch[0]["text"]), response
            assert len(variant.get("buttons", [])) == len(dutch[0].get("buttons", [])), response


def test_recruiter_variants_speak_of_the_candidate(domain: dict[str, Any]) -> None:
    recruiter = {"type": "slot", "name": "recruiter", "value": True}
    for slot in domain["forms"][FORM]["required_slots"]:
        variants = domain["responses"][f"utter_ask_{slot}"]
        dutch = [v for v in variants if v.get("condition") == [{**EN, "value": "nl"}, recruiter]]
        english = [v for v in variants if v.get("condition") == [EN, recruiter]]
        assert "kandidaat" in dutch[0]["text"], slot
        assert "candidate" in english[0]["text"], slot


def test_every_custom_action_is_in_the_domain(domain: dict[str, Any]) -> None:
    import actions.advice
    import actions.handoff
    import actions.intake
    import actions.questions
    import actions.session
    from actions.base import CatalogueAction, SlotValidation

    classes = [
        cls
        for module in (
            actions.advice,
            actions.handoff,
            actions.intake,
            actions.questions,
            actions.session,
        )
        for cls in vars(module).values()
        if isinstance(cls, type)
        and issubclass(cls, CatalogueAction | SlotValidation)
        and not getattr(cls, "__abstractmethods__", None)
        and cls.__module__ == module.__name__
    ]
    names = {cls().name() for cls in classes}
    assert names == set(domain["actions"])


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
