"""Command line: python -m catalogue validate | load | show ID | advise --profile FILE [--json]
| plan --profile FILE [--json] | replay [--update] | sync --url URL | export --out FILE
| terms --json.

Bad input gets one clear line on stderr and exit code 2 (a catalogue with problems: one line
per problem). Nothing here prints a traceback for a mistake a person can fix.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TextIO, cast

from catalogue import store
from catalogue.advice import advise
from catalogue.compiled import Catalogue, Kind
from catalogue.errors import CatalogueInvalid, CatalogueNotLoaded, ProfileError, SyncError
from catalogue.interpret import interpret
from catalogue.items import Advice, title_in
from catalogue.plan import Plan, make_plan
from catalogue.reader import DATA_DIR, load_directory
from catalogue.replay import (
    CORPUS_FILE,
    GOLDEN_FILE,
    ReplayError,
    compare,
    load_corpus,
    load_golden,
    replay_lines,
    report,
    save_golden,
)
from catalogue.schema import in_language, language_of
from catalogue.service import catalogue_terms
from catalogue.sync import build_export, sync

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see --help)\n")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _database_url(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    configured: Callable[[], str] | None = args.configured_database_url
    if configured is None:
        raise ValueError("no database: give --database-url")
    return configured()


def _stored(args: argparse.Namespace) -> Catalogue:
    return store.read(store.make_engine(_database_url(args)))


def _cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    catalogue = load_directory(args.dir)
    data = catalogue.data
    print(
        f"ok: catalogue {catalogue.version_label}: {len(data.qualifications)} qualifications, "
        f"{len(data.units)} units, {len(data.routes)} routes, {len(data.funding)} funding schemes, "
        f"{len(data.rules)} rules, {len(data.notices)} notices, {len(data.sources)} sources",
        file=out,
    )
    return 0


def _cmd_load(args: argparse.Namespace, out: TextIO) -> int:
    catalogue = load_directory(args.dir)
    engine = store.make_engine(_database_url(args))
    if not args.force and store.current_checksum(engine) == catalogue.checksum:
        print(f"unchanged: catalogue {catalogue.version_label} is already loaded", file=out)
        return 0
    store.save(engine, catalogue, origin=str(args.dir))
    print(f"loaded: catalogue {catalogue.version_label}", file=out)
    return 0


def _find(catalogue: Catalogue, item_id: str) -> tuple[str, Any] | None:
    data = catalogue.data
    for kind, items in (
        ("unit", data.units),
        ("route", data.routes),
        ("funding", data.funding),
        ("qualification", data.qualifications),
        ("source", data.sources),
        ("rule", data.rules),
        ("notice", data.notices),
        ("term", data.glossary),
    ):
        for item in items:
            if item.id == item_id:
                return kind, item
    return None


def _cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    catalogue = _stored(args)
    found = _find(catalogue, args.id)
    if found is None:
        return _fail(
            f"no unit, route, funding, qualification, source, rule or notice has id {args.id!r}"
        )
    kind, item = found
    document = {"kind": kind, **item.model_dump(mode="json")}
    if kind in ("unit", "route", "funding"):
        rules = catalogue.rules_by_item.get((cast(Kind, kind), item.id), ())
        document["rules"] = [
            {"id": c.rule.id, "when": c.rule.when, "outcome": c.rule.outcome} for c in rules
        ]
    print(json.dumps(document, ensure_ascii=False, indent=2), file=out)
    return 0


def _read_profile(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read profile {path}: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"profile {path} is not valid JSON: {exc}") from None


def _render(advice: Advice, out: TextIO) -> None:
    lang = language_of(advice["profile"].get("language"))
    summary = advice["summary"]
    print(f"Catalogue {advice['catalogue_version']}", file=out)
    print(f"Best routes: {', '.join(summary['routes']) or '-'}", file=out)
    print(f"Units to start with: {', '.join(summary['units']) or '-'}", file=out)
    print(f"Funding to ask about: {', '.join(summary['funding']) or '-'}", file=out)
    for section in ("routes", "units", "funding"):
        print(f"\n{section.upper()}", file=out)
        for item in advice[section]:
            certain = "" if item["certain"] else f" [{item['status']}]"
            print(f"  {item['fit']:<12} {item['id']}: {title_in(item, lang)}{certain}", file=out)
            for reason in item["reasons"]:
                print(f"               - {in_language(lang, reason['nl'], reason['en'])}", file=out)
                if "if" in reason:
                    fields = ", ".join(reason.get("depends_on", ()))
                    condition = in_language(lang, reason["if"]["nl"], reason["if"]["en"])
                    print(f"                 ({fields}: {condition})", file=out)
    if advice["warnings"]:
        print("\nWARNINGS", file=out)
        for warning in advice["warnings"]:
            said = in_language(lang, warning["nl"], warning["en"])
            print(f"  [{warning['severity']}] {said}", file=out)
    if advice["open_questions"]:
        fields = ", ".join(q["field"] for q in advice["open_questions"])
        print(f"\nAnswers that could change this advice: {fields}", file=out)


def _cmd_advise(args: argparse.Namespace, out: TextIO) -> int:
    profile = _read_profile(args.profile)
    catalogue = load_directory(args.dir) if args.from_files else _stored(args)
    advice = advise(catalogue, profile)
    if args.json:
        print(json.dumps(advice, ensure_ascii=False, indent=2, sort_keys=True), file=out)
    else:
        _render(advice, out)
    return 0


def _render_plan(plan: Plan, out: TextIO) -> None:
    """The plan as a person reads it, in the profile's language (labels for staff, in English)."""
    lang = plan.language
    target = plan.target
    marker = " (proposed)" if target.proposed else ""
    print(f"Target: {target.title.get(lang)}{marker}", file=out)
    print(f"Route: {plan.route or '-'}   contact: {plan.contact.name.get(lang)}", file=out)
    for step in plan.steps:
        print(f"\n{step.number}. {step.title.get(lang)}", file=out)
        print(f"   {step.text.get(lang)}", file=out)
    for label, notes in (
        ("More (alternatives)", plan.alternatives),
        ("Why", plan.why),
        ("Not possible", plan.not_possible),
        ("Notices", plan.notices),
        ("Good to know", plan.facts),
    ):
        if notes:
            print(f"\n{label}:", file=out)
            for note in notes:
                title = f"{note.title.get(lang)}: " if note.title else ""
                certain = "" if note.certain else " [not certain]"
                print(f"  - {title}{note.text.get(lang)}{certain}", file=out)
    if plan.glossary:
        print("\nWords:", file=out)
        for term in plan.glossary:
            print(f"  - {term.title.get(lang)}: {term.text.get(lang)}", file=out)
    if plan.open_questions:
        print(f"\nAnswers that could change this plan: {', '.join(plan.open_questions)}", file=out)
    print(f"\nSources: {', '.join(s['id'] for s in plan.sources)}", file=out)


