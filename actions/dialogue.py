"""The conversation: one action answers every user message (data/stories/conversation.yml).

Why one action: the repair patterns a real conversation needs (clarification, cannot-handle,
skip, correction, cancel, chitchat, human handoff, repeat) all depend on the question the bot
asked last, so they are decided in one place, in order, for every message:

1. the open question gets the first look at every answer (a bare "Nijmegen", "24", "ja",
   "weet ik niet", a button title typed by hand): whatever the message tells is taken;
2. commands (stop, start over, erase, a person, another language) work at any moment;
3. a question is answered from the knowledge base, at any moment;
4. what is left unclear gets a short "sorry" with an example, then a way out (skip, example,
   person), then the question is skipped: the intake never stalls;
5. the bot goes on: the next question, the advice when all is known, or what can come next.

The state is in slots (actions/turn.py), never in this process.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Final

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import advice, handoff, intake, privacy, questions
from actions.base import CatalogueAction, CatalogueSource
from actions.conversation import (
    AdviceSaver,
    Conversation,
    HandoffRecorder,
    QuestionLog,
    Services,
    app_stores,
)
from actions.reply import Reply
from actions.turn import (
    CONTINUE_OFFER,
    ERASE_CONFIRM,
    HANDOFF_STEPS,
    INTAKE,
    INTAKE_DECLINED,
    INTAKE_OFFER,
    LANGUAGE,
    LAST_PROMPTS,
    MISSES,
    PROFILE_SLOTS,
    RECRUITER,
    Turn,
)
from bot.common.settings import load_settings
from catalogue.interpret import Reading

logger = logging.getLogger(__name__)

ACTION_NAME: Final = "action_converse"
# Two misses in a row outside the intake: the bot offers a person.
OFFER_HUMAN_AFTER: Final = 2
# Prompts the bot ends a turn with when it ended the two turns before with the same one.
AGAIN_SUFFIX: Final = "_again"


def _empty_reading() -> Reading:
    return {"values": {}, "problems": {}, "mentions": [], "short": None, "correcting": False}


async def read(c: Conversation) -> Reading:
    """What the message says, read with the open question in mind; a button's values."""
    turn = c.turn
    if turn.is_button or not turn.text:
        reading = _empty_reading()
        # A button's values as the profile takes them; a forged one ("age": 500) is dropped.
        reading["values"] = {
            field: value
            for field, value in turn.payload.items()
            if field not in PROFILE_SLOTS or await c.call(c.catalogue.accepts, field, value)
        }
        if turn.intent == "affirm":
            reading["short"] = "yes"
        elif turn.intent == "deny":
            reading["short"] = "no"
        return reading
    try:
        return await c.call(c.catalogue.interpret, turn.text, turn.asked_field)
    except Exception:
        logger.exception("the catalogue could not read a message")
        return _empty_reading()


async def respond(c: Conversation) -> None:
    """Everything the bot says and remembers in reply to one message."""
    turn = c.turn
    reading = await read(c)
    values = {k: v for k, v in reading["values"].items() if k in PROFILE_SLOTS}
    command = turn.command
    asking = bool(turn.text) and await _asks(c)
    yes = reading["short"] == "yes" or command == "affirm"
    no = reading["short"] == "no" or command == "deny"

    _language(c, reading, command)
    if turn.first_message:
        if command == "greet" and not values and not asking:
            c.reply.ask("utter_greet")
            c.ask_open(INTAKE_OFFER)
            return
        c.reply.say("utter_intro")

    # Questions the bot asked that are no profile question.
    if c.open_question == ERASE_CONFIRM:
        if yes and command != "deny":
            privacy.erase(c)
            return
        c.ask_open(None)
        if no:
            privacy.cancel(c)
            await proceed(c)
            return
    if c.open_question in HANDOFF_STEPS and command not in ("erase_conversation", "start_over"):
        if await handoff.step(c, reading, yes and not values, no and not values):
            await proceed(c)
            return
        if not asking and command not in ("ask_question", "ask_why", "show_profile", "stop"):
            handoff.retry(c)
            return

    # Commands, at any moment.
    if command == "erase_conversation":
        privacy.confirm(c)
        return
    if command == "request_human":
        handoff.start(c)
        return
    if command == "start_over":
        intake.reset(c)
        intake.start(c)
        await proceed(c)
        return
    if command == "stop" and not values and not asking:
        intake.stop(c)
        c.set(INTAKE_DECLINED, True)
        return
    if command == "say_recruiter":
        c.set(RECRUITER, True)
        c.reply.say("utter_recruiter_ok")
        intake.start(c)

    # What the message tells: answers, to the question asked and to others.
    asked = turn.asked_field if c.open_question == turn.asked_field else None
    problem = reading["problems"].get(asked) if asked else None
    if (
        asked == "region"
        and problem == "unknown_place"
        and not asking
        and command in (None, "inform")
    ):
        # A place the catalogue lacks is kept as typed, unless the message is clearly
        # something else ("lol", "dank je").
        place = intake.typed_place(turn.text, await c.call(c.catalogue.common_words))
        if place is not None:
            values["region"] = place
            problem = None
    filled = await intake.take(c, values, correcting=reading["correcting"])
    if filled and not c.intake and not (c.advice_given and not advice.outdated(c)):
        intake.start(c)
    handled = bool(filled) or command in ("say_recruiter", "choose_language")

    # A question, at any moment.
    if asking and command == "out_of_scope" and not reading["mentions"] and not filled:
        c.reply.say("utter_out_of_scope")
        handled = True
    elif asking or (command == "ask_question" and turn.text and not filled):
        await questions.answer(c, turn.text, values)
        handled = True
    elif command == "ask_question" and turn.is_button:
        c.reply.ask("utter_ask_your_question")  # "Ik heb een vraag": the question comes next
        return

    if not handled and not await _other(c, command, asked, problem, reading, yes, no):
        return
    await proceed(c)


