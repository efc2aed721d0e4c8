"""The region question: provinces, municipalities and places of regions.yaml, as people write
them; a place the list lacks is no region (the caller keeps it as typed)."""

from __future__ import annotations

import pytest

from catalogue.advice import advise
from catalogue.interpret import find_region, interpret, province_of
from catalogue.reader import load_directory
from catalogue.service import CatalogueService

CATALOGUE = load_directory()
DATA = CATALOGUE.data
PROVINCES = {
    "Groningen",
    "Friesland",
    "Drenthe",
    "Overijssel",
    "Flevoland",
    "Gelderland",
    "Utrecht",
    "Noord-Holland",
    "Zuid-Holland",
    "Zeeland",
    "Noord-Brabant",
    "Limburg",
}


# ---- the list -----------------------------------------------------------------------------------


def test_every_province_has_its_municipalities() -> None:
    """The CBS division of 1 January 2026: 342 municipalities in 12 provinces."""
    municipalities = {
        name for name, municipality in DATA.municipalities.items() if name == municipality
    }
    per_province: dict[str, int] = {}
    for name in municipalities:
        per_province[DATA.regions[name]] = per_province.get(DATA.regions[name], 0) + 1

    assert set(per_province) == PROVINCES == set(DATA.regions.values())
    assert len(municipalities) == 342
    assert per_province["Flevoland"] == 6
    assert per_province["Noord-Brabant"] == 56
    assert {"Noordoostpolder", "Eemsdelta", "Súdwest-Fryslân", "Voorne aan Zee"} <= municipalities


@pytest.mark.parametrize(
    ("place", "municipality", "province"),
    [
        ("Emmeloord", "Noordoostpolder", "Flevoland"),
        ("Delfzijl", "Eemsdelta", "Groningen"),
        ("Hoofddorp", "Haarlemmermeer", "Noord-Holland"),
        ("Zaandam", "Zaanstad", "Noord-Holland"),
        ("Veghel", "Meierijstad", "Noord-Brabant"),
        ("Spijkenisse", "Nissewaard", "Zuid-Holland"),
        ("Sneek", "Súdwest-Fryslân", "Friesland"),
        ("Nijmegen", "Nijmegen", "Gelderland"),
    ],
)
def test_places_lie_in_their_municipality_and_province(
    place: str, municipality: str, province: str
) -> None:
    assert DATA.municipalities[place] == municipality
    assert DATA.regions[place] == province
    assert find_region(place, CATALOGUE) == place
    assert province_of(place, CATALOGUE) == province


# ---- what people type ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "region", "province"),
    [
        ("Zwolle", "Zwolle", "Overijssel"),
        ("Nijmegen", "Nijmegen", "Gelderland"),
        ("ik woon in Epe", "Epe", "Gelderland"),
        ("ik woon in de buurt van Zwolle", "Zwolle", "Overijssel"),
        ("ik kom uit Emmeloord", "Emmeloord", "Flevoland"),
        ("hoofddorp", "Hoofddorp", "Noord-Holland"),
        ("Flevoland", "Flevoland", "Flevoland"),
        ("noord holland", "Noord-Holland", "Noord-Holland"),
        ("Brabant", "Noord-Brabant", "Noord-Brabant"),
        ("Fryslân", "Friesland", "Friesland"),
        ("den bosch", "'s-Hertogenbosch", "Noord-Brabant"),
        ("s hertogenbosch", "'s-Hertogenbosch", "Noord-Brabant"),
        ("'s-Hertogenbosch", "'s-Hertogenbosch", "Noord-Brabant"),
        ("The Hague", "'s-Gravenhage", "Zuid-Holland"),
        ("Súdwest-Fryslân", "Súdwest-Fryslân", "Friesland"),
        ("sudwest fryslan", "Súdwest-Fryslân", "Friesland"),
        ("in de buurt van ALMERE", "Almere", "Flevoland"),
        ("Bergen op Zoom", "Bergen op Zoom", "Noord-Brabant"),
        ("ik woon in Best", "Best", "Noord-Brabant"),
        ("Zeeland", "Zeeland", "Zeeland"),
    ],
)
def test_places_and_spellings_map_to_their_province(text: str, region: str, province: str) -> None:
    assert interpret(text, CATALOGUE, "region")["values"]["region"] == region
    assert province_of(region, CATALOGUE) == province


def test_a_bare_place_name_answers_the_region_question_only() -> None:
    assert interpret("Nijmegen", CATALOGUE, asked="region")["values"]["region"] == "Nijmegen"
    assert "region" not in interpret("Nijmegen", CATALOGUE)["values"]
    assert interpret("ik woon in de buurt van Zwolle", CATALOGUE)["values"]["region"] == "Zwolle"


