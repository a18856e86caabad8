"""`aiqyn registers import officials|relatives|companies`, `aiqyn entities ...` and `aiqyn meetings ...`: thin
commands over the conflicts package (registers, entity resolution, the affiliation graph, the meetings rules)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from aiqyn.console import fail as _fail
from aiqyn.console import open_store_or_fail

console = Console()
err = Console(stderr=True)

DbOption = Annotated[Path, typer.Option("--db", envvar="AIQYN_DB", help="The DuckDB store file (created when "
                                        "missing).", show_default=True)]
DEFAULT_DB = Path("aiqyn.duckdb")

entities_app = typer.Typer(help="Entity resolution, the affiliation graph, conflict-of-interest flags, exports "
                           "(docs/conflicts.md).", no_args_is_help=True)
meetings_app = typer.Typer(help="The register of officials' meetings with businesses and the Astana rules.",
                           no_args_is_help=True)


def _open(db: Path, create: bool = True) -> Any:
    return open_store_or_fail(db, must_exist=not create,
                              hint="run `aiqyn ingest` or `aiqyn registers import` first")


def _import(kind: str, file: Path, db: Path, source: str | None = None) -> None:
    from aiqyn.conflicts.registers import RegisterFileError, import_register

    con = _open(db)
    try:
        result = import_register(con, kind, file, source)
    except RegisterFileError as e:
        _fail(str(e))
    finally:
        con.close()
    for r in result.rejects:
        err.print(f"[red]rejected[/] {escape(str(r))}", soft_wrap=True)
    if result.ignored_columns:
        err.print(f"ignored column(s): {escape(', '.join(result.ignored_columns))}", soft_wrap=True)
    console.print(f"imported {result.imported:,} {kind} from {escape(source or str(file))}, "
                  f"{len(result.rejects):,} rows left out (kept in register_rejects)", soft_wrap=True)
    raise typer.Exit(1 if result.rejects else 0)


FileArg = Annotated[Path, typer.Argument(help="CSV (header row, lists separated by ';'), JSON lines (.jsonl) or a "
                                         "JSON array (.json); columns in docs/conflicts.md.")]


def register_import_commands(import_app: typer.Typer) -> None:
    """Add the officials, relatives and companies registers to `aiqyn registers import` (whose `unreliable`
    command imports the register of unreliable suppliers)."""

    @import_app.command("officials")
    def officials(file: FileArg, db: DbOption = DEFAULT_DB) -> None:
        """Import the register of officials: iin, full_name, organisation_bin, servant_kind (political or
        administrative), in_office_from (required); position, in_office_to, office, address, commissions.

        Bad rows are reported with file, line and field, kept in `register_rejects` and left out. Exit code 0 when
        every row was imported, 1 when some were left out, 2 when the file cannot be read.
        """
        _import("officials", file, db)

    @import_app.command("relatives")
    def relatives(file: FileArg, db: DbOption = DEFAULT_DB) -> None:
        """Import officials' declared relatives: official_iin, relation and relative_iin or relative_name
        (required); birth_date, address. Exit codes as for officials."""
        _import("relatives", file, db)

    @import_app.command("companies")
    def companies(file: FileArg, db: DbOption = DEFAULT_DB) -> None:
        """Import the register of companies: bin and one of name_kk, name_ru, name_latin (required); registered_on,
        address, phone, status, founders, directors (each `IIN`, `Name` or `Name, YYYY-MM-DD`). Exit codes as for
        officials."""
        _import("companies", file, db)


@meetings_app.command("import")
def meetings_import(
    file: Annotated[Path | None, typer.Argument(help="CSV (header row, lists separated by ';'), JSON lines (.jsonl) "
                                                "or a JSON array (.json); columns in docs/conflicts.md. Leave out "
                                                "with --app-db.")] = None,
    db: DbOption = DEFAULT_DB,
    app_db: Annotated[str | None, typer.Option(
        "--app-db", help="Import the meetings recorded in the web application instead of a file: its database "
        "(SQLAlchemy URL or SQLite file).")] = None,
    export: Annotated[Path | None, typer.Option("--export", help="With --app-db: keep the CSV the application's "
                                                "meetings are written to (else a temporary file).")] = None,
) -> None:
    """Import the meetings register: meeting_id, official_iin, starts_at, place, recorded and company_bin or
    company_name (required); ends_at, recording_ref, commission_members, subject. Exit codes as for
    `aiqyn registers import officials`.

    With --app-db, the meetings recorded in the web application (`/meetings`) are written in that CSV format
    (meeting_id `app-<id>`) and imported like a file: a meeting imported again replaces its earlier row. Run
    `aiqyn meetings check` next: the application shows the violations it stores.
    """
    if (file is None) == (app_db is None):
        _fail("give the register FILE or --app-db (the web application's database), one of them")
    if file is not None:
        if export is not None:
            _fail("--export goes with --app-db")
        _import("meetings", file, db)
    assert app_db is not None
    import tempfile

    from sqlalchemy.engine import make_url

    from aiqyn.web.db import check_up_to_date, make_engine
    from aiqyn.web.meetings import export_csv
    from aiqyn.web.settings import normalise_db_url

    try:
        engine = make_engine(app_db)
        check_up_to_date(engine)
    except Exception as e:  # a missing, outdated or unreachable database: say which
        _fail(f"--app-db {app_db}: {e}")
    label = "app-db " + make_url(normalise_db_url(app_db)).render_as_string(hide_password=True)
    with tempfile.TemporaryDirectory(prefix="aiqyn-meetings-") as tmp:
        path = export or Path(tmp) / "app-meetings.csv"
        try:
            n = export_csv(engine, path)
        except OSError as e:
            _fail(f"{path}: cannot write the export: {e}")
        finally:
            engine.dispose()
        err.print(f"{n:,} meetings recorded in the application written to {escape(str(path))}", soft_wrap=True)
        _import("meetings", path, db, source=label)


def _time(text: str, option: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        _fail(f"{option} {text!r}: expected HH:MM")


@meetings_app.command("check")
def meetings_check(
    db: DbOption = DEFAULT_DB,
    min_commission: Annotated[int, typer.Option("--min-commission", min=0, help="Commission members required "
                                                "besides the official.")] = 2,
    window_days: Annotated[int, typer.Option("--window-days", min=0, help="Days around an award in which a "
                                             "meeting with its winner counts.")] = 90,
    work_start: Annotated[str, typer.Option("--work-start", help="Start of working hours, HH:MM.")] = "09:00",
    work_end: Annotated[str, typer.Option("--work-end", help="End of working hours, HH:MM.")] = "18:30",
    no_recording_ref: Annotated[bool, typer.Option("--no-recording-ref", help="Do not require a recording "
                                                   "reference for a recorded room.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the violations as JSON.")] = False,
) -> None:
    """Check every meeting against the Astana rules: a recorded room, a commission present, never the official's
    own office, never a winner of the official's body outside working hours (Kazakhstan's working calendar).

    Violations are printed with their evidence and stored in `meeting_violations`. Exit code 0 when none, 1 when
    any.
    """
    from aiqyn.conflicts.meetings import MeetingRules, check

    try:
        rules = MeetingRules(min_commission, not no_recording_ref, window_days,
                             _time(work_start, "--work-start"), _time(work_end, "--work-end"))
    except ValueError as e:
        _fail(str(e))
    con = _open(db, create=False)
    try:
        result = check(con, rules)
    finally:
        con.close()
    if as_json:
        sys.stdout.write(json.dumps({"check_id": result.check_id, "meetings": result.meetings,
                                     "violations": [v.__dict__ for v in result.violations]},
                                    ensure_ascii=False, indent=1, default=str) + "\n")
    else:
        for v in result.violations:
            console.print(f"{escape(v.meeting_id)} [bold]{v.rule}[/] official {v.official_iin} company "
                          f"{v.company_bin or '?'}: {escape(json.dumps(v.evidence, ensure_ascii=False, default=str))}",
                          soft_wrap=True)
        if not result.winners_checked:
            err.print("no procurement data in the store: the rule on tender winners was not checked")
        console.print(f"{result.meetings:,} meetings checked, {len(result.violations):,} violations "
                      f"({len({v.meeting_id for v in result.violations}):,} meetings); stored as {result.check_id}")
    raise typer.Exit(1 if result.violations else 0)


@entities_app.command("resolve")
def resolve_command(
    db: DbOption = DEFAULT_DB,
    threshold: Annotated[float, typer.Option("--threshold", min=0, max=100, help="Name similarity (0-100) a "
                                             "match needs, besides a corroborating attribute.")] = 85.0,
) -> None:
    """Link the founders and directors of the companies register to officials and their relatives: exactly by IIN,
    by name (Kazakh, Russian, Latin; patronymic optional) with a corroborating date of birth or address. Matches
    go to `entity_matches` with score and evidence."""
    from aiqyn.conflicts.resolve import resolve

    con = _open(db, create=False)
    try:
        r = resolve(con, threshold)
    finally:
        con.close()
    console.print(f"{r.mentions:,} founders and directors: {r.by_iin:,} linked by IIN, {r.by_name:,} by name "
                  f"({r.compared:,} pairs compared); {r.unresolvable:,} named without a corroborating attribute "
                  f"(never merged); {r.clusters:,} people named in several companies")


@entities_app.command("evaluate")
def evaluate_command(
    truth: Annotated[Path, typer.Option("--truth", help="truth.json written by `aiqyn generate`.")],
    db: DbOption = DEFAULT_DB,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Precision and recall of the name matches against the generator's truth (run `aiqyn entities resolve`
    first)."""
    from aiqyn.conflicts.resolve import evaluate

    if not truth.exists():
        _fail(f"{truth}: no such file")
    con = _open(db, create=False)
    try:
        result = evaluate(con, truth)
    except (ValueError, KeyError) as e:
        _fail(str(e))
    finally:
        con.close()
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
        return
    console.print(f"precision {result['precision']:.4f}, recall {result['recall']:.4f} "
                  f"({result['true_positives']:,} of {result['links_expected']:,} links found, "
                  f"{result['links_found']:,} matches made); named without a date of birth and merged: "
                  f"{len(result['unresolvable_merged'])}; namesakes merged: {len(result['namesakes_merged'])} of "
                  f"{result['namesakes']}")


