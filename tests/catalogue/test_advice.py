"""The eligibility rules of the seeds and the facts file, each with a case on either side."""

from __future__ import annotations

import json
from typing import Any

import pytest

from catalogue.advice import advise, lookup
from catalogue.compiled import Catalogue
from catalogue.errors import ProfileError
from tests.catalogue.samples import AT_RECOGNISED_EMPLOYER, ISSUE_PROFILE

# The issue's example profile, in Amersfoort, not yet asked about the employer's recognition.
BASE: dict[str, Any] = {
    **ISSUE_PROFILE,
    "employer_sbb_recognised": "unknown",
    "region": "Amersfoort",
    "language": "nl",
}


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
        # Outside Flevoland the certified unit of the ADL kind (issue 20).
        assert unit_fits["basis_deskundige_zorg"] == "recommended"
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


@pytest.mark.parametrize(("hours", "expected"), [(15, "possible"), (16, "recommended")])
def test_bbl_below_16_hours_a_week_is_a_caution_not_a_block(
    real_catalogue: Catalogue, hours: int, expected: str
) -> None:
    # The norm is 610 practice hours a year; 16-24 hours a week is what schools usually ask.
    advice = advice_for(real_catalogue, hours_per_week=hours, **AT_RECOGNISED_EMPLOYER)
    assert fit(advice, "route", "bbl") == expected
    caution = [r for r in item(advice, "route", "bbl")["reasons"] if r["rule"] == "bbl_min_hours"]
    assert bool(caution) is (hours < 16)
    for reason in caution:
        assert reason["outcome"] == "possible" and "610" in reason["nl"]


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
        # Recognised, but few hours: BBL is only possible, so the scheme is no more than that.
        (
            {"employer": "care", "employer_sbb_recognised": "yes", "hours_per_week": 12},
            "possible",
        ),
    ],
)
def test_praktijkleren_goes_with_bbl_at_a_recognised_company(
    real_catalogue: Catalogue, changes: dict[str, Any], expected: str
) -> None:
    advice = advice_for(real_catalogue, goal="diploma", **changes)
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
        ("vmbo", 21, "possible"),  # first the 21+ admission test
        ("mbo4", 30, "recommended"),
    ],
)
def test_hbo_goal_gets_the_hbo_route_when_admissible(
    real_catalogue: Catalogue, education: str, age: int, expected: str
) -> None:
    advice = advice_for(real_catalogue, goal="hbo", age=age, education={"level": education})
    assert fit(advice, "route", "hbo") == expected
    if expected != "not_possible":
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
    ("sector", "top_unit"),
    [("vvt", "basis_deskundige_zorg"), ("ghz", "ondersteunen_begeleiden_mz")],
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
    assert advice["summary"]["units"][:1] == ["basis_deskundige_zorg"]
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


# ---- issue 20: rules and summaries an advisor would sign --------------------------------------


def user_texts(advice: dict[str, Any]) -> str:
    """Every text of the advice a person may read (sources and the profile itself left out)."""
    out: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if key in ("sources", "profile"):
            return
        if isinstance(value, dict):
            for name, inner in value.items():
                walk(inner, name)
        elif isinstance(value, list):
            for inner in value:
                walk(inner, key)
        elif isinstance(value, str):
            out.append(value)

    walk(advice)
    return "\n".join(out)


@pytest.mark.parametrize(("recognised", "best"), [("no", None), ("yes", "bbl")])
def test_summary_route_is_never_bol_for_someone_at_a_care_employer(
    real_catalogue: Catalogue, recognised: str, best: str | None
) -> None:
    advice = advice_for(
        real_catalogue, goal="diploma", employer="care", employer_sbb_recognised=recognised
    )
    routes = advice["summary"]["routes"]
    assert "bol" not in routes
    assert (routes[0] if routes else None) == best


