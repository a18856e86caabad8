"""`aiqyn index ...` (also `aiqyn regions ...`): the regional corruption-risk index, its rankings, maps and trends,
and `aiqyn report region`: the printable scorecard (docs/regions.md)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from aiqyn.console import fail as _fail
from aiqyn.console import open_store_or_fail

app = typer.Typer(help="Regional corruption-risk index by oblast and district (KATO): compute, show, map, trend "
                  "(docs/regions.md). `aiqyn regions` is the same group (run = compute, rank = show).",
                  no_args_is_help=True)
console = Console()
err = Console(stderr=True)

DbOption = Annotated[Path, typer.Option("--db", envvar="AIQYN_DB", help="The DuckDB store file.")]
LevelOption = Annotated[str, typer.Option("--level", help="region (oblasts and cities of republican significance) "
                                          "or district (districts and cities of oblast significance).")]
PeriodOption = Annotated[int, typer.Option("--period", help="Year; 0 for all years pooled.")]
QuarterOption = Annotated[int, typer.Option("--quarter", min=0, max=4, help="Quarter of the year (1-4); 0 for the "
                                            "whole year.")]
LEVELS = ("region", "district")
DEFAULT_DB = Path("aiqyn.duckdb")


def _open(db: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    return open_store_or_fail(db, read_only=read_only, hint="run `aiqyn ingest` and `aiqyn flags run` first")


def _has_index(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'region_index'").fetchall()
    return bool(rows[0][0]) and bool(con.execute("SELECT 1 FROM region_index LIMIT 1").fetchall())



def _open_index(db: Path) -> duckdb.DuckDBPyConnection:
    """The store, read-only, for a command that reads the regional index; a clear error when it has none."""
    con = _open(db, read_only=True)
    if not _has_index(con):
        con.close()
        _fail("no region_index in the store: run `aiqyn index compute` first")
    return con

def _check_level(level: str) -> None:
    if level not in LEVELS:
        _fail(f"--level {level!r}: expected region or district")


def _weights(weight: list[str] | None) -> dict[str, float]:
    from aiqyn.regions.index import WEIGHTS

    weights: dict[str, float] = {}
    for w in weight or []:
        key, _, value = w.partition("=")
        if key not in WEIGHTS:
            _fail(f"--weight {w!r}: unknown component; expected one of {', '.join(WEIGHTS)}")
        try:
            weights[key] = float(value)
        except ValueError:
            _fail(f"--weight {w!r}: the weight must be a number")
        if weights[key] < 0:
            _fail(f"--weight {w!r}: the weight must not be negative")
    return weights


AppDbOption = Annotated[str | None, typer.Option(
    "--app-db", help="The web application's database (SQLAlchemy URL or SQLite file): import its recommendations "
    "into the store first (table recommendation_facts), for the component 'recommendations not carried out'.")]
AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", help="Judge 'not carried out' on this date (YYYY-MM-DD; default today).")]


def _as_of(as_of: str | None) -> dt.date | None:
    if as_of is None:
        return None
    try:
        return dt.date.fromisoformat(as_of)
    except ValueError:
        _fail(f"--as-of {as_of!r}: expected a date YYYY-MM-DD")
    return None


def _import(con: duckdb.DuckDBPyConnection, app_db: str, as_of: dt.date | None) -> None:
    from aiqyn.regions.recommendations import AppDbError, import_recommendations

    try:
        res = import_recommendations(con, app_db, as_of)
    except AppDbError as exc:
        _fail(str(exc))
        return
    console.print(f"recommendation_facts: {res.rows:,} recommendations from {app_db}, {res.issued:,} issued, "
                  f"{res.not_carried_out:,} not carried out on {res.as_of}"
                  + (f"; {res.unplaced} issued without a KATO unit (left out of the index)" if res.unplaced else ""),
                  soft_wrap=True)


@app.command("compute")
def compute_command(
    db: DbOption = DEFAULT_DB,
    app_db: AppDbOption = None,
    as_of: AsOfOption = None,
    weight: Annotated[list[str] | None, typer.Option(
        "--weight", help="Re-weight a component, COMPONENT=WEIGHT (repeatable), e.g. --weight risk_score=0.5; "
        "weights are rescaled to sum to 1 over the components a level measures.")] = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples for the intervals "
                                           "(0: none).")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the bootstrap.")] = 0,
) -> None:
    """Compute the index for every oblast and district, every year and quarter, into the table region_index
    (after importing the recommendations of --app-db, when given)."""
    from aiqyn.regions.index import compute

    weights = _weights(weight)
    when = _as_of(as_of)
    con = _open(db, read_only=False)
    started = time.monotonic()
    try:
        if app_db is not None:
            _import(con, app_db, when)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                      transient=True) as progress:
            progress.add_task("computing the regional index and its bootstrap intervals", total=None)
            res = compute(con, weights, bootstrap=bootstrap, seed=seed)
    finally:
        con.close()
    years = ", ".join(str(p) for p in res.periods if p) or "none"
    console.print(f"region_index: {res.rows:,} rows; {res.units.get('region', 0)} regions, "
                  f"{res.units.get('district', 0)} districts; years {years} (period 0 = all years); "
                  f"{time.monotonic() - started:.1f} s", soft_wrap=True)


app.command("run", hidden=True, help="Alias of `compute`.")(compute_command)


@app.command("import-recommendations")
def import_command(db: DbOption = DEFAULT_DB,
                   app_db: Annotated[str, typer.Option("--app-db", envvar="AIQYN_APP_DB", help=(
                       "The web application's database: a SQLAlchemy URL or a SQLite file."))] = "aiqyn-app.sqlite",
                   as_of: AsOfOption = None) -> None:
    """Copy the recommendations of the web application's database into the store (recommendation_facts), for
    the index's component 'recommendations not carried out'; `compute --app-db` does this first."""
    when = _as_of(as_of)
    con = _open(db, read_only=False)
    try:
        _import(con, app_db, when)
    finally:
        con.close()


