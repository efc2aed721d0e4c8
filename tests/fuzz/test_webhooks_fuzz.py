"""Webhook handlers: what the Telegram, Slack, WhatsApp, Teams and widget doors parse, and how
they authenticate.

Arbitrary JSON (and JSON shaped like the real payloads, with random values in every field)
never raises in bot/engine/channels/inbound.py, whatsapp_protocol.py, teams_protocol.py or
widget_protocol.py, and what comes out keeps its promises: a sender id only from a private chat
or a real user, a message within the length limit. bot/common/webhook_auth.py accepts a request only
with the right secret or signature, over exactly this body, within five minutes (Slack);
random headers, bodies and timestamps never raise and are never accepted. The Teams
service-URL allow-list accepts only URLs of an allowed origin.
"""

from __future__ import annotations

import json
import re
import string
from typing import Any
from urllib.parse import urlsplit

from hypothesis import assume, example, given
from hypothesis import strategies as st

from bot.common.webhook_auth import (
    SLACK_MAX_AGE_SECONDS,
    derive_secret,
    slack_request_ok,
    slack_signature,
    telegram_request_ok,
    whatsapp_request_ok,
    whatsapp_signature,
)
from bot.engine.channels import inbound, teams_protocol, whatsapp_protocol, widget_protocol
from bot.engine.channels.widget_protocol import (
    MAX_HISTORY_ITEMS,
    MAX_TITLE_CHARS,
    Refusal,
    WidgetMessage,
)
from tests.fuzz.budget import fuzz

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=6,
)
# Any JSON object at all, next to each well-shaped strategy below.
any_object = st.dictionaries(st.text(max_size=10), json_values)


def shaped(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict with some of `fields` (each a strategy for its value), plus random other keys."""
    return st.fixed_dictionaries({}, optional={**fields, "extra": json_values}) | st.dictionaries(
        st.sampled_from(sorted(fields)), json_values, max_size=len(fields)
    )


def sometimes(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The right kind of value, or any JSON value at all."""
    return good | json_values


# ---- Telegram ------------------------------------------------------------------------------------

chat = shaped(
    {
        "id": sometimes(st.integers()),
        "type": sometimes(st.sampled_from(["private", "group", "supergroup", "channel"])),
    }
)
telegram_message = shaped({"chat": sometimes(chat), "text": sometimes(st.text(max_size=40))})
telegram_updates = shaped(
    {
        "update_id": sometimes(st.integers()),
        "message": sometimes(telegram_message),
        "callback_query": sometimes(
            shaped(
                {
                    "id": sometimes(st.text(max_size=10)),
                    "data": sometimes(st.text(max_size=20)),
                    "message": sometimes(telegram_message),
                }
            )
        ),
    }
)


@fuzz(0.5)
@given(telegram_updates | any_object)
def test_telegram_updates_never_raise(update: dict[str, Any]) -> None:
    found = inbound.telegram_inbound(update)
    if found is None:
        return
    assert found.channel == inbound.TELEGRAM
    assert isinstance(update["update_id"], int) and found.delivery_id == str(update["update_id"])
    callback = update.get("callback_query")
    if isinstance(callback, dict) and callback:  # a button press: its data is the message
        message = callback["message"]
        assert found.text == callback["data"]
    else:
        message = update["message"]
    # Only a private chat with a whole-number id speaks, and its replies go back to it.
    assert message["chat"]["type"] == "private"
    chat_id = message["chat"]["id"]
    assert isinstance(chat_id, int) and not isinstance(chat_id, bool)
    assert found.sender_id == f"telegram:{chat_id}"
    assert inbound.reply_address(found.sender_id) == str(chat_id)
    assert isinstance(found.text, str) and found.text.strip()
    json.dumps(found.metadata)


# ---- Slack ---------------------------------------------------------------------------------------

SLACK_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
slack_ids = st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=11)
slack_markup = st.lists(
    st.text(max_size=10)
    | st.builds("<@{}>".format, slack_ids)
    | st.builds("<{}|{}>".format, st.sampled_from(["https://a.nl", "mailto:x@y.nl"]), st.text())
    | st.sampled_from(["<", ">", "|", "<@", "<http", "<https://x|"]),
    max_size=8,
).map("".join)
slack_events = shaped(
    {
        "type": sometimes(st.just("event_callback")),
        "event_id": sometimes(st.text(max_size=10)),
        "event": sometimes(
            shaped(
                {
                    "type": sometimes(st.sampled_from(["message", "app_mention"])),
                    "channel_type": sometimes(st.sampled_from(["im", "channel"])),
                    "user": sometimes(slack_ids),
                    "channel": sometimes(slack_ids),
                    "text": sometimes(slack_markup),
                    "bot_id": json_values,
                    "subtype": json_values,
                }
            )
        ),
    }
)


