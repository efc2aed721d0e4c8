"""The eligibility rules of the seeds and the facts file, each with a case on either side."""

from __future__ import annotations

import json
from typing import Any

import pytest

from catalogue.advice import advise
from catalogue.compiled import Catalogue
from catalogue.errors import ProfileError

# A 38-year-old switching from accountancy, as in the issue's example profile.
BASE: dict[str, Any] = {
    "age": 38,
    "education": {"level": "hbo", "field": "accountancy"},
    "care_qualifications": [],
    "care_experience_years": 0,
    "employer": "none",
    "employer_sbb_recognised": "unknown",
    "hours_per_week": 24,
    "sector": "vvt",
    "goal": "tasks",
    "benefit": "none",
    "region": "Amersfoort",
    "language": "nl",
}
AT_RECOGNISED_EMPLOYER = {"employer": "care", "employer_sbb_recognised": "yes"}


def advice_for(catalogue: Catalogue, **changes: Any) -> dict[str, Any]:
    return advise(catalogue, {**BASE, **changes})


def item(advice: dict[str, Any], kind: str, item_id: str) -> dict[str, Any]:
    section = {"unit": "units", "route": "routes", "funding": "funding"}[kind]
    (found,) = [i for i in advice[section] if i["id"] == item_id]
    return found


def fit(advice: dict[str, Any], kind: str, item_id: str) -> str:
    return str(item(advice, kind, item_id)["fit"])


def rules_of(advice: dict[str, Any], kind: str, item_id: str) -> set[str]:
    return {r["rule"] for r in item(advice, kind, item_id)["reasons"] if r["rule"]}


# ---- single units are for adults from 23 (seed 000) ------------------------------------------


@pytest.mark.parametrize(("age", "expected_route_fit"), [(22, "not_possible"), (23, "recommended")])
def test_single_units_through_the_third_route_start_at_23(
    real_catalogue: Catalogue, age: int, expected_route_fit: str
) -> None:
    advice = advice_for(real_catalogue, age=age, **AT_RECOGNISED_EMPLOYER)
    assert fit(advice, "route", "derde_leerweg") == expected_route_fit
    unit_fits = {u["id"]: u["fit"] for u in advice["units"]}
    if age < 23:
        assert set(unit_fits.values()) == {"not_possible"}
        assert "unit_single_from_23" in rules_of(advice, "unit", "adl")
        assert advice["summary"]["units"] == []
        assert "single_units_under_23" in {w["id"] for w in advice["warnings"]}
    else:
        assert unit_fits["adl"] == "recommended"
        assert "single_units_under_23" not in {w["id"] for w in advice["warnings"]}


def test_under_23_a_full_diploma_through_the_third_route_stays_open(
    real_catalogue: Catalogue,
) -> None:
    advice = advice_for(real_catalogue, age=20, goal="diploma", **AT_RECOGNISED_EMPLOYER)
    assert fit(advice, "route", "derde_leerweg") != "not_possible"
    assert fit(advice, "route", "bbl") == "recommended"


# ---- BBL needs an SBB-recognised employer and enough hours (facts §2, seed 000) -------------


@pytest.mark.parametrize(
    ("recognised", "expected"),
    [("no", "not_possible"), ("unknown", "possible"), ("yes", "recommended")],
)
def test_bbl_needs_an_sbb_recognised_training_company(
    real_catalogue: Catalogue, recognised: str, expected: str
) -> None:
    advice = advice_for(real_catalogue, employer="care", employer_sbb_recognised=recognised)
    assert fit(advice, "route", "bbl") == expected


@pytest.mark.parametrize(("hours", "expected"), [(15, "not_possible"), (16, "recommended")])
def test_bbl_needs_about_16_hours_a_week(
    real_catalogue: Catalogue, hours: int, expected: str
) -> None:
    advice = advice_for(real_catalogue, hours_per_week=hours, **AT_RECOGNISED_EMPLOYER)
    assert fit(advice, "route", "bbl") == expected


def test_bbl_without_an_employer_is_possible_once_one_is_found(real_catalogue: Catalogue) -> None:
    advice = advice_for(real_catalogue, employer="none")
    assert fit(advice, "route", "bbl") == "possible"
    assert "bbl_needs_employer" in rules_of(advice, "route", "bbl")