def _arrow(delta: float | None, moved: int | None) -> str:
    if delta is None:
        return "[dim]new[/]"
    arrow = "[red]▲[/]" if delta > 0.0005 else "[green]▼[/]" if delta < -0.0005 else "="
    places = "" if not moved else f" ({'+' if moved > 0 else '-'}{abs(moved)})"
    return f"{arrow} {delta:+.3f}{places}"


@app.command("show")
def show_command(
    db: DbOption = DEFAULT_DB,
    level: LevelOption = "region",
    period: Annotated[int | None, typer.Option("--period", help="Year; 0 for all years pooled; default the latest "
                                               "year.")] = None,
    quarter: QuarterOption = 0,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows to show.")] = 20,
) -> None:
    """The ranking of a level and period: index, its 90% interval, the ranks it allows, and the change from the
    previous year (or quarter): ▲ riskier, ▼ less risky, with the places moved toward #1."""
    from aiqyn.regions import scorecard as sc

    _check_level(level)
    if quarter and not period:
        _fail("--quarter needs --period YEAR")
    con = _open_index(db)
    try:
        query = sc.duck_query(con)
        period = sc.latest_year(query) if period is None else period
        rows = sc.ranking(query, level, period, quarter)
        have = sorted({r["period"] for r in query("SELECT DISTINCT period FROM region_index", {})})
    finally:
        con.close()
    if not rows:
        _fail(f"no {level} has procurements in period {period}" + (f" quarter {quarter}" if quarter else "")
              + "; the index covers " + ", ".join("0 (all years)" if p == 0 else str(p) for p in have))
    prev = sc.previous(period, quarter)
    when = "all years" if period == 0 else f"{period} Q{quarter}" if quarter else str(period)
    since = "" if prev is None else f" (change from {prev[0]}" + (f" Q{prev[1]}" if prev[1] else "") + ")"
    t = Table(title=f"Corruption-risk index: {level}, {when}{since}")
    for col in ("#", "KATO", "name (ru / kk)", "processes", "index", "90% interval", "ranks", "change"):
        t.add_column(col, justify="right" if col in ("#", "processes", "index") else "left")
    for r in rows[:top]:
        interval = f"{r['ci_low']:.3f}–{r['ci_high']:.3f}" if r["ci_low"] is not None else ""
        ranks = f"{r['rank_best']}–{r['rank_worst']}" if r["rank_best"] is not None else ""
        t.add_row(str(r["rank"]), r["kato"], f"{escape(r['name_ru'])} / {escape(r['name_kk'])}",
                  f"{r['n_processes']:,}", f"{r['index_value']:.3f}", interval, ranks,
                  _arrow(r["delta"], r["moved"]) if prev else "")
    console.print(t)
    console.print(f"{len(rows)} units ranked; 'ranks': the ranks the bootstrap interval allows; 'change': the "
                  "index difference from the previous period (▲ riskier, ▼ less risky) and the places moved "
                  "toward #1 (+) or away (-).", soft_wrap=True)


