"""Rasa-shaped tracker events for console tests and the benchmark (bench/console.py).

Each event is what Rasa 3.6's `event.as_dict()` gives and its SQL tracker store writes into
`events.data`; rows carry the same type_name, intent_name and action_name columns.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert

from bot.app.tracker_events import events, tracker_metadata

INTAKE: tuple[tuple[str, str, dict[str, Any] | None, Any], ...] = (
    ("age", "ik ben 38", {"entity": "number", "value": 38, "start": 7, "end": 9}, 38),
    ("education", "havo", None, {"level": "havo"}),
    ("care_qualifications", "nee, geen diploma in de zorg", None, []),
    ("care_experience_years", "0", {"entity": "number", "value": 0, "start": 0, "end": 1}, 0),
    ("employer", "nee nog geen werkgever", None, "none"),
    ("hours_per_week", "24 uur", {"entity": "number", "value": 24, "start": 0, "end": 2}, 24),
    ("sector", '/inform{"sector": "vvt"}', {"entity": "sector", "value": "vvt"}, "vvt"),
    ("goal", '/inform{"goal": "tasks"}', {"entity": "goal", "value": "tasks"}, "tasks"),
)
OPENERS = (
    "hoi",
    "hallo, ik wil graag in de zorg werken",
    "goedemiddag, ik werk nu in de thuiszorg als huishoudelijke hulp",
    "ik ben kapper en wil overstappen naar de ouderenzorg",
    "wat kost een opleiding tot verzorgende",
)
GIBBERISH = ("asdf", "kan mijn hond ook mee", "wat is het weer morgen", "blabla 123")
CHANNELS = ("rest", "widget", "telegram", "slack")
ADVICE = {
    "profile": {"age": 38, "sector": "vvt", "goal": "tasks"},
    "summary": {"routes": ["derde_leerweg", "bbl"], "units": ["adl"], "funding": ["slim"]},
    "routes": [
        {
            "id": "derde_leerweg",
            "kind": "route",
            "title": "Derde leerweg: losse leereenheden of een opleiding op maat",
            "fit": "possible",
            "status": "verified",
            "reasons": [
                {
                    "rule": "r1",
                    "outcome": "possible",
                    "nl": "Kan met een werkgever.",
                    "en": "Possible with an employer.",
                }
            ],
        }
    ],
    "units": [
        {
            "id": "adl",
            "kind": "unit",
            "title": "Algemene Dagelijkse Levensverrichtingen (ADL)",
            "fit": "recommended",
            "status": "verified",
            "reasons": [],
        }
    ],
    "funding": [],
    "warnings": [],
    "open_questions": [{"field": "benefit", "affects": {"units": [], "routes": [], "funding": []}}],
    "catalogue_version": "2026-11-23.1",
}


@dataclass(frozen=True)
class Plan:
    """What one seeded conversation does."""

    sender_id: str
    start: float
    outcome: str = "advice"  # advice | handoff | abandoned
    channel: str = "rest"
    language: str = "nl"
    fallbacks: int = 0
    stop_at: str = "education"  # the question an abandoned conversation stops at
    opener: str = "hoi"
    low_confidence: float | None = None
    old_advice: bool = False  # logged before the plan: the advice's card of then


class _Builder:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.clock = plan.start
        self.events: list[dict[str, Any]] = []

    def _add(self, event: dict[str, Any]) -> None:
        self.clock += 0.4
        self.events.append({"event": event.pop("event"), "timestamp": self.clock, **event})

    def action(self, name: str) -> None:
        self._add(
            {
                "event": "action",
                "name": name,
                "policy": "RulePolicy",
                "confidence": 1.0,
                "action_text": None,
                "hide_rule_turn": False,
            }
        )

    def user(
        self, text: str, intent: str, confidence: float, entities: list[dict[str, Any]]
    ) -> None:
        self.clock += 5
        parse = {
            "intent": {"name": intent, "confidence": confidence},
            "entities": [{**e, "extractor": "SpacyEntityExtractor"} for e in entities],
            "text": text,
            "message_id": f"m{len(self.events)}",
            "metadata": {},
            "intent_ranking": [{"name": intent, "confidence": confidence}],
        }
        self._add(
            {
                "event": "user",
                "text": text,
                "parse_data": parse,
                "input_channel": self.plan.channel,
                "message_id": parse["message_id"],
                "metadata": {},
            }
        )
        self._add({"event": "user_featurization", "use_text_for_featurization": False})

    def bot(self, utter: str, text: str | None, **data: Any) -> None:
        self.action(utter)
        self.said(text, {"utter_action": utter}, **data)

    def said(self, text: str | None, metadata: dict[str, Any], **data: Any) -> None:
        """A bot event; `data` fills in what the message has (Rasa stores the rest as None)."""
        payload = {
            "elements": None,
            "quick_replies": None,
            "buttons": None,
            "attachment": None,
            "image": None,
            "custom": None,
            **data,
        }
        self._add({"event": "bot", "metadata": metadata, "text": text, "data": payload})

    def slot(self, name: str, value: Any) -> None:
        self._add({"event": "slot", "name": name, "value": value})

    def loop(self, name: str | None) -> None:
        self._add({"event": "active_loop", "name": name})


# The plan's card as the conversation sends it now (catalogue/plan_view.py `card_payload`);
# conversations logged before the plan carry ADVICE instead (`Plan.old_advice`).
PLAN_CARD = {
    "type": "advice",
    "format": "zijwijzer-plan/1",
    "language": "nl",
    "target": {
        "title": "Helpende Zorg en Welzijn (mbo 2)",
        "level": 2,
        "kind": "mbo",
        "proposed": True,
        "held": False,
    },
    "contact": "een zorgorganisatie in jouw regio",
    "first_step": 1,
    "steps": [
        {
            "number": 1,
            "kind": "first_step",
            "title": "Zoek een werkgever die je opleidt",
            "text": "Vraag naar een leerbaan in de derde leerweg.",
            "marks": [],
        },
        {
            "number": 2,
            "kind": "learn",
            "title": "Leer eerst: ADL",
            "text": "Binnen enkele maanden kun je deze taken doen.",
            "marks": [],
        },
    ],
    "more": {"alternatives": [], "why": [], "not_possible": [], "notices": []},
    "words": [],
    "link": "https://zw.example/advies/secret-token",
    "link_until": "6 januari 2027",
    "refs": {"route": "derde_leerweg", "units": ["adl"], "target": "helpende_zw_2"},
}


def conversation(plan: Plan) -> list[dict[str, Any]]:
    """The events of one conversation, in order."""
    b = _Builder(plan)
    b.action("action_session_start")
    b._add({"event": "session_started"})
    b.action("action_listen")
    confidence = plan.low_confidence if plan.low_confidence is not None else 0.97
    b.user(plan.opener, "greet", confidence, [])
    b.bot(
        "utter_greet",
        "Hoi! Ik ben Zijwijzer.",
        buttons=[{"title": "Ja, graag", "payload": "/affirm"}],
    )
    b.action("action_listen")
    if plan.language == "en":
        b.user("english please", "choose_language", 0.95, [])
        b.slot("language", "en")
        b.bot("utter_language_set", "Okay, we continue in English.")
        b.action("action_listen")
    b.user("ik wil graag advies", "request_advice", 0.99, [])
    b.action("action_converse")
    b.slot("open_question", INTAKE[0][0])
    b.bot("utter_ask_age", "Hoe oud ben je?")
    b.action("action_listen")
    fallbacks = plan.fallbacks
    for position, (slot, text, entity, value) in enumerate(INTAKE):
        if plan.outcome == "abandoned" and slot == plan.stop_at:
            break
        while fallbacks:
            fallbacks -= 1
            b.user(GIBBERISH[fallbacks % len(GIBBERISH)], "nlu_fallback", 0.31, [])
            b.action("action_converse")
            b.bot("utter_not_understood", "Sorry, dat begreep ik niet helemaal.")
            b.action("action_listen")
        b.user(text, "inform", 0.93, [entity] if entity else [])
        b.action("action_converse")
        b.slot(slot, value)
        following = INTAKE[position + 1][0] if position + 1 < len(INTAKE) else None
        b.slot("open_question", following)
        if following:
            b.bot(f"utter_ask_{following}", f"Vraag over {following}?")
            b.action("action_listen")
    if plan.outcome in ("advice", "handoff"):
        b.action("action_converse")
        b.said("Mijn advies: begin met de derde leerweg.", {})
        b.said(
            None, {}, custom={"type": "advice", "advice": ADVICE} if plan.old_advice else PLAN_CARD
        )
        b.slot("advice_given", True)
        b.slot("recommended_route", "derde_leerweg")
        b.action("action_listen")
    if plan.outcome == "handoff":
        b.user("kan ik iemand spreken", "request_human", 0.96, [])
        b.action("action_converse")
        b.slot("open_question", "handoff_consent")
        b.bot("utter_ask_handoff_consent", "Mag een adviseur contact opnemen?")
        b.action("action_listen")
        b.user("ja", "affirm", 0.98, [])
        b.action("action_converse")
        b.slot("open_question", None)
        b.bot("utter_handoff_confirmed", "Een adviseur neemt contact op.")
        b.action("action_listen")
    return b.events


def rows(sender_id: str, conversation_events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the `events` table as Rasa's SQLTrackerStore.save writes them."""
    out = []
    for data in conversation_events:
        intent = (data.get("parse_data") or {}).get("intent", {}).get("name")
        out.append(
            {
                "sender_id": sender_id,
                "type_name": data["event"],
                "timestamp": data.get("timestamp"),
                "intent_name": intent,
                "action_name": data.get("name"),
                "data": json.dumps(data),
            }
        )
    return out


