"""The engine's tracker store (bot/engine/tracker_store.py): its bounded history.

One long conversation (intake, questions, corrections, fallbacks with rewinds, a second
session with carried-over slots, personal data in a slot) is saved turn by turn through the
store with a small bound, every turn loaded back the bounded way. After every turn the bounded
tracker must equal the whole session's (Rasa's own `_retrieve`) in everything the engine reads:
slots, active loop, latest message and action, the applied events of the latest turns and the
dialogue states the policies see; with the trained model, the same next action. And every event
is stored once, in order.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.engine.tracker_store import RedactingSQLTrackerStore, _plan_history

BOUND = 60  # events: every turn past the first few is loaded the bounded way
SENDER = "long"
Turn = tuple[UserUttered, list[Event]]


def user(text: str, intent: str, entities: Sequence[tuple[str, str]] = ()) -> UserUttered:
    return UserUttered(
        text,
        {"name": intent, "confidence": 0.99},
        [{"entity": e, "value": v, "start": 0, "end": 1} for e, v in entities],
    )


def reply(action: str, text: str = "...") -> list[Event]:
    return [ActionExecuted(action), BotUttered(text)]


def turn(number: int) -> Turn:
    # One turn after the user's message, as the engine logs it (without the action_listen):
    # the one dialogue action answers every message.
    kind = number % 9
    if kind == 0:
        return user("wat kost ADL?", "ask_question"), reply("action_converse")
    if kind == 1:
        return user("wat is BBL?", "ask_question"), reply("action_converse")
    if kind == 2:
        return user("wat weet je van mij?", "show_profile"), reply("action_converse")
    if kind == 3:
        return user("nee ik ben 40", "inform", [("age", "40")]), [
            ActionExecuted("action_converse"),
            SlotSet("age", 40.0 + number % 5),
            BotUttered("..."),
        ]
    if kind == 4:
        return user("blabla", "nlu_fallback"), reply("action_converse")
    if kind == 5:
        # Rasa's core fallback takes the message back.
        return user("hmm", "out_of_scope"), [
            *reply("action_default_fallback"),
            UserUtteranceReverted(),
        ]
    if kind == 6:
        return user("waarom?", "ask_why"), reply("action_converse")
    if kind == 7:
        return user("ik kan 32 uur", "inform", [("hours_per_week", "32")]), [
            ActionExecuted("action_converse"),
            SlotSet("hours_per_week", 32.0),
            BotUttered("..."),
            SlotSet("advice_given", True),
        ]
    return user("meer uitleg", "ask_details"), reply("action_converse")


def intake(number: int) -> Turn:
    # The intake: the open question moves on with each answer, a question in between.
    step = number % 6
    if step == 0:
        return user("ik wil advies", "request_advice"), [
            ActionExecuted("action_converse"),
            SlotSet("open_question", "age"),
            BotUttered("hoe oud?"),
        ]
    if step == 2:
        return user("wat is BBL?", "ask_question"), [
            ActionExecuted("action_converse"),
            BotUttered("BBL is ..."),
            BotUttered("hoe oud?"),
        ]
    if step == 5:
        return user("Utrecht", "inform"), [
            ActionExecuted("action_converse"),
            SlotSet("region", "Utrecht"),
            SlotSet("open_question", None),
            BotUttered("je plan"),
            SlotSet("advice_given", True),
        ]
    return user("38", "inform", [("age", "38")]), [
        ActionExecuted("action_converse"),
        SlotSet("age", 38.0),
        SlotSet("open_question", "education"),
        BotUttered("welke opleiding?"),
    ]


def script() -> Iterator[Turn | None]:
    """The turns; None where the second session starts."""
    for number in range(130):
        if number == 60:
            yield None
        # An intake at the start of each session and one in the middle of the first.
        if number < 6 or 30 <= number < 36 or 60 <= number < 66:
            yield intake(number)
        else:
            yield turn(number)


def view(tracker: DialogueStateTracker, domain: Domain) -> dict[str, Any]:
    applied = tracker.applied_events()
    return {
        "slots": {name: slot.value for name, slot in tracker.slots.items()},
        "active_loop": tracker.active_loop_name,
        "latest_message": [tracker.latest_message.text, tracker.latest_message.intent],
        "latest_action": tracker.latest_action,
        "followup": tracker.followup_action,
        "paused": tracker.is_paused(),
        "applied_tail": [e.as_dict() for e in applied[-12:]],
        "states_tail": tracker.past_states(domain)[-8:],
    }


def predicted(processor: Any, tracker: DialogueStateTracker, domain: Domain) -> list[Any]:
    prediction = processor._predict_next_with_tracker(tracker)
    index = prediction.max_confidence_index
    return [domain.action_names_or_texts[index], prediction.policy_name]


async def load(store: RedactingSQLTrackerStore, full: bool = False) -> DialogueStateTracker:
    """The stored tracker (bounded unless `full`): there is one."""
    found = await (store.retrieve_full_tracker(SENDER) if full else store.retrieve(SENDER))
    assert found is not None
    tracker: DialogueStateTracker = found
    return tracker


def same(mine: Any, theirs: Any) -> bool:
    return json.dumps(mine, sort_keys=True, default=str) == json.dumps(
        theirs, sort_keys=True, default=str
    )


async def converse(domain: Domain, database: Path, processor: Any) -> dict[str, Any]:
    """Saves and loads the conversation turn by turn; what the tests below assert on."""
    store = RedactingSQLTrackerStore(domain, host=f"sqlite:///{database}", history_events=BOUND)
    stock = RedactingSQLTrackerStore(domain, host=f"sqlite:///{database}", history_events=0)
    report: dict[str, Any] = {"mismatches": [], "loaded": [], "stock_loaded": [], "predictions": 0}
    first_session_texts: set[str] = set()
    tracker = await store.get_or_create_tracker(SENDER, append_action_listen=False)
    for event in [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
    ]:
        tracker.update(event, domain)
    # Personal data in a slot, early: the bounded tracker reads it from the redacted row.
    tracker.update(SlotSet("handoff_contact", "jan.jansen@example.nl"), domain)
    await store.save(tracker)
    created = len(tracker.events)
    session = 1
    for item in script():
        tracker = await load(store)
        new: list[Event]
        if item is None:
            session = 2
            # As Rasa's action_session_start: the carried-over slots after SessionStarted
            # (the store finds a session's events by the timestamp of its start).
            new = [ActionExecuted("action_session_start"), SessionStarted()]
            new += [
                SlotSet(name, slot.value)
                for name, slot in tracker.slots.items()
                if slot.value is not None and name != "requested_slot"
            ]
            new.append(ActionExecuted("action_listen"))
        else:
            message, actions = item
            if session == 1:
                message.text = f"s1-{len(first_session_texts)}"
                first_session_texts.add(message.text)
            if processor is not None:
                whole = await load(stock)
                # The next action after the message, then after the dialogue action: the same?
                for label, event in (
                    ("prediction", message),
                    ("prediction after action", actions[0]),
                ):
                    for t in (tracker, whole):
                        t.update(event, domain)
                    mine = predicted(processor, tracker, domain)
                    theirs = predicted(processor, whole, domain)
                    report["predictions"] += 1
                    if mine != theirs:
                        report["mismatches"].append([label, mine, theirs])
                new = [*actions[1:], ActionExecuted("action_listen")]
            else:
                new = [message, *actions, ActionExecuted("action_listen")]
        for event in new:
            tracker.update(event, domain)
        await store.save(tracker)
        created += len(new) + (0 if processor is None or item is None else 2)
        bounded, whole = await load(store), await load(stock)
        report["loaded"].append(len(bounded.events))
        report["stock_loaded"].append(len(whole.events))
        bounded_view, whole_view = view(bounded, domain), view(whole, domain)
        for key in bounded_view:
            if not same(bounded_view[key], whole_view[key]):
                report["mismatches"].append(
                    [key, len(report["loaded"]), bounded_view[key], whole_view[key]]
                )
    full = await load(store, full=True)
    bounded = await load(store)
    report["created"] = created
    report["full_events"] = len(full.events)
    report["full_types"] = [e.type_name for e in full.events]
    report["bounded_texts"] = [e.text for e in bounded.events if isinstance(e, UserUttered)]
    report["first_session_texts"] = sorted(first_session_texts)
    report["contact"] = bounded.get_slot("handoff_contact")
    report["stock_contact"] = (await load(stock)).get_slot("handoff_contact")

    # Erasing from the chat after a bounded load: every row of the conversation goes.
    bounded.update(user("verwijder", "erase_conversation"), domain)
    bounded.update(ActionExecuted("action_erase_conversation"), domain)
    await store.save(bounded)
    erased = await store.retrieve_full_tracker(SENDER)
    report["after_erase"] = len(erased.events) if erased else 0
    return report


@pytest.fixture(scope="module")
def domain(root: Path) -> Domain:
    return Domain.load(str(root / "domain.yml"))


@pytest.fixture(scope="module")
def report(domain: Domain, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    database = tmp_path_factory.mktemp("bounded") / "trackers.db"
    return asyncio.run(converse(domain, database, None))


def test_a_bounded_tracker_equals_the_whole_session(report: dict[str, Any]) -> None:
    # Slots, active loop, latest message and action, applied events and dialogue states.
    assert report["mismatches"] == []


def test_long_sessions_are_loaded_bounded(report: dict[str, Any]) -> None:
    loaded, stock = report["loaded"], report["stock_loaded"]
    # The bound is what was tested: most turns loaded fewer events than the session holds,
    # never much more than the bound, and short sessions exactly as Rasa loads them.
    assert sum(mine < theirs for mine, theirs in zip(loaded, stock, strict=True)) > 80
    assert max(loaded) < 3 * BOUND < max(stock)
    assert all(
        mine == theirs for mine, theirs in zip(loaded, stock, strict=True) if theirs <= BOUND
    )


def test_every_event_is_stored_once_in_order(report: dict[str, Any]) -> None:
    assert report["full_events"] == report["created"]
    types = report["full_types"]
    assert types[:3] == ["action", "session_started", "action"]
    assert types.count("session_started") == 2


def test_earlier_sessions_are_not_loaded(report: dict[str, Any]) -> None:
    assert report["first_session_texts"], "the first session had messages"
    assert not set(report["bounded_texts"]) & set(report["first_session_texts"])


def test_slot_values_from_before_the_window_are_the_stored_redacted_ones(
    report: dict[str, Any],
) -> None:
    assert report["contact"] == report["stock_contact"]
    assert "example.nl" not in str(report["contact"])


def test_erasing_after_a_bounded_load_deletes_the_whole_conversation(
    report: dict[str, Any],
) -> None:
    assert report["after_erase"] == 0


@pytest.mark.integration  # needs the trained model: `make test` runs it after the training
def test_the_model_predicts_the_same_next_action(
    domain: Domain, trained_model: Path, tmp_path: Path
) -> None:
    from rasa.core.agent import Agent

    processor = Agent.load(str(trained_model)).processor
    report = asyncio.run(converse(domain, tmp_path / "trackers.db", processor))
    assert report["predictions"] > 200
    assert report["mismatches"] == []


# Where the planner starts a bounded tracker, on stored rows (id, type_name, action_name).
Row = tuple[int, str, str | None]


def _turns(first_id: int, count: int, action: str = "action_answer_question") -> list[Row]:
    rows: list[Row] = []
    for n in range(count):
        base = first_id + 4 * n
        rows += [(base, "action", "action_listen"), (base + 1, "user", None)]
        rows += [(base + 2, "action", action), (base + 3, "bot", None)]
    return rows


START: list[Row] = [(1, "action", "action_session_start"), (2, "session_started", None)]
AGE: list[Row] = [(3, "slot", "age")]
CASES: dict[str, tuple[list[Row], int]] = {
    "short": (START + _turns(4, 3), 100),
    "off": (START + _turns(4, 30), 0),
    # The window starts at a turn boundary; the latest age and the session's start go before.
    "plain": (START + AGE + _turns(4, 30), 20),
    # Two rewinds in a row reach back across the latest boundaries: the start moves before them.
    "rewinds": (
        START
        + AGE
        + _turns(4, 30)
        + [(124, "action", "action_listen"), (125, "rewind", None)]
        + [(126, "rewind", None)],
        6,
    ),
    # A loop active at the ideal start: the window starts before the loop's activation.
    "loop": (
        START
        + AGE
        + _turns(4, 20)
        + [(84, "action", "action_listen"), (85, "user", None), (86, "action", "profile_form")]
        + [(87, "active_loop", "profile_form"), (88, "slot", "requested_slot")]
        + _turns(89, 8, "profile_form"),
        20,
    ),
    # A loop that ended before the start: its name goes along, its slot values too.
    "ended loop": (
        START
        + AGE
        + [(4, "action", "action_listen"), (5, "user", None), (6, "action", "profile_form")]
        + [(7, "active_loop", "profile_form"), (8, "slot", "requested_slot")]
        + [(9, "action", "profile_form"), (10, "active_loop", None), (11, "slot", "requested_slot")]
        + _turns(12, 20),
        20,
    ),
    # A rewind before the start takes back the age that was set in its turn.
    "rewound slot": (
        START
        + AGE
        + [(4, "action", "action_listen"), (5, "user", None), (6, "slot", "age")]
        + [(7, "action", "action_default_fallback"), (8, "rewind", None)]
        + _turns(9, 20),
        20,
    ),
    # Slots before a reset of all slots are not kept.
    "reset": (START + AGE + [(4, "reset_slots", None)] + _turns(5, 20), 20),
}


def plan(name: str) -> tuple[int, list[int], list[str]] | None:
    rows, keep = CASES[name]
    found = _plan_history(rows, keep)
    return None if found is None else (found.start_id, list(found.prefix_ids), list(found.loops))


def test_short_sessions_and_a_zero_bound_load_everything() -> None:
    assert plan("short") is None
    assert plan("off") is None


def test_the_window_starts_at_a_turn_boundary_after_the_state() -> None:
    found = plan("plain")
    assert found is not None
    start, prefix, loops = found
    assert start in {row[0] for row in _turns(4, 30) if row[2] == "action_listen"}
    assert 124 - 20 - 4 < start <= 124 - 20  # about `keep` events, not fewer
    assert prefix == [2, 3] and loops == []


def test_no_rewind_reaches_back_across_the_start() -> None:
    # The ideal start (the boundary at 120) is taken back by the second rewind, which also
    # takes back the turn before: the window starts at that turn's boundary.
    found = plan("rewinds")
    assert found is not None
    assert found[0] == 116


def test_the_window_never_starts_inside_an_active_loop() -> None:
    found = plan("loop")
    assert found is not None
    start, _, loops = found
    assert start <= 84
    assert loops == []


def test_an_ended_loop_goes_along_by_name() -> None:
    found = plan("ended loop")
    assert found is not None
    start, prefix, loops = found
    assert start > 11
    assert loops == ["profile_form"]
    assert prefix == [2, 3, 11]  # the session's start, age, requested_slot (emptied)


def test_rewound_and_reset_slots_are_not_kept() -> None:
    rewound, reset = plan("rewound slot"), plan("reset")
    assert rewound is not None and reset is not None
    assert rewound[1] == [2, 3]  # the age of the taken-back turn is gone
    assert reset[1] == [2]
