"""Choropleth maps of the regional index: a static PNG (matplotlib) and an interactive HTML page (Plotly,
plotly.js inlined: no CDN, no tile server), drawn from the boundary files shipped in the package."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import duckdb

from aiqyn.regions.boundaries import geojson

LEVEL_TITLES = {"region": "областям / облыстар", "district": "районам и городам / аудандар мен қалалар"}


def index_values(con: duckdb.DuckDBPyConnection, level: str, period: int, quarter: int = 0
                 ) -> dict[str, dict[str, Any]]:
    """The index rows of a level, period and quarter (0: the whole period), keyed by KATO."""
    cur = con.execute("SELECT * FROM region_index WHERE level = ? AND period = ? AND quarter = ?",
                      [level, period, quarter])
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
    return {r["kato"]: r for r in rows}


def _rings(geom: dict[str, Any]) -> list[list[list[float]]]:
    """The exterior rings of a Polygon or MultiPolygon (holes are not drawn at this scale)."""
    if geom["type"] == "Polygon":
        return [geom["coordinates"][0]]
    return [poly[0] for poly in geom["coordinates"]]


def _label_point(rings: list[list[list[float]]]) -> tuple[float, float]:
    """Centroid of the largest ring (shoelace formula), where the unit's label goes."""
    best, best_area, best_xy = None, -1.0, (0.0, 0.0)
    for ring in rings:
        a = cx = cy = 0.0
        for (x0, y0), (x1, y1) in pairwise(ring):
            c = x0 * y1 - x1 * y0
            a += c
            cx += (x0 + x1) * c
            cy += (y0 + y1) * c
        if abs(a) > best_area and a != 0:
            best, best_area, best_xy = ring, abs(a), (cx / (3 * a), cy / (3 * a))
    return best_xy if best is not None else (rings[0][0][0], rings[0][0][1])