@fuzz(0.5)
@given(slack_events | any_object)
def test_slack_events_never_raise(envelope: dict[str, Any]) -> None:
    found = inbound.slack_event_inbound(envelope)
    if found is None:
        return
    event = envelope["event"]
    assert envelope["type"] == "event_callback" and found.delivery_id == envelope["event_id"]
    assert not event.get("bot_id") and not event.get("subtype")
    assert found.sender_id == f"slack:{event['user']}:{event['channel']}"
    assert inbound.reply_address(found.sender_id) == event["channel"]
    assert found.text and found.text == " ".join(found.text.split())


slack_clicks = shaped(
    {
        "type": sometimes(st.just("block_actions")),
        "trigger_id": sometimes(st.text(max_size=10)),
        "user": sometimes(shaped({"id": sometimes(slack_ids)})),
        "channel": sometimes(shaped({"id": sometimes(slack_ids)})),
        "actions": sometimes(
            st.lists(
                shaped(
                    {
                        "type": sometimes(st.just("button")),
                        "value": sometimes(st.text(max_size=20)),
                        "action_ts": sometimes(st.text(max_size=10)),
                    }
                ),
                max_size=2,
            )
        ),
    }
)


@fuzz(0.5)
@given(slack_clicks | any_object)
def test_slack_clicks_never_raise(payload: dict[str, Any]) -> None:
    found = inbound.slack_interaction_inbound(payload)
    if found is None:
        return
    assert payload["type"] == "block_actions"
    assert found.delivery_id.startswith("click:")
    assert found.sender_id == f"slack:{payload['user']['id']}:{payload['channel']['id']}"
    assert found.text == payload["actions"][0]["value"] and found.text.strip()


@fuzz(0.5)
@given(slack_markup | st.text())
def test_slack_text_and_reply_address_never_raise(text: str) -> None:
    cleaned = inbound.slack_text(text)
    assert cleaned == " ".join(cleaned.split())
    # No mention of a user (the bot's own among them) is left in the words.
    assert SLACK_MENTION.search(cleaned) is None, cleaned
    address = inbound.reply_address(text)
    assert address is None or (address and ":" not in address)


# ---- WhatsApp ------------------------------------------------------------------------------------

PHONE_NUMBER_ID = "1098765"
wa_ids = st.from_regex(r"[0-9]{6,20}", fullmatch=True)
whatsapp_message = shaped(
    {
        "from": sometimes(wa_ids),
        "id": sometimes(st.text(max_size=12)),
        "timestamp": sometimes(st.integers(0, 2_000_000_000).map(str)),
        "type": sometimes(st.sampled_from(["text", "interactive", "button", "image"])),
        "text": sometimes(shaped({"body": sometimes(st.text(max_size=30))})),
        "interactive": sometimes(
            shaped(
                {
                    "type": sometimes(st.sampled_from(["button_reply", "list_reply", "nfm_reply"])),
                    "button_reply": sometimes(shaped({"id": sometimes(st.text(max_size=20))})),
                    "list_reply": sometimes(shaped({"id": sometimes(st.text(max_size=20))})),
                }
            )
        ),
        "button": sometimes(shaped({"payload": sometimes(st.text(max_size=20))})),
    }
)
whatsapp_payloads = shaped(
    {
        "object": sometimes(st.just("whatsapp_business_account")),
        "entry": sometimes(
            st.lists(
                shaped(
                    {
                        "changes": sometimes(
                            st.lists(
                                shaped(
                                    {
                                        "field": sometimes(st.just("messages")),
                                        "value": sometimes(
                                            shaped(
                                                {
                                                    "metadata": sometimes(
                                                        shaped(
                                                            {
                                                                "phone_number_id": sometimes(
                                                                    st.just(PHONE_NUMBER_ID)
                                                                )
                                                            }
                                                        )
                                                    ),
                                                    "messages": sometimes(
                                                        st.lists(whatsapp_message, max_size=3)
                                                    ),
                                                }
                                            )
                                        ),
                                    }
                                ),
                                max_size=2,
                            )
                        )
                    }
                ),
                max_size=2,
            )
        ),
    }
)


@fuzz(0.5)
@given(whatsapp_payloads | any_object)
def test_whatsapp_payloads_never_raise(payload: dict[str, Any]) -> None:
    now = 1_900_000_000.0
    for found in whatsapp_protocol.whatsapp_messages(payload, PHONE_NUMBER_ID, now):
        assert payload["object"] == "whatsapp_business_account"
        assert found.inbound.channel == inbound.WHATSAPP
        assert found.wa_id.isdigit() and found.inbound.sender_id == f"whatsapp:{found.wa_id}"
        assert found.inbound.text and found.inbound.text == found.inbound.text.strip()
        assert 0 < len(found.inbound.delivery_id) <= 200
        assert found.sent_at <= now
        json.dumps(found.inbound.metadata)


