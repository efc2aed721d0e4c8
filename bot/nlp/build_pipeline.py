"""Builds the Dutch spaCy pipeline `nl_zijwijzer` that Rasa's SpacyNLP loads (config.yml).

Run with the Rasa runtime's Python, without the project on PYTHONPATH (our `catalogue`
package would hide spaCy's dependency of the same name):

    .venv-rasa/bin/python bot/nlp/build_pipeline.py --terms build/nlp/terms.json --out build/nlp

There is no downloadable Dutch spaCy model here (engineering notes), so the pipeline is
`spacy.blank("nl")` + the lookup lemmatizer (tables from spacy-lookups-data, stored in the
package) + an entity ruler whose patterns come from `python -m catalogue terms --json` and
from the number words of catalogue/numberwords.py. It is packaged as a wheel so that
`model: nl_zijwijzer` works from any directory; `make train` installs it into .venv-rasa.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LANG = "nl"
NAME = "zijwijzer"
PACKAGE = f"{LANG}_{NAME}"
# The content changes with the catalogue, not the version: make reinstalls the wheel
# whenever it is rebuilt.
VERSION = "1.0.0"
# Lower case: Rasa's SpacyEntityExtractor reports the label as the entity name, and the
# NLU data (hand-written annotations, generated synonyms and lookups) uses lower case.
NUMBER_LABEL = "number"
# Up to three digits, with an optional decimal comma or point ("38", "20,5"): ages and
# hours. Longer numbers are codes, such as a qualification's crebo (a QUALIFICATION).
DIGITS_PATTERN: list[dict[str, Any]] = [{"TEXT": {"REGEX": r"^\d{1,3}([.,]\d+)?$"}}]


def _load_numberwords() -> ModuleType:
    # Loaded by path: importing `actions` would need the project on sys.path (see above).
    path = ROOT / "catalogue" / "numberwords.py"
    spec = importlib.util.spec_from_file_location("zijwijzer_numberwords", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def label_for(section: str) -> str:
    """Entity label of a terms section: "units" -> "unit", "funding" -> "funding"."""
    return section.removesuffix("s").lower()


def patterns_from_terms(terms: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Phrase patterns for every title (Dutch and English) and synonym, the id as pattern id.

    Matching is on lower case (phrase_matcher_attr LOWER), so phrases differing only in
    case are one pattern; the first id wins and later ones are reported.
    """
    patterns: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], str] = {}
    for section in sorted(terms):
        label = label_for(section)
        for item in terms[section]:
            names = [item["title"], item.get("title_en"), *item.get("synonyms", [])]
            for phrase in names:
                if phrase is None:
                    continue
                phrase = " ".join(str(phrase).split())
                if not phrase:
                    continue
                key = (label, phrase.lower())
                if key in seen:
                    if seen[key] != item["id"]:
                        print(
                            f"warning: {label} '{phrase}' names both {seen[key]} and "
                            f"{item['id']}; keeping {seen[key]}",
                            file=sys.stderr,
                        )
                    continue
                seen[key] = item["id"]
                patterns.append({"label": label, "pattern": phrase, "id": item["id"]})
    return patterns


def number_patterns() -> list[dict[str, Any]]:
    """NUMBER patterns: digits, and Dutch and English number words with their value as id."""
    words: dict[str, int] = _load_numberwords().number_words()
    patterns: list[dict[str, Any]] = [{"label": NUMBER_LABEL, "pattern": DIGITS_PATTERN}]
    patterns += [
        {"label": NUMBER_LABEL, "pattern": word, "id": str(value)}
        for word, value in sorted(words.items())
    ]
    return patterns


def build(terms: dict[str, list[dict[str, Any]]], out_dir: Path) -> Path:
    """Builds, saves and packages the pipeline; returns the wheel's path."""
    import spacy
    from spacy.cli.package import package

    nlp = spacy.blank(LANG)
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    # Loads the lemma tables from spacy-lookups-data; they are saved with the pipeline.
    nlp.initialize()
    # Added after initialize(), which would empty the ruler (spaCy warning W036).
    # LOWER because Rasa's SpacyNLP lowercases the text before spaCy sees it.
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns(patterns_from_terms(terms) + number_patterns())
    nlp.meta.update(
        {
            "name": NAME,
            "version": VERSION,
            "description": "Zijwijzer: blank Dutch pipeline with catalogue and number patterns",
            "license": "MIT",
        }
    )

    pipeline_dir = out_dir / "pipeline"
    packages_dir = out_dir / "packages"
    dist_dir = out_dir / "dist"
    for directory in (pipeline_dir, packages_dir, dist_dir):
        shutil.rmtree(directory, ignore_errors=True)
    nlp.to_disk(pipeline_dir)
    packages_dir.mkdir(parents=True)
    # Called from Python: the `spacy` command line fails in .venv-rasa (typer/click versions).
    package(pipeline_dir, packages_dir, create_sdist=False, create_wheel=True, force=True)
    wheels = list(packages_dir.glob(f"{PACKAGE}-{VERSION}/dist/*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one wheel under {packages_dir}, found {wheels}")
    dist_dir.mkdir(parents=True)
    wheel = dist_dir / wheels[0].name
    shutil.copy2(wheels[0], wheel)
    return wheel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--terms", type=Path, required=True, help="catalogue terms JSON")
    parser.add_argument("--out", type=Path, required=True, help="build directory")
    args = parser.parse_args(argv)
    terms = json.loads(args.terms.read_text(encoding="utf-8"))
    wheel = build(terms, args.out)
    print(wheel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
