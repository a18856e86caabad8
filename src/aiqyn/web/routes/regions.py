"""The regional corruption-risk index, public: the map and ranking (/regions), a unit's scorecard
(/regions/{kato}), and the same as JSON (/api/v1/regions). Aggregates only, no personal data; everything read
from the store's `region_index` and related tables (computed by `aiqyn index compute`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, Response

from aiqyn.regions import scorecard as sc
from aiqyn.web import i18n
from aiqyn.web import regions_view as view
from aiqyn.web.app import render
from aiqyn.web.auth import Principal
from aiqyn.web.deps import allow

router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["regions"])

Level = Annotated[str, Query(pattern="^(region|district)$")]
Period = Annotated[int | None, Query(ge=0, le=2100, description="Year; 0 for all years pooled; default the latest.")]
Quarter = Annotated[int, Query(ge=0, le=4, description="Quarter 1-4; 0 for the whole year.")]


def _query(request: Request) -> sc.Query | None:
    """The store's read-only query function, or None when the index has not been computed."""
    analytics = request.app.state.aiqyn.analytics
    if analytics is None or "region_index" not in analytics.tables \
            or not analytics.query("SELECT 1 AS x FROM region_index LIMIT 1"):
        return None
    return lambda sql, params: analytics.query(sql, params)


def _check_kato(kato: str) -> None:
    if len(kato) != 9 or not kato.isdigit():
        raise HTTPException(404, f"{kato!r} is not a KATO code (9 digits)")


def _ranking(query: sc.Query, level: str, period: int | None, quarter: int) -> tuple[int, list[dict[str, Any]]]:
    period = sc.latest_year(query) if period is None else period
    if quarter and not period:
        raise HTTPException(422, "a quarter needs a year (period)")
    return period, sc.ranking(query, level, period, quarter)


@router.get("/regions", response_class=HTMLResponse)
def regions_page(request: Request, who: Annotated[Principal, allow("portal.view")], level: Level = "region",
                 period: Period = None, quarter: Quarter = 0) -> Response:
    query = _query(request)
    if query is None:
        return render(request, "regions.html", rows=None, level=level, period=period or 0, quarter=quarter)
    period, rows = _ranking(query, level, period, quarter)
    lang = request.state.lang
    tr = i18n.translations(lang)
    history = sc.history(query, level, [r["kato"] for r in rows[:5]], until=max(period, sc.latest_year(query)))
    charts = view.ranking_charts(rows, level, period, lang, tr.gettext, history) if rows else {}
    return render(request, "regions.html", rows=rows, level=level, period=period, quarter=quarter, charts=charts,
                  periods=sc.periods(query), previous=sc.previous(period, quarter),
                  **view.helpers(lang, tr.gettext))


def _scorecard(request: Request, kato: str, period: int | None, quarter: int) -> tuple[sc.Query, Any]:
    """The store's query function and the scorecard of a unit and period (the latest year by default); 404 when
    the index or the unit is missing."""
    _check_kato(kato)
    query = _query(request)
    if query is None:
        raise HTTPException(404, "the regional index has not been computed (aiqyn index compute)")
    period = sc.latest_year(query) if period is None else period
    try:
        return query, sc.scorecard(query, kato, period, quarter)
    except sc.NotFound as exc:
        raise HTTPException(404, str(exc)) from exc


@router.get("/regions/{kato}", response_class=HTMLResponse)
def scorecard_page(request: Request, kato: str, who: Annotated[Principal, allow("portal.view")],
                   period: Period = None, quarter: Quarter = 0) -> Response:
    query, card = _scorecard(request, kato, period, quarter)
    lang = request.state.lang
    tr = i18n.translations(lang)
    return render(request, "region.html", card=card, links=True,
                  charts=view.scorecard_charts(card, lang, tr.gettext, links=True),
                  periods=[p for p in sc.periods(query) if p["quarter"] == 0],
                  **view.helpers(lang, tr.gettext))


@api_router.get("/regions")
def regions_api(request: Request, who: Annotated[Principal, allow("portal.view")], level: Level = "region",
                period: Period = None, quarter: Quarter = 0) -> Any:
    """The ranking of a level and period: each unit's index, its 90% bootstrap interval, the ranks it allows, its
    components, and the change from the previous period (`delta` in index, `moved` in places toward #1)."""
    query = _query(request)
    if query is None:
        raise HTTPException(404, "the regional index has not been computed (aiqyn index compute)")
    period, rows = _ranking(query, level, period, quarter)
    return jsonable_encoder({"level": level, "period": period, "quarter": quarter,
                             "previous": sc.previous(period, quarter), "units": rows})


@api_router.get("/regions/{kato}")
def region_api(request: Request, kato: str, who: Annotated[Principal, allow("portal.view")],
               period: Period = None, quarter: Quarter = 0) -> Any:
    """The scorecard of a region or district: the index, its components, trend, findings and recommendations."""
    _query_fn, card = _scorecard(request, kato, period, quarter)
    return jsonable_encoder(card.as_json())
