"""What the regional index's pages and the printed report show beyond the rows: names in the reader's language,
period labels, the change from the previous period, the charts. Shared by the web pages (routes/regions.py) and
`aiqyn report region` (src/aiqyn/regions/report.py); its messages are in the interface catalogs (i18n/)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from aiqyn.regions import svg
from aiqyn.regions.scorecard import Scorecard


def N_(message: str) -> str:
    return message


# The components' names, as message ids of the interface catalogs.
COMPONENT_TITLES = {
    "risk_score": N_("Mean procurement risk score"),
    "single_bid": N_("Single-bid share"),
    "non_competitive": N_("Non-competitive share"),
    "money_at_stake": N_("Money at stake / spend"),
    "conflicts": N_("Conflict-of-interest share"),
    "collusion": N_("Collusion share"),
    "citizen_reports": N_("Citizens' price reports per 100 procurements"),
    "meeting_violations": N_("Meeting-rule violations per 100 procurements"),
    "recommendations": N_("Recommendations not carried out"),
    "public_control": N_("Out-of-turn and overdue-statement findings per 100 procurements"),
}
SHARES = {"single_bid", "non_competitive", "conflicts", "collusion", "recommendations"}


def helpers(lang: str, gettext: Callable[[str], str]) -> dict[str, Any]:
    """Template functions of the index's pages in `lang`."""
    _ = gettext

    def uname(row: dict[str, Any] | None) -> str:
        if not row:
            return ""
        return str(row["name_kk"] if lang == "kk" else row["name_ru"])

    def uname_alt(row: dict[str, Any] | None) -> str:
        if not row or row["name_kk"] == row["name_ru"]:
            return ""
        return str(row["name_ru"] if lang == "kk" else row["name_kk"])

    def level_name(level: str) -> str:
        return _("region") if level == "region" else _("district or city")

    def when(period: int, quarter: int = 0) -> str:
        if period == 0:
            return _("all years")
        return _("%(year)s, quarter %(q)s") % {"year": period, "q": quarter} if quarter else str(period)

    def change(row: dict[str, Any]) -> Markup:
        """▲ riskier / ▼ less risky than in the previous period: the index difference and the places moved."""
        delta, moved = row.get("delta"), row.get("moved")
        if not row.get("has_previous", True):
            return Markup('<span class="muted delta">—</span>')
        if delta is None:
            return Markup('<span class="muted delta">{}</span>').format(_("new"))
        arrow, cls = ("▲", "up") if delta > 0.0005 else ("▼", "down") if delta < -0.0005 else ("=", "same")
        places = ""
        if moved:
            places = " (" + (_("%(n)s up") if moved > 0 else _("%(n)s down")) % {"n": abs(moved)} + ")"
        title = _("riskier than in the previous period") if cls == "up" else \
            _("less risky than in the previous period") if cls == "down" else _("as in the previous period")
        return Markup('<span class="delta {}" title="{}">{} {:+.3f}{}</span>').format(cls, title, arrow, delta, places)

    def comp_title(key: str) -> str:
        return _(COMPONENT_TITLES.get(key, key))

    def comp_value(c: dict[str, Any]) -> str:
        v = c["raw"]
        if v is None:
            return "—"
        if c["key"] in SHARES:
            return f"{100 * v:.1f}%"
        if c["key"] == "money_at_stake":
            return f"{100 * v:.2f}%"
        return f"{v:.3f}"

    return {"uname": uname, "uname_alt": uname_alt, "level_name": level_name, "when": when, "change": change,
            "comp_title": comp_title, "comp_value": comp_value}


def map_title(h: dict[str, Any], gettext: Callable[[str], str]) -> Callable[[str, dict[str, Any] | None, Any], str]:
    _ = gettext

    def title(kato: str, row: dict[str, Any] | None, feature: Any) -> str:
        props = feature["properties"]
        name = f"{props['name_ru']} / {props['name_kk']}"
        if row is None:
            return f"{name} ({kato}): " + _("no procurements")
        ci = f" [{row['ci_low']:.2f}–{row['ci_high']:.2f}]" if row.get("ci_low") is not None else ""
        return (f"{name} ({kato}): " + _("index") + f" {row['index_value']:.3f}{ci}, "
                + _("rank %(rank)s of %(n)s") % {"rank": row["rank"], "n": row["n_units"]})

    return title


def scorecard_charts(card: Scorecard, lang: str, gettext: Callable[[str], str], links: bool) -> dict[str, Markup]:
    h = helpers(lang, gettext)
    bars = svg.bars([(h["comp_title"](c["key"]), c["norm"], f"{c['norm']:.2f}" if c["norm"] is not None else "—")
                     for c in card.components], width=700, label_width=360)
    trend = svg.trend([(h["uname"](card.unit), [(str(r["period"]), r["index_value"], r["ci_low"], r["ci_high"])
                                                for r in card.history])], y_label=gettext("index by year"))
    out = {"bars": Markup(bars), "trend": Markup(trend), "map": Markup("")}
    if card.children:
        values = {r["kato"]: r for r in card.children}
        out["map"] = Markup(svg.choropleth(
            "district", values, map_title(h, gettext), href=(lambda k: f"/regions/{k}?period={card.period}")
            if links else None, only_prefix=card.kato[:2], width=700,
            legend=(gettext("no procurements"), gettext("Corruption-risk index"))))
    return out


def ranking_charts(rows: list[dict[str, Any]], level: str, period: int, lang: str, gettext: Callable[[str], str],
                   history: list[dict[str, Any]], links: bool = True) -> dict[str, Markup]:
    """The map of a level and period, and the trend of its five riskiest units."""
    h = helpers(lang, gettext)
    values = {r["kato"]: r for r in rows}
    the_map = svg.choropleth(level, values, map_title(h, gettext),
                             href=(lambda k: f"/regions/{k}?period={period}") if links else None,
                             legend=(gettext("no procurements"), gettext("Corruption-risk index")))
    series: dict[str, list[tuple[str, float, float | None, float | None]]] = {}
    names: dict[str, str] = {}
    for r in history:
        series.setdefault(r["kato"], []).append((str(r["period"]), r["index_value"], None, None))
        names[r["kato"]] = h["uname"](r)
    top = [r["kato"] for r in rows[:5] if r["kato"] in series]
    trend = svg.trend([(names[k], series[k]) for k in top], y_label=gettext("index by year"), height=260)
    return {"map": Markup(the_map), "trend": Markup(trend)}
