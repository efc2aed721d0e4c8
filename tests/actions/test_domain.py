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
            # Label tables (utter_labels_*) carry only a custom payload.
            text, default = variant.get("text", ""), dutch[0].get("text", "")
            assert _placeholders(text) == _placeholders(default), response
            assert set(variant.get("custom", {})) == set(dutch[0].get("custom", {})), response
            assert len(variant.get("buttons", [])) == len(dutch[0].get("buttons", [])), response


def test_recruiter_variants_speak_of_the_candidate(domain: dict[str, Any]) -> None:
    recruiter = {"type": "slot", "name": "recruiter", "value": True}
    for slot in domain["forms"][FORM]["required_slots"]:
        variants = domain["responses"][f"utter_ask_{slot}"]
        dutch = [v for v in variants if v.get("condition") == [{**EN, "value": "nl"}, recruiter]]
        english = [v for v in variants if v.get("condition") == [EN, recruiter]]
        assert "kandidaat" in dutch[0]["text"], slot
        assert "candidate" in english[0]["text"], slot


RECRUITER = {"type": "slot", "name": "recruiter", "value": True}
# Responses about the user's own situation besides the per-question ask/invalid/why ones.
ABOUT_THE_USER = (
    "utter_why_general",
    "utter_profile_summary",
    "utter_advice_summary",
    "utter_advice_no_route",
    "utter_advice_forward",
)


def _about_the_user(domain: dict[str, Any]) -> list[str]:
    """Every response with an ask/invalid/why role, and the summaries.

    Only the questions of other forms and the handoff's (contact details: about the one
    chatting) are left out.
    """
    other_forms = {
        slot
        for form, definition in domain["forms"].items()
        if form != FORM
        for slot in definition.get("required_slots", [])
    }
    with_role = [
        name
        for name in domain["responses"]
        if (match := re.match(r"utter_(ask|invalid|why)_(\w+)$", name))
        and match.group(2) not in other_forms
        and not match.group(2).startswith("handoff_")
    ]
    return [*with_role, *ABOUT_THE_USER]


def test_every_text_about_the_user_speaks_of_the_candidate_for_a_recruiter(
    domain: dict[str, Any],
) -> None:
    """Questions, re-asks, explanations and summaries: a recruiter variant per language."""
    names = _about_the_user(domain)
    for slot in domain["forms"][FORM]["required_slots"]:
        assert {f"utter_ask_{slot}", f"utter_invalid_{slot}", f"utter_why_{slot}"} <= set(names)
    for name in names:
        variants = domain["responses"][name]
        dutch = [v for v in variants if v.get("condition") == [{**EN, "value": "nl"}, RECRUITER]]
        english = [v for v in variants if v.get("condition") == [EN, RECRUITER]]
        assert len(dutch) == 1 and "kandidaat" in dutch[0]["text"], name
        assert len(english) == 1 and "candidate" in english[0]["text"], name
        # The plain English variant must say it is not for recruiters, or both would match.
        plain = [v for v in variants if v.get("condition") == [EN, {**RECRUITER, "value": False}]]
        assert len(plain) == 1 and "candidate" not in plain[0]["text"], name
        default = next(v for v in variants if "condition" not in v)
        assert "kandidaat" not in default["text"], name


def test_profile_labels_cover_every_value_in_both_languages(domain: dict[str, Any]) -> None:
    expected = {
        "education": profile.EDUCATION_LEVELS,
        "employer": profile.EMPLOYERS,
        "employer_sbb_recognised": profile.SBB_ANSWERS,
        "sector": profile.SECTORS,
        "goal": profile.GOALS,
        "benefit": profile.BENEFITS,
        "common": ("unknown", "none", "skipped"),
    }
    for field, values in expected.items():
        variants = domain["responses"][f"utter_labels_{field}"]
        for variant in variants:
            assert set(variant["custom"]) == set(values), field
        labels = [v["custom"] for v in variants]
        assert labels[0] != labels[-1] or field == "common", field  # really translated


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


def test_a_form_turn_costs_one_call_to_the_action_server(domain: dict[str, Any]) -> None:
    """Profile answers are read by validate_profile_form; a slot mapping with an action would
    make the engine call the action server once more on every message."""
    for slot in domain["forms"][FORM]["required_slots"]:
        assert [m.get("action") for m in domain["slots"][slot]["mappings"]] == [None], slot
    [extract] = [m for m in domain["slots"]["language"]["mappings"] if m.get("action")]
    assert extract["action"] == "action_extract_profile"
    # Messages that start or answer the intake go to the form, which reads them itself.
    starts_the_form = {"inform", "affirm", "deny", "request_advice", "skip_question"}
    assert starts_the_form <= set(extract["not_intent"])
