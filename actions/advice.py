"""The advice: a short summary first, then details on request (reasons and sources)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.advice_payload import FACT_LABELS, advice_payload
from actions.base import AdviceSource, CatalogueAction, response_variant
from actions.idempotency import idempotency_key
from actions.profile import INTAKE_FORM, profile_from_slots
from bot.advice_store import AdviceStore, SavedLink
from bot.db import Database
from bot.idempotency import IdempotencyKey
from bot.settings import load_settings
from catalogue.errors import ProfileError

logger = logging.getLogger(__name__)

# How many units and funding items the short summary names.
SUMMARY_UNITS = 2
SUMMARY_FUNDING = 2
# How many sources a reason names (the widget gets them all in the advice payload).
MAX_SOURCES = 2
# Item kinds in the advice and the entity that names one in a question.
KINDS = {"unit": "units", "route": "routes", "funding": "funding"}
# Glossary terms that name a kind of advice item ("meer over de leereenheid").
TERM_KINDS = {"leereenheid": "unit", "subsidie": "funding"}

# Kept for callers of the earlier module layout.
__all__ = ["ActionAdviceDetails", "ActionGiveAdvice", "profile_from_slots"]


def _localised(item: dict[str, Any], key: str, language: str) -> str:
    """item[key] in the user's language: `<key>_en` or {"nl","en"} when present."""
    value = item.get(key)
    if isinstance(value, dict):
        return str(value.get(language) or value.get("nl") or "")
    if language != "nl" and item.get(f"{key}_{language}"):
        return str(item[f"{key}_{language}"])
    return "" if value is None else str(value)


def _language(tracker: Tracker) -> str:
    return str(tracker.get_slot("language") or "nl")


def _titles(advice: dict[str, Any], kind: str, ids: list[str], language: str) -> str:
    items = {item["id"]: item for item in advice.get(kind, [])}
    return ", ".join(_localised(items[i], "title", language) for i in ids if i in items) or "-"


def _source(item: dict[str, Any]) -> str:
    sources = (item.get("sources") or [])[:MAX_SOURCES]
    return ", ".join(str(s.get("title") or s.get("id")) for s in sources) or "-"


class AdviceSaver(Protocol):
    """Saves an advice behind a link: `AdviceStore` in production (blocking; run in a thread)."""

    def save(
        self,
        advice: dict[str, Any],
        language: str,
        conversation_id: str | None = None,
        key: IdempotencyKey | None = None,
    ) -> SavedLink: ...


def default_advice_store() -> AdviceStore:
    settings = load_settings()
    return AdviceStore(
        Database(settings.database_url),
        settings.advice_link_days,
        settings.public_url,
        settings.secret_key,
    )


# Channels that draw the advice payload's cards and link themselves (bot/web/static/widget.js).
CARD_CHANNELS = frozenset({"widget"})

# Words for the card facts: a table in domain.yml (like the utter_labels_* of the intake).
FACT_LABELS_RESPONSE = "utter_labels_advice_facts"


def fact_labels(domain: DomainDict, language: str) -> dict[str, str]:
    """The card facts' labels in `language`, from domain.yml."""
    table = response_variant(domain, FACT_LABELS_RESPONSE, {"language": language}).get("custom")
    if not isinstance(table, Mapping):
        return {}
    return {name: str(table[name]) for name in FACT_LABELS if table.get(name)}


async def get_advice(catalogue: AdviceSource, tracker: Tracker) -> dict[str, Any]:
    """The engine's advice for the profile in the slots (off the event loop)."""
    return await asyncio.to_thread(catalogue.advise, profile_from_slots(tracker))


def summary_values(advice: dict[str, Any], language: str) -> dict[str, Any]:
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
        "version": advice.get("catalogue_version", "-"),
    }


async def explain_advice(
    catalogue: AdviceSource,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    topic: str | None,
) -> None:
    """The reasons (with sources) of the summary's items, or of the items of one kind/id."""
    advice = await get_advice(catalogue, tracker)
    language = _language(tracker)
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
        dispatcher.utter_message(response="utter_term_unknown")
        return
    for key, item_id in wanted:
        item = next(i for i in advice.get(key, []) if i["id"] == item_id)
        reason = " ".join(
            _localised(r, language, language) or str(r.get("nl", ""))
            for r in item.get("reasons", [])
        )
        dispatcher.utter_message(
            response="utter_advice_reason",
            title=_localised(item, "title", language),
            reason=reason or "-",
            source=_source(item),
        )


