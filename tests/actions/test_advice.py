"""action_give_advice and action_advice_details: summary, warnings, the compact advice
payload with its link, reasons."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from typing import Any

import pytest
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.advice import ActionAdviceDetails, ActionGiveAdvice, fact_labels
from actions.advice_payload import FACT_LABELS, advice_payload, shorten
from bot.advice_store import SavedLink
from bot.idempotency import IdempotencyKey
from catalogue.compiled import Catalogue
from catalogue.errors import ProfileError
from catalogue.service import CatalogueService
from tests.actions.support import EVC_WARNING, FakeCatalogue, make_tracker, sample_advice
from tests.catalogue.samples import SAMPLE_PROFILES

PROFILE_SLOTS = {"age": 38, "sector": "vvt", "hours_per_week": 20.5}
EXPIRES = dt.datetime(2026, 12, 23, 16, 0, tzinfo=dt.UTC)
CARD_KEYS = {"kind", "id", "title", "fit", "certain", "text", "why", "facts", "sources"}
PAYLOAD_KEYS = {
    "type",
    "language",
    "catalogue_version",
    "link",
    "link_expires",
    "summary",
    "cards",
    "warnings",
}


class FakeStore:
    """Stand-in for AdviceStore: records what it saves, or raises `error`."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.saved: list[tuple[dict[str, Any], str, str | None]] = []
        self.keys: list[IdempotencyKey | None] = []
        self.threads: list[int] = []

    def save(
        self,
        advice: dict[str, Any],
        language: str,
        conversation_id: str | None = None,
        key: IdempotencyKey | None = None,
    ) -> SavedLink:
        self.threads.append(threading.get_ident())
        if self.error is not None:
            raise self.error
        self.saved.append((advice, language, conversation_id))
        self.keys.append(key)
        token = f"token{len(self.saved)}"
        return SavedLink(token, f"https://zw.example/advies/{token}", EXPIRES, 30)


async def give_advice(
    catalogue: Any,
    domain: dict[str, Any],
    slots: dict[str, Any] | None = None,
    store: FakeStore | None = None,
) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(PROFILE_SLOTS if slots is None else slots)
    action = ActionGiveAdvice(catalogue, store or FakeStore())
    events = await action.run(dispatcher, tracker, domain)
    return dispatcher, events


def custom_payload(dispatcher: CollectingDispatcher) -> dict[str, Any]:
    [payload] = [m["custom"] for m in dispatcher.messages if m.get("custom")]
    assert isinstance(payload, dict)
    return payload


def test_names() -> None:
    assert ActionGiveAdvice(FakeCatalogue()).name() == "action_give_advice"
    assert ActionAdviceDetails(FakeCatalogue()).name() == "action_advice_details"


