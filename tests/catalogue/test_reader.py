"""Loading the catalogue's YAML files: the real data loads, and each kind of mistake is reported
with its file and entry, without stopping at the first one."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from catalogue.errors import CatalogueInvalid, Problem
from catalogue.reader import DATA_DIR, FILE_NAMES, checksum_of, load_directory, read_texts

# ---- the real data ------------------------------------------------------------------------------


def test_real_data_loads() -> None:
    catalogue = load_directory(DATA_DIR)

    data = catalogue.data
    assert data.version == "2026.12.7"
    assert {"adl", "basis_deskundige_zorg", "helpende_plus"} <= set(catalogue.units)
    assert {"bbl", "bol", "derde_leerweg", "evc", "hbo", "orientatie"} == set(catalogue.routes)
    assert "stap" in catalogue.funding
    assert len(catalogue.rules) == len(data.rules)
    assert len(catalogue.notices) == len(data.notices)
    assert catalogue.regions["almere"] == "Flevoland"
    assert catalogue.checksum == checksum_of(read_texts(DATA_DIR))
    assert catalogue.version_label == f"{data.version}+{catalogue.checksum[:12]}"


def test_every_unit_can_be_followed_and_every_rule_applies_to_something() -> None:
    catalogue = load_directory(DATA_DIR)

    for unit in catalogue.data.units:
        assert unit.routes, unit.id
        assert set(unit.routes) <= set(catalogue.routes), unit.id
    for compiled in catalogue.rules:
        assert compiled.targets, compiled.rule.id


def test_the_checksum_follows_the_files(files: Any) -> None:
    before = files.load().checksum
    files.replace_text("catalogue.yaml", "Zijwijzer-catalogus", "Zijwijzer catalogus")

    after = files.load().checksum

    assert before == load_directory(DATA_DIR).checksum
    assert after != before


# ---- one thing broken at a time -----------------------------------------------------------------


def _unit(document: Any, unit_id: str = "adl") -> dict[str, Any]:
    found = [u for u in document["units"] if u["id"] == unit_id]
    assert len(found) == 1
    return found[0]


def _rule(document: Any, rule_id: str) -> dict[str, Any]:
    found = [r for r in document["rules"] if r["id"] == rule_id]
    assert len(found) == 1
    return found[0]


def _funding(document: Any, funding_id: str) -> dict[str, Any]:
    found = [f for f in document["funding"] if f["id"] == funding_id]
    assert len(found) == 1
    return found[0]


def _notice(document: Any, notice_id: str) -> dict[str, Any]:
    found = [n for n in document["notices"] if n["id"] == notice_id]
    assert len(found) == 1
    return found[0]


def _edit(name: str, edit: Callable[[Any], None]) -> Callable[[Any], None]:
    return lambda files: files.edit_yaml(name, edit)


def _set(getter: Callable[[Any], dict[str, Any]], **values: Any) -> Callable[[Any], None]:
    return lambda document: getter(document).update(values)


def _malformed_units_yaml(files: Any) -> None:
    # Line 18 of units.yaml is adl's title; a second colon makes it invalid YAML.
    lines = files.read("units.yaml").splitlines(keepends=True)
    assert lines[17].startswith('    title: "Algemene Dagelijkse Levensverrichtingen')
    lines[17] = "    title: Algemene: Dagelijkse Levensverrichtingen\n"
    files.write("units.yaml", "".join(lines))


def _duplicate_adl(document: Any) -> None:
    twin = copy.deepcopy(_unit(document))
    twin["title"] = "Nog een keer ADL"
    document["units"].append(twin)


def _rename_title_to_titel(document: Any) -> None:
    unit = _unit(document)
    unit["titel"] = unit.pop("title")


def _history_after_notice(document: Any) -> None:
    notice = _notice(document, "evc_not_accepted_2026")
    notice["history"][0]["date"] = dt.date(2026, 3, 1)  # the notice is of 2026-02-13


def _price_min_above_max(document: Any) -> None:
    unit = _unit(document)
    # The price is a shared YAML anchor: give adl its own copy.
    unit["price"] = {**unit["price"], "min_eur": 1500, "max_eur": 1200}


def _regions(edit: Callable[[Any], None]) -> Callable[[Any], None]:
    return _edit("regions.yaml", edit)


def _municipality(document: Any, province: str, municipality: str) -> list[str]:
    places: list[str] = document["provinces"][province][municipality]
    return places


@dataclass(frozen=True)
class Case:
    """One broken thing: what to break, where it must be reported, and a phrase of the report."""

    id: str
    breaks: Callable[[Any], None]
    where: str  # the start of the problem's str(): "file: entry" or "file"
    says: str


CASES = [
    Case(
        "malformed_yaml",
        _malformed_units_yaml,
        "units.yaml: line 18",
        "not valid YAML",
    ),
    Case(
        "missing_file",
        lambda files: files.remove("routes.yaml"),
        "routes.yaml",
        "file is missing",
    ),
    Case(
        "unexpected_extra_file",
        lambda files: files.write("routes_old.yaml", "routes: []\n"),
        "routes_old.yaml",
        "unexpected file",
    ),
    Case(
        "duplicate_unit_id",
        _edit("units.yaml", _duplicate_adl),
        "units.yaml: unit 'adl'",
        "duplicate id",
    ),
    Case(
        "unit_with_unknown_qualification",
        _edit("units.yaml", _set(_unit, qualification="vig_9")),
        "units.yaml: unit 'adl'",
        "qualification 'vig_9' is not in qualifications.yaml",
    ),
    Case(
        "unit_with_unknown_route",
        _edit("units.yaml", _set(_unit, routes=["orientatie", "avondschool"])),
        "units.yaml: unit 'adl'",
        "route 'avondschool' is not in routes.yaml",
    ),
    Case(
        "source_not_in_sources_yaml",
        _edit("funding.yaml", _set(lambda d: _funding(d, "slim"), sources=["facts_fundign"])),
        "funding.yaml: funding 'slim'",
        "source 'facts_fundign' is not in sources.yaml",
    ),
    Case(
        "entry_without_sources",
        _edit("units.yaml", _set(_unit, sources=[])),
        "units.yaml: unit 'adl'",
        "sources: List should have at least 1 item",
    ),
    Case(
        "unknown_field_in_unit",
        _edit("units.yaml", _rename_title_to_titel),
        "units.yaml: unit 'adl'",
        "titel: Extra inputs are not permitted",
    ),
    Case(
        "bad_status",
        _edit("units.yaml", _set(_unit, status="checked")),
        "units.yaml: unit 'adl'",
        "status: Input should be 'verified', 'unverified', 'ended' or 'contested'",
    ),
    Case(
        "rule_with_syntax_error",
        _edit("rules.yaml", _set(lambda d: _rule(d, "unit_single_from_23"), when="age < < 23")),
        "rules.yaml: rule 'unit_single_from_23'",
        "bad expression 'age < < 23'",
    ),
    Case(
        "rule_with_unknown_symbol",
        _edit("rules.yaml", _set(lambda d: _rule(d, "unit_single_from_23"), when="leeftijd < 23")),
        "rules.yaml: rule 'unit_single_from_23'",
        "unknown symbol 'leeftijd'",
    ),
    Case(
        "rule_goal_never_taks",
        _edit(
            "rules.yaml",
            _set(lambda d: _rule(d, "unit_helpende_plus_for_helpende"), when="goal == 'taks'"),
        ),
        "rules.yaml: rule 'unit_helpende_plus_for_helpende'",
        "goal is never 'taks'",
    ),
    Case(
        "rule_goal_never_taks_in_list",
        _edit(
            "rules.yaml",
            _set(
                lambda d: _rule(d, "bbl_work_and_learn"),
                when="goal in ['taks', 'certificate'] and hours_per_week >= 16",
            ),
        ),
        "rules.yaml: rule 'bbl_work_and_learn'",
        "goal is never 'taks'",
    ),
    Case(
        "rule_selector_names_unknown_unit",
        _edit(
            "rules.yaml", _set(lambda d: _rule(d, "unit_flevoland_adl"), applies_to=["unit:adl2"])
        ),
        "rules.yaml: rule 'unit_flevoland_adl'",
        "selector 'unit:adl2' names no known unit",
    ),
    Case(
        "rule_selector_matches_nothing",
        _edit(
            "rules.yaml",
            _set(lambda d: _rule(d, "unit_flevoland_adl"), applies_to=["unit:sector=vvt,level=6"]),
        ),
        "rules.yaml: rule 'unit_flevoland_adl'",
        "selector 'unit:sector=vvt,level=6' matches no item",
    ),
    Case(
        "rule_number_less_than_string",
        _edit("rules.yaml", _set(lambda d: _rule(d, "unit_single_from_23"), when="age < '23'")),
        "rules.yaml: rule 'unit_single_from_23'",
        "age < '23'",
    ),
    # A quoted number is the likely typo; with == it would silently never match.
    Case(
        "rule_number_equals_string",
        _edit("rules.yaml", _set(lambda d: _rule(d, "unit_single_from_23"), when="age == '23'")),
        "rules.yaml: rule 'unit_single_from_23'",
        "age == '23'",
    ),
    Case(
        "notice_history_newer_than_notice",
        _edit("notices.yaml", _history_after_notice),
        "notices.yaml: notice 'evc_not_accepted_2026'",
        "history entry 2026-03-01 is newer than the notice",
    ),
    Case(
        "ended_funding_without_valid_until",
        _edit("funding.yaml", lambda d: _funding(d, "stap").pop("valid_until")),
        "funding.yaml: funding 'stap'",
        "an ended scheme needs valid_until",
    ),
    Case(
        "price_min_above_max",
        _edit("units.yaml", _price_min_above_max),
        "units.yaml: unit 'adl'",
        "price: Value error, min_eur is larger than max_eur",
    ),
    Case(
        "place_under_two_municipalities",
        _regions(lambda d: _municipality(d, "Flevoland", "Dronten").append("Emmeloord")),
        "regions.yaml: place 'Emmeloord'",
        "is listed under Dronten (Flevoland), Noordoostpolder (Flevoland): if these are"
        " different places of the same name, add it to homonyms",
    ),
    Case(
        "place_named_like_another_municipality",
        _regions(lambda d: _municipality(d, "Flevoland", "Dronten").append("Zwolle")),
        "regions.yaml: place 'Zwolle'",
        "also the municipality Zwolle",
    ),
    Case(
        "place_twice_in_its_municipality",
        _regions(lambda d: _municipality(d, "Flevoland", "Dronten").append("biddinghuizen")),
        "regions.yaml: municipality 'Dronten'",
        "'biddinghuizen' is listed twice",
    ),
    Case(
        "municipality_in_two_provinces",
        _regions(lambda d: d["provinces"]["Utrecht"].update({"Almere": []})),
        "regions.yaml: municipality 'Almere'",
        "is listed twice (also in Flevoland)",
    ),
    Case(
        "province_as_a_list_of_places",
        _regions(lambda d: d["provinces"].update({"Flevoland": ["Almere", "Lelystad"]})),
        "regions.yaml: province 'Flevoland'",
        "needs a mapping of its municipalities to their places",
    ),
    Case(
        "homonym_of_one_place",
        _regions(lambda d: d["homonyms"].update({"Emmeloord": None})),
        "regions.yaml: homonym 'Emmeloord'",
        "names one place only",
    ),
    Case(
        "homonym_meaning_another_municipality",
        _regions(lambda d: d["homonyms"].update({"Zevenhuizen": "Zwolle"})),
        "regions.yaml: homonym 'Zevenhuizen'",
        "'Zwolle' is not a municipality it is listed under (Westerkwartier, Zuidplas)",
    ),
    Case(
        "alias_of_an_unknown_place",
        _regions(lambda d: d["aliases"].update({"Goudse Waarden": "Goudastad"})),
        "regions.yaml: alias 'Goudse Waarden'",
        "'Goudastad' is not a province, municipality or place in the list",
    ),
    Case(
        "alias_that_is_a_name",
        _regions(lambda d: d["aliases"].update({"zwolle": "Overijssel"})),
        "regions.yaml: alias 'zwolle'",
        "is already the name 'Zwolle' in the list",
    ),
    Case(
        "word_that_is_no_place",
        _regions(lambda d: d["words"].append("Zorg")),
        "regions.yaml: word 'Zorg'",
        "is not a province, municipality or place in the list",
    ),
    Case(
        "region_source_unknown",
        _regions(lambda d: d["sources"].append("cbs_gemeenten_1999")),
        "regions.yaml",
        "source 'cbs_gemeenten_1999' is not in sources.yaml",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_one_broken_thing_is_reported_with_file_and_entry(files: Any, case: Case) -> None:
    case.breaks(files)

    with pytest.raises(CatalogueInvalid) as raised:
        files.load()

    reports = [str(problem) for problem in raised.value.problems]
    matching = [r for r in reports if r.startswith(f"{case.where}: ") and case.says in r]
    assert matching, f"no problem starting {case.where!r} and saying {case.says!r} in {reports}"
    # One broken thing is reported where it is, not as a cascade across the catalogue.
    files_named = {problem.file for problem in raised.value.problems}
    assert files_named == {case.where.split(":")[0]}, reports
    assert raised.value.report() == "\n".join(reports)


def test_a_problem_reads_file_entry_message() -> None:
    assert str(Problem("units.yaml", "unit 'adl'", "duplicate id")) == (
        "units.yaml: unit 'adl': duplicate id"
    )
    assert str(Problem("routes.yaml", "", "file is missing")) == "routes.yaml: file is missing"


def test_a_folder_that_is_not_there_is_reported(tmp_path: Any) -> None:
    with pytest.raises(CatalogueInvalid) as raised:
        load_directory(tmp_path / "nope")

    assert [p.message for p in raised.value.problems] == ["is not a directory"]


def test_an_empty_folder_reports_every_file_missing(tmp_path: Any) -> None:
    with pytest.raises(CatalogueInvalid) as raised:
        load_directory(tmp_path)

    assert sorted(p.file for p in raised.value.problems) == sorted(FILE_NAMES)
    assert all(p.message == "file is missing" for p in raised.value.problems)


# ---- several problems at once -------------------------------------------------------------------


def test_several_field_problems_are_all_reported(files: Any) -> None:
    files.edit_yaml("units.yaml", _set(_unit, status="checked"))
    files.edit_yaml("routes.yaml", lambda d: d["routes"][0].update(titel="BBL"))
    files.edit_yaml("funding.yaml", _set(lambda d: _funding(d, "slim"), applicant="iedereen"))
    files.write("notices.yaml", "notices: [unclosed\n")
    files.remove("regions.yaml")

    assert_all_reported(
        files,
        [
            "units.yaml: unit 'adl': status: ",
            "routes.yaml: route 'bbl': titel: Extra inputs are not permitted",
            "funding.yaml: funding 'slim': applicant: ",
            "notices.yaml: line ",
            "regions.yaml: file is missing",
        ],
    )


def assert_all_reported(files: Any, starts: list[str]) -> None:
    """Loading fails with one problem for each of `starts` (how its report begins), no more."""
    with pytest.raises(CatalogueInvalid) as raised:
        files.load()

    reports = [str(p) for p in raised.value.problems]
    for start in starts:
        assert any(r.startswith(start) for r in reports), (start, reports)
    assert len(reports) == len(starts)


def test_several_cross_check_problems_are_all_reported(files: Any) -> None:
    files.edit_yaml("units.yaml", _set(_unit, qualification="vig_9"))
    files.edit_yaml(
        "units.yaml", _set(lambda d: _unit(d, "helpende_plus"), routes=["bbl", "avondschool"])
    )
    files.edit_yaml(
        "rules.yaml", _set(lambda d: _rule(d, "bbl_for_diploma"), when="goal == 'taks'")
    )
    files.edit_yaml(
        "rules.yaml", _set(lambda d: _rule(d, "unit_flevoland_adl"), applies_to=["unit:adl2"])
    )
    files.edit_yaml("funding.yaml", lambda d: _funding(d, "stap").pop("valid_until"))
    files.edit_yaml("notices.yaml", _history_after_notice)

    assert_all_reported(
        files,
        [
            "units.yaml: unit 'adl': qualification 'vig_9' is not in qualifications.yaml",
            "units.yaml: unit 'helpende_plus': route 'avondschool' is not in routes.yaml",
            "rules.yaml: rule 'bbl_for_diploma': goal is never 'taks'",
            "rules.yaml: rule 'unit_flevoland_adl': selector 'unit:adl2' names no known unit",
            "funding.yaml: funding 'stap': an ended scheme needs valid_until",
            "notices.yaml: notice 'evc_not_accepted_2026': history entry 2026-03-01 is newer",
        ],
    )
