"""The FastAPI application: pages rendered on the server (Jinja2, a little htmx), the JSON API under /api/v1,
every asset served by the application itself."""

from __future__ import annotations

import datetime as dt
import math
import secrets
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_compact_decimal, format_decimal
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiqyn import __version__
from aiqyn.reference import kato_units
from aiqyn.web import i18n
from aiqyn.web.analytics import Analytics
from aiqyn.web.db import check_up_to_date, make_engine, session_factory
from aiqyn.web.deps import LoginRequired, csrf_token, is_api
from aiqyn.web.models import AppMeta
from aiqyn.web.ratelimit import RateLimiter
from aiqyn.web.rendered import CachedPages, RenderedPages
from aiqyn.web.reports import MAX_FILES
from aiqyn.web.settings import WebSettings

HERE = Path(__file__).parent


@dataclass
class AppState:
    settings: WebSettings
    engine: Engine
    sessions: sessionmaker[Session]
    analytics: Analytics | None
    templates: Environment
    rendered: RenderedPages | None
    report_limiter: RateLimiter
    login_limiter: RateLimiter


def _session_key(sessions: sessionmaker[Session], configured: str | None) -> str:
    """The configured key, else the one generated on first start and kept in the application database."""
    if configured:
        return configured
    with sessions() as db:
        row = db.get(AppMeta, "session_key")
        if row is None:
            row = AppMeta(key="session_key", value=secrets.token_urlsafe(48))
            db.add(row)
            try:
                db.commit()
            except IntegrityError:  # another worker process stored its key first: every worker uses that one
                db.rollback()
                row = db.get(AppMeta, "session_key")
                assert row is not None
        return row.value


@cache
def _units_by_code() -> dict[str, Any]:
    return {u.kato: u for u in kato_units()}


def region_name(code: str | None, lang: str = "ru") -> str:
    if not code:
        return ""
    units = _units_by_code()
    unit = units.get(code) or units.get(code[:2] + "0000000")
    if unit is None:
        return code
    return unit.name_kk if lang == "kk" else unit.name_ru


def oblasts() -> list[str]:
    return [u.kato for u in kato_units() if u.level == "oblast"]


@cache
def _separators(loc: Locale) -> dict[int, str]:
    symbols = loc.number_symbols["latn"]
    return str.maketrans({",": symbols["group"], ".": symbols["decimal"], "-": symbols["minusSign"]})


def number_text(value: int | float | Decimal, digits: int, loc: Locale) -> str:
    """What Babel's format_decimal(value, "#,##0[.0...]", locale=loc) writes for a finite number (the same
    Decimal of the value, rounded half-even, grouped by three), without parsing the pattern on every call: a page
    of the risk queue formats a few hundred numbers."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return f"{number:,.{digits}f}".translate(_separators(loc))


def date_text(value: dt.date) -> str:
    """Babel's format_date(value, "dd.MM.yyyy") (and of a datetime, "dd.MM.yyyy HH:mm", in its own time zone)."""
    if value.year < 1000:
        return format_datetime(value, "dd.MM.yyyy HH:mm") if isinstance(value, dt.datetime) else \
            format_date(value, "dd.MM.yyyy")
    return value.strftime("%d.%m.%Y %H:%M" if isinstance(value, dt.datetime) else "%d.%m.%Y")


def _templates() -> Environment:
    # auto_reload off: a template is compiled once per process, never checked on disk again per request
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.globals["version"] = __version__
    env.globals["languages"] = i18n.LANGUAGES
    return env


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page in the user's language, with who is asking and the CSRF token."""
    who = context.pop("who", None) or request.state.principal
    return HTMLResponse(render_html(request, template, who, csrf_token(request), **context), status_code=status_code)