@pytest.mark.parametrize(
    ("language", "route", "units"),
    [
        ("nl", "BBL: werken en leren", "ADL, Helpende Plus"),
        ("en", "BBL: work-based learning", "Activities of daily living, Helpende Plus"),
    ],
)
async def test_summary_json_and_slots(
    language: str, route: str, units: str, domain: dict[str, Any]
) -> None:
    advice = sample_advice(["bbl"])
    catalogue = FakeCatalogue(advice)
    store = FakeStore()
    dispatcher, events = await give_advice(
        catalogue, domain, {**PROFILE_SLOTS, "language": language}, store
    )

    assert catalogue.profiles == [{**PROFILE_SLOTS, "language": language}]
    assert catalogue.threads[0] != threading.get_ident()  # off the event loop
    assert store.threads[0] != threading.get_ident()
    # The whole advice, tied to the conversation (erasing it removes the link too).
    assert store.saved == [(advice, language, "test")]
    # Once per turn: under the key of this conversation, turn and action.
    [key] = store.keys
    assert key is not None
    assert (key.conversation_id, key.action) == ("test", "action_give_advice")
    summary, payload, link = dispatcher.messages
    assert summary["response"] == "utter_advice_summary"
    assert summary["text"] is None  # the sentence is in domain.yml, chosen by `language`
    assert (
        summary["route_title"],
        summary["units"],
        summary["route_count"],
        summary["funding_count"],
    ) == (route, units, 1, 2)
    custom = payload["custom"]
    assert set(custom) == PAYLOAD_KEYS
    assert (custom["type"], custom["language"], custom["catalogue_version"]) == (
        "advice",
        language,
        "2026.11.23+test",
    )
    assert (custom["link"], custom["link_expires"]) == (
        "https://zw.example/advies/token1",
        "2026-12-23",
    )
    assert custom["summary"] == advice["summary"]
    assert link["response"] == "utter_advice_saved"
    assert (link["link"], link["days"]) == ("https://zw.example/advies/token1", 30)
    # Not possible (EVC) is left out; every card is in the conversation's language.
    assert [(c["kind"], c["id"]) for c in custom["cards"]] == [
        ("route", "bbl"),
        ("unit", "adl"),
        ("unit", "helpende_plus"),
        ("funding", "praktijkleren"),
        ("funding", "slim"),
    ]
    bbl = custom["cards"][0]
    assert set(bbl) == CARD_KEYS
    assert bbl["title"] == route
    assert bbl["why"] == ["Omdat het kan." if language == "nl" else "Because it can."]
    assert bbl["sources"] == [{"title": "Domeinfeiten 2026", "url": None}]
    assert events == [
        SlotSet("advice_given", True),
        SlotSet("recommended_route", "bbl"),
        SlotSet("advised_units", ["adl", "helpende_plus"]),
    ]


@pytest.mark.parametrize(
    ("language", "text"), [("nl", EVC_WARNING["nl"]), ("en", EVC_WARNING["en"])]
)
async def test_warnings_follow_the_summary(
    language: str, text: str, domain: dict[str, Any]
) -> None:
    catalogue = FakeCatalogue(sample_advice(["bbl"], warnings=[EVC_WARNING]))
    dispatcher, _ = await give_advice(catalogue, domain, {**PROFILE_SLOTS, "language": language})
    responses = [m["response"] for m in dispatcher.messages]
    assert responses == [
        "utter_advice_summary",
        "utter_advice_warning",
        None,
        "utter_advice_saved",
    ]
    assert dispatcher.messages[1]["warning"] == text
    assert custom_payload(dispatcher)["warnings"] == [
        {"id": "evc_stopped", "severity": "warning", "text": text}
    ]


async def test_recruiter_gets_a_summary_to_forward(domain: dict[str, Any]) -> None:
    catalogue = FakeCatalogue(sample_advice(["bbl"]))
    dispatcher, _ = await give_advice(catalogue, domain, {**PROFILE_SLOTS, "recruiter": True})
    forward = dispatcher.messages[-1]
    assert forward["response"] == "utter_advice_forward"
    assert (forward["route_title"], forward["version"]) == (
        "BBL: werken en leren",
        "2026.11.23+test",
    )


async def test_no_route(domain: dict[str, Any]) -> None:
    dispatcher, events = await give_advice(FakeCatalogue(sample_advice([])), domain)
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_advice_no_route",
        None,
        "utter_advice_saved",
    ]
    assert SlotSet("recommended_route", None) in events


