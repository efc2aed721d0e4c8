"""The engine's tracker store (bot/engine/tracker_store.py), in .venv-rasa: its bounded history.

One long conversation (intake, questions, corrections, fallbacks with rewinds, a second
session with carried-over slots, personal data in a slot) is saved turn by turn through the
store with a small bound, every turn loaded back the bounded way. After every turn the bounded
tracker must equal the whole session's (Rasa's own `_retrieve`) in everything the engine reads:
slots, active loop, latest message and action, the applied events of the latest turns and the
dialogue states the policies see; with the trained model, the same next action. And every event
is stored once, in order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.engine_runtime import run_in_engine_runtime
from tests.stack import trained_model
from tools.assistant import ROOT

# The conversation, built from the domain's own intents, actions and loops. Prints one JSON
# object: what the tests below assert on.
CONVERSATION = """
import asyncio, json, sys
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered,
    UserUtteranceReverted,
)
from bot.engine.tracker_store import RedactingSQLTrackerStore

domain_path, database, bound, model = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
domain = Domain.load(domain_path)
store = RedactingSQLTrackerStore(domain, host=f"sqlite:///{database}", history_events=bound)
stock = RedactingSQLTrackerStore(domain, host=f"sqlite:///{database}", history_events=0)
SENDER = "long"
processor = None
if model:
    from rasa.core.agent import Agent
    processor = Agent.load(model).processor


def user(text, intent, entities=()):
    return UserUttered(
        text,
        {"name": intent, "confidence": 0.99},
        [{"entity": e, "value": v, "start": 0, "end": 1} for e, v in entities],
    )


def reply(action, text="..."):
    return [ActionExecuted(action), BotUttered(text)]


def turn(number):
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
            ActionExecuted("action_converse"), SlotSet("age", 40.0 + number % 5),
            BotUttered("..."),
        ]
    if kind == 4:
        return user("blabla", "nlu_fallback"), reply("action_converse")
    if kind == 5:
        # Rasa's core fallback takes the message back.
        return user("hmm", "out_of_scope"), [
            *reply("action_default_fallback"), UserUtteranceReverted(),
        ]
    if kind == 6:
        return user("waarom?", "ask_why"), reply("action_converse")
    if kind == 7:
        return user("ik kan 32 uur", "inform", [("hours_per_week", "32")]), [
            ActionExecuted("action_converse"), SlotSet("hours_per_week", 32.0),
            BotUttered("..."), SlotSet("advice_given", True),
        ]
    return user("meer uitleg", "ask_details"), reply("action_converse")


def intake(number):
    # The intake: the open question moves on with each answer, a question in between.
    step = number % 6
    if step == 0:
        return user("ik wil advies", "request_advice"), [
            ActionExecuted("action_converse"), SlotSet("open_question", "age"),
            BotUttered("hoe oud?"),
        ]
    if step == 2:
        return user("wat is BBL?", "ask_question"), [
            ActionExecuted("action_converse"), BotUttered("BBL is ..."), BotUttered("hoe oud?"),
        ]
    if step == 5:
        return user("Utrecht", "inform"), [
            ActionExecuted("action_converse"), SlotSet("region", "Utrecht"),
            SlotSet("open_question", None), BotUttered("je plan"), SlotSet("advice_given", True),
        ]
    return user("38", "inform", [("age", "38")]), [
        ActionExecuted("action_converse"), SlotSet("age", 38.0),
        SlotSet("open_question", "education"), BotUttered("welke opleiding?"),
    ]


def script():
    for number in range(130):
        if number == 60:
            yield "session", None
        # An intake at the start of each session and one in the middle of the first.
        if number < 6 or 30 <= number < 36 or 60 <= number < 66:
            yield "turn", intake(number)
        else:
            yield "turn", turn(number)


def view(tracker):
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


def predicted(tracker):
    prediction = processor._predict_next_with_tracker(tracker)
    index = prediction.max_confidence_index
    return [domain.action_names_or_texts[index], prediction.policy_name]