@pytest.mark.parametrize(("hours", "bbl_fit"), [(15, "possible"), (16, "recommended")])
def test_summary_route_at_a_care_employer_stays_bbl_below_16_hours(
    real_catalogue: Catalogue, hours: int, bbl_fit: str
) -> None:
    advice = advice_for(
        real_catalogue, goal="diploma", hours_per_week=hours, **AT_RECOGNISED_EMPLOYER
    )
    assert advice["summary"]["routes"][0] == "bbl"
    assert "bol" not in advice["summary"]["routes"]
    assert fit(advice, "route", "bbl") == bbl_fit


@pytest.mark.parametrize(
    ("employer", "employer_schemes"), [("none", False), ("other", False), ("care", True)]
)
def test_funding_summary_names_employer_schemes_only_with_a_care_employer(
    real_catalogue: Catalogue, employer: str, employer_schemes: bool
) -> None:
    for goal in ("tasks", "certificate", "diploma"):
        advice = advice_for(
            real_catalogue, goal=goal, employer=employer, employer_sbb_recognised="yes"
        )
        applicants = {
            item(advice, "funding", scheme_id)["applicant"]
            for scheme_id in advice["summary"]["funding"]
        }
        if not employer_schemes:
            assert "employer" not in applicants, (goal, advice["summary"]["funding"])
        elif goal == "diploma":
            assert "employer" in applicants


@pytest.mark.parametrize(
    ("employer", "applies"), [("other", True), ("none", True), ("care", False)]
)
def test_employer_scheme_rule_covers_employers_outside_care(
    real_catalogue: Catalogue, employer: str, applies: bool
) -> None:
    advice = advice_for(real_catalogue, employer=employer, employer_sbb_recognised="yes")
    assert ("employer_scheme_needs_employer" in rules_of(advice, "funding", "stagefonds_zorg")) is (
        applies
    )


@pytest.mark.parametrize(
    ("goal", "expected"),
    [("diploma", "recommended"), ("certificate", "not_possible"), ("tasks", "not_possible")],
)
def test_praktijkleren_is_for_diploma_oriented_bbl_only(
    real_catalogue: Catalogue, goal: str, expected: str
) -> None:
    advice = advice_for(real_catalogue, goal=goal, **AT_RECOGNISED_EMPLOYER)
    assert fit(advice, "funding", "praktijkleren") == expected
    if expected != "recommended":
        assert "praktijkleren" not in advice["summary"]["funding"]


@pytest.mark.parametrize(("age", "mentions_credit"), [(56, True), (57, False)])
def test_stap_notice_points_to_the_credit_only_below_57(
    real_catalogue: Catalogue, age: int, mentions_credit: bool
) -> None:
    advice = advice_for(real_catalogue, age=age)
    texts = " ".join(w["nl"] + " " + w["en"] for w in advice["warnings"])
    assert "STAP" in texts
    assert ("levenlanglerenkrediet" in texts) is mentions_credit
    assert ("lifelong learning credit" in texts) is mentions_credit


@pytest.mark.parametrize(
    ("recognised", "expected"), [("no", "not_possible"), ("yes", "recommended")]
)
def test_a_unit_needs_a_recognised_employer_even_through_orientation(
    real_catalogue: Catalogue, recognised: str, expected: str
) -> None:
    advice = advice_for(
        real_catalogue,
        goal="orientation",
        benefit="ww",
        region="Almere",
        employer="care",
        employer_sbb_recognised=recognised,
    )
    assert fit(advice, "unit", "adl") == expected
    if recognised == "no":
        assert all(u["fit"] != "recommended" for u in advice["units"])
        assert advice["summary"]["units"] == []


@pytest.mark.parametrize(("employer", "expected"), [("none", "possible"), ("care", "recommended")])
def test_ghz_support_unit_needs_an_employer(
    real_catalogue: Catalogue, employer: str, expected: str
) -> None:
    advice = advice_for(
        real_catalogue, sector="ghz", employer=employer, employer_sbb_recognised="yes"
    )
    assert fit(advice, "unit", "ondersteunen_begeleiden_mz") == expected
    assert ("ondersteunen_begeleiden_mz" in advice["summary"]["units"]) is (
        expected == "recommended"
    )


