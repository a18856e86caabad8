"""`aiqyn prices` and `aiqyn reports`: unit-price benchmarks, overpricing findings, the money at stake,
charts, and citizens' price reports."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aiqyn.console import fail as _fail
from aiqyn.console import open_store_or_fail

prices_app = typer.Typer(
    help="Prices and savings: comparable unit prices, benchmarks per goods code, unit, region and year, "
    "medicine ceiling prices, overpricing findings and the money at stake (docs/prices.md).",
    no_args_is_help=True,
)
reports_app = typer.Typer(
    help="Citizens' price reports (a price seen at a pharmacy or seller): import, match to the ceiling price, "
    "hotspots by region and seller (docs/prices.md).",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)  # long lines (file names, amounts) are never cut
err = Console(stderr=True)

DbOption = Annotated[Path, typer.Option("--db", envvar="AIQYN_DB", help="The DuckDB store file.")]
DEFAULT_DB = Path("aiqyn.duckdb")


def _open(db: Path, read_only: bool = False) -> Any:
    return open_store_or_fail(db, read_only=read_only)


def tenge(x: float | None) -> str:
    return "-" if x is None else f"{x:,.2f}".replace(",", " ")


@prices_app.command("run")
def run_cmd(
    db: DbOption = DEFAULT_DB,
    ceilings: Annotated[Path | None, typer.Option(
        "--ceilings", help="Ceiling-price list: the official JSON (mnn_price.json) or CSV; default: the copy "
        "shipped with Aiqyn.")] = None,
    min_sample: Annotated[int, typer.Option(help="Purchases a benchmark needs (else the next wider level).")] = 100,
    fence: Annotated[float, typer.Option(help="k of the outlier fence Q3 × (Q3/Q1)^k.")] = 1.5,
    min_excess: Annotated[float, typer.Option(help="A benchmark finding is also above median × (1 + this).")] = 0.25,
    ceiling_tolerance: Annotated[float, typer.Option(help="Share above the ceiling tolerated.")] = 0.0,
    match_score: Annotated[float, typer.Option(help="Minimum medicine match score (0-100).")] = 85.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Compute unit prices, benchmarks and overpricing findings into the store (rewrites the price tables)."""
    from aiqyn.prices.run import run
    from aiqyn.prices.sql import PriceParams

    if ceilings is not None and not ceilings.exists():
        _fail(f"{ceilings}: no such file")
    params = PriceParams(min_sample, fence, min_excess, ceiling_tolerance, match_score)
    con = _open(db)
    try:
        summary = run(con, params, ceilings)
    except ValueError as e:
        _fail(str(e))
    finally:
        con.close()
    if as_json:
        console.print_json(json.dumps(summary.as_dict(), ensure_ascii=False, default=str))
        return
    console.print(f"priced {summary.items:,} items; {summary.benchmarks:,} benchmarks; "
                  f"{summary.findings:,} findings ({summary.findings_ceiling:,} medicines above the ceiling); "
                  f"money at stake {tenge(summary.money_at_stake)} KZT (run {summary.run_id})")
    console.print(f"ceiling prices: {summary.reference_prices:,} from {escape(summary.reference_file)}; "
                  f"medicine descriptions matched {summary.medicine_matched:,} of {summary.medicine_descriptions:,}")
    for r in summary.reference_rejects:
        err.print(f"[yellow]skipped[/] {escape(r.source_file)} line {r.line}, field {escape(r.field)}: "
                  f"{escape(r.reason)}", soft_wrap=True)
    if summary.unknown_units:
        shown = ", ".join(f"{k!r} ({v:,})" for k, v in list(summary.unknown_units.items())[:10])
        more = len(summary.unknown_units) - 10
        console.print(f"units not in the unit table, kept as their own unit: {escape(shown)}"
                      + (f" and {more} more (table price_units)" if more > 0 else ""))
    if summary.not_kzt:
        console.print(f"{summary.not_kzt:,} items priced in another currency than KZT left out")