def png(con: duckdb.DuckDBPyConnection, level: str, period: int, out: Path, labels: bool | None = None,
        quarter: int = 0) -> Path:
    """A choropleth PNG of the index of a level and period; units without procurements are hatched grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import Normalize

    values = index_values(con, level, period, quarter)
    cmap = plt.get_cmap("YlOrRd")
    norm = Normalize(0.0, max([v["index_value"] for v in values.values()] + [1e-9]))
    fig, ax = plt.subplots(figsize=(14, 7.5), dpi=110)
    polys: list[list[list[float]]] = []
    hatched: list[list[list[float]]] = []
    colours: list[Any] = []
    show_labels = level == "region" if labels is None else labels
    for f in geojson(level)["features"]:
        rings = _rings(f["geometry"])
        v = values.get(f["id"])
        for ring in rings:
            (polys if v else hatched).append(ring)
            if v:
                colours.append(cmap(norm(v["index_value"])))
        if show_labels or (v and v["rank"] <= 5 and level == "district"):
            x, y = _label_point(rings)
            name = f["properties"]["name_ru"]
            text = f"{name}\n{v['index_value']:.2f} (#{v['rank']})" if v else name
            ax.annotate(text, (x, y), ha="center", va="center", fontsize=7 if level == "region" else 6.5,
                        color="#222", bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.6})
    ax.add_collection(PolyCollection(hatched, facecolors="#eeeeee", edgecolors="#bbbbbb", linewidths=0.3,
                                     hatch="////"))
    ax.add_collection(PolyCollection(polys, facecolors=colours, edgecolors="#555555", linewidths=0.4))
    ax.autoscale_view()
    ax.set_aspect(1.5)  # about 1 / cos(48 degrees N): keeps Kazakhstan's shape in plain longitude/latitude
    ax.set_axis_off()
    when = "все годы" if period == 0 else f"{period}, {quarter} кв." if quarter else str(period)
    ax.set_title(f"Индекс коррупционных рисков по {LEVEL_TITLES[level]} — {when}\n"
                 f"(0 = наименьший риск, 1 = наибольший; штриховка: нет закупок)", fontsize=12)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.6, label="индекс / индекс")
    mapped = {f["id"] for f in geojson(level)["features"]}
    off = sorted((v["rank"], v["name_ru"], v["index_value"]) for k, v in values.items() if k not in mapped)
    note = ("; нет на карте 2024 г.: " + ", ".join(f"#{r} {n} {i:.2f}" for r, n, i in off)) if off else ""
    ax.text(0.0, -0.02, f"Границы: geokz (CC BY 4.0, A. Rodionov), упрощено. Aiqyn, docs/regions.md{note}",
            fontsize=7, color="#666", transform=ax.transAxes)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    return out


def html(con: duckdb.DuckDBPyConnection, level: str, period: int, out: Path, quarter: int = 0) -> Path:
    """An interactive choropleth (hover: names in Russian and Kazakh, index, interval, rank, components),
    self-contained: plotly.js is written into the page, and the shapes are drawn as plain filled polygons on
    longitude/latitude axes, so the page fetches nothing (no CDN, no tile server, no base-map topojson)."""
    import plotly.graph_objects as go
    from plotly.colors import sample_colorscale

    from aiqyn.regions.index import COMPONENTS

    values = index_values(con, level, period, quarter)
    top = max([v["index_value"] for v in values.values()] + [1e-9])
    fig = go.Figure()
    for f in geojson(level)["features"]:
        v = values.get(f["id"])
        if v:
            comps = "<br>".join(f"{c.key}: {v[c.key]:.3f} → {v[c.key + '_norm']:.2f}" for c in COMPONENTS
                                if v[c.key] is not None and v[c.key + "_norm"] is not None)
            ci = (f" [{v['ci_low']:.2f}; {v['ci_high']:.2f}], место {v['rank_best']}–{v['rank_worst']}"
                  if v["ci_low"] is not None else "")
            text = (f"<b>{v['name_ru']}</b> / {v['name_kk']} ({f['id']})<br>индекс {v['index_value']:.3f}{ci}<br>"
                    f"место {v['rank']} из {v['n_units']}, закупок {v['n_processes']}<br>{comps}")
            colour = sample_colorscale("YlOrRd", [v["index_value"] / top])[0]
        else:
            text = f"{f['properties']['name_ru']} / {f['properties']['name_kk']} ({f['id']}): нет закупок"
            colour = "#eeeeee"
        for i, ring in enumerate(_rings(f["geometry"])):
            fig.add_trace(go.Scatter(
                x=[p[0] for p in ring], y=[p[1] for p in ring], fill="toself", fillcolor=colour, mode="lines",
                line={"color": "#555" if v else "#bbb", "width": 0.6 if v else 0.3}, hoveron="fills",
                text=text, hoverinfo="text", showlegend=False, legendgroup=f["id"], name=f["id"] if i == 0 else ""))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                             marker={"colorscale": "YlOrRd", "cmin": 0, "cmax": top, "color": [0],
                                     "colorbar": {"title": "индекс"}, "showscale": True}))
    when = "все годы" if period == 0 else f"{period}, {quarter} кв." if quarter else str(period)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1.5)
    fig.update_layout(title=f"Индекс коррупционных рисков по {LEVEL_TITLES[level]} — {when}",
                      margin={"l": 0, "r": 0, "t": 40, "b": 0}, height=650, plot_bgcolor="white",
                      hoverlabel={"align": "left"})
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(out, include_plotlyjs=True, full_html=True, config={"displaylogo": False})
    return out


def trend_png(rows: list[dict[str, Any]], units: list[str], level: str, out: Path, quarters: bool = False) -> Path:
    """The index of `units` over the years (or quarters) with their 90% intervals, one line each, riskiest of
    the last period first in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted({(r["period"], r["quarter"]) for r in rows})
    pos = {p: i for i, p in enumerate(labels)}
    fig, ax = plt.subplots(figsize=(11, 5.5), dpi=110)
    cmap = plt.get_cmap("tab10")
    for i, kato in enumerate(units):
        pts = [r for r in rows if r["kato"] == kato]
        if not pts:
            continue
        xs = [pos[(r["period"], r["quarter"])] for r in pts]
        colour = cmap(i % 10)
        name = f"{pts[0]['name_ru']} / {pts[0]['name_kk']}"
        ax.plot(xs, [r["index_value"] for r in pts], marker="o", color=colour, label=name, linewidth=2)
        if all(r["ci_low"] is not None for r in pts):
            ax.fill_between(xs, [r["ci_low"] for r in pts], [r["ci_high"] for r in pts], color=colour, alpha=0.07,
                            linewidth=0)
    ax.set_xticks(range(len(labels)), [f"{p} Q{q}" if q else str(p) for p, q in labels],
                  rotation=45 if quarters else 0)
    ax.set_ylim(0, min(1.0, max(r["ci_high"] or r["index_value"] for r in rows) * 1.1 + 0.02))
    ax.set_ylabel("индекс / индекс (0–1)")
    ax.grid(axis="y", color="#dddddd")
    ax.spines[["top", "right"]].set_visible(False)
    what = "областей" if level == "region" else "районов и городов"
    ax.set_title(f"Индекс коррупционных рисков {what}: динамика " + ("по кварталам" if quarters else "по годам")
                 + "\n(линия: индекс; полоса: 90% бутстреп-интервал)", fontsize=12)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    return out
