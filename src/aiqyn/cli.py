"""The `aiqyn` command line: thin Typer commands over the packages."""

from __future__ import annotations

import json
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aiqyn import __version__
from aiqyn.console import fail as _fail
from aiqyn.console import open_store_or_fail

app = typer.Typer(
    help="Aiqyn: open anti-corruption monitoring of public procurement in Kazakhstan.\n\n"
    "Data flows one way: ingest -> store -> indicators -> scoring -> findings -> app.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
store_app = typer.Typer(help="The canonical store: its schema and documentation.", no_args_is_help=True)
app.add_typer(store_app, name="store")
from aiqyn.indicators.cli import flags_app  # noqa: E402

app.add_typer(flags_app, name="flags")
from aiqyn.expertise.cli import app as expertise_app  # noqa: E402

app.add_typer(expertise_app, name="expertise")
from aiqyn.collusion.cli import app as collusion_app  # noqa: E402

app.add_typer(collusion_app, name="collusion")
from aiqyn.prices.cli import prices_app, reports_app  # noqa: E402

app.add_typer(prices_app, name="prices")
app.add_typer(reports_app, name="reports")
from aiqyn.scoring.cli import evaluate_command, registers_app, score_command  # noqa: E402

app.command("score")(score_command)
app.command("evaluate")(evaluate_command)
app.add_typer(registers_app, name="registers")
from aiqyn.web.cli import app_db_app, audit_app, serve, users_app  # noqa: E402

app.command("serve")(serve)
app.add_typer(app_db_app, name="app-db")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
from aiqyn.export.cli import app as export_app  # noqa: E402
from aiqyn.goszakup.cli import app as goszakup_app  # noqa: E402

app.add_typer(export_app, name="export")
app.add_typer(goszakup_app, name="goszakup")
from aiqyn.conflicts.cli import entities_app, meetings_app, register_import_commands  # noqa: E402
from aiqyn.scoring.cli import import_app as registers_import_app  # noqa: E402

register_import_commands(registers_import_app)  # officials, relatives, companies beside `unreliable`
app.add_typer(entities_app, name="entities")
app.add_typer(meetings_app, name="meetings")
from aiqyn.regions.cli import app as regions_app  # noqa: E402
from aiqyn.regions.cli import report_app  # noqa: E402

app.add_typer(regions_app, name="index")
app.add_typer(regions_app, name="regions", help="The same as `aiqyn index` (run = compute, rank = show).")
app.add_typer(report_app, name="report")
from aiqyn.publiccontrol.cli import accountability_app, queue_app  # noqa: E402

app.add_typer(queue_app, name="queue")
app.add_typer(accountability_app, name="accountability")

console = Console()
err = Console(stderr=True)

DbOption = Annotated[
    Path,
    typer.Option("--db", envvar="AIQYN_DB", help="The DuckDB store file (created when missing).",
                 show_default=True),
]
DEFAULT_DB = Path("aiqyn.duckdb")


def _version(value: bool) -> None:
    if value:
        console.print(f"aiqyn {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Aiqyn command line."""


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="OCDS files or directories (JSON, JSON lines, .gz).")],
    db: DbOption = DEFAULT_DB,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first rejected input.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    source: Annotated[str, typer.Option(
        "--source", help="Format of the input: auto (detected from each file's content), ocds, or goszakup "
        "(goszakup.gov.kz OWS v3 responses: saved pages, JSON lines of items, GraphQL answers; see "
        "docs/goszakup.md).")] = "auto",
) -> None:
    """Ingest OCDS data (or goszakup.gov.kz data, turned into OCDS) into the store.

    Reads release packages, record packages, JSON lines of releases, compiled releases or records, JSON
    arrays and single releases or records, plain or gzip-compressed; the shape is detected from the
    content. Releases of one process are merged with the OCDS merge rules; ingesting the same data again
    changes nothing. Bad input is reported with its file and line (or JSON pointer), kept in the
    `rejects` table with its raw text, and ingest goes on. Exit code: 0 when everything was accepted,
    1 when anything was rejected, 130 when interrupted.
    """
    from aiqyn.goszakup.reader import unit_source
    from aiqyn.ingest.pipeline import expand_paths, ingest_paths

    if source not in ("auto", "ocds", "goszakup"):
        _fail(f"--source {source!r}: expected auto, ocds or goszakup")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        _fail(f"no such file or directory: {', '.join(missing)}")
    files = expand_paths(paths)
    if not files:
        _fail("no data files (*.json, *.jsonl, *.ndjson, *.gz) under the given paths")
    total = sum(f.stat().st_size for f in files)
    con = open_store_or_fail(db, must_exist=False)
    show = not quiet and sys.stderr.isatty()
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
        TextColumn("{task.fields[records]:,} releases, {task.fields[rejects]:,} rejected, {task.fields[rate]}"),
        TimeElapsedColumn(), console=err, disable=not show, transient=False,
    )
    task = progress.add_task("ingest", total=total, records=0, rejects=0, rate="")
    started = time.monotonic()

    def on_progress(name: str, position: int, result: Any) -> None:
        elapsed = max(time.monotonic() - started, 1e-3)
        records = result.accepted + result.unchanged
        progress.update(task, completed=result.bytes_read, description=Path(name).name[:40],
                        records=records, rejects=result.rejected,
                        rate=f"{records / elapsed:,.0f}/s")

    goszakup = unit_source(source, files)
    try:
        with progress:
            result = ingest_paths(con, paths, strict=strict, progress=on_progress,
                                  unit_source=goszakup)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted:[/] the unfinished batch was rolled back; the store holds every "
                  "batch committed before it")
        con.close()
        raise typer.Exit(130) from None
    registered = goszakup.store_registers(con)
    con.close()
    for r in result.examples:
        err.print(f"[red]rejected[/] {escape(r.message())}", soft_wrap=True)
    if result.rejected > len(result.examples):
        err.print(f"... and {result.rejected - len(result.examples)} more (see the rejects table)")
    if result.status == "stopped":
        err.print("[red]stopped at the first rejected input (--strict)[/]")
    mb = result.bytes_read / 1e6
    console.print(
        f"ingested {result.files} file(s), {mb:,.1f} MB in {result.seconds:,.1f} s: "
        f"{result.accepted:,} releases accepted, {result.unchanged:,} unchanged, {result.rejected:,} rejected "
        f"(run {result.run_id}, store {escape(str(db))})", soft_wrap=True,
    )
    if "unreliable_suppliers" in registered:
        console.print(f"register of unreliable suppliers: {registered['unreliable_suppliers']:,} entries stored "
                      "(table unreliable_suppliers)")
    if goszakup.counts.get("subject"):
        console.print(f"participants register: {goszakup.counts['subject']:,} read, "
                      f"{registered.get('companies', 0):,} companies added to the companies register")
    raise typer.Exit(1 if result.rejected else 0)


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Directory to write releases.jsonl and truth.json into.")] = Path(
        "data"),
    tenders: Annotated[int, typer.Option("--tenders", min=1, help="Number of contracting processes.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same data.")] = 42,
    rate: Annotated[list[str] | None, typer.Option(
        "--rate", help="Share of processes carrying a planted scheme, as SCHEME=SHARE (repeatable), "
        "e.g. --rate bid_rigging=0.05. Schemes: favoured_supplier, bid_rigging, splitting, short_period, "
        "overpricing, amendment_inflation, new_winner, shared_contacts.")] = None,
    gz: Annotated[bool, typer.Option("--gzip", help="Write releases.jsonl.gz instead.")] = False,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", min=1, help="Sharded layout: shards of 100,000 processes, each from its own random stream, "
        "written to releases-00000.jsonl, ... by N processes at a time; the same files whatever N (but not "
        "the data of the one-stream layout without --jobs). For large data sets (docs/spark.md).")] = None,
    registers: Annotated[bool, typer.Option(
        "--registers/--no-registers", help="Also write the registers of officials, relatives, companies and "
        "meetings and the public-control files (queues, offences, statements). They read every release again in "
        "one process; --no-registers leaves them out of large runs (the unreliable-suppliers register stays).")] = True,
) -> None:
    """Generate a realistic, Kazakhstan-like data set with planted corruption schemes.

    Writes OUT/releases.jsonl (OCDS compiled releases, one per line) and OUT/truth.json, which names the
    processes, buyers and suppliers of every planted scheme (for `aiqyn evaluate`), and
    OUT/unreliable_suppliers.csv, a register of unreliable suppliers consistent with the data (for
    `aiqyn registers import unreliable`). Buyers and suppliers
    are placed in real districts (KATO), have valid BINs, and buy through goszakup's methods.
    """
    from aiqyn.generate import SCHEMES
    from aiqyn.generate import generate as run

    rates: dict[str, float] = {}
    for spec in rate or []:
        name, sep, value = spec.partition("=")
        if not sep or name not in SCHEMES:
            _fail(f"--rate {spec!r}: expected SCHEME=SHARE with SCHEME one of {', '.join(SCHEMES)}")
        try:
            rates[name] = float(value)
        except ValueError:
            _fail(f"--rate {spec!r}: {value!r} is not a number")
        if not 0 <= rates[name] <= 0.5:
            _fail(f"--rate {spec!r}: the share must be between 0 and 0.5")
    if sum({**{k: v for k, (v, _) in SCHEMES.items()}, **rates}.values()) > 0.9:
        _fail("the rates of all schemes together must stay under 0.9")
    started = time.monotonic()
    show = sys.stderr.isatty()
    with Progress(TextColumn("[bold]generate"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"),
                  TimeElapsedColumn(), console=err, disable=not show) as progress:
        task = progress.add_task("generate", total=tenders)
        truth = run(out, tenders, seed, rates, gzip_output=gz, jobs=jobs, registers=registers,
                    progress=lambda n: progress.update(task, completed=n))
    seconds = time.monotonic() - started
    planted = ", ".join(f"{name} {len(s['processes']):,}" for name, s in truth["schemes"].items())
    console.print(f"wrote {truth['tenders']:,} releases to {out / truth['file']} in {seconds:,.1f} s "
                  f"(seed {seed}); planted: {planted}; truth in {out / 'truth.json'}")


@app.command()
def stats(
    db: DbOption = DEFAULT_DB,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """What the store holds: counts per table, year, region and method; coverage of the fields indicators need."""
    from aiqyn.store.stats import store_stats

    con = open_store_or_fail(db, read_only=True)
    data = store_stats(con)
    con.close()
    if as_json:
        console.print_json(json.dumps(data, default=str))
        return
    _print_stats(data)


def _print_stats(data: dict[str, Any]) -> None:
    t = Table(title="Rows per table")
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, n in data["tables"].items():
        t.add_row(name, f"{n:,}")
    console.print(t)
    for key, title in [("by_year", "Processes per year"), ("by_region", "Processes per region (KATO)"),
                       ("by_method", "Processes per method")]:
        t = Table(title=title)
        t.add_column(key.removeprefix("by_"))
        t.add_column("processes", justify="right")
        t.add_column("value (estimated)", justify="right")
        for row in data[key]:
            t.add_row(str(row["key"]), f"{row['processes']:,}", row["value"])
        console.print(t)
    t = Table(title="Processes with")
    t.add_column("what")
    t.add_column("share", justify="right")
    for name, share in data["shares"].items():
        t.add_row(name, f"{share:.1%}")
    console.print(t)
    t = Table(title="Coverage of the fields indicators need")
    t.add_column("field")
    t.add_column("rows", justify="right")
    t.add_column("filled", justify="right")
    for row in data["coverage"]:
        t.add_row(row["field"], f"{row['rows']:,}", f"{row['share']:.1%}")
    console.print(t)


@store_app.command("docs")
def store_docs(
    out: Annotated[Path, typer.Option(help="Where to write the reference page.")] = Path("docs/schema.md"),
) -> None:
    """Write the schema reference page (docs/schema.md) from schema.yaml."""
    from aiqyn.store.schema import SCHEMA

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(SCHEMA.markdown(), encoding="utf-8")
    console.print(f"wrote {out}")


class StoreFormat(StrEnum):
    parquet = "parquet"


@store_app.command("export")
def store_export(
    out: Annotated[Path, typer.Argument(help="The directory to write (one sub-directory per table).")],
    format: Annotated[StoreFormat, typer.Option("--format", case_sensitive=False,
                                                help="parquet: partitioned by year, the input of "
                                                "`aiqyn flags run --engine spark`.")] = StoreFormat.parquet,
    db: DbOption = Path("aiqyn.duckdb"),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier export in DIR.")] = False,
) -> None:
    """Export the store as Parquet: each table in DIR/<table>/, the tables of a process partitioned by its year
    (partition_year=YYYY), with a manifest of the schema (_aiqyn_schema.json). docs/spark.md."""
    from aiqyn.store.parquet import ParquetError, export_parquet

    con = open_store_or_fail(db, read_only=True)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=err,
                        disable=not sys.stderr.isatty())
    task = progress.add_task("export", total=None)
    try:
        with progress:
            result = export_parquet(con, out, overwrite=overwrite, progress=lambda name, done, total: progress.update(
                task, completed=done, total=total, description=name))
    except ParquetError as e:
        _fail(str(e))
    finally:
        con.close()
    console.print(f"wrote {len(result.tables)} tables ({sum(result.tables.values()):,} rows) to {escape(str(out))}",
                  soft_wrap=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
