"""The dialogue simulator: seeded conversations of simulated people through the real engine.

    make simulate                       (5,000 conversations against a stack of its own)
    .venv/bin/python tools/simulate.py --conversations 300 --seed 7 [--url URL --key KEY]

Each simulated person MEANS a profile (drawn from the whole profile space) and talks the way
people do, from the answer pools of tools/simulation/pools.yaml: short or long, typos, B1 Dutch
or English, a bare number, a button title typed by hand, a button pressed, "ja" to a question
with more answers, "weet ik niet", a question in the middle, something off-topic, a
correction of an earlier answer. The simulator knows what the bot asked only by reading its
messages (the texts of domain.yml's questions), like a person would.

Invariants checked in every conversation (a failing one is printed as a readable transcript):
1. every message gets a reply;
2. every bot turn ends in a question, a choice (buttons), or a closing answer;
3. no message is sent three times in a row;
4. a person who answers reaches the advice within the number of questions the intake asks
   them plus 6 turns (turns spent on questions in between, off-topic remarks and corrections
   are not counted: they are the person's, not the bot's);
5. the advice is the plan for the profile the person meant (its target, route, units and
   funding, as the card's `refs` name them).
Exit code 0 when no conversation broke an invariant, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the packages importable
    sys.path.insert(0, str(ROOT))

from catalogue.compiled import Catalogue  # noqa: E402
from catalogue.intake import asks  # noqa: E402
from catalogue.interpret import interpret  # noqa: E402
from catalogue.numberwords import NumberReader  # noqa: E402
from catalogue.plan import make_plan  # noqa: E402
from catalogue.profile import PROFILE_FIELDS  # noqa: E402
from catalogue.reader import load_directory  # noqa: E402
from catalogue.schema import CLARIFY, SKIP, ShortAnswer  # noqa: E402

POOLS = ROOT / "tools" / "simulation" / "pools.yaml"
DOMAIN = ROOT / "domain.yml"
# Turns the person may spend beyond the questions asked, and a hard stop per conversation.
SPARE_TURNS = 6
MAX_TURNS = 60
# How a simulated person behaves at a question (the rest of the time they answer it).
P_BUTTON = 0.15
P_TYPO = 0.15
P_SIDE_QUESTION = 0.07
P_OFF_TOPIC = 0.03
P_DONT_KNOW = 0.05
P_SHORT_YES_NO = 0.10
P_CORRECTION = 0.03
P_ENGLISH = 0.2
P_RECRUITER = 0.0

Say = Callable[[str, str], list[dict[str, Any]]]


# ---- what the bot said ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    """What a bot message is, recognised by its text: a question about a field, an offer, ..."""

    kind: str  # ask | offer | miss_offer | next_steps | closing | handoff | other
    field: str | None = None


def _pattern(text: str) -> re.Pattern[str]:
    """A response's text as a pattern: its {placeholders} match anything."""
    parts = re.split(r"(?<!\{)\{\w+\}(?!\})", text.replace("{{", "{").replace("}}", "}"))
    return re.compile("^" + ".*".join(re.escape(p) for p in parts) + "$", re.DOTALL)


