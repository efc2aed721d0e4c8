"""Reads the catalogue's YAML files and reports every problem with its file and entry."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from catalogue.compiled import Catalogue, compile_catalogue
from catalogue.errors import CatalogueInvalid, Problem
from catalogue.regions import Regions, read_regions
from catalogue.schema import (
    Answer,
    CatalogueData,
    Funding,
    GlossaryTerm,
    IntakeQuestion,
    Notice,
    Phrases,
    PlanTemplates,
    Qualification,
    Route,
    Rule,
    RuleDefaults,
    Source,
    Unit,
)

DATA_DIR: Final = Path(__file__).resolve().parent / "data"

# file name -> (top-level key, model of one entry)
LISTS: Final[dict[str, tuple[str, type[BaseModel]]]] = {
    "sources.yaml": ("sources", Source),
    "qualifications.yaml": ("qualifications", Qualification),
    "units.yaml": ("units", Unit),
    "routes.yaml": ("routes", Route),
    "funding.yaml": ("funding", Funding),
    "rules.yaml": ("rules", Rule),
    "notices.yaml": ("notices", Notice),
    "glossary.yaml": ("terms", GlossaryTerm),
    "answers.yaml": ("answers", Answer),
}
FILE_NAMES: Final = (
    *LISTS,
    "catalogue.yaml",
    "regions.yaml",
    "phrases.yaml",
    "intake.yaml",
    "plan.yaml",
)
# Top-level keys allowed besides the list (YAML anchors live under `defaults`).
EXTRA_KEYS: Final[dict[str, set[str]]] = {"units.yaml": {"defaults"}, "rules.yaml": {"defaults"}}

M = TypeVar("M", bound=BaseModel)


# libyaml's safe loader when PyYAML was built with it (the wheels are): the same documents,
# about six times faster than the pure-Python one, which took most of a catalogue load.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """One YAML document, safely (no Python objects)."""
    return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 (a safe loader)


def checksum_of(texts: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(texts):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(texts[name].encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _pydantic_problems(file: str, entry: str, error: ValidationError) -> list[Problem]:
    out = []
    for detail in error.errors():
        where = ".".join(str(part) for part in detail["loc"])
        message = detail["msg"] if not where else f"{where}: {detail['msg']}"
        out.append(Problem(file, entry, message))
    return out


def _entry_label(kind: str, index: int, raw: Any) -> str:
    if isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
        return f"{kind} {raw['id']!r}"
    return f"{kind} #{index + 1}"


def _validate(model: type[M], file: str, entry: str, raw: Any, problems: list[Problem]) -> M | None:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(file, entry, exc))
        return None


def parse_texts(texts: Mapping[str, str]) -> CatalogueData:
    """Parses the files' texts into CatalogueData; raises CatalogueInvalid listing all problems."""
    problems: list[Problem] = []
    documents: dict[str, Any] = {}
    for name in FILE_NAMES:
        if name not in texts:
            problems.append(Problem(name, "", "file is missing"))
            continue
        try:
            document = parse_yaml(texts[name])
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f"line {mark.line + 1}: " if mark is not None else ""
            problems.append(
                Problem(name, "", f"{line}not valid YAML ({getattr(exc, 'problem', exc)})")
            )
            continue
        except ValueError as exc:
            # PyYAML builds dates itself and lets datetime's error through (2026-13-45).
            problems.append(Problem(name, "", f"not valid YAML: {exc} (an impossible date?)"))
            continue
        except RecursionError:
            # PyYAML reads nested lists and mappings recursively: "[[[[..." a thousand deep.
            problems.append(Problem(name, "", "not valid YAML: nested too deeply"))
            continue
        if not isinstance(document, dict):
            problems.append(Problem(name, "", "must be a mapping at the top level"))
            continue
        documents[name] = document
    for name in sorted(set(texts) - set(FILE_NAMES)):
        problems.append(Problem(name, "", f"unexpected file (expected: {', '.join(FILE_NAMES)})"))

    parsed: dict[str, list[Any]] = {}
    for name, (key, model) in LISTS.items():
        document = documents.get(name)
        if document is None:
            continue
        unknown = set(document) - {key} - EXTRA_KEYS.get(name, set())
        for extra in sorted(map(str, unknown)):
            problems.append(Problem(name, "", f"unknown top-level key {extra!r}"))
        entries = document.get(key)
        if not isinstance(entries, list):
            problems.append(Problem(name, "", f"needs a list under {key!r}"))
            continue
        kind = {"funding": "funding", "terms": "term"}.get(key, key.rstrip("s"))
        parsed[key] = []
        for index, raw in enumerate(entries):
            item = _validate(model, name, _entry_label(kind, index, raw), raw, problems)
            if item is not None:
                parsed[key].append(item)

    rule_defaults = None
    if "rules.yaml" in documents:
        rule_defaults = _validate(
            RuleDefaults,
            "rules.yaml",
            "defaults",
            documents["rules.yaml"].get("defaults"),
            problems,
        )

    plan = None
    if "plan.yaml" in documents:
        plan = _validate(PlanTemplates, "plan.yaml", "", documents["plan.yaml"], problems)

    version = title = None
    meta = documents.get("catalogue.yaml")
    if meta is not None:
        version, title = meta.get("version"), meta.get("title")
        if not isinstance(version, str) or not version.strip():
            problems.append(Problem("catalogue.yaml", "", "needs a version (text)"))
        if not isinstance(title, str) or not title.strip():
            problems.append(Problem("catalogue.yaml", "", "needs a title (text)"))

    regions = Regions()
    if "regions.yaml" in documents:
        regions = read_regions(documents["regions.yaml"], problems)

    phrases = None
    if "phrases.yaml" in documents:
        phrases = _validate(Phrases, "phrases.yaml", "", documents["phrases.yaml"], problems)

    intake: list[IntakeQuestion] = []
    intake_doc = documents.get("intake.yaml")
    if intake_doc is not None:
        questions = intake_doc.get("questions")
        if not isinstance(questions, list):
            problems.append(Problem("intake.yaml", "", "needs a list under 'questions'"))
        else:
            for index, raw in enumerate(questions):
                label = (
                    f"question {raw['field']!r}"
                    if isinstance(raw, Mapping) and isinstance(raw.get("field"), str)
                    else f"question #{index + 1}"
                )
                question = _validate(IntakeQuestion, "intake.yaml", label, raw, problems)
                if question is not None:
                    intake.append(question)

    if problems:
        raise CatalogueInvalid(problems)
    # No problems means each of these was read and checked above.
    assert isinstance(version, str) and isinstance(title, str) and rule_defaults is not None
    assert phrases is not None and plan is not None
    try:
        return CatalogueData(
            version=version,
            title=title,
            sources=parsed["sources"],
            qualifications=parsed["qualifications"],
            units=parsed["units"],
            routes=parsed["routes"],
            funding=parsed["funding"],
            rule_defaults=rule_defaults,
            rules=parsed["rules"],
            notices=parsed["notices"],
            glossary=parsed["terms"],
            answers=parsed["answers"],
            phrases=phrases,
            intake=intake,
            regions=regions.regions,
            municipalities=regions.municipalities,
            homonyms=regions.homonyms,
            region_aliases=regions.aliases,
            place_words=regions.words,
            region_sources=regions.sources,
            plan=plan,
        )
    except ValidationError as exc:
        raise CatalogueInvalid(_pydantic_problems("catalogue", "", exc)) from None


def read_texts(directory: Path) -> dict[str, str]:
    """The catalogue files' texts; every *.yaml file in the directory is included."""
    if not directory.is_dir():
        raise CatalogueInvalid([Problem(str(directory), "", "is not a directory")])
    texts: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            texts[path.name] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogueInvalid([Problem(path.name, "", f"cannot be read ({exc})")]) from None
    return texts


def load_texts(texts: Mapping[str, str]) -> Catalogue:
    """Parses and compiles a catalogue from its files' texts; raises CatalogueInvalid."""
    return compile_catalogue(parse_texts(texts), checksum_of(texts))


def load_directory(directory: Path = DATA_DIR) -> Catalogue:
    return load_texts(read_texts(directory))