def _cmd_plan(args: argparse.Namespace, out: TextIO) -> int:
    profile = _read_profile(args.profile)
    catalogue = load_directory(args.dir) if args.from_files else _stored(args)
    plan = make_plan(catalogue, profile, today=args.today)
    if args.json:
        print(json.dumps(plan.as_dict(), ensure_ascii=False, indent=2), file=out)
    else:
        _render_plan(plan, out)
    return 0


EXIT_PLANS_CHANGED = 1


def _cmd_replay(args: argparse.Namespace, out: TextIO) -> int:
    corpus = load_corpus(args.corpus)
    after = replay_lines(load_directory(args.dir), corpus)
    if args.update:
        save_golden(after, args.golden)
        print(f"accepted: {len(after)} plans written to {args.golden}", file=out)
        return 0
    changes = compare(load_golden(args.golden), after, corpus)
    for line in report(changes, len(corpus)):
        print(line, file=out)
    if changes:
        print(
            "\nReview the changes; accept them with `python -m catalogue replay --update`.",
            file=out,
        )
        return EXIT_PLANS_CHANGED
    return 0


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date like 2026-12-07: {text!r}") from None


def _cmd_sync(args: argparse.Namespace, out: TextIO) -> int:
    engine = store.make_engine(_database_url(args))
    result = sync(
        engine,
        args.url,
        timeout=args.timeout,
        retries=args.retries,
        expected_sha256=args.sha256,
        force=args.force,
    )
    if result.status == "unchanged":
        print(f"unchanged: catalogue {result.version} is already loaded", file=out)
    else:
        print(
            f"updated: catalogue {result.previous_version or '(none)'} -> {result.version}",
            file=out,
        )
    return 0


def _cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    document = build_export(args.dir)
    text = json.dumps(document, ensure_ascii=False, sort_keys=True)
    if args.out == "-":
        print(text, file=out)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"exported: catalogue {document['version']} to {args.out}", file=out)
    return 0


def _cmd_interpret(args: argparse.Namespace, out: TextIO) -> int:
    catalogue = load_directory(args.dir) if args.from_files else _stored(args)
    result = interpret(args.text, catalogue, args.asked)
    print(json.dumps(result, ensure_ascii=False, indent=2), file=out)
    return 0


