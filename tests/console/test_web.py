"""The console's pages and actions through FastAPI's TestClient, on seeded temp databases."""

from __future__ import annotations

import re

import pytest
import yaml
from sqlalchemy import create_engine, func, select

from bot.app.console.models import AuditEntry, IntentMark, StaffSession, StaffUser
from bot.app.tracker_events import events
from tests.console.conftest import PASSWORD, Console

PAGES = [
    "/console/conversations",
    "/console/conversations/1",
    "/console/conversations/1/story.yml",
    "/console/export/nlu.yml",
    "/console/export/stories.yml",
    "/console/handoffs",
    "/console/dashboard",
    "/console/admin/users",
    "/console/admin/audit",
]
POSTS = [
    "/console/logout",
    "/console/conversations/1/tags",
    "/console/conversations/1/tags/remove",
    "/console/conversations/1/notes",
    "/console/conversations/1/review",
    "/console/conversations/1/marks",
    "/console/conversations/1/erase",
    "/console/handoffs/1/assign",
    "/console/admin/users",
    "/console/admin/users/1/unlock",
]


def listed(html: str) -> list[int]:
    return sorted(int(pk) for pk in re.findall(r'href="/console/conversations/(\d+)"', html))


def test_anonymous_is_refused_everywhere(console: Console) -> None:
    console.login("anna")  # builds the index, so the ids exist
    console.client.cookies.clear()
    for path in PAGES:
        response = console.client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/console/login"
    for path in POSTS:
        response = console.client.post(path, data={"csrf_token": "x"}, follow_redirects=False)
        assert response.status_code == 401, path


def test_forged_cookie_is_refused(console: Console) -> None:
    console.client.cookies.set("zw_console", "abc.def", path="/console")
    response = console.client.get("/console/conversations", follow_redirects=False)
    assert response.status_code == 303