class ActionGiveAdvice(CatalogueAction):
    """Short summary, warnings, the advice as cards (compact JSON) and a link to the whole
    advice, saved for `advice_link_days`; for a recruiter a summary to forward."""

    def __init__(
        self, catalogue: AdviceSource | None = None, advice_store: AdviceSaver | None = None
    ) -> None:
        super().__init__(catalogue)
        self._advice_store = advice_store

    @property
    def advice_store(self) -> AdviceSaver:
        if self._advice_store is None:
            self._advice_store = default_advice_store()
        return self._advice_store

    def name(self) -> str:
        return "action_give_advice"

    async def save(
        self, advice: dict[str, Any], language: str, tracker: Tracker
    ) -> SavedLink | None:
        """The saved advice's link; None when it could not be saved (the advice still goes).

        Tied to the conversation, so erasing the conversation removes the link too; saved
        once per turn (a retried call gets the same link).
        """
        key = idempotency_key(tracker, self.name())
        try:
            return await asyncio.to_thread(
                self.advice_store.save, advice, language, tracker.sender_id, key
            )
        except Exception as error:
            # Only the error's type: a database error's text can hold the advice (the profile).
            logger.warning(
                "the advice could not be saved, no link given (%s)", type(error).__name__
            )
            return None

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            advice = await get_advice(self.catalogue, tracker)
        except ProfileError as error:
            logger.info("profile rejected by the catalogue: %s (field %s)", error, error.field)
            dispatcher.utter_message(response="utter_profile_invalid")
            form_slots = domain.get("forms", {}).get(INTAKE_FORM, {}).get("required_slots", [])
            if error.field in form_slots:
                # Forget the bad answer and let the form ask for it again.
                return [SlotSet(error.field, None), FollowupAction(INTAKE_FORM)]
            return [SlotSet("advice_given", False)]
        except Exception:
            logger.exception("the catalogue could not give advice")
            dispatcher.utter_message(response="utter_advice_unavailable")
            return [SlotSet("advice_given", False)]

        language = _language(tracker)
        route_ids: list[str] = list(advice.get("summary", {}).get("routes", []))
        values = summary_values(advice, language)
        if route_ids:
            dispatcher.utter_message(response="utter_advice_summary", **values)
        else:
            dispatcher.utter_message(response="utter_advice_no_route")
        for warning in advice.get("warnings", []):
            dispatcher.utter_message(
                response="utter_advice_warning",
                warning=_localised(warning, language, language) or str(warning.get("nl", "")),
            )
        saved = await self.save(advice, language, tracker)
        payload = advice_payload(
            advice,
            language,
            labels=fact_labels(domain, language),
            link=saved.url if saved else None,
            link_expires=saved.expires_at.date().isoformat() if saved else None,
        )
        dispatcher.utter_message(json_message=payload)
        if saved is not None and tracker.get_latest_input_channel() not in CARD_CHANNELS:
            # Channels without cards (Telegram, Slack, REST) get the link as text.
            dispatcher.utter_message(
                response="utter_advice_saved", link=saved.url, days=saved.valid_days
            )
        if tracker.get_slot("recruiter"):
            dispatcher.utter_message(response="utter_advice_forward", **values)
        return [
            SlotSet("advice_given", True),
            SlotSet("recommended_route", route_ids[0] if route_ids else None),
            SlotSet("advised_units", list(advice.get("summary", {}).get("units", []))),
        ]


class ActionAdviceDetails(CatalogueAction):
    """ "Meer over de leereenheid", "waarom die route?": reasons and sources of advice items."""

    def name(self) -> str:
        return "action_advice_details"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not tracker.get_slot("advice_given"):
            dispatcher.utter_message(response="utter_advice_not_yet")
            return []
        topic = _topic(tracker)
        try:
            await explain_advice(self.catalogue, dispatcher, tracker, topic)
        except Exception:
            logger.exception("the catalogue could not give advice details")
            dispatcher.utter_message(response="utter_advice_unavailable")
        return []


def _topic(tracker: Tracker) -> str | None:
    """A kind ("unit", "route", "funding") or an item id named in the latest message."""
    for entity in tracker.latest_message.get("entities") or []:
        name = str(entity.get("entity", "")).lower()
        if name in KINDS:
            value = entity.get("value")
            return str(value) if value else name
        if name == "detail" and entity.get("value") in KINDS:
            return str(entity["value"])
        if name == "term" and entity.get("value") in TERM_KINDS:
            return TERM_KINDS[str(entity["value"])]
    return None
