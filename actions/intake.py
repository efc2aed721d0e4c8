"""The intake: profile slots filled from any message, the profile form and its side paths."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import AdviceSource, CatalogueAction, SlotValidation
from actions.profile import (
    ANSWER_INTENTS,
    INTAKE_FORM,
    NUMBER_SLOTS,
    PROFILE_SLOTS,
    profile_in_words,
    questions_left,
)
from catalogue.numberwords import parse_number
from catalogue.profile import BENEFITS, EMPLOYERS, GOALS, SBB_ANSWERS
from catalogue.service import default_service

logger = logging.getLogger(__name__)

PROBLEM_SLOT = "profile_problem"


def asked_field(tracker: Tracker) -> str | None:
    """The profile field the bot just asked, when the latest message answers it."""
    if tracker.active_loop_name != INTAKE_FORM:
        return None
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    requested = tracker.get_slot("requested_slot")
    if intent in ANSWER_INTENTS and requested in PROFILE_SLOTS:
        return str(requested)
    return None


def _number_fallback(text: str, asked: str | None, domain: DomainDict) -> dict[str, Any]:
    """Stand-in for `interpret` on a catalogue without it: a number for a number question."""
    result: dict[str, Any] = {"values": {}, "problems": {}, "mentions": []}
    if asked not in NUMBER_SLOTS:
        return result
    number = parse_number(text)
    slot = domain["slots"].get(asked, {})
    low, high = slot.get("min_value", 0), slot.get("max_value", 100)
    if number is None:
        result["problems"][asked] = "unclear"
    elif low <= number <= high:
        result["values"][asked] = number
    else:
        result["problems"][asked] = "out_of_range"
    return result


async def extract_profile(
    catalogue: AdviceSource, tracker: Tracker, domain: DomainDict
) -> list[EventType]:
    """SlotSet events for every profile field the latest message gives, and `profile_problem`.

    The catalogue's `interpret` reads the text; button payloads arrive as entities named
    after the slots. Answers that make no sense are not stored: `profile_problem` names the
    field, and the form's validation says a friendly re-ask (`utter_invalid_<field>`).
    """
    text = str(tracker.latest_message.get("text") or "")
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    asked = asked_field(tracker)
    found: dict[str, Any] = {}
    problems: dict[str, str] = {}
    if text and not text.startswith("/"):
        result = await _interpret(catalogue, text, asked, domain)
        found.update(result.get("values") or {})
        problems.update(result.get("problems") or {})
    if text.startswith("/"):
        # Button payloads carry the answer as entities named after the slots. Entities the
        # NLU finds in typed text ("aan het werk" as a goal) are no answers: `interpret` is.
        for entity in tracker.latest_message.get("entities") or []:
            if entity.get("entity") in PROFILE_SLOTS and entity.get("value") is not None:
                found[entity["entity"]] = entity["value"]

    if asked is not None and intent == "inform" and asked not in found:
        # An answer that fills nothing of the question asked: ask it again, kindly.
        problems.setdefault(asked, "unclear")
    events: list[EventType] = []
    for field, value in found.items():
        if field in PROFILE_SLOTS:
            events.append(SlotSet(field, value))
        elif field == "language" and (_is_first_message(tracker) or intent == "choose_language"):
            events.append(SlotSet("language", value))
    for field, kind in problems.items():
        if field not in PROFILE_SLOTS or field in found:
            continue
        # "Weet ik niet" / "sla over" move on (action_skip_question), no re-ask.
        if intent == "skip_question" or (kind == "unclear" and field != asked):
            continue
        events.append(SlotSet(PROBLEM_SLOT, field))
        break
    return events


async def _interpret(
    catalogue: AdviceSource, text: str, asked: str | None, domain: DomainDict
) -> dict[str, Any]:
    interpret = getattr(catalogue, "interpret", None)
    if interpret is None:
        return _number_fallback(text, asked, domain)
    try:
        result: dict[str, Any] = await asyncio.to_thread(interpret, text, asked)
    except Exception:
        logger.exception("the catalogue could not interpret a message")
        return {}
    return result


class ActionExtractProfile(CatalogueAction):
    """Slot mapping of `language` outside the intake (domain.yml: only for messages that
    do not start or answer the form): the language of a first message, and whatever
    profile field such a message gives.

    During the intake the form's validation reads the answers itself (`extract_profile`),
    so a form turn costs the engine one call to the action server, not two.
    """

    def name(self) -> str:
        return "action_extract_profile"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await extract_profile(self.catalogue, tracker, domain)
        # Outside the form nobody says the re-ask: no problem is kept.
        return [e for e in events if e.get("name") != PROBLEM_SLOT]


def _right_after_user_message(tracker: Tracker) -> bool:
    """Whether no other action ran since the user's latest message (the engine itself adds
    `ActionExecuted(<form>)` to the tracker it sends to the validation)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return True
        if event.get("event") == "action" and event.get("name") not in (
            INTAKE_FORM,
            "action_listen",
        ):
            return False
    return True


def _is_first_message(tracker: Tracker) -> bool:
    return sum(1 for event in tracker.events if event.get("event") == "user") <= 1


