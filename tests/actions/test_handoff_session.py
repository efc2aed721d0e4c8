"""Handoff to a person (validate_handoff_form, action_confirm_handoff) and action_fallback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.handoff import ActionConfirmHandoff, ValidateHandoffForm
from actions.session import ActionFallback
from bot.db import Database
from bot.handoff.models import HandoffRequest
from bot.handoff.store import HandoffStore
from tests.actions.support import FakeCatalogue, OldCatalogue, make_tracker


def test_names() -> None:
    assert ValidateHandoffForm().name() == "validate_handoff_form"
    assert ActionConfirmHandoff(FakeCatalogue()).name() == "action_confirm_handoff"
    assert ActionFallback(FakeCatalogue()).name() == "action_fallback"


# ---- handoff: the form ------------------------------------------------------------------------


def test_required_slots_end_the_form_without_consent(domain: dict[str, Any]) -> None:
    form = ValidateHandoffForm()
    slots = domain["forms"]["handoff_form"]["required_slots"]
    assert slots == ["handoff_consent", "handoff_contact_preference", "handoff_contact"]
    dispatcher = CollectingDispatcher()
    no = make_tracker({"handoff_consent": False})
    yes = make_tracker({"handoff_consent": True})
    assert asyncio.run(form.required_slots(slots, dispatcher, no, domain)) == ["handoff_consent"]
    assert asyncio.run(form.required_slots(slots, dispatcher, yes, domain)) == slots


@pytest.mark.parametrize(
    ("consent", "expected"),
    [
        (True, {"handoff_consent": True}),
        (
            False,
            {"handoff_consent": False, "handoff_contact_preference": None, "handoff_contact": None},
        ),
    ],
)
def test_consent(
    consent: bool,
    expected: dict[str, Any],
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    assert (
        ValidateHandoffForm().validate_handoff_consent(consent, dispatcher, make_tracker(), domain)
        == expected
    )
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("text", "intent", "entities", "expected"),
    [
        (
            '/inform{"contact_method": "phone"}',
            "inform",
            [{"entity": "contact_method", "value": "phone"}],
            {"handoff_contact_preference": "phone"},
        ),
        (
            '/inform{"contact_method": "email"}',
            "inform",
            [{"entity": "contact_method", "value": "email"}],
            {"handoff_contact_preference": "email"},
        ),
        ("bellen", "inform", [], {"handoff_contact_preference": "phone"}),
        ("liever mailen", "request_human", [], {"handoff_contact_preference": "email"}),
        # A number or address right away answers both questions.
        (
            "06-12345678",
            "nlu_fallback",
            [],
            {"handoff_contact_preference": "phone", "handoff_contact": "+31612345678"},
        ),
        (
            "jan@example.org",
            "inform",
            [],
            {"handoff_contact_preference": "email", "handoff_contact": "jan@example.org"},
        ),
        (
            "nee, toch niet",
            "deny",
            [],
            {"handoff_consent": False, "handoff_contact_preference": None, "handoff_contact": None},
        ),
    ],
)
def test_contact_preference(
    text: str,
    intent: str,
    entities: list[dict[str, Any]],
    expected: dict[str, Any],
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    tracker = make_tracker({"handoff_consent": True}, text=text, intent=intent, entities=entities)
    result = ValidateHandoffForm().validate_handoff_contact_preference(
        text, dispatcher, tracker, domain
    )
    assert result == expected
    assert dispatcher.messages == []


def test_an_unclear_preference_is_asked_again(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker({"handoff_consent": True}, text="weet ik niet", intent="inform")
    result = ValidateHandoffForm().validate_handoff_contact_preference(
        "weet ik niet", dispatcher, tracker, domain
    )
    assert result == {"handoff_contact_preference": None}
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_invalid_handoff_contact_preference"
    ]


@pytest.mark.parametrize(
    ("preference", "text", "expected"),
    [
        ("phone", "06 12345678", ("phone", "+31612345678")),
        ("phone", "+31 6 1234 5678", ("phone", "+31612345678")),
        ("phone", "0031612345678", ("phone", "+31612345678")),
        ("phone", "mijn nummer is 010-1234567", ("phone", "+31101234567")),
        ("email", "jan@example.org", ("email", "jan@example.org")),
        ("email", " Jan@Example.ORG ", ("email", "Jan@example.org")),
        ("phone", "jan@example.org", ("email", "jan@example.org")),
    ],
)
def test_a_valid_contact_is_kept_normalised(
    preference: str,
    text: str,
    expected: tuple[str, str],
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    tracker = make_tracker(
        {"handoff_consent": True, "handoff_contact_preference": preference}, text=text
    )
    result = ValidateHandoffForm().validate_handoff_contact(text, dispatcher, tracker, domain)
    assert result == {
        "handoff_contact_preference": expected[0],
        "handoff_contact": expected[1],
    }
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("preference", "text", "response"),
    [
        ("phone", "12345", "utter_invalid_handoff_phone"),
        ("phone", "06 1234", "utter_invalid_handoff_phone"),
        ("phone", "+32 470 12 34 56", "utter_invalid_handoff_phone"),
        ("phone", "  ", "utter_invalid_handoff_phone"),
        ("email", "jan@", "utter_invalid_handoff_email"),
        ("email", "jan@example", "utter_invalid_handoff_email"),
        ("email", "jan at example dot org", "utter_invalid_handoff_email"),
        ("email", "x" * 300, "utter_invalid_handoff_email"),
    ],
)
def test_a_bad_contact_is_asked_again(
    preference: str,
    text: str,
    response: str,
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    tracker = make_tracker(
        {"handoff_consent": True, "handoff_contact_preference": preference}, text=text
    )
    result = ValidateHandoffForm().validate_handoff_contact(text, dispatcher, tracker, domain)
    assert result == {"handoff_contact": None}
    assert [m["response"] for m in dispatcher.messages] == [response]


def test_no_at_the_contact_question_withdraws(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(
        {"handoff_consent": True, "handoff_contact_preference": "phone"},
        text="nee",
        intent="deny",
    )
    result = ValidateHandoffForm().validate_handoff_contact("nee", dispatcher, tracker, domain)
    assert result == {
        "handoff_consent": False,
        "handoff_contact_preference": None,
        "handoff_contact": None,
    }


# ---- handoff: storing and confirming ------------------------------------------------------------

DESK_TERM = {
    "id": "leerwerkloket",
    "kind": "term",
    "title": "Leerwerkloket",
    "title_en": "Leerwerkloket (regional learning and work desk)",
    "sources": [{"id": "facts_advice_desks", "url": None}],
}
FACTS = {
    ("term", "leerwerkloket"): DESK_TERM,
    ("route", "bbl"): {"id": "bbl", "title": "BBL: werken en leren"},
    ("unit", "adl"): {"id": "adl", "title": "ADL"},
    ("qualification", "helpende_zw"): {"id": "helpende_zw", "title": "Helpende Zorg en Welzijn"},
}
FORGET = [
    SlotSet("handoff_consent", None),
    SlotSet("handoff_contact_preference", None),
    SlotSet("handoff_contact", None),
]


@pytest.fixture
def handoff_database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'app.db'}")
    database.create_all()
    yield database
    database.dispose()


def _requests(database: Database) -> list[HandoffRequest]:
    with database.session() as session:
        found = list(session.scalars(select(HandoffRequest)))
        for request in found:
            session.expunge(request)
        return found


def _confirm(
    database: Database, catalogue: FakeCatalogue | None = None, days: int = 0
) -> ActionConfirmHandoff:
    return ActionConfirmHandoff(
        catalogue or FakeCatalogue(facts=FACTS), HandoffStore(database), response_days=days
    )


def _consented(**slots: Any) -> dict[str, Any]:
    return {
        "handoff_consent": True,
        "handoff_contact_preference": "phone",
        "handoff_contact": "+31612345678",
        **slots,
    }


async def test_handoff_is_stored_with_the_answers_and_the_advice(
    handoff_database: Database, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(
        _consented(
            age=38.0,
            care_qualifications=["helpende_zw"],
            sector="vvt",
            region="Almere",
            advice_given=True,
            recommended_route="bbl",
            advised_units=["adl"],
            skipped=["benefit"],
        ),
        text="06 12345678",
    )
    events = await _confirm(handoff_database).run(dispatcher, tracker, domain)

    assert events == FORGET
    [request] = _requests(handoff_database)
    assert (request.consent, request.contact_preference, request.contact) == (
        True,
        "phone",
        "+31612345678",
    )
    assert (request.conversation_id, request.language, request.region) == ("test", "nl", "Almere")
    assert request.status == "open"
    answers = {a["field"]: a for a in request.profile_summary["answers"]}
    assert answers["age"] == {"field": "age", "label": "Leeftijd", "value": 38.0, "shown": "38"}
    assert answers["care_qualifications"]["shown"] == "Helpende Zorg en Welzijn"
    assert answers["region"]["value"] == "Almere"
    # In words, as "wat weet je van mij?" shows them, not the ids.
    assert (answers["sector"]["value"], answers["sector"]["shown"]) == ("vvt", "ouderenzorg (VVT)")
    assert "education" not in answers  # not answered
    assert request.profile_summary["skipped"] == ["benefit"]
    assert request.advice_summary == {
        "route": {"id": "bbl", "title": "BBL: werken en leren"},
        "units": [{"id": "adl", "title": "ADL"}],
    }
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_handoff_confirmed",
        "utter_handoff_desk_region",
    ]
    assert dispatcher.messages[0]["handoff_contact"] == "+31612345678"
    assert (dispatcher.messages[1]["desk"], dispatcher.messages[1]["region"]) == (
        "Leerwerkloket",
        "Almere",
    )


async def test_a_retried_call_stores_one_request(
    handoff_database: Database, domain: dict[str, Any]
) -> None:
    action = _confirm(handoff_database)
    tracker = make_tracker(_consented(), text="06 12345678")
    for _ in range(2):
        await action.run(CollectingDispatcher(), tracker, domain)
    assert len(_requests(handoff_database)) == 1

    # A new request in a later turn of the same conversation is another request.
    later = make_tracker(_consented(), text="0612345678", earlier_intents=["request_human"])
    await action.run(CollectingDispatcher(), later, domain)
    assert len(_requests(handoff_database)) == 2


async def test_no_advice_no_advice_summary(
    handoff_database: Database, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(_consented(advice_given=False), text="06 12345678")
    await _confirm(handoff_database).run(dispatcher, tracker, domain)
    [request] = _requests(handoff_database)
    assert request.advice_summary is None
    # No region known: the desk "in your region".
    assert [m["response"] for m in dispatcher.messages][1:] == ["utter_handoff_desk"]


async def test_the_configured_response_time_is_said(
    handoff_database: Database, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(_consented(), text="06 12345678")
    await _confirm(handoff_database, days=2).run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_handoff_confirmed_days"
    assert dispatcher.messages[0]["days"] == 2


@pytest.mark.parametrize(
    "slots",
    [
        {"handoff_consent": False, "handoff_contact_preference": None, "handoff_contact": None},
        {"handoff_consent": None},
        # Consent, but the person said no before giving a contact.
        {"handoff_consent": True, "handoff_contact_preference": "phone", "handoff_contact": None},
    ],
)
async def test_without_consent_nothing_is_stored(
    slots: dict[str, Any],
    handoff_database: Database,
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    tracker = make_tracker({**slots, "region": "Almere"})
    events = await _confirm(handoff_database).run(dispatcher, tracker, domain)

    assert events == FORGET
    assert _requests(handoff_database) == []
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_handoff_declined",
        "utter_handoff_desk_region",
    ]


async def test_a_store_failure_is_said_and_the_desk_still_given(
    tmp_path: Path, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    (tmp_path / "not-a-db").mkdir()
    broken = Database(f"sqlite:///{tmp_path / 'not-a-db'}")  # a folder: cannot be opened
    action = ActionConfirmHandoff(FakeCatalogue(facts=FACTS), HandoffStore(broken), 0)
    events = await action.run(dispatcher, make_tracker(_consented()), domain)

    assert events == FORGET
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_handoff_failed",
        "utter_handoff_desk",
    ]


async def test_the_desk_link_comes_from_the_catalogue_source(
    handoff_database: Database, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    with_url = {
        **DESK_TERM,
        "sources": [{"id": "desk", "url": "https://desk.example/"}],
    }
    catalogue = FakeCatalogue(facts={("term", "leerwerkloket"): with_url})
    tracker = make_tracker({"handoff_consent": False, "language": "en"})
    await _confirm(handoff_database, catalogue).run(dispatcher, tracker, domain)

    assert [m["response"] for m in dispatcher.messages] == [
        "utter_handoff_declined",
        "utter_handoff_desk",
        "utter_handoff_desk_link",
    ]
    assert dispatcher.messages[1]["desk"] == "Leerwerkloket (regional learning and work desk)"
    assert dispatcher.messages[2]["url"] == "https://desk.example/"


@pytest.mark.parametrize("catalogue", [FakeCatalogue(), OldCatalogue()])
async def test_without_the_desk_in_the_catalogue_a_general_pointer(
    catalogue: Any,
    handoff_database: Database,
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    action = ActionConfirmHandoff(catalogue, HandoffStore(handoff_database), 0)
    await action.run(dispatcher, make_tracker({"handoff_consent": False}), domain)
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_handoff_declined",
        "utter_handoff_desk_unknown",
    ]


def test_every_handoff_response_has_english_and_a_default(domain: dict[str, Any]) -> None:
    names = [name for name in domain["responses"] if "handoff" in name]
    assert len(names) >= 12
    for name in names:
        variants = domain["responses"][name]
        conditions = [v.get("condition", []) for v in variants]
        assert [] in conditions, name
        assert any({"type": "slot", "name": "language", "value": "en"} in c for c in conditions), (
            name
        )


def test_the_contact_question_fits_the_preference(domain: dict[str, Any]) -> None:
    variants = domain["responses"]["utter_ask_handoff_contact"]
    english_email = [
        v["text"]
        for v in variants
        if {"type": "slot", "name": "handoff_contact_preference", "value": "email"}
        in v.get("condition", [])
        and {"type": "slot", "name": "language", "value": "en"} in v.get("condition", [])
    ]
    assert english_email and all("email" in text for text in english_email)
    assert "telefoonnummer" in next(v["text"] for v in variants if not v.get("condition"))


# ---- fallback ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("earlier", "response"),
    [
        ([], "utter_default"),
        (["greet"], "utter_default"),
        (["nlu_fallback"], "utter_offer_human"),
        (["nlu_fallback", "inform"], "utter_default"),
    ],
)
async def test_fallback_then_a_person(
    earlier: list[str], response: str, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(text="bla", intent="nlu_fallback", earlier_intents=earlier)
    assert await ActionFallback(FakeCatalogue()).run(dispatcher, tracker, domain) == []
    assert [m["response"] for m in dispatcher.messages] == [response]
