"""Citizen reports: the public form, the follow-up by code, and the analysts' triage into cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from aiqyn.web import reports, services
from aiqyn.web.app import oblasts, render
from aiqyn.web.auth import Principal
from aiqyn.web.deps import IdPath, SessionDep, allow
from aiqyn.web.models import REPORT_KINDS, REPORT_STATUSES, Attachment, Case, CitizenReport, Organisation

router = APIRouter(include_in_schema=False)


def client_key(request: Request) -> str:
    return request.client.host if request.client else "?"


def uploads_of(files: list[UploadFile]) -> list[reports.Upload]:
    """The files actually sent (a browser sends an empty part when none was chosen)."""
    out = []
    for f in files:
        if f.file.read(1):
            f.file.seek(0)
            out.append(reports.Upload(f.file))
    return out


def submit_report(request: Request, db: Session, *, kind: str, text: str, organisation_name: str, region: str,
                  ocid: str, contact: str, files: list[UploadFile]) -> tuple[CitizenReport, str]:
    state = request.app.state.aiqyn
    if not state.report_limiter.allow(client_key(request)):
        raise HTTPException(429, "too many reports from this address; try again in an hour")
    try:
        report, code = reports.submit(db, kind=kind, text=text, organisation_name=organisation_name,
                                      region_code=region or None, ocid=ocid, contact=contact,
                                      uploads=uploads_of(files), upload_dir=state.settings.upload_dir,
                                      max_bytes=int(state.settings.max_upload_mb * 1e6))
    except services.Refused as exc:
        db.rollback()
        raise HTTPException(exc.status, str(exc)) from exc
    db.commit()
    return report, code


@router.get("/report", response_class=HTMLResponse)
def report_form(request: Request, who: Annotated[Principal, allow("report.submit")],
                kind: Annotated[str, Query(pattern="^(corruption|price)$")] = "corruption") -> Response:
    return render(request, "report_form.html", kind=kind, kinds=REPORT_KINDS, oblasts=oblasts(),
                  max_mb=request.app.state.aiqyn.settings.max_upload_mb, max_files=reports.MAX_FILES)


@router.post("/report", response_class=HTMLResponse)
def report_submit(request: Request, db: SessionDep, who: Annotated[Principal, allow("report.submit")],
                  kind: Annotated[str, Form(pattern="^(corruption|price)$")],
                  text: Annotated[str, Form(max_length=20000)],
                  organisation_name: Annotated[str, Form(max_length=500)] = "",
                  region: Annotated[str, Form(pattern=r"^(\d{9})?$")] = "",
                  ocid: Annotated[str, Form(max_length=200)] = "",
                  contact: Annotated[str, Form(max_length=300)] = "",
                  files: Annotated[list[UploadFile], File()] = []) -> Response:  # noqa: B006
    report, code = submit_report(request, db, kind=kind, text=text, organisation_name=organisation_name,
                                 region=region, ocid=ocid, contact=contact, files=files)
    return render(request, "report_done.html", code=code, report=report)


@router.get("/report/status", response_class=HTMLResponse)
def status_form(request: Request, who: Annotated[Principal, allow("report.submit")]) -> Response:
    return render(request, "report_status.html", status=None, asked=False)


@router.post("/report/status", response_class=HTMLResponse)
def status_lookup(request: Request, db: SessionDep, who: Annotated[Principal, allow("report.submit")],
                  code: Annotated[str, Form(max_length=40)]) -> Response:
    if not request.app.state.aiqyn.login_limiter.allow("code:" + client_key(request)):
        raise HTTPException(429, "too many attempts; wait a few minutes")
    report = reports.by_code(db, code)
    return render(request, "report_status.html", status_code=200 if report else 404,
                  status=reports.public_status(report) if report else None, asked=True)


@router.get("/triage", response_class=HTMLResponse)
def triage_list(request: Request, db: SessionDep, who: Annotated[Principal, allow("reports.triage")],
                status: Annotated[str | None, Query(pattern="^(" + "|".join(REPORT_STATUSES) + ")$")] = None,
                ) -> Response:
    q = select(CitizenReport).order_by(CitizenReport.id.desc())
    if status:
        q = q.where(CitizenReport.status == status)
    return render(request, "triage.html", rows=db.execute(q.limit(500)).scalars().all(), status=status,
                  statuses=REPORT_STATUSES)


def report_or_404(db: Session, report_id: IdPath) -> CitizenReport:
    report = db.get(CitizenReport, report_id)
    if report is None:
        raise HTTPException(404, "no such report")
    return report


@router.get("/triage/{report_id}", response_class=HTMLResponse)
def triage_item(report_id: IdPath, request: Request, db: SessionDep,
                who: Annotated[Principal, allow("reports.triage")]) -> Response:
    return render(request, "triage_item.html", r=report_or_404(db, report_id), statuses=REPORT_STATUSES)


@router.get("/triage/{report_id}/attachments/{attachment_id}")
def attachment(report_id: IdPath, attachment_id: IdPath, request: Request, db: SessionDep,
               who: Annotated[Principal, allow("reports.triage")]) -> Response:
    att = db.get(Attachment, attachment_id)
    if att is None or att.report_id != report_id:
        raise HTTPException(404, "no such attachment")
    path = request.app.state.aiqyn.settings.upload_dir / att.stored_name
    if not path.exists():
        raise HTTPException(410, "the file is gone from the upload directory")
    return FileResponse(path, media_type=att.content_type, filename=f"report-{report_id}-{att.id}",
                        content_disposition_type="attachment")


@router.post("/triage/{report_id}")
def triage_update(report_id: IdPath, request: Request, db: SessionDep,
                  who: Annotated[Principal, allow("reports.triage")],
                  status: Annotated[str | None, Form(pattern="^(" + "|".join(REPORT_STATUSES) + ")$")] = None,
                  public_note: Annotated[str | None, Form(max_length=5000)] = None,
                  open_case: Annotated[str | None, Form()] = None,
                  case_title: Annotated[str, Form(max_length=500)] = "") -> Response:
    report = report_or_404(db, report_id)
    try:
        if open_case:
            case = open_case_for(request, db, who, report, case_title)
            db.commit()
            return RedirectResponse(f"/cases/{case.id}", status_code=303)
        reports.triage(db, who, report, status=status, public_note=public_note)
    except services.Refused as exc:
        db.rollback()
        raise HTTPException(exc.status, str(exc)) from exc
    db.commit()
    return RedirectResponse(f"/triage/{report.id}", status_code=303)


def open_case_for(request: Request, db: Session, who: Principal, report: CitizenReport, title: str) -> Case:
    """A case from a report; its addressee is the buyer of the process the report names, when the store has it."""
    organisation: Organisation | None = None
    ocid = None
    analytics = request.app.state.aiqyn.analytics
    if report.ocid and analytics is not None:
        data = analytics.process(report.ocid)
        if data is not None:
            proc = data["process"]
            buyer = next((p for p in data["parties"] if p["party_id"] == proc["buyer_id"]), None)
            ocid = report.ocid  # a process Aiqyn knows: the case is tied to it
            if buyer is not None:
                organisation = services.organisation(db, buyer["subject_id"], buyer["name"],
                                                     buyer["region_code"] or proc["region_code"])
    return reports.open_case(db, who, report, title, organisation, ocid)
