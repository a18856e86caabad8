"""Plan items of a Comprehensive plan: supervisors write them, owners' organisations report progress, overdue
items are highlighted; a compliance officer sees only the organisation's."""

from __future__ import annotations

import datetime as dt

from webkit import Site, site, store  # noqa: F401  (fixtures)

from conftest import run_cli


def test_plan_items_overdue_and_scoped(site: Site) -> None:  # noqa: F811
    supervisor, analyst = site.client("supervisor"), site.client("analyst")
    officer, other = site.client("compliance"), site.client("other")
    today = dt.datetime.now(dt.UTC).date()
    past, future = (today - dt.timedelta(days=10)).isoformat(), (today + dt.timedelta(days=30)).isoformat()
    item = {"plan": "Comprehensive plan 2025-2026", "owner": "Deputy akim", "organisation": site.org_subject}
    late = supervisor.post("/api/v1/plan", json={**item, "title": "Publish the procurement plan", "deadline": past})
    assert late.status_code == 201 and late.json()["overdue"] is True, late.text
    on_time = supervisor.post("/api/v1/plan", json={**item, "title": "Train the commission", "deadline": future})
    assert on_time.json()["overdue"] is False
    elsewhere = supervisor.post("/api/v1/plan", json={
        **item, "title": "Video in the meeting rooms", "deadline": past,
        "organisation": site.other_subject.removeprefix("KZ-BIN-")})
    assert elsewhere.status_code == 201 and elsewhere.json()["organisation"] == site.other_subject
    assert supervisor.post("/api/v1/plan", json={**item, "title": "x", "deadline": past,
                                                 "organisation": "KZ-BIN-000000000000"}).status_code == 422
    assert analyst.post("/api/v1/plan", json={**item, "title": "x", "deadline": past}).status_code == 403

    assert [i["title"] for i in supervisor.get("/api/v1/plan", params={"overdue": True}).json()] == [
        "Publish the procurement plan", "Video in the meeting rooms"]
    page = supervisor.get("/plan").text
    assert page.count('class="overdue"') == 2 and f'<tr class="overdue" id="plan-{late.json()["id"]}">' in page

    # The organisation's officer sees its two items and reports one done; the other officer sees neither.
    assert {i["title"] for i in officer.get("/api/v1/plan").json()} == {"Publish the procurement plan",
                                                                        "Train the commission"}
    r = officer.post(f"/api/v1/plan/{late.json()['id']}/status", json={"status": "done", "note": "Published 3 May"})
    assert r.status_code == 200 and r.json()["overdue"] is False and r.json()["done_at"]
    assert officer.post(f"/api/v1/plan/{on_time.json()['id']}/status", json={"status": "cancelled"}).status_code == 403
    assert other.post(f"/api/v1/plan/{late.json()['id']}/status", json={"status": "planned"}).status_code == 404
    assert [i["title"] for i in other.get("/api/v1/plan").json()] == ["Video in the meeting rooms"]
    assert supervisor.get("/api/v1/plan", params={"overdue": True}).json()[0]["title"] == "Video in the meeting rooms"
    assert run_cli(["audit", "verify", "--app-db", site.url]).code == 0