async def _asks(c: Conversation) -> bool:
    try:
        return await c.call(c.catalogue.is_question, c.turn.text)
    except Exception:
        logger.exception("the catalogue could not tell a question")
        return c.turn.text.rstrip().endswith("?")


def _language(c: Conversation, reading: Reading, command: str | None) -> None:
    """The language of a first message, or the one asked for; said only when asked for."""
    language = c.turn.payload.get("language") or reading["values"].get("language")
    if language not in ("nl", "en") or language == c.language:
        return
    if command == "choose_language":
        c.set(LANGUAGE, language)
        c.reply.say("utter_language_set")
    elif c.turn.first_message:
        c.set(LANGUAGE, language)


async def _other(
    c: Conversation,
    command: str | None,
    asked: str | None,
    problem: str | None,
    reading: Reading,
    yes: bool,
    no: bool,
) -> bool:
    """A message that told nothing and asked nothing: a short answer, chitchat, a request, or
    something unclear. False when the reply is complete (it ends with a prompt of its own)."""
    open_question = c.open_question
    if asked and (command == "skip_question" or problem == "unknown"):
        intake.skip(c, asked, unknown=problem == "unknown")
    elif command == "ask_example" and asked:
        intake.example(c)
        return False
    elif asked and problem in ("clarify", "out_of_range"):
        intake.trouble(c, asked, problem)
        return not c.reply.prompted
    elif command == "repeat":
        pass  # the open question comes again
    elif command == "ask_why":
        await _why(c, asked)
    elif command == "show_profile":
        await _show_profile(c)
    elif command == "ask_details":
        await _details(c, reading)
    elif command == "greet":
        c.reply.say("utter_greet_again")
    elif command == "thank":
        c.reply.say("utter_you_are_welcome")
    elif command == "goodbye":
        c.reply.say("utter_goodbye")
        return False
    elif command == "request_advice" or (
        yes and open_question in (INTAKE_OFFER, CONTINUE_OFFER, None)
    ):
        intake.start(c)
    elif no and open_question in (INTAKE_OFFER, CONTINUE_OFFER):
        c.set(INTAKE, False)
        c.set(INTAKE_DECLINED, True)
        c.ask_open(None)
        c.reply.ask("utter_no_problem")
        return False
    elif command == "skip_question":
        pass  # nothing asked to skip: go on
    elif command == "out_of_scope":
        c.reply.say("utter_out_of_scope")
    elif asked:
        intake.trouble(c, asked, "unclear")
        return not c.reply.prompted
    elif c.turn.first_message:
        pass  # an opening the bot cannot place: the intro is said, the offer follows
    else:
        misses = c.misses + 1
        c.set(MISSES, 0 if misses >= OFFER_HUMAN_AFTER else misses)
        c.reply.ask(
            "utter_offer_human" if misses >= OFFER_HUMAN_AFTER else "utter_not_understood_general"
        )
        return False
    return True


async def proceed(c: Conversation) -> None:
    """The bot goes on: the open handoff question, the next intake question, the advice when
    all is known, what can come next after it, or the offer of the intake."""
    if c.reply.prompted:
        return
    if c.open_question in HANDOFF_STEPS:
        handoff.ask_again(c)
        return
    if c.advice_given and not c.intake and advice.outdated(c):
        c.set(INTAKE, True)  # an answer changed after the advice: the advice is given anew
    if c.intake:
        field = await c.call(c.catalogue.next_question, c.answers, c.skipped)
        if field is not None:
            intake.ask(c, field)
            return
        c.set(INTAKE, False)
        if (not c.advice_given or advice.outdated(c)) and not await advice.give(c):
            c.set(INTAKE, True)  # an answer the catalogue refused is asked again
            field = await c.call(c.catalogue.next_question, c.answers, c.skipped)
            if field is not None:
                intake.ask(c, field)
                return
        c.ask_open(None)
        c.reply.ask("utter_next_steps")
        return
    if c.advice_given:
        c.ask_open(None)
        c.reply.ask("utter_next_steps")
    elif c.get(INTAKE_DECLINED):
        c.ask_open(None)
        c.reply.ask("utter_anything_else")
    else:
        c.reply.ask("utter_offer_intake")
        c.ask_open(INTAKE_OFFER)