app.command("rank", hidden=True, help="Alias of `show`.")(show_command)


@app.command("trend")
def trend_command(
    db: DbOption = DEFAULT_DB,
    level: LevelOption = "region",
    kato: Annotated[list[str] | None, typer.Option("--kato", help="Units to draw (repeatable); default the riskiest "
                                                   "of the latest year.")] = None,
    top: Annotated[int, typer.Option("--top", min=1, max=12, help="How many of the riskiest, without --kato.")] = 6,
    quarters: Annotated[bool, typer.Option("--quarters", help="By quarter instead of by year.")] = False,
    out: Annotated[Path, typer.Option("--out", help="The PNG to write.")] = Path("maps/trend.png"),
) -> None:
    """A trend chart (PNG) of the index over the years (or quarters), with the 90% interval of each unit, up to
    the latest full year (the default period of `show`)."""
    from aiqyn.regions import scorecard as sc
    from aiqyn.regions.maps import trend_png

    _check_level(level)
    con = _open_index(db)
    try:
        query = sc.duck_query(con)
        if kato:
            known = {r["kato"] for r in query("SELECT DISTINCT kato FROM region_index WHERE level = $level",
                                              {"level": level})}
            unknown = [k for k in kato if k not in known]
            if unknown:
                _fail(f"--kato {', '.join(unknown)}: no such {level} in the index (see `aiqyn index show --level "
                      f"{level}`)")
            units = list(kato)
        else:
            units = [r["kato"] for r in sc.ranking(query, level, sc.latest_year(query), 0)[:top]]
        rows = sc.history(query, level, units, quarters=quarters, until=sc.latest_year(query))
    finally:
        con.close()
    if not rows:
        _fail(f"no {level} with a yearly index to draw")
    console.print(f"wrote {trend_png(rows, units, level, out, quarters=quarters)}")


@app.command("sensitivity")
def sensitivity_command(
    db: DbOption = DEFAULT_DB,
    level: LevelOption = "district",
    period: Annotated[int, typer.Option("--period", help="Year; 0 for all years pooled.")] = 0,
    quarter: QuarterOption = 0,
) -> None:
    """How much the ranking depends on the weights: equal weights, each component left out, each doubled —
    the rank correlation with the default ranking and how far units move (the store is not changed)."""
    from aiqyn.regions.sensitivity import analyse

    _check_level(level)
    con = _open(db, read_only=False)  # creates the (empty) tables of modules that have not run, as compute does
    try:
        rows = analyse(con, level, period, quarter)
    finally:
        con.close()
    if not rows or rows[0].units == 0:
        _fail(f"no {level} has procurements in period {period}")
    when = "all years" if period == 0 else f"{period} Q{quarter}" if quarter else str(period)
    t = Table(title=f"Sensitivity of the {level} ranking to the weights, {when} ({rows[0].units} units)")
    for col in ("scenario", "Spearman ρ", "mean rank shift", "largest shift"):
        t.add_column(col, justify="left" if col == "scenario" else "right")
    for r in rows:
        t.add_row(r.name, "—" if r.spearman is None else f"{r.spearman:.3f}", f"{r.mean_shift:.1f}", str(r.max_shift))
    console.print(t)