def random_plan(rng: random.Random, number: int, now: dt.datetime, days: int = 60) -> Plan:
    """A varied conversation within the last `days` days (deterministic for a seeded rng)."""
    outcome = rng.choices(("advice", "handoff", "abandoned"), weights=(5, 1, 4))[0]
    return Plan(
        sender_id=f"conv-{number:06d}-{rng.randrange(16**6):06x}",
        start=(now - dt.timedelta(days=rng.random() * days)).timestamp(),
        outcome=outcome,
        channel=rng.choices(CHANNELS, weights=(3, 5, 1, 1))[0],
        language=rng.choices(("nl", "en"), weights=(4, 1))[0],
        fallbacks=rng.choices((0, 1, 2, 3), weights=(12, 4, 2, 1))[0],
        stop_at=rng.choice([slot for slot, *_ in INTAKE]),
        opener=rng.choice(OPENERS),
        low_confidence=rng.choice((None, None, None, 0.42, 0.61, 0.25)),
    )


def seed_tracker(engine: Engine, plans: Iterable[Plan], chunk: int = 20_000) -> int:
    """Create the events table when missing and bulk-insert the plans' events."""
    tracker_metadata.create_all(engine)
    pending: list[dict[str, Any]] = []
    total = 0
    with engine.begin() as connection:
        for plan in plans:
            pending.extend(rows(plan.sender_id, conversation(plan)))
            if len(pending) >= chunk:
                connection.execute(insert(events), pending)
                total += len(pending)
                pending = []
        if pending:
            connection.execute(insert(events), pending)
            total += len(pending)
    return total