# ---- the practical part of the third route needs a recognised company (seed 000) ------------


@pytest.mark.parametrize(
    ("recognised", "expected"), [("no", "not_possible"), ("yes", "recommended")]
)
def test_third_route_practice_needs_a_recognised_company(
    real_catalogue: Catalogue, recognised: str, expected: str
) -> None:
    advice = advice_for(real_catalogue, employer="care", employer_sbb_recognised=recognised)
    assert fit(advice, "route", "derde_leerweg") == expected


# ---- Praktijkleren goes with BBL at a recognised company (facts §3, seed 000) ---------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"employer": "care", "employer_sbb_recognised": "yes"}, "recommended"),
        ({"employer": "care", "employer_sbb_recognised": "no"}, "not_possible"),
        # Recognised, but too few hours for BBL: no BBL, so no Praktijkleren either.
        (
            {"employer": "care", "employer_sbb_recognised": "yes", "hours_per_week": 12},
            "not_possible",
        ),
    ],
)
def test_praktijkleren_goes_with_bbl_at_a_recognised_company(
    real_catalogue: Catalogue, changes: dict[str, Any], expected: str
) -> None:
    advice = advice_for(real_catalogue, **changes)
    assert fit(advice, "funding", "praktijkleren") == expected
    assert item(advice, "funding", "praktijkleren")["applicant"] == "employer"


# ---- people on a UWV benefit: orientation and UWV scholing (seed 003, facts §3) -------------


@pytest.mark.parametrize(
    ("benefit", "orientation", "uwv"),
    [("ww", "recommended", "recommended"), ("none", "possible", "not_possible")],
)
def test_uwv_benefit_points_to_orientation_and_uwv_training(
    real_catalogue: Catalogue, benefit: str, orientation: str, uwv: str
) -> None:
    advice = advice_for(real_catalogue, benefit=benefit)
    assert fit(advice, "route", "orientatie") == orientation
    assert fit(advice, "funding", "uwv_scholing") == uwv
    if benefit == "ww":
        assert "orientatie" in advice["summary"]["routes"]
        assert "uwv_scholing" in advice["summary"]["funding"]
        assert item(advice, "funding", "uwv_scholing")["applicant"] == "person"


@pytest.mark.parametrize(("age", "expected"), [(26, "not_possible"), (27, "possible")])
def test_municipal_training_is_for_social_assistance_from_27(
    real_catalogue: Catalogue, age: int, expected: str
) -> None:
    advice = advice_for(real_catalogue, benefit="bijstand", age=age)
    assert fit(advice, "funding", "gemeente_scholing") == expected
    assert (
        fit(advice_for(real_catalogue, benefit="ww"), "funding", "gemeente_scholing")
        == "not_possible"
    )


@pytest.mark.parametrize(
    ("region", "note"), [("Almere", "orientation_flevoland"), ("Utrecht", "orientation_elsewhere")]
)
def test_orientation_names_flevoland_or_the_leerwerkloket(
    real_catalogue: Catalogue, region: str, note: str
) -> None:
    advice = advice_for(real_catalogue, region=region, benefit="ww")
    assert note in rules_of(advice, "route", "orientatie")


# ---- hbo goals get the hbo route (facts §2) --------------------------------------------------


@pytest.mark.parametrize(
    ("education", "age", "expected"),
    [
        ("havo", 19, "recommended"),
        ("vmbo", 19, "not_possible"),
        ("vmbo", 21, "recommended"),  # the 21+ admission test
        ("mbo4", 30, "recommended"),
    ],
)
def test_hbo_goal_gets_the_hbo_route_when_admissible(
    real_catalogue: Catalogue, education: str, age: int, expected: str
) -> None:
    advice = advice_for(real_catalogue, goal="hbo", age=age, education={"level": education})
    assert fit(advice, "route", "hbo") == expected
    if expected == "recommended":
        assert advice["summary"]["routes"][0] == "hbo"