async def _why(c: Conversation, asked: str | None) -> None:
    """ "Waarom?": why the open question is asked; after the advice, why that advice."""
    if asked:
        c.reply.say(f"utter_why_{asked}")
    elif c.advice_given:
        await advice.explain(c, None)
    else:
        c.reply.say("utter_why_general")


async def _details(c: Conversation, reading: Reading) -> None:
    if not c.advice_given:
        c.reply.say("utter_advice_not_yet")
        return
    await advice.explain(c, advice.topic_of(reading["mentions"]))


async def _show_profile(c: Conversation) -> None:
    """What the bot knows so far, in words."""
    shown = await intake.profile_words(c)
    c.reply.say("utter_profile_summary", **shown)


def vary(c: Conversation, domain: DomainDict) -> None:
    """Never end three turns in a row with the same prompt: the third time it is said in its
    other words (utter_ask_<field> as utter_example_<field>, or <prompt>_again)."""
    messages = c.reply.messages
    last = messages[-1] if messages and c.reply.prompted else None
    key = None if last is None else _key(last)
    before = [str(k) for k in (c.turn.slots.get(LAST_PROMPTS) or []) if k][-2:]
    if last is not None and key is not None and before == [key, key]:
        name = last["response"]
        responses = domain.get("responses") or {}
        other = f"{name}{AGAIN_SUFFIX}"
        if name.startswith("utter_ask_") and name[len("utter_ask_") :] in PROFILE_SLOTS:
            other = "utter_example_" + name[len("utter_ask_") :]
        if other in responses:
            last["response"] = other
            key = _key(last)
    c.set(LAST_PROMPTS, [before[-1] if before else None, key])


def _key(message: Any) -> str:
    return json.dumps([message.get("response"), message.get("values")], sort_keys=True, default=str)


class ActionConverse(CatalogueAction):
    """The bot's answer to every user message (see the module's docstring)."""

    def __init__(
        self,
        catalogue: CatalogueSource | None = None,
        *,
        advice_store: AdviceSaver | None = None,
        handoff_store: HandoffRecorder | None = None,
        question_log: QuestionLog | None = None,
        handoff_response_days: int | None = None,
    ) -> None:
        super().__init__(catalogue)
        self._advice_store = advice_store
        self._handoff_store = handoff_store
        self._question_log = question_log
        self._response_days = handoff_response_days

    def name(self) -> str:
        return ACTION_NAME

    def services(self) -> Services:
        return Services(
            catalogue=self.catalogue,
            advice_store=self._get_advice_store,
            handoff_store=self._get_handoff_store,
            question_log=self._get_question_log,
            handoff_response_days=self._get_response_days,
        )

    def _get_advice_store(self) -> AdviceSaver:
        if self._advice_store is None:
            self._advice_store = app_stores().advice_store()
        return self._advice_store

    def _get_handoff_store(self) -> HandoffRecorder:
        if self._handoff_store is None:
            self._handoff_store = app_stores().handoff_store()
        return self._handoff_store

    def _get_question_log(self) -> QuestionLog:
        if self._question_log is None:
            self._question_log = app_stores().question_log()
        return self._question_log

    def _get_response_days(self) -> int:
        if self._response_days is None:
            self._response_days = load_settings().handoff_response_days
        return self._response_days

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        c = Conversation(Turn.from_tracker(tracker), Reply(), self.services(), domain)
        try:
            await respond(c)
        except Exception:
            # The catalogue or a store failed in a way no step handled: say so honestly and
            # change nothing, so the same message can simply be sent again.
            logger.exception("the turn could not be answered")
            c = Conversation(c.turn, Reply(), c.services, domain)
            c.reply.ask("utter_action_unavailable")
        vary(c, domain)
        # Responses depend on these slots; the engine would render them with the old values.
        changed = any(
            c.reply.slots.get(slot, c.turn.slots.get(slot)) != c.turn.slots.get(slot)
            for slot in (LANGUAGE, RECRUITER)
        )
        if changed:
            slots = {**c.turn.slots, **c.reply.slots}
            return c.reply.send(dispatcher, rendered_with=slots, domain=domain)
        return c.reply.send(dispatcher)
