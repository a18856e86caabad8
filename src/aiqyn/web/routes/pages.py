"""The home page, languages, signing in and out, the dashboard, the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy import func, select

from aiqyn.web import audit, i18n, services
from aiqyn.web.app import oblasts, render, safe_next
from aiqyn.web.auth import Principal, authenticate, hash_password, needs_rehash, new_csrf_token
from aiqyn.web.deps import SessionDep, allow
from aiqyn.web.models import AuditEntry

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: SessionDep, who: Annotated[Principal, allow("portal.view")]) -> Response:
    figures = services.dashboard(db)["total"]
    return render(request, "home.html", figures=figures)


@router.get("/healthz", response_class=PlainTextResponse)
def healthz(who: Annotated[Principal, allow("portal.view")]) -> str:
    return "ok"


@router.get("/lang/{code}")
def set_language(code: str, request: Request, who: Annotated[Principal, allow("portal.view")],
                 next: str = "/") -> Response:
    if code not in i18n.LANGUAGES:
        raise HTTPException(404, "unknown language")
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(i18n.COOKIE, code, max_age=365 * 86400, samesite="lax", httponly=True,
                        secure=request.app.state.aiqyn.settings.secure_cookies)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, who: Annotated[Principal, allow("portal.view")], next: str = "/queue") -> Response:
    return render(request, "login.html", next=safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, db: SessionDep, who: Annotated[Principal, allow("portal.view")],
          username: Annotated[str, Form(max_length=100)], password: Annotated[str, Form(max_length=200)],
          next: Annotated[str, Form()] = "/queue") -> Response:
    limiter = request.app.state.aiqyn.login_limiter
    if not limiter.allow(request.client.host if request.client else "?"):
        return render(request, "login.html", status_code=429, next=safe_next(next), error="too_many")
    user = authenticate(db, username, password)
    if user is None:
        return render(request, "login.html", status_code=401, next=safe_next(next), error="wrong")
    if needs_rehash(user):
        user.password_hash = hash_password(password)
    request.session.clear()
    request.session.update({"uid": user.id, "ver": user.session_version, "csrf": new_csrf_token()})
    audit.record(db, user.username, "session.login", "user", user.id, {})
    db.commit()
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, db: SessionDep, who: Annotated[Principal, allow("portal.view")]) -> Response:
    if who.user is not None:
        audit.record(db, who.name, "session.logout", "user", who.user.id, {})
        db.commit()
    request.session.clear()
    return RedirectResponse("/", status_code=303)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, db: SessionDep, who: Annotated[Principal, allow("dashboard.view")],
                   region: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None,
                   year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> Response:
    data = services.dashboard(db, region=region, year=year, organisation_id=who.organisation_id)
    return render(request, "dashboard.html", data=data, region=region, year=year, oblasts=oblasts())


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, db: SessionDep, who: Annotated[Principal, allow("audit.view")],
               page: Annotated[int, Query(ge=1)] = 1) -> Response:
    per_page = 100
    total = db.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    rows = db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc())
                      .limit(per_page).offset((page - 1) * per_page)).scalars().all()
    check = audit.verify(db)
    return render(request, "audit.html", rows=rows, total=total, page=page, per_page=per_page, check=check)
