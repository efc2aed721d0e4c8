"""The advice: the person's plan, said short in the chat, drawn as a card by the widget, saved
behind a link; its reasons and other ways on request ("waarom?", "meer uitleg").

All four (chat text, card, saved page, PDF) come from one view of the plan
(catalogue/plan_view.py), so they say the same steps, target and contact. The sentences are the
plan's (catalogue/data/plan.yaml) and domain.yml's; nothing here says anything itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

from actions.conversation import Conversation
from actions.idempotency import key_of
from actions.profile import profile_for_catalogue
from actions.turn import ADVICE_GIVEN, ADVICE_PROFILE, ADVISED_UNITS, RECOMMENDED_ROUTE
from bot.common.records import SavedLink
from catalogue.errors import ProfileError
from catalogue.interpret import Mention
from catalogue.plan_view import (
    PlanView,
    SaidReason,
    card_payload,
    chat_values,
    notes_about,
    present,
    said_reasons,
    say_date,
)

logger = logging.getLogger(__name__)

# Item kinds a question can name to ask about ("meer over de leereenheid").
KINDS: Final = frozenset({"unit", "route", "funding"})
# Channels that draw the plan's card and its link themselves (bot/app/web/static/widget.js).
CARD_CHANNELS: Final = frozenset({"widget"})
# How many reasons and other ways one "waarom?" says (the saved page has them all).
MAX_REASONS: Final = 4
MAX_OTHERS: Final = 2
# What a saved plan is stored under, once per turn (actions/idempotency.py).
ADVICE_EFFECT: Final = "advice"


async def get_plan(c: Conversation) -> PlanView:
    """The plan for the answers so far, as the view every output is made from (the catalogue
    is called off the event loop)."""
    profile = profile_for_catalogue(c.answers, c.language, c.catalogue)
    plan = await c.call(c.catalogue.plan, profile)
    return present(plan, c.language)


async def give(c: Conversation) -> bool:
    """Says the plan; False when it could not be given (an answer the catalogue refuses is
    forgotten, so the intake asks it again)."""
    try:
        view = await get_plan(c)
    except ProfileError as error:
        logger.info("profile rejected by the catalogue: %s (field %s)", error, error.field)
        c.reply.say("utter_profile_invalid")
        if error.field is not None:
            c.set(error.field, None)
        return False
    except Exception:
        logger.exception("the catalogue could not make a plan")
        c.reply.say("utter_advice_unavailable")
        return False

    values = chat_values(view)
    cards = c.turn.channel in CARD_CHANNELS
    if cards:  # the widget draws the steps in its card: the chat only introduces it
        c.reply.say("utter_advice_plan_card", **values)
    else:
        c.reply.say("utter_advice_plan", **values)
    saved = await _save(c, view)
    c.reply.payload(
        card_payload(
            view,
            link=saved.url if saved else None,
            link_until=say_date(view["dates"], saved.expires_at.date()) if saved else None,
        )
    )
    if saved is not None and not cards:
        # Channels without cards (Telegram, Slack, WhatsApp, Teams, REST) get the link as text.
        c.reply.say("utter_advice_saved", link=saved.url, days=saved.valid_days)
    if c.recruiter:
        c.reply.say("utter_advice_forward", **values)
    refs = view["refs"]
    c.set(ADVICE_GIVEN, True)
    c.set(ADVICE_PROFILE, profile_for_catalogue(c.answers, c.language, c.catalogue))
    c.set(RECOMMENDED_ROUTE, refs["route"])
    c.set(ADVISED_UNITS, list(refs["units"]))
    return True


async def _save(c: Conversation, view: PlanView) -> SavedLink | None:
    """The saved plan's link; None when it could not be saved (the plan still goes).

    Tied to the conversation, so erasing the conversation removes the link too.
    """
    try:
        store = c.services.advice_store()
        key = key_of(c.turn.sender_id, c.turn.message_key, ADVICE_EFFECT)
        return await c.call(store.save, view, c.language, c.turn.sender_id, key)
    except Exception as error:
        # Only the error's type: a database error's text can hold the plan (the profile).
        logger.warning("the plan could not be saved, no link given (%s)", type(error).__name__)
        return None


def outdated(c: Conversation) -> bool:
    """Whether answers changed since the advice was given (then it is given anew)."""
    given = c.get(ADVICE_PROFILE)
    return c.advice_given and given != profile_for_catalogue(c.answers, c.language, c.catalogue)


async def explain(c: Conversation, topic: str | None) -> None:
    """The plan's reasons, then the other ways that fit, with their sources: all of them, or
    those about one kind or item ("meer over de leereenheid", "waarom BBL?")."""
    try:
        view = await get_plan(c)
    except Exception:
        logger.exception("the catalogue could not give the plan's details")
        c.reply.say("utter_advice_unavailable")
        return
    reasons, others = notes_about(view, topic)
    if not reasons and not others:
        c.reply.say("utter_advice_no_details")
        return
    for said in said_reasons(view, reasons)[:MAX_REASONS]:
        _say_reason(c, said)
    if others:
        c.reply.say("utter_advice_other_ways")
        for said in said_reasons(view, others)[:MAX_OTHERS]:
            _say_reason(c, said)


def _say_reason(c: Conversation, said: SaidReason) -> None:
    title, reason = said["title"], said["reason"]
    if said["sources"]:
        source = ", ".join(said["sources"])
        c.reply.say("utter_advice_reason", title=title, reason=reason, source=source)
    else:
        c.reply.say("utter_advice_reason_unsourced", title=title, reason=reason)


def topic_of(mentions: Sequence[Mention]) -> str | None:
    """The first plan item (unit, route, funding) a message names."""
    for mention in mentions:
        if mention.get("kind") in KINDS:
            return str(mention["id"])
    return None