class Recogniser:
    """Tells from a bot message's text which response of domain.yml it is."""

    OTHER: ClassVar[dict[str, str]] = {
        "utter_greet": "offer",
        "utter_offer_intake": "offer",
        "utter_offer_intake_again": "offer",
        "utter_miss_offer": "miss_offer",
        "utter_next_steps": "next_steps",
        "utter_next_steps_again": "next_steps",
        "utter_goodbye": "closing",
        "utter_anything_else": "anything_else",
        "utter_anything_else_again": "anything_else",
        "utter_no_problem": "anything_else",
        "utter_stopped": "stopped",
        "utter_offer_human": "offer_human",
        "utter_not_understood_general": "not_understood",
        "utter_ask_handoff_consent": "handoff",
        "utter_ask_your_question": "ask_your_question",
    }

    def __init__(self, domain: Mapping[str, Any]) -> None:
        self.patterns: list[tuple[re.Pattern[str], Prompt, str]] = []
        for name, variants in domain["responses"].items():
            prompt = self._prompt(name)
            if prompt is None:
                continue
            for variant in variants:
                if variant.get("text"):
                    self.patterns.append((_pattern(variant["text"]), prompt, name))

    def _prompt(self, name: str) -> Prompt | None:
        if name in self.OTHER:
            return Prompt(self.OTHER[name])
        match = re.match(r"utter_(ask|example|clarify|invalid)_(\w+)$", name)
        if match and not match.group(2).startswith("handoff"):
            return Prompt("ask", match.group(2))
        return None

    def recognise(self, text: str) -> tuple[Prompt, str] | None:
        for pattern, prompt, name in self.patterns:
            if pattern.match(text):
                return prompt, name
        return None


# ---- the people --------------------------------------------------------------------------------


@dataclass
class Person:
    """Someone who means a profile and talks in one language."""

    language: str
    meant: dict[str, Any]
    rng: random.Random
    # Fields the person said "weet ik niet" to: their value is what that means (or nothing).
    unknown: set[str] = field(default_factory=set)
    # Of those, the ones skipped (no value at all, whatever "weet ik niet" means).
    skipped: set[str] = field(default_factory=set)
    answered: set[str] = field(default_factory=set)


def draw_person(rng: random.Random, catalogue: Catalogue, pools: Mapping[str, Any]) -> Person:
    """A profile from the whole profile space, consistent in itself."""
    age = rng.randint(17, 67)
    employer = rng.choice(["none", "care", "other"])
    meant: dict[str, Any] = {
        "sector": rng.choice(["vvt", "ghz", "either"]),
        "goal": rng.choice(["tasks", "certificate", "diploma", "orientation", "hbo"]),
        "target": rng.choice(list(pools["choices"]["target"])),
        "age": age,
        "education": {"level": rng.choice(list(pools["choices"]["education"]))},
        "care_qualifications": rng.choice([[], [], [], ["helpende_zw_2"], ["vig_3"]]),
        "care_experience_years": rng.choice([0, 0, 0, 1, 2, 3, 5, 8, 12]),
        "employer": employer,
        "hours_per_week": rng.choice([8, 12, 16, 20, 22, 24, 28, 32, 36]),
        "benefit": rng.choice(["none", "none", "ww", "bijstand", "other"]),
        "region": rng.choice(pools["choices"]["region"]["places"])["value"],
    }
    meant["care_experience_years"] = min(meant["care_experience_years"], max(0, age - 17))
    if employer == "care":
        meant["employer_sbb_recognised"] = rng.choice(["yes", "no", "unknown"])
    language = "en" if rng.random() < P_ENGLISH else "nl"
    return Person(language=language, meant=meant, rng=rng)


