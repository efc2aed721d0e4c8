"""The region question: places and provinces of regions.yaml, as people write them."""

from __future__ import annotations

import pytest

from catalogue.advice import advise
from catalogue.interpret import find_region, interpret, province_of
from catalogue.reader import load_directory
from catalogue.service import CatalogueService

CATALOGUE = load_directory()


@pytest.mark.parametrize(
    ("text", "region", "province"),
    [
        ("Zwolle", "Zwolle", "Overijssel"),
        ("ik woon in Epe", "Epe", "Gelderland"),
        ("Flevoland", "Flevoland", "Flevoland"),
        ("noord holland", "Noord-Holland", "Noord-Holland"),
        ("Brabant", "Noord-Brabant", "Noord-Brabant"),
        ("Fryslân", "Friesland", "Friesland"),
        ("den bosch", "Den Bosch", "Noord-Brabant"),
        ("s hertogenbosch", "'s-Hertogenbosch", "Noord-Brabant"),
        ("in de buurt van ALMERE", "Almere", "Flevoland"),
    ],
)
def test_places_and_spellings_map_to_their_province(text: str, region: str, province: str) -> None:
    assert interpret(text, CATALOGUE, "region")["values"]["region"] == region
    assert province_of(region, CATALOGUE) == province


@pytest.mark.parametrize("text", ["Atlantis", "ergens in het oosten", "op de maan"])
def test_an_unknown_place_is_asked_again(text: str) -> None:
    reading = interpret(text, CATALOGUE, "region")
    assert "region" not in reading["values"]
    assert reading["problems"]["region"] == "unknown_place"


def test_not_knowing_is_no_unknown_place() -> None:
    reading = interpret("weet ik niet", CATALOGUE, "region")
    assert "region" not in reading["values"]
    assert reading["problems"].get("region") != "unknown_place"


@pytest.mark.parametrize("text", ["it goes well", "het gaat best goed", "ik wil het liefst werken"])
def test_place_names_that_are_words_need_a_marker_when_not_asked(text: str) -> None:
    assert "region" not in interpret(text, CATALOGUE, None)["values"]
    assert find_region("ik woon in Goes", CATALOGUE, anywhere=False) == "Goes"


def test_a_province_answer_counts_for_the_province_rules() -> None:
    """ "Flevoland" as the answer gets the Flevoland orientation note, like "Almere" does."""
    base = {"age": 40, "benefit": "ww", "language": "nl"}
    for region in ("Almere", "Flevoland", "flevoland"):
        advice = advise(CATALOGUE, {**base, "region": region})
        (orientation,) = [r for r in advice["routes"] if r["id"] == "orientatie"]
        rules = {reason["rule"] for reason in orientation["reasons"]}
        assert "orientation_flevoland" in rules and "orientation_elsewhere" not in rules, region


def test_the_service_names_the_province() -> None:
    service = CatalogueService.from_catalogue(CATALOGUE)
    assert service.province("Lelystad") == "Flevoland"
    assert service.province("Atlantis") is None