# ---- Teams ---------------------------------------------------------------------------------------

teams_activities = shaped(
    {
        "type": sometimes(st.sampled_from(["message", "conversationUpdate"])),
        "channelId": sometimes(st.sampled_from(["msteams", "webchat"])),
        "id": sometimes(st.text(max_size=12)),
        "serviceUrl": sometimes(st.sampled_from(["https://smba.trafficmanager.net/emea/", ""])),
        "text": sometimes(
            st.text(max_size=40)
            | st.builds("<at>{}</at> {}".format, st.text(max_size=5), st.text(max_size=10))
        ),
        "value": sometimes(shaped({"payload": sometimes(st.text(max_size=20))})),
        "from": sometimes(shaped({"id": sometimes(st.text(max_size=10))})),
        "recipient": sometimes(
            shaped({"id": sometimes(st.text(max_size=10)), "name": json_values})
        ),
        "conversation": sometimes(
            shaped(
                {
                    "id": sometimes(st.text(max_size=12)),
                    "conversationType": sometimes(st.sampled_from(["personal", "groupChat"])),
                    "isGroup": json_values,
                }
            )
        ),
    }
)


@fuzz(0.5)
@given(teams_activities | any_object)
def test_teams_activities_never_raise(activity: dict[str, Any]) -> None:
    found = teams_protocol.teams_message(activity)
    if found is None:
        return
    assert activity["type"] == "message" and activity["channelId"] == "msteams"
    conversation = activity["conversation"]
    assert conversation.get("conversationType", "personal") == "personal"
    assert found.inbound.sender_id == f"teams:{conversation['id']}"
    assert found.address.service_url == activity["serviceUrl"]
    assert found.inbound.text and "<at>" not in found.inbound.text.lower()
    json.dumps(found.address.as_dict())


ALLOWED = ("https://smba.trafficmanager.net", "https://*.botframework.com")
url_parts = st.sampled_from(
    [
        "https://",
        "http://",
        "smba.trafficmanager.net",
        ".botframework.com",
        "eu",
        ":443",
        ":8443",
        "/",
        "@",
        "evil.example",
        "?",
        "#",
        "[",
        "*",
        "%2e",
        "user:pw@",
    ]
)


@fuzz(0.5)
@given(st.lists(url_parts, max_size=8).map("".join) | st.text(max_size=40))
def test_only_allowed_service_urls_pass(url: str) -> None:
    if not teams_protocol.service_url_allowed(url, ALLOWED):
        return
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    assert parts.scheme == "https" and not parts.username and not parts.query
    assert host == "smba.trafficmanager.net" or (
        host.endswith(".botframework.com") and host != ".botframework.com"
    )


# ---- the widget ----------------------------------------------------------------------------------

widget_bodies = shaped(
    {
        "conversation_id": sometimes(st.text(max_size=20)),
        "message": sometimes(
            st.text(max_size=60)
            | st.builds("/{}".format, st.from_regex(r"[A-Za-z_]\w{0,10}", fullmatch=True))
        ),
        "language": sometimes(st.sampled_from(["nl", "en", "de", ""])),
        "title": sometimes(st.text(max_size=200)),
        "silent": json_values,
    }
)


@fuzz(0.5)
@given(widget_bodies | json_values, st.integers(1, 100))
def test_widget_messages_never_raise(body: Any, max_chars: int) -> None:
    parsed = widget_protocol.parse_message(body, max_chars=max_chars)
    if isinstance(parsed, Refusal):
        assert parsed.status in (400, 413)
        json.dumps(parsed.body())
        return
    assert isinstance(parsed, WidgetMessage)
    assert parsed.conversation_id == body["conversation_id"] and parsed.conversation_id
    assert parsed.text and parsed.text == parsed.text.strip()
    assert len(body["message"]) <= max_chars
    assert parsed.language in (*widget_protocol.LANGUAGES, None)
    assert parsed.title is None or 0 < len(parsed.title) <= MAX_TITLE_CHARS
    # Typed text never gets a title, nor is it silent: only a button's payload is.
    if parsed.title or parsed.silent:
        assert widget_protocol.is_payload(parsed.text)
    json.dumps(parsed.metadata())
    switch = widget_protocol.language_switch(parsed, body.get("current"))
    assert switch is None or switch.startswith(widget_protocol.CHOOSE_LANGUAGE)


