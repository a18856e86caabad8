"""The authorization matrix: every role against every endpoint of the application, generated from its routes.

A route without an entry in MATRIX fails the test, so a new endpoint cannot land without saying who may
use it. Allowed means the request got past authorization (any answer but 401, 403 or a redirect to the
login page); denied means exactly that answer. Every state-changing endpoint also refuses a request without
its CSRF token.
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from webkit import Site, module_site, store  # noqa: F401  (fixtures)

from aiqyn.web.app import route_table

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
DRAFT = "Статья 1. Разрешения\n1. Уполномоченный орган вправе по своему усмотрению выдать разрешение.\n"

ALL = frozenset({"public", "analyst", "supervisor", "compliance", "ngo_reviewer"})
SIGNED_IN = frozenset({"analyst", "supervisor", "compliance"})  # the procurement workbench (not NGO reviewers)
STAFF = frozenset({"analyst", "supervisor"})
REVIEWERS = frozenset({"analyst", "supervisor", "ngo_reviewer"})
SUPERVISOR = frozenset({"supervisor"})
COMPLIANCE = frozenset({"compliance"})  # records the meetings of their organisation's officials

MATRIX: dict[str, frozenset[str]] = {
    # pages
    "GET /": ALL,
    "GET /healthz": ALL,
    "GET /lang/{code}": ALL,
    "GET /login": ALL,
    "POST /login": ALL,
    "POST /logout": ALL,
    "GET /dashboard": SIGNED_IN,
    "GET /audit": SUPERVISOR,
    "GET /queue": SIGNED_IN,
    "GET /processes/{ocid}": SIGNED_IN,
    "GET /parties/{subject_id}": SIGNED_IN,
    "GET /cases": SIGNED_IN,
    "GET /cases/new": STAFF,
    "POST /cases": STAFF,
    "GET /cases/{case_id}": SIGNED_IN,
    "POST /cases/{case_id}/recommendations": STAFF,
    "POST /cases/{case_id}/close": STAFF,
    "GET /recommendations": SIGNED_IN,
    "GET /recommendations/{rec_id}": SIGNED_IN,
    "POST /recommendations/{rec_id}/status": SIGNED_IN,
    "POST /recommendations/{rec_id}/savings": STAFF,
    "GET /plan": SIGNED_IN,
    "POST /plan": SUPERVISOR,
    "POST /plan/{item_id}/status": SIGNED_IN,
    "GET /report": ALL,
    "POST /report": ALL,
    "GET /report/status": ALL,
    "POST /report/status": ALL,
    "GET /triage": STAFF,
    "GET /triage/{report_id}": STAFF,
    "GET /triage/{report_id}/attachments/{attachment_id}": STAFF,
    "POST /triage/{report_id}": STAFF,
    "GET /expertise": REVIEWERS,
    "POST /expertise": REVIEWERS,
    "GET /expertise/summary": REVIEWERS,
    "GET /expertise/{draft_id}": REVIEWERS,
    "POST /expertise/{draft_id}/decisions": REVIEWERS,
    "GET /meetings": SIGNED_IN,
    "POST /meetings": COMPLIANCE,
    "GET /meetings/{meeting_id}": SIGNED_IN,
    "GET /public": ALL,
    "GET /public/processes": ALL,
    "GET /public/processes/{ocid}": ALL,
    "GET /public/queues": ALL,  # public control (issue 11): queues by code, aggregates only
    "GET /public/queues/{queue_id}": ALL,
    "GET /public/queues/{queue_id}/export": ALL,
    "GET /public/accountability": ALL,
    "GET /accountability": SUPERVISOR,
    "GET /accountability/findings": SUPERVISOR,
    # the API and its documents
    "GET /api/openapi.json": ALL,
    "GET /api/docs": ALL,
    "GET /api/v1/me": ALL,
    "POST /api/v1/login": ALL,
    "POST /api/v1/logout": ALL,
    "GET /api/v1/queue": SIGNED_IN,
    "GET /api/v1/processes/{ocid}": SIGNED_IN,
    "GET /api/v1/parties/{subject_id}": SIGNED_IN,
    "GET /api/v1/cases": SIGNED_IN,
    "POST /api/v1/cases": STAFF,
    "GET /api/v1/cases/{case_id}": SIGNED_IN,
    "POST /api/v1/cases/{case_id}/recommendations": STAFF,
    "POST /api/v1/cases/{case_id}/close": STAFF,
    "GET /api/v1/recommendations": SIGNED_IN,
    "GET /api/v1/recommendations/{rec_id}": SIGNED_IN,
    "POST /api/v1/recommendations/{rec_id}/status": SIGNED_IN,
    "POST /api/v1/recommendations/{rec_id}/savings": STAFF,
    "GET /api/v1/dashboard": SIGNED_IN,
    "GET /api/v1/audit": SUPERVISOR,
    "GET /api/v1/plan": SIGNED_IN,
    "POST /api/v1/plan": SUPERVISOR,
    "POST /api/v1/plan/{item_id}/status": SIGNED_IN,
    "POST /api/v1/reports": ALL,
    "POST /api/v1/reports/status": ALL,
    "GET /api/v1/triage": STAFF,
    "GET /api/v1/triage/{report_id}": STAFF,
    "POST /api/v1/triage/{report_id}": STAFF,
    "GET /regions": ALL,  # the regional index: public aggregates (routes/regions.py)
    "GET /regions/{kato}": ALL,
    "GET /api/v1/regions": ALL,
    "GET /api/v1/regions/{kato}": ALL,
    "GET /api/v1/meetings": SIGNED_IN,
    "POST /api/v1/meetings": COMPLIANCE,
    "GET /api/v1/meetings/{meeting_id}": SIGNED_IN,
    "GET /api/v1/public/summary": ALL,
    "GET /api/v1/public/processes": ALL,
    "GET /api/v1/public/processes/{ocid}": ALL,
}


def endpoints(app: FastAPI) -> list[str]:
    return [f"{method} {path}" for method, path in route_table(app)]


def test_every_endpoint_is_in_the_matrix(module_site: Site) -> None:  # noqa: F811
    site = module_site
    found = set(endpoints(site.app))
    missing = sorted(found - set(MATRIX))
    assert not missing, f"endpoints without an entry in the authorization matrix: {missing}"
    stale = sorted(set(MATRIX) - found)
    assert not stale, f"matrix entries for endpoints that no longer exist: {stale}"


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


@pytest.mark.parametrize("role", sorted(ALL))
def test_matrix(module_site: Site, role: str) -> None:  # noqa: F811
    site = module_site
    # Objects of the compliance officer's own organisation, so that only the role decides.
    staff = site.client("analyst")
    case = staff.post("/api/v1/cases", json={"title": "matrix", "ocid": site.org_ocid, "recommendation": "r",
                                             "money_at_stake": "10"}).json()
    receipt = site.client().post("/api/v1/reports", data={"kind": "price", "text": "Paracetamol at 3x the ceiling"},
                                 files=[("files", ("x.bin", PNG, "application/octet-stream"))])
    assert receipt.status_code == 201, receipt.text
    report = staff.get("/api/v1/triage").json()[0]
    item = site.client("supervisor").post("/api/v1/plan", json={
        "plan": "Comprehensive plan", "title": "Train the procurement staff", "owner": "Head of staff",
        "deadline": "2030-01-01", "organisation": site.org_subject}).json()
    draft = staff.post("/expertise", files={"file": ("d.txt", DRAFT.encode(), "text/plain")}, follow_redirects=False)
    assert draft.status_code == 303, draft.text
    meeting = site.client("compliance").post("/api/v1/meetings", json={
        "official_iin": "880127345082", "company_name": "ТОО «Матрица»", "starts_at": "2024-03-12 10:00",
        "place": "101", "recorded": True})
    assert meeting.status_code == 201, meeting.text
    values = {"meeting_id": str(meeting.json()["id"]), "item_id": str(item["id"]),
              "draft_id": draft.headers["location"].rsplit("/", 1)[1],
              "report_id": str(report["id"]),
              "attachment_id": str(report["attachments"][0]["id"]),
              "ocid": site.org_ocid, "subject_id": site.org_subject, "case_id": str(case["id"]),
              "rec_id": str(case["recommendations"][0]["id"]), "code": "en", "kato": "630000000",
              "queue_id": "kindergarten-000000000"}
    client = site.client(None if role == "public" else role)
    wrong: list[str] = []
    for endpoint in endpoints(site.app):
        method, path = endpoint.split(" ", 1)
        url = _fill(path, values)
        send = client.get if method == "GET" else client.post
        r = send(url, follow_redirects=False)
        to_login = r.status_code == 303 and r.headers.get("location", "").startswith("/login")
        denied = r.status_code in (401, 403) or to_login
        allowed = role in MATRIX[endpoint]
        if allowed and denied:
            wrong.append(f"{endpoint}: {role} should be allowed, got {r.status_code} {r.text[:120]}")
        if not allowed:
            expected = (401,) if path.startswith("/api/") and role == "public" else (403,)
            if not (r.status_code in expected or (role == "public" and not path.startswith("/api/") and to_login)):
                wrong.append(f"{endpoint}: {role} should be denied, got {r.status_code}")
        if method == "POST" and allowed:
            r = client.post(url, csrf=False, follow_redirects=False)
            if r.status_code != 403 or "CSRF" not in r.text:
                wrong.append(f"{endpoint}: {role} without a CSRF token got {r.status_code}")
        if role != "public" and endpoint in ("POST /logout", "POST /api/v1/logout"):
            client = site.client(role)  # signed out by the request: sign in again
    assert not wrong, "\n".join(wrong)


def test_static_assets_are_served_by_the_app(module_site: Site) -> None:  # noqa: F811
    site = module_site
    client = site.client()
    for asset, kind in [("/static/aiqyn.css", "text/css"), ("/static/htmx.min.js", "javascript"),
                        ("/static/favicon.svg", "image/svg")]:
        r = client.get(asset)
        assert r.status_code == 200 and kind in r.headers["content-type"], asset
    page = client.get("/").text
    assert "http://" not in page.replace("http://testserver", "") and "https://" not in page  # no CDN

