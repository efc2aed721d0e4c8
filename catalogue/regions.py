"""Reads regions.yaml: provinces, their municipalities and the places in each, homonyms,
aliases and place names that are also words. Every problem is named with its entry."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from catalogue.errors import Problem

FILE: Final = "regions.yaml"
KEYS: Final = ("sources", "provinces", "homonyms", "aliases", "words")


def name_key(name: str) -> str:
    """A name as compared: case, accents, hyphens, apostrophes and other punctuation do not count
    ("'s-Hertogenbosch" is "s hertogenbosch", "Súdwest-Fryslân" is "sudwest fryslan")."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[\W_]+", " ", plain).split())


@dataclass
class Regions:
    """What CatalogueData keeps of regions.yaml (see the fields there)."""

    regions: dict[str, str] = field(default_factory=dict)
    municipalities: dict[str, str] = field(default_factory=dict)
    homonyms: dict[str, list[str]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and bool(name_key(value))


def _names(value: Any) -> list[str] | None:
    """The list of names, or None when it is not one ([] for an empty YAML value)."""
    if value is None:
        return []
    if isinstance(value, list) and all(_is_name(item) for item in value):
        return [str(item).strip() for item in value]
    return None


def read_regions(document: Mapping[str, Any], problems: list[Problem]) -> Regions:
    """The regions of the parsed regions.yaml; what is wrong goes to `problems`."""
    out = Regions()

    def problem(entry: str, message: str) -> None:
        problems.append(Problem(FILE, entry, message))

    for extra in sorted(map(str, set(document) - set(KEYS))):
        problem("", f"unknown top-level key {extra!r} (expected: {', '.join(KEYS)})")
    sources = _names(document.get("sources"))
    if sources is None:
        problem("sources", "needs a list of source ids from sources.yaml")
    else:
        out.sources = sources
    provinces = document.get("provinces")
    if not isinstance(provinces, dict) or not provinces:
        problem("", "needs a mapping under 'provinces': province -> municipality -> places")
        return out

    # Provinces and municipalities: names are unique (CBS writes the two Bergens apart).
    province_names: dict[str, str] = {}  # key -> province
    municipality_names: dict[str, tuple[str, str]] = {}  # key -> (municipality, its province)
    places_of: dict[str, list[str]] = {}
    for province, municipalities in provinces.items():
        if not _is_name(province):
            problem("", f"province {province!r} needs a name")
            continue
        entry = f"province {province!r}"
        if name_key(province) in province_names:
            problem(entry, "is listed twice")
            continue
        province_names[name_key(province)] = province
        if not isinstance(municipalities, dict) or not municipalities:
            problem(entry, "needs a mapping of its municipalities to their places")
            continue
        for municipality, places in municipalities.items():
            if not _is_name(municipality):
                problem(entry, f"{municipality!r} is not a municipality name")
                continue
            place_names = _names(places)
            if place_names is None:
                problem(f"municipality {municipality!r}", "needs a list of place names (or [])")
                continue
            key = name_key(municipality)
            if key in municipality_names:
                problem(
                    f"municipality {municipality!r}",
                    f"is listed twice (also in {municipality_names[key][1]})",
                )
                continue
            municipality_names[key] = (municipality, province)
            places_of[municipality] = place_names
    province_of = dict(municipality_names.values())
    for key, (municipality, province) in municipality_names.items():
        if key in province_names and province_names[key] != province:
            problem(
                f"municipality {municipality!r}",
                f"is named like the province {province_names[key]}, in another province",
            )

    # Places: (name as written, municipality) for every place name.
    listed: dict[str, list[tuple[str, str]]] = {}
    for municipality, places in places_of.items():
        seen: set[str] = set()
        for place in places:
            key = name_key(place)
            if key in seen:
                problem(f"municipality {municipality!r}", f"{place!r} is listed twice")
                continue
            seen.add(key)
            if key != name_key(municipality):  # its main place, named like the municipality
                listed.setdefault(key, []).append((place, municipality))

    declared = _read_homonyms(document.get("homonyms"), problem)

    for province in province_names.values():
        out.regions[province] = province
    for municipality, province in province_of.items():
        out.regions.setdefault(municipality, province)
        out.municipalities[municipality] = municipality
    for key, entries in listed.items():
        place = entries[0][0]
        where = [municipality for _, municipality in entries]
        other_municipality = municipality_names.get(key)
        other_province = province_names.get(key)
        if len(entries) == 1 and other_municipality is None and other_province is None:
            out.regions[place] = province_of[where[0]]
            out.municipalities[place] = where[0]
            if key in declared:
                problem(f"homonym {place!r}", "names one place only: remove it from homonyms")
            continue
        if key not in declared:
            also = "".join(
                [
                    f"; also the municipality {other_municipality[0]}"
                    if other_municipality
                    else "",
                    f"; also the province {other_province}" if other_province else "",
                ]
            )
            listed_under = ", ".join(f"{m} ({province_of[m]})" for m in where)
            problem(
                f"place {place!r}",
                f"is listed under {listed_under}{also}: if these are different places of the same"
                " name, add it to homonyms; if not, list it once",
            )
            continue
        everywhere = set(where) | ({other_municipality[0]} if other_municipality else set())
        out.homonyms[place] = sorted(everywhere)
        for municipality in where:
            out.municipalities[f"{place} ({municipality})"] = municipality
        choice = declared[key][1]
        if other_municipality or other_province:
            # The municipality's or province's own name wins; it is already in regions.
            if choice is not None:
                problem(
                    f"homonym {place!r}",
                    "alone means the municipality or province of that name: give it ~",
                )
        elif choice is not None:
            if choice not in where:
                problem(
                    f"homonym {place!r}",
                    f"{choice!r} is not a municipality it is listed under ({', '.join(where)})",
                )
            else:
                out.regions[place] = province_of[choice]
                out.municipalities[place] = choice
        elif len({province_of[m] for m in where}) == 1:
            out.regions[place] = province_of[where[0]]
    for key, (name, _choice) in declared.items():
        if key not in listed:
            problem(f"homonym {name!r}", "is not a place in the list: remove it from homonyms")

    names = {name_key(name): name for name in [*out.regions, *out.homonyms]}
    out.aliases = _read_aliases(document.get("aliases"), names, problem)
    words = _names(document.get("words"))
    if words is None:
        problem("words", "needs a list of place names")
    else:
        for word in words:
            if name_key(word) not in names:
                problem(f"word {word!r}", "is not a province, municipality or place in the list")
            else:
                out.words.append(names[name_key(word)])
    return out


def _read_homonyms(raw: Any, problem: Any) -> dict[str, tuple[str, str | None]]:
    """name key -> (the name as written, the municipality it means alone or None)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problem("homonyms", "needs a mapping: name -> the municipality it means alone, or ~")
        return {}
    declared: dict[str, tuple[str, str | None]] = {}
    for name, choice in raw.items():
        if not _is_name(name) or not (choice is None or _is_name(choice)):
            problem(f"homonym {name!r}", "needs a name and a municipality name or ~")
            continue
        if name_key(name) in declared:
            problem(f"homonym {name!r}", "is listed twice")
            continue
        declared[name_key(name)] = (name, None if choice is None else str(choice).strip())
    return declared


def _read_aliases(raw: Any, names: dict[str, str], problem: Any) -> dict[str, str]:
    """alias -> the name it stands for, as the list writes it."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problem("aliases", "needs a mapping: another way of writing -> the name in the list")
        return {}
    aliases: dict[str, str] = {}
    seen: set[str] = set()
    for alias, target in raw.items():
        entry = f"alias {alias!r}"
        if not _is_name(alias) or not _is_name(target):
            problem(entry, "needs a name and the name it stands for")
            continue
        key = name_key(alias)
        if key in names:
            problem(entry, f"is already the name {names[key]!r} in the list: remove the alias")
        elif key in seen:
            problem(entry, "is listed twice")
        elif name_key(target) not in names:
            problem(entry, f"{target!r} is not a province, municipality or place in the list")
        else:
            seen.add(key)
            aliases[str(alias).strip()] = names[name_key(target)]
    return aliases
