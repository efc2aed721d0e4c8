"""The advice: a short summary first, then details on request (reasons and sources)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from actions.advice_payload import FACT_LABELS, advice_payload, localised, said
from actions.base import response_variant
from actions.conversation import Conversation
from actions.profile import profile_for_catalogue
from actions.turn import ADVICE_GIVEN, ADVICE_PROFILE, ADVISED_UNITS, RECOMMENDED_ROUTE
from catalogue.errors import ProfileError
from catalogue.interpret import Mention

logger = logging.getLogger(__name__)

# How many units and funding items the short summary names.
SUMMARY_UNITS: Final = 2
SUMMARY_FUNDING: Final = 2
# How many sources a reason names (the widget gets them all in the advice payload).
MAX_SOURCES: Final = 2
# Item kinds in the advice and the entity that names one in a question.
KINDS: Final = {"unit": "units", "route": "routes", "funding": "funding"}
# Channels that draw the advice payload's cards and link themselves (bot/web/static/widget.js).
CARD_CHANNELS: Final = frozenset({"widget"})
# Words for the card facts: a table in domain.yml (like the utter_labels_* of the intake).
FACT_LABELS_RESPONSE: Final = "utter_labels_advice_facts"


def fact_labels(domain: Mapping[str, Any], language: str) -> dict[str, str]:
    """The card facts' labels in `language`, from domain.yml."""
    table = response_variant(dict(domain), FACT_LABELS_RESPONSE, {"language": language}).get(
        "custom"
    )
    if not isinstance(table, Mapping):
        return {}
    return {name: str(table[name]) for name in FACT_LABELS if table.get(name)}


def _titles(advice: Mapping[str, Any], kind: str, ids: list[str], language: str) -> str:
    items = {item["id"]: item for item in advice.get(kind, [])}
    return ", ".join(localised(items[i], "title", language) for i in ids if i in items) or "-"


def summary_values(advice: Mapping[str, Any], language: str) -> dict[str, Any]:
    """The variables of utter_advice_summary / utter_advice_forward."""
    summary = advice.get("summary", {})
    route_ids: list[str] = list(summary.get("routes", []))
    return {
        "route_title": _titles(advice, "routes", route_ids[:1], language),
        "route_count": len(route_ids),
        "units": _titles(advice, "units", list(summary.get("units", []))[:SUMMARY_UNITS], language),
        "funding": _titles(
            advice, "funding", list(summary.get("funding", []))[:SUMMARY_FUNDING], language
        ),
        "funding_count": len(summary.get("funding", [])),
    }


async def get_advice(c: Conversation) -> dict[str, Any]:
    """The engine's advice for the answers so far (off the event loop)."""
    profile = profile_for_catalogue(c.answers, c.language, c.catalogue)
    return await c.call(c.catalogue.advise, profile)


async def give(c: Conversation) -> bool:
    """Says the advice; False when it could not be given (an answer the catalogue refuses is
    forgotten, so the intake asks it again)."""
    try:
        advice = await get_advice(c)
    except ProfileError as error:
        logger.info("profile rejected by the catalogue: %s (field %s)", error, error.field)
        c.reply.say("utter_profile_invalid")
        if error.field is not None:
            c.set(error.field, None)
        return False
    except Exception:
        logger.exception("the catalogue could not give advice")
        c.reply.say("utter_advice_unavailable")
        return False

    language = c.language
    route_ids: list[str] = list(advice.get("summary", {}).get("routes", []))
    values = summary_values(advice, language)
    if route_ids:
        c.reply.say("utter_advice_summary", **values)
    else:
        c.reply.say("utter_advice_no_route")
    for warning in advice.get("warnings", []):
        c.reply.say("utter_advice_warning", warning=said(warning, language))
    saved = await _save(c, advice)
    c.reply.payload(
        advice_payload(
            advice,
            language,
            labels=fact_labels(c.domain, language),
            link=saved.url if saved else None,
            link_expires=saved.expires_at.date().isoformat() if saved else None,
        )
    )
    if saved is not None and c.turn.channel not in CARD_CHANNELS:
        # Channels without cards (Telegram, Slack, REST) get the link as text.
        c.reply.say("utter_advice_saved", link=saved.url, days=saved.valid_days)
    if c.recruiter:
        c.reply.say("utter_advice_forward", **values)
    c.set(ADVICE_GIVEN, True)
    c.set(ADVICE_PROFILE, profile_for_catalogue(c.answers, language, c.catalogue))
    c.set(RECOMMENDED_ROUTE, route_ids[0] if route_ids else None)
    c.set(ADVISED_UNITS, list(advice.get("summary", {}).get("units", [])))
    return True


async def _save(c: Conversation, advice: dict[str, Any]) -> Any:
    """The saved advice's link; None when it could not be saved (the advice still goes).

    Tied to the conversation, so erasing the conversation removes the link too.
    """
    try:
        store = c.services.advice_store()
        return await c.call(store.save, advice, c.language, c.turn.sender_id)
    except Exception as error:
        # Only the error's type: a database error's text can hold the advice (the profile).
        logger.warning("the advice could not be saved, no link given (%s)", type(error).__name__)
        return None


def outdated(c: Conversation) -> bool:
    """Whether answers changed since the advice was given (then it is given anew)."""
    given = c.get(ADVICE_PROFILE)
    return c.advice_given and given != profile_for_catalogue(c.answers, c.language, c.catalogue)


async def explain(c: Conversation, topic: str | None) -> None:
    """The reasons (with sources) of the summary's items, or of the items of one kind/id."""
    try:
        advice = await get_advice(c)
    except Exception:
        logger.exception("the catalogue could not give advice details")
        c.reply.say("utter_advice_unavailable")
        return
    language = c.language
    summary = advice.get("summary", {})
    wanted: list[tuple[str, str]] = []
    for kind, key in KINDS.items():
        ids = list(summary.get(key, []))[: 1 if kind == "route" else SUMMARY_UNITS]
        for item_id in ids:
            if topic is None or topic in (kind, item_id):
                wanted.append((key, item_id))
    if not wanted and topic is not None:
        wanted = [(key, item["id"]) for key in KINDS.values() for item in advice.get(key, [])]
        wanted = [(key, i) for key, i in wanted if i == topic]
    if not wanted:
        c.reply.say("utter_advice_no_details")
        return
    for key, item_id in wanted:
        item = next(i for i in advice.get(key, []) if i["id"] == item_id)
        reason = " ".join(said(r, language) for r in item.get("reasons", []))
        sources = (item.get("sources") or [])[:MAX_SOURCES]
        c.reply.say(
            "utter_advice_reason",
            title=localised(item, "title", language),
            reason=reason or "-",
            source=", ".join(str(s.get("title") or s.get("id")) for s in sources) or "-",
        )


def topic_of(mentions: Sequence[Mention]) -> str | None:
    """The first advice item (unit, route, funding) a message names."""
    for mention in mentions:
        if mention.get("kind") in KINDS:
            return str(mention["id"])
    return None