@pytest.mark.parametrize(
    "text", ["Atlantis", "ergens in het oosten", "op de maan", "Zijwijzerdorp"]
)
def test_a_place_the_list_lacks_is_no_region(text: str) -> None:
    """find_region says None; the intake keeps what was typed and asks once more."""
    assert find_region(text, CATALOGUE) is None
    assert province_of(text, CATALOGUE) is None
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


@pytest.mark.parametrize(
    "text",
    [
        "ik woon in een klein dorp",  # Een (Drenthe)
        "I am doing well",  # Well (Gelderland, Limburg)
        "ik woon bij hem",  # Hem (Noord-Holland)
        "ik woon in het noorden",  # Noorden (Zuid-Holland)
        "ik werk in de handel",  # Handel (Noord-Brabant)
    ],
)
def test_everyday_words_are_no_places_even_when_asked(text: str) -> None:
    assert find_region(text, CATALOGUE) is None


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("Een", "Een"),
        ("ik woon in Een", "Een"),
        ("ik woon in Made, al tien jaar", "Made"),
        ("in Goes en ik werk in Middelburg", "Middelburg"),  # the longest name wins
        ("ik woon in het noorden van Groningen", "Groningen"),
    ],
)
def test_everyday_words_are_places_as_the_answer_or_after_in(text: str, region: str) -> None:
    assert find_region(text, CATALOGUE) == region


# ---- names of more than one place ---------------------------------------------------------------


def test_a_municipality_name_wins_over_a_place_of_another_municipality() -> None:
    """Hengelo is the municipality in Overijssel; the village in Bronckhorst is kept under a
    qualified name."""
    assert find_region("ik woon in Hengelo", CATALOGUE) == "Hengelo"
    assert province_of("Hengelo", CATALOGUE) == "Overijssel"
    assert DATA.municipalities["Hengelo"] == "Hengelo"
    assert DATA.municipalities["Hengelo (Bronckhorst)"] == "Bronckhorst"
    assert DATA.homonyms["Hengelo"] == ["Bronckhorst", "Hengelo"]


def test_a_name_of_places_in_two_provinces_is_found_but_gives_no_province() -> None:
    """Zevenhuizen lies in Zuidplas (Zuid-Holland) and in Westerkwartier (Groningen)."""
    assert find_region("ik woon in Zevenhuizen", CATALOGUE) == "Zevenhuizen"
    assert province_of("Zevenhuizen", CATALOGUE) is None
    assert "Zevenhuizen" not in DATA.regions
    assert DATA.municipalities["Zevenhuizen (Zuidplas)"] == "Zuidplas"
    assert DATA.municipalities["Zevenhuizen (Westerkwartier)"] == "Westerkwartier"
    advice = advise(CATALOGUE, {"age": 40, "benefit": "ww", "region": "Zevenhuizen"})
    assert advice["routes"]


def test_a_name_of_places_in_one_province_gives_that_province() -> None:
    """Oudega lies in three Frisian municipalities: the province is known, the municipality not."""
    assert province_of("Oudega", CATALOGUE) == "Friesland"
    assert "Oudega" not in DATA.municipalities
    assert len(DATA.homonyms["Oudega"]) == 3


def test_a_homonym_can_mean_one_of_its_places_alone() -> None:
    """Haren alone is the former municipality in Groningen, not the village in Oss."""
    assert province_of("Haren", CATALOGUE) == "Groningen"
    assert DATA.municipalities["Haren (Oss)"] == "Oss"


def test_a_province_name_means_the_province() -> None:
    """Zeeland is also a village in Maashorst (Noord-Brabant)."""
    assert province_of("ik woon in Zeeland", CATALOGUE) == "Zeeland"
    assert DATA.municipalities["Zeeland (Maashorst)"] == "Maashorst"


# ---- what follows from the region ---------------------------------------------------------------


def test_a_province_answer_counts_for_the_province_rules() -> None:
    """ "Flevoland" as the answer gets the Flevoland orientation note, like "Almere" and
    "Emmeloord" do."""
    base = {"age": 40, "benefit": "ww", "language": "nl"}
    for region in ("Almere", "Flevoland", "flevoland", "Emmeloord"):
        advice = advise(CATALOGUE, {**base, "region": region})
        (orientation,) = [r for r in advice["routes"] if r["id"] == "orientatie"]
        rules = {reason["rule"] for reason in orientation["reasons"]}
        assert "orientation_flevoland" in rules and "orientation_elsewhere" not in rules, region


def test_a_region_kept_as_an_alias_still_has_its_province() -> None:
    assert CATALOGUE.regions["den bosch"] == "Noord-Brabant"
    assert CATALOGUE.regions["brabant"] == "Noord-Brabant"


def test_the_service_names_the_province() -> None:
    service = CatalogueService.from_catalogue(CATALOGUE)
    assert service.province("Lelystad") == "Flevoland"
    assert service.province("Emmeloord") == "Flevoland"
    assert service.province("Atlantis") is None
