"""One router per resource; pages at /, the JSON API under /api/v1 (api.py)."""

from __future__ import annotations

from fastapi import APIRouter


def page_routers() -> list[APIRouter]:
    from aiqyn.web.routes import cases, expertise, pages, plan, processes, reports

    return [pages.router, processes.router, cases.router, plan.router, reports.router, expertise.router]


def api_routers() -> list[APIRouter]:
    from aiqyn.web.routes import api

    return [api.router]
