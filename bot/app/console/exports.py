"""Downloads for the improvement loop: corrected user messages as Rasa NLU training data
and whole conversations as Rasa end-to-end test stories (the format of tests/e2e)."""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import yaml

from bot.app.console.tracker import SILENT_ACTIONS
from bot.common.settings import PROJECT_ROOT

_SPACE = re.compile(r"\s+")


@functools.cache
def known_intents() -> tuple[str, ...]:
    """The intents of domain.yml: the only values a correction may take."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return tuple(str(name) for name in domain.get("intents") or [])


def _one_line(value: str) -> str:
    return _SPACE.sub(" ", value).strip()


def nlu_yaml(marks: Iterable[tuple[str, str]]) -> str:
    """(correct intent, text) pairs as Rasa 3 NLU YAML, one block per intent."""
    examples: dict[str, list[str]] = defaultdict(list)
    for intent, message in marks:
        line = _one_line(message)
        if line and line not in examples[intent]:
            examples[intent].append(line)
    lines = ['version: "3.1"', "nlu:"]
    for intent in sorted(examples):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        # Inside a literal block nothing is YAML syntax: each line is taken as it is.
        lines.extend(f"    - {example}" for example in examples[intent])
    if len(lines) == 2:
        lines[1] = "nlu: []"
    return "\n".join(lines) + "\n"


def _annotated(message: str, entities: list[dict[str, Any]]) -> str:
    """Mark extracted entities in the text as Rasa's e2e format does: [38]{"entity": "number"}."""
    spans = sorted(
        (e for e in entities if isinstance(e.get("start"), int) and isinstance(e.get("end"), int)),
        key=lambda e: e["start"],
    )
    out, position = [], 0
    for entity in spans:
        start, end = entity["start"], entity["end"]
        if start < position or end > len(message) or start >= end:
            continue
        piece = message[start:end]
        label: dict[str, Any] = {"entity": entity.get("entity")}
        if "value" in entity and str(entity["value"]) != piece:
            label["value"] = entity["value"]
        out.append(message[position:start])
        out.append(f"[{piece}]{json.dumps(label, ensure_ascii=False)}")
        position = end
    out.append(message[position:])
    return "".join(out)


def story_steps(
    rows: list[tuple[int, dict[str, Any]]], corrections: dict[int, str] | None = None
) -> list[dict[str, Any]]:
    """The steps of one conversation, from its first user message on."""
    corrections = corrections or {}
    steps: list[dict[str, Any]] = []
    started = False
    for event_id, data in rows:
        kind = data.get("event")
        if kind == "user":
            started = True
            parse = data.get("parse_data") or {}
            intent = corrections.get(event_id) or (parse.get("intent") or {}).get("name")
            message = _one_line(str(data.get("text") or ""))
            entities = [e for e in parse.get("entities") or [] if isinstance(e, dict)]
            if message.startswith("/"):
                # A button press: the intent and entities, as tests/e2e writes them.
                step: dict[str, Any] = {"intent": intent}
                pairs = [{e["entity"]: e.get("value")} for e in entities if e.get("entity")]
                if pairs:
                    step["entities"] = pairs
                steps.append(step)
            else:
                steps.append({"user": _annotated(message, entities), "intent": intent})
        elif not started:
            continue
        elif kind == "action" and data.get("name") not in SILENT_ACTIONS:
            steps.append({"action": data.get("name")})
        elif kind == "slot":
            pair = {data.get("name"): data.get("value")}
            if steps and "slot_was_set" in steps[-1]:
                steps[-1]["slot_was_set"].append(pair)
            else:
                steps.append({"slot_was_set": [pair]})
        elif kind == "active_loop":
            steps.append({"active_loop": data.get("name")})
    return steps


def stories_yaml(conversations: Iterable[tuple[str, list[dict[str, Any]]]]) -> str:
    """(story name, steps) pairs as a Rasa test stories file."""
    document = {
        "version": "3.1",
        "stories": [{"story": name, "steps": steps} for name, steps in conversations],
    }
    header = "# Exported from the staff console: review before adding to tests/e2e.\n"
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
