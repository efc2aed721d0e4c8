"""The widget in real headless Chromium on the demo page, against the running stack.

Each test opens its own browser context (its own localStorage, so its own conversation).
Screenshots go to test-output/screenshots/ (tests/browser.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.browser import screenshot_path
from tests.stack import PRIVACY_URL, Stack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# Turns wait for the engine; on a busy 2-core machine that can take a while.
TURN_TIMEOUT_MS = 90_000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def nl() -> dict[str, dict[str, Any]]:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return {
        name: next(v for v in variants if "condition" not in v)
        for name, variants in domain["responses"].items()
    }


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    expect.set_options(timeout=TURN_TIMEOUT_MS)
    yield
    expect.set_options(timeout=5_000)


def new_page(browser: Browser, viewport: dict[str, int] = DESKTOP) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(TURN_TIMEOUT_MS)
    context.errors = errors  # type: ignore[attr-defined]
    return context, page


def open_and_accept(page: Page, stack: Stack) -> None:
    page.goto(stack.web_url + "/")
    page.get_by_role("button", name="Chat met Zijwijzer").click()
    privacy = page.locator(".zw-privacy")
    expect(privacy).to_be_visible()
    expect(privacy).to_contain_text("verwijder mijn gesprek")
    expect(privacy).to_contain_text(f"{stack.settings.retention_days} dagen")
    expect(privacy).to_contain_text("BSN")
    expect(privacy).to_contain_text("Zijwijzer is een chatbot")
    # The privacy statement of the organisation that runs the bot, opened in a new tab.
    statement = privacy.get_by_role("link", name="Lees de privacyverklaring")
    expect(statement).to_have_attribute("href", PRIVACY_URL)
    expect(statement).to_have_attribute("target", "_blank")
    expect(page.locator(".zw-input")).to_be_disabled()
    page.get_by_role("button", name="Akkoord, start de chat").click()
    expect(privacy).to_be_hidden()
    expect(page.locator(".zw-input")).to_be_enabled()


def bot_messages(page: Page) -> Any:
    return page.locator(".zw-message.zw-bot")


def type_and_send(page: Page, text: str) -> None:
    field = page.locator(".zw-input")
    expect(page.locator(".zw-send")).to_be_enabled()
    field.fill(text)
    field.press("Enter")


def expect_last_bot(page: Page, text: str) -> None:
    expect(page.locator(".zw-typing")).to_be_hidden()
    expect(bot_messages(page).last.locator(".zw-text").last).to_have_text(
        re.compile(re.escape(text.split("{")[0].strip()))
    )


def storage(page: Page) -> dict[str, Any]:
    raw = page.evaluate("() => localStorage.getItem('zijwijzer.widget.conversation')")
    return json.loads(raw) if raw else {}


def test_intake_to_advice_history_and_new_conversation(
    browser: Browser, stack: Stack, nl: dict[str, dict[str, Any]]
) -> None:
    context, page = new_page(browser)
    open_and_accept(page, stack)
    expect_last_bot(page, nl["utter_greet"]["text"])
    greeting = bot_messages(page).first  # a locator: `.last` would move on
    expect(greeting.locator(".zw-quick")).to_have_count(3)
    page.screenshot(path=screenshot_path("widget-greeting-1280x800"))

    greeting.get_by_role("button", name="Ja, graag").click()
    expect(page.locator(".zw-message.zw-user").last).to_have_text(re.compile("Ja, graag"))
    expect_last_bot(page, nl["utter_ask_sector"]["text"])
    # Pressed buttons cannot be pressed again.
    expect(greeting.get_by_role("button", name="Ja, graag")).to_be_disabled()

    bot_messages(page).last.get_by_role("button", name="Ouderenzorg").click()
    expect_last_bot(page, nl["utter_ask_goal"]["text"])
    bot_messages(page).last.get_by_role("button", name="Snel aan het werk").click()
    expect_last_bot(page, nl["utter_ask_target"]["text"])
    type_and_send(page, "weet ik nog niet")
    expect_last_bot(page, nl["utter_ask_age"]["text"])
    type_and_send(page, "achtendertig")
    expect_last_bot(page, nl["utter_ask_education"]["text"])
    type_and_send(
        page, "havo. Ik heb nog geen werkgever, 24 uur, geen uitkering, ik woon in Utrecht"
    )
    expect_last_bot(page, nl["utter_ask_care_qualifications"]["text"])
    type_and_send(page, "nee")
    expect_last_bot(page, nl["utter_ask_care_experience_years"]["text"])

    with page.expect_response(re.compile(r"/webhooks/widget/webhook$")) as answer:
        type_and_send(page, "0")
    replies = answer.value.json()
    expect(page.locator(".zw-typing")).to_be_hidden()
    intro = nl["utter_advice_plan_card"]["text"].split("{")[0].strip()
    expect(page.locator(".zw-bot .zw-text").filter(has_text=intro)).to_have_count(1)
    customs = [r["custom"] for r in replies if isinstance(r.get("custom"), dict)]
    advice = [c for c in customs if c.get("type") == "advice"]
    assert len(advice) == 1
    # The plan's card (catalogue/plan_view.py): every step drawn, in order, the first step
    # with its contact.
    payload = advice[0]
    assert payload["steps"], "every plan has steps"
    steps = page.locator(".zw-plan .zw-step")
    expect(steps).to_have_count(len(payload["steps"]))
    for index, step in enumerate(payload["steps"]):
        expect(steps.nth(index).locator(".zw-step-title")).to_have_text(step["title"])
    expect(page.locator(".zw-plan .zw-contact")).to_have_text(f"Met wie: {payload['contact']}")
    page.locator(".zw-more summary").click()
    expect(page.locator(".zw-more li").first).to_be_visible()
    save_links = page.get_by_role("link", name="Bewaar mijn advies")
    if payload.get("link"):
        expect(save_links).to_have_attribute("href", payload["link"])
    else:
        expect(save_links).to_have_count(0)
    page.screenshot(path=screenshot_path("widget-advice-1280x800"))

    # A reload shows the whole conversation again, without the privacy notice.
    before = page.locator(".zw-message").count()
    user_before = page.locator(".zw-user .zw-bubble").all_inner_texts()
    conversation = storage(page)
    page.reload()
    expect(page.locator(".zw-panel")).to_be_visible()
    expect(page.locator(".zw-message")).to_have_count(before)
    assert page.locator(".zw-user .zw-bubble").all_inner_texts() == user_before
    assert user_before[0] == "Ja, graag" and "Ouderenzorg" in user_before
    expect(page.locator(".zw-privacy")).to_be_hidden()
    assert storage(page) == conversation

    # "Nieuw gesprek": a new, empty conversation that starts with the greeting.
    page.get_by_role("button", name="Nieuw gesprek").click()
    expect_last_bot(page, nl["utter_greet"]["text"])
    expect(page.locator(".zw-message")).to_have_count(1)
    assert storage(page)["conversation_id"] != conversation["conversation_id"]
    assert context.errors == []  # type: ignore[attr-defined]
    context.close()


def _focused_class(page: Page) -> str:
    result: str = page.evaluate(
        "() => { const h = document.getElementById('zijwijzer-widget');"
        " const a = h && h.shadowRoot && h.shadowRoot.activeElement;"
        " return a ? a.className : ''; }"
    )
    return result


def _focus_outline(page: Page) -> str:
    result: str = page.evaluate(
        "() => { const a = document.getElementById('zijwijzer-widget').shadowRoot.activeElement;"
        " const s = getComputedStyle(a); return s.outlineStyle + ' ' + s.outlineWidth; }"
    )
    return result


def _tab_to(page: Page, css_class: str, key: str = "Tab", limit: int = 30) -> None:
    for _ in range(limit):
        if css_class in _focused_class(page).split():
            return
        page.keyboard.press(key)
    raise AssertionError(f"never reached .{css_class} with {key}; at {_focused_class(page)!r}")


def test_keyboard_only(browser: Browser, stack: Stack, nl: dict[str, dict[str, Any]]) -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    english = {
        name: next(
            v
            for v in variants
            if v.get("condition") == [{"type": "slot", "name": "language", "value": "en"}]
        )
        for name, variants in domain["responses"].items()
        if name == "utter_language_set"
    }
    context, page = new_page(browser)
    page.goto(stack.web_url + "/")
    _tab_to(page, "zw-launcher")
    assert _focus_outline(page).startswith("solid")
    page.keyboard.press("Enter")
    # Opening moves the focus into the panel: to the privacy notice's title, so it is read
    # (and shown) from its top; its button is the next stop after the statement's link.
    assert "zw-privacy-title" in _focused_class(page)
    _tab_to(page, "zw-accept")
    assert _focus_outline(page).startswith("solid")
    page.keyboard.press("Enter")
    assert "zw-input" in _focused_class(page)
    expect_last_bot(page, nl["utter_greet"]["text"])

    # Back from the input to the quick replies, then press the first one.
    _tab_to(page, "zw-quick", key="Shift+Tab")
    for _ in range(2):
        page.keyboard.press("Shift+Tab")
    assert (
        page.evaluate(
            "() => document.getElementById('zijwijzer-widget').shadowRoot.activeElement.textContent"
        )
        == nl["utter_greet"]["buttons"][0]["title"]
    )
    page.keyboard.press("Enter")
    expect_last_bot(page, nl["utter_ask_sector"]["text"])
    assert "zw-input" in _focused_class(page)
    page.keyboard.type("ouderenzorg")
    page.keyboard.press("Enter")
    expect_last_bot(page, nl["utter_ask_goal"]["text"])

    # The language switch: the widget's own texts and the bot's answer in English.
    _tab_to(page, "zw-language", key="Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".zw-restart")).to_have_text("New conversation")
    expect(page.locator(".zw-message.zw-user").last).to_have_text(re.compile("English"))
    expect(page.locator(".zw-typing")).to_be_hidden()
    expect(bot_messages(page).filter(has_text=english["utter_language_set"]["text"])).to_have_count(
        1
    )

    # Escape closes the panel and gives the focus back to the launcher.
    page.keyboard.press("Escape")
    expect(page.locator(".zw-panel")).to_be_hidden()
    assert "zw-launcher" in _focused_class(page)
    expect(page.locator(".zw-launcher")).to_have_text("Chat with Zijwijzer")
    assert context.errors == []  # type: ignore[attr-defined]
    context.close()


def test_server_down_keeps_the_message_and_retries(
    browser: Browser, stack: Stack, nl: dict[str, dict[str, Any]]
) -> None:
    context, page = new_page(browser, PHONE)
    open_and_accept(page, stack)
    expect_last_bot(page, nl["utter_greet"]["text"])

    page.route(re.compile(r"/webhooks/widget/webhook$"), lambda route: route.abort())
    type_and_send(page, "ik wil graag advies")
    error = page.get_by_role("alert")
    expect(error).to_be_visible()
    expect(error).to_contain_text("niet verloren")
    expect(page.locator(".zw-input")).to_have_value("ik wil graag advies")
    retry = page.get_by_role("button", name="Opnieuw proberen")
    expect(retry).to_be_focused()
    expect(page.locator(".zw-message.zw-user")).to_have_count(0)
    # Nothing was answered, so the greeting's buttons still work.
    expect(bot_messages(page).first.get_by_role("button", name="Ja, graag")).to_be_enabled()
    page.screenshot(path=screenshot_path("widget-error-360x740"))

    page.unroute(re.compile(r"/webhooks/widget/webhook$"))
    retry.click()
    expect(error).to_be_hidden()
    expect_last_bot(page, nl["utter_ask_sector"]["text"])
    expect(page.locator(".zw-message.zw-user")).to_have_count(1)
    expect(page.locator(".zw-input")).to_have_value("")
    page.screenshot(path=screenshot_path("widget-chat-360x740"))
    # Nothing sticks out at 360 px.
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    context.close()


# A reply in the shape of the plan's card (catalogue/plan_view.py), with hostile strings where
# text goes.
HOSTILE = "<img src=x onerror=alert(1)>"
SAMPLE_PLAN: dict[str, Any] = {
    "type": "advice",
    "format": "zijwijzer-plan/1",
    "language": "nl",
    "target": {"title": f"VIG {HOSTILE}", "level": 3, "kind": "mbo", "proposed": True},
    "contact": f"een zorgorganisatie {HOSTILE}",
    "first_step": 2,
    "steps": [
        {
            "number": 1,
            "kind": "target",
            "title": f"Doel {HOSTILE}",
            "text": "Word VIG.",
            "marks": [],
        },
        {
            "number": 2,
            "kind": "first_step",
            "title": "Deze maand: zoek een werkgever",
            "text": "Vraag naar BBL en de derde leerweg.",
            "marks": [[11, 14, "word-1"], [22, 35, "word-9"], [99, 120, "word-1"], ["x", 1, 2]],
        },
        {"number": 3, "kind": "learn", "title": "Eerst: ADL", "text": "Zo kun je **snel** werken."},
    ],
    "more": {
        "alternatives": [{"title": "BBL", "text": "Werken en leren.", "certain": True}],
        "why": [{"title": None, "text": f"Omdat {HOSTILE}.", "certain": False}],
        "not_possible": "not a list",
        "notices": [{"text": "Let op de kosten."}],
    },
    "words": [{"anchor": "word-1", "title": "BBL: werken en leren", "text": "Uitleg van BBL."}],
    "link": "http://127.0.0.1:1/advies/abc123",
    "link_until": "6 januari 2027",
}
SAMPLE_TEXT = (
    "Hier is je advies:\n- **eerst** dit\n- *dan* dat\n\n"
    "Zie [de site](https://example.org) of [x](javascript:alert(1))."
)


def test_the_plan_and_markdown_from_the_contract(browser: Browser, stack: Stack) -> None:
    context, page = new_page(browser, PHONE)

    def fake(route: Route) -> None:
        body = route.request.post_data_json or {}
        if body.get("message") == "toon voorbeeld":
            route.fulfill(
                status=200,
                content_type="application/json",
                headers={"Access-Control-Allow-Origin": "*"},
                body=json.dumps([{"text": SAMPLE_TEXT}, {"custom": SAMPLE_PLAN}]),
            )
        else:
            route.continue_()

    open_and_accept(page, stack)
    expect(page.locator(".zw-typing")).to_be_hidden()
    expect(bot_messages(page)).to_have_count(1)
    page.route(re.compile(r"/webhooks/widget/webhook$"), fake)
    type_and_send(page, "toon voorbeeld")
    plan = page.locator(".zw-plan")
    expect(plan).to_be_visible()

    text = bot_messages(page).nth(1).locator(".zw-text")
    expect(text.locator("li")).to_have_count(2)
    expect(text.locator("strong")).to_have_text("eerst")
    expect(text.locator("em")).to_have_text("dan")
    expect(text.locator("a")).to_have_count(1)
    expect(text.locator("a")).to_have_attribute("href", "https://example.org")
    expect(text).to_contain_text("x")  # the javascript: link stays plain text

    steps = plan.locator(".zw-step")
    expect(steps).to_have_count(3)
    # Everything is text: no element from a string, no markdown inside the plan.
    expect(steps.first.locator(".zw-step-title")).to_have_text(f"Doel {HOSTILE}")
    expect(plan.locator("img")).to_have_count(0)
    expect(plan.locator(".zw-contact")).to_have_text(f"Met wie: een zorgorganisatie {HOSTILE}")
    expect(steps.nth(2).locator(".zw-step-text")).to_have_text("Zo kun je **snel** werken.")
    # A mark with an explanation is a button; one without, or out of the text, is plain text.
    first = steps.nth(1)
    first.locator("summary").click()
    expect(first.locator(".zw-step-text")).to_have_text("Vraag naar BBL en de derde leerweg.")
    expect(first.locator("button.zw-word")).to_have_count(1)
    first.locator("button.zw-word").click()
    more = plan.locator(".zw-more")
    expect(more).to_have_attribute("open", "")
    expect(more).to_contain_text("Uitleg van BBL.")
    expect(more).to_contain_text("Let op de kosten.")
    expect(more.locator(".zw-uncertain")).to_have_count(1)
    save = page.get_by_role("link", name="Bewaar mijn advies")
    expect(save).to_have_attribute("href", SAMPLE_PLAN["link"])
    expect(plan).to_contain_text("De link werkt tot 6 januari 2027.")
    page.screenshot(path=screenshot_path("widget-plan-contract-360x740"), full_page=False)
    assert context.errors == []  # type: ignore[attr-defined]
    context.close()


def test_markup_in_a_message_stays_text_under_the_policy(browser: Browser, stack: Stack) -> None:
    """What a person types is drawn with textContent: no element, no script, no dialog; and
    the demo page's Content-Security-Policy blocks nothing the widget needs."""
    context, page = new_page(browser)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    open_and_accept(page, stack)
    expect(page.locator(".zw-typing")).to_be_hidden()
    markup = "<img src=x onerror=alert(1)><script>alert(2)</script> 👩\u200d⚕️ \u202eabc"
    type_and_send(page, markup)
    mine = page.locator(".zw-message.zw-user").last
    expect(mine).to_contain_text("<img src=x onerror=alert(1)><script>alert(2)</script>")
    expect(page.locator(".zw-typing")).to_be_hidden()
    assert markup in mine.evaluate("node => node.textContent")
    expect(page.locator(".zw-message img")).to_have_count(0)
    expect(page.locator(".zw-message script")).to_have_count(0)
    assert dialogs == []
    assert violations == []
    assert context.errors == []  # type: ignore[attr-defined]
    context.close()


def test_a_plan_in_english_labels_the_card_in_english(browser: Browser, stack: Stack) -> None:
    # Tried as a newcomer: "Can we talk in English?" switched the conversation, not the
    # widget, and the English plan came with "Jouw plan" and "Met wie:".
    context, page = new_page(browser, PHONE)

    def fake(route: Route) -> None:
        english = {**SAMPLE_PLAN, "language": "en"}
        route.fulfill(
            status=200,
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": "*"},
            body=json.dumps([{"text": "This is your plan."}, {"custom": english}]),
        )

    open_and_accept(page, stack)
    expect(page.locator(".zw-typing")).to_be_hidden()
    page.route(re.compile(r"/webhooks/widget/webhook$"), fake)
    type_and_send(page, "can we talk in English?")
    plan = page.locator(".zw-plan")
    expect(plan).to_have_attribute("aria-label", "Your plan")
    expect(plan.locator(".zw-contact")).to_have_text(re.compile(r"^Who with: "))
    expect(page.locator(".zw-input")).to_have_attribute("placeholder", re.compile("^Type"))
    context.close()