async def main():
    report = {"mismatches": [], "loaded": [], "stock_loaded": [], "predictions": 0}
    first_session_texts = set()
    tracker = await store.get_or_create_tracker(SENDER, append_action_listen=False)
    for event in [ActionExecuted("action_session_start"), SessionStarted(),
                  ActionExecuted("action_listen")]:
        tracker.update(event, domain)
    # Personal data in a slot, early: the bounded tracker reads it from the redacted row.
    tracker.update(SlotSet("handoff_contact", "jan.jansen@example.nl"), domain)
    await store.save(tracker)
    created = len(tracker.events)
    session = 1
    for step, item in script():
        tracker = await store.retrieve(SENDER)
        if step == "session":
            session = 2
            # As Rasa's action_session_start: the carried-over slots after SessionStarted
            # (the store finds a session's events by the timestamp of its start).
            new = [ActionExecuted("action_session_start"), SessionStarted()]
            new += [SlotSet(name, slot.value) for name, slot in tracker.slots.items()
                    if slot.value is not None and name != "requested_slot"]
            new.append(ActionExecuted("action_listen"))
        else:
            message, actions = item
            if session == 1:
                message.text = f"s1-{len(first_session_texts)}"
                first_session_texts.add(message.text)
            if processor is not None:
                whole = await stock.retrieve(SENDER)
                for t in (tracker, whole):
                    t.update(message, domain)
                mine, theirs = predicted(tracker), predicted(whole)
                report["predictions"] += 1
                if mine != theirs:
                    report["mismatches"].append(["prediction", mine, theirs])
                tracker.update(actions[0], domain)
                whole.update(actions[0], domain)
                mine, theirs = predicted(tracker), predicted(whole)
                report["predictions"] += 1
                if mine != theirs:
                    report["mismatches"].append(["prediction after action", mine, theirs])
                new = actions[1:] + [ActionExecuted("action_listen")]
            else:
                new = [message, *actions, ActionExecuted("action_listen")]
        for event in new:
            tracker.update(event, domain)
        await store.save(tracker)
        created += len(new) + (0 if processor is None or step == "session" else 2)
        bounded, whole = await store.retrieve(SENDER), await stock.retrieve(SENDER)
        report["loaded"].append(len(bounded.events))
        report["stock_loaded"].append(len(whole.events))
        mine, theirs = view(bounded), view(whole)
        for key in mine:
            if json.dumps(mine[key], sort_keys=True, default=str) != json.dumps(
                theirs[key], sort_keys=True, default=str
            ):
                report["mismatches"].append([key, len(report["loaded"]), mine[key], theirs[key]])
    full = await store.retrieve_full_tracker(SENDER)
    bounded = await store.retrieve(SENDER)
    report["created"] = created
    report["full_events"] = len(full.events)
    report["full_types"] = [e.type_name for e in full.events]
    report["bounded_texts"] = [e.text for e in bounded.events if isinstance(e, UserUttered)]
    report["first_session_texts"] = sorted(first_session_texts)
    report["contact"] = bounded.get_slot("handoff_contact")
    report["stock_contact"] = (await stock.retrieve(SENDER)).get_slot("handoff_contact")

    # Erasing from the chat after a bounded load: every row of the conversation goes.
    bounded.update(user("verwijder", "erase_conversation"), domain)
    bounded.update(ActionExecuted("action_erase_conversation"), domain)
    await store.save(bounded)
    erased = await store.retrieve_full_tracker(SENDER)
    report["after_erase"] = len(erased.events) if erased else 0
    print("REPORT " + json.dumps(report, default=str))

asyncio.run(main())
"""

BOUND = 60  # events: every turn past the first few is loaded the bounded way


def _run(tmp_path: Path, model: str) -> dict[str, Any]:
    result = run_in_engine_runtime(
        CONVERSATION,
        str(ROOT / "domain.yml"),
        str(tmp_path / "trackers.db"),
        str(BOUND),
        model,
        cwd=tmp_path,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("REPORT ")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(lines[-1].removeprefix("REPORT "))
    return report


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _run(tmp_path_factory.mktemp("bounded"), "")


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
def test_the_model_predicts_the_same_next_action(tmp_path: Path) -> None:
    report = _run(tmp_path, str(trained_model()))
    assert report["predictions"] > 200
    assert report["mismatches"] == []


# Where the planner starts a bounded tracker, on stored rows (id, type_name, action_name).
PLANS = """
import json, sys
from bot.engine.tracker_store import _plan_history

cases = json.loads(sys.argv[1])
plans = {}
for name, (rows, keep) in cases.items():
    plan = _plan_history([tuple(row) for row in rows], keep)
    plans[name] = None if plan is None else [plan.start_id, list(plan.prefix_ids), list(plan.loops)]