@pytest.mark.parametrize(("channel", "link_text"), [("widget", False), ("telegram", True)])
async def test_link_as_text_only_where_cards_are_not_drawn(
    channel: str, link_text: bool, domain: dict[str, Any]
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(PROFILE_SLOTS)
    tracker.events[-1]["input_channel"] = channel
    await ActionGiveAdvice(FakeCatalogue(sample_advice(["bbl"])), FakeStore()).run(
        dispatcher, tracker, domain
    )
    assert custom_payload(dispatcher)["link"] == "https://zw.example/advies/token1"
    responses = [m["response"] for m in dispatcher.messages]
    assert ("utter_advice_saved" in responses) is link_text


async def test_advice_without_a_link_when_saving_fails(
    domain: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Database down: the advice is still given, without a link, and the log holds no
    personal data (the error's text could quote the profile)."""
    store = FakeStore(error=RuntimeError("INSERT ... age 38, sector vvt"))
    with caplog.at_level(logging.WARNING):
        dispatcher, events = await give_advice(
            FakeCatalogue(sample_advice(["bbl"])), domain, store=store
        )
    assert [m["response"] for m in dispatcher.messages] == ["utter_advice_summary", None]
    payload = custom_payload(dispatcher)
    assert (payload["link"], payload["link_expires"]) == (None, None)
    assert payload["cards"]
    assert SlotSet("advice_given", True) in events
    assert "could not be saved" in caplog.text
    assert "38" not in caplog.text and "vvt" not in caplog.text


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("name", sorted(SAMPLE_PROFILES))
async def test_payload_of_real_advice_is_small_and_doable(
    name: str, language: str, real_catalogue: Catalogue, domain: dict[str, Any]
) -> None:
    service = CatalogueService.from_catalogue(real_catalogue)
    profile = {**SAMPLE_PROFILES[name], "language": language}
    full = service.advise(profile)
    slots = {k: v for k, v in profile.items() if k != "education"}
    if "education" in profile:
        slots["education"] = profile["education"]
    dispatcher, _ = await give_advice(service, domain, slots)
    payload = custom_payload(dispatcher)

    size = len(json.dumps(payload).encode("utf-8"))
    assert size < 10 * 1024, size
    assert len(json.dumps(full)) > 50_000  # what used to be sent
    assert payload["language"] == language
    cards = payload["cards"]
    assert cards, name
    items = {
        (k[:-1] if k != "funding" else k, i["id"]): i
        for k in ("routes", "units", "funding")
        for i in full[k]
    }
    for card in cards:
        item = items[(card["kind"], card["id"])]
        assert card["fit"] == item["fit"] in ("recommended", "possible")
        assert card["title"] == (item["title_en"] if language == "en" else item["title"])
        assert card["certain"] is item["certain"]
        assert set(card) == CARD_KEYS
        assert all(set(f) == {"label", "value"} and f["value"] for f in card["facts"])
    fits = [card["fit"] for card in cards]
    assert fits == sorted(fits, key=["recommended", "possible"].index)  # recommended first
    # The summary's items that are doable all have a card.
    for kind, key in (("route", "routes"), ("unit", "units"), ("funding", "funding")):
        for item_id in full["summary"][key]:
            if items[(kind, item_id)]["fit"] != "not_possible":
                assert (kind, item_id) in {(c["kind"], c["id"]) for c in cards}
    warnings = [w["en" if language == "en" else "nl"] for w in full["warnings"]]
    assert [w["text"] for w in payload["warnings"]] == warnings


def test_fact_labels_come_from_the_domain(domain: dict[str, Any]) -> None:
    dutch, english = fact_labels(domain, "nl"), fact_labels(domain, "en")
    assert set(dutch) == set(english) == set(FACT_LABELS)
    assert (dutch["cost"], english["cost"]) == ("Kosten", "Cost")
    assert "{value}" in dutch["unverified"] and "{value}" in english["unverified"]


def test_unverified_facts_are_said_to_be(domain: dict[str, Any]) -> None:
    advice = sample_advice(["bbl"])
    advice["units"][0]["price"] = {"min_eur": 600, "max_eur": 1200, "status": "unverified"}
    advice["units"][0]["duration"] = {"min_weeks": 10, "max_weeks": 10, "status": "verified"}
    payload = advice_payload(
        advice, "nl", labels=fact_labels(domain, "nl"), link=None, link_expires=None
    )
    adl = next(c for c in payload["cards"] if c["id"] == "adl")
    assert {"label": "Prijs", "value": "€ 600–€ 1200 (nog niet bevestigd)"} in adl["facts"]
    assert {"label": "Duur (weken)", "value": "10"} in adl["facts"]


def test_cards_that_do_not_fit_the_budget_are_left_out() -> None:
    advice = sample_advice(["bbl"])
    small = advice_payload(advice, "nl", labels={}, link=None, link_expires=None, budget=700)
    assert len(json.dumps(small, separators=(",", ":"))) <= 700
    ids = [c["id"] for c in small["cards"]]
    assert ids and ids[0] == "bbl"  # the summary's route claims room first
    assert len(ids) < 5


def test_shorten() -> None:
    assert shorten("kort", 10) == "kort"
    assert shorten("een  lange\nzin met veel woorden", 14) == "een lange zin…"
    assert len(shorten("x" * 50, 10)) == 10


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("age", [SlotSet("age", None), FollowupAction("profile_form")]),
        ("language", [SlotSet("advice_given", False)]),
    ],
)
async def test_profile_rejected_by_the_catalogue(
    field: str, expected: list[Any], domain: dict[str, Any]
) -> None:
    catalogue = FakeCatalogue(error=ProfileError("bad", field=field))
    dispatcher, events = await give_advice(catalogue, domain)
    assert events == expected
    assert [m["response"] for m in dispatcher.messages] == ["utter_profile_invalid"]


async def test_catalogue_down(domain: dict[str, Any]) -> None:
    dispatcher, events = await give_advice(FakeCatalogue(error=RuntimeError("db down")), domain)
    assert events == [SlotSet("advice_given", False)]
    assert [m["response"] for m in dispatcher.messages] == ["utter_advice_unavailable"]


@pytest.mark.parametrize(
    ("entities", "titles"),
    [
        (
            [],
            [
                "ADL",
                "Helpende Plus",
                "BBL: werken en leren",
                "Subsidie praktijkleren",
                "SLIM-regeling",
            ],
        ),
        ([{"entity": "detail", "value": "unit"}], ["ADL", "Helpende Plus"]),
        ([{"entity": "term", "value": "leereenheid"}], ["ADL", "Helpende Plus"]),
        ([{"entity": "detail", "value": "route"}], ["BBL: werken en leren"]),
        ([{"entity": "term", "value": "subsidie"}], ["Subsidie praktijkleren", "SLIM-regeling"]),
        ([{"entity": "route", "value": "evc"}], ["EVC-traject"]),
        ([{"entity": "unit", "value": "adl"}], ["ADL"]),
    ],
)
async def test_details_with_reason_and_source(
    entities: list[dict[str, Any]],
    titles: list[str],
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    catalogue = FakeCatalogue(sample_advice(["bbl"]))
    tracker = make_tracker(
        {**PROFILE_SLOTS, "advice_given": True},
        text="meer",
        intent="ask_details",
        entities=entities,
    )
    assert await ActionAdviceDetails(catalogue).run(dispatcher, tracker, domain) == []
    assert [m["title"] for m in dispatcher.messages] == titles
    assert {m["response"] for m in dispatcher.messages} == {"utter_advice_reason"}
    assert {m["reason"] for m in dispatcher.messages} == {"Omdat het kan."}
    assert {m["source"] for m in dispatcher.messages} == {"Domeinfeiten 2026"}


async def test_details_of_something_not_in_the_advice(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    catalogue = FakeCatalogue(sample_advice(["bbl"]))
    tracker = make_tracker(
        {"advice_given": True}, intent="ask_details", entities=[{"entity": "unit", "value": "nope"}]
    )
    await ActionAdviceDetails(catalogue).run(dispatcher, tracker, domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_term_unknown"]


async def test_details_before_the_advice(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    await ActionAdviceDetails(FakeCatalogue()).run(
        dispatcher, make_tracker(intent="ask_details"), domain
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_advice_not_yet"]


async def test_details_catalogue_down(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    catalogue = FakeCatalogue(error=RuntimeError("down"))
    await ActionAdviceDetails(catalogue).run(
        dispatcher, make_tracker({"advice_given": True}, intent="ask_details"), domain
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_advice_unavailable"]