@pytest.mark.parametrize(
    ("qualifications", "expected"),
    [(["vig_3"], "recommended"), (["begeleider_ghz_3"], "not_possible")],
)
def test_a_vig_holder_moving_to_ghz_is_not_told_her_diploma_covers_the_support_unit(
    real_catalogue: Catalogue, qualifications: list[str], expected: str
) -> None:
    advice = advice_for(
        real_catalogue,
        sector="ghz",
        goal="certificate",
        care_qualifications=qualifications,
        care_experience_years=5,
        **AT_RECOGNISED_EMPLOYER,
    )
    unit = item(advice, "unit", "ondersteunen_begeleiden_mz")
    assert unit["fit"] == expected
    covered = "unit_already_begeleider" in rules_of(advice, "unit", "ondersteunen_begeleiden_mz")
    assert covered is (expected == "not_possible")


@pytest.mark.parametrize(
    ("age", "education", "goal", "expected"),
    [
        (20, "vmbo", "tasks", "not_possible"),
        (19, "none", "diploma", "not_possible"),
        (21, "vmbo", "hbo", "possible"),
        (21, "vmbo", "tasks", "possible"),
        (19, "havo", "hbo", "recommended"),
    ],
)
def test_hbo_needs_havo_vwo_mbo4_or_the_21_plus_admission_test(
    real_catalogue: Catalogue, age: int, education: str, goal: str, expected: str
) -> None:
    advice = advice_for(real_catalogue, age=age, education={"level": education}, goal=goal)
    assert fit(advice, "route", "hbo") == expected
    text = " ".join(r["nl"] for r in item(advice, "route", "hbo")["reasons"])
    if age >= 21 and education == "vmbo":
        assert "toelatingsonderzoek" in text
    if expected == "not_possible":
        assert "hbo" not in advice["summary"]["routes"]


@pytest.mark.parametrize(
    ("unit_id", "mentions_bbl"),
    [("bachelor_ghz_leereenheden", False), ("ondersteunen_begeleiden_mz", True)],
)
def test_the_under_23_note_on_hbo_units_does_not_suggest_bbl(
    real_catalogue: Catalogue, unit_id: str, mentions_bbl: bool
) -> None:
    advice = advice_for(
        real_catalogue, age=20, goal="hbo", education={"level": "havo"}, sector="ghz"
    )
    unit = item(advice, "unit", unit_id)
    assert unit["fit"] == "not_possible"
    text = " ".join(r["nl"] + " " + r["en"] for r in unit["reasons"])
    assert ("BBL" in text) is mentions_bbl


def test_units_of_the_2014_mz_dossier_have_a_qualification_of_their_own(
    real_catalogue: Catalogue,
) -> None:
    units = [u for u in real_catalogue.data.units if u.id.startswith("mz4_")]
    assert len(units) == 8
    (qualification_id,) = {u.qualification for u in units}
    qualification = real_catalogue.qualifications[qualification_id]
    assert qualification.crebo == "92661"
    assert qualification_id != "pb_ghz_4"
    assert real_catalogue.qualifications["pb_ghz_4"].crebo == "25477"
    assert len({u.status for u in units}) == 1
    found = lookup(real_catalogue, "unit", "mz4_plannen")
    assert found is not None and found["qualification"]["crebo"] == "92661"


@pytest.mark.parametrize(
    ("region", "chosen"), [("Almere", "adl"), ("Utrecht", "basis_deskundige_zorg")]
)
def test_adl_and_basis_voor_deskundige_zorg_are_never_both_recommended(
    real_catalogue: Catalogue, region: str, chosen: str
) -> None:
    advice = advice_for(real_catalogue, region=region, **AT_RECOGNISED_EMPLOYER)
    recommended = {u["id"] for u in advice["units"] if u["fit"] == "recommended"}
    assert recommended & {"adl", "basis_deskundige_zorg"} == {chosen}
    assert advice["summary"]["units"][0] == chosen


