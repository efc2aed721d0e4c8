"""The engine's widget channel (/webhooks/widget/...) against the running stack.

Each test uses its own conversations. "Nothing stored" is read from the tracker store's
SQLite file itself, so it cannot be hidden by a fallback.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.engine.tokens import issue_token, new_conversation, new_conversation_id, verify_token
from tests.stack import Stack, texts
from tests.web.channel_client import WidgetConversation, call

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def responses() -> dict[str, dict[str, dict[str, Any]]]:
    """Each response in domain.yml, by language: {"nl": {...}, "en": {...}}."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    by_language: dict[str, dict[str, dict[str, Any]]] = {"nl": {}, "en": {}}
    for name, variants in domain["responses"].items():
        for variant in variants:
            # The variant a person (not a recruiter) gets in each language; no other slot.
            conditions = {c["name"]: c["value"] for c in variant.get("condition") or []}
            if set(conditions) - {"language", "recruiter"} or conditions.get("recruiter"):
                continue
            languages = [conditions["language"]] if "language" in conditions else ["nl", "en"]
            for language in languages:
                # A variant for this language wins over one without conditions.
                if name not in by_language[language] or "language" in conditions:
                    by_language[language][name] = variant
    return by_language


def stored_events(stack: Stack, conversation_id: str) -> int:
    if not stack.tracker_db.exists():
        return 0
    with sqlite3.connect(stack.tracker_db) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        if "events" not in tables:
            return 0
        (count,) = db.execute(
            "SELECT count(*) FROM events WHERE sender_id = ?", (conversation_id,)
        ).fetchone()
    return int(count)


def test_a_new_conversation_gets_a_signed_token(stack: Stack) -> None:
    answer = call(stack.engine_url, "POST", "/conversations")
    assert answer.status == 201
    conversation_id, token = answer.body["conversation_id"], answer.body["token"]
    assert len(conversation_id) == 32
    assert verify_token(stack.settings.secret_key, token) == conversation_id
    expected_expiry = time.time() + stack.settings.widget_token_days * 86_400
    assert abs(answer.body["expires"] - expected_expiry) < 600
    # Restart gives another, unrelated conversation.
    again = call(stack.engine_url, "POST", "/restart")
    assert again.status == 201 and again.body["conversation_id"] != conversation_id


def test_a_valid_token_talks_to_the_bot(stack: Stack, responses: dict[str, Any]) -> None:
    chat = WidgetConversation.start(stack.engine_url)
    replies = chat.say("hoi")
    assert texts(replies) == [responses["nl"]["utter_greet"]["text"]]
    assert [b["title"] for b in replies[0]["buttons"]] == [
        b["title"] for b in responses["nl"]["utter_greet"]["buttons"]
    ]
    assert stored_events(stack, chat.conversation_id) > 0


def _refused_without_trace(stack: Stack, answer: Any, conversation_id: str) -> None:
    assert answer.status == 401
    assert answer.body == {"error": "unauthorized"}
    assert stored_events(stack, conversation_id) == 0


def test_missing_and_garbage_tokens_are_refused(stack: Stack) -> None:
    target = new_conversation_id()
    body = {"conversation_id": target, "message": "hoi"}
    for token in (None, "", "garbage", "Bearer", "v1.x.y.z"):
        answer = call(stack.engine_url, "POST", "/webhook", token=token, body=body)
        _refused_without_trace(stack, answer, target)
    assert call(stack.engine_url, "GET", "/history").status == 401


def test_forged_token_is_refused(stack: Stack) -> None:
    forged = new_conversation("not-the-server-key", days=30)
    body = {"conversation_id": forged.conversation_id, "message": "hoi"}
    answer = call(stack.engine_url, "POST", "/webhook", token=forged.token, body=body)
    _refused_without_trace(stack, answer, forged.conversation_id)
    assert call(stack.engine_url, "GET", "/history", token=forged.token).status == 401


def test_expired_token_is_refused(stack: Stack) -> None:
    expired = issue_token(
        stack.settings.secret_key, new_conversation_id(), days=1, now=time.time() - 2 * 86_400
    )
    body = {"conversation_id": expired.conversation_id, "message": "hoi"}
    answer = call(stack.engine_url, "POST", "/webhook", token=expired.token, body=body)
    _refused_without_trace(stack, answer, expired.conversation_id)
    assert call(stack.engine_url, "GET", "/history", token=expired.token).status == 401


