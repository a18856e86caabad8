"""Charts a monitoring officer reads without explanation: PNG (matplotlib) and self-contained HTML (Plotly,
with plotly.js embedded in the file: no CDN, works offline and on an air-gapped workstation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from aiqyn.prices.report import region_name
from aiqyn.prices.run import one

FLAG_COLOUR = "#c62828"
BASE_COLOUR = "#90a4ae"
MEDIAN_COLOUR = "#1b5e20"
FENCE_COLOUR = "#ef6c00"
CEILING_COLOUR = "#6a1b9a"


def _tenge(x: float) -> str:
    if x == 0 or abs(x) >= 100:
        return f"{x:,.0f}".replace(",", " ")
    return f"{x:,.2f}"


def _money(x: float) -> str:
    """Money for a label: 2.23 bn, 372 mln, 45 thousand tenge."""
    if abs(x) >= 1e9:
        return f"{x / 1e9:,.2f} bn ₸"
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.1f} mln ₸"
    return f"{x:,.0f} ₸"


def _require(con: duckdb.DuckDBPyConnection) -> None:
    if not one(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'price_findings'"
                       )[0]:
        raise ValueError("the store has no price findings: run `aiqyn prices run` first")


def distribution_data(con: duckdb.DuckDBPyConnection, code: str | None, unit: str | None,
                      year: int | None) -> dict[str, Any]:
    _require(con)
    if code is None:
        row = con.execute("SELECT classification_id, unit FROM price_findings WHERE basis = 'benchmark' "
                          "GROUP BY ALL ORDER BY sum(money_at_stake) DESC LIMIT 1").fetchone()
        if row is None:
            raise ValueError("no benchmark findings to chart: give a goods code with --code")
        code, unit = row
    if unit is None:
        row = con.execute("SELECT unit FROM unit_prices WHERE classification_id = ? GROUP BY unit "
                          "ORDER BY count(*) DESC LIMIT 1", [code]).fetchone()
        if row is None:
            raise ValueError(f"no priced purchases with the goods code {code!r}")
        unit = row[0]
    args: list[Any] = [code, unit]
    year_sql = ""
    if year:
        year_sql = " AND u.year = ?"
        args.append(year)
    rows = con.execute(
        "SELECT u.unit_price, f.ocid IS NOT NULL, f.money_at_stake, u.description FROM unit_prices u "
        "LEFT JOIN price_findings f ON f.ocid = u.ocid AND f.section = u.section AND f.parent_id = u.parent_id "
        f"AND f.position = u.position WHERE u.classification_id = ? AND u.unit = ?{year_sql}", args).fetchall()
    if not rows:
        raise ValueError(f"no priced purchases of {code!r} per {unit!r}" + (f" in {year}" if year else ""))
    bench = con.execute(
        "SELECT n, q1, median, q3, upper_fence FROM price_benchmarks WHERE classification_id = ? AND unit = ? "
        "AND level = ? AND year = ?", [code, unit, "country-year" if year else "country", year or 0]).fetchone()
    ceiling = one(con, "SELECT median(ceiling_price) FROM unit_prices WHERE classification_id = ? AND unit = ?",
                          [code, unit])[0]
    years = one(con, "SELECT min(year), max(year) FROM unit_prices WHERE classification_id = ? AND unit = ?"
                + (" AND year = ?" if year else ""), args)
    names = [r[3] for r in rows if r[3]]
    return {
        "code": code, "unit": unit, "year": year,
        "name": max(set(names), key=names.count) if names else code,
        "prices": [r[0] for r in rows if not r[1]],
        "flagged": [r[0] for r in rows if r[1]],
        "money": sum(r[2] for r in rows if r[1]),
        "benchmark": dict(zip(("n", "q1", "median", "q3", "fence"), bench, strict=True)) if bench else None,
        "ceiling": ceiling,
        "years": f"{years[0]}" if years[0] == years[1] else f"{years[0]}–{years[1]}",
    }


def distribution_chart(con: duckdb.DuckDBPyConnection, out: Path, code: str | None = None,
                       unit: str | None = None, year: int | None = None, fmt: str = "both") -> list[Path]:
    """The distribution of the unit prices paid for one goods code, the flagged purchases in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import plotly.graph_objects as go
    from matplotlib.ticker import FuncFormatter

    d = distribution_data(con, code, unit, year)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"price_distribution_{d['code']}".replace("/", "_")
    everything = d["prices"] + d["flagged"]
    bins = [float(b) for b in np.linspace(0, max(everything) * 1.02, 60)]
    title = f"Prices paid for «{d['name'][:70]}» (goods code {d['code']}), {d['years']}"
    subtitle = (f"{len(everything):,} purchases; {len(d['flagged']):,} flagged as overpriced, "
                f"money at stake {_money(d['money'])}")
    xlabel = f"Price paid per {d['unit']}, tenge"
    lines: list[tuple[float, str, str, str]] = []
    b = d["benchmark"]
    if b:
        scope = f"Kazakhstan, {d['year']}" if d["year"] else "Kazakhstan, all years"
        lines.append((b["median"], MEDIAN_COLOUR, "-",
                      f"Benchmark: median {_tenge(b['median'])} ₸ ({b['n']:,} purchases, {scope})"))
        if b["fence"]:
            lines.append((b["fence"], FENCE_COLOUR, "--",
                          f"Overpricing threshold (outlier fence) {_tenge(b['fence'])} ₸"))
    if d["ceiling"]:
        lines.append((d["ceiling"], CEILING_COLOUR, ":", f"Ceiling price {_tenge(d['ceiling'])} ₸"))

    fig, ax = plt.subplots(figsize=(11, 6), dpi=110)
    ax.hist(d["prices"], bins=bins, color=BASE_COLOUR, label=f"Purchases within the norm ({len(d['prices']):,})")
    ax.hist(d["flagged"], bins=bins, color=FLAG_COLOUR,
            label=f"Flagged as overpriced ({len(d['flagged']):,}): bars, and one dot per purchase")
    # A few flagged purchases next to thousands of ordinary ones: one dot each, so that none is lost.
    top = max(np.histogram(everything, bins=bins)[0].max(), 1)
    rng = np.random.default_rng(0)
    ax.scatter(d["flagged"], top * (0.04 + 0.12 * rng.random(len(d["flagged"]))), s=22, color=FLAG_COLOUR,
               edgecolor="white", linewidth=0.5, zorder=3)
    for x, colour, style, label in lines:
        ax.axvline(x, color=colour, linestyle=style, linewidth=2, label=label)
    ax.set_title(f"{title}\n{subtitle}", fontsize=12, loc="left")
    ax.set_xlabel(xlabel, fontsize=11)
    ax.set_ylabel("Number of purchases", fontsize=11)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _tenge(x)))
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper right", fontsize=9, frameon=False)
    fig.text(0.01, 0.01, "Each purchase is compared with the median of its region and year when at least 100 "
             "comparable purchases exist, else of the country. Source: Aiqyn, `aiqyn prices chart`.",
             fontsize=8, color="#555555")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    written = []
    if fmt in ("png", "both"):
        written.append(out / f"{stem}.png")
        fig.savefig(written[-1])
    plt.close(fig)
    if fmt == "png":
        return written

    pfig = go.Figure()
    pfig.add_trace(go.Histogram(x=d["prices"], xbins={"start": 0, "end": float(bins[-1]),
                                                     "size": float(bins[1] - bins[0])},
                                marker_color=BASE_COLOUR, name=f"Purchases within the norm ({len(d['prices']):,})",
                                hovertemplate="price %{x} ₸<br>%{y} purchases<extra></extra>"))
    pfig.add_trace(go.Histogram(x=d["flagged"], xbins={"start": 0, "end": float(bins[-1]),
                                                      "size": float(bins[1] - bins[0])},
                                marker_color=FLAG_COLOUR, name=f"Flagged as overpriced ({len(d['flagged']):,})",
                                hovertemplate="price %{x} ₸<br>%{y} flagged purchases<extra></extra>"))
    top = float(max(np.histogram(everything, bins=bins)[0].max(), 1))
    jitter = np.random.default_rng(0).random(len(d["flagged"]))
    pfig.add_trace(go.Scatter(x=d["flagged"], y=top * (0.04 + 0.12 * jitter), mode="markers",
                              marker={"color": FLAG_COLOUR, "size": 7, "line": {"color": "white", "width": 0.5}},
                              name="One flagged purchase", hovertemplate="paid %{x:,.2f} ₸ per unit<extra></extra>"))
    for x, colour, style, label in lines:
        dash = {"-": "solid", "--": "dash", ":": "dot"}[style]
        pfig.add_trace(go.Scatter(x=[x, x], y=[0, 1], yaxis="y2", mode="lines", name=label,
                                  line={"color": colour, "dash": dash, "width": 2}, hoverinfo="name"))
    pfig.update_layout(
        title={"text": f"{title}<br><sup>{subtitle}</sup>"}, barmode="overlay", template="plotly_white",
        xaxis={"title": xlabel, "tickformat": ",.0f"}, yaxis={"title": "Number of purchases"},
        yaxis2={"overlaying": "y", "range": [0, 1], "visible": False},
        legend={"orientation": "h", "y": -0.2}, height=600)
    written.append(out / f"{stem}.html")
    pfig.write_html(written[-1], include_plotlyjs=True, full_html=True)
    return written


