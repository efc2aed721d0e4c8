"""Invariants of the advice engine over generated profiles (hypothesis).

Profiles are drawn from every allowed value, with any field left out, so that the engine is
exercised on half-finished intakes as much as on complete ones.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalogue.advice import advise
from catalogue.compiled import Catalogue
from catalogue.errors import ProfileError
from catalogue.plan import make_plan
from catalogue.profile import (
    BENEFITS,
    EDUCATION_LEVELS,
    EMPLOYERS,
    GOALS,
    LANGUAGES,
    MAX_AGE,
    MIN_AGE,
    SBB_ANSWERS,
    SECTORS,
    TARGET_UNKNOWN,
)
from catalogue.reader import load_directory
from catalogue.replay import REPLAY_TODAY

CATALOGUE = load_directory()
QUALIFICATIONS = sorted(CATALOGUE.qualification_ids)
PLACES = [*sorted(CATALOGUE.data.regions)[:40], "Onbekendstad", "almere", "  Utrecht "]

FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "age": st.integers(MIN_AGE, MAX_AGE),
    "education": st.fixed_dictionaries(
        {"level": st.sampled_from(EDUCATION_LEVELS)},
        optional={"field": st.text(max_size=40)},
    ),
    "care_qualifications": st.lists(st.sampled_from(QUALIFICATIONS), max_size=3),
    "care_experience_years": st.integers(0, 4) | st.floats(0, 4, allow_nan=False),
    "employer": st.sampled_from(EMPLOYERS),
    "employer_sbb_recognised": st.sampled_from(SBB_ANSWERS),
    "hours_per_week": st.integers(0, 60),
    "sector": st.sampled_from(SECTORS),
    "goal": st.sampled_from(GOALS),
    "target": st.sampled_from([*QUALIFICATIONS, TARGET_UNKNOWN]),
    "benefit": st.sampled_from(BENEFITS),
    "region": st.sampled_from(PLACES),
    "language": st.sampled_from(LANGUAGES),
}
profiles = st.fixed_dictionaries({}, optional=FIELDS)
complete_profiles = st.fixed_dictionaries(FIELDS)
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ENDED = {
    (kind, entry.id)
    for kind, entries in (
        ("unit", CATALOGUE.data.units),
        ("route", CATALOGUE.data.routes),
        ("funding", CATALOGUE.data.funding),
    )
    for entry in entries
    if entry.status == "ended"
}


def items(advice: dict[str, Any]) -> list[dict[str, Any]]:
    return [*advice["units"], *advice["routes"], *advice["funding"]]


@SETTINGS
@given(profiles)
def test_no_single_unit_under_23(profile: dict[str, Any]) -> None:
    advice = advise(CATALOGUE, profile)
    if profile.get("age") is not None and profile["age"] < 23:
        assert all(unit["fit"] == "not_possible" for unit in advice["units"])
        assert advice["summary"]["units"] == []
        if profile.get("goal") not in (None, "diploma"):
            route = next(r for r in advice["routes"] if r["id"] == "derde_leerweg")
            assert route["fit"] == "not_possible"
    if "age" not in profile:
        # Nobody is recommended a single unit before we know they are old enough.
        assert all(unit["fit"] != "recommended" for unit in advice["units"])


@SETTINGS
@given(profiles)
def test_no_ended_scheme_is_offered(profile: dict[str, Any]) -> None:
    advice = advise(CATALOGUE, profile)
    assert ENDED, "the catalogue keeps ended schemes (STAP, EVC subsidy) as data"
    for entry in items(advice):
        if (entry["kind"], entry["id"]) in ENDED:
            assert entry["fit"] == "not_possible"
            assert entry["id"] not in advice["summary"]["funding"]


@SETTINGS
@given(profiles)
def test_every_item_is_explained_and_sourced(profile: dict[str, Any]) -> None:
    advice = advise(CATALOGUE, profile)
    for entry in items(advice):
        assert entry["id"] and entry["title"]
        assert entry["fit"] in {"recommended", "possible", "not_possible"}
        assert entry["reasons"], entry["id"]
        for reason in entry["reasons"]:
            assert reason["nl"].strip() and reason["en"].strip()
            assert all(source in CATALOGUE.sources for source in reason["sources"])
        assert entry["sources"], entry["id"]
        for source in entry["sources"]:
            assert source["checked"] and source["status"]
            assert source["file"] or source["url"]
    for entry in advice["funding"]:
        assert entry["applicant"] in {"person", "employer", "unknown"}
        assert entry["status"] in {"verified", "unverified", "ended", "contested"}
    for warning in advice["warnings"]:
        assert warning["nl"] and warning["en"] and warning["sources"] and warning["date"]


@SETTINGS
@given(profiles)
def test_nothing_uncertain_is_recommended(profile: dict[str, Any]) -> None:
    advice = advise(CATALOGUE, profile)
    for entry in items(advice):
        if entry["fit"] == "recommended":
            assert entry["certain"], f"{entry['id']} is {entry['status']} but recommended"


@SETTINGS
@given(profiles)
def test_advice_is_deterministic_and_serialisable(profile: dict[str, Any]) -> None:
    first = json.dumps(advise(CATALOGUE, profile), sort_keys=True)
    second = json.dumps(advise(CATALOGUE, json.loads(json.dumps(profile))), sort_keys=True)
    assert first == second


@SETTINGS
@given(profiles)
def test_summary_names_only_items_that_can_be_done(profile: dict[str, Any]) -> None:
    advice = advise(CATALOGUE, profile)
    fits = {(e["kind"], e["id"]): e["fit"] for e in items(advice)}
    for kind, section in (("route", "routes"), ("unit", "units"), ("funding", "funding")):
        for item_id in advice["summary"][section]:
            assert fits[(kind, item_id)] != "not_possible"
    route_fit = {r["id"]: r["fit"] for r in advice["routes"]}
    for entry in [*advice["units"], *advice["funding"]]:
        if entry["fit"] != "not_possible" and entry["routes"]:
            assert any(route_fit[r] != "not_possible" for r in entry["routes"])


@SETTINGS
@given(complete_profiles)
def test_a_complete_profile_leaves_no_open_questions(profile: dict[str, Any]) -> None:
    if profile["care_experience_years"] > profile["age"] - 12:
        profile["care_experience_years"] = 0
    assert advise(CATALOGUE, profile)["open_questions"] == []


@SETTINGS
@given(
    st.integers()
    | st.floats(allow_nan=True)
    | st.integers(0, 100).map(float)
    | st.text(max_size=5)
    | st.booleans()
)
def test_ages_outside_the_range_are_refused(age: Any) -> None:
    whole = (
        isinstance(age, int | float)
        and not isinstance(age, bool)
        and age == age  # not NaN
        and abs(age) != float("inf")
        and age == int(age)
    )
    valid = whole and MIN_AGE <= age <= MAX_AGE
    if valid:
        advise(CATALOGUE, {"age": age})
    else:
        with pytest.raises(ProfileError):
            advise(CATALOGUE, {"age": age})


def test_the_real_catalogue_is_the_one_under_test(real_catalogue: Catalogue) -> None:
    assert real_catalogue.checksum == CATALOGUE.checksum


# ---- issue 20: what the summary never says ------------------------------------------------------

GROUPS: dict[str, set[str]] = {}
for _unit in CATALOGUE.data.units:
    if _unit.group is not None:
        GROUPS.setdefault(_unit.group, set()).add(_unit.id)


@SETTINGS
@given(profiles)
def test_the_summary_never_names_an_unsuitable_route_or_a_scheme_nobody_can_apply_for(
    profile: dict[str, Any],
) -> None:
    advice = advise(CATALOGUE, profile)
    summary = advice["summary"]
    if profile.get("employer") == "care":
        # Someone working in care is never sent to full-time school as the best route.
        assert "bol" not in summary["routes"]
    if profile.get("employer") in ("none", "other"):
        applicants = {f["id"]: f["applicant"] for f in advice["funding"]}
        assert all(applicants[f] != "employer" for f in summary["funding"]), summary
    route_fit = {r["id"]: r["fit"] for r in advice["routes"]}
    for route_id in summary["routes"]:
        assert route_fit[route_id] != "not_possible"


@SETTINGS
@given(profiles)
def test_units_of_one_group_are_never_recommended_together(profile: dict[str, Any]) -> None:
    advice = advise(CATALOGUE, profile)
    recommended = {u["id"] for u in advice["units"] if u["fit"] == "recommended"}
    assert GROUPS, "the catalogue has unit groups (adl, basis_deskundige_zorg)"
    for members in GROUPS.values():
        assert len(recommended & members) <= 1


@SETTINGS
@given(profiles)
def test_every_profile_gets_a_plan_that_agrees_with_its_advice(profile: dict[str, Any]) -> None:
    plan = make_plan(CATALOGUE, profile, today=REPLAY_TODAY)
    summary = advise(CATALOGUE, profile)["summary"]
    assert plan.route == (summary["routes"][0] if summary["routes"] else None)
    assert list(plan.units) == summary["units"] and list(plan.funding) == summary["funding"]
    assert 4 <= len(plan.steps) <= 5
    for step in plan.steps:
        assert "{" not in step.text.nl + step.text.en + step.title.nl + step.title.en
    assert plan.target.qualification in CATALOGUE.qualifications
    assert plan.target.proposed is (profile.get("target") in (None, TARGET_UNKNOWN))
