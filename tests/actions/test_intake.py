"""The intake: action_extract_profile, validate_profile_form and the side paths."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.intake import (
    ActionExplain,
    ActionExtractProfile,
    ActionShowProfile,
    ActionSkipQuestion,
    ActionStartOver,
    ValidateProfileForm,
    extract_profile,
)
from actions.profile import PROFILE_SLOTS, profile_from_slots, questions_left
from catalogue.compiled import Catalogue
from catalogue.service import CatalogueService
from tests.actions.support import (
    FakeCatalogue,
    OldCatalogue,
    make_tracker,
    sample_advice,
)

FORM = "profile_form"


def reading(
    values: dict[str, Any] | None = None, problems: dict[str, str] | None = None
) -> dict[str, Any]:
    return {"values": values or {}, "problems": problems or {}, "mentions": []}


# ---- action_extract_profile ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("ik ben 38 en wil in de ouderenzorg", {"age": 38, "sector": "vvt"}),
        (
            "mbo 2 helpende",
            {"education": {"level": "mbo2"}, "care_qualifications": ["helpende_zw_2"]},
        ),
        ("ik werk al 7 jaar als begeleider", {"care_experience_years": 7}),
        ("nee nog geen werkgever", {"employer": "none"}),
        ("ik werk in een verpleeghuis", {"employer": "care", "sector": "vvt"}),
        (
            "38, havo, 24 uur, bijstand, Utrecht",
            {"age": 38, "hours_per_week": 24, "benefit": "bijstand", "region": "Utrecht"},
        ),
    ],
)
async def test_extract_fills_every_field_found(
    text: str, values: dict[str, Any], dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    asked = next(iter(values))
    catalogue = FakeCatalogue(readings={text: reading(values)})
    tracker = make_tracker({"requested_slot": asked}, text=text, active_loop=FORM)
    events = await extract_profile(catalogue, tracker, domain)
    assert events == [SlotSet(field, value) for field, value in values.items()]
    assert dispatcher.messages == []
    assert catalogue.interpreted == [(text, asked)]


@pytest.mark.parametrize(
    ("intent", "active_loop", "asked"),
    [
        ("inform", FORM, "hours_per_week"),
        ("deny", FORM, "hours_per_week"),
        ("skip_question", FORM, "hours_per_week"),
        ("ask_costs", FORM, None),  # a question is not an answer to the question asked
        ("inform", None, None),  # outside the intake nothing was asked
    ],
)
async def test_extract_passes_the_asked_field_only_for_answers(
    intent: str,
    active_loop: str | None,
    asked: str | None,
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    catalogue = FakeCatalogue()
    tracker = make_tracker(
        {"requested_slot": "hours_per_week"}, text="24", intent=intent, active_loop=active_loop
    )
    await extract_profile(catalogue, tracker, domain)
    assert catalogue.interpreted == [("24", asked)]


@pytest.mark.parametrize(
    ("field", "kind", "limits"),
    [
        ("age", "out_of_range", (16, 80)),
        ("hours_per_week", "out_of_range", (0, 60)),
        ("goal", "unclear", (None, None)),
    ],
)
async def test_extract_reasks_nonsense_without_storing_it(
    field: str,
    kind: str,
    limits: tuple[Any, Any],
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    catalogue = FakeCatalogue(readings={"onzin": reading(problems={field: kind})})
    tracker = make_tracker({"requested_slot": field}, text="onzin", active_loop=FORM)
    events = await extract_profile(catalogue, tracker, domain)
    assert events == [SlotSet("profile_problem", field)]
    assert dispatcher.messages == []  # Rasa drops messages of slot extraction actions
    # The form's validation reads the answer itself and says the re-ask, with the slot's
    # limits from domain.yml.
    events = await ValidateProfileForm(catalogue).run(dispatcher, tracker, domain)
    assert not [e for e in events if e["name"] == field and e["value"] is not None]
    assert SlotSet("profile_problem", None) in events
    [message] = dispatcher.messages
    assert message["response"] == f"utter_invalid_{field}"
    assert (message["min"], message["max"]) == limits
    assert message["text"] is None


async def test_extract_ignores_unclear_for_other_fields_and_skips(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    catalogue = FakeCatalogue(
        readings={"weet ik niet": reading(problems={"goal": "unclear", "age": "unclear"})}
    )
    skip = make_tracker(
        {"requested_slot": "goal"}, text="weet ik niet", intent="skip_question", active_loop=FORM
    )
    assert await extract_profile(catalogue, skip, domain) == []
    assert dispatcher.messages == []


async def test_extract_takes_button_entities_and_not_the_payload_text(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    catalogue = FakeCatalogue()
    tracker = make_tracker(
        {"requested_slot": "sector"},
        text='/inform{"sector": "vvt"}',
        entities=[{"entity": "sector", "value": "vvt"}, {"entity": "term", "value": "bbl"}],
        active_loop=FORM,
    )
    events = await extract_profile(catalogue, tracker, domain)
    assert events == [SlotSet("sector", "vvt")]
    assert catalogue.interpreted == []


@pytest.mark.parametrize(
    ("earlier", "expected"), [([], [SlotSet("language", "en")]), (["greet"], [])]
)
async def test_extract_language_only_from_the_first_message(
    earlier: list[str],
    expected: list[Any],
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    catalogue = FakeCatalogue(readings={"I am 38": reading({"language": "en"})})
    tracker = make_tracker(text="I am 38", earlier_intents=earlier)
    assert await extract_profile(catalogue, tracker, domain) == expected


@pytest.mark.parametrize(
    ("text", "expected", "reask"),
    [
        ("achtendertig", [SlotSet("age", 38)], []),
        ("7", [SlotSet("profile_problem", "age")], []),
    ],
)
async def test_extract_without_interpret_reads_numbers(
    text: str,
    expected: list[Any],
    reask: list[str],
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    tracker = make_tracker({"requested_slot": "age"}, text=text, active_loop=FORM)
    assert await extract_profile(OldCatalogue(), tracker, domain) == expected  # type: ignore[arg-type]
    assert [m["response"] for m in dispatcher.messages] == reask


async def test_extract_survives_a_failing_catalogue(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    class Broken(FakeCatalogue):
        def interpret(self, text: str, asked: str | None = None) -> dict[str, Any]:
            raise RuntimeError("boom")

    tracker = make_tracker(text="38")
    assert await extract_profile(Broken(), tracker, domain) == []


def test_extract_name() -> None:
    assert ActionExtractProfile(FakeCatalogue()).name() == "action_extract_profile"


# ---- validate_profile_form -----------------------------------------------------------


def test_form_name_and_every_form_slot_has_a_validator(domain: dict[str, Any]) -> None:
    action = ValidateProfileForm(FakeCatalogue())
    assert action.name() == f"validate_{FORM}"
    assert tuple(domain["forms"][FORM]["required_slots"]) == PROFILE_SLOTS
    for slot in PROFILE_SLOTS:
        assert callable(getattr(action, f"validate_{slot}", None)), slot


@pytest.mark.parametrize(
    ("slots", "left"),
    [
        ({}, [s for s in PROFILE_SLOTS if s != "employer_sbb_recognised"]),
        ({"employer": "care"}, [s for s in PROFILE_SLOTS if s != "employer"]),
        (
            {"employer": "none", "age": 38, "skipped": ["goal", "region"]},
            [
                "education",
                "care_qualifications",
                "care_experience_years",
                "hours_per_week",
                "sector",
                "benefit",
            ],
        ),
        ({s: 1 for s in PROFILE_SLOTS}, []),
    ],
)
async def test_required_slots_are_the_unknown_applicable_unskipped_ones(
    slots: dict[str, Any], left: list[str], dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(slots)
    assert questions_left(tracker) == left
    required = await ValidateProfileForm(FakeCatalogue()).required_slots(
        list(PROFILE_SLOTS), dispatcher, tracker, domain
    )
    assert required == left


async def test_form_asks_the_next_unknown_question(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(
        {"age": 38, "sector": "vvt", "requested_slot": "age"},
        text="ik ben 38 en wil in de ouderenzorg",
        events=[
            {"event": "slot", "name": "age", "value": 38},
            {"event": "slot", "name": "sector", "value": "vvt"},
        ],
        active_loop=FORM,
    )
    events = await ValidateProfileForm(FakeCatalogue()).run(dispatcher, tracker, domain)
    assert SlotSet("age", 38) in events and SlotSet("sector", "vvt") in events
    assert events[-1] == SlotSet("requested_slot", "education")


async def test_form_with_a_bad_answer_asks_again_instead_of_rejecting(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(
        {"profile_problem": "age", "requested_slot": "age"},
        text="7",
        events=[{"event": "slot", "name": "profile_problem", "value": "age"}],
        active_loop=FORM,
    )
    events = await ValidateProfileForm(FakeCatalogue()).run(dispatcher, tracker, domain)
    assert SlotSet("profile_problem", None) in events  # a validated slot: the form goes on
    assert events[-1] == SlotSet("requested_slot", "age")
    [message] = dispatcher.messages
    assert (message["response"], message["min"], message["max"]) == ("utter_invalid_age", 16, 80)


async def test_form_done_when_everything_is_known(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    slots = dict.fromkeys(PROFILE_SLOTS, "x") | {
        "age": 38,
        "hours_per_week": 24,
        "employer": "none",
        "requested_slot": "region",
    }
    catalogue = FakeCatalogue(readings={"Utrecht": reading({"region": "Utrecht"})})
    tracker = make_tracker(slots, text="Utrecht", active_loop=FORM)
    events = await ValidateProfileForm(catalogue).run(dispatcher, tracker, domain)
    assert events == [SlotSet("region", "Utrecht"), SlotSet("requested_slot", None)]
    assert catalogue.interpreted == [("Utrecht", "region")]


async def test_the_form_reads_answers_and_the_language_itself(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    """A first message that starts the intake: one call reads every field and the language."""
    text = "I am 38 and would like advice"
    catalogue = FakeCatalogue(readings={text: reading({"age": 38, "language": "en"})})
    tracker = make_tracker(text=text, intent="request_advice", active_loop=FORM)
    events = await ValidateProfileForm(catalogue).run(dispatcher, tracker, domain)
    assert SlotSet("age", 38) in events and SlotSet("language", "en") in events
    assert SlotSet("requested_slot", "education") in events


async def test_the_form_back_from_a_side_path_reads_nothing_again(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    catalogue = FakeCatalogue(readings={"waarom?": reading(problems={"age": "unclear"})})
    tracker = make_tracker(
        {"requested_slot": "age"},
        text="waarom?",
        intent="ask_why",
        active_loop=FORM,
        events=[
            {"event": "action", "name": "action_explain"},
            {"event": "action", "name": FORM},
        ],
    )
    events = await ValidateProfileForm(catalogue).run(dispatcher, tracker, domain)
    assert catalogue.interpreted == [] and dispatcher.messages == []
    assert events == [SlotSet("requested_slot", "age")]


async def test_extract_outside_the_form_keeps_no_problem(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    catalogue = FakeCatalogue(readings={"hello": reading({"language": "en"}, {"age": "unclear"})})
    tracker = make_tracker(text="hello", intent="greet")
    events = await ActionExtractProfile(catalogue).run(dispatcher, tracker, domain)
    assert events == [SlotSet("language", "en")]


@pytest.mark.parametrize(
    ("slot", "value", "expected", "reask"),
    [
        ("age", 38, 38, False),
        ("age", "achtendertig", 38, False),
        ("age", 7, None, True),
        ("age", 38.5, None, True),
        ("hours_per_week", 20.5, 20.5, False),
        ("hours_per_week", 200, None, True),
        ("care_experience_years", 7, 7, False),
        ("care_experience_years", 99, None, True),
        ("sector", "vvt", "vvt", False),
        ("sector", "ziekenhuis", None, True),
        (
            "education",
            {"level": "hbo", "field": "accountancy"},
            {"level": "hbo", "field": "accountancy"},
            False,
        ),
        ("employer", "none", "none", False),
        ("goal", "tasks", "tasks", False),
        ("benefit", "ww", "ww", False),
        ("region", "Utrecht", "Utrecht", False),
        ("employer_sbb_recognised", "unknown", "unknown", False),
    ],
)
def test_validate_each_slot(
    slot: str,
    value: Any,
    expected: Any,
    reask: bool,
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    method = getattr(ValidateProfileForm(FakeCatalogue()), f"validate_{slot}")
    assert method(value, dispatcher, make_tracker(), domain) == {slot: expected}
    assert [m["response"] for m in dispatcher.messages] == (
        [f"utter_invalid_{slot}"] if reask else []
    )


def test_validate_care_qualifications_always_a_list(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    action = ValidateProfileForm(FakeCatalogue())
    assert action.validate_care_qualifications("vig_3", dispatcher, make_tracker(), domain) == {
        "care_qualifications": ["vig_3"]
    }
    assert action.validate_care_qualifications([], dispatcher, make_tracker(), domain) == {
        "care_qualifications": []
    }


# ---- profile -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slots", "profile"),
    [
        (
            {"age": 38, "employer": "none", "employer_sbb_recognised": "yes"},
            {"age": 38, "employer": "none", "language": "nl"},
        ),
        (
            {"employer": "care", "employer_sbb_recognised": "yes"},
            {"employer": "care", "employer_sbb_recognised": "yes", "language": "nl"},
        ),
        ({"language": "en"}, {"language": "en"}),
    ],
)
def test_profile_from_slots(slots: dict[str, Any], profile: dict[str, Any]) -> None:
    assert profile_from_slots(make_tracker(slots)) == profile


# ---- side paths ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("skipped", "expected"),
    [([], ["goal"]), (["region"], ["region", "goal"]), (["goal"], ["goal"])],
)
async def test_skip_question(
    skipped: list[str],
    expected: list[str],
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
) -> None:
    tracker = make_tracker(
        {"requested_slot": "goal", "skipped": skipped},
        text="sla over",
        intent="skip_question",
        active_loop=FORM,
    )
    events = await ActionSkipQuestion(FakeCatalogue()).run(dispatcher, tracker, domain)
    assert events == [SlotSet("skipped", expected)]
    assert [m["response"] for m in dispatcher.messages] == ["utter_skipped"]


async def test_skip_outside_the_intake_does_nothing(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    action = ActionSkipQuestion(FakeCatalogue())
    assert action.name() == "action_skip_question"
    assert await action.run(dispatcher, make_tracker(text="sla over"), domain) == []
    assert dispatcher.messages == []


@pytest.mark.parametrize("slot", PROFILE_SLOTS)
async def test_explain_the_question_asked(
    slot: str, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(
        {"requested_slot": slot}, text="waarom?", intent="ask_why", active_loop=FORM
    )
    assert await ActionExplain(FakeCatalogue()).run(dispatcher, tracker, domain) == []
    assert [m["response"] for m in dispatcher.messages] == [f"utter_why_{slot}"]
    assert f"utter_why_{slot}" in domain["responses"]


async def test_explain_after_the_advice_gives_reasons_with_sources(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    catalogue = FakeCatalogue(sample_advice(["bbl"]))
    tracker = make_tracker({"advice_given": True, "age": 38}, text="waarom?", intent="ask_why")
    action = ActionExplain(catalogue)
    assert action.name() == "action_explain"
    await action.run(dispatcher, tracker, domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_advice_reason"] * 5
    assert dispatcher.messages[0]["title"] == "ADL"
    assert dispatcher.messages[0]["source"] == "Domeinfeiten 2026"


async def test_explain_before_anything(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    await ActionExplain(FakeCatalogue()).run(
        dispatcher, make_tracker(text="waarom?", intent="ask_why"), domain
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_why_general"]


async def test_show_profile_in_words(
    dispatcher: CollectingDispatcher, domain: dict[str, Any], real_catalogue: Catalogue
) -> None:
    slots = {
        "age": 38.0,
        "education": {"level": "hbo", "field": "accountancy"},
        "care_qualifications": ["helpende_zw_2"],
        "employer": "none",
        "sector": "vvt",
        "region": "Zwolle",
        "skipped": ["benefit"],
    }
    action = ActionShowProfile(CatalogueService.from_catalogue(real_catalogue))
    assert action.name() == "action_show_profile"
    assert await action.run(dispatcher, make_tracker(slots), domain) == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_profile_summary"
    title = real_catalogue.qualifications["helpende_zw_2"].title
    assert message["age"] == "38"
    assert message["education"] == "hbo accountancy"
    assert message["care_qualifications"] == title
    assert message["employer"] == "nog geen werkgever"
    assert message["sector"] == "ouderenzorg (VVT)"
    assert message["region"] == "Zwolle (Overijssel)"
    assert message["benefit"] == "overgeslagen"
    assert message["goal"] == "?"
    assert message["employer_sbb_recognised"] == "?"  # not asked: no employer in care
    # No raw ids or booleans anywhere in what the user reads.
    shown = " ".join(str(v) for k, v in message.items() if k != "response")
    for raw in ("helpende_zw_2", "vvt ", "none", "True", "False"):
        assert raw not in shown


async def test_show_profile_in_english(
    dispatcher: CollectingDispatcher, domain: dict[str, Any], real_catalogue: Catalogue
) -> None:
    slots = {
        "language": "en",
        "education": {"level": "mbo2"},
        "care_qualifications": [],
        "employer": "care",
        "employer_sbb_recognised": "unknown",
        "goal": "tasks",
        "benefit": "ww",
        "region": "Flevoland",
    }
    action = ActionShowProfile(CatalogueService.from_catalogue(real_catalogue))
    await action.run(dispatcher, make_tracker(slots), domain)
    [message] = dispatcher.messages
    assert message["education"] == "mbo level 2"
    assert message["care_qualifications"] == "none"
    assert message["employer"] == "an employer in care"
    assert message["employer_sbb_recognised"] == "not known"
    assert message["goal"] == "start work soon"
    assert message["benefit"] == "unemployment benefit (WW)"
    assert message["region"] == "Flevoland"


async def test_show_profile_with_a_catalogue_that_cannot_name_things(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    slots = {"care_qualifications": ["vig_3"], "region": "Zwolle", "sector": "ghz"}
    await ActionShowProfile(OldCatalogue()).run(dispatcher, make_tracker(slots), domain)
    [message] = dispatcher.messages
    assert (message["care_qualifications"], message["region"]) == ("vig_3", "Zwolle")
    assert message["sector"] == "gehandicaptenzorg (GHZ)"


async def test_start_over_forgets_the_profile_not_the_language(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    action = ActionStartOver(FakeCatalogue())
    assert action.name() == "action_start_over"
    events = await action.run(dispatcher, make_tracker({"age": 38, "language": "en"}), domain)
    assert SlotSet("age", None) in events and SlotSet("advice_given", False) in events
    assert {e["name"] for e in events} >= set(PROFILE_SLOTS)
    assert "language" not in {e["name"] for e in events}
    assert [m["response"] for m in dispatcher.messages] == ["utter_restarted"]


async def test_extract_reasks_an_answer_that_fills_nothing_asked(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    catalogue = FakeCatalogue(readings={"asdf": reading({"region": "x"})})
    tracker = make_tracker({"requested_slot": "goal"}, text="asdf", active_loop=FORM)
    events = await extract_profile(catalogue, tracker, domain)
    assert events == [SlotSet("region", "x"), SlotSet("profile_problem", "goal")]


async def test_extract_language_when_asked_to_switch(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    catalogue = FakeCatalogue(readings={"my Dutch is not good": reading({"language": "en"})})
    tracker = make_tracker(
        text="my Dutch is not good", intent="choose_language", earlier_intents=["greet"]
    )
    events = await extract_profile(catalogue, tracker, domain)
    assert events == [SlotSet("language", "en")]


@pytest.mark.parametrize(
    ("text", "intent", "events"),
    [
        ("Zwolle", "inform", [SlotSet("region", "Zwolle")]),
        ("brabant", "inform", [SlotSet("region", "Noord-Brabant")]),
        ("Atlantis", "inform", [SlotSet("profile_problem", "region")]),
        ("weet ik niet", "skip_question", []),  # the skip path, no re-ask
    ],
)
async def test_extract_checks_the_region_against_the_catalogue(
    text: str,
    intent: str,
    events: list[Any],
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
    real_catalogue: Catalogue,
) -> None:
    catalogue = CatalogueService.from_catalogue(real_catalogue)
    tracker = make_tracker(
        {"requested_slot": "region"},
        text=text,
        intent=intent,
        active_loop=FORM,
        earlier_intents=["request_advice"],
    )
    assert await extract_profile(catalogue, tracker, domain) == events


async def test_entities_in_typed_text_are_no_answers(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    """DIET may tag "aan het werk" as a goal; only `interpret` reads typed answers."""
    text = "zo snel mogelijk aan het werk"
    catalogue = FakeCatalogue(readings={text: reading({"goal": "tasks"})})
    tracker = make_tracker(
        {"requested_slot": "goal"},
        text=text,
        entities=[{"entity": "goal", "value": "aan het werk"}],
        active_loop=FORM,
    )
    assert await extract_profile(catalogue, tracker, domain) == [SlotSet("goal", "tasks")]


@pytest.mark.parametrize("slot", ["goal", "benefit", "employer", "employer_sbb_recognised"])
def test_a_choice_outside_the_catalogue_is_asked_again(
    slot: str, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    method = getattr(ValidateProfileForm(FakeCatalogue()), f"validate_{slot}")
    assert method("aan het werk", dispatcher, make_tracker(), domain) == {slot: None}
    assert [m["response"] for m in dispatcher.messages] == [f"utter_invalid_{slot}"]
