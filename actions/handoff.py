"""Handoff to a human advisor: consent, contact preference and contact, then stored.

The bot asks consent first (what is passed on: the answers so far and the advice summary),
then "bellen" or "mailen", then the phone number or e-mail address, last: the tracker store
redacts contact details before it stores a turn, so the request is stored in the same turn as
the contact is typed. The request and its outbox message are written in one transaction
(bot/app/handoff/store.py); a worker delivers them (bot/app/handoff/delivery.py). A retried call of
the same turn stores nothing twice: the request's key is the conversation and the turn.
"""

from __future__ import annotations

import logging
from typing import Any, Final, Literal

from actions.conversation import Conversation
from actions.idempotency import key_of
from actions.profile import profile_in_words
from actions.questions import say_desk
from actions.turn import (
    ADVISED_UNITS,
    HANDOFF_CONSENT,
    HANDOFF_CONTACT,
    HANDOFF_PREFERENCE,
    MISSES,
    PROFILE_SLOTS,
    RECOMMENDED_ROUTE,
)
from bot.common.contact import PREFERENCES, normalise_contact, read_preference
from bot.common.records import NewHandoff
from catalogue.interpret import Reading
from catalogue.items import title_in

logger = logging.getLogger(__name__)

# The slot that keeps the chosen way of contact between the two questions.
PREFERENCE_SLOT: Final = "handoff_contact_preference"
# The entity the "bellen"/"mailen" buttons send.
PREFERENCE_ENTITY: Final = "contact_method"
# After this many unusable answers to a handoff question, the bot stops asking.
GIVE_UP_AFTER: Final = 3
# What a handoff request is stored under, once per turn (actions/idempotency.py).
HANDOFF_EFFECT: Final = "handoff"
# Labels of the profile answers for the advisor reading the request (staff data, not bot text).
FIELD_LABELS: Final[dict[str, str]] = {
    "age": "Leeftijd",
    "education": "Opleiding",
    "care_qualifications": "Zorgdiploma's",
    "care_experience_years": "Jaren ervaring in de zorg",
    "employer": "Werkgever",
    "employer_sbb_recognised": "Erkend leerbedrijf",
    "hours_per_week": "Uren per week",
    "sector": "Sector",
    "goal": "Doel",
    "target": "Wil worden",
    "benefit": "Uitkering",
    "region": "Regio",
}


def start(c: Conversation) -> None:
    """Asks consent to pass the answers on."""
    c.set(PREFERENCE_SLOT, None)
    c.reply.ask("utter_ask_handoff_consent")
    c.ask_open(HANDOFF_CONSENT)


async def step(c: Conversation, reading: Reading, yes: bool, no: bool) -> bool:
    """Takes the answer to the open handoff question; False when the message is no answer to
    it (a question in between, say), so the dialogue handles it and asks again."""
    question = c.open_question
    text = c.turn.text
    if question == HANDOFF_CONSENT:
        if yes:
            c.reply.ask("utter_ask_handoff_contact_preference")
            c.ask_open(HANDOFF_PREFERENCE)
            return True
        if no:
            await _declined(c)
            return True
        return False
    if question == HANDOFF_PREFERENCE:
        chosen = c.turn.payload.get(PREFERENCE_ENTITY)
        if chosen in PREFERENCES:
            return _ask_contact(c, str(chosen))
        contact = normalise_contact(text, None)
        if contact is not None:  # a number or address right away: preference and contact
            await _store(c, contact[0], contact[1])
            return True
        preference = read_preference(text)
        if preference is not None:
            return _ask_contact(c, preference)
        if no:
            await _declined(c)
            return True
        return False
    if question == HANDOFF_CONTACT:
        preference = c.get(PREFERENCE_SLOT)
        contact = normalise_contact(text, preference)
        if contact is not None:
            await _store(c, contact[0], contact[1])
            return True
        if no:
            await _declined(c)
            return True
        return False
    return False


def retry(c: Conversation) -> None:
    """An answer to a handoff question the bot cannot use: ask again, or stop asking."""
    misses = c.misses + 1
    c.set(MISSES, misses)
    if misses >= GIVE_UP_AFTER:
        c.ask_open(None)
        c.reply.say("utter_handoff_given_up")
        return
    c.reply.ask(_open_question_response(c, "invalid"))


