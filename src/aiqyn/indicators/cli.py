"""`aiqyn flags`: list, show, run and export the red-flag indicators, and write their reference pages."""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aiqyn.console import fail as _fail
from aiqyn.console import open_store_or_fail

flags_app = typer.Typer(
    help="Red-flag indicators (Open Contracting Partnership's Cardinal set and Aiqyn's own): list them, show "
    "one, run them over the store into the `flags` table, export the flags (csv, json, parquet, or Cardinal's "
    "JSON). Settings files: Aiqyn TOML, or Cardinal's INI (Cardinal's behaviour then reproduced exactly).",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)

DbOption = Annotated[
    Path, typer.Option("--db", envvar="AIQYN_DB", help="The DuckDB store file.", show_default=True),
]
DEFAULT_DB = Path("aiqyn.duckdb")


def _open(db: Path, read_only: bool) -> Any:
    return open_store_or_fail(db, read_only=read_only)


def _run_id(con: Any, run: str | None) -> str:
    from aiqyn.indicators.runner import latest_run, run_info

    if run is None:
        found = latest_run(con)
        if found is None:
            _fail("no flags in this store yet: run `aiqyn flags run` first")
        return found
    if latest_run(con) is None or run_info(con, run) is None:
        _fail(f"no run {run!r} in this store (see the flag_runs table)")
    return run


@flags_app.command("list")
def list_indicators() -> None:
    """List every indicator: code, title, subjects and parameters with their defaults."""
    from aiqyn.indicators.docs import _default
    from aiqyn.indicators.registry import REGISTRY

    table = Table(title="Indicators")
    for column in ("code", "title", "subjects", "parameters (defaults)"):
        table.add_column(column, overflow="fold")
    for code, ind in REGISTRY.items():
        params = ", ".join(f"{k}={_default(v)}" for k, v in ind.params().model_dump().items()) or "-"
        table.add_row(code, ind.title, ", ".join(ind.subjects), escape(params))
    console.print(table)


@flags_app.command("show")
def show(
    code: Annotated[str, typer.Argument(help="Indicator code, e.g. R003.")],
    db: DbOption = DEFAULT_DB,
    examples: Annotated[int, typer.Option("--examples", min=0, help="How many flagged subjects to show.")] = 5,
    run: Annotated[str | None, typer.Option("--run", help="The run to read (default: the latest).")] = None,
) -> None:
    """Show an indicator: definition, parameters, counts and examples.

    Counts per subject type and examples (with their evidence) come from the latest run in the store, or --run.
    """
    from aiqyn.indicators.docs import _default
    from aiqyn.indicators.registry import get
    from aiqyn.indicators.runner import latest_run, run_info

    try:
        ind = get(code)
    except KeyError as e:
        _fail(str(e.args[0]))
    console.print(f"[bold]{ind.code} {escape(ind.title)}[/] (subjects: {', '.join(ind.subjects)})\n")
    console.print(escape(" ".join(ind.methodology.split())) + "\n")
    console.print("[bold]Why it is a red flag:[/] " + escape(" ".join(ind.why.split())) + "\n")
    params = Table(title="Parameters")
    for column in ("parameter", "default", "meaning"):
        params.add_column(column)
    for name, info in ind.params.model_fields.items():
        default = _default(info.get_default(call_default_factory=True))
        params.add_row(name, escape(default), escape(" ".join((info.description or "").split())))
    console.print(params)
    if not db.exists():
        console.print(f"(no store at {escape(str(db))}: no counts)")
        return
    con = _open(db, read_only=True)
    try:
        if latest_run(con) is None:
            console.print("(no flags in this store yet: run `aiqyn flags run`)")
            return
        run_id = _run_id(con, run)
        counts = con.execute("SELECT subject_type, count(*) FROM flags WHERE run_id = ? AND code = ? "
                             "GROUP BY subject_type ORDER BY subject_type", [run_id, ind.code]).fetchall()
        table = Table(title=f"Flags in run {run_id}")
        table.add_column("subject type")
        table.add_column("flagged", justify="right")
        for subject_type, n in counts:
            table.add_row(subject_type, f"{n:,}")
        console.print(table if counts else f"no {ind.code} flags in run {run_id}")
        statistics = ((run_info(con, run_id) or {}).get("meta") or {}).get(ind.code)
        if statistics:
            console.print("statistics of the run: " + ", ".join(
                f"{key} = {'n/a' if value is None else f'{value:.4g}'}" for key, value in statistics.items()))
        rows = con.execute("SELECT subject_type, subject_id, value, evidence FROM flags WHERE run_id = ? AND code = ? "
                           "ORDER BY subject_type, value DESC, subject_id LIMIT ?",
                           [run_id, ind.code, examples]).fetchall()
        for subject_type, subject_id, value, evidence in rows:
            console.print(f"[bold]{subject_type} {escape(subject_id)}[/] value {value:g}: {escape(evidence)}",
                          soft_wrap=True)
    finally:
        con.close()


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