def test_without_an_hbo_goal_hbo_is_not_recommended(real_catalogue: Catalogue) -> None:
    assert fit(advice_for(real_catalogue, goal="tasks"), "route", "hbo") == "possible"


# ---- EVC: no longer accepted since February 2026 (facts §2), history kept --------------------


@pytest.mark.parametrize(("experience", "warned"), [(0, False), (7, True)])
def test_evc_is_never_offered_and_experienced_people_are_warned(
    real_catalogue: Catalogue, experience: int, warned: bool
) -> None:
    advice = advice_for(real_catalogue, care_experience_years=experience, sector="ghz")
    assert fit(advice, "route", "evc") == "not_possible"
    assert item(advice, "route", "evc")["status"] == "contested"
    warnings = {w["id"]: w for w in advice["warnings"]}
    assert ("evc_not_accepted_2026" in warnings) is warned
    if warned:
        warning = warnings["evc_not_accepted_2026"]
        assert warning["date"] == "2026-02-13"
        # The seed's older description stays, dated, as history.
        assert [h["date"] for h in warning["history"]] == ["2024-11-01", "2019-01-01"]
        assert {s["id"] for h in warning["history"] for s in h["sources"]} >= {
            "seed_001",
            "seed_002",
        }


# ---- ended schemes are kept as data but never offered (facts §3) ----------------------------


@pytest.mark.parametrize("scheme", ["stap", "evc_subsidie"])
def test_ended_schemes_are_never_offered(real_catalogue: Catalogue, scheme: str) -> None:
    for changes in ({}, {"benefit": "ww"}, AT_RECOGNISED_EMPLOYER, {"age": 60}):
        advice = advice_for(real_catalogue, **changes)
        assert fit(advice, "funding", scheme) == "not_possible"
        assert item(advice, "funding", scheme)["status"] == "ended"
        assert scheme not in advice["summary"]["funding"]


# ---- unit-specific admission rules (seed 004, facts §1) -------------------------------------


@pytest.mark.parametrize(
    ("qualifications", "expected"), [([], "not_possible"), (["helpende_zw_2"], "recommended")]
)
def test_regievoering_needs_the_helpende_diploma(
    real_catalogue: Catalogue, qualifications: list[str], expected: str
) -> None:
    advice = advice_for(
        real_catalogue, care_qualifications=qualifications, **AT_RECOGNISED_EMPLOYER
    )
    assert fit(advice, "unit", "regievoering_vakontwikkeling") == expected


@pytest.mark.parametrize(("hours", "expected"), [(15, "not_possible"), (16, "recommended")])
def test_ondersteunen_en_begeleiden_needs_16_hours(
    real_catalogue: Catalogue, hours: int, expected: str
) -> None:
    advice = advice_for(
        real_catalogue, sector="ghz", hours_per_week=hours, **AT_RECOGNISED_EMPLOYER
    )
    assert fit(advice, "unit", "ondersteunen_begeleiden_mz") == expected


@pytest.mark.parametrize(
    ("sector", "top_unit"), [("vvt", "adl"), ("ghz", "ondersteunen_begeleiden_mz")]
)
def test_starters_get_a_first_unit_of_their_sector(
    real_catalogue: Catalogue, sector: str, top_unit: str
) -> None:
    advice = advice_for(real_catalogue, sector=sector, **AT_RECOGNISED_EMPLOYER)
    assert advice["summary"]["units"][0] == top_unit


@pytest.mark.parametrize(("goal", "expected"), [("tasks", "not_possible"), ("diploma", "possible")])
def test_general_subjects_only_belong_to_a_diploma(
    real_catalogue: Catalogue, goal: str, expected: str
) -> None:
    advice = advice_for(real_catalogue, goal=goal, sector="ghz")
    assert fit(advice, "unit", "mz4_taal_rekenen") == expected


@pytest.mark.parametrize(("age", "expected"), [(56, "possible"), (57, "not_possible")])
def test_lifelong_learning_credit_is_for_under_57(
    real_catalogue: Catalogue, age: int, expected: str
) -> None:
    advice = advice_for(real_catalogue, age=age, goal="diploma")
    assert fit(advice, "funding", "llo_krediet") == expected