class ValidateProfileForm(SlotValidation):
    """Checks the extracted answers against the domain's limits and picks the next question.

    Only unknown, applicable, not skipped fields are asked (`required_slots`). When the
    latest message was a bad answer, the form asks the same question again instead of
    being rejected; other messages (questions) reject it so a rule can answer first.
    """

    def __init__(self, catalogue: AdviceSource | None = None) -> None:
        super().__init__()
        self._catalogue = catalogue

    @property
    def catalogue(self) -> AdviceSource:
        if self._catalogue is None:
            self._catalogue = default_service()
        return self._catalogue

    def name(self) -> str:
        return "validate_profile_form"

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Every profile field the latest answer gives (not only the one asked).

        Only right after a user message: when the form comes back after a side path
        ("waarom?"), the latest message was already handled.
        """
        if not _right_after_user_message(tracker):
            return []
        return await extract_profile(self.catalogue, tracker, domain)

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        # The slots this message just filled are validated too (they are no longer unknown).
        wanted = set(questions_left(tracker)) | set(tracker.slots_to_validate())
        return [slot for slot in domain_slots if slot in wanted]

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = await super().get_validation_events(dispatcher, tracker, domain)
        problem = tracker.get_slot(PROBLEM_SLOT)
        if problem is not None:
            # A bad answer: a friendly hint, and a validated slot so the form asks again.
            slot = domain["slots"].get(problem, {})
            dispatcher.utter_message(
                response=f"utter_invalid_{problem}",
                min=slot.get("min_value"),
                max=slot.get("max_value"),
            )
            events.append(SlotSet(PROBLEM_SLOT, None))
        # The language of a first message is no form slot, but is kept too.
        language = tracker.slots_to_validate().get("language")
        if language is not None:
            events.append(SlotSet("language", language))
        return events

    def validate_age(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.number_in_range("age", value, dispatcher, domain, whole=True)

    def validate_hours_per_week(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.number_in_range("hours_per_week", value, dispatcher, domain, whole=False)

    def validate_care_experience_years(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.number_in_range("care_experience_years", value, dispatcher, domain, whole=False)

    def validate_sector(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.one_of_values("sector", value, dispatcher, domain)

    # The other answers were read by the catalogue's `interpret` (or came from a button):
    # choices must be one of the catalogue's values; the advice engine checks the rest.
    def validate_education(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"education": value}

    def validate_care_qualifications(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"care_qualifications": value if isinstance(value, list) else [value]}

    def validate_employer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._choice("employer", value, EMPLOYERS, dispatcher)

    def validate_employer_sbb_recognised(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._choice("employer_sbb_recognised", value, SBB_ANSWERS, dispatcher)

    def validate_goal(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._choice("goal", value, GOALS, dispatcher)

    def validate_benefit(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._choice("benefit", value, BENEFITS, dispatcher)

    def validate_region(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"region": value}

    @staticmethod
    def _choice(
        slot: str, value: Any, allowed: tuple[str, ...], dispatcher: CollectingDispatcher
    ) -> dict[str, Any]:
        """{slot: value} for one of the catalogue's values for that field, else re-ask."""
        if value in allowed:
            return {slot: value}
        dispatcher.utter_message(response=f"utter_invalid_{slot}")
        return {slot: None}


class IntakeAction(CatalogueAction):
    """Base of the intake's side paths (they never read the catalogue themselves)."""


class ActionSkipQuestion(IntakeAction):
    """ "Sla over" / "weet ik niet": the question just asked is not asked again."""

    def name(self) -> str:
        return "action_skip_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        requested = tracker.get_slot("requested_slot")
        if requested not in PROFILE_SLOTS:
            return []
        skipped = list(tracker.get_slot("skipped") or [])
        if requested not in skipped:
            skipped.append(requested)
        dispatcher.utter_message(response="utter_skipped")
        return [SlotSet("skipped", skipped)]


class ActionExplain(IntakeAction):
    """ "Waarom?": why the current question is asked; after the advice, why that advice."""

    def name(self) -> str:
        return "action_explain"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        requested = tracker.get_slot("requested_slot")
        if tracker.active_loop_name == INTAKE_FORM and requested in PROFILE_SLOTS:
            dispatcher.utter_message(response=f"utter_why_{requested}")
            return []
        if tracker.get_slot("advice_given"):
            from actions.advice import explain_advice

            await explain_advice(self.catalogue, dispatcher, tracker, topic=None)
            return []
        dispatcher.utter_message(response="utter_why_general")
        return []


class ActionShowProfile(IntakeAction):
    """What the bot knows so far, in words: labels from domain.yml, titles from the catalogue."""

    def name(self) -> str:
        return "action_show_profile"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        shown = await asyncio.to_thread(profile_in_words, tracker, domain, self.catalogue)
        dispatcher.utter_message(response="utter_profile_summary", **shown)
        return []


class ActionStartOver(IntakeAction):
    """Forgets the profile and the advice (keeps language and recruiter mode)."""

    def name(self) -> str:
        return "action_start_over"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_restarted")
        events: list[EventType] = [SlotSet(slot, None) for slot in PROFILE_SLOTS]
        events += [
            SlotSet("skipped", []),
            SlotSet(PROBLEM_SLOT, None),
            SlotSet("advice_given", False),
            SlotSet("recommended_route", None),
            SlotSet("advised_units", []),
            SlotSet("requested_slot", None),
        ]
        return events
