"""The meetings register, on SQLite and on a real PostgreSQL: a compliance officer records meetings of their
organisation's officials; `aiqyn meetings import --app-db` takes them to the analytics store, `aiqyn meetings check`
finds the violations there, and the application shows them next to each meeting. The form's own validation, the
confinement to one organisation, the audit log."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from test_web_workflow import _reset_pg
from webkit import Site, make_site, pg_url, store, store_rows  # noqa: F401  (fixtures)

from aiqyn.web.app import create_app
from aiqyn.web.settings import WebSettings
from conftest import run_cli


@pytest.fixture(params=["sqlite", "postgresql"])
def meetings_site(request: pytest.FixtureRequest, store: Path, tmp_path: Path) -> Site:  # noqa: F811
    """A site on a writable copy of the store, with the generated registers of officials and companies imported
    (the rules on the official's own office and on tender winners read them)."""
    copy = tmp_path / "store.duckdb"
    shutil.copy(store, copy)
    for kind in ("officials", "companies"):
        res = run_cli(["registers", "import", kind, store.parent / f"{kind}.csv", "--db", copy])
        assert res.code in (0, 1), res.output
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    else:
        url = request.getfixturevalue("pg_url")
        _reset_pg(url)
    return make_site(copy, url, tmp_path / "uploads")


def _officials(store_file: Path, subject: str) -> list[dict[str, str]]:
    with (store_file.parent / "officials.csv").open(encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["organisation_bin"] == subject.removeprefix("KZ-BIN-")]


def _winner(store_file: Path, subject: str) -> tuple[str, dt.date]:
    """A company that won a tender of the organisation, and the award's date."""
    rows = store_rows(store_file, """
        SELECT s.identifier, CAST(a.date AS DATE) FROM awards a
        JOIN award_suppliers x ON x.ocid = a.ocid AND x.award_position = a.position
        JOIN parties s ON s.ocid = x.ocid AND s.party_id = x.party_id
        JOIN processes p ON p.ocid = a.ocid
        JOIN parties b ON b.ocid = p.ocid AND b.party_id = p.buyer_id
        WHERE b.subject_id = ? AND a.date IS NOT NULL
          AND coalesce(a.status, 'active') NOT IN ('cancelled', 'unsuccessful') AND length(s.identifier) = 12
        ORDER BY a.date LIMIT 1""", [subject])
    assert rows, f"no award of {subject} in the generated data"
    return rows[0][0], rows[0][1]


def test_meetings_recorded_imported_checked_and_shown(meetings_site: Site, store: Path) -> None:  # noqa: F811
    site = meetings_site
    officials = _officials(store, site.org_subject)
    assert len(officials) >= 3, "the generated registers give each buyer a few officials"
    head, deputy, other = officials[:3]
    members = [o["iin"] for o in officials[3:5]] or [other["iin"]]
    winner, awarded = _winner(site.store, site.org_subject)
    officer = site.client("compliance")

    def record(**body: Any) -> Any:
        return officer.post("/api/v1/meetings", json=body)

    # By the rules: a recorded ground-floor room, two commission members, working hours.
    good = record(official_iin=head["iin"], official_name=head["full_name"], company_name="ТОО «Курылыс Сервис»",
                  starts_at="2024-03-12 10:00", ends_at="2024-03-12 10:40", place="переговорная 101 (1 этаж)",
                  recorded=True, recording_ref="REC-2024-0312-1", commission_members=[other["iin"], *members],
                  subject="Приёмка работ")
    assert good.status_code == 201, good.text
    # In the official's own office, no recording, nobody of the commission.
    bad = record(official_iin=deputy["iin"], company_bin=winner, starts_at="2024-03-13 11:00",
                 place=f"{deputy['office']}, приёмная", recorded=False)
    assert bad.status_code == 201, bad.text
    # The winner of the organisation's tender, in the evening two days after the award.
    evening = dt.datetime.combine(awarded + dt.timedelta(days=2), dt.time(20, 0))
    late = record(official_iin=head["iin"], company_bin=winner, starts_at=f"{evening:%Y-%m-%d %H:%M}",
                  ends_at=f"{evening + dt.timedelta(minutes=30):%Y-%m-%d %H:%M}", place="переговорная 101 (1 этаж)",
                  recorded=True, recording_ref="REC-late", commission_members=[other["iin"], *members])
    assert late.status_code == 201, late.text
    good, bad, late = good.json(), bad.json(), late.json()
    assert good["recorded_by"] == "compliance" and good["organisation"] == site.org_subject
    assert not good["in_store"] and good["violations"] == []  # the analytics have not read it yet

    # The form is checked by the application: fields named, nothing recorded.
    wrong_iin = head["iin"][:-1] + str((int(head["iin"][-1]) + 1) % 10)
    r = record(official_iin=wrong_iin, company_name="X", starts_at="2024-03-12 10:00", place="101", recorded=True)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "official_iin"], r.text
    assert "check digit" in r.json()["detail"][0]["msg"]
    r = record(official_iin=head["iin"], starts_at="2024-03-12 10:00", ends_at="2024-03-12 09:00", place="101",
               recorded=True)
    fields = {e["loc"][1] for e in r.json()["detail"]}
    assert r.status_code == 422 and fields == {"company_bin", "ends_at"}, r.text
    r = record(official_iin=head["iin"], company_name="X", starts_at="12 March", place="", recorded=True,
               commission_members=["123"])
    assert {e["loc"][1] for e in r.json()["detail"]} == {"starts_at", "place", "commission_members"}
    page = officer.form("/meetings", {"official_iin": head["iin"], "company_name": "X", "starts_at": "2024-03-12T10:00",
                                      "ends_at": "2024-03-12T09:00", "place": "101"})
    assert page.status_code == 422 and 'data-field="ends_at"' in page.text and 'value="101"' in page.text

    # One organisation: another's officer neither sees nor records them, nor may this one for another.
    other_officer = site.client("other")
    assert other_officer.get("/api/v1/meetings").json() == []
    assert other_officer.get(f"/api/v1/meetings/{good['id']}").status_code == 404
    assert other_officer.get(f"/meetings/{good['id']}").status_code == 404
    r = record(official_iin=head["iin"], company_name="X", starts_at="2024-03-12 10:00", place="101", recorded=True,
               organisation=site.other_subject)
    assert r.status_code == 403
    assert site.client("analyst").post("/api/v1/meetings", json={}).status_code == 403
    assert len(site.client("analyst").get("/api/v1/meetings").json()) == 3
    assert len(officer.get("/api/v1/meetings").json()) == 3
    assert [m["id"] for m in officer.get("/api/v1/meetings", params={"date_from": "2024-03-13",
                                                                     "date_to": "2024-03-13"}).json()] == [bad["id"]]

    # The analytics: the importer reads the application's database, the check stores the violations.
    site.app.state.aiqyn.analytics.close()  # the store is written now (served read-only, it is closed first)
    res = run_cli(["meetings", "import", "--app-db", site.url, "--db", site.store])
    assert res.code == 0, res.output
    assert "imported 3 meetings from app-db" in res.output
    res = run_cli(["meetings", "check", "--db", site.store])
    assert res.code == 1, res.output  # 1: violations found
    source = store_rows(site.store, "SELECT DISTINCT source_file FROM meetings")
    assert source == [(f"app-db {site.url}",)] or source[0][0].startswith("app-db postgresql")

    app = create_app(WebSettings(db=site.store, app_db=site.url, secret_key="t-" + uuid.uuid4().hex,
                                 upload_dir=site.store.parent / "uploads"))
    site2 = Site(app, site.url, site.store, site.org_ocid, site.org_subject, site.other_ocid, site.other_subject)
    officer = site2.client("compliance")
    by_id = {m["id"]: m for m in officer.get("/api/v1/meetings").json()}
    assert all(m["in_store"] for m in by_id.values())
    rules = {i: sorted(v["rule"] for v in m["violations"]) for i, m in by_id.items()}
    assert rules[good["id"]] == []
    assert rules[bad["id"]] == ["no_commission", "own_office", "unrecorded_room"]
    assert rules[late["id"]] == ["winner_after_hours"]
    evidence = by_id[late["id"]]["violations"][0]["evidence"]
    assert evidence["buyer"] == site.org_subject.removeprefix("KZ-BIN-") and "outside working hours" in evidence["why"]
    # The violations are the store's rows, as `aiqyn meetings check` wrote them.
    stored = store_rows(site.store, "SELECT meeting_id, rule FROM meeting_violations WHERE meeting_id LIKE 'app-%' "
                        "ORDER BY 1, 2")
    assert stored == sorted((f"app-{i}", r) for i, rs in rules.items() for r in rs)

    listing = officer.get("/meetings").text
    assert 'id="n-violating"' in listing and 'title="winner_after_hours"' in listing
    assert listing.count('class="badge st-executed"') == 1  # the one meeting by the rules
    page = officer.get(f"/meetings/{bad['id']}").text
    assert "own_office" in page and deputy["office"] in page
    assert 'id="no-violation"' in officer.get(f"/meetings/{good['id']}").text

    # Every recording is in the audit log, whose chain holds.
    log = site2.client("supervisor").get("/api/v1/audit").json()
    assert log["verified"]
    audit = [e for e in log["entries"] if e["action"] == "meeting.record"]
    assert sorted(int(e["object_id"]) for e in audit) == sorted([good["id"], bad["id"], late["id"]])
    assert {e["actor"] for e in audit} == {"compliance"}
    assert not any(o["iin"] in e["data"] for e in audit for o in officials)  # the log is forever: no person in it
    assert run_cli(["audit", "verify", "--app-db", site.url]).code == 0
    app.state.aiqyn.analytics.close()


def test_import_needs_a_file_or_the_app_db(tmp_path: Path) -> None:
    res = run_cli(["meetings", "import", "--db", tmp_path / "s.duckdb"])
    assert res.code == 2 and "--app-db" in res.output
    res = run_cli(["meetings", "import", "--app-db", f"sqlite:///{tmp_path / 'none.sqlite'}", "--db",
                   tmp_path / "s.duckdb"])
    assert res.code == 2 and "aiqyn app-db upgrade" in res.output
