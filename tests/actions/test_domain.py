"""domain.yml against the code that uses it (Rasa's validator cannot see inside actions)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import yaml

import actions.dialogue
import actions.privacy
from actions.base import CatalogueAction
from actions.intake import NUMBER_LIMITS
from actions.turn import HANDOFF_STEPS, PROFILE_SLOTS
from bot.common.contact import PREFERENCES
from catalogue import profile
from catalogue.reader import load_directory

ROOT = Path(__file__).resolve().parents[2]
EN = {"type": "slot", "name": "language", "value": "en"}
RECRUITER = {"type": "slot", "name": "recruiter", "value": True}
# Responses named with the field asked: f"utter_ask_{field}" and the like in actions/.
PER_FIELD = ("ask", "example", "clarify", "why")


def responses_named_in_actions() -> set[str]:
    """Every literal response name the actions say: `response="utter_..."` and the first
    argument of say()/ask()."""
    names: set[str] = set()
    for path in (ROOT / "actions").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            value = None
            if isinstance(node, ast.keyword) and node.arg == "response":
                value = node.value
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("say", "ask")
                and node.args
            ):
                value = node.args[0]
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                names.add(value.value)
    return names


def test_responses_the_actions_say_exist(domain: dict[str, Any]) -> None:
    used = responses_named_in_actions()
    assert {"utter_advice_plan", "utter_greet", "utter_miss_offer"} <= used  # the scan works
    assert used <= set(domain["responses"])


def test_every_question_the_intake_asks_has_its_responses(domain: dict[str, Any]) -> None:
    """Ask, example (the re-ask), clarify (yes/no to a question with more answers), why."""
    fields = [q.field for q in load_directory().data.intake]
    for field in (*fields, "target"):
        for kind in PER_FIELD:
            assert f"utter_{kind}_{field}" in domain["responses"], (kind, field)
    for field in NUMBER_LIMITS:
        assert f"utter_invalid_{field}" in domain["responses"], field


def _placeholders(text: str) -> set[str]:
    # {name}, not the {{...}} of a button payload's JSON
    return set(re.findall(r"(?<!\{)\{(\w+)\}(?!\})", text))


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


def _about_the_user(domain: dict[str, Any]) -> list[str]:
    """The questions about the person and the texts that speak of their answers."""
    return [
        name
        for name in domain["responses"]
        if (match := re.match(r"utter_(ask|example|why)_(\w+)$", name))
        and match.group(2) in PROFILE_SLOTS
    ] + ["utter_offer_intake", "utter_intake_start", "utter_advice_forward", "utter_advice_plan"]


def test_every_text_about_the_person_speaks_of_the_candidate_for_a_recruiter(
    domain: dict[str, Any],
) -> None:
    names = _about_the_user(domain)
    assert len(names) > 30
    for name in names:
        variants = domain["responses"][name]
        dutch = [v for v in variants if v.get("condition") == [{**EN, "value": "nl"}, RECRUITER]]
        english = [v for v in variants if v.get("condition") == [EN, RECRUITER]]
        assert len(dutch) == 1 and re.search("kandidaat|u ", dutch[0]["text"]), name
        assert len(english) == 1 and re.search("candidate|you", english[0]["text"]), name
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
        "fields": PROFILE_SLOTS,
    }
    for field, values in expected.items():
        variants = domain["responses"][f"utter_labels_{field}"]
        for variant in variants:
            assert set(variant["custom"]) == set(values), field
        labels = [v["custom"] for v in variants]
        assert labels[0] != labels[-1], field  # really translated


def test_the_buttons_send_values_the_catalogue_takes(domain: dict[str, Any]) -> None:
    """Every '/inform{...}' button of a question gives a value the profile accepts."""
    catalogue = load_directory()
    checked = 0
    for name, variants in domain["responses"].items():
        for variant in variants:
            for button in variant.get("buttons", []):
                if not button["payload"].startswith("/inform{"):
                    continue
                # Rasa fills a response's braces: {{ in the domain is { in the payload sent.
                sent = button["payload"].replace("{{", "{").replace("}}", "}")
                values = json.loads(sent.removeprefix("/inform"))
                for field, value in values.items():
                    if field == "care_qualifications":
                        value = [] if value == "none" else [value]
                    if field == "contact_method":
                        continue  # the handoff's, not the profile's
                    if field in profile.PROFILE_FIELDS:
                        profile.parse_profile({field: value}, catalogue.qualification_ids)
                    else:
                        assert field == "target" and (
                            value == "unknown" or value in catalogue.qualification_ids
                        ), (name, value)
                    checked += 1
    assert checked > 50


def test_every_custom_action_is_in_the_domain(domain: dict[str, Any]) -> None:
    classes = [
        cls
        for module in (actions.dialogue, actions.privacy)
        for cls in vars(module).values()
        if isinstance(cls, type)
        and issubclass(cls, CatalogueAction)
        and not getattr(cls, "__abstractmethods__", None)
        and cls.__module__ == module.__name__
    ]
    names = {cls().name() for cls in classes}
    assert names == set(domain["actions"])


def test_every_intent_goes_to_the_dialogue(domain: dict[str, Any]) -> None:
    """One rule per intent: every message, whatever its intent, gets action_converse."""
    rules = yaml.safe_load((ROOT / "data" / "stories" / "conversation.yml").read_text())["rules"]
    routed = {
        rule["steps"][0]["intent"]
        for rule in rules
        if rule["steps"][0].get("intent") and rule["steps"][1] == {"action": "action_converse"}
    }
    assert routed == set(domain["intents"])


def test_no_slot_is_filled_by_the_engine(domain: dict[str, Any]) -> None:
    """The dialogue sets every slot; an engine-side mapping would race it."""
    for name, slot in domain["slots"].items():
        assert slot["mappings"] == [{"type": "custom"}], name
        assert slot["influence_conversation"] is False, name


def test_the_handoff_questions_exist(domain: dict[str, Any]) -> None:
    consent, preference, _contact = HANDOFF_STEPS
    names = {f"utter_ask_{consent}", f"utter_ask_{preference}"}
    names |= {f"utter_ask_handoff_{kind}" for kind in PREFERENCES}
    names |= {f"utter_invalid_handoff_{kind}" for kind in PREFERENCES}
    assert names <= set(domain["responses"])


# Responses that end a turn waiting for the person: a question, or a choice of buttons.
PROMPTS = re.compile(
    r"utter_(ask|example|clarify|invalid)_\w+|utter_(miss_offer|next_steps|offer_intake|"
    r"anything_else|stopped|no_problem|not_understood_general|offer_human|"
    r"action_unavailable)(_again)?$|utter_greet$"
)


def test_every_prompt_ends_with_a_question_or_a_choice(domain: dict[str, Any]) -> None:
    prompts = [name for name in domain["responses"] if PROMPTS.match(name)]
    assert len(prompts) > 50
    for name in prompts:
        for variant in domain["responses"][name]:
            text = variant.get("text", "").rstrip()
            assert text.endswith("?") or variant.get("buttons"), (name, text)
