"""Patterns of the spaCy entity ruler (the pipeline itself is built in .venv-rasa by make)."""

from __future__ import annotations

import pytest

from bot.nlp.build_pipeline import DIGITS_PATTERN, label_for, number_patterns, patterns_from_terms
from catalogue.compiled import Catalogue
from catalogue.service import catalogue_terms
from tests.sample_terms import TERMS


def test_labels() -> None:
    assert [label_for(s) for s in TERMS] == ["unit", "qualification", "route", "funding"]


def test_patterns_from_terms() -> None:
    patterns = patterns_from_terms(TERMS)
    found = {(p["label"], p["pattern"], p["id"]) for p in patterns}
    assert found == {
        ("unit", "ADL", "adl"),  # "adl" is the same phrase in lower case: once
        ("unit", "Daily living", "adl"),
        ("unit", "wassen", "adl"),
        ("qualification", "Verzorgende-IG", "vig_3"),
        ("qualification", "25656", "vig_3"),
        ("route", "BBL", "bbl"),
        ("route", "werken en leren", "bbl"),  # whitespace normalised
        ("funding", "SLIM", "slim"),
    }
    assert len(patterns) == len(found)


def test_number_patterns() -> None:
    patterns = number_patterns()
    words = {p["pattern"]: p["id"] for p in patterns if isinstance(p["pattern"], str)}
    assert words["achtendertig"] == "38"
    assert words["thirty-eight"] == "38"
    assert "een" not in words  # the article
    assert {"label": "number", "pattern": DIGITS_PATTERN} in patterns


def test_ambiguous_phrase_keeps_the_first_id_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    terms = {"units": [{"id": "a", "title": "Zorg"}, {"id": "b", "title": "zorg"}]}
    assert [p["id"] for p in patterns_from_terms(terms)] == ["a"]
    assert "names both a and b" in capsys.readouterr().err


def test_real_catalogue_terms_give_unambiguous_patterns(
    real_catalogue: Catalogue, capsys: pytest.CaptureFixture[str]
) -> None:
    terms = catalogue_terms(real_catalogue)
    patterns = patterns_from_terms(terms)
    assert capsys.readouterr().err == ""  # no phrase names two entries
    # Every section gives a label; the glossary's `terms` section, when present, gives "term".
    assert {p["label"] for p in patterns} == {label_for(section) for section in terms}
    assert {"unit", "qualification", "route", "funding"} <= {p["label"] for p in patterns}
    keys = [(p["label"], p["pattern"].lower()) for p in patterns]
    assert len(keys) == len(set(keys))
    ids = {p["id"] for p in patterns}
    assert ids == {item["id"] for items in terms.values() for item in items}