def _run_spark(resolved: Any, weights: dict[str, float], input_dir: Path | None, out: Path | None,
               master: str | None, driver_memory: str | None, shuffle_partitions: int | None, score: bool | None,
               into: Path | None, quiet: bool) -> None:
    """`flags run --engine spark`: the run on Spark, its results as Parquet, imported into `into` when given."""
    from aiqyn.spark.engine import SparkRunError, run, session
    from aiqyn.spark.translate import TranslationError
    from aiqyn.store.parquet import ParquetError, read_manifest

    if input_dir is None:
        _fail("--engine spark reads a store export: give --input DIR (`aiqyn store export --format parquet DIR`)")
    try:
        read_manifest(input_dir)
    except ParquetError as e:
        _fail(str(e))
    target = out or input_dir.parent / f"{input_dir.name}-results"
    show = not quiet and sys.stderr.isatty()
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=err, disable=not show)
    task = progress.add_task("starting Spark", total=len(resolved.indicators))
    try:
        with progress:
            spark = session(master, shuffle_partitions=shuffle_partitions, driver_memory=driver_memory)
            progress.update(task, description="indicators on Spark")
            result = run(spark, input_dir, target, resolved, weights, score=bool(score),
                         progress=lambda code, done, total: progress.update(
                             task, completed=done, description=f"{code} on Spark"
                             + (" (then scores and regional index)" if done == total and score else "")))
    except (SparkRunError, ParquetError, TranslationError) as e:
        _fail(str(e))
    except KeyboardInterrupt:
        err.print(f"[yellow]interrupted:[/] {escape(str(target))} is incomplete; run again")
        raise typer.Exit(130) from None
    table = Table(title=f"Run {result.run_id} on Spark ({resolved.mode} mode)")
    table.add_column("code")
    table.add_column("flags", justify="right")
    for code, n in result.counts.items():
        table.add_row(code, f"{n:,}")
    console.print(table)
    console.print(f"run {result.run_id}: {sum(result.counts.values()):,} flags; risk scores: "
                  + ", ".join(f"{n:,} {t}" for t, n in sorted(result.scores.items()))
                  + f"; region_index: {result.region_rows:,} rows; Parquet in {escape(str(target))}", soft_wrap=True)
    console.print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()))
    if into is not None:
        _import_results(target, into)
    else:
        console.print(f"load them into a store with `aiqyn flags import {escape(str(target))} --db STORE`",
                      soft_wrap=True)


def _import_results(folder: Path, db: Path) -> None:
    from aiqyn.spark.results import ResultsError, import_results
    from aiqyn.store.db import open_store

    try:
        con = open_store(db)
    except Exception as e:
        _fail(f"{db}: cannot open the store: {e}")
    try:
        res = import_results(con, folder)
    except ResultsError as e:
        _fail(str(e))
    except duckdb_error() as e:
        _fail(f"{folder}: cannot import: {e}")
    finally:
        con.close()
    console.print(f"imported run {res.run_id} into {escape(str(db))}: "
                  + ", ".join(f"{n:,} {t}" for t, n in res.rows.items()), soft_wrap=True)


def duckdb_error() -> type[Exception]:
    import duckdb

    return duckdb.Error


