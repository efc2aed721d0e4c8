"""The dialogue simulator (tools/simulate.py) through the real engine: 300 seeded
conversations in every `make test`, and its recognition of the bot's questions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from catalogue.reader import load_directory
from tests.stack import Stack
from tools.simulate import POOLS, Recogniser, simulate

ROOT = Path(__file__).resolve().parents[2]
CONVERSATIONS = 300
MIN_PHRASINGS = 30


def domain() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return loaded


@pytest.mark.integration
def test_300_simulated_conversations_break_no_invariant(stack: Stack) -> None:
    report = simulate(
        load_directory(), domain(), stack.say, conversations=CONVERSATIONS, seed=20261207
    )
    print("\n" + report.summary())
    for conversation in report.failed[:5]:
        print(conversation.transcript())
    assert len(report.conversations) == CONVERSATIONS
    assert not report.failed, f"{len(report.failed)} conversations broke an invariant"
    # The people did what people do: every behaviour of the pools happened.
    kinds = {e.note or "answer" for c in report.conversations for e in c.exchanges}
    assert {
        "question",
        "off-topic",
        "weet ik niet",
        "short answer",
        "button",
        "correction",
    } <= kinds
    assert sum(1 for c in report.conversations if c.person.language == "en") > 20
    assert all(c.advice is not None for c in report.conversations)


def test_every_question_has_at_least_30_phrasings() -> None:
    pools = yaml.safe_load(POOLS.read_text(encoding="utf-8"))
    counts: dict[str, int] = {}
    for field, languages in pools["numbers"].items():
        counts[field] = sum(len(templates) for templates in languages.values())
    for field, values in pools["choices"].items():
        if field == "region":
            counts[field] = len(values["places"])
        else:
            counts[field] = sum(len(p) for v in values.values() for p in v.values())
    intake = [q.field for q in load_directory().data.intake]
    assert set(intake) <= set(counts)
    assert {field: n for field, n in counts.items() if n < MIN_PHRASINGS} == {}


def test_the_simulator_knows_every_question_the_bot_asks() -> None:
    responses = domain()["responses"]
    recogniser = Recogniser(domain())
    for field in [q.field for q in load_directory().data.intake]:
        for kind in ("ask", "example", "clarify"):
            for variant in responses[f"utter_{kind}_{field}"]:
                found = recogniser.recognise(variant["text"])
                assert found is not None and found[0].field == field, (kind, field)