@entities_app.command("flags")
def flags_command(
    db: DbOption = DEFAULT_DB,
    run: Annotated[str, typer.Option("--run", help="The flags run to add the conflict flags to: `latest` (the "
                                     "newest `aiqyn flags run`), a run id, or `own` (a run of their own).")] = "latest",
    rescore: Annotated[bool, typer.Option("--score/--no-score", help="Compute the run's risk scores again, so that "
                                          "the conflict flags count in them (default weights, or --weights).")] = True,
    weights_file: Annotated[Path | None, typer.Option("--weights", help="A TOML weights file ([weights] table) "
                                                       "for the new scores.")] = None,
) -> None:
    """Compute the conflict-of-interest flags of the affiliation graph (CI001 affiliated winner, CI002 political
    servant and a supplier of a body they oversee, CI003 bidders in one group), each with its path, into `flags`
    and `conflict_paths`."""
    from aiqyn.conflicts.graph import CODES, write_flags

    con = _open(db, create=False)
    try:
        result = write_flags(con, None if run == "own" else run)
    except KeyError as e:
        _fail(str(e.args[0]))
    finally:
        con.close()
    for code, title in CODES.items():
        console.print(f"{code} {title}: {result.counts.get(code, 0):,} processes")
    console.print(f"written to flags run {result.run_id}")
    if rescore:
        from aiqyn.scoring.score import score_run
        from aiqyn.scoring.weights import WeightsError, load_weights

        try:
            weights = load_weights(weights_file)
        except WeightsError as e:
            _fail(str(e))
        con = _open(db, create=False)
        try:
            scored = score_run(con, result.run_id, weights)
        finally:
            con.close()
        console.print(f"risk scores of run {scored.run_id} computed again with the conflict flags: "
                      f"{scored.counts.get('process', 0):,} processes")


