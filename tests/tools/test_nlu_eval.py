"""tools/nlu_eval.py: reading, the split and the scores (training itself: `make nlu-eval`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from tools import nlu_eval
from tools.nlu_eval import Example, entity_scores, intent_scores, parse_example, stratified_split

NLU = """\
version: "3.1"
nlu:
  - intent: greet
    examples: |
      - hoi
      - hallo
  - intent: inform
    examples: |
      - in de [ouderenzorg]{"entity": "sector", "value": "vvt"}
      - ik wil [ADL](unit) doen
      - [bbl]{"entity": "route"} graag
  - synonym: adl
    examples: |
      - ADL
      - wassen en aankleden
  - lookup: unit
    examples: |
      - ADL
"""


def _examples(counts: dict[str, int]) -> list[Example]:
    return [
        Example(intent, f"{intent} {i}", f"{intent} {i}", frozenset())
        for intent, n in counts.items()
        for i in range(n)
    ]


def test_parse_example_strips_annotations_and_maps_synonyms() -> None:
    example = parse_example(
        "inform",
        'ik wil [ADL](unit) in de [ouderen]{"entity": "sector", "value": "vvt"}',
        {"adl": "adl_id"},
    )
    assert example.text == "ik wil ADL in de ouderen"
    assert example.entities == {("unit", "adl_id"), ("sector", "vvt")}


def test_read_nlu(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(NLU, encoding="utf-8")
    data = nlu_eval.read_nlu([path])
    assert [(e.intent, e.text) for e in data.examples] == [
        ("greet", "hoi"),
        ("greet", "hallo"),
        ("inform", "in de ouderenzorg"),
        ("inform", "ik wil ADL doen"),
        ("inform", "bbl graag"),
    ]
    # The generated synonym maps the annotated "ADL" to its id; the inline one is kept too.
    assert data.examples[3].entities == {("unit", "adl")}
    assert data.synonyms["ouderenzorg"] == "vvt"
    assert [next(iter(b)) for b in data.other_blocks] == ["synonym", "lookup"]


def test_training_file_keeps_examples_as_written_and_the_other_blocks(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(NLU, encoding="utf-8")
    data = nlu_eval.read_nlu([path])
    written = yaml.safe_load(nlu_eval.render_training_file(data.examples, data.other_blocks))
    assert written["version"] == "3.1"
    blocks = {b.get("intent") or b.get("synonym") or b.get("lookup"): b for b in written["nlu"]}
    assert (
        '- in de [ouderenzorg]{"entity": "sector", "value": "vvt"}\n'
        in (blocks["inform"]["examples"])
    )
    assert blocks["adl"]["examples"] == "- ADL\n- wassen en aankleden\n"
    assert blocks["unit"]["examples"] == "- ADL\n"


def test_split_is_stratified() -> None:
    counts = {"a": 50, "b": 10, "c": 5, "d": 3, "e": 2}
    train, test = stratified_split(_examples(counts))
    assert Counter(e.intent for e in test) == {"a": 10, "b": 2, "c": 1, "d": 1}
    # Too few examples to hold one out: all in training.
    assert Counter(e.intent for e in train) == {"a": 40, "b": 8, "c": 4, "d": 2, "e": 2}
    assert not {e.raw for e in train} & {e.raw for e in test}


def test_split_is_deterministic_and_independent_of_order() -> None:
    examples = _examples({"a": 30, "b": 20})
    first = stratified_split(examples)
    again = stratified_split(list(reversed(examples)))
    assert [e.raw for e in first[1]] == [e.raw for e in again[1]]
    # Adding an intent does not move another intent's examples.
    with_c = stratified_split(examples + _examples({"c": 10}))
    assert [e.raw for e in with_c[1] if e.intent != "c"] == [e.raw for e in first[1]]
    # Another seed gives another split.
    other = stratified_split(examples, seed=1)
    assert {e.raw for e in other[1]} != {e.raw for e in first[1]}


def test_split_drops_duplicates() -> None:
    examples = _examples({"a": 5}) * 2
    train, test = stratified_split(examples)
    assert len(train) + len(test) == 5


def test_intent_scores_on_a_hand_made_example() -> None:
    gold = ["a", "a", "a", "b", "b", "c"]
    predicted = ["a", "a", "b", "b", "c", "c"]
    scores = intent_scores(gold, predicted)
    # a: P 2/2 R 2/3 F1 0.8; b: P 1/2 R 1/2 F1 0.5; c: P 1/2 R 1/1 F1 2/3
    assert scores["per_intent"]["a"]["f1"] == pytest.approx(0.8)
    assert scores["per_intent"]["b"]["f1"] == pytest.approx(0.5)
    assert scores["per_intent"]["c"]["f1"] == pytest.approx(2 / 3)
    assert scores["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["confusions"] == [
        {"gold": "a", "predicted": "b", "count": 1},
        {"gold": "b", "predicted": "c", "count": 1},
    ]


def test_a_predicted_label_that_is_never_gold_counts_in_the_macro_average() -> None:
    scores = intent_scores(["a", "a"], ["a", "nlu_fallback"])
    assert scores["per_intent"]["nlu_fallback"]["f1"] == 0.0
    assert scores["macro_f1"] == pytest.approx((2 / 3) / 2)


def test_entity_scores_on_a_hand_made_example() -> None:
    gold = [
        frozenset({("unit", "adl"), ("sector", "vvt")}),
        frozenset({("unit", "mmz")}),
        frozenset(),
    ]
    predicted = [
        frozenset({("unit", "adl"), ("sector", "ghz"), ("number", "38")}),
        frozenset({("unit", "mmz"), ("unit", "adl")}),
        frozenset({("sector", "vvt")}),
    ]
    scores = entity_scores(gold, predicted, {"unit", "sector"})
    # unit: tp 2, fp 1, fn 0; sector: tp 0, fp 2, fn 1
    assert scores["per_entity"]["unit"]["precision"] == pytest.approx(2 / 3)
    assert scores["per_entity"]["unit"]["recall"] == 1.0
    assert scores["per_entity"]["unit"]["f1"] == pytest.approx(0.8)
    assert scores["per_entity"]["sector"]["f1"] == 0.0
    assert scores["per_entity"]["sector"]["support"] == 1
    # micro: tp 2, fp 3, fn 1 -> P 0.4, R 2/3
    assert scores["micro_f1"] == pytest.approx(2 * 0.4 * (2 / 3) / (0.4 + 2 / 3))
    assert scores["unscored_extractions"] == {"number": 1}


def test_classifier_intent_skips_the_fallback() -> None:
    parse = {"intent": "nlu_fallback", "ranking": ["nlu_fallback", "greet", "affirm"]}
    assert nlu_eval.classifier_intent(parse) == "greet"
    assert nlu_eval.classifier_intent({"intent": "affirm", "ranking": []}) == "affirm"


def test_prf_is_zero_where_undefined() -> None:
    assert nlu_eval.prf(0, 0, 0) == (0.0, 0.0, 0.0)
