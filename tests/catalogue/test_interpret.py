"""Free-text answers as people write them, to profile values (catalogue.interpret)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalogue.compiled import Catalogue
from catalogue.interpret import interpret
from catalogue.profile import MAX_AGE, MAX_HOURS, MIN_AGE, parse_profile
from catalogue.reader import load_directory
from catalogue.service import CatalogueService

CATALOGUE = load_directory()


@pytest.mark.parametrize(
    ("text", "asked", "expected"),
    [
        ("38", "age", {"age": 38}),
        ("achtendertig", "age", {"age": 38}),
        ("ik ben net 40 geworden", None, {"age": 40}),
        ("ik ben vierenvijftig", None, {"age": 54}),
        ("38 jaar", None, {"age": 38}),
        ("ik ben 40 jaar oud", None, {"age": 40}),
        ("I am 29 years old and want to work in elderly care", None, {"age": 29, "sector": "vvt"}),
        ("24 uur", "hours_per_week", {"hours_per_week": 24}),
        ("twintig uur", "hours_per_week", {"hours_per_week": 20}),
        ("fulltime", "hours_per_week", {"hours_per_week": 36}),
        ("ik werk 32 uur per week", None, {"hours_per_week": 32}),
        (
            "mbo 2 helpende",
            "education",
            {
                "education": {"level": "mbo2", "field": "helpende"},
                "care_qualifications": ["helpende_zw_2"],
            },
        ),
        ("hbo accountancy", "education", {"education": {"level": "hbo", "field": "accountancy"}}),
        ("havo", "education", {"education": {"level": "havo"}}),
        ("geen diploma", "education", {"education": {"level": "none"}}),
        ("ik heb mijn diploma verzorgende ig", None, {"care_qualifications": ["vig_3"]}),
        ("geen", "care_qualifications", {"care_qualifications": []}),
        (
            "ik werk al 7 jaar als begeleider",
            None,
            {"care_experience_years": 7, "employer": "care"},
        ),
        ("ik heb 12 jaar ervaring", None, {"care_experience_years": 12}),
        ("3 jaar", "care_experience_years", {"care_experience_years": 3}),
        (
            "ik ben 44 en werk al 3 jaar in de thuiszorg",
            None,
            {"age": 44, "care_experience_years": 3, "employer": "care", "sector": "vvt"},
        ),
        ("nee nog geen werkgever", "employer", {"employer": "none"}),
        ("nee", "employer", {"employer": "none"}),
        ("ik werk in een verpleeghuis", "employer", {"employer": "care", "sector": "vvt"}),
        ("ik ben 38 jaar en werk als kok", None, {"age": 38, "employer": "other"}),
        ("weet ik niet", "employer_sbb_recognised", {"employer_sbb_recognised": "unknown"}),
        ("ja", "employer_sbb_recognised", {"employer_sbb_recognised": "yes"}),
        # Heard from simulated English speakers in the 5,000-conversation run (2026-12-08).
        ("elder care", "sector", {"sector": "vvt"}),
        ("begin working fast", "goal", {"goal": "tasks"}),
        ("I have none", "care_qualifications", {"care_qualifications": []}),
        ("I'm looking for work", "employer", {"employer": "none"}),
        ("ik zoek werk", "employer", {"employer": "none"}),
        ("ouderenzorg", "sector", {"sector": "vvt"}),
        ("thuiszorg", "sector", {"sector": "vvt"}),
        ("gehandicaptenzorg", "sector", {"sector": "ghz"}),
        ("maakt niet uit", "sector", {"sector": "either"}),
        ("ik wil snel aan het werk", None, {"goal": "tasks"}),
        ("een heel diploma", "goal", {"goal": "diploma"}),
        ("ik wil naar het hbo", None, {"goal": "hbo"}),
        ("eerst kijken of het wat voor me is", "goal", {"goal": "orientation"}),
        ("ik zit in de ww", None, {"benefit": "ww"}),
        ("bijstand", "benefit", {"benefit": "bijstand"}),
        ("nee", "benefit", {"benefit": "none"}),
        ("ik woon in Almere", None, {"region": "Almere"}),
        ("Zwolle", "region", {"region": "Zwolle"}),
        ("in Epe", "region", {"region": "Epe"}),
        ("I only speak a little Dutch", None, {"language": "en"}),
        ("kan het in het Engels?", None, {"language": "en"}),
    ],
)
def test_answers_as_people_write_them(
    text: str, asked: str | None, expected: dict[str, Any]
) -> None:
    values = interpret(text, CATALOGUE, asked)["values"]
    for field, value in expected.items():
        assert values.get(field) == value, (text, field, values)


# Thinking aloud answers nothing yet: "ok even nadenken" is no "ok" (yes) to the question,
# while "op dit moment" in an answer is no hesitation.
@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("ok even nadenken", "employer_sbb_recognised"),
        ("ja momentje", "employer_sbb_recognised"),
        ("nee wacht even", "benefit"),
        ("ok let me think", "care_qualifications"),
        ("hold on", "employer"),
    ],
)
def test_a_hesitation_is_no_answer(text: str, asked: str) -> None:
    reading = interpret(text, CATALOGUE, asked)
    assert asked not in reading["values"], reading
    assert reading["short"] is None, reading


def test_at_the_moment_is_no_hesitation() -> None:
    values = interpret("ja, op dit moment werk ik in een verpleeghuis", CATALOGUE, "employer")
    assert values["values"]["employer"] == "care"


# A diploma and a wish in one message: the wish word counts in its own clause only, so the
# diploma stays a diploma and only the wished level becomes a goal.
@pytest.mark.parametrize(
    ("text", "expected", "absent"),
    [
        (
            "I am 38, I have a hbo degree in accountancy, no care experience, "
            "I want to work 24 hours in elderly care",
            {
                "age": 38,
                "education": {"level": "hbo", "field": "accountancy"},
                "care_experience_years": 0,
                "hours_per_week": 24,
                "sector": "vvt",
            },
            "goal",
        ),
        (
            "ik heb hbo accountancy en wil in de ouderenzorg werken",
            {"education": {"level": "hbo", "field": "accountancy"}, "sector": "vvt"},
            "goal",
        ),
        (
            "ik ben 45, hbo bedrijfskunde, geen zorgervaring, wil 32 uur in de gehandicaptenzorg",
            {"education": {"level": "hbo", "field": "bedrijfskunde"}, "care_experience_years": 0},
            "goal",
        ),
        (
            "ik heb hbo gedaan maar wil nu mbo niveau 3 halen",
            {"education": {"level": "hbo"}},
            "goal",
        ),
        (
            "ik heb havo en wil later naar het hbo",
            {"education": {"level": "havo"}, "goal": "hbo"},
            "",
        ),
        ("ik wil later hbo verpleegkunde doen", {"goal": "hbo"}, "education"),
        (
            "ik heb helpende zorg en welzijn en wil verzorgende ig worden",
            {"care_qualifications": ["helpende_zw_2"], "target": "vig_3"},
            "",
        ),
        ("ik wil verzorgende ig worden", {"target": "vig_3"}, "care_qualifications"),
        ("ik heb vig", {"care_qualifications": ["vig_3"]}, "target"),
        ("ik werk als kok en wil in de zorg werken", {"employer": "other"}, ""),
        ("ik wil werken als verzorgende", {}, "employer"),
        ("nooit in de zorg gewerkt", {"care_experience_years": 0}, ""),
        ("zonder ervaring in de zorg", {"care_experience_years": 0}, ""),
    ],
)
def test_a_diploma_and_a_wish_in_one_message(
    text: str, expected: dict[str, Any], absent: str
) -> None:
    values = interpret(text, CATALOGUE)["values"]
    for field, value in expected.items():
        assert values.get(field) == value, (text, field, values)
    assert absent not in values, (text, values)


@pytest.mark.parametrize(
    ("text", "asked", "field"),
    [
        ("7", "age", "age"),
        ("ik ben 140", None, "age"),
        ("200 uur", None, "hours_per_week"),
        ("ja", "employer", "employer"),  # yes, but where: asked again
        ("weet ik niet", "age", "age"),
    ],
)
def test_values_that_make_no_sense_are_problems_not_values(
    text: str, asked: str | None, field: str
) -> None:
    result = interpret(text, CATALOGUE, asked)
    assert field in result["problems"]
    assert field not in result["values"]


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("ik wil verzorgende worden", "care_qualifications"),  # a wish, not a diploma
        ("ik wil naar het hbo", "education"),
        ("wat is een certificaat?", "goal"),  # a question, no goal said
        ("ik werk 32 uur per week", "employer"),  # works, but nothing says where
        ("nee, ik ben 40", "sector"),  # a correction of the age, asked about sector
    ],
)
def test_words_out_of_their_context_fill_nothing(text: str, absent: str) -> None:
    asked = "sector" if text.startswith("nee,") else None
    assert absent not in interpret(text, CATALOGUE, asked)["values"]


def test_a_correction_fills_the_corrected_field() -> None:
    assert interpret("nee, ik ben 40", CATALOGUE, "sector")["values"]["age"] == 40


def test_several_answers_in_one_message() -> None:
    text = "Ik ben 52, heb havo en werk bij een verpleeghuis 20 uur per week"
    values = interpret(text, CATALOGUE)["values"]
    assert values["age"] == 52
    assert values["education"] == {"level": "havo"}
    assert values["employer"] == "care"
    assert values["sector"] == "vvt"
    assert values["hours_per_week"] == 20


def test_mentions_name_catalogue_items_from_their_synonyms() -> None:
    found = interpret("wat kost de ADL leereenheid en kan dat via bbl?", CATALOGUE)["mentions"]
    assert {"kind": "unit", "id": "adl"} in found
    assert {"kind": "term", "id": "leereenheid"} in found
    assert {"kind": "route", "id": "bbl"} in found


def test_a_new_unit_in_the_catalogue_is_recognised_without_code_changes(
    real_catalogue: Catalogue,
) -> None:
    from catalogue.compiled import compile_catalogue

    data = real_catalogue.data
    unit = data.units[0].model_copy(
        update={"id": "wondzorg_basis", "title": "Basis wondzorg", "synonyms": ["wondzorg"]}
    )
    bigger = compile_catalogue(data.model_copy(update={"units": [*data.units, unit]}), "test")
    assert {"kind": "unit", "id": "wondzorg_basis"} in interpret(
        "ik wil iets met wondzorg", bigger
    )["mentions"]


@settings(max_examples=500, deadline=None)
@given(
    st.text(max_size=200),
    st.sampled_from([None, "age", "hours_per_week", "education", "employer", "sector", "goal"]),
)
def test_any_text_gives_values_the_profile_accepts(text: str, asked: str | None) -> None:
    result = interpret(text, CATALOGUE, asked)
    values = result["values"]
    if "age" in values:
        assert MIN_AGE <= values["age"] <= MAX_AGE
    if "hours_per_week" in values:
        assert 0 < values["hours_per_week"] <= MAX_HOURS
    checkable = {k: v for k, v in values.items() if k != "care_experience_years"}
    parse_profile(checkable, CATALOGUE.qualification_ids)  # never a value the engine refuses
    assert not set(values) & set(result["problems"])


def test_the_service_looks_up_items_and_explains_terms() -> None:
    service = CatalogueService.from_catalogue(CATALOGUE)
    unit = service.lookup("unit", "adl")
    assert unit is not None and unit["price"]["min_eur"] == 600 and unit["sources"]
    route = service.lookup("route", "evc")
    assert route is not None and "2026" in route["explain"]["nl"]
    term = service.lookup("term", "leereenheid")
    assert term is not None and term["text"]["nl"] and term["sources"]
    assert service.lookup("unit", "nope") is None
    assert {t["id"] for t in service.glossary()} >= {
        "leereenheid",
        "mbo_certificaat",
        "sbb_leerbedrijf",
    }
    assert service.interpret("38", "age")["values"] == {"age": 38}


@pytest.mark.parametrize(
    ("text", "asked", "expected", "absent"),
    [
        (
            "havo, nog geen werkgever, ik ben 33",
            None,
            {"education": {"level": "havo"}, "employer": "none", "age": 33},
            (),
        ),
        (
            "nee, geen diploma in de zorg",
            "care_qualifications",
            {"care_qualifications": []},
            ("education",),
        ),
        ("ik kan 3 dagen werken", None, {"hours_per_week": 24}, ()),
        (
            "I have a degree in accounting",
            None,
            {"education": {"level": "hbo", "field": "accounting"}},
            (),
        ),
        ("12,5 uur", None, {"hours_per_week": 12.5}, ()),
        (
            "mbo 4 ICT. Ik werk als monteur",
            None,
            {"education": {"level": "mbo4", "field": "ict"}, "employer": "other"},
            (),
        ),
    ],
)
def test_phrasings_found_in_real_conversations(
    text: str, asked: str | None, expected: dict[str, Any], absent: tuple[str, ...]
) -> None:
    values = interpret(text, CATALOGUE, asked)["values"]
    for field, value in expected.items():
        assert values.get(field) == value, (text, values)
    for field in absent:
        assert field not in values, (text, values)


# The answers of the conversation issue (#19, section 2), as people gave them.
@pytest.mark.parametrize(
    ("text", "asked", "values", "problems"),
    [
        # "weet ik niet" is unknown, never "no"
        ("weet ik niet", "employer", {}, {"employer": "unknown"}),
        ("geen idee", "care_experience_years", {}, {"care_experience_years": "unknown"}),
        ("weet ik niet", "employer_sbb_recognised", {"employer_sbb_recognised": "unknown"}, {}),
        ("weet ik nog niet", "sector", {"sector": "either"}, {}),
        # "ja" / "nee" to a question with more than two answers asks which
        ("ja", "employer", {}, {"employer": "clarify"}),
        ("ja", "benefit", {}, {"benefit": "clarify"}),
        ("ja", "care_experience_years", {}, {"care_experience_years": "clarify"}),
        ("nee", "care_experience_years", {"care_experience_years": 0}, {}),
        ("nee", "employer", {"employer": "none"}, {}),
        # negation counts in its clause; a job is not a diploma
        ("nee, ik werk niet in de zorg maar bij een bank", "employer", {"employer": "other"}, {}),
        (
            "ik werk als helpende maar heb nog geen diploma",
            None,
            {"employer": "care", "care_qualifications": []},
            {},
        ),
        # employers as people describe them
        ("ja, een thuiszorgorganisatie", "employer", {"employer": "care"}, {}),
        ("ja, wij nemen haar aan", "employer", {"employer": "care"}, {}),
        ("woonzorgcentrum", "employer", {"employer": "care", "sector": "vvt"}, {}),
        (
            "instelling voor mensen met een beperking",
            "employer",
            {"employer": "care", "sector": "ghz"},
            {},
        ),
        ("ik werk bij een supermarkt", "employer", {"employer": "other"}, {}),
        ("ja, buiten de zorg", "employer", {"employer": "other"}, {}),
        ("yes, outside care", "employer", {"employer": "other"}, {}),
        ("ja, in de zorg", "employer", {"employer": "care"}, {}),
        (
            "Ik wil een BBL-opleiding doen bij mijn huidige werkgever, een kleine zorgorganisatie.",
            None,
            {"employer": "care"},
            {},
        ),
        # numbers as people say them
        ("bijna 23", "age", {"age": 22}, {}),
        ("drie en twintig", "age", {"age": 23}, {}),
        ("tussen de 20 en 24 uur", "hours_per_week", {"hours_per_week": 22}, {}),
        ("20-24 uur", None, {"hours_per_week": 22}, {}),
        ("twee dagen", "hours_per_week", {"hours_per_week": 16}, {}),
        ("parttime", "hours_per_week", {}, {"hours_per_week": "clarify"}),
        # typos and spellings
        ("gehandicaptezorg", "sector", {"sector": "ghz"}, {}),
        ("ouderezorg", "sector", {"sector": "vvt"}, {}),
        ("verzorgende ig", "care_qualifications", {"care_qualifications": ["vig_3"]}, {}),
        ("ik heb mijn diploma verzorgnde ig", None, {"care_qualifications": ["vig_3"]}, {}),
        # a place
        ("Nijmegen", "region", {"region": "Nijmegen"}, {}),
        # the goal in English
        ("start working quickly with some tasks", "goal", {"goal": "tasks"}, {}),
        # what a question asks is no answer; what it tells is
        ("Moet mijn werkgever een erkend leerbedrijf zijn?", "age", {}, {}),
        ("Ik ben 20, mag ik ook losse leereenheden volgen?", None, {"age": 20}, {}),
        # a wish is no diploma: it is the target
        ("ik wil verzorgende ig worden", None, {"target": "vig_3"}, {}),
    ],
)
def test_answers_of_the_conversation_issue(
    text: str, asked: str | None, values: dict[str, Any], problems: dict[str, str]
) -> None:
    reading = interpret(text, CATALOGUE, asked)
    found = {k: v for k, v in reading["values"].items() if k != "language"}
    assert {k: found.get(k) for k in values} == values, (text, found)
    if not values:
        assert not set(found) & {"employer", "age", "employer_sbb_recognised"}, (text, found)
    assert {k: reading["problems"].get(k) for k in problems} == problems, (text, reading)


def test_a_birth_year_is_an_age() -> None:
    today = date(2026, 12, 7)
    assert interpret("1988", CATALOGUE, "age", today)["values"]["age"] == 38
    assert interpret("ik ben geboren in 1990", CATALOGUE, None, today)["values"]["age"] == 36
    # Not asked and no "geboren": a year is no age.
    assert "age" not in interpret("sinds 2019 in de zorg", CATALOGUE, None, today)["values"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("persoonlijk begeleider maatschappelijke zorg", "pb_mz_4"),
        ("mbo-verpleegkundige", "mbo_vp_4"),
        ("VIG", "vig_3"),
        ("weet ik nog niet", "unknown"),
    ],
)
def test_the_answer_to_what_do_you_want_to_become(text: str, expected: str) -> None:
    assert interpret(text, CATALOGUE, "target")["values"]["target"] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Tried as a newcomer: the years were taken as years in care, the question skipped.
        (
            "hallo, ik werk nu 12 jaar in een supermarkt en wil de zorg in",
            {"employer": "other", "care_experience_years": None},
        ),
        ("ik werk 12 jaar in de thuiszorg", {"employer": "care", "care_experience_years": 12}),
        (
            "ik heb 3 jaar in de zorg gewerkt, nu werk ik bij een bank",
            {"employer": "other", "care_experience_years": 3},
        ),
    ],
)
def test_years_of_work_outside_care_are_no_care_experience(
    text: str, expected: dict[str, Any]
) -> None:
    values = interpret(text, CATALOGUE, None)["values"]
    assert {field: values.get(field) for field in expected} == expected