@flags_app.command("import")
def import_spark(
    folder: Annotated[Path, typer.Argument(help="The output directory of `aiqyn flags run --engine spark`.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Import the results of a Spark run (Parquet: flag_runs, flags, scores, region_index) into the store, where
    the web application reads them. The run's earlier rows are replaced; region_index is replaced whole."""
    if not folder.is_dir():
        _fail(f"{folder}: no such directory")
    _import_results(folder, db)


@flags_app.command("run")
def run_flags(
    ctx: typer.Context,
    db: DbOption = DEFAULT_DB,
    settings: Annotated[Path | None, typer.Option(
        "--settings", help="A settings file: Aiqyn TOML (.toml) or Cardinal INI (any other extension; Cardinal's "
        "behaviour is then reproduced exactly). Only the indicators with a section in it run. Default: every "
        "indicator with its defaults.")] = None,
    only: Annotated[str | None, typer.Option(
        "--only", help="Comma-separated codes to run, e.g. R003,R018 (defaults for those without a section).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    weights: Annotated[Path | None, typer.Option(
        "--weights", help="A TOML file with a [weights] table overriding the default weights of the risk score "
        "(docs/indicators/scoring.md).")] = None,
    no_score: Annotated[bool, typer.Option("--no-score", help="Do not compute the risk scores after the flags.")]
    = False,
    engine: Annotated[Engine, typer.Option(
        "--engine", case_sensitive=False, help="duckdb: over the store file (--db). spark: on Apache Spark over a "
        "store export (--input, written by `aiqyn store export --format parquet`): the indicators, the risk scores "
        "and the regional index, results written as Parquet to --out and imported into --db when --db (or "
        "AIQYN_DB) is given (docs/spark.md).")] = Engine.duckdb,
    master: Annotated[str | None, typer.Option(
        "--master", help="spark: the Spark master URL (local[2], spark://host:7077, k8s://https://host:443); "
        "default: the one of spark-submit, else local[*].")] = None,
    input_dir: Annotated[Path | None, typer.Option(
        "--input", help="spark: the store export directory (`aiqyn store export --format parquet DIR`).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="spark: where to write the results as Parquet (default: INPUT-results beside the input); "
        "replaced when it holds an earlier Spark run.")] = None,
    driver_memory: Annotated[str | None, typer.Option(
        "--driver-memory", help="spark: the driver's memory (e.g. 4g) when Aiqyn starts Spark itself.")] = None,
    shuffle_partitions: Annotated[int | None, typer.Option(
        "--shuffle-partitions", min=1, help="spark: spark.sql.shuffle.partitions (default: Spark's, 200).")] = None,
) -> None:
    """Compute the indicators over the store and write their flags (with evidence) into the `flags` table, then
    the composite risk scores (per process, buyer, supplier and region, with explanations) into `scores`.

    Each run gets an id (in `flag_runs`, with its settings and statistics); earlier runs are kept. A run is one
    transaction: interrupted, it leaves no flags. Exit code 0 on success, 2 on bad settings or store.

    With --engine spark, the same definitions run on Apache Spark over a Parquet export of the store, and the
    regional index too; `aiqyn flags import` loads the results into a store (docs/spark.md).
    """
    from aiqyn.indicators.runner import run
    from aiqyn.indicators.settings import SettingsError, default_settings, load_settings
    from aiqyn.scoring import WeightsError, load_weights, score_run

    try:
        resolved = default_settings() if settings is None else load_settings(settings)
        if only:
            resolved = resolved.only(only.split(","))
        # The settings file's [weights] table, then a --weights file over it.
        resolved_weights = load_weights(weights, base=resolved.weights)
    except (SettingsError, WeightsError) as e:
        _fail(str(e))
    if not resolved.indicators:
        _fail(f"{settings}: no indicator section ([R003], [R018]...): nothing to run")
    if engine is Engine.spark:
        # the results go into the store only when one was named (--db or AIQYN_DB), not by the default
        source = ctx.get_parameter_source("db")
        into = db if source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT") else None
        _run_spark(resolved, resolved_weights, input_dir, out, master, driver_memory, shuffle_partitions,
                   None if no_score else True, into, quiet)
        return
    con = _open(db, read_only=False)
    show = not quiet and sys.stderr.isatty()
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=err, disable=not show)
    task = progress.add_task("flags", total=len(resolved.indicators))
    try:
        with progress:
            result = run(con, resolved, progress=lambda code, done, total: progress.update(
                task, completed=done, description=code))
        scores = None if no_score else score_run(con, result.run_id, resolved_weights)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted:[/] no flags of this run were kept")
        raise typer.Exit(130) from None
    finally:
        con.close()
    table = Table(title=f"Run {result.run_id} ({resolved.mode} mode)")
    table.add_column("code")
    table.add_column("flags", justify="right")
    for code, n in result.counts.items():
        table.add_row(code, f"{n:,}")
    console.print(table)
    if resolved.ignored:
        console.print(f"ignored sections of Cardinal's prepare command: {', '.join(resolved.ignored)}")
    console.print(f"run {result.run_id}: {sum(result.counts.values()):,} flags in {escape(str(db))}", soft_wrap=True)
    if scores is not None:
        console.print(f"risk scores: {scores.counts.get('process', 0):,} processes, {scores.counts.get('buyer', 0):,} "
                      f"buyers, {scores.counts.get('supplier', 0):,} suppliers, {scores.counts.get('region', 0):,} "
                      "regions (table scores; `aiqyn score` to re-weight)", soft_wrap=True)


class Format(StrEnum):
    csv = "csv"
    json = "json"
    parquet = "parquet"
    cardinal = "cardinal"


@flags_app.command("export")
def export(
    format: Annotated[Format, typer.Option(
        "--format", help="csv: code,subject_type,subject_id,value. json: a list of flags with their evidence. "
        "parquet: the flags with their evidence (needs --out). cardinal: exactly the JSON of Cardinal's "
        "`indicators` command (groups OCID, Buyer, ProcuringEntity, Tenderer; Meta with quartiles and fences).",
        case_sensitive=False)] = Format.csv,
    out: Annotated[Path | None, typer.Option("--out", help="The file to write (default: standard output).")] = None,
    db: DbOption = DEFAULT_DB,
    run: Annotated[str | None, typer.Option("--run", help="The run to export (default: the latest).")] = None,
    no_meta: Annotated[bool, typer.Option("--no-meta", help="cardinal: leave out the Meta key.")] = False,
) -> None:
    """Export the flags of a run (the latest by default)."""
    from aiqyn.indicators.runner import cardinal_output

    if format is Format.parquet and out is None:
        _fail("--format parquet writes a binary file: give --out FILE")
    con = _open(db, read_only=True)
    try:
        run_id = _run_id(con, run)
        query = ("SELECT code, subject_type, subject_id, value, evidence FROM flags WHERE run_id = ? "
                 "ORDER BY code, subject_type, subject_id")
        if format is Format.parquet:
            import pyarrow.parquet as pq

            assert out is not None
            out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(con.cursor().sql(query, params=[run_id]).to_arrow_table(), out)
            console.print(f"wrote {escape(str(out))}", soft_wrap=True)
            return
        if format is Format.cardinal:
            text = json.dumps(cardinal_output(con, run_id, with_meta=not no_meta), ensure_ascii=False)
        elif format is Format.json:
            rows = con.execute(query, [run_id]).fetchall()
            text = json.dumps([{"run_id": run_id, "code": c, "subject_type": t, "subject_id": s, "value": v,
                                "evidence": json.loads(e) if e else None} for c, t, s, v, e in rows],
                              ensure_ascii=False, indent=1)
        else:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(["code", "subject_type", "subject_id", "value"])
            writer.writerows(con.execute(query.replace(", evidence", ""), [run_id]).fetchall())
            text = buffer.getvalue().rstrip("\n")
    finally:
        con.close()
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
        err.print(f"wrote {escape(str(out))}", soft_wrap=True)


@flags_app.command("docs")
def docs(
    out: Annotated[Path, typer.Option("--out", help="The directory of the pages.")] = Path("docs/indicators"),
) -> None:
    """Write the indicators' reference pages (docs/indicators/RNNN.md and README.md) from their metadata."""
    from aiqyn.indicators.docs import write

    written = write(out)
    console.print(f"wrote {len(written)} pages to {escape(str(out))}", soft_wrap=True)
