"""Public control: the transparent queues and the accountability register.

Public pages (no account): /public/queues (every queue, its last seal), /public/queues/{id} (its ledger entries
with applicants' codes only, its seals, the findings of out-of-turn checks, a position lookup by code),
/public/queues/{id}/export (the ledger as JSON lines, for `aiqyn queue verify`) and /public/accountability
(aggregates only). The supervisor's pages: /accountability (the register with overdue statements highlighted,
aggregates per organisation and region) and /accountability/findings (the queue findings with their full
evidence). Everything is read from the analytics store (aiqyn.publiccontrol.views); nothing is computed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from aiqyn.publiccontrol import ledger, views
from aiqyn.publiccontrol.accountability import STATES
from aiqyn.web.app import oblasts, render
from aiqyn.web.auth import Principal
from aiqyn.web.deps import allow

router = APIRouter(include_in_schema=False)
QueueId = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
PAGE = 200


def _analytics(request: Request) -> Any:
    return request.app.state.aiqyn.analytics


def _queue_or_404(request: Request, queue_id: str) -> tuple[Any, dict[str, Any]]:
    analytics = _analytics(request)
    info = views.queue(analytics, queue_id) if analytics is not None and views.has_queues(analytics) else None
    if info is None:
        raise HTTPException(404, f"no queue {queue_id}")
    return analytics, info


@router.get("/public/queues", response_class=HTMLResponse)
def public_queues(request: Request, who: Annotated[Principal, allow("portal.view")]) -> Response:
    analytics = _analytics(request)
    rows = views.queues(analytics) if analytics is not None else []
    return render(request, "public_queues.html", queues=rows)


@router.get("/public/queues/{queue_id}", response_class=HTMLResponse)
def public_queue(request: Request, queue_id: str, who: Annotated[Principal, allow("portal.view")],
                 code: Annotated[str | None, Query(max_length=40)] = None,
                 page: Annotated[int, Query(ge=1, le=100000)] = 1) -> Response:
    analytics, info = _queue_or_404(request, queue_id)
    pages = max(1, -(-info["entries"] // PAGE))
    page = min(page, pages)
    # newest first: page 1 holds the latest entries
    start = max(0, info["entries"] - page * PAGE)
    items = views.entries(analytics, queue_id, start, info["entries"] - (page - 1) * PAGE - start)
    items.reverse()
    found = views.position(analytics, queue_id, code) if code else None
    return render(request, "public_queue.html", queue=info, entries=items, seals=views.seals(analytics, queue_id),
                  findings=views.queue_findings(analytics, queue_id), code=code, found=found, page=page, pages=pages)


@router.get("/public/queues/{queue_id}/export")
def public_queue_export(request: Request, queue_id: str, who: Annotated[Principal, allow("portal.view")]) -> Response:
    """The ledger as `aiqyn queue export` writes it (header line, then one entry per line)."""
    import datetime as dt
    import json

    analytics, info = _queue_or_404(request, queue_id)
    head = ledger.header({k: info[k] for k in ("queue_id", "kind", "name", "region_kato")}, info["entries"],
                         dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def lines() -> Iterator[bytes]:
        yield (json.dumps(head, ensure_ascii=False, sort_keys=True) + "\n").encode()
        for e in views.entries(analytics, queue_id):
            yield ledger.canonical(e) + b"\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson", headers={
        "Content-Disposition": f'attachment; filename="{queue_id}.jsonl"'})


@router.get("/public/accountability", response_class=HTMLResponse)
def public_accountability(request: Request, who: Annotated[Principal, allow("portal.view")]) -> Response:
    analytics = _analytics(request)
    data = views.public_accountability(analytics) if analytics is not None else {"regions": [], "totals": None}
    return render(request, "public_accountability.html", **data)


@router.get("/accountability", response_class=HTMLResponse)
def accountability(request: Request, who: Annotated[Principal, allow("accountability.view")],
                   state: Annotated[str | None, Query(pattern="^(" + "|".join(STATES) + ")$")] = None,
                   region: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None) -> Response:
    from aiqyn.publiccontrol.accountability import aggregates

    analytics = _analytics(request)
    ready = analytics is not None and views.has_accountability(analytics)
    rows = views.register(analytics, state, region) if ready else []
    by_org = aggregates(analytics, "organisation") if ready else []
    by_region = aggregates(analytics, "region") if ready else []
    return render(request, "accountability.html", rows=rows, by_org=by_org, by_region=by_region, state=state,
                  region=region, states=STATES, oblasts=oblasts(), ready=ready)


@router.get("/accountability/findings", response_class=HTMLResponse)
def accountability_findings(request: Request, who: Annotated[Principal, allow("accountability.view")],
                            kind: Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$")] = None) -> Response:
    analytics = _analytics(request)
    rows: list[dict[str, Any]] = []
    if analytics is not None and "public_control_findings" in views.tables(analytics):
        sql = "SELECT * FROM public_control_findings" + (" WHERE kind = $kind" if kind else "") + \
              " ORDER BY \"at\" DESC, subject LIMIT 2000"
        rows = analytics.query(sql, {"kind": kind} if kind else {})
    return render(request, "accountability_findings.html", rows=rows, kind=kind)
