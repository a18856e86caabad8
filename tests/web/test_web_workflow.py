"""The recommendation workflow, on SQLite and on a real PostgreSQL: an analyst turns a flag into a case and a
recommendation, a supervisor issues it, the organisation's compliance officer carries it out, the analyst
records the money saved; the dashboard and the audit log show it all."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from webkit import Site, make_site, pg_url, store, store_rows  # noqa: F401  (fixtures)

from conftest import run_cli


@pytest.fixture(params=["sqlite", "postgresql"])
def any_site(request: pytest.FixtureRequest, store: Path, tmp_path: Path) -> Site:  # noqa: F811
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    else:
        url = request.getfixturevalue("pg_url")
        _reset_pg(url)
    return make_site(store, url, tmp_path / "uploads")


def _reset_pg(url: str) -> None:
    """Each test gets an empty schema in the run's database."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute("DROP SCHEMA public CASCADE")
        con.execute("CREATE SCHEMA public")


def test_flag_to_recommendation_to_money_saved(any_site: Site) -> None:
    site = any_site
    ocid = site.org_ocid
    (code, subject_type, subject_id), *_ = store_rows(
        site.store, "SELECT code, subject_type, subject_id FROM flags WHERE subject_type = 'process' "
        "AND subject_id = ? ORDER BY code", [ocid])
    analyst, supervisor = site.client("analyst"), site.client("supervisor")
    compliance, other = site.client("compliance"), site.client("other")

    # The analyst opens a case from the flag, with a first recommendation (a draft).
    r = analyst.post("/api/v1/cases", json={"title": f"{code} on {ocid}", "ocid": ocid, "code": code,
                                           "subject_type": subject_type, "subject_id": subject_id,
                                           "recommendation": "Cancel the contract and repeat the tender.",
                                           "money_at_stake": "1250000.50"})
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["flag_code"] == code and case["ocid"] == ocid and case["organisation"] == site.org_subject
    (rec,) = case["recommendations"]
    assert rec["status"] == "draft" and Decimal(rec["money_at_stake"]) == Decimal("1250000.50")
    rid = rec["id"]

    # Only a supervisor issues it.
    r = analyst.post(f"/api/v1/recommendations/{rid}/status", json={"status": "issued"})
    assert r.status_code == 403, r.text
    r = compliance.post(f"/api/v1/recommendations/{rid}/status", json={"status": "accepted"})
    assert r.status_code == 409, r.text  # a draft cannot be accepted
    r = supervisor.post(f"/api/v1/recommendations/{rid}/status", json={"status": "issued", "note": "sent by letter"})
    assert r.status_code == 200 and r.json()["status"] == "issued" and r.json()["issued_at"]

    # Money saved is recorded only once the organisation accepted it.
    r = analyst.post(f"/api/v1/recommendations/{rid}/savings", json={"amount": "1000"})
    assert r.status_code == 409, r.text

    # Another organisation's compliance officer does not even see it.
    assert other.get(f"/api/v1/recommendations/{rid}").status_code == 404
    assert other.get(f"/api/v1/cases/{case['id']}").status_code == 404
    assert other.post(f"/api/v1/recommendations/{rid}/status", json={"status": "accepted"}).status_code == 404
    assert all(c["id"] != case["id"] for c in other.get("/api/v1/cases").json())

    # The organisation's compliance officer accepts it and carries it out.
    for status in ("accepted", "in_execution"):
        r = compliance.post(f"/api/v1/recommendations/{rid}/status", json={"status": status})
        assert r.status_code == 200 and r.json()["status"] == status, r.text
    assert compliance.post(f"/api/v1/recommendations/{rid}/savings", json={"amount": "5"}).status_code == 403

    # The analyst records the money saved, twice (it adds up).
    r = analyst.post(f"/api/v1/recommendations/{rid}/savings", json={"amount": "300000.25", "note": "price cut"})
    assert r.status_code == 200, r.text
    r = analyst.post(f"/api/v1/recommendations/{rid}/savings", json={"amount": "72000"})
    assert Decimal(r.json()["money_saved"]) == Decimal("372000.25")
    r = compliance.post(f"/api/v1/recommendations/{rid}/status", json={"status": "executed"})
    assert r.status_code == 200 and r.json()["executed_at"]

    # Who did what and when.
    events = r.json()["events"]
    assert [(e["user"], e["kind"], e["to_status"]) for e in events] == [
        ("analyst", "status", "draft"), ("supervisor", "status", "issued"), ("compliance", "status", "accepted"),
        ("compliance", "status", "in_execution"), ("analyst", "saving", "in_execution"),
        ("analyst", "saving", "in_execution"), ("compliance", "status", "executed")]

    # The dashboard: 1 issued, 0 in execution now, 1 executed, 372,000.25 saved; the other organisation sees 0.
    d = supervisor.get("/api/v1/dashboard").json()
    assert d["total"]["issued"] == 1 and d["total"]["executed"] == 1 and d["total"]["in_execution"] == 0
    assert Decimal(str(d["total"]["money_saved"])) == Decimal("372000.25")
    (region,) = d["by_region"]
    region_code = store_rows(site.store, "SELECT region_code FROM parties WHERE subject_id = ? LIMIT 1",
                             [site.org_subject])[0][0]
    assert region["region"] == region_code[:2] + "0000000"
    assert other.get("/api/v1/dashboard").json()["total"]["issued"] == 0
    assert compliance.get("/api/v1/dashboard").json()["total"]["issued"] == 1
    page = supervisor.get("/dashboard").text
    assert 'id="money-saved"' in page and "372" in page

    # Closing: only a supervisor; then the case can be closed.
    assert analyst.post(f"/api/v1/recommendations/{rid}/status", json={"status": "closed"}).status_code == 403
    assert supervisor.post(f"/api/v1/recommendations/{rid}/status", json={"status": "closed"}).status_code == 200
    r = analyst.post(f"/api/v1/cases/{case['id']}/close")
    assert r.status_code == 200 and r.json()["status"] == "closed"

    # Every change is in the audit log, and its chain holds.
    res = run_cli(["audit", "verify", "--app-db", site.url])
    assert res.code == 0 and "intact" in res.output, res.output
    log = supervisor.get("/api/v1/audit", params={"per_page": 1000}).json()
    actions = [e["action"] for e in reversed(log["entries"])]
    assert actions.count("recommendation.status") == 5 and actions.count("recommendation.saving") == 2
    assert "case.open" in actions and "recommendation.create" in actions and "case.close" in actions
    assert log["verified"] is True


