"""The meetings register: officials' meetings with businesses, recorded by their organisation's compliance officer,
listed with the rule violations `aiqyn meetings check` found in the analytics store (pages and /api/v1/meetings)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from aiqyn.web import meetings as register
from aiqyn.web.app import render
from aiqyn.web.auth import Principal
from aiqyn.web.deps import IdPath, SessionDep, allow
from aiqyn.web.models import Meeting, Organisation
from aiqyn.web.services import Refused

router = APIRouter(include_in_schema=False)
api = APIRouter(tags=["meetings"])

Bin = Annotated[str | None, Query(max_length=100, description="The organisation (BIN or subject id); ignored for a "
                                  "compliance officer, who sees their own.")]
Day = Annotated[str | None, Query(max_length=20, description="YYYY-MM-DD")]


def _day(value: str | None, name: str) -> dt.date | None:
    if not value or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise HTTPException(422, f"{name}: not a date (YYYY-MM-DD): {value!r}") from None


def _organisation_filter(db: Session, who: Principal, organisation: str | None) -> int | None:
    organisation = (organisation or "").strip()
    if who.organisation_id is not None or not organisation:
        return None
    if not re.fullmatch(r"(KZ-BIN-)?\d{12}", organisation):
        raise HTTPException(422, f"organisation: a 12-digit BIN or KZ-BIN-... expected: {organisation!r}")
    subject = organisation if organisation.startswith("KZ-BIN-") else f"KZ-BIN-{organisation}"
    org = db.execute(select(Organisation).where(Organisation.subject_id == subject)).scalar_one_or_none()
    return org.id if org is not None else -1


def meeting_or_404(db: Session, who: Principal, meeting_id: int) -> Meeting:
    meeting = db.get(Meeting, meeting_id)
    if meeting is None or not register.visible(who, meeting):
        raise HTTPException(404, "no such meeting")  # another organisation's: not even its existence is told
    return meeting


def own_organisation(db: Session, who: Principal, requested: str | None = None) -> Organisation:
    """The organisation a compliance officer records meetings for; another one asked for is refused."""
    org = db.get(Organisation, who.organisation_id) if who.organisation_id is not None else None
    if org is None:
        raise HTTPException(403, "only a compliance officer of an organisation records its meetings")
    if requested:
        subject = requested if requested.startswith("KZ-BIN-") else f"KZ-BIN-{requested.strip()}"
        if subject != org.subject_id:
            raise HTTPException(403, "a compliance officer records only the meetings of their own organisation")
    return org


def record_meeting(request: Request, db: Session, who: Principal, form: register.MeetingForm,
                   organisation: str | None = None) -> Meeting:
    org = own_organisation(db, who, organisation)
    try:
        meeting = register.record(db, who, form, org)
    except Refused as exc:
        db.rollback()
        raise HTTPException(exc.status, str(exc)) from exc
    db.commit()
    return meeting


def _view(request: Request, meetings: list[Meeting]) -> register.StoreView:
    return register.read_violations(request.app.state.aiqyn.analytics, [m.register_id for m in meetings])


def _page(request: Request, db: Session, who: Principal, *, organisation: str | None, date_from: dt.date | None,
          date_to: dt.date | None, form: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
          status_code: int = 200) -> Response:
    rows = register.listing(db, who, organisation_id=_organisation_filter(db, who, organisation),
                            date_from=date_from, date_to=date_to)
    view = _view(request, rows)
    org = db.get(Organisation, who.organisation_id) if who.organisation_id is not None else None
    officials = register.officials_of(request.app.state.aiqyn.analytics, org.subject_id if org else None) \
        if who.can("meeting.record") else []
    return render(request, "meetings.html", status_code=status_code, meetings=rows, view=view, org=org,
                  officials=officials, rules=register.RULES, organisation=organisation, date_from=date_from,
                  date_to=date_to, form=form or {}, errors=errors or {})


@router.get("/meetings", response_class=HTMLResponse)
def meetings_page(request: Request, db: SessionDep, who: Annotated[Principal, allow("meeting.view")],
                  organisation: Bin = None, date_from: Day = None, date_to: Day = None) -> Response:
    return _page(request, db, who, organisation=organisation, date_from=_day(date_from, "date_from"),
                 date_to=_day(date_to, "date_to"))


@router.post("/meetings", response_class=HTMLResponse)
def meetings_record(request: Request, db: SessionDep, who: Annotated[Principal, allow("meeting.record")],
                    official_iin: Annotated[str, Form(max_length=20)] = "",
                    official_name: Annotated[str, Form(max_length=300)] = "",
                    company_bin: Annotated[str, Form(max_length=20)] = "",
                    company_name: Annotated[str, Form(max_length=500)] = "",
                    starts_at: Annotated[str, Form(max_length=40)] = "",
                    ends_at: Annotated[str, Form(max_length=40)] = "",
                    place: Annotated[str, Form(max_length=300)] = "",
                    recorded: Annotated[str, Form(max_length=10)] = "",
                    recording_ref: Annotated[str, Form(max_length=200)] = "",
                    commission_members: Annotated[str, Form(max_length=2000)] = "",
                    subject: Annotated[str, Form(max_length=5000)] = "") -> Response:
    form = register.MeetingForm(official_iin=official_iin, official_name=official_name, company_bin=company_bin,
                                company_name=company_name, starts_at=starts_at.replace("T", " "),
                                ends_at=ends_at.replace("T", " "), place=place,
                                recorded=recorded in ("1", "true", "on"), recording_ref=recording_ref,
                                commission_members=commission_members, subject=subject)
    try:
        meeting = record_meeting(request, db, who, form)
    except register.FormErrors as exc:
        db.rollback()
        return _page(request, db, who, organisation=None, date_from=None, date_to=None, form=form.__dict__,
                     errors=exc.errors, status_code=422)
    return RedirectResponse(f"/meetings/{meeting.id}", status_code=303)


@router.get("/meetings/{meeting_id}", response_class=HTMLResponse)
def meeting_page(meeting_id: IdPath, request: Request, db: SessionDep,
                 who: Annotated[Principal, allow("meeting.view")]) -> Response:
    meeting = meeting_or_404(db, who, meeting_id)
    view = _view(request, [meeting])
    official = [o for o in register.officials_of(request.app.state.aiqyn.analytics, meeting.organisation.subject_id)
                if o["iin"] == meeting.official_iin]
    return render(request, "meeting.html", mt=meeting, view=view, members=register.members_of(meeting),
                  official=official[0] if official else None, rules=register.RULES)


# -- the JSON API ----------------------------------------------------------------------------------------------------
class NewMeeting(BaseModel):
    official_iin: str = Field(max_length=20, description="The official's IIN (12 digits, check digit).")
    official_name: str = Field(default="", max_length=300)
    company_bin: str = Field(default="", max_length=20, description="The company's BIN; or give its name.")
    company_name: str = Field(default="", max_length=500)
    starts_at: str = Field(max_length=40, description="Local time of Astana, YYYY-MM-DD HH:MM.")
    ends_at: str = Field(default="", max_length=40)
    place: str = Field(max_length=300, description="Room, floor or address.")
    recorded: bool = Field(description="Whether the room records video and sound.")
    recording_ref: str = Field(default="", max_length=200, description="Reference of the recording in the archive.")
    commission_members: list[str] = Field(default_factory=list, max_length=50,
                                          description="IINs of the commission members present besides the official.")
    subject: str = Field(default="", max_length=5000)
    organisation: str | None = Field(default=None, max_length=100, description="BIN or subject id; a compliance "
                                     "officer may give only their own (the default).")


class ViolationOut(BaseModel):
    rule: str
    company_bin: str | None
    evidence: Any
    checked_at: dt.datetime | None
    check_id: str


class MeetingOut(BaseModel):
    id: int
    register_id: str = Field(description="Its meeting_id in the analytics store's register.")
    organisation: str
    organisation_name: str
    official_iin: str
    official_name: str
    company_bin: str | None
    company_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    place: str
    recorded: bool
    recording_ref: str | None
    commission_members: list[str]
    subject: str
    recorded_by: str
    created_at: dt.datetime
    in_store: bool = Field(description="Whether the analytics store's register has it (imported).")
    violations: list[ViolationOut] = Field(description="What the last `aiqyn meetings check` found.")


def meeting_out(m: Meeting, view: register.StoreView) -> MeetingOut:
    return MeetingOut(
        id=m.id, register_id=m.register_id, organisation=m.organisation.subject_id,
        organisation_name=m.organisation.name, official_iin=m.official_iin, official_name=m.official_name,
        company_bin=m.company_bin, company_name=m.company_name, starts_at=m.starts_at, ends_at=m.ends_at,
        place=m.place, recorded=m.recorded, recording_ref=m.recording_ref, commission_members=register.members_of(m),
        subject=m.subject, recorded_by=m.recorded_by.username, created_at=m.created_at,
        in_store=m.register_id in view.imported,
        violations=[ViolationOut(rule=v["rule"], company_bin=v["company_bin"], evidence=v["evidence"],
                                 checked_at=v["checked_at"], check_id=v["check_id"])
                    for v in view.violations.get(m.register_id, [])])


@api.get("/meetings", response_model=list[MeetingOut])
def api_meetings(request: Request, db: SessionDep, who: Annotated[Principal, allow("meeting.view")],
                 organisation: Bin = None, date_from: Day = None, date_to: Day = None) -> list[MeetingOut]:
    """Meetings recorded in the application, newest first, each with the violations the analytics store holds."""
    rows = register.listing(db, who, organisation_id=_organisation_filter(db, who, organisation),
                            date_from=_day(date_from, "date_from"), date_to=_day(date_to, "date_to"))
    view = _view(request, rows)
    return [meeting_out(m, view) for m in rows]


@api.post("/meetings", response_model=MeetingOut, status_code=201)
def api_record(body: NewMeeting, request: Request, db: SessionDep,
               who: Annotated[Principal, allow("meeting.record")]) -> MeetingOut:
    """Record a meeting of an official of the compliance officer's organisation (422 names the fields at fault)."""
    form = register.MeetingForm(**body.model_dump(exclude={"organisation"}))
    try:
        meeting = record_meeting(request, db, who, form, body.organisation)
    except register.FormErrors as exc:
        db.rollback()
        raise HTTPException(422, [{"loc": ["body", k], "msg": v, "type": "value_error"}
                                  for k, v in exc.errors.items()]) from exc
    return meeting_out(meeting, _view(request, [meeting]))


@api.get("/meetings/{meeting_id}", response_model=MeetingOut)
def api_meeting(meeting_id: IdPath, request: Request, db: SessionDep,
                who: Annotated[Principal, allow("meeting.view")]) -> MeetingOut:
    meeting = meeting_or_404(db, who, meeting_id)
    return meeting_out(meeting, _view(request, [meeting]))
