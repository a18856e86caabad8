"""Plan items of a Comprehensive plan: owner, deadline, status; overdue items highlighted."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from aiqyn.web import services
from aiqyn.web.app import oblasts, render
from aiqyn.web.auth import Principal
from aiqyn.web.deps import IdPath, SessionDep, allow
from aiqyn.web.models import PLAN_STATUSES, Organisation, PlanItem

router = APIRouter(include_in_schema=False)
StatusPattern = "^(" + "|".join(PLAN_STATUSES) + ")$"


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def list_items(db: Session, who: Principal, status: str | None = None, overdue: bool = False,
               region: str | None = None) -> list[PlanItem]:
    q = select(PlanItem).order_by(PlanItem.deadline, PlanItem.id)
    if status:
        q = q.where(PlanItem.status == status)
    if who.organisation_id is not None:
        q = q.where(PlanItem.organisation_id == who.organisation_id)
    items = list(db.execute(q.limit(2000)).scalars())
    if region:
        items = [i for i in items if (i.region_code or "")[:2] == region[:2]]
    if overdue:
        items = [i for i in items if i.overdue(today())]
    return items


def item_or_404(db: Session, who: Principal, item_id: int) -> PlanItem:
    item = db.get(PlanItem, item_id)
    if item is None or (who.organisation_id is not None and item.organisation_id != who.organisation_id):
        raise HTTPException(404, "no such plan item")
    return item


def organisation_for(request: Request, db: Session, identifier: str) -> Organisation | None:
    """The organisation with this BIN or subject id: registered already, or named in the analytics store."""
    identifier = identifier.strip()
    if not identifier:
        return None
    subject_id = f"KZ-BIN-{identifier}" if identifier.isdigit() else identifier
    org = db.execute(select(Organisation).where(Organisation.subject_id == subject_id)).scalar_one_or_none()
    if org is not None:
        return org
    analytics = request.app.state.aiqyn.analytics
    party = analytics.party(subject_id, limit=1) if analytics is not None else None
    if party is None:
        raise HTTPException(422, f"organisation {subject_id}: not known to Aiqyn")
    return services.organisation(db, subject_id, party["party"]["name"], party["party"]["region_code"])


def create_item(request: Request, db: Session, who: Principal, *, plan: str, title: str, owner: str,
                deadline: dt.date, organisation: str, region: str | None) -> PlanItem:
    try:
        item = services.add_plan_item(db, who, plan=plan, title=title, owner=owner, deadline=deadline,
                                      organisation=organisation_for(request, db, organisation),
                                      region_code=region or None)
    except services.Refused as exc:
        db.rollback()
        raise HTTPException(exc.status, str(exc)) from exc
    db.commit()
    return item


def update_status(db: Session, who: Principal, item: PlanItem, status: str, note: str) -> None:
    try:
        services.set_plan_status(db, who, item, status, note)
    except services.Refused as exc:
        db.rollback()
        raise HTTPException(exc.status, str(exc)) from exc
    db.commit()


@router.get("/plan", response_class=HTMLResponse)
def plan_page(request: Request, db: SessionDep, who: Annotated[Principal, allow("plan.view")],
              status: Annotated[str | None, Query(pattern=StatusPattern)] = None,
              overdue: bool = False, region: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None) -> Response:
    items = list_items(db, who, status, overdue, region)
    return render(request, "plan.html", items=items, today=today(), status=status, overdue=overdue, region=region,
                  statuses=PLAN_STATUSES, oblasts=oblasts())


@router.post("/plan")
def plan_create(request: Request, db: SessionDep, who: Annotated[Principal, allow("plan.edit")],
                plan: Annotated[str, Form(min_length=1, max_length=300)],
                title: Annotated[str, Form(min_length=1, max_length=5000)],
                owner: Annotated[str, Form(min_length=1, max_length=300)],
                deadline: Annotated[dt.date, Form()],
                organisation: Annotated[str, Form(max_length=100)] = "",
                region: Annotated[str, Form(pattern=r"^(\d{9})?$")] = "") -> Response:
    create_item(request, db, who, plan=plan, title=title, owner=owner, deadline=deadline,
                organisation=organisation, region=region)
    return RedirectResponse("/plan", status_code=303)


@router.post("/plan/{item_id}/status")
def plan_status(item_id: IdPath, request: Request, db: SessionDep, who: Annotated[Principal, allow("plan.update")],
                status: Annotated[str, Form(pattern=StatusPattern)],
                note: Annotated[str, Form(max_length=5000)] = "") -> Response:
    update_status(db, who, item_or_404(db, who, item_id), status, note)
    return RedirectResponse("/plan", status_code=303)