def test_pages_and_forms(any_site: Site) -> None:
    """The same journey through the HTML forms (what the browser does)."""
    site = any_site
    analyst, supervisor = site.client("analyst"), site.client("supervisor")
    page = analyst.get(f"/cases/new?ocid={site.org_ocid}")
    assert page.status_code == 200 and site.org_ocid in page.text
    r = analyst.form("/cases", {"title": "Overpriced paper", "ocid": site.org_ocid, "recommendation": "Return 10%",
                                "money_at_stake": "2 500 000,00"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    case_url = r.headers["location"]
    page = analyst.get(case_url).text
    assert "Overpriced paper" in page and "Return 10%" in page
    rid = supervisor.get("/api/v1/recommendations").json()[0]["id"]
    assert supervisor.get(f"/api/v1/recommendations/{rid}").json()["money_at_stake"] == "2500000.00"
    r = supervisor.form(f"/recommendations/{rid}/status", {"status": "issued"}, follow_redirects=False)
    assert r.status_code == 303
    r = analyst.form(f"/recommendations/{rid}/status", {"status": "accepted", "note": "letter 12/3"},
                     follow_redirects=False)
    assert r.status_code == 303
    r = analyst.form(f"/recommendations/{rid}/savings", {"amount": "250000"}, follow_redirects=False)
    assert r.status_code == 303
    page = analyst.get(f"/recommendations/{rid}").text
    assert "letter 12/3" in page and 'id="saved"' in page
    # An amount that is no amount: a clear 422, nothing recorded.
    r = analyst.form(f"/recommendations/{rid}/savings", {"amount": "a lot"})
    assert r.status_code == 422 and "not an amount" in r.text
    assert supervisor.get(f"/api/v1/recommendations/{rid}").json()["money_saved"] == "250000.00"
    # A form without its CSRF token is refused.
    r = analyst.http.post(f"/recommendations/{rid}/savings", data={"amount": "1"})
    assert r.status_code == 403