@pytest.mark.parametrize(
    ("employer", "expected"), [("other", "not_possible"), ("care", "possible")]
)
def test_sectorplanplus_is_for_care_employers_and_not_certain(
    real_catalogue: Catalogue, employer: str, expected: str
) -> None:
    advice = advice_for(real_catalogue, employer=employer, employer_sbb_recognised="yes")
    scheme = item(advice, "funding", "sectorplanplus")
    assert scheme["fit"] == expected
    assert scheme["certain"] is False


def test_young_person_without_employer_wanting_a_diploma_gets_bol(
    real_catalogue: Catalogue,
) -> None:
    advice = advice_for(real_catalogue, age=19, goal="diploma", employer="none")
    assert fit(advice, "route", "bol") == "recommended"
    assert fit(advice_for(real_catalogue, age=30, goal="diploma"), "route", "bol") == "possible"


# ---- missing answers: the engine says which answers would change the advice -----------------


def test_missing_age_caps_units_and_is_asked(real_catalogue: Catalogue) -> None:
    profile = {k: v for k, v in BASE.items() if k != "age"}
    advice = advise(real_catalogue, {**profile, **AT_RECOGNISED_EMPLOYER})
    assert all(u["fit"] != "recommended" for u in advice["units"])
    open_fields = {q["field"]: q for q in advice["open_questions"]}
    assert "age" in open_fields
    assert "adl" in open_fields["age"]["affects"]["units"]
    # The undecided rule is said as a condition, never as a fact about the person.
    (reason,) = [
        r for r in item(advice, "unit", "adl")["reasons"] if r["rule"] == "unit_single_from_23"
    ]
    assert reason["depends_on"] == ["age"]
    assert "23" in reason["if"]["nl"] and "23" not in reason["nl"]


def test_an_empty_profile_gets_advice_and_the_questions_that_matter(
    real_catalogue: Catalogue,
) -> None:
    advice = advise(real_catalogue, {})
    fields = [q["field"] for q in advice["open_questions"]]
    assert {"age", "employer", "goal", "sector"} <= set(fields)
    assert advice["summary"]["units"] == []
    assert all(u["fit"] != "recommended" for u in advice["units"])


def test_answered_fields_are_not_asked_again(real_catalogue: Catalogue) -> None:
    advice = advice_for(real_catalogue)
    assert advice["open_questions"] == []


# ---- output shape -----------------------------------------------------------------------------


def test_example_profile_from_the_issue(real_catalogue: Catalogue) -> None:
    advice = advice_for(real_catalogue)
    assert set(advice) >= {"units", "routes", "funding", "warnings", "catalogue_version"}
    assert advice["catalogue_version"].startswith(real_catalogue.version)
    assert advice["summary"]["units"][:1] == ["adl"]
    assert advice["summary"]["routes"][0] == "derde_leerweg"
    for section in ("units", "routes", "funding"):
        for entry in advice[section]:
            assert entry["fit"] in {"recommended", "possible", "not_possible"}
            assert entry["reasons"] and all(r["nl"] and r["en"] for r in entry["reasons"])
            assert entry["sources"] and all(s["checked"] for s in entry["sources"])
    json.dumps(advice)  # serialisable as the action's JSON payload


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        ({"age": 7}, "age"),
        ({"age": 140}, "age"),
        ({"age": 38.5}, "age"),
        ({"age": "38"}, "age"),
        ({"hours_per_week": 200}, "hours_per_week"),
        ({"sector": "hospital"}, "sector"),
        ({"education": {"level": "phd"}}, "education"),
        ({"care_qualifications": ["nurse_9"]}, "care_qualifications"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"age": 30, "care_experience_years": 25}, "care_experience_years"),
    ],
)
def test_values_that_make_no_sense_are_refused(
    real_catalogue: Catalogue, profile: dict[str, Any], field: str
) -> None:
    with pytest.raises(ProfileError) as caught:
        advise(real_catalogue, profile)
    assert caught.value.field == field


def test_a_profile_must_be_an_object(real_catalogue: Catalogue) -> None:
    with pytest.raises(ProfileError):
        advise(real_catalogue, ["age", 38])