@entities_app.command("show")
def show_command(
    entity_id: Annotated[str, typer.Argument(metavar="ID", help="An IIN, a BIN, a relative's id, or a graph node "
                                             "(person:..., org:...).")],
    db: DbOption = DEFAULT_DB,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """An entity with its links (the graph's neighbours), its resolution matches and the conflict flags whose path
    goes through it."""
    from aiqyn.conflicts.graph import build_graph

    con = _open(db, create=False)
    try:
        g = build_graph(con)
        node = entity_id if ":" in entity_id else next(
            (n for n in (f"person:{entity_id}", f"org:{entity_id}") if n in g), None)
        if node is None or node not in g:
            _fail(f"{entity_id}: no such entity in the registers")
        key = node.split(":", 1)[1]
        matches = con.execute("SELECT mention_id, method, score, evidence FROM entity_matches WHERE person_id = ? "
                              "ORDER BY mention_id", [key]).fetchall() if _has(con, "entity_matches") else []
        flags = con.execute("SELECT code, subject_id, path FROM conflict_paths WHERE path LIKE ? ORDER BY code, "
                            "subject_id, path_id", [f'%"node": "{node}"%']).fetchall() \
            if _has(con, "conflict_paths") else []
    finally:
        con.close()
    links = [{"edge": dict(data), "node": nb, **{k: v for k, v in g.nodes[nb].items() if v is not None}}
             for nb in sorted(g.neighbors(node)) for data in g.get_edge_data(node, nb).values()]
    out = {"node": node, **{k: v for k, v in g.nodes[node].items() if v is not None}, "links": links,
           "matches": [{"mention_id": m, "method": me, "score": s, "evidence": json.loads(e)}
                       for m, me, s, e in matches],
           "flags": [{"code": c, "process": o, "path": json.loads(p)} for c, o, p in flags]}
    if as_json:
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=1, default=str) + "\n")
        return
    console.print(f"[bold]{escape(node)}[/] {escape(str(out.get('kind')))}: {escape(str(out.get('label')))}")
    for link in links:
        console.print(f"  -{link['edge'].get('kind')}- {escape(link['node'])} {escape(str(link.get('label')))}")
    for m in out["matches"]:
        console.print(f"  matched {m['mention_id']} by {m['method']} (score {m['score']})")
    for f in out["flags"]:
        path = " -> ".join(str(step.get("label") or step.get("node")) for step in f["path"] if "node" in step)
        console.print(f"  {f['code']} {f['process']}: {escape(path)}")


def _has(con: Any, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [table]).fetchone()[0])


@entities_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="The file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="graphml, or ftm (FollowTheMoney entities, JSON lines).")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Export the affiliation graph as GraphML or as FollowTheMoney entities (for Aleph and OpenSanctions tools)."""
    from aiqyn.conflicts.export import write_ftm, write_graphml
    from aiqyn.conflicts.graph import build_graph

    if fmt not in ("graphml", "ftm"):
        _fail(f"--format {fmt!r}: expected graphml or ftm")
    con = _open(db, create=False)
    try:
        g = build_graph(con)
    finally:
        con.close()
    n = write_graphml(g, out) if fmt == "graphml" else write_ftm(g, out)
    console.print(f"wrote {n:,} {'nodes' if fmt == 'graphml' else 'entities'} to {escape(str(out))}", soft_wrap=True)
