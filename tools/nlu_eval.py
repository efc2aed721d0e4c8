"""NLU evaluation on a held-out split: intent macro-F1, entity F1, top confusions.

    make nlu-eval        (or: .venv/bin/python tools/nlu_eval.py [--min-macro-f1 0.90])

1. Reads every NLU file under data/nlu, splits the intent
   examples per intent with a fixed seed (default 80/20; intents with fewer than
   MIN_EXAMPLES_TO_TEST examples stay in training), and keeps synonyms, lookup tables and
   regexes in the training part.
2. Trains an NLU-only model on the training part with the project's config.yml
   (`rasa train nlu` in .venv-rasa, no PYTHONPATH, from the empty build/rasa directory:
   see make/assistant.mk).
3. Parses every held-out example with that model (Rasa's Python API, in .venv-rasa).
4. Scores: intent precision/recall/F1 per intent and their macro average (the intent of the
   classifier: the best-ranked intent that is not `nlu_fallback`; how often the
   FallbackClassifier would have stepped in is reported beside it), the most frequent
   confusions, and entity F1 per entity and micro-averaged. Entities are compared as
   (entity, value) pairs per example after synonym mapping, for the entity names the data
   annotates; what the extractors find beyond those (numbers, catalogue terms nobody
   annotated) is counted apart and not scored.

Writes build/nlu-eval/report.json, prints a table, and exits 1 when intent macro-F1 is
below --min-macro-f1 (2 when training or parsing fails). When nothing it depends on changed
since the last run (same fingerprint), it reuses that run's parses instead of retraining.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data" / "nlu"
OUT_DIR = ROOT / "build" / "nlu-eval"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
PYTHON_RASA = ROOT / ".venv-rasa" / "bin" / "python"
RASA_CWD = ROOT / "build" / "rasa"
SEED = 20261123
TEST_FRACTION = 0.2
MIN_EXAMPLES_TO_TEST = 3
MIN_MACRO_F1 = 0.90
FALLBACK = "nlu_fallback"
TOP_CONFUSIONS = 10

# [text]{"entity": "x", "value": "y", ...}  or  [text](x)  or  [text](x:y) (Rasa 1 style)
ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\{(?P<json>[^}]*)\}|\((?P<name>[^)]*)\))")


@dataclass(frozen=True)
class Example:
    intent: str
    raw: str  # as written, with its annotations
    text: str  # what a user would type
    entities: frozenset[tuple[str, str]]  # (entity, lower-cased value after synonyms)


@dataclass
class NluData:
    examples: list[Example] = field(default_factory=list)
    other_blocks: list[dict[str, Any]] = field(default_factory=list)  # synonyms, lookups, ...
    synonyms: dict[str, str] = field(default_factory=dict)  # lower-cased text -> value
    files: list[str] = field(default_factory=list)


# ---- reading ---------------------------------------------------------------------------


def _example_lines(examples: object) -> list[str]:
    if isinstance(examples, str):
        lines = [line.strip() for line in examples.splitlines()]
        return [line[2:].strip() for line in lines if line.startswith("- ")]
    if isinstance(examples, list):  # examples with metadata: [{text: ..., metadata: ...}]
        return [str(e["text"]) if isinstance(e, dict) else str(e) for e in examples]
    return []


def parse_example(intent: str, raw: str, synonyms: Mapping[str, str] | None = None) -> Example:
    """Plain text and (entity, value) pairs of one annotated example."""
    synonyms = synonyms or {}
    entities: set[tuple[str, str]] = set()

    def replace(match: re.Match[str]) -> str:
        text = match.group("text")
        value: str | None = None
        if match.group("json") is not None:
            try:
                spec = json.loads("{" + match.group("json") + "}")
            except json.JSONDecodeError:
                return match.group(0)
            name = str(spec.get("entity", ""))
            value = None if spec.get("value") is None else str(spec["value"])
        else:
            name, _, synonym = match.group("name").partition(":")
            value = synonym or None
        if name:
            if value is None:
                value = synonyms.get(text.lower(), text)
            entities.add((name, value.lower()))
        return text

    text = ANNOTATION.sub(replace, raw)
    return Example(intent, raw, " ".join(text.split()), frozenset(entities))


def read_nlu(paths: Iterable[Path]) -> NluData:
    """Intent examples and the other NLU blocks of the given Rasa 3 YAML files."""
    data = NluData()
    pending: list[tuple[str, str]] = []
    for path in sorted(paths):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        blocks = content.get("nlu") or []
        if blocks:
            data.files.append(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path))
        for block in blocks:
            if "intent" in block:
                # Retrieval intents (faq/costs) are one intent for the classifier.
                intent = str(block["intent"]).split("/")[0]
                pending += [(intent, line) for line in _example_lines(block.get("examples"))]
            else:
                data.other_blocks.append(block)
                if "synonym" in block:
                    for line in _example_lines(block.get("examples")):
                        data.synonyms.setdefault(line.lower(), str(block["synonym"]))
    # Inline synonyms ([ouderen]{"entity": "sector", "value": "vvt"}) are synonyms too.
    for _, raw in pending:
        for match in ANNOTATION.finditer(raw):
            if match.group("json"):
                try:
                    spec = json.loads("{" + match.group("json") + "}")
                except json.JSONDecodeError:
                    continue
                if spec.get("value") is not None:
                    data.synonyms.setdefault(match.group("text").lower(), str(spec["value"]))
    data.examples = [parse_example(intent, raw, data.synonyms) for intent, raw in pending]
    return data


# ---- the split -------------------------------------------------------------------------


def stratified_split(
    examples: Sequence[Example], *, seed: int = SEED, test_fraction: float = TEST_FRACTION
) -> tuple[list[Example], list[Example]]:
    """(train, test): per intent, a seeded shuffle of its distinct examples, the first
    round(n * test_fraction) to test (at least one when the intent has
    MIN_EXAMPLES_TO_TEST examples or more, none below). Independent of file and example
    order, and one intent's examples do not change another's split."""
    by_intent: dict[str, list[Example]] = {}
    seen: set[tuple[str, str]] = set()
    for example in examples:
        key = (example.intent, example.raw)
        if key not in seen:
            seen.add(key)
            by_intent.setdefault(example.intent, []).append(example)
    train: list[Example] = []
    test: list[Example] = []
    for intent in sorted(by_intent):
        group = sorted(by_intent[intent], key=lambda e: e.raw)
        # A reproducible split, not a secret: the standard generator with a fixed seed.
        random.Random(f"{seed}:{intent}").shuffle(group)  # noqa: S311
        n = len(group)
        n_test = 0 if n < MIN_EXAMPLES_TO_TEST else max(1, int(n * test_fraction + 0.5))
        test += group[:n_test]
        train += group[n_test:]
    return train, test


def render_training_file(
    train: Sequence[Example], other_blocks: Sequence[Mapping[str, Any]]
) -> str:
    """Rasa 3 NLU YAML: the training examples as written, plus synonyms, lookups, regexes."""
    by_intent: dict[str, list[str]] = {}
    for example in train:
        by_intent.setdefault(example.intent, []).append(example.raw)
    blocks: list[dict[str, Any]] = [
        {"intent": intent, "examples": "".join(f"- {raw}\n" for raw in raws)}
        for intent, raws in sorted(by_intent.items())
    ]
    for block in other_blocks:
        block = dict(block)
        if isinstance(block.get("examples"), str):
            lines = _example_lines(block["examples"])
            block["examples"] = "".join(f"- {line}\n" for line in lines)
        blocks.append(block)
    return yaml.dump(
        {"version": "3.1", "nlu": blocks},
        Dumper=_LiteralDumper,
        allow_unicode=True,
        sort_keys=False,
        width=10_000,
    )


class _LiteralDumper(yaml.SafeDumper):
    pass


def _literal(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _literal)


# ---- scores ----------------------------------------------------------------------------


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall, F1; 0 where undefined (no predictions or no gold)."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def intent_scores(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Per-intent precision/recall/F1/support, their macro averages (over the gold and
    predicted labels, as scikit-learn does), accuracy and the confusions, most frequent first."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    labels = sorted(set(gold) | set(predicted))
    per_label: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        precision, recall, f1 = prf(tp, fp, fn)
        per_label[label] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": sum(1 for g in gold if g == label),
        }
    n = len(labels)
    confusions = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    return {
        "macro_f1": sum(s["f1"] for s in per_label.values()) / n if n else 0.0,
        "macro_precision": sum(s["precision"] for s in per_label.values()) / n if n else 0.0,
        "macro_recall": sum(s["recall"] for s in per_label.values()) / n if n else 0.0,
        "accuracy": (
            sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / len(gold)
            if gold
            else 0.0
        ),
        "per_intent": per_label,
        "confusions": [
            {"gold": g, "predicted": p, "count": c}
            for (g, p), c in sorted(confusions.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }


def entity_scores(
    gold: Sequence[frozenset[tuple[str, str]]],
    predicted: Sequence[frozenset[tuple[str, str]]],
    scored: Iterable[str],
) -> dict[str, Any]:
    """Entity F1 per entity name and micro-averaged, comparing (entity, value) sets per
    example; only the names in `scored` count, the rest is tallied as unscored."""
    names = sorted(set(scored))
    counts = {name: [0, 0, 0] for name in names}  # tp, fp, fn
    unscored: Counter[str] = Counter()
    for gold_set, predicted_set in zip(gold, predicted, strict=True):
        for entity, _ in predicted_set:
            if entity not in counts:
                unscored[entity] += 1
        for name in names:
            g = {pair for pair in gold_set if pair[0] == name}
            p = {pair for pair in predicted_set if pair[0] == name}
            counts[name][0] += len(g & p)
            counts[name][1] += len(p - g)
            counts[name][2] += len(g - p)
    per_entity: dict[str, dict[str, float]] = {}
    for name, (tp, fp, fn) in counts.items():
        precision, recall, f1 = prf(tp, fp, fn)
        per_entity[name] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": tp + fn,
        }
    tp, fp, fn = (sum(c[i] for c in counts.values()) for i in range(3))
    precision, recall, f1 = prf(tp, fp, fn)
    return {
        "micro_f1": f1,
        "micro_precision": precision,
        "micro_recall": recall,
        "per_entity": per_entity,
        "unscored_extractions": dict(sorted(unscored.items())),
    }


# ---- training and parsing in .venv-rasa --------------------------------------------------

# Run by .venv-rasa's Python: reads texts (JSON list) from argv[2], parses them with the
# model argv[1], writes [{intent, ranking, entities}] to argv[3].
PARSE_SCRIPT = """
import asyncio, json, sys
from rasa.core.agent import Agent