print("PLANS " + json.dumps(plans))
"""


def _turns(first_id: int, count: int, action: str = "action_answer_question") -> list[list[Any]]:
    rows: list[list[Any]] = []
    for n in range(count):
        base = first_id + 4 * n
        rows += [[base, "action", "action_listen"], [base + 1, "user", None]]
        rows += [[base + 2, "action", action], [base + 3, "bot", None]]
    return rows


START = [[1, "action", "action_session_start"], [2, "session_started", None]]
AGE = [[3, "slot", "age"]]
CASES: dict[str, tuple[list[list[Any]], int]] = {
    "short": (START + _turns(4, 3), 100),
    "off": (START + _turns(4, 30), 0),
    # The window starts at a turn boundary; the latest age and the session's start go before.
    "plain": (START + AGE + _turns(4, 30), 20),
    # Two rewinds in a row reach back across the latest boundaries: the start moves before them.
    "rewinds": (
        START
        + AGE
        + _turns(4, 30)
        + [[124, "action", "action_listen"], [125, "rewind", None]]
        + [[126, "rewind", None]],
        6,
    ),
    # A loop active at the ideal start: the window starts before the loop's activation.
    "loop": (
        START
        + AGE
        + _turns(4, 20)
        + [[84, "action", "action_listen"], [85, "user", None], [86, "action", "profile_form"]]
        + [[87, "active_loop", "profile_form"], [88, "slot", "requested_slot"]]
        + _turns(89, 8, "profile_form"),
        20,
    ),
    # A loop that ended before the start: its name goes along, its slot values too.
    "ended loop": (
        START
        + AGE
        + [[4, "action", "action_listen"], [5, "user", None], [6, "action", "profile_form"]]
        + [[7, "active_loop", "profile_form"], [8, "slot", "requested_slot"]]
        + [[9, "action", "profile_form"], [10, "active_loop", None], [11, "slot", "requested_slot"]]
        + _turns(12, 20),
        20,
    ),
    # A rewind before the start takes back the age that was set in its turn.
    "rewound slot": (
        START
        + AGE
        + [[4, "action", "action_listen"], [5, "user", None], [6, "slot", "age"]]
        + [[7, "action", "action_default_fallback"], [8, "rewind", None]]
        + _turns(9, 20),
        20,
    ),
    # Slots before a reset of all slots are not kept.
    "reset": (START + AGE + [[4, "reset_slots", None]] + _turns(5, 20), 20),
}


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result = run_in_engine_runtime(PLANS, json.dumps(CASES), cwd=tmp_path_factory.mktemp("plans"))
    lines = [line for line in result.stdout.splitlines() if line.startswith("PLANS ")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    found: dict[str, Any] = json.loads(lines[-1].removeprefix("PLANS "))
    return found


def test_short_sessions_and_a_zero_bound_load_everything(plans: dict[str, Any]) -> None:
    assert plans["short"] is None
    assert plans["off"] is None


def test_the_window_starts_at_a_turn_boundary_after_the_state(plans: dict[str, Any]) -> None:
    start, prefix, loops = plans["plain"]
    assert start in {row[0] for row in _turns(4, 30) if row[2] == "action_listen"}
    assert 124 - 20 - 4 < start <= 124 - 20  # about `keep` events, not fewer
    assert prefix == [2, 3] and loops == []


def test_no_rewind_reaches_back_across_the_start(plans: dict[str, Any]) -> None:
    # The ideal start (the boundary at 120) is taken back by the second rewind, which also
    # takes back the turn before: the window starts at that turn's boundary.
    start, _, _ = plans["rewinds"]
    assert start == 116


def test_the_window_never_starts_inside_an_active_loop(plans: dict[str, Any]) -> None:
    start, _, loops = plans["loop"]
    assert start <= 84
    assert loops == []


def test_an_ended_loop_goes_along_by_name(plans: dict[str, Any]) -> None:
    start, prefix, loops = plans["ended loop"]
    assert start > 11
    assert loops == ["profile_form"]
    assert prefix == [2, 3, 11]  # the session's start, age, requested_slot (emptied)


def test_rewound_and_reset_slots_are_not_kept(plans: dict[str, Any]) -> None:
    assert plans["rewound slot"][1] == [2, 3]  # the age of the taken-back turn is gone
    assert plans["reset"][1] == [2]