class Speaker:
    """Turns what a person means into what they type, from the pools."""

    def __init__(self, catalogue: Catalogue, pools: Mapping[str, Any], today: dt.date) -> None:
        self.catalogue = catalogue
        self.pools = pools
        self.today = today
        words = catalogue.data.phrases.numbers
        reader = NumberReader.from_words(words["nl"], words["en"])
        self.words = {
            "nl": {v: k for k, v in sorted(reader.dutch.items(), key=lambda kv: -len(kv[0]))},
            "en": {v: k for k, v in reader.english.items() if "-" not in k},
        }

    def phrasings(self, person: Person, field_name: str, value: Any) -> list[tuple[str, Any]]:
        """(text, value it means) for a field and value, in the person's language."""
        language = person.language
        pools = self.pools
        if field_name in pools["numbers"]:
            return [
                (text, meant)
                for template in pools["numbers"][field_name][language]
                if (filled := self._fill(template, field_name, value, language)) is not None
                for text, meant in [filled]
            ]
        if field_name == "region":
            places = pools["choices"]["region"]["places"]
            return [(p["text"], p["value"]) for p in places if p["value"] == value]
        key = _choice_key(field_name, value)
        table = pools["choices"].get(field_name, {})
        return [(text, value) for text in table.get(key, {}).get(language, [])]

    def _fill(
        self, template: str, field_name: str, n: Any, language: str
    ) -> tuple[str, Any] | None:
        words = self.words[language]
        if field_name == "hours_per_week":
            if "{days}" in template:
                if n % 8:
                    return None
                template = template.replace("{days}", str(n // 8))
            if "{low}" in template:
                template = template.replace("{low}", str(n - 2)).replace("{high}", str(n + 2))
        if "{words}" in template:
            if n not in words:
                return None
            template = template.replace("{words}", words[n])
        if "{n1}" in template:
            template = template.replace("{n1}", str(n + 1))
        if "{year}" in template:
            template = template.replace("{year}", str(self.today.year - n))
        return template.replace("{n}", str(n)), n

    def consistent(self, person: Person, text: str, field_name: str) -> bool:
        """Whether saying `text` for `field_name` tells nothing that contradicts what the
        person means about other fields (someone in disability care does not describe their
        employer as "de thuiszorg")."""
        values = interpret(text, self.catalogue, field_name, self.today)["values"]
        for other, value in values.items():
            # An answer already given stays as it was (the bot keeps it); the rest must agree.
            if other in (field_name, "language") or other not in person.meant:
                continue
            if other in person.answered:
                continue
            if value != person.meant[other]:
                return False
        return True

    def answer(self, person: Person, field_name: str) -> tuple[str, Any]:
        value = person.meant[field_name]
        options = [
            (text, meant)
            for text, meant in self.phrasings(person, field_name, value)
            if self.consistent(person, text, field_name)
        ]
        text, meant = person.rng.choice(options or self.phrasings(person, field_name, value))
        if person.rng.random() < P_TYPO:
            text = typo(text, person.rng)
        return text, meant


def _choice_key(field_name: str, value: Any) -> str:
    if field_name == "education":
        return str(value["level"])
    if field_name == "care_qualifications":
        return value[0] if value else "none"
    return str(value)


def typo(text: str, rng: random.Random) -> str:
    """One letter dropped or two swapped in a long word (as people type on a phone)."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 9 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    word = words[i]
    at = rng.randint(2, len(word) - 3)
    if rng.random() < 0.5:
        words[i] = word[:at] + word[at + 1 :]
    else:
        words[i] = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return " ".join(words)


# ---- one conversation ---------------------------------------------------------------------------


@dataclass
class Exchange:
    said: str
    replies: list[dict[str, Any]]
    counted: bool  # an answering turn (counts toward invariant 4)
    note: str = ""


@dataclass
class Conversation:
    seed: int
    person: Person
    exchanges: list[Exchange] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    # The field the bot asked last.
    asked: str | None = None
    advice: dict[str, Any] | None = None
    expected: dict[str, Any] | None = None

    def transcript(self) -> str:
        lines = [
            f"--- conversation seed {self.seed} ({self.person.language}); meant: "
            + json.dumps(self.person.meant, ensure_ascii=False)
        ]
        for exchange in self.exchanges:
            note = f"   [{exchange.note}]" if exchange.note else ""
            lines.append(f"  > {exchange.said}{note}")
            for reply in exchange.replies:
                if reply.get("text"):
                    lines.append(f"    {reply['text']}")
                if reply.get("buttons"):
                    lines.append("      [" + "] [".join(b["title"] for b in reply["buttons"]) + "]")
                if reply.get("custom"):
                    refs = (reply["custom"] or {}).get("refs")
                    lines.append(f"      (plan: {json.dumps(refs)})")
        for violation in self.violations:
            lines.append(f"  VIOLATION: {violation}")
        return "\n".join(lines)


class Simulator:
    def __init__(
        self, catalogue: Catalogue, domain: Mapping[str, Any], pools: Mapping[str, Any], say: Say
    ) -> None:
        self.catalogue = catalogue
        self.recogniser = Recogniser(domain)
        self.speaker = Speaker(catalogue, pools, dt.date.today())
        self.pools = pools
        self.say = say
        self.intake = {q.field: q for q in catalogue.data.intake}

    def run(self, seed: int) -> Conversation:
        rng = random.Random(seed)  # noqa: S311 (a simulation, not a secret)
        person = draw_person(rng, self.catalogue, self.pools)
        conversation = Conversation(seed, person)
        sender = f"sim-{seed}-{uuid.uuid4().hex[:8]}"
        try:
            self._talk(conversation, sender)
        except Exception as error:  # a crash of the bot or the simulator is a finding too
            conversation.violations.append(f"error: {type(error).__name__}: {error}")
        return conversation

    # -- the person's side

    def _send(
        self, c: Conversation, sender: str, text: str, *, counted: bool, note: str = ""
    ) -> list[dict[str, Any]]:
        replies = self.say(sender, text)
        c.exchanges.append(Exchange(text, replies, counted, note))
        self._check_turn(c, replies)
        return replies

    def _talk(self, c: Conversation, sender: str) -> None:
        person = c.person
        rng = person.rng
        opening = rng.choice(self.pools["openings"][person.language])
        replies = self._send(c, sender, opening, counted=True, note="opening")
        for _ in range(MAX_TURNS):
            advice = _advice(replies)
            if advice is not None:
                c.advice = advice
                self._check_advice(c)
                if rng.random() < 0.3:  # a question after the advice: answered, then what next
                    question = rng.choice(self.pools["questions"][person.language])
                    self._send(c, sender, question, counted=False, note="question after advice")
                return
            found = self._last_prompt(replies)
            if found is None:
                c.violations.append("the bot's last message is none the simulator knows")
                return
            prompt, name = found
            if any(r.get("text") and self._is(r["text"], "utter_auto_skipped") for r in replies):
                self._forget(c.person, c.asked)  # the bot skipped it: the person's answer is lost
            if prompt.kind == "ask":
                c.asked = prompt.field
            replies = self._respond(
                c,
                sender,
                prompt,
                replies,
                clarifying=name.startswith(("utter_clarify_", "utter_invalid_")),
            )
        c.violations.append(f"no advice after {MAX_TURNS} turns")

    def _last_prompt(self, replies: list[dict[str, Any]]) -> tuple[Prompt, str] | None:
        for reply in reversed(replies):
            text = reply.get("text")
            if text:
                return self.recogniser.recognise(text) or (Prompt("other"), "")
        return None

    def _is(self, text: str, response: str) -> bool:
        found = self.recogniser.recognise(text)
        return found is not None and found[1] == response

    @staticmethod
    def _forget(person: Person, field_name: str | None) -> None:
        """What the person meant of a field the conversation skipped is not said any more."""
        if field_name is not None and field_name in person.meant:
            person.meant.pop(field_name)
            person.unknown.add(field_name)
            person.skipped.add(field_name)

    def _respond(
        self,
        c: Conversation,
        sender: str,
        prompt: Prompt,
        replies: list[dict[str, Any]],
        *,
        clarifying: bool,
    ) -> list[dict[str, Any]]:
        person = c.person
        rng = person.rng
        language = person.language
        if prompt.kind in ("offer", "anything_else", "next_steps", "stopped", "not_understood"):
            return self._send(
                c,
                sender,
                rng.choice(self.pools["yes"][language])
                if prompt.kind == "offer"
                else _button(replies, "/request_advice") or "advies",
                counted=True,
            )
        if prompt.kind == "ask_your_question":
            question = rng.choice(self.pools["questions"][language])
            return self._send(c, sender, question, counted=False, note="question")
        if prompt.kind == "miss_offer":
            self._forget(person, c.asked)
            return self._send(c, sender, "/skip_question", counted=True, note="skip button")
        if prompt.kind in ("handoff", "offer_human"):
            return self._send(
                c, sender, "/deny" if prompt.kind == "handoff" else "/request_advice", counted=True
            )
        if prompt.kind != "ask" or prompt.field is None:
            c.violations.append(f"the bot's question is none the person can answer ({prompt.kind})")
            return self._send(c, sender, "/request_advice", counted=True)
        field_name = prompt.field
        if field_name not in person.meant:
            # A question the person's profile does not hold (asked while it cannot be decided
            # yet): the person does not know.
            return self._dont_know(c, sender, field_name)
        draw = rng.random()
        if draw < P_SIDE_QUESTION:
            return self._send(
                c,
                sender,
                rng.choice(self.pools["questions"][language]),
                counted=False,
                note="question",
            )
        draw -= P_SIDE_QUESTION
        if draw < P_OFF_TOPIC:
            return self._send(
                c,
                sender,
                rng.choice(self.pools["off_topic"][language]),
                counted=False,
                note="off-topic",
            )
        draw -= P_OFF_TOPIC
        if draw < P_DONT_KNOW:
            return self._dont_know(c, sender, field_name)
        draw -= P_DONT_KNOW
        if draw < P_CORRECTION and person.answered:
            corrected = self._correction(c, sender)
            if corrected is not None:
                return corrected
        draw -= P_CORRECTION
        if draw < P_SHORT_YES_NO and not clarifying:
            short = self._short(person, field_name)
            if short is not None:
                return self._send(c, sender, short, counted=True, note="short answer")
        draw -= P_SHORT_YES_NO
        if draw < P_BUTTON:
            button = _button_for(replies, field_name, person.meant[field_name])
            if button is not None:
                person.answered.add(field_name)
                return self._send(c, sender, button, counted=True, note="button")
        text, meant = self.speaker.answer(person, field_name)
        person.meant[field_name] = meant
        person.answered.add(field_name)
        person.unknown.discard(field_name)
        self._adopt_implied(person, text, field_name)
        return self._send(c, sender, text, counted=True)

    def _dont_know_meaning(self, field_name: str) -> ShortAnswer:
        """What "weet ik niet" to this question stores (intake.yaml), or SKIP."""
        question = self.intake.get(field_name)
        return question.dont_know if question else SKIP

    def _adopt_implied(self, person: Person, text: str, field_name: str) -> None:
        """What an answer also says about a field the person did not know ("a nurse with a
        bachelor" after skipping the goal) is what they mean now, where the bot takes it: a
        field with no value yet, or any field when the answer misses the question asked."""
        values = interpret(text, self.catalogue, field_name, self.speaker.today)["values"]
        answers_asked = field_name in values
        for other, value in values.items():
            if other == field_name or other not in PROFILE_FIELDS or other in person.meant:
                continue
            if other not in person.unknown:
                continue
            has_value = other not in person.skipped and self._dont_know_meaning(other) not in (
                SKIP,
                CLARIFY,
            )
            if has_value and answers_asked:
                continue
            person.meant[other] = value
            person.unknown.discard(other)
            person.skipped.discard(other)

    def _dont_know(self, c: Conversation, sender: str, field_name: str) -> list[dict[str, Any]]:
        person = c.person
        person.unknown.add(field_name)
        person.meant.pop(field_name, None)
        text = person.rng.choice(self.pools["dont_know"][person.language])
        return self._send(c, sender, text, counted=True, note="weet ik niet")

    def _short(self, person: Person, field_name: str) -> str | None:
        """ "ja" or "nee" where it is true of what the person means."""
        value = person.meant[field_name]
        yes_word, no_word = ("yes", "no") if person.language == "en" else ("ja", "nee")
        if field_name == "employer":
            return no_word if value == "none" else yes_word
        if field_name == "care_qualifications":
            return yes_word if value else no_word
        if field_name == "care_experience_years":
            return no_word if value == 0 else yes_word
        if field_name == "benefit":
            return no_word if value == "none" else yes_word
        if field_name == "employer_sbb_recognised" and value in ("yes", "no"):
            return yes_word if value == "yes" else no_word
        return None

    def _correction(self, c: Conversation, sender: str) -> list[dict[str, Any]] | None:
        """The person changes an earlier answer ("eigenlijk ben ik 45")."""
        person = c.person
        candidates = [
            f for f in ("age", "hours_per_week") if f in person.answered and f in person.meant
        ]
        if not candidates:
            return None
        field_name = person.rng.choice(candidates)
        new = person.meant[field_name] + person.rng.choice([-3, -2, 2, 3])
        if field_name == "age":
            new = max(person.meant.get("care_experience_years", 0) + 17, min(67, new))
            words = {"nl": "ik ben eigenlijk {n}", "en": "actually I am {n}"}
        else:
            new = max(8, min(40, new))
            words = {"nl": "ik bedoel eigenlijk {n} uur", "en": "actually I mean {n} hours"}
        if new == person.meant[field_name]:
            return None
        person.meant[field_name] = new
        text = words[person.language].replace("{n}", str(new))
        return self._send(c, sender, text, counted=False, note="correction")

    # -- the invariants

    def _check_turn(self, c: Conversation, replies: list[dict[str, Any]]) -> None:
        if not replies:
            c.violations.append(f"no reply to {c.exchanges[-1].said!r}")
            return
        last = replies[-1]
        texts = [r for r in replies if r.get("text")]
        ending = texts[-1] if texts else last
        found = self.recogniser.recognise(ending.get("text") or "")
        closing = found is not None and found[0].kind == "closing"
        if not (
            ending.get("buttons") or (ending.get("text") or "").rstrip().endswith("?") or closing
        ):
            c.violations.append(
                f"the turn after {c.exchanges[-1].said!r} ends without a question or choice"
            )
        said = [r.get("text") for e in c.exchanges for r in e.replies if r.get("text")]
        for i in range(2, len(said)):
            if said[i] == said[i - 1] == said[i - 2]:
                c.violations.append(f"the same message three times in a row: {said[i]!r}")
                break

    def _check_advice(self, c: Conversation) -> None:
        person = c.person
        answers = dict(person.meant)
        for field_name in person.unknown - person.skipped:
            meaning = self._dont_know_meaning(field_name)
            if meaning not in (SKIP, CLARIFY):
                answers[field_name] = meaning
        profile = {
            k: v
            for k, v in answers.items()
            if k in PROFILE_FIELDS and asks(self.catalogue, k, answers)
        }
        profile["language"] = person.language
        plan = make_plan(self.catalogue, profile)
        c.expected = {
            "target": plan.target.qualification,
            "route": plan.route,
            "units": list(plan.units),
            "funding": list(plan.funding),
        }
        got = (c.advice or {}).get("refs")
        if got != c.expected:
            c.violations.append(
                f"advice {got} is not the advice for the meant profile {c.expected}"
            )
        questions = sum(
            1 for q in self.catalogue.data.intake if asks(self.catalogue, q.field, answers)
        )
        counted = sum(1 for e in c.exchanges if e.counted)
        if counted > questions + SPARE_TURNS:
            c.violations.append(
                f"{counted} answering turns to the advice, more than {questions} questions "
                f"+ {SPARE_TURNS}"
            )


def _advice(replies: list[dict[str, Any]]) -> dict[str, Any] | None:
    for reply in replies:
        custom = reply.get("custom")
        if isinstance(custom, dict) and custom.get("type") == "advice":
            return custom
    return None


def _button(replies: list[dict[str, Any]], payload: str) -> str | None:
    for reply in replies:
        for button in reply.get("buttons") or []:
            if button.get("payload") == payload:
                return payload
    return None


def _button_for(replies: list[dict[str, Any]], field_name: str, value: Any) -> str | None:
    """The payload of the bot's button that says this value, if it shows one."""
    wanted = _choice_key(field_name, value) if isinstance(value, dict | list) else value
    for reply in replies:
        for button in reply.get("buttons") or []:
            payload = str(button.get("payload") or "")
            if not payload.startswith("/inform{"):
                continue
            sent = json.loads(payload.removeprefix("/inform"))
            if field_name not in sent:
                continue
            got = sent[field_name]
            if field_name == "education":
                got = got.get("level")
            if got == wanted or (field_name == "care_qualifications" and got == wanted):
                return payload
    return None


# ---- running many -------------------------------------------------------------------------


@dataclass
class Report:
    conversations: list[Conversation]
    seconds: float

    @property
    def failed(self) -> list[Conversation]:
        return [c for c in self.conversations if c.violations]

    def summary(self) -> str:
        total = len(self.conversations)
        turns = sum(len(c.exchanges) for c in self.conversations)
        kinds = Counter(v.split(":")[0].split(" ")[0] for c in self.failed for v in c.violations)
        languages = Counter(c.person.language for c in self.conversations)
        notes = Counter(e.note or "answer" for c in self.conversations for e in c.exchanges)
        return (
            f"{total} conversations ({languages['nl']} nl, {languages['en']} en), {turns} turns "
            f"in {self.seconds:.0f} s; {len(self.failed)} with violations"
            + (f" ({dict(kinds)})" if kinds else "")
            + "\nturns by kind: "
            + ", ".join(f"{k} {v}" for k, v in sorted(notes.items()))
        )


def simulate(
    catalogue: Catalogue,
    domain: Mapping[str, Any],
    say: Say,
    *,
    conversations: int,
    seed: int,
    workers: int = 8,
    pools: Mapping[str, Any] | None = None,
) -> Report:
    pools = pools or yaml.safe_load(POOLS.read_text(encoding="utf-8"))
    simulator = Simulator(catalogue, domain, pools, say)
    start = time.perf_counter()
    seeds = [seed * 1_000_003 + i for i in range(conversations)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = list(pool.map(simulator.run, seeds))
    return Report(done, time.perf_counter() - start)


def rest_say(url: str, key: str, timeout: float = 60.0) -> Say:
    import urllib.request

    def say(sender: str, message: str) -> list[dict[str, Any]]:
        body = json.dumps({"sender": sender, "message": message}).encode()
        request = urllib.request.Request(  # noqa: S310 (loopback URL from the caller)
            f"{url.rstrip('/')}/webhooks/rest/webhook",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            replies: list[dict[str, Any]] = json.load(answer)
        return replies

    return say


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--url", help="a running engine (default: start one, as make run does)")
    parser.add_argument("--key", help="its REST key (default: from the settings)")
    parser.add_argument("--show", type=int, default=5, help="transcripts of failures to print")
    args = parser.parse_args(argv)
    if args.conversations < 1:
        parser.error("--conversations must be 1 or more")
    catalogue = load_directory()
    domain = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))
    if args.url:
        from bot.common.settings import load_settings

        key = args.key or load_settings().rest_api_key
        report = simulate(
            catalogue,
            domain,
            rest_say(args.url, key),
            conversations=args.conversations,
            seed=args.seed,
            workers=args.workers,
        )
    else:
        from tools.simulation.stack import running_stack

        with running_stack() as (url, key):
            report = simulate(
                catalogue,
                domain,
                rest_say(url, key),
                conversations=args.conversations,
                seed=args.seed,
                workers=args.workers,
            )
    for conversation in report.failed[: args.show]:
        print(conversation.transcript())
    print(report.summary())
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