stored_events = st.lists(
    shaped(
        {
            "event": sometimes(st.sampled_from(["user", "bot", "action", "slot"])),
            "text": sometimes(st.text(max_size=20)),
            "data": sometimes(
                shaped(
                    {
                        "buttons": sometimes(
                            st.lists(
                                shaped({"title": json_values, "payload": json_values}), max_size=3
                            )
                        ),
                        "custom": json_values,
                        "image": json_values,
                    }
                )
            ),
            "metadata": sometimes(
                shaped(
                    {
                        "widget": sometimes(
                            shaped({"silent": json_values, "title": sometimes(st.text())})
                        )
                    }
                )
            ),
        }
    ),
    max_size=8,
)


@fuzz(0.5)
@given(stored_events)
@example([{"event": "bot", "data": "text"}])  # stored data that is no mapping crashed
@example([{"event": "user", "text": "hoi", "metadata": {"widget": "nl"}}])
@example([{"event": "user", "text": "hoi", "metadata": []}])
def test_widget_history_never_raises(events: list[dict[str, Any]]) -> None:
    items = widget_protocol.history(events)
    assert len(items) <= MAX_HISTORY_ITEMS
    for item in items:
        assert item["sender"] in ("user", "bot") and len(item) > 1
    users = [e for e in events if e.get("event") == "user"]
    assert sum(item["sender"] == "user" for item in items) <= len(users)
    slots = events[0] if events else {}
    assert widget_protocol.language_of(slots) in widget_protocol.LANGUAGES


# ---- authentication ------------------------------------------------------------------------------

# A float, as time.time() gives: int - float arithmetic is where huge timestamps overflowed.
NOW = 1_790_000_000.0
secrets = st.text(string.ascii_letters + string.digits, min_size=1, max_size=64)
headers = st.none() | st.text(max_size=80)
timestamps = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(int(NOW) - 1_000, int(NOW) + 1_000).map(str),
    st.integers().map(str),
    st.text(string.digits, min_size=300, max_size=5_000),
    st.sampled_from([" 1790000000 ", "+1790000000", "1_790_000_000", "١٧٩٠٠٠٠٠٠٠", "nan", "1e9"]),
)


@fuzz()
@given(secrets, headers)
def test_telegram_secret_only_accepts_the_secret(secret: str, header: str | None) -> None:
    assert telegram_request_ok(header, secret) is (header == secret)
    assert telegram_request_ok(header, "") is False
    assert telegram_request_ok(secret, secret) is True


@fuzz()
@given(secrets, timestamps, headers, st.binary(max_size=200))
@example("s", "1" * 400, "v0=abc", b"")  # a timestamp no float holds raised OverflowError
def test_slack_random_signatures_are_refused(
    secret: str, timestamp: str | None, signature: str | None, body: bytes
) -> None:
    expected = slack_signature(secret, (timestamp or "").strip(), body)
    assume(signature != expected)
    assert slack_request_ok(secret, timestamp, signature, body, now=NOW) is False


@fuzz()
@given(secrets, st.integers(-2 * SLACK_MAX_AGE_SECONDS, 2 * SLACK_MAX_AGE_SECONDS), st.binary())
def test_slack_signed_requests_only_when_fresh_and_untouched(
    secret: str, age: int, body: bytes
) -> None:
    timestamp = str(int(NOW) - age)
    signature = slack_signature(secret, timestamp, body)
    fresh = abs(age) <= SLACK_MAX_AGE_SECONDS
    assert slack_request_ok(secret, timestamp, signature, body, now=NOW) is fresh
    # Another body, another secret or another timestamp: refused.
    assert slack_request_ok(secret, timestamp, signature, body + b" ", now=NOW) is False
    assert slack_request_ok(secret + "x", timestamp, signature, body, now=NOW) is False
    assert slack_request_ok(secret, str(int(NOW) - age + 1), signature, body, now=NOW) is False
    assert slack_request_ok("", timestamp, signature, body, now=NOW) is False


@fuzz(0.25)
@given(st.text(max_size=40), st.text(max_size=40))
def test_derived_secrets_fit_telegram(key: str, purpose: str) -> None:
    secret = derive_secret(key, purpose)
    assert len(secret) == 64 and set(secret) <= set(string.hexdigits.lower())


@fuzz(0.5)
@given(secrets, headers, st.binary(max_size=200))
def test_whatsapp_random_signatures_are_refused(
    secret: str, header: str | None, body: bytes
) -> None:
    assume(header is None or header.strip().lower() != whatsapp_signature(secret, body))
    assert whatsapp_request_ok(secret, header, body) is False
    assert whatsapp_request_ok(secret, whatsapp_signature(secret, body), body) is True
    assert whatsapp_request_ok(secret, whatsapp_signature(secret, body), body + b"x") is False
