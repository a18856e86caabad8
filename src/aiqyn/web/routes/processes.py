"""The risk queue, a process with its flags and evidence, a buyer or supplier: read from the analytics store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select

from aiqyn.web.analytics import SORTS, Analytics, QueueFilters
from aiqyn.web.app import cases_fragment, oblasts, render, render_html
from aiqyn.web.auth import Principal
from aiqyn.web.deps import SessionDep, allow, csrf_token
from aiqyn.web.models import Case, Organisation
from aiqyn.web.rendered import RenderedPages, page_key, user_values

router = APIRouter(include_in_schema=False)


def analytics_of(request: Request) -> Analytics:
    analytics = request.app.state.aiqyn.analytics
    if analytics is None:
        raise HTTPException(503, "no analytics store: start `aiqyn serve` with --db pointing at one")
    return analytics


def _opt(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _number(value: str | None, name: str) -> float | None:
    value = _opt(value)
    if value is None:
        return None
    try:
        return float(value.replace(" ", "").replace(",", "."))
    except ValueError:
        raise HTTPException(422, f"{name}: not a number: {value!r}") from None


def _date(value: str | None, name: str) -> dt.date | None:
    value = _opt(value)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name}: not a date (YYYY-MM-DD): {value!r}") from None


def organisation_subject(db: SessionDep, who: Principal) -> str | None:
    """A compliance officer's organisation's identity in the store; None for everyone else."""
    if who.organisation_id is None:
        return None
    org = db.get(Organisation, who.organisation_id)
    return org.subject_id if org else "-"


def queue_filters(db: SessionDep, who: Principal, per_page: int, *, region: str | None = None,
                  district: str | None = None, buyer: str | None = None, method: str | None = None,
                  flag: str | None = None, date_from: str | None = None, date_to: str | None = None,
                  amount_min: str | None = None, amount_max: str | None = None, sort: str = "score",
                  order: str = "desc", page: int = 1) -> QueueFilters:
    if sort not in SORTS:
        raise HTTPException(422, f"sort: one of {', '.join(SORTS)}")
    if order not in ("asc", "desc"):
        raise HTTPException(422, "order: asc or desc")
    return QueueFilters(region=_opt(region), district=_opt(district), buyer=_opt(buyer), method=_opt(method),
                        flag=_opt(flag), date_from=_date(date_from, "date_from"), date_to=_date(date_to, "date_to"),
                        amount_min=_number(amount_min, "amount_min"), amount_max=_number(amount_max, "amount_max"),
                        sort=sort, descending=order == "desc", page=page, per_page=per_page,
                        organisation=organisation_subject(db, who))




def cached_page(request: Request, who: Principal, owner: str | None,
                build: Callable[[], tuple[str, dict[str, Any]]], cases: list[Any] | None = None) -> Response:
    """A risk-queue or process page, from the rendered pages (rendered.py) when this worker has it, else rendered by
    `build` (the template and its context), kept, and filled with this user's fragments. The key holds the
    organisation (`owner`) a compliance officer is confined to, so one organisation's page never reaches another."""
    state = request.app.state.aiqyn
    pages: RenderedPages | None = state.rendered
    fragment = Markup(cases_fragment(request.scope, cases)) if cases else Markup("")
    if pages is None or who.user is None:
        template, context = build()
        return render(request, template, who=who, cases_html=fragment, **context)
    key = page_key(request.scope["path"], request.scope["query_string"], request.state.lang,
                   bool(request.headers.get("hx-request")), who.role, owner)
    entry = pages.get(key, count=False)
    if entry is None:
        template, context = build()
        html = render_html(request, template, pages.stand_in(who.role, who.user.organisation_id),
                           pages.slot("csrf"), cases_html=pages.slot("cases"), **context)
        entry = pages.put(key, html)
    values = {**user_values(csrf_token(request), who.user.username, who.user.full_name), "cases": fragment}
    return HTMLResponse(pages.fill(entry, values), headers={"X-Aiqyn-Cache": "miss"})


@router.get("/queue", response_class=HTMLResponse)
def queue_page(request: Request, db: SessionDep, who: Annotated[Principal, allow("queue.view")],
               region: str | None = None, district: str | None = None, buyer: str | None = None,
               method: str | None = None, flag: str | None = None, date_from: str | None = None,
               date_to: str | None = None, amount_min: str | None = None, amount_max: str | None = None,
               sort: str = "score", order: str = "desc", page: Annotated[int, Query(ge=1, le=100000)] = 1) -> Response:
    analytics = analytics_of(request)
    f = queue_filters(db, who, request.app.state.aiqyn.settings.page_size, region=region, district=district,
                      buyer=buyer, method=method, flag=flag, date_from=date_from, date_to=date_to,
                      amount_min=amount_min, amount_max=amount_max, sort=sort, order=order, page=page)

    def build() -> tuple[str, dict[str, Any]]:
        rows, total = analytics.queue(f)
        pages = max((total + f.per_page - 1) // f.per_page, 1)
        districts = [c for c in analytics.region_codes if f.region and c[:2] == f.region[:2]]
        template = "_queue_rows.html" if request.headers.get("hx-request") else "queue.html"
        return template, {"rows": rows, "total": total, "f": f, "pages": pages, "oblasts": oblasts(),
                          "districts": districts, "sorts": list(SORTS)}

    return cached_page(request, who, f.organisation, build)


def _process_or_404(request: Request, db: SessionDep, who: Principal, ocid: str) -> dict[str, Any]:
    analytics = analytics_of(request)
    owner = organisation_subject(db, who)
    if owner is not None and analytics.process_owner(ocid) != owner:
        raise HTTPException(404, "no such process")  # another organisation's: not even its existence is told
    data = analytics.process(ocid)
    if data is None:
        raise HTTPException(404, "no such process")
    return data


@router.get("/processes/{ocid}", response_class=HTMLResponse)
def process_page(ocid: str, request: Request, db: SessionDep,
                 who: Annotated[Principal, allow("process.view")]) -> Response:
    from aiqyn.indicators.registry import REGISTRY

    owner = organisation_subject(db, who)
    cases = db.execute(select(Case).where(Case.ocid == ocid).order_by(Case.id)).scalars().all()
    if who.organisation_id is not None:
        cases = [c for c in cases if c.organisation_id == who.organisation_id]

    def build() -> tuple[str, dict[str, Any]]:
        data = _process_or_404(request, db, who, ocid)
        return "process.html", {"p": data, "proc": data["process"], "indicators": REGISTRY}

    return cached_page(request, who, owner, build, list(cases))


@router.get("/parties/{subject_id}", response_class=HTMLResponse)
def party_page(subject_id: str, request: Request, db: SessionDep,
               who: Annotated[Principal, allow("party.view")]) -> Response:
    from aiqyn.indicators.registry import REGISTRY

    owner = organisation_subject(db, who)
    if owner is not None and subject_id != owner:
        raise HTTPException(404, "no such organisation")
    data = analytics_of(request).party(subject_id)
    if data is None:
        raise HTTPException(404, "no such organisation")
    return render(request, "party.html", d=data, indicators=REGISTRY)