@prices_app.command("report")
def report_cmd(
    db: DbOption = DEFAULT_DB,
    region: Annotated[str | None, typer.Option("--region", help="KATO code: a region (610000000) or a district.")]
    = None,
    buyer: Annotated[str | None, typer.Option("--buyer", help="The buyer's BIN (or its OCDS party id).")] = None,
    year: Annotated[int | None, typer.Option("--year", help="Year of the processes.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Purchases listed (largest money at stake first); "
                                       "0 for all.")] = 20,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write the purchases to this CSV file.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the whole report to this JSON file.")]
    = None,
) -> None:
    """The purchases above their benchmark or ceiling, the basis, and the money at stake, with totals."""
    from aiqyn.prices.report import build_report, write_csv, write_json

    con = _open(db, read_only=True)
    try:
        rep = build_report(con, region, buyer, year, limit or None)
        full = build_report(con, region, buyer, year, None) if (csv_out or json_out) and limit else rep
    except ValueError as e:
        _fail(str(e))
    finally:
        con.close()
    t = rep.totals
    scope = ", ".join(f"{k} {v}" for k, v in rep.filters.items()) or "all processes"
    console.print(f"[bold]Overpricing: {escape(scope)}[/]")
    console.print(f"{t['findings']:,} purchases in {t['processes']:,} processes of {t['buyers']:,} buyers; "
                  f"money at stake [bold]{tenge(t['money_at_stake_kzt'])} KZT[/] "
                  f"(medicines above the ceiling: {t['medicines_above_ceiling']:,}, "
                  f"{tenge(t['money_at_stake_medicines_kzt'])} KZT)")
    if not t["findings"]:
        return
    tab = Table(title="By region", title_justify="left")
    for c in ("region", "findings", "buyers", "money at stake, KZT"):
        tab.add_column(c, justify="right" if c != "region" else "left")
    for r in rep.by_region[:20]:
        tab.add_row(escape(r["region"]), f"{r['findings']:,}", f"{r['buyers']:,}", tenge(r["money_at_stake_kzt"]))
    console.print(tab)
    tab = Table(title="By buyer (largest money at stake)", title_justify="left")
    for c in ("BIN", "buyer", "region", "findings", "money at stake, KZT"):
        tab.add_column(c, justify="right" if c in ("findings", "money at stake, KZT") else "left", overflow="fold")
    from aiqyn.prices.report import region_name

    for r in rep.by_buyer[:10]:
        tab.add_row(r["buyer_bin"] or escape(r["buyer_id"] or ""), escape(r["buyer_name"] or ""),
                    escape(region_name(r["region_code"])), f"{r['findings']:,}", tenge(r["money_at_stake_kzt"]))
    console.print(tab)
    tab = Table(title="By year", title_justify="left")
    for c in ("year", "findings", "money at stake, KZT"):
        tab.add_column(c, justify="right")
    for r in rep.by_year:
        tab.add_row(str(r["year"]), f"{r['findings']:,}", tenge(r["money_at_stake_kzt"]))
    console.print(tab)
    console.print(f"[bold]Purchases ({len(rep.purchases)} of {t['findings']:,}, largest money at stake first)[/]")
    for i, p in enumerate(rep.purchases, start=1):
        qty = f"{p['quantity']:,.0f}".replace(",", " ")
        lines = [
            f"{i}. {p['ocid']} (tender {p['tender_start'] or p['year']}), {p['section']} item {p['item_id']}",
            f"   buyer      {p['buyer_bin'] or ''} {p['buyer_name'] or ''} ({p['region']})",
            f"   supplier   {p['suppliers'] or '-'}",
            f"   goods      {p['classification_id']} {p['description'] or ''}",
            f"   paid       {tenge(p['unit_price'])} KZT per {p['unit']} × {qty} {p['unit']}",
            f"   benchmark  {tenge(p['benchmark_price'])} KZT per {p['unit']}: {p['basis_text']}",
            f"   paid / benchmark {p['ratio']:.2f}; money at stake {tenge(p['money_at_stake'])} KZT",
        ]
        console.print(escape("\n".join(lines)), soft_wrap=True, highlight=False)
    if csv_out:
        write_csv(full, csv_out)
        console.print(f"wrote {len(full.purchases):,} purchases to {escape(str(csv_out))}")
    if json_out:
        write_json(full, json_out)
        console.print(f"wrote the report to {escape(str(json_out))}")


class ChartFormat(StrEnum):
    png = "png"
    html = "html"
    both = "both"


class ChartKind(StrEnum):
    distribution = "distribution"
    regions = "regions"
    all = "all"