def render_html(request: Request, template: str, who: Any, csrf: str, **context: Any) -> str:
    """A page's HTML in the user's language for `who`, with the CSRF token `csrf` (slots, for a cached page:
    rendered.py)."""
    state: AppState = request.app.state.aiqyn
    lang = request.state.lang
    tr = i18n.translations(lang)
    loc = i18n.locale(lang)

    def fmt_money(value: Any, currency: str | None = "KZT") -> str:
        if value is None:
            return "—"
        text = number_text(value, 2, loc) if isinstance(value, int | float | Decimal) and math.isfinite(value) else \
            format_decimal(Decimal(str(value)), format="#,##0.00", locale=loc)
        return f"{text} ₸" if currency in (None, "KZT") else f"{text} {currency}"

    def fmt_money_short(value: Any) -> str:
        """A large sum for a headline figure: 372 млн ₸, 1.2B ₸."""
        if value is None:
            return "—"
        amount = Decimal(str(value))
        if abs(amount) < 100_000:
            return fmt_money(amount)
        text = format_compact_decimal(float(amount), format_type="short", locale=loc, fraction_digits=1)
        return f"{text} ₸"

    def fmt_number(value: Any, digits: int = 0) -> str:
        if value is None:
            return "—"
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or not math.isfinite(value):
            return str(value)  # yes/no, infinity, NaN: as they are
        return number_text(value, digits, loc)

    def fmt_date(value: Any, with_time: bool = False) -> str:
        if value is None:
            return "—"
        if isinstance(value, dt.datetime):
            return date_text(value) if with_time else date_text(value.date())
        return date_text(value)

    def fmt_value(value: Any) -> str:
        """An indicator's value: whole numbers as such, ratios to three decimals."""
        if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
            return format_decimal(round(value, 3), format="#,##0.###", locale=loc)
        return fmt_number(value)

    def url_with(**changes: Any) -> str:
        params = dict(request.query_params)
        for k, v in changes.items():
            if v is None:
                params.pop(k, None)
            else:
                params[k] = str(v)
        return request.url.path + ("?" + urlencode(params) if params else "")

    ctx = {
        "request": request, "who": who, "lang": lang, "csrf_token": csrf,
        "_": tr.gettext, "gettext": tr.gettext, "ngettext": tr.ngettext,
        "money": fmt_money, "money_short": fmt_money_short, "number": fmt_number, "value": fmt_value,
        "date": fmt_date, "url_with": url_with,
        "region_name": lambda code: region_name(code, lang), "quote": lambda s: quote(str(s), safe=""),
        "analytics": state.analytics, "path": request.url.path,
        **context,
    }
    return state.templates.get_template(template).render(ctx)


