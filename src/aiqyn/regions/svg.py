"""Charts of the regional index as inline SVG: the choropleth map, the components of a unit, the trend.

Plain SVG with presentation attributes only (no <script>, no style attributes), so that the same markup works
in the web application under its Content-Security-Policy (nothing but 'self') and in the printable report.
Every unit of the map is a link to its scorecard and carries a <title> (its names, index and rank) that the
browser shows on hover.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from aiqyn.regions.boundaries import geojson
from aiqyn.regions.maps import _rings

# matplotlib's YlOrRd at 0, 0.25, 0.5, 0.75, 1
STOPS = [(255, 255, 204), (254, 217, 118), (253, 141, 60), (227, 26, 28), (128, 0, 38)]
NO_DATA = "#eeeeee"
ASPECT = 1.5  # about 1 / cos(48 degrees N), as the PNG maps


def colour(value: float | None, top: float = 1.0) -> str:
    if value is None:
        return NO_DATA
    x = min(max(value / top if top > 0 else 0.0, 0.0), 1.0) * (len(STOPS) - 1)
    i = min(int(x), len(STOPS) - 2)
    f = x - i
    r, g, b = (round(a + (c - a) * f) for a, c in zip(STOPS[i], STOPS[i + 1], strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _a(text: Any) -> str:
    return escape(str(text), quote=True)


def choropleth(level: str, values: dict[str, dict[str, Any]], title: Callable[[str, dict[str, Any] | None, Any],
               str], href: Callable[[str], str] | None = None, width: int = 900, highlight: str | None = None,
               only_prefix: str = "", legend: tuple[str, str] = ("0", "1")) -> str:
    """The map of a level: each unit filled by its index (scaled to the highest shown), a link to `href(kato)`,
    with the hover text `title(kato, row or None, feature)`. `only_prefix` draws only the units whose KATO
    starts with it (the districts of one oblast)."""
    feats = [f for f in geojson(level)["features"] if f["id"].startswith(only_prefix)]
    xs = [p[0] for f in feats for ring in _rings(f["geometry"]) for p in ring]
    ys = [p[1] for f in feats for ring in _rings(f["geometry"]) for p in ring]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    scale = width / ((x1 - x0) or 1.0)
    height = round((y1 - y0) * scale * ASPECT)
    top = max([v["index_value"] for v in values.values() if v.get("index_value") is not None] + [1e-9])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="choropleth" viewBox="0 0 {width} {height + 40}" '
             f'width="100%" role="img" aria-label="{_a(legend[1])}">']
    for f in feats:
        v = values.get(f["id"])
        d = []
        for ring in _rings(f["geometry"]):
            pts = [(round((x - x0) * scale, 1), round((y1 - y) * scale * ASPECT, 1)) for x, y in ring]
            d.append("M" + " L".join(f"{x},{y}" for x, y in pts) + "Z")
        fill = colour(v["index_value"] if v else None, top)
        stroke, sw = ("#111", "2") if f["id"] == highlight else ("#555", "0.6") if v else ("#aaa", "0.4")
        path = (f'<path d="{" ".join(d)}" fill="{fill}" stroke="{stroke}" stroke-width="{sw}">'
                f'<title>{_a(title(f["id"], v, f))}</title></path>')
        if href is not None and v:
            path = f'<a href="{_a(href(f["id"]))}" data-kato="{f["id"]}">{path}</a>'
        parts.append(path)
    # legend: a gradient bar in ten steps
    for i in range(10):
        parts.append(f'<rect x="{10 + i * 20}" y="{height + 14}" width="20" height="12" '
                     f'fill="{colour((i + 0.5) / 10 * top, top)}"/>')
    parts.append(f'<rect x="230" y="{height + 14}" width="20" height="12" fill="{NO_DATA}" stroke="#aaa"/>')
    parts.append(f'<text x="10" y="{height + 40}" font-size="11" fill="#333">0</text>'
                 f'<text x="190" y="{height + 40}" font-size="11" fill="#333">{top:.2f}</text>'
                 f'<text x="256" y="{height + 24}" font-size="11" fill="#333">{_a(legend[0])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars(items: list[tuple[str, float | None, str]], width: int = 640, label_width: int = 300) -> str:
    """Horizontal bars in [0, 1]: (label, value or None, value text)."""
    row = 24
    height = row * len(items) + 10
    span = width - label_width - 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="bars" viewBox="0 0 {width} {height}" width="100%" '
             'role="img">']
    for i, (label, value, text) in enumerate(items):
        y = 5 + i * row
        fits = label_width // 8  # characters of 12px text that fit the label column
        short = label if len(label) <= fits else label[: fits - 1] + "…"
        parts.append(f'<text x="{label_width - 8}" y="{y + 15}" font-size="12" text-anchor="end" fill="#222">'
                     f'{_a(short)}<title>{_a(label)}</title></text>')
        parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{span}" height="16" fill="#f2f2f2"/>')
        if value is not None:
            parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{max(value, 0.0) * span:.1f}" height="16" '
                         f'fill="{colour(value)}" stroke="#888" stroke-width="0.5"/>')
        parts.append(f'<text x="{label_width + span + 6}" y="{y + 15}" font-size="12" fill="#222">{_a(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


PALETTE = ["#b10026", "#1f78b4", "#33a02c", "#ff7f00", "#6a3d9a", "#b15928", "#e31a1c", "#a6cee3"]


def trend(series: list[tuple[str, list[tuple[str, float, float | None, float | None]]]], width: int = 640,
          height: int = 240, y_label: str = "") -> str:
    """Lines of the index over periods: [(name, [(period label, index, ci_low, ci_high), ...]), ...], with the
    bootstrap interval of the first series shaded."""
    labels: list[str] = []
    for _, pts in series:
        for p in pts:
            if p[0] not in labels:
                labels.append(p[0])
    left, right, top_m, bottom = 44, 10, 12, 40
    legend_rows = len(series) if len(series) > 1 else 0
    w, h = width - left - right, height - top_m - bottom
    height += 16 * legend_rows
    hi = max([max(p[1], p[3] or 0.0) for _, pts in series for p in pts] + [0.05])
    hi = min(1.0, round(hi * 1.15 + 0.005, 2))

    def x(label: str) -> float:
        return left + (labels.index(label) + 0.5) * w / max(len(labels), 1)

    def y(v: float) -> float:
        return top_m + h - v / hi * h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" viewBox="0 0 {width} {height}" width="100%" '
             'role="img">']
    for i in range(5):
        v = hi * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end" fill="#555">'
                     f'{v:.2f}</text>')
    for lab in labels:
        parts.append(f'<text x="{x(lab):.1f}" y="{top_m + h + 16}" font-size="11" text-anchor="middle" '
                     f'fill="#333">{_a(lab)}</text>')
    if y_label:
        parts.append(f'<text x="{left}" y="{top_m + h + 34}" font-size="11" fill="#555">{_a(y_label)}</text>')
    if series:
        band = [(p[0], p[2], p[3]) for p in series[0][1] if p[2] is not None and p[3] is not None]
        if len(band) > 1:
            up = " ".join(f"{x(lab):.1f},{y(hi_):.1f}" for lab, _, hi_ in band)
            down = " ".join(f"{x(lab):.1f},{y(lo):.1f}" for lab, lo, _ in reversed(band))
            parts.append(f'<polygon points="{up} {down}" fill="{PALETTE[0]}" fill-opacity="0.12"/>')
        for lab, lo, hi_ in band:
            parts.append(f'<line x1="{x(lab):.1f}" x2="{x(lab):.1f}" y1="{y(lo):.1f}" y2="{y(hi_):.1f}" '
                         f'stroke="{PALETTE[0]}" stroke-opacity="0.5" stroke-width="2"/>')
    for i, (name, pts) in enumerate(series):
        c = PALETTE[i % len(PALETTE)]
        if len(pts) > 1:
            parts.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="'
                         + " ".join(f"{x(p[0]):.1f},{y(p[1]):.1f}" for p in pts) + '"/>')
        for p in pts:
            parts.append(f'<circle cx="{x(p[0]):.1f}" cy="{y(p[1]):.1f}" r="3.5" fill="{c}">'
                         f'<title>{_a(name)} {_a(p[0])}: {p[1]:.3f}</title></circle>')
    if legend_rows:  # below the chart, one line per series
        for i, (name, _) in enumerate(series):
            y0 = top_m + h + bottom + i * 16
            parts.append(f'<rect x="{left}" y="{y0}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
                         f'<text x="{left + 14}" y="{y0 + 9}" font-size="11" fill="#222">{_a(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
