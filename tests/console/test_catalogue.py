"""Catalogue exports in the console: checked, reviewed with the replay diff, then loaded."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.app.console.models import AuditEntry, CatalogueUpload
from bot.app.web.security import MAX_BODY_BYTES
from catalogue import store
from catalogue.reader import DATA_DIR, checksum_of, load_directory
from catalogue.sync import build_export
from tests.console.conftest import Console, csrf_from

UPLOAD = "/console/admin/catalogue/upload"


def export_of(folder: Path, old: str | None = None, new: str | None = None) -> bytes:
    """An export of catalogue/data, with one text of plan.yaml changed when asked."""
    shutil.copytree(DATA_DIR, folder)
    if old is not None and new is not None:
        plan = folder / "plan.yaml"
        text = plan.read_text(encoding="utf-8")
        assert old in text
        plan.write_text(text.replace(old, new), encoding="utf-8")
    return json.dumps(build_export(folder), ensure_ascii=False).encode("utf-8")


@pytest.fixture
def loaded(console: Console) -> Console:
    """The console with the real catalogue loaded into its database."""
    store.save(store.make_engine(console.settings.database_url), load_directory(), "test")
    return console


def upload(console: Console, body: bytes) -> httpx.Response:
    token = csrf_from(console.client.get("/console/admin/catalogue").text)
    return console.client.post(
        UPLOAD,
        data={"csrf_token": token},
        files={"export": ("export.json", body, "application/json")},
        follow_redirects=False,
    )


def audit_actions(console: Console) -> list[str]:
    with console.database.session() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_only_admins_reach_the_catalogue_pages(loaded: Console) -> None:
    loaded.login("rob")
    assert loaded.client.get("/console/admin/catalogue").status_code == 403
    response = loaded.client.post(UPLOAD, data={"csrf_token": loaded.csrf()})
    assert response.status_code == 403
    loaded.client.cookies.clear()
    response = loaded.client.get("/console/admin/catalogue", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/login"


def test_a_changed_export_is_reviewed_with_the_replay_diff_before_it_is_loaded(
    loaded: Console, tmp_path: Path
) -> None:
    loaded.login("anna")
    engine = store.make_engine(loaded.settings.database_url)
    before = store.current_checksum(engine)
    body = export_of(tmp_path / "data", 'nl: "Nog geen leerweg"', 'nl: "Nog geen passende leerweg"')
    assert len(body) > MAX_BODY_BYTES  # larger than any other form: this path allows it

    response = upload(loaded, body)
    assert response.status_code == 303
    review_path = response.headers["location"]
    assert re.fullmatch(r"/console/admin/catalogue/uploads/\d+", review_path)
    assert store.current_checksum(engine) == before  # nothing loaded yet

    page = loaded.client.get(review_path)
    assert page.status_code == 200
    assert "-3. [learn/no_route] Nog geen leerweg" in page.text
    assert "+3. [learn/no_route] Nog geen passende leerweg" in page.text
    changed = re.search(r"<strong>(\d+)</strong>", page.text)
    assert changed and 0 < int(changed.group(1)) < 458

    base = re.search(r'name="base" value="([0-9a-f]*)"', page.text)
    assert base and base.group(1) == before
    response = loaded.client.post(
        f"{review_path}/load",
        data={"csrf_token": csrf_from(page.text), "base": base.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert store.current_checksum(engine) != before
    info = store.loaded_info(engine)
    assert info is not None and info.origin.startswith("console upload")
    assert audit_actions(loaded)[-3:] == ["catalogue_upload", "catalogue_review", "catalogue_load"]
    with loaded.database.session() as session:
        (row,) = session.scalars(select(CatalogueUpload))
        assert (row.status, row.loaded_by) == ("loaded", "anna")


def test_a_review_against_another_loaded_catalogue_is_not_loaded(
    loaded: Console, tmp_path: Path
) -> None:
    loaded.login("anna")
    body = export_of(tmp_path / "data", 'nl: "Nog geen leerweg"', 'nl: "Nog geen route"')
    review_path = upload(loaded, body).headers["location"]
    page = loaded.client.get(review_path)
    engine = store.make_engine(loaded.settings.database_url)
    checksum = store.current_checksum(engine)
    response = loaded.client.post(
        f"{review_path}/load",
        data={"csrf_token": csrf_from(page.text), "base": "0" * 64},
        follow_redirects=False,
    )
    assert response.status_code == 409
    assert "veranderd sinds je dit bekeek" in response.text
    assert store.current_checksum(engine) == checksum


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"format": "zijwijzer-catalogue/1", "files": {}, "sha256": "x"}', "checksum"),
    ],
)
def test_an_unusable_export_is_refused_and_nothing_changes(
    loaded: Console, body: bytes, says: str
) -> None:
    loaded.login("anna")
    response = upload(loaded, body)
    assert response.status_code == 400
    assert says in response.text
    assert audit_actions(loaded)[-1] == "catalogue_upload_refused"
    with loaded.database.session() as session:
        assert list(session.scalars(select(CatalogueUpload))) == []


def test_an_export_with_a_broken_template_is_refused_naming_the_problem(
    loaded: Console, tmp_path: Path
) -> None:
    loaded.login("anna")
    body_ok = export_of(tmp_path / "ok")
    document = json.loads(body_ok)
    document["files"]["plan.yaml"] = document["files"]["plan.yaml"].replace(
        '"Jouw doel: {target}"', '"Jouw doel: {tagret}"', 1
    )
    document["sha256"] = checksum_of(document["files"])
    response = upload(loaded, json.dumps(document).encode())
    assert response.status_code == 400
    assert "unknown placeholder {tagret}" in response.text


def test_the_upload_needs_its_csrf_token(loaded: Console, tmp_path: Path) -> None:
    loaded.login("anna")
    response = loaded.client.post(
        UPLOAD,
        data={"csrf_token": "wrong"},
        files={"export": ("export.json", b"{}", "application/json")},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_the_first_catalogue_can_be_uploaded_into_an_empty_database(
    console: Console, tmp_path: Path
) -> None:
    console.login("anna")
    page = console.client.get("/console/admin/catalogue")
    assert "nog geen catalogus geladen" in page.text
    review_path = upload(console, export_of(tmp_path / "data")).headers["location"]
    page = console.client.get(review_path)
    assert "Er is nog niets geladen: alle plannen zijn nieuw." in page.text
    response = console.client.post(
        f"{review_path}/load",
        data={"csrf_token": csrf_from(page.text), "base": ""},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert store.current_checksum(store.make_engine(console.settings.database_url)) is not None
