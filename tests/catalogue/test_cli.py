"""The command line: `catalogue.cli.main([...], out=...)` on a SQLite file in tmp_path.

Mistakes a person can fix give exit code 2 and `error: ...` lines on stderr (one per problem),
never a traceback.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalogue import store
from catalogue.cli import main
from catalogue.compiled import Catalogue
from catalogue.errors import CatalogueInvalid
from catalogue.reader import DATA_DIR
from tests.catalogue.samples import SAMPLE_PROFILES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GOOD_PROFILE = SAMPLE_PROFILES["starter_vvt"]


class Cli:
    """Runs the CLI in-process against one database; stdout is returned, stderr via capsys."""

    def __init__(self, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.database_url = database_url
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, list[str]]:
        self.capsys.readouterr()  # forget what earlier calls wrote
        out = io.StringIO()
        code = main(["--database-url", self.database_url, *args], out=out)
        err = self.capsys.readouterr().err
        return code, out.getvalue(), err.splitlines()


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "cli.db"


@pytest.fixture
def cli(database_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(f"sqlite:///{database_path}", capsys)


@pytest.fixture
def profile_file(tmp_path: Path) -> Callable[[Any], str]:
    def write(profile: Any) -> str:
        path = tmp_path / "profile.json"
        content = profile if isinstance(profile, str) else json.dumps(profile)
        path.write_text(content, encoding="utf-8")
        return str(path)

    return write


def _break_three_things(files: Any) -> None:
    def unit(document: Any, unit_id: str) -> dict[str, Any]:
        found: dict[str, Any] = files.entry(document, "units", unit_id)
        return found

    files.edit_yaml("units.yaml", lambda d: unit(d, "adl").update(qualification="vig_9"))
    files.edit_yaml("units.yaml", lambda d: unit(d, "helpende_plus").update(routes=["avond"]))
    files.replace_text("rules.yaml", "when: \"goal == 'diploma'\"", "when: \"goal == 'diplom'\"")


# ---- validate and load --------------------------------------------------------------------------


def test_validate_the_real_data(cli: Cli, real_catalogue: Catalogue) -> None:
    code, out, err = cli("validate")

    assert code == 0
    assert err == []
    assert out.startswith(f"ok: catalogue {real_catalogue.version_label}: ")
    assert f"{len(real_catalogue.data.units)} units" in out


def test_validate_a_broken_folder_gives_one_error_line_per_problem(cli: Cli, files: Any) -> None:
    _break_three_things(files)
    with pytest.raises(CatalogueInvalid) as raised:
        files.load()

    code, out, err = cli("validate", "--dir", str(files.directory))

    assert code == 2
    assert out == ""
    assert len(raised.value.problems) == 3
    assert err == [f"error: {problem}" for problem in raised.value.problems]
    assert "error: units.yaml: unit 'adl': qualification 'vig_9'" in err[0]


def test_load_then_load_again_is_unchanged(
    cli: Cli, real_catalogue: Catalogue, database_path: Path
) -> None:
    code, out, err = cli("load")
    assert (code, err) == (0, [])
    assert out.strip() == f"loaded: catalogue {real_catalogue.version_label}"
    assert database_path.exists()

    code, out, err = cli("load")

    assert (code, err) == (0, [])
    assert out.startswith(f"unchanged: catalogue {real_catalogue.version_label}")
    engine = store.make_engine(cli.database_url)
    try:
        assert store.current_checksum(engine) == real_catalogue.checksum
    finally:
        engine.dispose()


def test_load_of_a_broken_folder_loads_nothing(cli: Cli, files: Any, database_path: Path) -> None:
    _break_three_things(files)

    code, out, err = cli("load", "--dir", str(files.directory))

    assert code == 2
    assert out == ""
    assert len(err) == 3
    assert all(line.startswith("error: ") for line in err)
    assert cli("show", "adl")[0] == 2  # still nothing loaded


# ---- show ---------------------------------------------------------------------------------------


def test_show_a_unit(cli: Cli, real_catalogue: Catalogue) -> None:
    cli("load")

    code, out, err = cli("show", "adl")

    assert (code, err) == (0, [])
    document = json.loads(out)
    assert document["kind"] == "unit"
    assert document["id"] == "adl"
    assert document["title"] == real_catalogue.units["adl"].title
    assert document["qualification"] == "vig_3"
    assert "unit_flevoland_adl" in [rule["id"] for rule in document["rules"]]


def test_show_an_unknown_id(cli: Cli) -> None:
    cli("load")

    code, out, err = cli("show", "no_such_thing")

    assert code == 2
    assert out == ""
    assert len(err) == 1
    assert err[0].startswith("error: ")
    assert "'no_such_thing'" in err[0]


# ---- advise -------------------------------------------------------------------------------------


def test_advise_json(
    cli: Cli, real_catalogue: Catalogue, profile_file: Callable[[Any], str]
) -> None:
    cli("load")

    code, out, err = cli("advise", "--profile", profile_file(GOOD_PROFILE), "--json")

    assert (code, err) == (0, [])
    advice = json.loads(out)
    assert {"units", "routes", "funding", "warnings", "catalogue_version"} <= set(advice)
    assert advice["catalogue_version"] == real_catalogue.version_label
    assert {u["id"] for u in advice["units"]} == set(real_catalogue.units)
    assert {r["id"] for r in advice["routes"]} == set(real_catalogue.routes)
    assert {f["id"] for f in advice["funding"]} == set(real_catalogue.funding)
    assert isinstance(advice["warnings"], list)


def test_advise_as_text(cli: Cli, profile_file: Callable[[Any], str]) -> None:
    cli("load")

    code, out, err = cli("advise", "--profile", profile_file(GOOD_PROFILE))

    assert (code, err) == (0, [])
    assert out.startswith("Catalogue ")
    assert "ROUTES" in out
    assert "UNITS" in out


def test_advise_from_files_needs_no_database(
    cli: Cli, profile_file: Callable[[Any], str], database_path: Path
) -> None:
    code, out, err = cli(
        "advise", "--from-files", "--profile", profile_file(GOOD_PROFILE), "--json"
    )

    assert (code, err) == (0, [])
    assert json.loads(out)["units"]
    assert not database_path.exists()


def test_plan_as_text_in_the_profiles_language(
    cli: Cli, profile_file: Callable[[Any], str]
) -> None:
    cli("load")

    code, out, err = cli(
        "plan", "--profile", profile_file(SAMPLE_PROFILES["helpende"]), "--today", "2026-12-07"
    )

    assert (code, err) == (0, [])
    assert out.startswith("Target: ")
    assert "\n1. " in out and "\n4. " in out
    assert "This month" in out  # the sample profile speaks English


def test_plan_json_from_files(cli: Cli, profile_file: Callable[[Any], str]) -> None:
    code, out, err = cli("plan", "--from-files", "--profile", profile_file(GOOD_PROFILE), "--json")

    assert (code, err) == (0, [])
    plan = json.loads(out)
    assert plan["steps"][0]["kind"] == "target"
    assert 4 <= len(plan["steps"]) <= 5
    assert plan["target"]["qualification"]


def test_plan_with_a_bad_profile_gives_one_error_line(
    cli: Cli, profile_file: Callable[[Any], str]
) -> None:
    code, out, err = cli("plan", "--from-files", "--profile", profile_file({"age": 7}))

    assert code == 2 and out == ""
    assert len(err) == 1 and "age" in err[0]


def test_plan_with_a_bad_date_is_refused(
    cli: Cli, profile_file: Callable[[Any], str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli(
            "plan", "--from-files", "--profile", profile_file(GOOD_PROFILE), "--today", "2026-13-01"
        )

    assert exited.value.code == 2
    assert "not a date like 2026-12-07" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("profile", "says"),
    [
        ('{"age": 35, "goal": ', "not valid JSON"),
        ({"age": 7}, "age"),
        ({"age": 140}, "age"),
        ({"age": 35, "favourite_colour": "blue"}, "favourite_colour"),
        ({"age": 35, "sector": "space"}, "sector"),
    ],
    ids=["malformed_json", "age_7", "age_140", "unknown_field", "unknown_sector"],
)
def test_advise_with_a_bad_profile_gives_one_error_line(
    cli: Cli, profile_file: Callable[[Any], str], profile: Any, says: str
) -> None:
    cli("load")

    code, out, err = cli("advise", "--profile", profile_file(profile), "--json")

    assert code == 2
    assert out == ""
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    assert says in err[0]


def test_advise_with_a_missing_profile_file(cli: Cli, tmp_path: Path) -> None:
    cli("load")

    code, _out, err = cli("advise", "--profile", str(tmp_path / "nope.json"))

    assert code == 2
    assert len(err) == 1
    assert err[0].startswith("error: ")


def test_advise_before_any_load_says_to_load(cli: Cli, profile_file: Callable[[Any], str]) -> None:
    code, out, err = cli("advise", "--profile", profile_file(GOOD_PROFILE))

    assert code == 2
    assert out == ""
    assert len(err) == 1
    assert err[0].startswith("error: ")
    assert "python -m catalogue load" in err[0]


# ---- export and sync ----------------------------------------------------------------------------


def test_export_then_sync_from_a_local_server(
    cli: Cli,
    make_files: Callable[..., Any],
    serve_bytes: Callable[..., Any],
    real_catalogue: Catalogue,
    tmp_path: Path,
) -> None:
    newer = make_files("newer", version="2099.1.1")
    export_path = tmp_path / "export.json"
    code, out, err = cli("export", "--dir", str(newer.directory), "--out", str(export_path))
    assert (code, err) == (0, [])
    assert out.strip() == f"exported: catalogue 2099.1.1 to {export_path}"
    cli("load")
    server = serve_bytes(export_path.read_bytes())

    code, out, err = cli("sync", "--url", server.url, "--timeout", "5", "--retries", "0")

    assert (code, err) == (0, [])
    assert out.strip() == f"updated: catalogue {real_catalogue.version} -> 2099.1.1"
    code, out, _err = cli("sync", "--url", server.url, "--timeout", "5", "--retries", "0")
    assert code == 0
    assert out.startswith("unchanged: catalogue 2099.1.1")


def test_sync_failure_is_one_error_line(cli: Cli, serve_bytes: Callable[..., Any]) -> None:
    cli("load")
    server = serve_bytes(b"{}", status=404)

    code, out, err = cli("sync", "--url", server.url, "--timeout", "5", "--retries", "0")

    assert code == 2
    assert out == ""
    assert len(err) == 1
    assert err[0].startswith("error: could not fetch")


def test_export_to_stdout_is_an_export(cli: Cli, real_catalogue: Catalogue) -> None:
    code, out, err = cli("export", "--out", "-")

    assert (code, err) == (0, [])
    document = json.loads(out)
    assert document["version"] == real_catalogue.version
    assert document["sha256"] == real_catalogue.checksum
    assert set(document["files"]) == {p.name for p in DATA_DIR.glob("*.yaml")}


# ---- terms --------------------------------------------------------------------------------------


def test_terms_json_lists_ids_and_synonyms(cli: Cli, real_catalogue: Catalogue) -> None:
    cli("load")

    code, out, err = cli("terms", "--json")

    assert (code, err) == (0, [])
    terms = json.loads(out)
    assert {"units", "qualifications", "routes", "funding"} <= set(terms)
    units = {unit["id"]: unit for unit in terms["units"]}
    assert set(units) == set(real_catalogue.units)
    assert "ADL" in units["adl"]["synonyms"]
    assert units["adl"]["title"] == real_catalogue.units["adl"].title
    routes = {route["id"]: route for route in terms["routes"]}
    assert "derde leerweg" in routes["derde_leerweg"]["synonyms"]


# ---- as a process -------------------------------------------------------------------------------


def test_python_m_catalogue_with_a_bad_profile_prints_one_line_and_no_traceback(
    tmp_path: Path, profile_file: Callable[[Any], str]
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        # Never the project's own var/zijwijzer.db, whatever the command reads.
        "ZIJWIJZER_DATABASE_URL": f"sqlite:///{tmp_path / 'env.db'}",
    }
    command = [
        sys.executable,
        "-m",
        "catalogue",
        "advise",
        "--from-files",
        "--profile",
        profile_file({"age": 7}),
    ]

    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "age" in lines[0]
    assert "Traceback" not in result.stderr
