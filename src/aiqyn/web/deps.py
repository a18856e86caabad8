"""Typed dependencies of the routes: the database session, who is asking, permissions, CSRF."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request
from sqlalchemy.orm import Session

from aiqyn.web.auth import PERMISSIONS, Principal, new_csrf_token, same_token
from aiqyn.web.models import User

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
"""The id of a row in the application database (a 32-bit integer on every database)."""


class LoginRequired(Exception):
    """An HTML page asked for without signing in: the handler redirects to the login page."""


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def get_db(request: Request) -> Iterator[Session]:
    db = request.app.state.aiqyn.sessions()
    try:
        yield db
    finally:
        db.close()


SessionDep = Annotated[Session, Depends(get_db)]


def get_principal(request: Request, db: SessionDep) -> Principal:
    uid = request.session.get("uid")
    user = db.get(User, uid) if uid is not None else None
    if user is not None and (not user.active or user.session_version != request.session.get("ver")):
        request.session.pop("uid", None)
        user = None
    request.state.principal = Principal(user)
    return request.state.principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = new_csrf_token()
    return str(token)


async def check_csrf(request: Request) -> None:
    """Every state-changing request carries the session's token, in the X-CSRF-Token header (the API, htmx)
    or in the form field csrf_token (plain forms)."""
    if request.method not in UNSAFE:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not same_token(expected, sent):
        raise HTTPException(403, "missing or wrong CSRF token (reload the page)")


def require(permission: str) -> Callable[..., Any]:
    """A dependency that lets through the roles PERMISSIONS allows, and checks CSRF on unsafe methods."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    async def dependency(request: Request, who: PrincipalDep) -> Principal:
        if not who.can(permission):
            if who.user is None:
                if is_api(request):
                    raise HTTPException(401, "sign in first", headers={"WWW-Authenticate": "Cookie"})
                raise LoginRequired()
            raise HTTPException(403, f"a {who.role} may not do this ({permission})")
        await check_csrf(request)
        return who

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def allow(permission: str) -> Any:
    """`who: Annotated[Principal, allow("queue.view")]`."""
    return Depends(require(permission))