def test_another_conversations_token_is_refused(stack: Stack) -> None:
    mine = WidgetConversation.start(stack.engine_url)
    theirs = WidgetConversation.start(stack.engine_url)
    theirs.say("hoi")
    before = stored_events(stack, theirs.conversation_id)
    body = {"conversation_id": theirs.conversation_id, "message": "ik ben 38"}
    answer = call(stack.engine_url, "POST", "/webhook", token=mine.token, body=body)
    assert answer.status == 401
    assert stored_events(stack, theirs.conversation_id) == before
    assert stored_events(stack, mine.conversation_id) == 0
    # My token reads my (empty) history, never theirs, whatever id I ask for.
    asked = call(
        stack.engine_url,
        "GET",
        f"/history?conversation_id={theirs.conversation_id}",
        token=mine.token,
    )
    assert asked.status == 401
    assert mine.history()["messages"] == []


def test_an_over_long_message_is_refused_kindly(stack: Stack) -> None:
    chat = WidgetConversation.start(stack.engine_url)
    limit = stack.settings.widget_max_message_chars
    answer = chat.send("a" * (limit + 1))
    assert answer.status == 413
    assert answer.body == {"error": "message_too_long", "max_chars": limit}
    assert stored_events(stack, chat.conversation_id) == 0
    huge = chat.send("a" * 100_000)
    assert huge.status == 413
    # The conversation still works afterwards.
    assert chat.say("hoi")


def test_bad_bodies_are_refused(stack: Stack) -> None:
    chat = WidgetConversation.start(stack.engine_url)
    answer = call(stack.engine_url, "POST", "/webhook", token=chat.token, raw=b"{not json")
    assert answer.status == 400
    assert chat.send("   ").status == 400
    assert stored_events(stack, chat.conversation_id) == 0


def test_history_after_several_turns(stack: Stack, responses: dict[str, Any]) -> None:
    nl = responses["nl"]
    chat = WidgetConversation.start(stack.engine_url)
    opening = chat.say("/greet", silent=True)  # the widget's own start: no bubble for it
    # The offer of a plan ends the opening, with its buttons.
    offer = opening[-1]
    yes = offer["buttons"][0]
    started = chat.say(yes["payload"], title=yes["title"])
    answered = chat.say("ouderenzorg")
    history = chat.history()
    assert history["conversation_id"] == chat.conversation_id
    assert history["language"] == "nl"

    def bot(reply: dict[str, Any]) -> dict[str, Any]:
        shown = {"sender": "bot", "text": reply["text"]}
        if reply.get("buttons"):
            shown["buttons"] = reply["buttons"]
        return shown

    # Exactly what was said, in order: the user's button by its title, no bubble for /greet.
    assert history["messages"] == [
        *map(bot, opening),
        {"sender": "user", "text": yes["title"]},
        *map(bot, started),
        {"sender": "user", "text": "ouderenzorg"},
        *map(bot, answered),
    ]
    # The intake starts with its explanation and the sector question; the answer moves it on.
    assert started[0]["text"] == nl["utter_intake_start"]["text"]
    assert started[-1]["text"] == nl["utter_ask_sector"]["text"]
    assert answered[-1]["text"] == nl["utter_ask_goal"]["text"]


def test_the_widget_language_reaches_the_bot(stack: Stack, responses: dict[str, Any]) -> None:
    chat = WidgetConversation.start(stack.engine_url)
    replies = chat.say("/greet", silent=True, language="en")
    # Told in English that the bot speaks English, then the opening in English.
    assert texts(replies)[0] == responses["en"]["utter_language_set"]["text"]
    assert texts(replies)[1] == responses["en"]["utter_intro"]["text"]
    # Back to Dutch with the switch itself: one answer, in Dutch.
    back = chat.say('/choose_language{"language": "nl"}', title="Nederlands", language="nl")
    assert texts(back)[0] == responses["nl"]["utter_language_set"]["text"]
    history = chat.history()
    assert history["language"] == "nl"
    users = [m["text"] for m in history["messages"] if m["sender"] == "user"]
    assert users == ["Nederlands"]


def test_readiness_is_served_by_the_channel(stack: Stack) -> None:
    # tools/assistant.py waits on this (the HTTP API may be off): 200 once the model is loaded.
    answer = call(stack.engine_url, "GET", "/")
    assert (answer.status, answer.body) == (200, {"status": "ok"})
