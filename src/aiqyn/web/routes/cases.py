"""Cases and recommendations: open a case from a finding, issue a recommendation with the money at stake,
follow it through its statuses to the money saved."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from aiqyn.web import services
from aiqyn.web.analytics import Analytics
from aiqyn.web.app import oblasts, render
from aiqyn.web.auth import Principal
from aiqyn.web.deps import IdPath, SessionDep, allow
from aiqyn.web.models import REC_STATUSES, Case, Recommendation
from aiqyn.web.routes.processes import _process_or_404, analytics_of

router = APIRouter(include_in_schema=False)


def refused(exc: services.Refused) -> HTTPException:
    return HTTPException(exc.status, str(exc))


def case_or_404(db: Session, who: Principal, case_id: IdPath) -> Case:
    case = db.get(Case, case_id)
    if case is None or (who.organisation_id is not None and case.organisation_id != who.organisation_id):
        raise HTTPException(404, "no such case")
    return case


def recommendation_or_404(db: Session, who: Principal, rec_id: IdPath) -> Recommendation:
    rec = db.get(Recommendation, rec_id)
    if rec is None or (who.organisation_id is not None and rec.organisation_id != who.organisation_id):
        raise HTTPException(404, "no such recommendation")
    return rec


def finding(analytics: Analytics, db: Session, who: Principal, ocid: str | None, code: str | None,
            subject_type: str | None, subject_id: str | None) -> dict[str, Any]:
    """What a new case starts from: the process (its buyer is the addressee), the flag, a suggested amount."""
    out: dict[str, Any] = {"ocid": ocid, "flag": None, "org": None, "title": "", "money_at_stake": None}
    if ocid:
        data = analytics.process(ocid)
        if data is None:
            raise HTTPException(404, "no such process")
        proc = data["process"]
        buyer = next((p for p in data["parties"] if p["party_id"] == proc["buyer_id"]), None)
        if buyer is not None:
            out["org"] = {"subject_id": buyer["subject_id"], "name": buyer["name"],
                          "region_code": buyer["region_code"] or proc["region_code"]}
        contracted = sum(c["amount"] or 0 for c in data["contracts"] if c["status"] != "cancelled")
        awarded = sum(a["amount"] or 0 for a in data["awards"] if a["status"] == "active")
        out["money_at_stake"] = contracted or awarded or proc["estimated_amount"]
        out["title"] = proc["title"] or ocid
        if code:
            out["flag"] = next((f for f in data["flags"] if f["code"] == code
                                and (subject_type is None or f["subject_type"] == subject_type)
                                and (subject_id is None or f["subject_id"] == subject_id)), None)
            if out["flag"] is None:
                raise HTTPException(404, "no such flag on this process")
    elif subject_id:
        party = analytics.party(subject_id, limit=1)
        if party is None:
            raise HTTPException(404, "no such organisation")
        out["org"] = {"subject_id": subject_id, "name": party["party"]["name"],
                      "region_code": party["party"]["region_code"]}
        out["title"] = party["party"]["name"]
        if code:
            out["flag"] = next((f for f in party["flags"] if f["code"] == code), None)
            if out["flag"] is not None:
                out["flag"] = {**out["flag"], "subject_id": subject_id}
    return out


@router.get("/cases", response_class=HTMLResponse)
def cases_page(request: Request, db: SessionDep, who: Annotated[Principal, allow("case.view")],
               status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None) -> Response:
    q = select(Case).order_by(Case.id.desc())
    if status:
        q = q.where(Case.status == status)
    if who.organisation_id is not None:
        q = q.where(Case.organisation_id == who.organisation_id)
    return render(request, "cases.html", cases=db.execute(q.limit(500)).scalars().all(), status=status)


@router.get("/cases/new", response_class=HTMLResponse)
def new_case_form(request: Request, db: SessionDep, who: Annotated[Principal, allow("case.create")],
                  ocid: str | None = None, code: str | None = None, subject_type: str | None = None,
                  subject_id: str | None = None) -> Response:
    from aiqyn.indicators.registry import REGISTRY

    start = finding(analytics_of(request), db, who, ocid, code, subject_type, subject_id)
    return render(request, "case_new.html", start=start, code=code, indicators=REGISTRY)


@router.post("/cases")
def create_case(request: Request, db: SessionDep, who: Annotated[Principal, allow("case.create")],
                title: Annotated[str, Form(min_length=1, max_length=500)],
                ocid: Annotated[str | None, Form()] = None, code: Annotated[str | None, Form()] = None,
                subject_type: Annotated[str | None, Form()] = None, subject_id: Annotated[str | None, Form()] = None,
                summary: Annotated[str, Form(max_length=20000)] = "",
                recommendation: Annotated[str, Form(max_length=20000)] = "",
                money_at_stake: Annotated[str, Form(max_length=40)] = "0") -> Response:
    case = open_case_from(request, db, who, title=title, ocid=ocid or None, code=code or None,
                          subject_type=subject_type or None, subject_id=subject_id or None, summary=summary,
                          recommendation=recommendation, money_at_stake=money_at_stake)
    return RedirectResponse(f"/cases/{case.id}", status_code=303)


def open_case_from(request: Request, db: Session, who: Principal, *, title: str, ocid: str | None, code: str | None,
                   subject_type: str | None, subject_id: str | None, summary: str, recommendation: str,
                   money_at_stake: Any) -> Case:
    analytics = analytics_of(request)
    if ocid:
        _process_or_404(request, db, who, ocid)
    start = finding(analytics, db, who, ocid, code, subject_type, subject_id)
    org = None
    if start["org"] is not None:
        org = services.organisation(db, start["org"]["subject_id"], start["org"]["name"], start["org"]["region_code"])
    flag = None
    if start["flag"] is not None:
        flag = {"code": start["flag"]["code"], "subject_type": start["flag"]["subject_type"],
                "subject_id": start["flag"]["subject_id"], "run_id": analytics.run_id}
    try:
        case = services.open_case(db, who, title=title, origin="flag" if flag else ("process" if ocid else "party"),
                                  organisation=org, ocid=ocid, region_code=start["org"]["region_code"] if org else None,
                                  summary=summary, flag=flag)
        if recommendation.strip():
            services.add_recommendation(db, who, case, text=recommendation, money_at_stake=money_at_stake or "0")
    except services.Refused as exc:
        db.rollback()
        raise refused(exc) from exc
    db.commit()
    return case


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(case_id: IdPath, request: Request, db: SessionDep,
              who: Annotated[Principal, allow("case.view")]) -> Response:
    case = case_or_404(db, who, case_id)
    return render(request, "case.html", case=case, transitions=lambda r: services.allowed_transitions(who, r))


@router.post("/cases/{case_id}/recommendations")
def add_recommendation(case_id: IdPath, request: Request, db: SessionDep,
                       who: Annotated[Principal, allow("recommendation.create")],
                       text: Annotated[str, Form(min_length=1, max_length=20000)],
                       money_at_stake: Annotated[str, Form(max_length=40)] = "0",
                       due_date: Annotated[dt.date | None, Form()] = None) -> Response:
    case = case_or_404(db, who, case_id)
    try:
        services.add_recommendation(db, who, case, text=text, money_at_stake=money_at_stake, due_date=due_date)
    except services.Refused as exc:
        db.rollback()
        raise refused(exc) from exc
    db.commit()
    return RedirectResponse(f"/cases/{case.id}", status_code=303)


@router.post("/cases/{case_id}/close")
def close_case(case_id: IdPath, request: Request, db: SessionDep,
               who: Annotated[Principal, allow("case.create")]) -> Response:
    case = case_or_404(db, who, case_id)
    try:
        services.close_case(db, who, case)
    except services.Refused as exc:
        db.rollback()
        raise refused(exc) from exc
    db.commit()
    return RedirectResponse(f"/cases/{case.id}", status_code=303)


@router.get("/recommendations", response_class=HTMLResponse)
def recommendations_page(request: Request, db: SessionDep, who: Annotated[Principal, allow("case.view")],
                         status: Annotated[str | None, Query(pattern="^(" + "|".join(REC_STATUSES) + ")$")] = None,
                         region: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None) -> Response:
    recs = list_recommendations(db, who, status, region)
    return render(request, "recommendations.html", recs=recs, status=status, region=region, oblasts=oblasts(),
                  statuses=REC_STATUSES)


def list_recommendations(db: Session, who: Principal, status: str | None, region: str | None) -> list[Recommendation]:
    q = select(Recommendation).order_by(Recommendation.id.desc())
    if status:
        q = q.where(Recommendation.status == status)
    if who.organisation_id is not None:
        q = q.where(Recommendation.organisation_id == who.organisation_id)
    recs = list(db.execute(q.limit(1000)).scalars())
    return [r for r in recs if not region or (r.region_code or "")[:2] == region[:2]]


@router.get("/recommendations/{rec_id}", response_class=HTMLResponse)
def recommendation_page(rec_id: IdPath, request: Request, db: SessionDep,
                        who: Annotated[Principal, allow("case.view")]) -> Response:
    rec = recommendation_or_404(db, who, rec_id)
    return render(request, "recommendation.html", rec=rec, transitions=services.allowed_transitions(who, rec),
                  can_save=who.can("saving.record") and rec.status in services.SAVING_STATUSES)


@router.post("/recommendations/{rec_id}/status")
def change_status(rec_id: IdPath, request: Request, db: SessionDep,
                  who: Annotated[Principal, allow("recommendation.respond")],
                  status: Annotated[str, Form(pattern="^(" + "|".join(REC_STATUSES) + ")$")],
                  note: Annotated[str, Form(max_length=5000)] = "") -> Response:
    rec = recommendation_or_404(db, who, rec_id)
    try:
        services.change_status(db, who, rec, status, note)
    except services.Refused as exc:
        db.rollback()
        raise refused(exc) from exc
    db.commit()
    return RedirectResponse(f"/recommendations/{rec.id}", status_code=303)


@router.post("/recommendations/{rec_id}/savings")
def record_saving(rec_id: IdPath, request: Request, db: SessionDep, who: Annotated[Principal, allow("saving.record")],
                  amount: Annotated[str, Form(min_length=1, max_length=40)],
                  note: Annotated[str, Form(max_length=5000)] = "") -> Response:
    rec = recommendation_or_404(db, who, rec_id)
    try:
        services.record_saving(db, who, rec, amount, note)
    except services.Refused as exc:
        db.rollback()
        raise refused(exc) from exc
    db.commit()
    return RedirectResponse(f"/recommendations/{rec.id}", status_code=303)

