"""The JSON API (/api/v1): everything the pages do, described by the OpenAPI document at /api/openapi.json.

Sign in with POST /login (a session cookie), then send the CSRF token (GET /me) in the X-CSRF-Token header
of every POST.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from aiqyn.web import audit, reports, services
from aiqyn.web.auth import Principal, authenticate, new_csrf_token
from aiqyn.web.deps import IdPath, SessionDep, allow, csrf_token
from aiqyn.web.models import REC_STATUSES, REPORT_STATUSES, AuditEntry, Case, CitizenReport, PlanItem, Recommendation
from aiqyn.web.routes import plan as plan_routes
from aiqyn.web.routes import reports as report_routes
from aiqyn.web.routes.cases import (
    case_or_404,
    list_recommendations,
    open_case_from,
    recommendation_or_404,
    refused,
)
from aiqyn.web.routes.processes import _process_or_404, analytics_of, organisation_subject, queue_filters

router = APIRouter(tags=["api"])
StatusPattern = "^(" + "|".join(REC_STATUSES) + ")$"


class Me(BaseModel):
    username: str | None
    role: str
    organisation: str | None = None
    csrf_token: str


class Login(BaseModel):
    username: str = Field(max_length=100)
    password: str = Field(max_length=200)


class NewCase(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    ocid: str | None = Field(default=None, max_length=200)
    code: str | None = Field(default=None, max_length=10, description="The flag (indicator code) the case is about.")
    subject_type: str | None = Field(default=None, max_length=30)
    subject_id: str | None = Field(default=None, max_length=200)
    summary: str = Field(default="", max_length=20000)
    recommendation: str = Field(default="", max_length=20000, description="Text of a first recommendation (draft).")
    money_at_stake: Decimal = Field(default=Decimal(0), ge=0, lt=Decimal("1e16"), decimal_places=2)


class NewRecommendation(BaseModel):
    text: str = Field(min_length=1, max_length=20000)
    money_at_stake: Decimal = Field(default=Decimal(0), ge=0, lt=Decimal("1e16"), decimal_places=2)
    due_date: dt.date | None = None


class StatusChange(BaseModel):
    status: str = Field(pattern=StatusPattern)
    note: str = Field(default="", max_length=5000)


class Saving(BaseModel):
    amount: Decimal = Field(gt=0, lt=Decimal("1e16"), decimal_places=2)
    note: str = Field(default="", max_length=5000)


class Event(BaseModel):
    at: dt.datetime
    user: str
    kind: str
    from_status: str | None
    to_status: str | None
    amount: Decimal | None
    note: str


class RecommendationOut(BaseModel):
    id: int
    case_id: int
    organisation: str
    organisation_name: str
    region_code: str | None
    text: str
    money_at_stake: Decimal
    money_saved: Decimal
    currency: str
    status: str
    due_date: dt.date | None
    created_by: str
    created_at: dt.datetime
    issued_at: dt.datetime | None
    executed_at: dt.datetime | None
    events: list[Event]


class CaseOut(BaseModel):
    id: int
    title: str
    origin: str
    status: str
    ocid: str | None
    flag_code: str | None
    flag_subject_type: str | None
    flag_subject_id: str | None
    organisation: str | None
    region_code: str | None
    summary: str
    created_by: str
    created_at: dt.datetime
    recommendations: list[RecommendationOut]


class AuditOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    data: str
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    total: int
    verified: bool
    head: str
    problems: list[str]
    entries: list[AuditOut]


def rec_out(r: Recommendation) -> RecommendationOut:
    return RecommendationOut(
        id=r.id, case_id=r.case_id, organisation=r.organisation.subject_id, organisation_name=r.organisation.name,
        region_code=r.region_code, text=r.text, money_at_stake=r.money_at_stake, money_saved=r.money_saved,
        currency=r.currency, status=r.status, due_date=r.due_date, created_by=r.created_by.username,
        created_at=r.created_at, issued_at=r.issued_at, executed_at=r.executed_at,
        events=[Event(at=e.at, user=e.user.username, kind=e.kind, from_status=e.from_status, to_status=e.to_status,
                      amount=e.amount, note=e.note) for e in r.events])


def case_out(c: Case) -> CaseOut:
    return CaseOut(id=c.id, title=c.title, origin=c.origin, status=c.status, ocid=c.ocid, flag_code=c.flag_code,
                   flag_subject_type=c.flag_subject_type, flag_subject_id=c.flag_subject_id,
                   organisation=c.organisation.subject_id if c.organisation else None, region_code=c.region_code,
                   summary=c.summary, created_by=c.created_by.username, created_at=c.created_at,
                   recommendations=[rec_out(r) for r in c.recommendations])


@router.get("/me", response_model=Me)
def me(request: Request, db: SessionDep, who: Annotated[Principal, allow("portal.view")]) -> Me:
    org = None
    if who.user is not None and who.user.organisation is not None:
        org = who.user.organisation.subject_id
    return Me(username=who.user.username if who.user else None, role=who.role, organisation=org,
              csrf_token=csrf_token(request))


@router.post("/login", response_model=Me, responses={401: {"description": "Wrong username or password"},
                                                       429: {"description": "Too many attempts"}})
def login(body: Login, request: Request, db: SessionDep, who: Annotated[Principal, allow("portal.view")]) -> Me:
    if not request.app.state.aiqyn.login_limiter.allow(request.client.host if request.client else "?"):
        raise HTTPException(429, "too many attempts; wait a few minutes")
    user = authenticate(db, body.username, body.password)
    if user is None:
        raise HTTPException(401, "wrong username or password")
    request.session.clear()
    token = new_csrf_token()
    request.session.update({"uid": user.id, "ver": user.session_version, "csrf": token})
    audit.record(db, user.username, "session.login", "user", user.id, {})
    db.commit()
    return Me(username=user.username, role=user.role,
              organisation=user.organisation.subject_id if user.organisation else None, csrf_token=token)


@router.post("/logout", status_code=204)
def logout(request: Request, db: SessionDep, who: Annotated[Principal, allow("portal.view")]) -> None:
    if who.user is not None:
        audit.record(db, who.name, "session.logout", "user", who.user.id, {})
        db.commit()
    request.session.clear()


@router.get("/queue")
def queue(request: Request, db: SessionDep, who: Annotated[Principal, allow("queue.view")],
          region: Annotated[str | None, Query(max_length=9)] = None,
          district: Annotated[str | None, Query(max_length=9)] = None,
          buyer: Annotated[str | None, Query(max_length=200)] = None,
          method: Annotated[str | None, Query(max_length=200)] = None,
          flag: Annotated[str | None, Query(max_length=10)] = None,
          date_from: dt.date | None = None, date_to: dt.date | None = None,
          amount_min: Annotated[float | None, Query(ge=0, le=1e16)] = None,
          amount_max: Annotated[float | None, Query(ge=0, le=1e16)] = None,
          sort: Annotated[str, Query(pattern="^(score|flags|amount|date)$")] = "score",
          order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
          page: Annotated[int, Query(ge=1, le=100000)] = 1,
          per_page: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    """The risk queue: flagged (or scored) processes, riskiest first, with the filters of the page."""
    analytics = analytics_of(request)
    f = queue_filters(db, who, per_page, region=region, district=district, buyer=buyer, method=method, flag=flag,
                      date_from=date_from.isoformat() if date_from else None,
                      date_to=date_to.isoformat() if date_to else None,
                      amount_min=None if amount_min is None else str(amount_min),
                      amount_max=None if amount_max is None else str(amount_max),
                      sort=sort, order=order, page=page)
    rows, total = analytics.queue(f)
    return jsonable_encoder({"run_id": analytics.run_id, "total": total, "page": page, "per_page": per_page,
                             "rows": rows})


@router.get("/processes/{ocid}")
def process(ocid: str, request: Request, db: SessionDep,
            who: Annotated[Principal, allow("process.view")]) -> dict[str, Any]:
    """A process as the store holds it: parties, lots, items, bids, awards, contracts, amendments, documents,
    its flags with their evidence (and those of its buyer and tenderers), its score and timeline."""
    return jsonable_encoder(_process_or_404(request, db, who, ocid))


@router.get("/parties/{subject_id}")
def party(subject_id: str, request: Request, db: SessionDep,
          who: Annotated[Principal, allow("party.view")]) -> dict[str, Any]:
    """A buyer or supplier: its processes bought and won, and the flags about it."""
    owner = organisation_subject(db, who)
    if owner is not None and owner != subject_id:
        raise HTTPException(404, "no such organisation")
    data = analytics_of(request).party(subject_id)
    if data is None:
        raise HTTPException(404, "no such organisation")
    return jsonable_encoder(data)


@router.get("/cases", response_model=list[CaseOut])
def cases(db: SessionDep, who: Annotated[Principal, allow("case.view")],
          status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None) -> list[CaseOut]:
    q = select(Case).order_by(Case.id.desc())
    if status:
        q = q.where(Case.status == status)
    if who.organisation_id is not None:
        q = q.where(Case.organisation_id == who.organisation_id)
    return [case_out(c) for c in db.execute(q.limit(500)).scalars()]


@router.post("/cases", response_model=CaseOut, status_code=201)
def create_case(body: NewCase, request: Request, db: SessionDep,
                who: Annotated[Principal, allow("case.create")]) -> CaseOut:
    """Open a case from a finding (a process, a flag on it, or an organisation), with an optional first
    recommendation (a draft)."""
    case = open_case_from(request, db, who, title=body.title, ocid=body.ocid, code=body.code,
                          subject_type=body.subject_type, subject_id=body.subject_id, summary=body.summary,
                          recommendation=body.recommendation, money_at_stake=body.money_at_stake)
    return case_out(case)


@router.get("/cases/{case_id}", response_model=CaseOut)
def case(case_id: IdPath, db: SessionDep, who: Annotated[Principal, allow("case.view")]) -> CaseOut:
    return case_out(case_or_404(db, who, case_id))


@router.post("/cases/{case_id}/recommendations", response_model=RecommendationOut, status_code=201)
def add_recommendation(case_id: IdPath, body: NewRecommendation, db: SessionDep,
                       who: Annotated[Principal, allow("recommendation.create")]) -> RecommendationOut:
    c = case_or_404(db, who, case_id)
    try:
        rec = services.add_recommendation(db, who, c, text=body.text, money_at_stake=body.money_at_stake,
                                          due_date=body.due_date)
    except services.Refused as exc:
        db.rollback()
        raise refused(exc) from exc
    db.commit()
    return rec_out(rec)


@router.post("/cases/{case_id}/close", response_model=CaseOut)
def close_case(case_id: IdPath, db: SessionDep, who: Annotated[Principal, allow("case.create")]) -> CaseOut:
    c = case_or_404(db, who, case_id)
    try:
        services.close_case(db, who, c)
    except services.Refused as exc:
        db.rollback()
        raise refused(exc) from exc
    db.commit()
    return case_out(c)


@router.get("/recommendations", response_model=list[RecommendationOut])
def recommendations(db: SessionDep, who: Annotated[Principal, allow("case.view")],
                    status: Annotated[str | None, Query(pattern=StatusPattern)] = None,
                    region: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None) -> list[RecommendationOut]:
    return [rec_out(r) for r in list_recommendations(db, who, status, region)]


@router.get("/recommendations/{rec_id}", response_model=RecommendationOut)
def recommendation(rec_id: IdPath, db: SessionDep, who: Annotated[Principal, allow("case.view")]) -> RecommendationOut:
    return rec_out(recommendation_or_404(db, who, rec_id))


@router.post("/recommendations/{rec_id}/status", response_model=RecommendationOut)
def change_status(rec_id: IdPath, body: StatusChange, db: SessionDep,
                  who: Annotated[Principal, allow("recommendation.respond")]) -> RecommendationOut:
    """Move a recommendation on: issued (supervisor), accepted, in execution, executed or rejected (the
    organisation's compliance officer, or an analyst recording its answer), closed (supervisor)."""
    rec = recommendation_or_404(db, who, rec_id)
    try:
        services.change_status(db, who, rec, body.status, body.note)
    except services.Refused as exc:
        db.rollback()
        raise refused(exc) from exc
    db.commit()
    return rec_out(rec)


@router.post("/recommendations/{rec_id}/savings", response_model=RecommendationOut)
def record_saving(rec_id: IdPath, body: Saving, db: SessionDep,
                  who: Annotated[Principal, allow("saving.record")]) -> RecommendationOut:
    """Record money saved by the recommendation (added to what was recorded before)."""
    rec = recommendation_or_404(db, who, rec_id)
    try:
        services.record_saving(db, who, rec, body.amount, body.note)
    except services.Refused as exc:
        db.rollback()
        raise refused(exc) from exc
    db.commit()
    return rec_out(rec)


@router.get("/dashboard")
def dashboard(db: SessionDep, who: Annotated[Principal, allow("dashboard.view")],
              region: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None,
              year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> dict[str, Any]:
    """Recommendations issued, in execution, executed and the money saved, in total, by region and by quarter."""
    return jsonable_encoder(services.dashboard(db, region=region, year=year, organisation_id=who.organisation_id))


@router.get("/audit", response_model=AuditPage)
def audit_log(db: SessionDep, who: Annotated[Principal, allow("audit.view")],
              page: Annotated[int, Query(ge=1, le=1000000)] = 1,
              per_page: Annotated[int, Query(ge=1, le=1000)] = 100) -> AuditPage:
    """The audit log, newest first, with the verification of its hash chain."""
    total = db.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    rows = db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(per_page)
                      .offset((page - 1) * per_page)).scalars()
    check = audit.verify(db)
    return AuditPage(total=total, verified=check.ok, head=check.head, problems=check.problems,
                     entries=[AuditOut.model_validate(e, from_attributes=True) for e in rows])


# -- citizen reports -----------------------------------------------------------------------------------
class ReportReceipt(BaseModel):
    id: int
    follow_up_code: str = Field(description="Shown once: the reporter checks the report with it.")


class CodeQuery(BaseModel):
    code: str = Field(min_length=4, max_length=40)


class ReportStatus(BaseModel):
    kind: str
    status: str
    note: str
    received: dt.datetime
    updated: dt.datetime


class AttachmentOut(BaseModel):
    id: int
    content_type: str
    size: int
    sha256: str


class ReportOut(BaseModel):
    id: int
    kind: str
    text: str
    organisation_name: str
    region_code: str | None
    ocid: str | None
    contact: str
    status: str
    public_note: str
    case_id: int | None
    created_at: dt.datetime
    attachments: list[AttachmentOut]


class Triage(BaseModel):
    status: str | None = Field(default=None, pattern="^(" + "|".join(REPORT_STATUSES) + ")$")
    public_note: str | None = Field(default=None, max_length=5000)
    open_case: bool = False
    case_title: str = Field(default="", max_length=500)


def report_out(r: CitizenReport) -> ReportOut:
    return ReportOut(id=r.id, kind=r.kind, text=r.text, organisation_name=r.organisation_name,
                     region_code=r.region_code, ocid=r.ocid, contact=r.contact, status=r.status,
                     public_note=r.public_note, case_id=r.case_id, created_at=r.created_at,
                     attachments=[AttachmentOut(id=a.id, content_type=a.content_type, size=a.size, sha256=a.sha256)
                                  for a in r.attachments])


@router.post("/reports", response_model=ReportReceipt, status_code=201,
             responses={413: {"description": "An attachment is too large"}, 429: {"description": "Too many reports"}})
def submit_report(request: Request, db: SessionDep, who: Annotated[Principal, allow("report.submit")],
                  kind: Annotated[str, Form(pattern="^(corruption|price)$")],
                  text: Annotated[str, Form(max_length=20000)],
                  organisation_name: Annotated[str, Form(max_length=500)] = "",
                  region: Annotated[str, Form(pattern=r"^(\d{9})?$")] = "",
                  ocid: Annotated[str, Form(max_length=200)] = "",
                  contact: Annotated[str, Form(max_length=300)] = "",
                  files: Annotated[list[UploadFile], File()] = []) -> ReportReceipt:  # noqa: B006
    """A citizen's report (anonymous unless a contact is given), with photos or videos checked by content."""
    report, code = report_routes.submit_report(request, db, kind=kind, text=text, organisation_name=organisation_name,
                                               region=region, ocid=ocid, contact=contact, files=files)
    return ReportReceipt(id=report.id, follow_up_code=code)


@router.post("/reports/status", response_model=ReportStatus,
             responses={404: {"description": "No report has this code"}})
def report_status(body: CodeQuery, request: Request, db: SessionDep,
                  who: Annotated[Principal, allow("report.submit")]) -> ReportStatus:
    """What became of a report, by its follow-up code (never anyone's identity)."""
    if not request.app.state.aiqyn.login_limiter.allow("code:" + report_routes.client_key(request)):
        raise HTTPException(429, "too many attempts; wait a few minutes")
    report = reports.by_code(db, body.code)
    if report is None:
        raise HTTPException(404, "no report has this code")
    return ReportStatus(**reports.public_status(report))


@router.get("/triage", response_model=list[ReportOut])
def triage_list(db: SessionDep, who: Annotated[Principal, allow("reports.triage")],
                status: Annotated[str | None, Query(pattern="^(" + "|".join(REPORT_STATUSES) + ")$")] = None,
                ) -> list[ReportOut]:
    q = select(CitizenReport).order_by(CitizenReport.id.desc())
    if status:
        q = q.where(CitizenReport.status == status)
    return [report_out(r) for r in db.execute(q.limit(500)).scalars()]


@router.get("/triage/{report_id}", response_model=ReportOut)
def triage_item(report_id: IdPath, db: SessionDep, who: Annotated[Principal, allow("reports.triage")]) -> ReportOut:
    return report_out(report_routes.report_or_404(db, report_id))


@router.post("/triage/{report_id}", response_model=ReportOut)
def triage_update(report_id: IdPath, body: Triage, request: Request, db: SessionDep,
                  who: Annotated[Principal, allow("reports.triage")]) -> ReportOut:
    """Set a report's status and the note its reporter sees, or open a case from it."""
    report = report_routes.report_or_404(db, report_id)
    try:
        if body.open_case:
            report_routes.open_case_for(request, db, who, report, body.case_title)
        else:
            reports.triage(db, who, report, status=body.status, public_note=body.public_note)
    except services.Refused as exc:
        db.rollback()
        raise refused(exc) from exc
    db.commit()
    return report_out(report)


# -- plan items of a Comprehensive plan ---------------------------------------------------------------------
class NewPlanItem(BaseModel):
    plan: str = Field(min_length=1, max_length=300, description="The plan, e.g. an akimat's Comprehensive plan.")
    title: str = Field(min_length=1, max_length=5000, description="What is to be done.")
    owner: str = Field(min_length=1, max_length=300, description="Who answers for it.")
    deadline: dt.date
    organisation: str = Field(default="", max_length=100, description="BIN or subject id of the organisation.")
    region: str = Field(default="", pattern=r"^(\d{9})?$")


class PlanStatus(BaseModel):
    status: str = Field(pattern=plan_routes.StatusPattern)
    note: str = Field(default="", max_length=5000)


class PlanItemOut(BaseModel):
    id: int
    plan: str
    title: str
    owner: str
    organisation: str | None
    region_code: str | None
    deadline: dt.date
    status: str
    note: str
    overdue: bool
    done_at: dt.datetime | None


def plan_out(i: PlanItem) -> PlanItemOut:
    return PlanItemOut(id=i.id, plan=i.plan, title=i.title, owner=i.owner,
                       organisation=i.organisation.subject_id if i.organisation else None, region_code=i.region_code,
                       deadline=i.deadline, status=i.status, note=i.note, overdue=i.overdue(plan_routes.today()),
                       done_at=i.done_at)


@router.get("/plan", response_model=list[PlanItemOut])
def plan_items(db: SessionDep, who: Annotated[Principal, allow("plan.view")],
               status: Annotated[str | None, Query(pattern=plan_routes.StatusPattern)] = None,
               overdue: bool = False, region: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None,
               ) -> list[PlanItemOut]:
    """Items of the Comprehensive plan by deadline; `overdue`: past the deadline, neither done nor cancelled."""
    return [plan_out(i) for i in plan_routes.list_items(db, who, status, overdue, region)]


@router.post("/plan", response_model=PlanItemOut, status_code=201)
def plan_create(body: NewPlanItem, request: Request, db: SessionDep,
                who: Annotated[Principal, allow("plan.edit")]) -> PlanItemOut:
    item = plan_routes.create_item(request, db, who, plan=body.plan, title=body.title, owner=body.owner,
                                   deadline=body.deadline, organisation=body.organisation, region=body.region)
    return plan_out(item)


@router.post("/plan/{item_id}/status", response_model=PlanItemOut)
def plan_status(item_id: IdPath, body: PlanStatus, db: SessionDep,
                who: Annotated[Principal, allow("plan.update")]) -> PlanItemOut:
    item = plan_routes.item_or_404(db, who, item_id)
    plan_routes.update_status(db, who, item, body.status, body.note)
    return plan_out(item)
