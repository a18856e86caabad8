"""The public portal (/public, no account): aggregate statistics, processes with their public flags, the project
office's recommendations and the money saved; the same under /api/v1/public. What is public: aiqyn.web.public."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from aiqyn.web import public, services
from aiqyn.web.analytics import Analytics
from aiqyn.web.app import oblasts, render
from aiqyn.web.auth import Principal
from aiqyn.web.deps import SessionDep, allow

router = APIRouter(include_in_schema=False)
api = APIRouter(tags=["public"])

PER_PAGE = 50
Region = Annotated[str | None, Query(pattern=r"^(\d{9})?$", description="KATO code of an oblast.")]
Year = Annotated[int | None, Query(ge=2000, le=2100)]
Code = Annotated[str | None, Query(max_length=10, description="A public indicator's code.")]
Page = Annotated[int, Query(ge=1, le=100000)]


def _analytics(request: Request) -> Analytics | None:
    return request.app.state.aiqyn.analytics


def _required(request: Request) -> Analytics:
    analytics = _analytics(request)
    if analytics is None:
        raise HTTPException(503, "no analytics store: start `aiqyn serve` with --db pointing at one")
    return analytics


def _flag(code: str | None) -> str | None:
    code = (code or "").strip().upper() or None
    if code is not None and not public.is_public(code):
        raise HTTPException(422, f"flag: {code} is not a public indicator")
    return code


def _recommendations(db: SessionDep) -> dict[str, Any]:
    data = services.dashboard(db)
    return {"total": data["total"], "by_region": [r for r in data["by_region"] if r["region"]]}


@router.get("/public", response_class=HTMLResponse)
def portal(request: Request, db: SessionDep, who: Annotated[Principal, allow("portal.view")]) -> Response:
    from aiqyn.indicators.registry import REGISTRY

    analytics = _analytics(request)
    stats = public.summary(analytics) if analytics is not None else None
    return render(request, "public.html", stats=stats, recs=_recommendations(db), indicators=REGISTRY)


@router.get("/public/processes", response_class=HTMLResponse)
def portal_processes(request: Request, who: Annotated[Principal, allow("portal.view")], region: Region = None,
                     year: Year = None, flag: Code = None, page: Page = 1) -> Response:
    from aiqyn.indicators.registry import REGISTRY

    code = _flag(flag)
    rows, total = public.processes(_required(request), region=region or None, year=year, flag=code, page=page,
                                   per_page=PER_PAGE)
    years = [r["year"] for r in public.summary(_required(request))["by_year"] if r["year"]]
    return render(request, "public_processes.html", rows=rows, total=total, region=region, year=year, flag=code,
                  page=page, pages=max((total + PER_PAGE - 1) // PER_PAGE, 1), oblasts=oblasts(), years=years,
                  codes=public.PUBLIC_CODES, indicators=REGISTRY)


@router.get("/public/processes/{ocid}", response_class=HTMLResponse)
def portal_process(ocid: str, request: Request, who: Annotated[Principal, allow("portal.view")]) -> Response:
    from aiqyn.indicators.registry import REGISTRY

    data = public.process(_required(request), ocid)
    if data is None:
        raise HTTPException(404, "no such process")
    return render(request, "public_process.html", d=data, proc=data["process"], indicators=REGISTRY)


# -- the JSON API ----------------------------------------------------------------------------------------------------
class Figures(BaseModel):
    processes: int
    estimated: float | None = Field(description="Sum of the estimated values in tenge.")
    contracted: float | None = Field(description="Sum of the contracts' values in tenge (not cancelled).")
    flagged: int = Field(description="Processes with at least one public flag.")


class YearFigures(Figures):
    year: int | None


class RegionFigures(Figures):
    region: str | None = Field(description="KATO code of the oblast.")


class FlagCount(BaseModel):
    code: str
    title: str
    processes: int


class RecFigures(BaseModel):
    issued: int
    accepted: int
    in_execution: int
    executed: int
    rejected: int
    money_at_stake: Decimal
    money_saved: Decimal


class RegionRecs(RecFigures):
    region: str


class Summary(BaseModel):
    total: Figures | None
    by_year: list[YearFigures]
    by_region: list[RegionFigures]
    by_flag: list[FlagCount]
    recommendations: RecFigures
    recommendations_by_region: list[RegionRecs]
    flags_run: str | None = Field(description="The analytics run the flags come from.")
    flags_run_finished: dt.datetime | None


class PublicProcessRow(BaseModel):
    ocid: str
    title: str | None
    buyer_name: str | None
    region_code: str | None
    estimated_amount: float | None
    estimated_currency: str | None
    date: dt.datetime | None
    score: float | None
    rank: int | None
    codes: list[str]


class PublicProcessList(BaseModel):
    total: int
    page: int
    rows: list[PublicProcessRow]


class PublicFlag(BaseModel):
    code: str
    title: str
    why: str


class PublicProcess(BaseModel):
    process: dict[str, Any]
    score: float | None
    rank: int | None
    scored: int = Field(description="Processes ranked: a rank is read against it.")
    flags: list[PublicFlag]


def _figures(r: dict[str, Any]) -> dict[str, Any]:
    return {k: r[k] for k in ("processes", "estimated", "contracted", "flagged")}


@api.get("/public/summary", response_model=Summary)
def api_summary(request: Request, db: SessionDep, who: Annotated[Principal, allow("portal.view")]) -> Summary:
    """Processes, amounts and processes with public flags, in total, by year, by oblast and by flag; the
    recommendations issued, being carried out, executed and the money saved. No account needed."""
    from aiqyn.indicators.registry import REGISTRY

    analytics = _analytics(request)
    stats = public.summary(analytics) if analytics is not None else None
    recs = _recommendations(db)
    run = (stats or {}).get("run") or {}
    return Summary(
        total=Figures(**_figures(stats["total"])) if stats else None,
        by_year=[YearFigures(year=r["year"], **_figures(r)) for r in (stats or {}).get("by_year", [])],
        by_region=[RegionFigures(region=r["region"], **_figures(r)) for r in (stats or {}).get("by_region", [])],
        by_flag=[FlagCount(code=r["code"], title=REGISTRY[r["code"]].title, processes=r["processes"])
                 for r in (stats or {}).get("by_flag", [])],
        recommendations=RecFigures(**recs["total"]),
        recommendations_by_region=[RegionRecs(**r) for r in recs["by_region"]],
        flags_run=run.get("run_id"), flags_run_finished=run.get("finished_at"))


@api.get("/public/processes", response_model=PublicProcessList)
def api_processes(request: Request, who: Annotated[Principal, allow("portal.view")], region: Region = None,
                  year: Year = None, flag: Code = None, page: Page = 1) -> PublicProcessList:
    """Processes with a public flag, riskiest first, 50 a page."""
    rows, total = public.processes(_required(request), region=region or None, year=year, flag=_flag(flag),
                                   page=page, per_page=PER_PAGE)
    return PublicProcessList(total=total, page=page, rows=[PublicProcessRow(**{
        k: r[k] for k in PublicProcessRow.model_fields}) for r in rows])


@api.get("/public/processes/{ocid}", response_model=PublicProcess)
def api_process(ocid: str, request: Request, who: Annotated[Principal, allow("portal.view")]) -> PublicProcess:
    """A process's facts, its risk score and rank, and its public flags with why they matter (no evidence)."""
    from aiqyn.indicators.registry import REGISTRY

    data = public.process(_required(request), ocid)
    if data is None:
        raise HTTPException(404, "no such process")
    score = data["score"] or {}
    return PublicProcess(process=data["process"], score=score.get("score"), rank=score.get("rank"),
                         scored=data["n_scored"],
                         flags=[PublicFlag(code=c, title=REGISTRY[c].title, why=REGISTRY[c].why)
                                for c in data["codes"]])
