"""One router per resource; pages at /, the JSON API under /api/v1 (api.py)."""

from __future__ import annotations

from fastapi import APIRouter


def page_routers() -> list[APIRouter]:
    from aiqyn.web.routes import cases, expertise, meetings, pages, plan, processes, public, regions, reports
    from aiqyn.web.routes import publiccontrol as public_control

    return [pages.router, processes.router, cases.router, plan.router, reports.router, expertise.router,
            regions.router, meetings.router, public.router, public_control.router]


def api_routers() -> list[APIRouter]:
    from aiqyn.web.routes import api, meetings, public, regions

    return [api.router, regions.api_router, meetings.api, public.api]
