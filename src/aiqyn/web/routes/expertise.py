"""Expertise of draft legal acts: upload a draft, read its report, confirm or reject each flag, and the precision
of each factor measured from the reviewers' decisions. The analysis is aiqyn.expertise's; these routes only call
it (through aiqyn.web.expertise, which keeps the draft and the decisions)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from aiqyn.expertise.report import context as report_context
from aiqyn.web import expertise, services
from aiqyn.web.app import render
from aiqyn.web.auth import Principal
from aiqyn.web.deps import IdPath, SessionDep, allow
from aiqyn.web.models import DECISIONS, ExpertiseDraft

router = APIRouter(include_in_schema=False)


def _max_bytes(request: Request) -> int:
    return int(request.app.state.aiqyn.settings.max_upload_mb * 1e6)


def _list_page(request: Request, db: Session, *, error: str | None = None, status_code: int = 200) -> Response:
    drafts = db.execute(select(ExpertiseDraft).order_by(ExpertiseDraft.id.desc()).limit(200)).scalars().all()
    return render(request, "expertise_list.html", status_code=status_code, drafts=drafts, error=error,
                  max_mb=request.app.state.aiqyn.settings.max_upload_mb)


@router.get("/expertise", response_class=HTMLResponse)
def expertise_list(request: Request, db: SessionDep, who: Annotated[Principal, allow("expertise.review")]) -> Response:
    return _list_page(request, db)


@router.post("/expertise")
def expertise_upload(request: Request, db: SessionDep, who: Annotated[Principal, allow("expertise.review")],
                     file: Annotated[UploadFile | None, File()] = None) -> Response:
    if file is None:
        return _list_page(request, db, error="choose a file (text, DOCX, PDF or HTML)", status_code=422)
    try:
        draft = expertise.submit(db, who, stream=file.file, filename=file.filename or "draft",
                                 upload_dir=request.app.state.aiqyn.settings.upload_dir,
                                 max_bytes=_max_bytes(request))
    except services.Refused as exc:
        db.rollback()
        return _list_page(request, db, error=str(exc), status_code=exc.status)
    db.commit()
    return RedirectResponse(f"/expertise/{draft.id}", status_code=303)


@router.get("/expertise/summary", response_class=HTMLResponse)
def expertise_summary(request: Request, db: SessionDep,
                      who: Annotated[Principal, allow("expertise.review")]) -> Response:
    return render(request, "expertise_summary.html", rows=expertise.precision_by_factor(db),
                  factors=expertise.factor_names(db),
                  drafts=db.execute(select(ExpertiseDraft.id)).scalars().all())


def draft_or_404(db: Session, draft_id: int) -> ExpertiseDraft:
    draft = db.get(ExpertiseDraft, draft_id)
    if draft is None:
        raise HTTPException(404, "no such draft")
    return draft


@router.get("/expertise/{draft_id}", response_class=HTMLResponse)
def expertise_report(draft_id: IdPath, request: Request, db: SessionDep,
                     who: Annotated[Principal, allow("expertise.review")]) -> Response:
    draft = draft_or_404(db, draft_id)
    lang = request.state.lang
    ctx = report_context(expertise.report_of(draft), "en" if lang == "en" else "ru")  # explanations: ru or en
    report_lang = ctx.pop("lang")
    return render(request, "expertise_report.html", draft=draft, decisions=expertise.latest_decisions(draft),
                  history=draft.decisions, names_lang=lang, report_lang=report_lang, **ctx)


@router.post("/expertise/{draft_id}/decisions")
def expertise_decide(draft_id: IdPath, request: Request, db: SessionDep,
                     who: Annotated[Principal, allow("expertise.review")],
                     flag_id: Annotated[str, Form(max_length=200)],
                     decision: Annotated[str, Form(pattern="^(" + "|".join(DECISIONS) + ")$")],
                     comment: Annotated[str, Form(max_length=5000)] = "") -> Response:
    draft = draft_or_404(db, draft_id)
    try:
        expertise.decide(db, who, draft, flag_id=flag_id, decision=decision, comment=comment)
    except services.Refused as exc:
        db.rollback()
        raise HTTPException(exc.status, str(exc)) from exc
    db.commit()
    return RedirectResponse(f"/expertise/{draft.id}#{flag_id}", status_code=303)
