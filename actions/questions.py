"""Questions answered from the catalogue at any moment (mid-intake included)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import CatalogueAction

logger = logging.getLogger(__name__)

# Entities that name a catalogue item, as the catalogue calls the item's kind.
ITEM_ENTITIES = ("unit", "qualification", "route", "funding")
TERM = "term"
# Which text of a lookup result explains the item, in order of preference.
EXPLAIN_KEYS = ("explain", "text", "enables", "conditions", "amount")
# How many sources an answer names (the widget gets them all in the advice payload).
MAX_SOURCES = 2


def text_of(facts: dict[str, Any], key: str, language: str) -> str:
    """A text of a lookup result: facts[key] = {lang: text}, or nested under "texts"."""
    value = facts.get(key)
    if value is None and isinstance(facts.get("texts"), dict):
        texts = facts["texts"]
        value = texts.get(key) or (texts.get(language) or {}).get(key)
    if isinstance(value, dict):
        return str(value.get(language) or value.get("nl") or "")
    return "" if value is None else str(value)


def title_of(facts: dict[str, Any], language: str) -> str:
    if language != "nl" and facts.get(f"title_{language}"):
        return str(facts[f"title_{language}"])
    return str(facts.get("title") or facts.get("id") or "")


def source_of(facts: dict[str, Any]) -> str:
    sources = facts.get("sources") or []
    names = [str(s.get("title") or s.get("id")) if isinstance(s, dict) else str(s) for s in sources]
    unique = list(dict.fromkeys(names))  # each source once
    return ", ".join(unique[:MAX_SOURCES]) or "-"


class ActionAnswerQuestion(CatalogueAction):
    """What is a leereenheid / BBL / EVC ..., and what does a unit cost: from the catalogue."""

    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        language = str(tracker.get_slot("language") or "nl")
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        try:
            mentions = await self._mentions(tracker)
            if not mentions and intent == "ask_costs":
                mentions = _advised_items(tracker)
            facts = await self._first_facts(mentions, costs=intent == "ask_costs")
        except Exception:
            logger.exception("the catalogue could not answer a question")
            facts = None
        if facts is None:
            response = "utter_cost_unknown" if intent == "ask_costs" else "utter_term_unknown"
            dispatcher.utter_message(response=response)
            return []
        title, source = title_of(facts, language), source_of(facts)
        if intent == "ask_costs" and self._utter_cost(dispatcher, facts, language):
            return []
        answer = next(
            (
                text_of(facts, key, language)
                for key in EXPLAIN_KEYS
                if text_of(facts, key, language)
            ),
            "",
        )
        if not answer:
            dispatcher.utter_message(response="utter_term_unknown")
            return []
        dispatcher.utter_message(
            response="utter_term_explained", title=title, answer=answer, source=source
        )
        return []

    @staticmethod
    def _utter_cost(dispatcher: CollectingDispatcher, facts: dict[str, Any], language: str) -> bool:
        """The cost text, or the price range with its note; False when the catalogue has none."""
        title, source = title_of(facts, language), source_of(facts)
        cost = text_of(facts, "cost", language)
        if cost:
            dispatcher.utter_message(response="utter_cost", title=title, cost=cost, source=source)
            return True
        price = facts.get("price")
        if isinstance(price, dict) and price.get("min_eur") is not None:
            dispatcher.utter_message(
                response="utter_cost_range",
                title=title,
                low=price["min_eur"],
                high=price.get("max_eur") or price["min_eur"],
                note=price.get("note") or "",
                source=source,
            )
            return True
        return False

    async def _mentions(self, tracker: Tracker) -> list[tuple[str, str]]:
        """(kind, id) of the items the message names: entities first, then `interpret`."""
        found: list[tuple[str, str]] = []
        for entity in tracker.latest_message.get("entities") or []:
            name = str(entity.get("entity", "")).lower()
            value = entity.get("value")
            if value is None:
                continue
            if name in ITEM_ENTITIES:
                found.append((name, str(value)))
            elif name == TERM:
                found.append((TERM, str(value)))
        interpret = getattr(self.catalogue, "interpret", None)
        text = str(tracker.latest_message.get("text") or "")
        if interpret is not None and text and not text.startswith("/"):
            result = await asyncio.to_thread(interpret, text, None)
            for mention in result.get("mentions") or []:
                pair = (str(mention.get("kind")), str(mention.get("id")))
                if pair not in found:
                    found.append(pair)
        return found

    async def _first_facts(
        self, mentions: list[tuple[str, str]], *, costs: bool
    ) -> dict[str, Any] | None:
        """The facts of the first mention the catalogue knows (for costs: a priced one)."""
        lookup = getattr(self.catalogue, "lookup", None)
        glossary = getattr(self.catalogue, "glossary", None)
        ordered = sorted(mentions, key=lambda m: m[0] == TERM) if costs else mentions
        for kind, item_id in ordered:
            facts: dict[str, Any] | None = None
            if lookup is not None:
                facts = await asyncio.to_thread(lookup, kind, item_id)
                if facts is None and kind == TERM:
                    facts = await asyncio.to_thread(lookup, "route", item_id)
            if facts is None and kind == TERM and glossary is not None:
                terms = await asyncio.to_thread(glossary)
                facts = next((t for t in terms if t.get("id") == item_id), None)
            if facts is not None:
                return facts
        return None


def _advised_items(tracker: Tracker) -> list[tuple[str, str]]:
    """ "En de kosten?" after the advice: the advised units and route, from the slots."""
    route = tracker.get_slot("recommended_route")
    units = tracker.get_slot("advised_units") or []
    pairs = [("unit", str(unit)) for unit in units]
    if route:
        pairs.append(("route", str(route)))
    return pairs
