"""`action_give_advice`: asks the catalogue for advice on the profile built from the slots."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import CatalogueAction
from catalogue.errors import ProfileError

logger = logging.getLogger(__name__)

# Slots whose names and values are profile fields of the catalogue's `advise`.
PROFILE_SLOTS = ("age", "sector", "hours_per_week", "language")
FORM = "profile_form"


def profile_from_slots(tracker: Tracker) -> dict[str, Any]:
    """The profile for `advise`: every profile slot that has a value."""
    profile: dict[str, Any] = {}
    for slot in PROFILE_SLOTS:
        value = tracker.get_slot(slot)
        if value is not None:
            profile[slot] = value
    return profile


def _localised(item: dict[str, Any], key: str, language: str) -> str:
    """item[key] in the user's language: `<key>_en` or {"nl","en"} when present."""
    value = item.get(key)
    if isinstance(value, dict):
        return str(value.get(language) or value.get("nl") or "")
    if language != "nl" and item.get(f"{key}_{language}"):
        return str(item[f"{key}_{language}"])
    return "" if value is None else str(value)


class ActionGiveAdvice(CatalogueAction):
    """Sends a short summary (utter_advice_summary) and the whole advice as JSON."""

    def name(self) -> str:
        return "action_give_advice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        profile = profile_from_slots(tracker)
        try:
            # The first call loads the catalogue from the database: keep it off the loop.
            advice = await asyncio.to_thread(self.catalogue.advise, profile)
        except ProfileError as error:
            logger.info("profile rejected by the catalogue: %s (field %s)", error, error.field)
            dispatcher.utter_message(response="utter_profile_invalid")
            form_slots = domain.get("forms", {}).get(FORM, {}).get("required_slots", [])
            if error.field in form_slots:
                # Forget the bad answer and let the form ask for it again.
                return [SlotSet(error.field, None), FollowupAction(FORM)]
            return [SlotSet("advice_given", False)]
        except Exception:
            logger.exception("the catalogue could not give advice")
            dispatcher.utter_message(response="utter_advice_unavailable")
            return [SlotSet("advice_given", False)]

        language = str(tracker.get_slot("language") or "nl")
        summary = advice.get("summary", {})
        route_ids: list[str] = list(summary.get("routes", []))
        best_id = route_ids[0] if route_ids else None
        best = next((r for r in advice.get("routes", []) if r["id"] == best_id), None)

        if best is None:
            dispatcher.utter_message(response="utter_advice_no_route")
        else:
            dispatcher.utter_message(
                response="utter_advice_summary",
                route_title=_localised(best, "title", language),
                route_count=len(route_ids),
                funding_count=len(summary.get("funding", [])),
            )
        dispatcher.utter_message(json_message={"type": "advice", "advice": advice})
        return [
            SlotSet("advice_given", True),
            SlotSet("recommended_route", best["id"] if best else None),
        ]
