"""A turn's replies as typed values, text helpers, and the recruiters' privacy notice as the
domain says it (domain.yml, both languages)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bot.engine.channels.replies import (
    BotReply,
    Button,
    bot_replies,
    clip,
    fill,
    language_of,
    privacy_notice,
    split_text,
)
from tests.stack import ROOT


def test_collected_messages_become_replies_and_empty_ones_go() -> None:
    collected: list[dict[str, Any]] = [
        {
            "recipient_id": "x",
            "text": " Hoi! ",
            "buttons": [
                {"title": "Ja", "payload": "/affirm"},
                {"title": "", "payload": "/x"},
                "kapot",
            ],
        },
        {"recipient_id": "x", "custom": {"type": "advice"}},
        {"recipient_id": "x", "image": "https://x.nl/a.png"},
        {"recipient_id": "x", "text": "   "},
        {"recipient_id": "x", "custom": ["not", "a", "mapping"]},
    ]
    assert bot_replies(collected) == [
        BotReply("Hoi!", (Button("Ja", "/affirm"),)),
        BotReply(custom={"type": "advice"}),
        BotReply(image="https://x.nl/a.png"),
    ]


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Allebei / weet ik nog niet", 24, "Allebei / weet ik nog…"),
        ("kort", 24, "kort"),
        ("Eenheelllangwoordzonderspaties", 10, "Eenheelll…"),
    ],
)
def test_clip(text: str, limit: int, expected: str) -> None:
    assert clip(text, limit) == expected
    assert len(clip(text, limit)) <= limit


def test_split_text_keeps_every_word_within_the_limit() -> None:
    text = "Eerste alinea.\n\nTweede alinea met meer woorden.\nEen regel. " + "x" * 30
    parts = split_text(text, 20)
    assert all(0 < len(part) <= 20 for part in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())


def test_fill_replaces_known_placeholders_only() -> None:
    assert fill("{retention_days} dagen, {other}", {"retention_days": 180}) == "180 dagen, {other}"


def test_language_of() -> None:
    assert [language_of(v) for v in ("en", "nl", "de", None, 3)] == ["en", "nl", "nl", "nl", "nl"]


@pytest.fixture(scope="module")
def responses() -> dict[str, Any]:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return dict(domain["responses"])


@pytest.mark.parametrize(
    ("language", "erase", "health"),
    [("nl", "wis dit gesprek", "gezondheid"), ("en", "delete this conversation", "health")],
)
def test_the_privacy_notice_says_what_is_kept_how_long_and_how_to_erase_it(
    responses: dict[str, Any], language: str, erase: str, health: str
) -> None:
    (notice,) = privacy_notice(responses, language, retention_days=97, privacy_url="")
    assert "97" in notice and "{" not in notice
    assert erase in notice and health in notice and "BSN" in notice
    assert ("kandidaat" if language == "nl" else "candidate") in notice
    assert ("chatbot" in notice) and ("geen mens" in notice or "not a person" in notice)


def test_the_privacy_statement_is_linked_when_the_deployment_has_one(
    responses: dict[str, Any],
) -> None:
    texts = privacy_notice(
        responses, "en", retention_days=30, privacy_url="https://werkgever.example/privacy"
    )
    assert len(texts) == 2 and texts[1].endswith("https://werkgever.example/privacy")
    assert texts[1].startswith("Read the privacy statement")


def test_no_notice_without_the_response() -> None:
    assert privacy_notice({}, "nl", retention_days=30, privacy_url="https://x.nl") == []