async def main():
    agent = Agent.load(sys.argv[1])
    texts = json.load(open(sys.argv[2], encoding="utf-8"))
    out = []
    for text in texts:
        r = await agent.parse_message(text)
        out.append({
            "intent": (r.get("intent") or {}).get("name"),
            "ranking": [i.get("name") for i in r.get("intent_ranking") or []],
            "entities": [
                {k: e.get(k) for k in ("entity", "value", "start", "end", "extractor")}
                for e in r.get("entities") or []
            ],
        })
    json.dump(out, open(sys.argv[3], "w", encoding="utf-8"), ensure_ascii=False)

asyncio.run(main())
"""


def _rasa_env() -> dict[str, str]:
    # No PYTHONPATH: our `catalogue` would hide spaCy's dependency of that name.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", RASA_MAX_CACHE_SIZE="0")
    return env


def _run(command: Sequence[str], log: Path) -> None:
    RASA_CWD.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        result = subprocess.run(
            command, cwd=RASA_CWD, env=_rasa_env(), stdout=out, stderr=subprocess.STDOUT
        )
    if result.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
        raise RuntimeError(f"{command[0]} failed (log {log}):\n" + "\n".join(tail))


def train_nlu(train_file: Path, config: Path, out_dir: Path) -> Path:
    model_dir = out_dir / "models"
    command = [str(RASA), "train", "nlu", "--config", str(config), "--nlu", str(train_file)]
    command += ["--out", str(model_dir), "--fixed-model-name", "nlu-eval"]
    _run(command, out_dir / "train.log")
    return model_dir / "nlu-eval.tar.gz"


def parse_texts(model: Path, texts: Sequence[str], out_dir: Path) -> list[dict[str, Any]]:
    texts_file = out_dir / "texts.json"
    parses_file = out_dir / "parses.json"
    texts_file.write_text(json.dumps(list(texts), ensure_ascii=False), encoding="utf-8")
    command = [str(PYTHON_RASA), "-c", PARSE_SCRIPT, str(model), str(texts_file), str(parses_file)]
    _run(command, out_dir / "parse.log")
    parses: list[dict[str, Any]] = json.loads(parses_file.read_text(encoding="utf-8"))
    return parses


def inputs_fingerprint(train_file: Path, config: Path, texts: Sequence[str]) -> str:
    """Hash of what the parses depend on: training data, config, the Rasa runtime's lock,
    and the held-out texts."""
    digest = hashlib.sha256()
    parts = [train_file, config, ROOT / "requirements" / "rasa.lock"]
    for path in parts:
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    digest.update(json.dumps(list(texts), ensure_ascii=False).encode())
    digest.update(PARSE_SCRIPT.encode())
    return digest.hexdigest()


def classifier_intent(parse: Mapping[str, Any]) -> str:
    """The classifier's best intent: the FallbackClassifier's `nlu_fallback` skipped."""
    for name in parse.get("ranking") or [parse.get("intent")]:
        if name and name != FALLBACK:
            return str(name)
    return str(parse.get("intent") or FALLBACK)


def predicted_entities(parse: Mapping[str, Any]) -> frozenset[tuple[str, str]]:
    return frozenset(
        (str(e["entity"]), str(e["value"]).lower())
        for e in parse.get("entities") or []
        if e.get("entity") and e.get("value") is not None
    )


# ---- report ----------------------------------------------------------------------------


def evaluate(
    data: NluData,
    test: Sequence[Example],
    parses: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    gold_intents = [e.intent for e in test]
    predicted = [classifier_intent(p) for p in parses]
    scored = {name for e in data.examples for name, _ in e.entities}
    intents = intent_scores(gold_intents, predicted)
    intents["fallback_rate"] = (
        sum(1 for p in parses if p.get("intent") == FALLBACK) / len(parses) if parses else 0.0
    )
    entities = entity_scores(
        [e.entities for e in test], [predicted_entities(p) for p in parses], scored
    )
    errors = [
        {
            "text": e.text,
            "gold": e.intent,
            "predicted": intent,
            "gold_entities": sorted(e.entities),
            "predicted_entities": sorted(
                pair for pair in predicted_entities(p) if pair[0] in scored
            ),
        }
        for e, p, intent in zip(test, parses, predicted, strict=True)
        if intent != e.intent or {x for x in predicted_entities(p) if x[0] in scored} != e.entities
    ]
    return {"intents": intents, "entities": entities, "errors": errors}


def format_table(report: Mapping[str, Any]) -> str:
    intents = report["intents"]
    entities = report["entities"]
    size = report["data"]
    lines = [
        f"NLU held-out evaluation ({size['train']} train / {size['test']} test examples, "
        f"{size['intents']} intents, seed {report['seed']})",
        "",
        f"{'intent':<28}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}",
    ]
    for name, s in intents["per_intent"].items():
        lines.append(
            f"{name:<28}{s['precision']:>10.3f}{s['recall']:>10.3f}{s['f1']:>10.3f}"
            f"{int(s['support']):>9}"
        )
    lines += [
        f"{'macro':<28}{intents['macro_precision']:>10.3f}{intents['macro_recall']:>10.3f}"
        f"{intents['macro_f1']:>10.3f}",
        f"accuracy {intents['accuracy']:.3f}; below the fallback threshold: "
        f"{intents['fallback_rate']:.1%} of test messages",
        "",
        f"{'entity':<28}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}",
    ]
    for name, s in entities["per_entity"].items():
        lines.append(
            f"{name:<28}{s['precision']:>10.3f}{s['recall']:>10.3f}{s['f1']:>10.3f}"
            f"{int(s['support']):>9}"
        )
    lines.append(
        f"{'micro':<28}{entities['micro_precision']:>10.3f}{entities['micro_recall']:>10.3f}"
        f"{entities['micro_f1']:>10.3f}"
    )
    if entities["unscored_extractions"]:
        extra = ", ".join(f"{k} {v}" for k, v in entities["unscored_extractions"].items())
        lines.append(f"not annotated in the data, not scored: {extra}")
    lines += ["", "top confusions (gold -> predicted: count)"]
    lines += [
        f"  {c['gold']} -> {c['predicted']}: {c['count']}"
        for c in intents["confusions"][:TOP_CONFUSIONS]
    ] or ["  none"]
    seconds = report["seconds"]
    if report.get("reused_previous_parses"):
        lines.append("\ninputs unchanged: the previous run's model and parses were reused")
    else:
        lines.append(f"\ntimes: train {seconds['train']:.0f} s, parse {seconds['parse']:.0f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="NLU folder (all *.yml)")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--test-fraction", type=float, default=TEST_FRACTION)
    parser.add_argument("--min-macro-f1", type=float, default=MIN_MACRO_F1)
    args = parser.parse_args(argv)

    data = read_nlu(args.data.rglob("*.yml"))
    train, test = stratified_split(data.examples, seed=args.seed, test_fraction=args.test_fraction)
    if not test:
        print("error: no intent has enough examples for a held-out split", file=sys.stderr)
        return 2
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    train_file = out / "train.yml"
    train_file.write_text(render_training_file(train, data.other_blocks), encoding="utf-8")
    (out / "test.json").write_text(
        json.dumps([{"intent": e.intent, "text": e.text, "raw": e.raw} for e in test], indent=1),
        encoding="utf-8",
    )
    texts = [e.text for e in test]
    fingerprint = inputs_fingerprint(train_file, args.config, texts)
    fingerprint_file = out / "fingerprint"
    parses_file = out / "parses.json"
    started = time.monotonic()
    if (
        fingerprint_file.exists()
        and parses_file.exists()
        and fingerprint_file.read_text(encoding="utf-8") == fingerprint
    ):
        # Same data, config, pipeline and Rasa: the same model and parses (fixed seeds).
        print("NLU inputs unchanged since the last run: reusing its parses")
        parses = json.loads(parses_file.read_text(encoding="utf-8"))
        trained = parsed = started
    else:
        fingerprint_file.unlink(missing_ok=True)
        try:
            print(f"Training an NLU-only model on {len(train)} examples (log: {out / 'train.log'})")
            model = train_nlu(train_file, args.config.resolve(), out)
            trained = time.monotonic()
            parses = parse_texts(model, texts, out)
            parsed = time.monotonic()
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        fingerprint_file.write_text(fingerprint, encoding="utf-8")

    report = evaluate(data, test, parses)
    report.update(
        seed=args.seed,
        test_fraction=args.test_fraction,
        threshold=args.min_macro_f1,
        files=data.files,
        data={
            "train": len(train),
            "test": len(test),
            "intents": len({e.intent for e in data.examples}),
            "synonym_blocks": sum(1 for b in data.other_blocks if "synonym" in b),
            "lookup_blocks": sum(1 for b in data.other_blocks if "lookup" in b),
        },
        seconds={"train": trained - started, "parse": parsed - trained},
        reused_previous_parses=parsed == started,
    )
    (out / "report.json").write_text(
        json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    print(format_table(report))
    macro = report["intents"]["macro_f1"]
    if macro < args.min_macro_f1:
        print(f"FAIL: intent macro-F1 {macro:.3f} < {args.min_macro_f1:.2f}", file=sys.stderr)
        return 1
    print(f"OK: intent macro-F1 {macro:.3f} >= {args.min_macro_f1:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