@app.command("map")
def map_command(
    db: DbOption = DEFAULT_DB,
    level: LevelOption = "region",
    period: PeriodOption = 0,
    quarter: QuarterOption = 0,
    out: Annotated[Path, typer.Option("--out", help="Directory for the maps.")] = Path("maps"),
    fmt: Annotated[str, typer.Option("--format", help="png, html or both.")] = "both",
) -> None:
    """Choropleth maps of the index: PNG (matplotlib) and self-contained interactive HTML (no CDN, no tiles)."""
    from aiqyn.regions import maps
    from aiqyn.regions.boundaries import units

    _check_level(level)
    if fmt not in ("png", "html", "both"):
        _fail(f"--format {fmt!r}: expected png, html or both")
    con = _open_index(db)
    try:
        values = maps.index_values(con, level, period, quarter)
        if not values:
            _fail(f"no {level} in period {period}" + (f" quarter {quarter}" if quarter else ""))
        stem = f"index_{level}_{period or 'all'}" + (f"_q{quarter}" if quarter else "")
        written = []
        if fmt in ("png", "both"):
            written.append(maps.png(con, level, period, out / f"{stem}.png", quarter=quarter))
        if fmt in ("html", "both"):
            written.append(maps.html(con, level, period, out / f"{stem}.html", quarter=quarter))
    finally:
        con.close()
    mapped = {u.kato for u in units(level)}
    off = sorted(k for k in values if k not in mapped)
    for path in written:
        console.print(f"wrote {path}")
    if off:
        err.print(f"[yellow]warning:[/] {len(off)} unit(s) not on the 2024 boundaries (older KATO codes): "
                  f"{', '.join(off)}")


report_app = typer.Typer(help="Printable reports: the scorecard of a region or district (HTML or PDF).",
                         no_args_is_help=True)


@report_app.command("region")
def report_region(
    kato: Annotated[str, typer.Argument(help="KATO code of the region or district (9 digits), e.g. 630000000.")],
    db: DbOption = DEFAULT_DB,
    period: Annotated[int | None, typer.Option("--period", help="Year; 0 for all years pooled; default the latest "
                                               "year.")] = None,
    quarter: QuarterOption = 0,
    fmt: Annotated[str, typer.Option("--format", help="html or pdf (printed by headless Chromium).")] = "html",
    lang: Annotated[str, typer.Option("--lang", help="Language of the report: ru, kk or en.")] = "ru",
    out: Annotated[Path | None, typer.Option("--out", help="The file to write (default report-KATO-PERIOD.FORMAT).")]
    = None,
) -> None:
    """The scorecard of a region or district for a period: the index and its interval, its components, the trend,
    the riskiest procurements, buyers and suppliers, the recommendations and their execution."""
    from aiqyn.regions import scorecard as sc
    from aiqyn.regions.report import PdfError, render_html, to_pdf

    if not (len(kato) == 9 and kato.isdigit()):
        _fail(f"KATO {kato!r}: expected a 9-digit code, e.g. 630000000 (East Kazakhstan)")
    if fmt not in ("html", "pdf"):
        _fail(f"--format {fmt!r}: expected html or pdf")
    if lang not in ("ru", "kk", "en"):
        _fail(f"--lang {lang!r}: expected ru, kk or en")
    if quarter and not period:
        _fail("--quarter needs --period YEAR")
    con = _open_index(db)
    try:
        query = sc.duck_query(con)
        period = sc.latest_year(query) if period is None else period
        try:
            page = render_html(query, kato, period, quarter, lang=lang, source=db.name)
        except sc.NotFound as exc:
            _fail(str(exc))
            return
    finally:
        con.close()
    target = out or Path(f"report-{kato}-{period or 'all'}{f'-q{quarter}' if quarter else ''}.{fmt}")
    if fmt == "html":
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page, encoding="utf-8")
    else:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True) as progress:
            progress.add_task("printing the PDF with headless Chromium", total=None)
            try:
                to_pdf(page, target)
            except PdfError as exc:
                _fail(str(exc))
    console.print(f"wrote {target}")