def _cmd_terms(args: argparse.Namespace, out: TextIO) -> int:
    catalogue = load_directory(args.dir) if args.from_files else _stored(args)
    print(json.dumps(catalogue_terms(catalogue), ensure_ascii=False, indent=2), file=out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m catalogue", description="Zijwijzer catalogue and advice engine"
    )
    parser.add_argument(
        "--database-url",
        help="SQLAlchemy URL (default: ZIJWIJZER_DATABASE_URL or var/zijwijzer.db)",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def with_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--dir", type=Path, default=DATA_DIR, help="folder with the catalogue's YAML files"
        )
        return p

    with_dir(commands.add_parser("validate", help="check the YAML files")).set_defaults(
        run=_cmd_validate
    )
    load = with_dir(commands.add_parser("load", help="load the YAML files into the database"))
    load.add_argument("--force", action="store_true", help="write even when unchanged")
    load.set_defaults(run=_cmd_load)
    show = commands.add_parser("show", help="show one loaded entry by id")
    show.add_argument("id")
    show.set_defaults(run=_cmd_show)

    def for_profile(name: str, what: str, json_help: str) -> argparse.ArgumentParser:
        p = with_dir(commands.add_parser(name, help=f"{what} (JSON file, - for stdin)"))
        p.add_argument("--profile", required=True)
        p.add_argument("--json", action="store_true", help=json_help)
        p.add_argument(
            "--from-files", action="store_true", help="use the YAML files, not the database"
        )
        return p

    advise_cmd = for_profile("advise", "advice for a profile", "the engine's JSON output")
    advise_cmd.set_defaults(run=_cmd_advise)
    plan_cmd = for_profile("plan", "the plan for a profile", "the plan as JSON")
    plan_cmd.add_argument("--today", type=_date, help="the plan's date (default: today)")
    plan_cmd.set_defaults(run=_cmd_plan)
    replay_cmd = with_dir(
        commands.add_parser(
            "replay", help="which profiles' plans change against the golden plans, and how"
        )
    )
    replay_cmd.add_argument("--corpus", type=Path, default=CORPUS_FILE, help="profiles.json")
    replay_cmd.add_argument("--golden", type=Path, default=GOLDEN_FILE, help="plans.json")
    replay_cmd.add_argument("--update", action="store_true", help="accept the plans as golden")
    replay_cmd.set_defaults(run=_cmd_replay)
    sync_cmd = commands.add_parser("sync", help="fetch a newer catalogue export and load it")
    sync_cmd.add_argument("--url", required=True)
    sync_cmd.add_argument(
        "--timeout", type=float, default=10.0, help="seconds per connect and read"
    )
    sync_cmd.add_argument("--retries", type=int, default=3)
    sync_cmd.add_argument("--sha256", help="the checksum the export must have")
    sync_cmd.add_argument("--force", action="store_true", help="load even when not newer")
    sync_cmd.set_defaults(run=_cmd_sync)
    export = with_dir(commands.add_parser("export", help="write the catalogue as one export file"))
    export.add_argument("--out", required=True, help="file, or - for stdout")
    export.set_defaults(run=_cmd_export)
    interpret_cmd = with_dir(
        commands.add_parser("interpret", help="profile values in a free-text answer")
    )
    interpret_cmd.add_argument("text")
    interpret_cmd.add_argument("--asked", help="the profile field the bot asked")
    interpret_cmd.add_argument("--from-files", action="store_true", help="use the YAML files")
    interpret_cmd.set_defaults(run=_cmd_interpret)
    terms = with_dir(commands.add_parser("terms", help="names and synonyms, for NLU"))
    terms.add_argument("--json", action="store_true", help="JSON output (the only format)")
    terms.add_argument(
        "--from-files", action="store_true", help="use the YAML files, not the database"
    )
    terms.set_defaults(run=_cmd_terms)
    return parser


def main(
    argv: list[str] | None = None,
    out: TextIO | None = None,
    *,
    database_url: Callable[[], str] | None = None,
) -> int:
    """`database_url` gives the configured database when no --database-url is given (read only
    then); the caller reads the settings (catalogue/__main__.py), the catalogue knows none."""
    args = build_parser().parse_args(argv)
    args.configured_database_url = database_url
    out = out or sys.stdout
    try:
        return int(args.run(args, out))
    except CatalogueInvalid as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ProfileError, SyncError, CatalogueNotLoaded, ReplayError, ValueError) as exc:
        return _fail(str(exc))
    except BrokenPipeError:
        # The reader went away (| head): not an error of ours.
        sys.stderr.close()
        return 0
