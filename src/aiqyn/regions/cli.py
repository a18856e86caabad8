"""`aiqyn regions ...`: the regional corruption-risk index, its rankings and its maps (docs/regions.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(help="Regional corruption-risk index by oblast and district (KATO): compute, rank, map.",
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


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def _open(db: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    from aiqyn.store.db import connect

    if not db.exists():
        _fail(f"no store at {db}: run `aiqyn ingest` and `aiqyn flags run` first")
    return connect(db, read_only=read_only)


def _has_index(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'region_index'").fetchall()
    return bool(rows[0][0])


def _check_level(level: str) -> None:
    if level not in LEVELS:
        _fail(f"--level {level!r}: expected region or district")


@app.command("run")
def run_command(
    db: DbOption = DEFAULT_DB,
    weight: Annotated[list[str] | None, typer.Option(
        "--weight", help="Re-weight a component, COMPONENT=WEIGHT (repeatable), e.g. --weight risk_score=0.5; "
        "weights are rescaled to sum to 1 over the components a level measures.")] = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples for the intervals "
                                           "(0: none).")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the bootstrap.")] = 0,
) -> None:
    """Compute the index for every oblast and district and every year into the table region_index."""
    from aiqyn.regions.index import WEIGHTS, compute

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
    con = _open(db, read_only=False)
    try:
        res = compute(con, weights, bootstrap=bootstrap, seed=seed)
    finally:
        con.close()
    years = ", ".join(str(p) for p in res.periods if p) or "none"
    console.print(f"region_index: {res.rows:,} rows; {res.units.get('region', 0)} regions, "
                  f"{res.units.get('district', 0)} districts; years {years} (period 0 = all years)")


@app.command("rank")
def rank_command(
    db: DbOption = DEFAULT_DB,
    level: LevelOption = "region",
    period: PeriodOption = 0,
    quarter: QuarterOption = 0,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows to show.")] = 20,
) -> None:
    """The ranking of a level and period: index, its interval, the range of ranks it allows, and the change
    from the previous year (or quarter)."""
    _check_level(level)
    if quarter and not period:
        _fail("--quarter needs --period YEAR")
    con = _open(db, read_only=True)
    try:
        if not _has_index(con):
            _fail("no region_index in the store: run `aiqyn regions run` first")
        rows = con.execute(
            "SELECT c.rank, c.kato, c.name_ru, c.name_kk, c.n_processes, c.index_value, c.ci_low, c.ci_high, "
            "c.rank_best, c.rank_worst, p.rank AS prev_rank, c.n_units "
            "FROM region_index AS c LEFT JOIN region_index AS p "
            "ON p.level = c.level AND p.kato = c.kato AND c.period > 0 AND (CASE WHEN c.quarter = 0 "
            "THEN p.quarter = 0 AND p.period = c.period - 1 ELSE p.quarter > 0 "
            "AND p.period * 4 + p.quarter = c.period * 4 + c.quarter - 1 END) "
            "WHERE c.level = ? AND c.period = ? AND c.quarter = ? ORDER BY c.rank LIMIT ?",
            [level, period, quarter, top]).fetchall()
    finally:
        con.close()
    if not rows:
        _fail(f"no {level} in period {period}" + (f" quarter {quarter}" if quarter else ""))
    when = "all years" if period == 0 else f"{period} Q{quarter}" if quarter else str(period)
    t = Table(title=f"Corruption-risk index: {level}, {when}")
    for col in ("#", "KATO", "name (ru / kk)", "processes", "index", "90% interval", "ranks", "vs prev."):
        t.add_column(col)
    for rank, kato, ru, kk, n, idx, lo, hi, rb, rw, prev, _ in rows:
        interval = f"{lo:.3f}–{hi:.3f}" if lo is not None else ""
        ranks = f"{rb}–{rw}" if rb is not None else ""
        change = "" if prev is None else (f"+{prev - rank}" if prev > rank else str(prev - rank) if prev < rank
                                          else "=")
        t.add_row(str(rank), kato, f"{ru} / {kk}", str(n), f"{idx:.3f}", interval, ranks, change)
    console.print(t)
    console.print(f"{rows[0][-1]} units ranked; 'ranks': the ranks the bootstrap interval allows; 'vs prev.': "
                  "places moved toward #1 (+, riskier) or away (-) since the previous period.")


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
    con = _open(db, read_only=True)
    try:
        if not _has_index(con):
            _fail("no region_index in the store: run `aiqyn regions run` first")
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