@prices_app.command("chart")
def chart_cmd(
    db: DbOption = DEFAULT_DB,
    out: Annotated[Path, typer.Option("--out", help="Directory for the PNG and HTML files.")] = Path("charts"),
    kind: Annotated[ChartKind, typer.Option("--kind", help="Which chart(s).")] = ChartKind.all,
    code: Annotated[str | None, typer.Option("--code", help="Goods code of the price distribution (default: the "
                                             "code with the most money at stake).")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Base unit (default: the code's most common).")] = None,
    year: Annotated[int | None, typer.Option("--year", help="Only this year in the distribution.")] = None,
    fmt: Annotated[ChartFormat, typer.Option("--format", help="PNG, HTML or both.")] = ChartFormat.both,
) -> None:
    """Charts as PNG and self-contained HTML (plotly.js inline, no CDN): the price distribution of a goods
    code with the flagged purchases marked, and the money at stake by region."""
    from aiqyn.prices.charts import distribution_chart, regions_chart

    con = _open(db, read_only=True)
    written: list[Path] = []
    try:
        if kind in (ChartKind.distribution, ChartKind.all):
            written += distribution_chart(con, out, code, unit, year, fmt.value)
        if kind in (ChartKind.regions, ChartKind.all):
            written += regions_chart(con, out, fmt.value)
    except ValueError as e:
        _fail(str(e))
    finally:
        con.close()
    for p in written:
        console.print(f"wrote {escape(str(p))}")


@prices_app.command("evaluate")
def evaluate_cmd(
    truth: Annotated[Path, typer.Option("--truth", help="truth.json written by `aiqyn generate`.")],
    db: DbOption = DEFAULT_DB,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Precision and recall of the findings for the planted overpricing, and the money-at-stake error."""
    from aiqyn.prices.evaluate import evaluate

    try:
        data = json.loads(truth.read_text(encoding="utf-8"))
    except FileNotFoundError:
        _fail(f"{truth}: no such file")
    except json.JSONDecodeError as e:
        _fail(f"{truth} line {e.lineno}: not valid JSON ({e.msg})")
    con = _open(db, read_only=True)
    try:
        res = evaluate(con, data)
    except ValueError as e:
        _fail(str(e))
    finally:
        con.close()
    if as_json:
        console.print_json(json.dumps(res))
        return
    console.print(f"overpricing: {res['planted']:,} planted in {res['processes']:,} processes; "
                  f"{res['found']:,} found")
    console.print(f"precision {res['precision']:.4f}  recall {res['recall']:.4f}  "
                  f"(true positives {res['true_positives']:,}, false positives {res['false_positives']:,}, "
                  f"false negatives {res['false_negatives']:,})")
    m = res.get("money")
    if m:
        console.print(f"money at stake on the planted items: computed {tenge(m['computed_kzt'])} KZT, "
                      f"planted {tenge(m['planted_kzt'])} KZT, error {m['error']:+.2%} "
                      f"(on the processes found: {m['error_found']:+.2%}); on false positives "
                      f"{tenge(m['false_positive_kzt'])} KZT")
        for basis, b in m["by_basis"].items():
            console.print(f"  {basis}: {b['found']:,} of {b['planted']:,} found; computed "
                          f"{tenge(b['computed_kzt'])} KZT, planted {tenge(b['planted_kzt'])} KZT, "
                          f"error {b['error']:+.2%}")
    else:
        console.print("truth.json records no planted amounts (generated before they were recorded): "
                      "money at stake not compared")


@reports_app.command("import")
def reports_import(
    file: Annotated[Path, typer.Argument(help="CSV, JSON array or JSON lines of reports (docs/prices.md).")],
    db: DbOption = DEFAULT_DB,
    match_score: Annotated[float, typer.Option(help="Minimum medicine match score (0-100).")] = 85.0,
) -> None:
    """Import citizens' price reports: validated, matched to a medicine and its ceiling price. Bad rows are
    kept in `price_rejects` with the reason. Exit code 1 when any row was rejected."""
    from aiqyn.prices.citizens import import_reports

    con = _open(db)
    try:
        s = import_reports(con, file, match_score)
    except ValueError as e:
        _fail(str(e))
    finally:
        con.close()
    for r in s.rejects:
        err.print(f"[yellow]rejected[/] {escape(r.source_file)} line {r.line}"
                  + (f", field {escape(r.field)}" if r.field else "") + f": {escape(r.reason)}", soft_wrap=True)
    console.print(f"imported {s.accepted:,} report(s) from {escape(s.file)}, {s.above_ceiling:,} above the ceiling "
                  f"price; {len(s.rejects):,} rejected (table price_rejects)")
    if s.rejects:
        raise typer.Exit(1)


class HotspotBy(StrEnum):
    region = "region"
    seller = "seller"


@reports_app.command("hotspots")
def reports_hotspots(
    db: DbOption = DEFAULT_DB,
    by: Annotated[HotspotBy, typer.Option("--by", help="Group by region or by seller.")] = HotspotBy.region,
    min_above: Annotated[int, typer.Option(help="Only groups with at least this many reports above the ceiling.")]
    = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Regions or sellers ranked by citizens' reports of prices above the ceiling."""
    from aiqyn.prices.citizens import hotspots

    con = _open(db)
    try:
        rows = hotspots(con, by.value, min_above)
    finally:
        con.close()
    if as_json:
        console.print_json(json.dumps(rows, default=str, ensure_ascii=False))
        return
    tab = Table(title=f"Hotspots by {by.value}: reports of medicine prices above the ceiling", title_justify="left")
    cols = (["seller, address"] if by == HotspotBy.seller else []) + [
        "region", "reports", "above ceiling", "share", "highest price / ceiling", "medicines", "last seen",
        "with photo/video"]
    for c in cols:
        left = c in ("seller, address", "region", "last seen")
        tab.add_column(c, overflow="fold", justify="left" if left else "right")
    for r in rows:
        cells = ([escape(r["label"] or "")] if by == HotspotBy.seller else []) + [
            escape(r["region"]), f"{r['reports']:,}", f"{r['above_ceiling']:,}", f"{r['share_above']:.0%}",
            f"{r['max_ratio']:.2f}", f"{r['medicines']:,}", str(r["last_seen"]), f"{r['with_media']:,}"]
        tab.add_row(*cells)
    console.print(tab)