def test_login_sets_a_strict_httponly_cookie_and_logout_ends_the_session(
    console: Console,
) -> None:
    page = console.client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = console.client.post(
        "/console/login",
        data={"username": "rob", "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=" in cookie
    assert "Secure" in cookie  # even though public_url is http here
    assert console.client.get("/console/conversations").status_code == 200
    stolen = console.client.cookies.get("zw_console")
    console.client.post("/console/logout", data={"csrf_token": console.csrf()})
    # The old cookie no longer works anywhere: the session is gone from the database.
    console.client.cookies.set("zw_console", stolen or "", path="/console")
    response = console.client.get("/console/conversations", follow_redirects=False)
    assert response.status_code == 303
    with console.database.session() as session:
        assert session.scalar(select(func.count()).select_from(StaffSession)) == 0


def test_login_form_needs_its_csrf_token(console: Console) -> None:
    console.client.get("/console/login")
    response = console.client.post(
        "/console/login",
        data={"username": "rob", "password": PASSWORD, "csrf_token": "wrong"},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_every_cookie_is_secure_httponly_and_strict(console: Console) -> None:
    """Also while public_url is http (as in this fixture): no cookie depends on the setting."""
    assert console.settings.public_url.startswith("http://")
    set_cookies = console.client.get("/console/login").headers.get_list("set-cookie")
    console.login("rob")
    set_cookies += console.client.get("/console/lang/en", follow_redirects=False).headers.get_list(
        "set-cookie"
    )
    logout = console.client.post(
        "/console/logout", data={"csrf_token": console.csrf()}, follow_redirects=False
    )
    set_cookies += logout.headers.get_list("set-cookie")
    names = {cookie.split("=", 1)[0] for cookie in set_cookies}
    assert names == {"zw_console_login", "zw_console_lang", "zw_console"}
    for cookie in set_cookies:
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"secure", "httponly", "samesite"} <= attributes, cookie
        assert "samesite=strict" in cookie.lower(), cookie


def test_passwords_are_argon2_hashes(console: Console) -> None:
    with console.database.session() as session:
        hashes = list(session.scalars(select(StaffUser.password_hash)))
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert all(PASSWORD not in h for h in hashes)


def test_lockout_after_five_failures_without_revealing_anything(console: Console) -> None:
    def attempt(username: str, password: str) -> tuple[int, str]:
        token = re.search(
            r'name="csrf_token" value="([^"]+)"', console.client.get("/console/login").text
        )
        assert token
        response = console.client.post(
            "/console/login",
            data={"username": username, "password": password, "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        # The page without its fresh CSRF token, to compare pages.
        return response.status_code, re.sub(r'value="[^"]{40,}"', "", response.text)

    failures = [attempt("rob", "wrong password!") for _ in range(5)]
    unknown = attempt("nobody", "wrong password!")
    assert all(status == 401 for status, _ in failures)
    # The same page for a wrong password and a name that does not exist.
    assert failures[0][1] == unknown[1]
    # Locked now: even the right password fails, with the same message.
    status, text = attempt("rob", PASSWORD)
    assert status == 401 and text == unknown[1]
    with console.database.session() as session:
        rob = session.scalar(select(StaffUser).where(StaffUser.username == "rob"))
        assert rob is not None and rob.locked_until is not None
    # Another account is not affected.
    assert attempt("anna", PASSWORD)[0] == 303


def test_admin_unlocks_and_reviewer_may_not(console: Console) -> None:
    with console.database.session() as session:
        rob = session.scalar(select(StaffUser).where(StaffUser.username == "rob"))
        assert rob is not None
        rob_id = rob.id
    console.login("rob")
    csrf = console.csrf()
    for path in (
        f"/console/admin/users/{rob_id}/unlock",
        "/console/admin/users",
        "/console/conversations/1/erase",
    ):
        assert console.client.post(path, data={"csrf_token": csrf}).status_code == 403, path
    for path in ("/console/admin/users", "/console/admin/audit"):
        assert console.client.get(path).status_code == 403, path


def test_csrf_is_enforced_on_every_action(console: Console) -> None:
    console.login("anna")
    pk = console.pk("alpha")
    for path in (
        f"/console/conversations/{pk}/tags",
        f"/console/conversations/{pk}/notes",
        f"/console/conversations/{pk}/review",
        f"/console/conversations/{pk}/marks",
        f"/console/conversations/{pk}/erase",
        "/console/admin/users",
        "/console/logout",
    ):
        assert console.client.post(path, data={"tag": "x"}).status_code == 403, path
        response = console.client.post(path, data={"tag": "x", "csrf_token": "forged"})
        assert response.status_code == 403, path
    # Nothing happened: still logged in, no tag.
    page = console.client.get(f"/console/conversations/{pk}")
    assert page.status_code == 200 and 'class="tag">x<' not in page.text


def test_list_and_filters(console: Console) -> None:
    console.login("rob")
    c = console.client
    all_pks = listed(c.get("/console/conversations").text)
    assert len(all_pks) == 5
    pk = {name: console.pk(name) for name in ("alpha", "bravo", "charlie", "delta", "echo")}
    cases = {
        "channel=widget": {"alpha", "delta"},
        "language=en": {"bravo"},
        "outcome=handoff": {"bravo"},
        "outcome=abandoned": {"charlie", "delta"},
        "outcome=advice": {"alpha", "echo"},
        "min_fallbacks=2": {"charlie", "echo"},
        "confidence_below=0.3": {"charlie"},
        "date_from=2026-11-17&date_to=2026-11-18": {"charlie", "delta"},
        "q=thuiszorg": {"charlie"},
        "q=thuis": {"charlie"},
        "q=kost+bbl": {"echo"},
        "q=request_human": {"bravo"},
        "channel=widget&outcome=abandoned": {"delta"},
    }
    for query, names in cases.items():
        found = listed(c.get(f"/console/conversations?{query}").text)
        assert found == sorted(pk[n] for n in names), query


@pytest.mark.parametrize(
    "hostile", ["' OR 1=1 --", "%", "_", '"', "'", "\\", "thuis*", "a OR b", "NEAR(x y)", "é"]
)
def test_search_and_filters_are_safe_against_injection(console: Console, hostile: str) -> None:
    console.login("rob")
    for field in ("q", "channel", "language", "tag", "outcome", "min_fallbacks", "date_from"):
        response = console.client.get("/console/conversations", params={field: hostile})
        assert response.status_code == 200, (field, hostile)
        found = listed(response.text)
        if field == "q":
            # Only conversations that really contain the words; punctuation alone finds none.
            # "é" is a word prefix too, without its accent: "english please" in bravo.
            expected = {
                "' OR 1=1 --": [],
                "thuis*": [console.pk("charlie")],
                "é": [console.pk("bravo")],
            }
            assert found == expected.get(hostile, []), hostile
        elif field in ("min_fallbacks", "date_from", "outcome"):
            assert len(found) == 5  # invalid values are ignored
        else:
            assert found == []  # no such channel, language or tag


def test_search_finds_percent_and_underscore_literally_as_words(console: Console) -> None:
    console.login("rob")
    delta = console.pk("delta")
    assert listed(console.client.get("/console/conversations?q=100%25").text) == [delta]
    assert listed(console.client.get("/console/conversations?q=zeker_niet").text) == [delta]


def test_pagination_by_keyset(console: Console) -> None:
    from bot.app.console import web

    console.login("rob")
    original = web.index.PAGE_SIZE
    web.index.PAGE_SIZE = 2
    try:
        seen: list[int] = []
        url = "/console/conversations"
        while url:
            page = console.client.get(url).text
            seen += listed(page)
            following = re.search(
                r'href="(/console/conversations\?[^"]*after=[^"]+)" rel="next"', page
            )
            url = following.group(1).replace("&amp;", "&") if following else ""
    finally:
        web.index.PAGE_SIZE = original
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 5


def test_transcript_view_is_audited_and_escaped(console: Console) -> None:
    console.login("rob")
    pk = console.pk("delta")
    page = console.client.get(f"/console/conversations/{pk}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text
    assert "Content-Security-Policy" in page.headers
    advice_page = console.client.get(f"/console/conversations/{console.pk('alpha')}")
    text = advice_page.text
    assert "Derde leerweg" in text and "greet" in text and "0.97" in text
    assert "open_question" in text and "action_converse" in text
    # A plan is shown as the plan: goal, who with, the numbered steps; never its link.
    plan_page = console.client.get(f"/console/conversations/{console.pk('echo')}").text
    assert "Gegeven plan" in plan_page and "Helpende Zorg en Welzijn (mbo 2)" in plan_page
    assert "Met wie:</strong> een zorgorganisatie in jouw regio" in plan_page
    assert "Zoek een werkgever die je opleidt" in plan_page and "eerste stap" in plan_page
    assert "secret-token" not in plan_page
    with console.database.session() as session:
        views = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "view_conversation")
        ).all()
    assert [(v.username, v.conversation_id) for v in views] == [
        ("rob", "delta"),
        ("rob", "alpha"),
        ("rob", "echo"),
    ]


def test_tags_notes_and_review_flag(console: Console) -> None:
    console.login("rob")
    pk = console.pk("charlie")
    csrf = console.csrf()
    c = console.client
    c.post(f"/console/conversations/{pk}/tags", data={"tag": "Slechte NLU", "csrf_token": csrf})
    c.post(f"/console/conversations/{pk}/notes", data={"text": "<b>kijk</b>", "csrf_token": csrf})
    c.post(f"/console/conversations/{pk}/review", data={"needs_review": "1", "csrf_token": csrf})
    page = c.get(f"/console/conversations/{pk}").text
    assert 'class="tag">slechte nlu<' in page and "&lt;b&gt;kijk&lt;/b&gt;" in page
    assert listed(c.get("/console/conversations?tag=slechte+nlu").text) == [pk]
    assert listed(c.get("/console/conversations?needs_review=1").text) == [pk]
    c.post(
        f"/console/conversations/{pk}/tags/remove", data={"tag": "slechte nlu", "csrf_token": csrf}
    )
    assert listed(c.get("/console/conversations?tag=slechte+nlu").text) == []


def _first_user_event(console: Console, name: str) -> int:
    page = console.client.get(f"/console/conversations/{console.pk(name)}").text
    found = re.search(r'<li class="user" id="e(\d+)">', page)
    assert found
    return int(found.group(1))


def test_marked_intent_is_exported_as_nlu_yaml(console: Console) -> None:
    console.login("rob")
    pk = console.pk("charlie")
    event_id = _first_user_event(console, "charlie")
    csrf = console.csrf()
    response = console.client.post(
        f"/console/conversations/{pk}/marks",
        data={"event_id": str(event_id), "intent": "inform", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    bad = console.client.post(
        f"/console/conversations/{pk}/marks",
        data={"event_id": str(event_id), "intent": "not_an_intent", "csrf_token": csrf},
    )
    assert bad.status_code == 400
    export = console.client.get("/console/export/nlu.yml")
    assert export.status_code == 200
    assert "attachment" in export.headers["content-disposition"]
    document = yaml.safe_load(export.text)
    assert document["version"] == "3.1"
    [block] = document["nlu"]
    assert block["intent"] == "inform"
    assert block["examples"].strip() == "- ik werk in de thuiszorg"
    with console.database.session() as session:
        mark = session.scalar(select(IntentMark))
        assert mark is not None and mark.predicted_intent == "greet"


def test_story_export_is_a_valid_test_story(console: Console) -> None:
    console.login("rob")
    pk = console.pk("bravo")
    response = console.client.get(f"/console/conversations/{pk}/story.yml")
    assert response.status_code == 200
    document = yaml.safe_load(response.text)
    assert document["version"] == "3.1"
    [story] = document["stories"]
    steps = story["steps"]
    assert steps[0] == {"user": "hello there", "intent": "greet"}
    assert {"action": "utter_greet"} in steps
    assert {"user": 'ik ben [38]{"entity": "number"}', "intent": "inform"} in steps
    assert {"intent": "inform", "entities": [{"sector": "vvt"}]} in steps
    assert {"slot_was_set": [{"open_question": "handoff_consent"}]} in steps
    assert steps.count({"action": "action_converse"}) >= 10
    assert all(
        set(step) <= {"user", "intent", "entities", "action", "slot_was_set", "active_loop"}
        for step in steps
    )
    assert all(step.get("action") != "action_listen" for step in steps)
    stories = console.client.get("/console/export/stories.yml?outcome=abandoned")
    assert len(yaml.safe_load(stories.text)["stories"]) == 2


def test_dashboard_draws_svg_charts(console: Console) -> None:
    console.login("rob")
    page = console.client.get("/console/dashboard?date_from=2026-11-01&date_to=2026-11-23")
    assert page.status_code == 200
    assert page.text.count("<svg") == 3
    assert "<strong>5</strong>" in page.text  # conversations
    assert "40.0%" in page.text  # 2 of 5 with advice, 2 of 5 abandoned
    assert "employer" in page.text and "education" in page.text  # drop-off questions
    assert "request_advice" in page.text  # top intents


def _tracker_events(console: Console, conversation_id: str) -> int:
    engine = create_engine(console.tracker_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count())
                    .select_from(events)
                    .where(events.c.sender_id == conversation_id)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_admin_erases_a_conversation(console: Console) -> None:
    assert _tracker_events(console, "echo") > 0
    others = _tracker_events(console, "alpha")
    console.login("anna")
    pk = console.pk("echo")
    csrf = console.csrf()
    console.client.post(
        f"/console/conversations/{pk}/tags", data={"tag": "weg", "csrf_token": csrf}
    )
    response = console.client.post(
        f"/console/conversations/{pk}/erase", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    # Its events are gone from the tracker store, another conversation's are not.
    assert _tracker_events(console, "echo") == 0
    assert _tracker_events(console, "alpha") == others > 0
    assert console.client.get(f"/console/conversations/{pk}").status_code == 404
    with console.database.session() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "erase_conversation")
        ).one()
    assert entry.detail is not None and "tracker events" in entry.detail
    audit = console.client.get("/console/admin/audit")
    assert audit.status_code == 200 and "erase_conversation" in audit.text


def test_admin_creates_users(console: Console) -> None:
    console.login("anna")
    csrf = console.csrf()
    short = console.client.post(
        "/console/admin/users",
        data={"username": "kim", "password": "short", "role": "reviewer", "csrf_token": csrf},
    )
    assert short.status_code == 400
    made = console.client.post(
        "/console/admin/users",
        data={"username": "kim", "password": PASSWORD, "role": "reviewer", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert made.status_code == 303
    with console.database.session() as session:
        kim = session.scalar(select(StaffUser).where(StaffUser.username == "kim"))
        assert kim is not None and kim.role == "reviewer"


def _handoff(console: Console, conversation_id: str = "bravo") -> int:
    from bot.app.handoff.models import HandoffRequest

    with console.database.session() as session:
        item = HandoffRequest(
            public_id="H-7F3A",
            conversation_id=conversation_id,
            channel="telegram",
            language="en",
            contact_preference="email",
            contact="iemand@example.org",
            consent=True,
            region="Utrecht",
            profile_summary={"Leeftijd": "38", "Sector": "ouderenzorg <vvt>"},
            advice_summary={"routes": ["derde_leerweg"]},
        )
        session.add(item)
        session.flush()
        return item.id


def test_handoff_queue_assign_and_close(console: Console) -> None:
    from bot.app.handoff.models import HandoffRequest

    handoff_id = _handoff(console)
    console.login("rob")
    page = console.client.get("/console/handoffs")
    assert page.status_code == 200
    assert "H-7F3A" in page.text and "ouderenzorg &lt;vvt&gt;" in page.text
    assert f'href="/console/conversations/{console.pk("bravo")}"' in page.text
    csrf = console.csrf("/console/handoffs")
    assert (
        console.client.post(
            f"/console/handoffs/{handoff_id}/reopen", data={"csrf_token": csrf}
        ).status_code
        == 403
    )
    ok = console.client.post(
        f"/console/handoffs/{handoff_id}/assign", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert ok.status_code == 303
    # Taken: another reviewer cannot take it over, rob can close it.
    closed = console.client.post(
        f"/console/handoffs/{handoff_id}/close", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert closed.status_code == 303
    with console.database.session() as session:
        item = session.get(HandoffRequest, handoff_id)
        assert item is not None and item.status == "closed" and item.assigned_to == "rob"
    assert "H-7F3A" not in console.client.get("/console/handoffs").text
    assert "H-7F3A" in console.client.get("/console/handoffs?closed=1").text


def test_reviewer_cannot_close_someone_elses_handoff(console: Console) -> None:
    from bot.app.handoff.models import HandoffRequest

    handoff_id = _handoff(console)
    with console.database.session() as session:
        item = session.get(HandoffRequest, handoff_id)
        assert item is not None
        item.status, item.assigned_to = "assigned", "anna"
    console.login("rob")
    csrf = console.csrf()
    for action in ("assign", "close"):
        response = console.client.post(
            f"/console/handoffs/{handoff_id}/{action}", data={"csrf_token": csrf}
        )
        assert response.status_code == 403, action


def test_transcript_of_a_conversation_erased_in_the_chat_is_gone(console: Console) -> None:
    from sqlalchemy import create_engine

    from bot.app.tracker_events import events

    console.login("rob")
    pk = console.pk("charlie")
    engine = create_engine(console.tracker_url)
    with engine.begin() as connection:
        connection.execute(events.delete().where(events.c.sender_id == "charlie"))
    engine.dispose()
    assert console.client.get(f"/console/conversations/{pk}").status_code == 404
    assert listed(console.client.get("/console/conversations?q=thuiszorg").text) == []


# ---- regressions found by schemathesis (tests/security/test_schemathesis.py) -------------------


def test_ids_beyond_the_database_integer_are_invalid_not_a_server_error(console: Console) -> None:
    """9223372036854775808 made SQLite raise OverflowError (500); PostgreSQL's integer ends at
    2**31 - 1, so the ids are bounded there and larger ones are refused as invalid (422)."""
    console.login("anna")
    csrf = console.csrf()
    for too_big in (2**31, 2**63):
        for path in (
            f"/console/conversations/{too_big}",
            f"/console/conversations/{too_big}/story.yml",
        ):
            assert console.client.get(path).status_code == 422, path
        for path in (
            f"/console/conversations/{too_big}/tags",
            f"/console/conversations/{too_big}/erase",
            f"/console/handoffs/{too_big}/assign",
            f"/console/admin/users/{too_big}/unlock",
        ):
            response = console.client.post(path, data={"csrf_token": csrf, "tag": "x"})
            assert response.status_code == 422, path
    assert console.client.get(f"/console/conversations/{2**31 - 1}").status_code == 404


def test_out_of_range_filters_are_ignored_not_a_server_error(console: Console) -> None:
    console.login("anna")
    huge = str(10**20)
    for path, params in (
        ("/console/admin/audit", {"before": huge}),
        ("/console/conversations", {"min_fallbacks": huge}),
        ("/console/conversations", {"min_fallbacks": "-" + huge}),
        ("/console/conversations", {"after": f"20261120T120000.000000~{huge}"}),
        ("/console/conversations", {"date_from": "0001-01-01", "date_to": "9999-12-31"}),
        ("/console/export/stories.yml", {"date_to": "9999-12-31"}),
        ("/console/dashboard", {"date_from": "0001-01-01", "date_to": "0001-01-02"}),
        ("/console/dashboard", {"date_to": "9999-12-31"}),
    ):
        response = console.client.get(path, params=params)
        assert response.status_code == 200, (path, params)
    # Out of range means "no filter": every seeded conversation is listed.
    page = console.client.get("/console/conversations", params={"min_fallbacks": huge}).text
    assert len(listed(page)) == 5
