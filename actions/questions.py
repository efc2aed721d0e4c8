"""Questions people ask at any moment, answered from the catalogue's knowledge base.

The answer fits the kind of question (the knowledge base holds one answer per question kind:
cost, rules, steps, what it is) and, where the person's answers decide it, says what it means
for them. A question without a good answer is said to be one: the bot names the regional
Leerwerkloket, and the question is kept (redacted) for staff, who make new answers from it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from actions.conversation import Conversation
from catalogue.items import title_in
from catalogue.plan_view import answer_sources

logger = logging.getLogger(__name__)

# The glossary term whose title and sources name the free regional advice desk.
DESK_TERM: Final = "leerwerkloket"


async def answer(c: Conversation, question: str, told: Mapping[str, Any]) -> bool:
    """Answers `question`; True when the knowledge base had a good answer.

    `told`: profile values the same message gave ("Ik ben 20, mag ik ..."), which count for
    the answer even before they are stored.
    """
    answers = {**c.answers, **told}
    try:
        found = await c.call(c.catalogue.find_answer, question, c.language, answers)
    except Exception:
        logger.exception("the knowledge base could not answer a question")
        found = None
    if found is not None:
        response = "utter_answer" if found.status == "verified" else "utter_answer_unsure"
        source = ", ".join(answer_sources(found.sources)) or "-"
        c.reply.say(response, answer=found.text, source=source)
        if found.personal:
            c.reply.say("utter_answer_for_you", personal=found.personal)
        return True
    c.reply.say("utter_no_answer")
    await say_desk(c)
    try:
        await c.call(c.services.question_log().record, c.turn.sender_id, question, c.language)
    except Exception as error:
        # The type only: a database error can quote the question.
        logger.warning("an unanswered question could not be kept (%s)", type(error).__name__)
    return False


async def say_desk(c: Conversation) -> None:
    """The free regional advice desk (Leerwerkloket), as the catalogue describes it."""
    try:
        term = await c.call(c.catalogue.lookup, "term", DESK_TERM)
    except Exception as error:
        logger.warning("advice desk lookup failed: %s", type(error).__name__)
        term = None
    if term is None:
        c.reply.say("utter_handoff_desk_unknown")
        return
    title = title_in(term, c.language)
    region = c.get("region")
    if isinstance(region, str) and region.strip():
        c.reply.say("utter_handoff_desk_region", desk=title, region=region.strip())
    else:
        c.reply.say("utter_handoff_desk", desk=title)
    urls = [s["url"] for s in term["sources"] if s["url"]]
    if urls:
        c.reply.say("utter_handoff_desk_link", url=urls[0])
