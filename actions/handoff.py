"""Handoff to a human advisor: consent, contact preference and contact, then stored.

`handoff_form` asks consent first (what is passed on: the answers so far and the advice
summary), then "bellen" or "mailen", then the phone number or e-mail address, last: the tracker
store redacts contact details before it stores a turn, so `action_confirm_handoff` must store
the request in the same turn as the contact is typed (it runs when the form completes). The
request and its outbox message are written in one transaction (bot/handoff/store.py); a worker
delivers them (bot/handoff/delivery.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import AdviceSource, CatalogueAction, SlotValidation
from actions.idempotency import idempotency_key
from actions.profile import PROFILE_SLOTS, profile_from_slots, profile_in_words
from bot.handoff.contact import PREFERENCES, normalise_contact, read_preference
from bot.handoff.store import HandoffStore, NewHandoff, default_store

logger = logging.getLogger(__name__)

CONSENT = "handoff_consent"
PREFERENCE = "handoff_contact_preference"
CONTACT = "handoff_contact"
HANDOFF_SLOTS = (CONSENT, PREFERENCE, CONTACT)
# The entity the "bellen"/"mailen" buttons send.
PREFERENCE_ENTITY = "contact_method"
# The glossary term whose title and sources name the free regional advice desk.
DESK_TERM = "leerwerkloket"
# Labels of the profile answers for the advisor reading the request (staff data, not bot text).
FIELD_LABELS: dict[str, str] = {
    "age": "Leeftijd",
    "education": "Opleiding",
    "care_qualifications": "Zorgdiploma's",
    "care_experience_years": "Jaren ervaring in de zorg",
    "employer": "Werkgever",
    "employer_sbb_recognised": "Erkend leerbedrijf",
    "hours_per_week": "Uren per week",
    "sector": "Sector",
    "goal": "Doel",
    "benefit": "Uitkering",
    "region": "Regio",
}


def _latest_intent(tracker: Tracker) -> str | None:
    intent = (tracker.latest_message or {}).get("intent") or {}
    name = intent.get("name")
    return str(name) if name else None


def _withdrawn() -> dict[str, Any]:
    """The person said no halfway: nothing is stored, the form ends (see required_slots)."""
    return {CONSENT: False, PREFERENCE: None, CONTACT: None}


class ValidateHandoffForm(SlotValidation):
    """Consent (no: the form ends at once), preference, and a contact that fits it."""

    def name(self) -> str:
        return "validate_handoff_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot(CONSENT) is False:
            return [CONSENT]
        return domain_slots

    def validate_handoff_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is False:
            return _withdrawn()
        return {CONSENT: bool(value)}

    def validate_handoff_contact_preference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        for entity in (tracker.latest_message or {}).get("entities") or []:
            if entity.get("entity") == PREFERENCE_ENTITY and entity.get("value") in PREFERENCES:
                return {PREFERENCE: entity["value"]}
        text = str(value or "")
        if text.strip().lower() in PREFERENCES:
            return {PREFERENCE: text.strip().lower()}
        # A number or address right away: that is the preference and the contact at once.
        contact = normalise_contact(text, None)
        if contact is not None:
            return {PREFERENCE: contact[0], CONTACT: contact[1]}
        preference = read_preference(text)
        if preference is not None:
            return {PREFERENCE: preference}
        if _latest_intent(tracker) == "deny":
            return _withdrawn()
        dispatcher.utter_message(response="utter_invalid_handoff_contact_preference")
        return {PREFERENCE: None}

    def validate_handoff_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        preference = tracker.get_slot(PREFERENCE)
        contact = normalise_contact(str(value or ""), preference)
        if contact is not None:
            return {PREFERENCE: contact[0], CONTACT: contact[1]}
        if _latest_intent(tracker) == "deny":
            return _withdrawn()
        kind = preference if preference in PREFERENCES else "phone"
        dispatcher.utter_message(response=f"utter_invalid_handoff_{kind}")
        return {CONTACT: None}


def _title(lookup: Callable[[str, str], Any] | None, kind: str, item_id: str) -> str:
    try:
        found = lookup(kind, item_id) if lookup is not None else None
    except Exception:  # the summary is still useful without catalogue titles
        found = None
    return str(found.get("title") or item_id) if isinstance(found, dict) else item_id


def profile_summary(
    tracker: Tracker, domain: DomainDict, catalogue: AdviceSource
) -> dict[str, Any]:
    """The answers so far, labelled and in words for the advisor (Dutch, as the console is).

    The values in words are the ones "wat weet je van mij?" shows, so the advisor reads
    "Ouderenzorg" where the user did, not the id "vvt".
    """
    profile = profile_from_slots(tracker)
    words = profile_in_words(tracker, domain, catalogue, language="nl", recruiter=False)
    answers = [
        {
            "field": field,
            "label": FIELD_LABELS.get(field, field),
            "value": profile[field],
            "shown": words[field],
        }
        for field in PROFILE_SLOTS
        if field in profile
    ]
    return {
        "answers": answers,
        "skipped": list(tracker.get_slot("skipped") or []),
        "recruiter": bool(tracker.get_slot("recruiter")),
    }


def advice_summary(tracker: Tracker, catalogue: AdviceSource) -> dict[str, Any] | None:
    """The advice given in this conversation (route and first units), or None."""
    if not tracker.get_slot("advice_given"):
        return None
    lookup = getattr(catalogue, "lookup", None)
    route = tracker.get_slot("recommended_route")
    units = [str(u) for u in tracker.get_slot("advised_units") or []]
    return {
        "route": {"id": route, "title": _title(lookup, "route", str(route))} if route else None,
        "units": [{"id": u, "title": _title(lookup, "unit", u)} for u in units],
    }


class ActionConfirmHandoff(CatalogueAction):
    """Stores the request (with consent), says what happens next, gives the advice desk."""

    def __init__(
        self,
        catalogue: AdviceSource | None = None,
        store: HandoffStore | None = None,
        response_days: int | None = None,
    ) -> None:
        super().__init__(catalogue)
        self._store = store
        self._response_days = response_days

    def name(self) -> str:
        return "action_confirm_handoff"

    @property
    def store(self) -> HandoffStore:
        if self._store is None:
            self._store = default_store()
        return self._store

    @property
    def response_days(self) -> int:
        if self._response_days is None:
            from bot.settings import load_settings

            self._response_days = load_settings().handoff_response_days
        return self._response_days

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # The contact is forgotten in any case: a later request asks again.
        forget: list[EventType] = [SlotSet(slot, None) for slot in HANDOFF_SLOTS]
        preference = tracker.get_slot(PREFERENCE)
        contact = tracker.get_slot(CONTACT)
        if not tracker.get_slot(CONSENT) or preference not in PREFERENCES or not contact:
            dispatcher.utter_message(response="utter_handoff_declined")
            await self._advice_desk(dispatcher, tracker)
            return forget
        try:
            await asyncio.to_thread(
                self._store_request, tracker, domain, str(preference), str(contact)
            )
        except Exception as error:
            # The type only: database errors quote the statement's parameters (the contact).
            logger.error("handoff request could not be stored: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_handoff_failed")
            await self._advice_desk(dispatcher, tracker)
            return forget
        days = self.response_days
        if days > 0:
            dispatcher.utter_message(
                response="utter_handoff_confirmed_days", handoff_contact=contact, days=days
            )
        else:
            dispatcher.utter_message(response="utter_handoff_confirmed", handoff_contact=contact)
        await self._advice_desk(dispatcher, tracker)
        return forget

    def _store_request(
        self, tracker: Tracker, domain: DomainDict, preference: str, contact: str
    ) -> None:
        region = tracker.get_slot("region")
        stored = self.store.create(
            NewHandoff(
                conversation_id=tracker.sender_id,
                channel=tracker.get_latest_input_channel() or "unknown",
                language=str(tracker.get_slot("language") or "nl"),
                contact_preference=preference,
                contact=contact,
                consent=True,
                region=str(region) if isinstance(region, str) and region.strip() else None,
                profile_summary=profile_summary(tracker, domain, self.catalogue),
                advice_summary=advice_summary(tracker, self.catalogue),
            ),
            idempotency_key(tracker, self.name()),
        )
        logger.info(
            "handoff request %s %s", stored.public_id, "stored" if stored.created else "existed"
        )

    async def _advice_desk(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        """The free regional advice desk, as the catalogue describes it."""
        desk = await asyncio.to_thread(self._desk, str(tracker.get_slot("language") or "nl"))
        if desk is None:
            dispatcher.utter_message(response="utter_handoff_desk_unknown")
            return
        title, url = desk
        region = tracker.get_slot("region")
        if isinstance(region, str) and region.strip():
            dispatcher.utter_message(
                response="utter_handoff_desk_region", desk=title, region=region.strip()
            )
        else:
            dispatcher.utter_message(response="utter_handoff_desk", desk=title)
        if url:
            dispatcher.utter_message(response="utter_handoff_desk_link", url=url)

    def _desk(self, language: str) -> tuple[str, str | None] | None:
        lookup = getattr(self.catalogue, "lookup", None)
        try:
            term = lookup("term", DESK_TERM) if lookup is not None else None
        except Exception as error:
            logger.warning("advice desk lookup failed: %s", type(error).__name__)
            return None
        if not isinstance(term, dict):
            return None
        title = str((term.get("title_en") if language == "en" else None) or term.get("title"))
        urls = [s.get("url") for s in term.get("sources") or [] if s.get("url")]
        return title, (str(urls[0]) if urls else None)