def regions_data(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    _require(con)
    rows = con.execute(
        "SELECT region_code, coalesce(sum(money_at_stake) FILTER (WHERE basis = 'benchmark'), 0), "
        "coalesce(sum(money_at_stake) FILTER (WHERE basis = 'ceiling'), 0), count(*), count(DISTINCT buyer_id) "
        "FROM price_findings GROUP BY 1 ORDER BY sum(money_at_stake)").fetchall()
    if not rows:
        raise ValueError("no findings to chart")
    return [{"region_code": r[0], "region": region_name(r[0]), "benchmark": r[1], "ceiling": r[2],
             "findings": r[3], "buyers": r[4]} for r in rows]


def regions_chart(con: duckdb.DuckDBPyConnection, out: Path, fmt: str = "both") -> list[Path]:
    """Money at stake by region, split into market-benchmark overpricing and medicines above the ceiling."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go
    from matplotlib.ticker import FuncFormatter

    rows = regions_data(con)
    years = one(con, "SELECT min(year), max(year) FROM price_findings")
    span = f"{years[0]}" if years[0] == years[1] else f"{years[0]}–{years[1]}"
    total = sum(r["benchmark"] + r["ceiling"] for r in rows)
    n = sum(r["findings"] for r in rows)
    title = f"Money at stake from overpriced purchases, by region, {span}"
    subtitle = (f"{n:,} purchases, {_money(total)} in total. "
                "Money at stake = (price paid − benchmark or ceiling) × quantity")
    out.mkdir(parents=True, exist_ok=True)
    names = [r["region"] for r in rows]
    bench = [r["benchmark"] / 1e6 for r in rows]
    ceil = [r["ceiling"] / 1e6 for r in rows]

    fig, ax = plt.subplots(figsize=(11, max(5, 0.42 * len(rows) + 1.8)), dpi=110)
    ax.barh(names, bench, color="#1565c0", label="Above the market benchmark (median of comparable purchases)")
    ax.barh(names, ceil, left=bench, color=CEILING_COLOUR, label="Medicines above the ceiling price")
    for i, r in enumerate(rows):
        v = r["benchmark"] + r["ceiling"]
        ax.text(v / 1e6, i, f"  {_money(v)} · {r['findings']:,} purchases, {r['buyers']:,} buyers",
                va="center", fontsize=8.5)
    ax.set_xlim(0, max(b + c for b, c in zip(bench, ceil, strict=True)) * 1.45)
    ax.set_title(f"{title}\n{subtitle}", fontsize=12, loc="left")
    ax.set_xlabel("Money at stake, million tenge", fontsize=11)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}".replace(",", " ")))
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=9, frameon=False)
    fig.tight_layout()
    written = []
    if fmt in ("png", "both"):
        written.append(out / "money_at_stake_by_region.png")
        fig.savefig(written[-1])
    plt.close(fig)
    if fmt == "png":
        return written

    pfig = go.Figure()
    custom = [[_money(r["benchmark"] + r["ceiling"]), r["findings"], r["buyers"]] for r in rows]
    pfig.add_trace(go.Bar(y=names, x=bench, orientation="h", marker_color="#1565c0", customdata=custom,
                          name="Above the market benchmark",
                          hovertemplate="%{y}<br>above the benchmark: %{x:,.1f} mln ₸<br>total %{customdata[0]}, "
                          "%{customdata[1]} purchases, %{customdata[2]} buyers<extra></extra>"))
    pfig.add_trace(go.Bar(y=names, x=ceil, orientation="h", marker_color=CEILING_COLOUR, customdata=custom,
                          name="Medicines above the ceiling price",
                          hovertemplate="%{y}<br>medicines above the ceiling: %{x:,.1f} mln ₸<extra></extra>"))
    pfig.update_layout(barmode="stack", template="plotly_white", title={"text": f"{title}<br><sup>{subtitle}</sup>"},
                       xaxis={"title": "Money at stake, million tenge", "tickformat": ",.0f"},
                       legend={"orientation": "h", "y": -0.15}, height=max(450, 32 * len(rows) + 200))
    written.append(out / "money_at_stake_by_region.html")
    pfig.write_html(written[-1], include_plotlyjs=True, full_html=True)
    return written