def create_app(settings: WebSettings | None = None, *, check_migrations: bool = True) -> FastAPI:
    settings = settings or WebSettings()
    engine = make_engine(settings.app_db)
    if check_migrations:
        check_up_to_date(engine)
    sessions = session_factory(engine)
    analytics = Analytics(settings.db) if Path(settings.db).exists() else None
    if analytics is not None and settings.page_cache is not None:
        analytics.use_page_cache(settings.page_cache)
    rendered = RenderedPages(settings.rendered_cache_mb * 1_000_000, analytics.path, analytics.run_id) \
        if analytics is not None and settings.rendered_cache_mb > 0 else None
    state = AppState(settings=settings, engine=engine, sessions=sessions, analytics=analytics,
                     templates=_templates(), rendered=rendered,
                     report_limiter=RateLimiter(settings.report_rate_limit, 3600),
                     login_limiter=RateLimiter(settings.login_rate_limit, 900))

    app = FastAPI(title="Aiqyn", version=__version__, description=(
        "Open anti-corruption monitoring of public procurement in Kazakhstan: the risk queue, processes and "
        "their red flags, cases and recommendations, citizen reports. Sign in with POST /api/v1/login; send the "
        "CSRF token of GET /api/v1/me in the X-CSRF-Token header of every POST."),
        docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json", swagger_ui_oauth2_redirect_url=None)
    app.state.aiqyn = state
    # Pure ASGI middlewares (no BaseHTTPMiddleware: its task and stream per request cost more than a cached
    # page). The last added is the outermost: headers and language, then the session, then the cached pages.
    if rendered is not None:
        # its own connection, used only by the event loop's thread (never waits for the request threads' pool)
        app.add_middleware(CachedPages, state=state, engine=make_engine(settings.app_db, pool_size=1),
                           cases_fragment=cases_fragment)
    app.add_middleware(SessionMiddleware, secret_key=_session_key(sessions, settings.secret_key),
                       session_cookie="aiqyn_session", max_age=12 * 3600, same_site="lax",
                       https_only=settings.secure_cookies)
    # A request body never needs more than the attachments allowed plus the form's text.
    app.add_middleware(LanguageAndHeaders, max_body=int(settings.max_upload_mb * 1e6) * MAX_FILES + 1_000_000)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        return RedirectResponse("/login?next=" + quote(request.url.path + (
            "?" + request.url.query if request.url.query else ""), safe=""), status_code=303)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if is_api(request) or not hasattr(request.state, "lang"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        _ensure_principal(request)
        return render(request, "error.html", status_code=exc.status_code, status=exc.status_code,
                      detail=str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        if is_api(request):
            return JSONResponse({"detail": errors}, status_code=422)
        _ensure_principal(request)
        detail = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in errors)
        return render(request, "error.html", status_code=422, status=422, detail=detail)

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    from aiqyn.web.routes import api_routers, page_routers

    for router in page_routers():
        app.include_router(router)
    for router in api_routers():
        app.include_router(router, prefix="/api/v1")
    return app


SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                 b"frame-ancestors 'none'"),
]


class LanguageAndHeaders:
    """Pure ASGI middleware: the user's language (scope state `lang`), bodies over `max_body` refused (413), and
    the security headers on every answer that does not set them itself."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = accept = length = None
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookie = value.decode("latin-1") if cookie is None else f"{cookie}; {value.decode('latin-1')}"
            elif name == b"accept-language":
                accept = value.decode("latin-1")
            elif name == b"content-length":
                length = value
        lang_cookie = cookie_parser(cookie).get(i18n.COOKIE) if cookie and i18n.COOKIE in cookie else None
        scope.setdefault("state", {})["lang"] = i18n.choose(lang_cookie, accept)
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await JSONResponse({"detail": "request too large"}, status_code=413)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def cases_fragment(scope: Scope, cases: list[Any]) -> str:
    """The process page's list of cases on the process, for one request (rendered.py keeps it out of the cache)."""
    from aiqyn.web.auth import Principal

    return render_html(Request(scope), "_process_cases.html", Principal(None), "", cases=cases)


def route_table(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every endpoint, routers included (HEAD left out): what the authorization matrix covers."""
    out: list[tuple[str, str]] = []

    def add(path: str, methods: set[str] | None) -> None:
        out.extend((m, path) for m in sorted(methods or ()) if m != "HEAD")

    for route in app.routes:
        candidates = getattr(route, "effective_candidates", None)
        if candidates is not None:  # FastAPI >= 0.16x wraps included routers
            for c in candidates():
                add(c.path, c.methods)
        elif hasattr(route, "methods"):
            add(route.path, route.methods)  # type: ignore[attr-defined]
    return out


def _ensure_principal(request: Request) -> None:
    """Error pages show the navigation of whoever is asking, loaded afresh: the route's dependencies may not have
    run, or their session may be closed or rolled back."""
    from aiqyn.web.auth import Principal
    from aiqyn.web.models import User

    state: AppState = request.app.state.aiqyn
    uid = request.session.get("uid") if "session" in request.scope else None
    user = None
    if uid is not None:
        with state.sessions() as db:
            user = db.execute(select(User).where(User.id == uid)).scalar_one_or_none()
            if user is not None and (not user.active or user.session_version != request.session.get("ver")):
                user = None
    request.state.principal = Principal(user)


def safe_next(target: str | None) -> str:
    """Only a path of this site (no scheme, no host, no //) may be a redirect target."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"

