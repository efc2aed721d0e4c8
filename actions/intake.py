"""The intake: taking answers, asking the next question, and repair when an answer is unclear.

Which question comes next and what short answers mean is the catalogue's (intake.yaml);
here is only how the bot behaves: it asks one question at a time, takes whatever a message
says (also answers to questions it has not asked yet), says what it noted when that was more
than the question asked or a correction, and never stalls: an unclear answer gets a short
"sorry" with an example, the second offers to skip, give an example or a person, the third
skips the question (its answer stays unknown and can be given any time).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from actions.conversation import Conversation
from actions.profile import labels, profile_in_words
from actions.turn import (
    ADVICE_GIVEN,
    ADVICE_PROFILE,
    ADVISED_UNITS,
    INTAKE,
    INTAKE_DECLINED,
    INTAKE_EXPLAINED,
    MISSES,
    OPEN_QUESTION,
    PROFILE_SLOTS,
    RECOMMENDED_ROUTE,
    SKIPPED,
)

# The third unclear answer in a row to one question skips it.
SKIP_AFTER_MISSES: Final = 3
# Limits of the number questions, as the re-asks say them (the catalogue checks them too).
NUMBER_LIMITS: Final[dict[str, tuple[int, int]]] = {
    "age": (16, 80),
    "hours_per_week": (1, 60),
    "care_experience_years": (0, 60),
}
# A place the catalogue does not know is kept as typed, up to this length.
MAX_PLACE_CHARS: Final = 60
MAX_PLACE_WORDS: Final = 4


def start(c: Conversation) -> None:
    """The intake runs from now on; the first time, the bot says how it goes."""
    c.set(INTAKE, True)
    c.set(INTAKE_DECLINED, False)
    if not c.get(INTAKE_EXPLAINED):
        c.reply.say("utter_intake_start")
        c.set(INTAKE_EXPLAINED, True)


def stop(c: Conversation) -> None:
    """ "Stop": no more questions; what is known stays, the person can go on later."""
    c.set(INTAKE, False)
    c.ask_open(None)
    c.reply.ask("utter_stopped")


def reset(c: Conversation) -> None:
    """ "Opnieuw beginnen": forgets the answers and the advice (keeps language and role)."""
    for slot in PROFILE_SLOTS:
        c.set(slot, None)
    c.set(SKIPPED, [])
    c.set(ADVICE_GIVEN, False)
    c.set(ADVICE_PROFILE, None)
    c.set(RECOMMENDED_ROUTE, None)
    c.set(ADVISED_UNITS, [])
    c.ask_open(None)
    c.reply.say("utter_restarted")


async def take(c: Conversation, values: Mapping[str, Any], *, correcting: bool) -> list[str]:
    """Stores the profile values a message gave; says what was noted when it was more than the
    question asked, or a change of an earlier answer. Returns the fields filled.

    An earlier answer changes when the message is about it: it does not answer the question
    asked ("ik ben eigenlijk 45" while the bot asks the hours), or it says it corrects
    (`correcting`). An answer to the question asked that also touches an earlier answer ("ik
    werk in de thuiszorg" after "gehandicaptenzorg") leaves the earlier answer alone.
    """
    asked = c.open_question
    answers_asked = asked in values
    filled: list[str] = []
    changed: list[str] = []
    for field, value in values.items():
        if field not in PROFILE_SLOTS or value is None:
            continue
        old = c.get(field)
        if old == value:
            continue
        if old is not None and field != asked and answers_asked and not correcting:
            continue
        c.set(field, value)
        filled.append(field)
        if old is not None:
            changed.append(field)
    if not filled:
        return []
    skipped = [s for s in c.skipped if s not in filled]
    if skipped != c.skipped:
        c.set(SKIPPED, skipped)
    c.filled.extend(filled)
    if asked in filled:
        c.set(MISSES, 0)
    extra = [f for f in filled if f != asked and f not in changed]
    if changed:
        await _say_facts(c, "utter_changed", changed)
    if extra and (len(filled) > 1 or asked not in PROFILE_SLOTS):
        await _say_facts(c, "utter_noted", [f for f in filled if f not in changed])
    return filled


async def profile_words(c: Conversation, fields: tuple[str, ...] = PROFILE_SLOTS) -> dict[str, str]:
    """The conversation's profile fields as a person reads them (actions/profile.py)."""
    return await c.call(
        lambda: profile_in_words(
            c.answers,
            c.skipped,
            c.domain,
            c.catalogue,
            language=c.language,
            recruiter=c.recruiter,
            fields=fields,
        )
    )


async def _say_facts(c: Conversation, response: str, fields: list[str]) -> None:
    words = await profile_words(c, tuple(fields))
    names = labels(c.domain, "fields", c.language, c.recruiter)
    facts = "; ".join(f"{names.get(f, f)}: {words[f]}" for f in fields if f in words)
    c.reply.say(response, facts=facts)


def ask(c: Conversation, field: str) -> None:
    c.reply.ask(f"utter_ask_{field}")
    c.ask_open(field)


def example(c: Conversation) -> None:
    """The open question again, with examples of answers."""
    field = c.open_question
    if field in PROFILE_SLOTS:
        c.reply.ask(f"utter_example_{field}")


def typed_place(text: str, common_words: frozenset[str]) -> str | None:
    """A place the catalogue does not know, kept as typed ("Opheusden", "Ens"); None for what
    is no name of a place: a sentence ("ik moet even koffie halen"), a number, too long."""
    words = text.strip(" .,!?").split()
    while words and words[0].lower() in ("ik", "woon", "in", "uit", "bij", "regio", "live", "i"):
        words = words[1:]
    place = " ".join(words)
    if not place or len(words) > MAX_PLACE_WORDS or len(place) > MAX_PLACE_CHARS:
        return None
    if any(ch.isdigit() for ch in place) or any(w.lower() in common_words for w in words):
        return None
    return place[:1].upper() + place[1:]


def skip(c: Conversation, field: str, *, unknown: bool) -> None:
    """The question is not asked again; "weet ik niet" says so kindly."""
    if field not in c.skipped:
        c.set(SKIPPED, [*c.skipped, field])
    c.set(MISSES, 0)
    c.ask_open(None)
    c.reply.say("utter_skipped_unknown" if unknown else "utter_skipped")


def trouble(c: Conversation, field: str, kind: str) -> None:
    """An answer to `field` the bot cannot use: say so and ask again, offer a way out, or skip.

    `kind`: "clarify" (yes/no to a question with more answers), "out_of_range", "unclear".
    """
    misses = c.misses + 1
    c.set(MISSES, misses)
    if misses >= SKIP_AFTER_MISSES:
        if field not in c.skipped:
            c.set(SKIPPED, [*c.skipped, field])
        c.set(MISSES, 0)
        c.set(OPEN_QUESTION, None)
        c.reply.say("utter_auto_skipped")
        return
    if misses == 2:
        c.reply.ask("utter_miss_offer")
        return
    if kind == "clarify":
        c.reply.ask(f"utter_clarify_{field}")
    elif kind == "out_of_range" and field in NUMBER_LIMITS:
        low, high = NUMBER_LIMITS[field]
        c.reply.ask(f"utter_invalid_{field}", min=low, max=high)
    else:
        c.reply.say("utter_not_understood")
        c.reply.ask(f"utter_example_{field}")