def ask_again(c: Conversation) -> None:
    """The open handoff question again (after a question in between)."""
    c.reply.ask(_open_question_response(c, "ask"))


def _open_question_response(c: Conversation, how: Literal["ask", "invalid"]) -> str:
    """The response that asks the open handoff question: `how` is "ask" (again) or "invalid"
    (after an answer the bot cannot use). The consent question has only the one."""
    question = c.open_question
    if question == HANDOFF_CONTACT:
        preference = c.get(PREFERENCE_SLOT) if c.get(PREFERENCE_SLOT) in PREFERENCES else "phone"
        return f"utter_{how}_handoff_{preference}"
    if question == HANDOFF_PREFERENCE:
        return f"utter_{how}_handoff_contact_preference"
    return "utter_ask_handoff_consent"


def _ask_contact(c: Conversation, preference: str) -> bool:
    c.set(PREFERENCE_SLOT, preference)
    c.reply.ask(f"utter_ask_handoff_{preference}")
    c.ask_open(HANDOFF_CONTACT)
    return True


async def _declined(c: Conversation) -> None:
    c.set(PREFERENCE_SLOT, None)
    c.ask_open(None)
    c.reply.say("utter_handoff_declined")
    await say_desk(c)


async def _store(c: Conversation, preference: str, contact: str) -> None:
    c.set(PREFERENCE_SLOT, None)
    c.ask_open(None)
    try:
        summary = await c.call(_profile_summary, c)
        new = NewHandoff(
            conversation_id=c.turn.sender_id,
            channel=c.turn.channel or "unknown",
            language=c.language,
            contact_preference=preference,
            contact=contact,
            consent=True,
            region=_region(c),
            profile_summary=summary,
            advice_summary=await c.call(_advice_summary, c),
        )
        key = key_of(c.turn.sender_id, c.turn.message_key, HANDOFF_EFFECT)
        stored = await c.call(c.services.handoff_store().create, new, key)
        logger.info(
            "handoff request %s %s", stored.public_id, "stored" if stored.created else "existed"
        )
    except Exception as error:
        # The type only: database errors quote the statement's parameters (the contact).
        logger.error("handoff request could not be stored: %s", type(error).__name__)
        c.reply.say("utter_handoff_failed")
        await say_desk(c)
        return
    days = c.services.handoff_response_days()
    if days > 0:
        c.reply.say("utter_handoff_confirmed_days", handoff_contact=contact, days=days)
    else:
        c.reply.say("utter_handoff_confirmed", handoff_contact=contact)
    await say_desk(c)


def _region(c: Conversation) -> str | None:
    region = c.get("region")
    return str(region) if isinstance(region, str) and region.strip() else None


def _profile_summary(c: Conversation) -> dict[str, Any]:
    """The answers so far, labelled and in words for the advisor (Dutch, as the console is)."""
    answers = c.answers
    # Only answers that count for this person (the SBB answer only with a care employer).
    profile = {k: v for k, v in answers.items() if c.catalogue.asks(k, answers)}
    words = profile_in_words(
        answers, c.skipped, c.domain, c.catalogue, language="nl", recruiter=False
    )
    return {
        "answers": [
            {
                "field": field,
                "label": FIELD_LABELS.get(field, field),
                "value": profile[field],
                "shown": words[field],
            }
            for field in PROFILE_SLOTS
            if field in profile
        ],
        "skipped": c.skipped,
        "recruiter": c.recruiter,
    }


def _advice_summary(c: Conversation) -> dict[str, Any] | None:
    """The advice given in this conversation (route and first units), or None."""
    if not c.advice_given:
        return None
    route = c.get(RECOMMENDED_ROUTE)
    units = [str(u) for u in c.get(ADVISED_UNITS, [])]

    def title(kind: str, item_id: str) -> str:
        try:
            found = c.catalogue.lookup(kind, item_id)
        except Exception:  # the summary is still useful without catalogue titles
            found = None
        return title_in(found, "nl") if found is not None else item_id

    return {
        "route": {"id": route, "title": title("route", str(route))} if route else None,
        "units": [{"id": u, "title": title("unit", u)} for u in units],
    }