@pytest.mark.parametrize(("region", "pilot_named"), [("Almere", True), ("Utrecht", False)])
def test_the_orientation_programme_reads_as_a_2022_pilot(
    real_catalogue: Catalogue, region: str, pilot_named: bool
) -> None:
    advice = advice_for(real_catalogue, region=region, benefit="ww")
    notes = [
        r
        for r in item(advice, "route", "orientatie")["reasons"]
        if r["rule"] == "orientation_flevoland"
    ]
    assert bool(notes) is pilot_named
    for note in notes:
        assert "2022" in note["nl"] and "proef" in note["nl"]
        assert "2022" in note["en"] and "pilot" in note["en"]
    for source_text in (
        real_catalogue.routes["orientatie"].explain.nl,
        real_catalogue.routes["orientatie"].explain.en,
    ):
        assert "Flevoland" not in source_text


@pytest.mark.parametrize(("region", "described"), [("Utrecht", False), ("Almere", True)])
def test_the_flevoland_programme_is_only_described_in_flevoland(
    real_catalogue: Catalogue, region: str, described: bool
) -> None:
    for changes in ({}, {"benefit": "ww"}, {"goal": "orientation"}, AT_RECOGNISED_EMPLOYER):
        advice = advice_for(real_catalogue, region=region, **changes)
        texts = user_texts(advice)
        assert ("Oriëntatietraject" in texts) is described, changes
        if not described:
            assert "Flevoland" not in texts, changes


@pytest.mark.parametrize(("employer", "offered"), [("none", False), ("care", True)])
def test_slim_for_small_employers_is_never_offered_to_a_job_seeker(
    real_catalogue: Catalogue, employer: str, offered: bool
) -> None:
    advice = advice_for(real_catalogue, employer=employer, employer_sbb_recognised="yes")
    assert (fit(advice, "funding", "slim") != "not_possible") is offered


# ---- the target: what the person wants to become (issue 20) ----------------------------------


@pytest.mark.parametrize(
    ("target", "expected"), [("vig_3", "recommended"), ("unknown", "possible")]
)
def test_a_helpende_who_wants_vig_gets_the_vig_units_she_lacks_as_her_step(
    real_catalogue: Catalogue, target: str, expected: str
) -> None:
    advice = advice_for(
        real_catalogue,
        care_qualifications=["helpende_zw_2"],
        care_experience_years=4,
        goal="diploma",
        target=target,
        **AT_RECOGNISED_EMPLOYER,
    )
    for unit_id in ("regievoering_vakontwikkeling", "basis_deskundige_zorg"):
        unit = item(advice, "unit", unit_id)
        assert unit["fit"] == expected, unit_id
        default = real_catalogue.data.rule_defaults.unit.nl
        assert (default in [r["nl"] for r in unit["reasons"]]) is (target == "unknown")
    if target == "vig_3":
        assert set(advice["summary"]["units"]) == {
            "regievoering_vakontwikkeling",
            "basis_deskundige_zorg",
        }


@pytest.mark.parametrize(("held", "expected"), [(["vig_3"], "not_possible"), ([], "recommended")])
def test_the_target_never_recommends_a_unit_of_a_diploma_already_held(
    real_catalogue: Catalogue, held: list[str], expected: str
) -> None:
    advice = advice_for(
        real_catalogue, care_qualifications=held, target="vig_3", **AT_RECOGNISED_EMPLOYER
    )
    assert fit(advice, "unit", "basis_deskundige_zorg") == expected


@pytest.mark.parametrize(
    ("target", "field_ok"),
    [("vig_3", True), ("unknown", True), ("nurse_9", False), (3, False), ("", False)],
)
def test_the_target_is_a_qualification_id_or_unknown(
    real_catalogue: Catalogue, target: Any, field_ok: bool
) -> None:
    if field_ok:
        assert advise(real_catalogue, {"target": target})["profile"]["target"] == target
    else:
        with pytest.raises(ProfileError) as caught:
            advise(real_catalogue, {"target": target})
        assert caught.value.field == "target"


def test_target_is_asked_right_after_goal() -> None:
    from catalogue.profile import PROFILE_FIELDS

    assert PROFILE_FIELDS[PROFILE_FIELDS.index("goal") + 1] == "target"
