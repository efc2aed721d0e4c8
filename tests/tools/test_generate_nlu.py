"""tools/generate_nlu.py: synonyms and lookup tables from the catalogue's terms."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from catalogue.reader import load_directory
from catalogue.service import catalogue_terms
from tests.sample_terms import TERMS
from tools import generate_nlu

ROOT = Path(__file__).resolve().parents[2]


def _parse(text: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(synonyms by id, lookups by entity) of a generated NLU file."""
    data = yaml.safe_load(text)
    assert data["version"] == "3.1"
    synonyms: dict[str, list[str]] = {}
    lookups: dict[str, list[str]] = {}
    for block in data["nlu"]:
        examples = [line.removeprefix("- ") for line in block["examples"].splitlines()]
        if "synonym" in block:
            synonyms[block["synonym"]] = examples
        else:
            lookups[block["lookup"]] = examples
    return synonyms, lookups


def test_synonyms_and_lookups() -> None:
    synonyms, lookups = _parse(generate_nlu.render(generate_nlu.build_nlu(TERMS)))
    assert synonyms == {
        # "adl" maps to itself and is the same phrase as "ADL": no synonym needed
        "adl": ["Daily living", "wassen"],
        "bbl": ["werken en leren"],  # whitespace normalised
        "vig_3": ["25656", "Verzorgende-IG"],
    }
    assert lookups == {
        "funding": ["SLIM"],
        "qualification": ["25656", "Verzorgende-IG"],
        "route": ["BBL", "werken en leren"],
        "unit": ["ADL", "Daily living", "wassen"],
    }


def test_entity_names_agree_with_the_entity_ruler() -> None:
    from bot.nlp.build_pipeline import patterns_from_terms

    labels = {p["label"] for p in patterns_from_terms(TERMS)}
    _, lookups = _parse(generate_nlu.render(generate_nlu.build_nlu(TERMS)))
    assert set(lookups) == labels == {"unit", "qualification", "route", "funding"}


def test_glossary_terms_section_is_optional() -> None:
    with_terms = {**TERMS, "terms": [{"id": "bbl_term", "title": "beroepsbegeleidend"}]}
    synonyms, lookups = _parse(generate_nlu.render(generate_nlu.build_nlu(with_terms)))
    assert lookups["term"] == ["beroepsbegeleidend"]
    assert synonyms["bbl_term"] == ["beroepsbegeleidend"]


def test_output_is_deterministic_whatever_the_input_order() -> None:
    shuffled = {k: list(reversed(v)) for k, v in reversed(list(TERMS.items()))}
    shuffled["units"] = [{**TERMS["units"][0], "synonyms": ["wassen", "adl"]}]
    assert generate_nlu.generate(shuffled) == generate_nlu.generate(TERMS)


def test_phrase_naming_two_items_gets_no_synonym_and_a_warning() -> None:
    warnings: list[str] = []
    terms = {
        "units": [{"id": "b", "title": "Zorg", "synonyms": ["zorg b"]}],
        "routes": [{"id": "a", "title": "zorg"}],
    }
    nlu = generate_nlu.build_nlu(terms, warn=warnings.append)
    assert nlu["synonyms"] == {"b": ["zorg b"]}
    assert warnings == ["'zorg' names a and b: no synonym, the text stays the value"]
    assert nlu["lookups"] == {"route": ["zorg"], "unit": ["Zorg", "zorg b"]}


def test_empty_terms_give_valid_yaml() -> None:
    assert yaml.safe_load(generate_nlu.render(generate_nlu.build_nlu({})))["nlu"] == []


def test_special_characters_survive_yaml() -> None:
    terms = {"units": [{"id": "x", "title": "Zorg: 'thuis' / #1 (A&B) - \"x\""}]}
    synonyms, _ = _parse(generate_nlu.render(generate_nlu.build_nlu(terms)))
    assert synonyms == {"x": ["Zorg: 'thuis' / #1 (A&B) - \"x\""]}


def test_a_unit_added_to_a_copy_of_the_catalogue_is_in_the_generated_nlu(
    tmp_path: Path,
) -> None:
    """The promise: a new unit in the catalogue data needs no hand-written NLU.

    The same commands as make: `python -m catalogue terms --json --from-files`, then the
    generator, on a copy of catalogue/data with one unit added.
    """
    data_dir = tmp_path / "data"
    shutil.copytree(ROOT / "catalogue" / "data", data_dir)
    units_file = data_dir / "units.yaml"
    units = yaml.safe_load(units_file.read_text(encoding="utf-8"))
    new = {
        **units["units"][0],
        "id": "wondzorg_test",
        "title": "Wondzorg voor zij-instromers",
        "title_en": "Wound care for side-entrants",
        "synonyms": ["wondverzorging", "Wondzorg Basis"],
    }
    units["units"].append(new)
    units_file.write_text(yaml.safe_dump(units, allow_unicode=True), encoding="utf-8")

    terms = subprocess.run(
        [sys.executable, "-m", "catalogue", "terms", "--json", "--from-files", "--dir", data_dir],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    terms_file = tmp_path / "terms.json"
    terms_file.write_text(terms, encoding="utf-8")
    out = tmp_path / "generated" / "catalogue.yml"
    assert generate_nlu.main(["--terms", str(terms_file), "--out", str(out)]) == 0

    synonyms, lookups = _parse(out.read_text(encoding="utf-8"))
    assert synonyms["wondzorg_test"] == [
        "wondverzorging",
        "Wondzorg Basis",
        "Wondzorg voor zij-instromers",
        "Wound care for side-entrants",
    ]
    assert {"wondverzorging", "Wondzorg voor zij-instromers"} <= set(lookups["unit"])


def test_every_real_phrase_maps_to_its_item_or_is_ambiguous() -> None:
    """Every title and synonym of the real catalogue maps to its item's id, except phrases
    that name several items (which keep their text); within one kind no phrase is ambiguous."""
    terms = catalogue_terms(load_directory())
    nlu = generate_nlu.build_nlu(terms)
    mapped = {p.lower(): i for i, phrases in nlu["synonyms"].items() for p in phrases}
    named: dict[str, set[str]] = {}
    for section, items in terms.items():
        in_section: dict[str, set[str]] = {}
        for item in items:
            for phrase in generate_nlu.item_phrases(item):
                in_section.setdefault(phrase.lower(), set()).add(item["id"])
                named.setdefault(phrase.lower(), set()).add(item["id"])
        assert all(len(ids) == 1 for ids in in_section.values()), section
    for phrase, ids in named.items():
        if len(ids) == 1:
            assert mapped.get(phrase, phrase) == next(iter(ids)), phrase
        else:
            assert phrase not in mapped
