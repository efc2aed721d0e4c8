"""The plan: at most five steps for one person, agreeing with the advice, every sentence from
plan.yaml, dates in words, hard words explained."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest

from catalogue.advice import advise
from catalogue.compiled import Catalogue
from catalogue.errors import CatalogueInvalid, ProfileError
from catalogue.plan import MAX_STEPS, Plan, make_plan
from tests.catalogue.conftest import CatalogueFiles, recording_paused
from tests.catalogue.replay.corpus import corpus_profiles
from tests.catalogue.samples import AT_RECOGNISED_EMPLOYER, ISSUE_PROFILE

TODAY = dt.date(2026, 12, 7)
# Hard words the issue names; each must be explained wherever a plan uses it.
HARD_WORDS = {
    "ADL": "term:adl",
    "Algemene Dagelijkse Levensverrichtingen": "term:adl",
    "crebo": "term:crebo",
    "NLQF": "term:nlqf",
    "levenlanglerenkrediet": "term:levenlanglerenkrediet",
    "BBL": "route:bbl",
    "derde leerweg": "route:derde_leerweg",
    "SBB": "term:sbb_leerbedrijf",
}


def plan_for(catalogue: Catalogue, **changes: Any) -> Plan:
    return make_plan(catalogue, {**ISSUE_PROFILE, **changes}, today=TODAY)


def texts(plan: Plan) -> list[str]:
    """Every sentence of the plan a person may read."""
    out = []
    for step in plan.steps:
        out += [step.title.nl, step.title.en, step.text.nl, step.text.en]
    for note in (*plan.alternatives, *plan.why, *plan.not_possible, *plan.notices, *plan.facts):
        out += [note.text.nl, note.text.en]
        if note.title is not None:
            out += [note.title.nl, note.title.en]
    out += [plan.contact.name.nl, plan.contact.name.en]
    return out


@pytest.fixture(scope="module")
def corpus_plans(real_catalogue: Catalogue) -> list[tuple[dict[str, Any], Plan]]:
    with recording_paused():
        return [(p, make_plan(real_catalogue, p, today=TODAY)) for p in corpus_profiles()]


# ---- the issue's example ----------------------------------------------------------------------


def test_the_38_year_old_gets_a_target_a_first_step_with_a_contact_units_time_and_who_pays(
    real_catalogue: Catalogue,
) -> None:
    plan = plan_for(real_catalogue)
    kinds = [s.kind for s in plan.steps]
    assert kinds[:4] == ["target", "first_step", "learn", "cost"]
    assert len(plan.steps) <= MAX_STEPS
    assert plan.target.qualification == "vig_3" and plan.target.proposed
    assert "voorstel" in plan.steps[0].text.nl
    assert plan.contact.id == "care_employer"
    assert "Utrecht" in plan.contact.name.nl
    assert plan.route == "derde_leerweg"
    learn = plan.steps[2]
    assert {r.id for r in learn.refs if r.kind == "unit"} == {plan.units[0]}
    assert "maanden" in learn.text.nl  # when one can work
    cost = plan.steps[3]
    assert "betaalt" in cost.text.nl and "€" in cost.text.nl  # what it costs and who pays
    # Nothing of the Flevoland pilot for someone from Utrecht.
    assert not any("Flevoland" in t or "Oriëntatietraject" in t for t in texts(plan))


# ---- the plan and the advice never disagree ---------------------------------------------------


def test_the_plan_names_the_advice_summary_across_the_corpus(
    real_catalogue: Catalogue, corpus_plans: list[tuple[dict[str, Any], Plan]]
) -> None:
    assert len(corpus_plans) >= 300
    for profile, plan in corpus_plans:
        with recording_paused():
            summary = advise(real_catalogue, profile)["summary"]
        assert plan.route == (summary["routes"][0] if summary["routes"] else None), profile
        assert list(plan.units) == summary["units"], profile
        assert list(plan.funding) == summary["funding"], profile


def test_every_plan_has_at_most_five_numbered_steps_and_the_four_that_matter(
    corpus_plans: list[tuple[dict[str, Any], Plan]],
) -> None:
    for profile, plan in corpus_plans:
        assert 4 <= len(plan.steps) <= MAX_STEPS, profile
        assert [s.number for s in plan.steps] == list(range(1, len(plan.steps) + 1))
        assert [s.kind for s in plan.steps][:4] == ["target", "first_step", "learn", "cost"]
        for step in plan.steps:
            assert step.title.nl and step.title.en and step.text.nl and step.text.en
            assert "{" not in step.text.nl + step.text.en  # every placeholder filled in
            if step.refs:  # a step that names something says where its facts come from
                assert step.sources, (profile, step.variant)


def test_no_route_is_named_when_none_fits_and_the_first_step_says_what_to_do(
    real_catalogue: Catalogue,
) -> None:
    plan = plan_for(real_catalogue, goal="diploma", employer="care", employer_sbb_recognised="no")
    assert plan.route is None
    assert plan.steps[2].variant == "no_route"
    assert plan.contact.id == "own_employer" and "SBB" in plan.steps[1].text.nl
    recognised = plan_for(real_catalogue, goal="diploma", **AT_RECOGNISED_EMPLOYER)
    assert recognised.route == "bbl" and recognised.steps[2].variant.startswith("bbl")


# ---- the target -------------------------------------------------------------------------------


def test_a_chosen_target_is_not_a_proposal_and_a_replaced_one_is_followed(
    real_catalogue: Catalogue,
) -> None:
    chosen = plan_for(real_catalogue, target="mbo_vp_4")
    assert chosen.target.qualification == "mbo_vp_4" and not chosen.target.proposed
    assert "voorstel" not in chosen.steps[0].text.nl
    replaced = plan_for(real_catalogue, target="pb_ghz_4", sector="ghz")
    assert replaced.target.qualification == "pb_mz_4"
    assert replaced.target.replaces == "pb_ghz_4"
    assert any("vervangen" in n.text.nl for n in replaced.why)


@pytest.mark.parametrize(
    ("changes", "proposed"),
    [
        ({"sector": "ghz"}, "pb_mz_4"),
        ({"goal": "hbo"}, "hbo_v_6"),
        ({"care_qualifications": ["vig_3"], "care_experience_years": 3}, "mbo_vp_4"),
        ({"education": {"level": "none"}}, "helpende_zw_2"),
        ({"education": {"level": "vmbo"}}, "vig_3"),
        ({}, "vig_3"),
    ],
)
def test_an_unknown_target_is_proposed_from_goal_sector_and_diplomas(
    real_catalogue: Catalogue, changes: dict[str, Any], proposed: str
) -> None:
    plan = plan_for(real_catalogue, **changes)
    assert plan.target.qualification == proposed and plan.target.proposed
    assert plan.why[0].kind == "target"  # the proposal says why


def test_a_helpende_who_wants_vig_is_told_the_vig_units_are_her_step(
    real_catalogue: Catalogue,
) -> None:
    plan = plan_for(
        real_catalogue,
        care_qualifications=["helpende_zw_2"],
        care_experience_years=4,
        goal="diploma",
        target="vig_3",
        **AT_RECOGNISED_EMPLOYER,
    )
    assert set(plan.units) == {"basis_deskundige_zorg", "regievoering_vakontwikkeling"}
    learn = plan.steps[2]
    assert "Basis voor deskundige zorg" in learn.text.nl
    assert "Verzorgende-IG" in learn.text.nl


# ---- words: dates, hard words, nothing internal -----------------------------------------------


def test_dates_are_words_and_follow_the_unit_duration(real_catalogue: Catalogue) -> None:
    plan = plan_for(real_catalogue, region="Almere", **AT_RECOGNISED_EMPLOYER)
    learn = plan.steps[2]
    assert learn.variant == "unit_with_weeks"
    # ADL: 10 weeks from 7 December 2026.
    assert "15 februari 2027" in learn.text.nl
    assert "15 February 2027" in learn.text.en


def test_no_plan_text_holds_an_iso_date_a_version_or_an_internal_note(
    real_catalogue: Catalogue, corpus_plans: list[tuple[dict[str, Any], Plan]]
) -> None:
    data = real_catalogue.data
    notes = [
        n
        for n in (
            *(u.note for u in data.units),
            *(q.note for q in data.qualifications),
            *(f.note for f in data.funding),
            *(u.duration.note for u in data.units if u.duration is not None),
        )
        if n
    ]
    for _, plan in corpus_plans:
        for text in texts(plan):
            assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", text), text
            assert real_catalogue.version not in text
            assert not any(note in text for note in notes), text


def test_every_hard_word_a_plan_uses_is_explained(
    corpus_plans: list[tuple[dict[str, Any], Plan]],
) -> None:
    seen = set()
    for _, plan in corpus_plans:
        explained = {term.ref for term in plan.glossary}
        for text in texts(plan):
            for word, ref in HARD_WORDS.items():
                if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE):
                    seen.add(word)
                    assert ref in explained, (word, text)
        # The explanations' own hard words are explained as well.
        for term in plan.glossary:
            for word, ref in HARD_WORDS.items():
                if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", term.text.nl, re.IGNORECASE):
                    assert ref in explained, (word, term.ref)
        # Each step lists the words it uses for the first time: never one twice.
        firsts = [t for step in plan.steps for t in step.terms]
        assert len(firsts) == len(set(firsts))
    assert {"BBL", "derde leerweg", "SBB"} <= seen


def test_the_plan_is_json_and_deterministic(real_catalogue: Catalogue) -> None:
    first = json.dumps(plan_for(real_catalogue).as_dict(), sort_keys=True)
    assert first == json.dumps(plan_for(real_catalogue).as_dict(), sort_keys=True)


def test_a_profile_that_makes_no_sense_is_refused(real_catalogue: Catalogue) -> None:
    with pytest.raises(ProfileError):
        make_plan(real_catalogue, {"age": 7})


# ---- plan.yaml is checked like the other files ------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"Jouw doel: {target}"', '"Jouw doel: {tagret}"', "unknown placeholder {tagret}"),
        ("contact: uwv\n", "contact: uvw\n", "contact 'uvw' is not in contacts"),
        (
            "when: \"benefit == 'ww'\"\n      contact: uwv",
            "when: \"benefit == 'ww '\"\n      contact: uwv",
            "benefit is never 'ww '",
        ),
        ("    target: hbo_v_6\n", "    target: hbo_v_7\n", "target 'hbo_v_7' is not in"),
        ('ref: "term:nlqf"', 'ref: "term:nlq"', "no term has id 'nlq'"),
    ],
)
def test_a_broken_plan_template_is_a_load_error(
    files: CatalogueFiles, old: str, new: str, message: str
) -> None:
    content = files.read("plan.yaml")
    assert old in content, old
    files.write("plan.yaml", content.replace(old, new, 1))
    with pytest.raises(CatalogueInvalid) as caught:
        files.load()
    report = caught.value.report()
    assert "plan.yaml" in report and message in report, report


def test_the_last_variant_of_a_step_must_be_for_everyone(files: CatalogueFiles) -> None:
    content = files.read("plan.yaml")
    old = '    - id: ask\n      when: "true"'
    assert old in content
    files.write("plan.yaml", content.replace(old, '    - id: ask\n      when: "age > 30"'))
    with pytest.raises(CatalogueInvalid) as caught:
        files.load()
    assert "steps.cost 'ask'" in caught.value.report()
