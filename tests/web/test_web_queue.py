"""The risk queue and the process page show what the analytics store holds, read-only: the same processes,
flags and evidence a query on the store gives, through every filter."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from webkit import Site, module_site, store, store_rows  # noqa: F401  (fixtures)

FLAGGED = """SELECT DISTINCT p.ocid FROM processes p
             JOIN flags f ON f.subject_type = 'process' AND f.subject_id = p.ocid
             LEFT JOIN parties bp ON bp.ocid = p.ocid AND bp.party_id = p.buyer_id"""


def queue_ocids(client, **params) -> tuple[set[str], int]:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/queue", params={**params, "per_page": 500})
    assert r.status_code == 200, r.text
    body = r.json()
    ocids = {row["ocid"] for row in body["rows"]}
    page = 2
    while len(ocids) < body["total"]:
        more = client.get("/api/v1/queue", params={**params, "per_page": 500, "page": page}).json()["rows"]
        assert more, "pagination ended before the total"
        ocids |= {row["ocid"] for row in more}
        page += 1
    return ocids, body["total"]


def test_queue_is_the_flagged_processes_with_every_filter(module_site: Site) -> None:  # noqa: F811
    site = module_site
    analyst = site.client("analyst")
    db = site.store
    ocids, total = queue_ocids(analyst)
    expected = {r[0] for r in store_rows(db, FLAGGED)}
    assert ocids == expected and total == len(expected) > 50

    region, district, method, code, buyer_id, buyer_name = store_rows(db, """
        SELECT p.region_code[:2] || '0000000', p.region_code, p.method_details, f.code, bp.subject_id, p.buyer_name
        FROM processes p JOIN flags f ON f.subject_type = 'process' AND f.subject_id = p.ocid
        JOIN parties bp ON bp.ocid = p.ocid AND bp.party_id = p.buyer_id ORDER BY p.ocid LIMIT 1""")[0]
    cases = [
        ({"region": region}, f"left(p.region_code, 2) = '{region[:2]}'"),
        ({"district": district}, f"p.region_code = '{district}'"),
        ({"method": method}, f"p.method_details = '{method}'"),
        ({"flag": code}, f"p.ocid IN (SELECT subject_id FROM flags WHERE subject_type = 'process' "
                         f"AND code = '{code}')"),
        ({"buyer": buyer_id}, f"bp.subject_id = '{buyer_id}'"),
        ({"buyer": buyer_id.removeprefix("KZ-BIN-")}, f"bp.subject_id = '{buyer_id}'"),
        ({"buyer": buyer_name[5:20]}, f"p.buyer_name ILIKE '%{buyer_name[5:20]}%'"),
        ({"amount_min": 1_000_000, "amount_max": 20_000_000}, "p.estimated_amount BETWEEN 1000000 AND 20000000"),
        ({"date_from": "2024-01-01", "date_to": "2024-06-30"},
         "coalesce(p.tender_start, p.release_date) >= TIMESTAMPTZ '2024-01-01 00:00:00+00' AND "
         "coalesce(p.tender_start, p.release_date) < TIMESTAMPTZ '2024-07-01 00:00:00+00'"),
    ]
    for params, where in cases:
        got, n = queue_ocids(analyst, **params)
        want = {r[0] for r in store_rows(db, f"{FLAGGED} WHERE {where}")}
        assert got == want and n == len(want), params
        assert want, f"the test data should give rows for {params}"


@pytest.mark.parametrize("sort", ["flags", "amount", "date"])
def test_queue_sorts_and_pages(module_site: Site, sort: str) -> None:  # noqa: F811
    site = module_site
    analyst = site.client("analyst")
    first = analyst.get("/api/v1/queue", params={"sort": sort, "per_page": 20}).json()["rows"]
    second = analyst.get("/api/v1/queue", params={"sort": sort, "per_page": 20, "page": 2}).json()["rows"]
    key = {"flags": "n_flags", "amount": "estimated_amount", "date": "date"}[sort]
    values = [r[key] for r in first + second if r[key] is not None]
    assert values == sorted(values, reverse=True)
    assert not {r["ocid"] for r in first} & {r["ocid"] for r in second}
    ascending = analyst.get("/api/v1/queue", params={"sort": sort, "order": "asc", "per_page": 20}).json()["rows"]
    values = [r[key] for r in ascending if r[key] is not None]
    assert values == sorted(values)


def test_queue_page_and_htmx_fragment(module_site: Site) -> None:  # noqa: F811
    site = module_site
    analyst = site.client("analyst")
    (code,) = store_rows(site.store, "SELECT code FROM flags WHERE subject_type = 'process' GROUP BY code "
                         "ORDER BY count(*) LIMIT 1")[0]
    n = store_rows(site.store, "SELECT count(DISTINCT subject_id) FROM flags WHERE subject_type = 'process' "
                   "AND code = ?", [code])[0][0]
    page = analyst.get("/queue", params={"flag": code})
    assert page.status_code == 200 and "<html" in page.text
    assert page.text.count('<a href="/processes/') == min(n, 50)
    fragment = analyst.get("/queue", params={"flag": code}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and fragment.text.count('<a href="/processes/') == min(n, 50)
    assert analyst.get("/queue", params={"date_from": "yesterday"}).status_code == 422
    assert analyst.get("/queue", params={"sort": "drop table"}).status_code == 422


def test_process_page_shows_every_flag_with_its_evidence(module_site: Site) -> None:  # noqa: F811
    site = module_site
    analyst = site.client("analyst")
    ocid = site.org_ocid
    flags = store_rows(site.store, "SELECT code, evidence FROM flags WHERE subject_type = 'process' AND subject_id = ?",
                       [ocid])
    bids = store_rows(site.store, "SELECT amount FROM bids WHERE ocid = ?", [ocid])
    data = analyst.get(f"/api/v1/processes/{ocid}").json()
    assert data["process"]["ocid"] == ocid
    process_flags = [(f["code"], f["evidence"]) for f in data["flags"] if f["subject_type"] == "process"]
    assert sorted(process_flags, key=lambda x: x[0]) == sorted(((c, json.loads(e)) for c, e in flags),
                                                               key=lambda x: x[0])
    assert sorted(b["amount"] for b in data["bids"]) == sorted(b[0] for b in bids)
    for table in ("lots", "awards", "contracts", "amendments", "parties"):
        assert isinstance(data[table], list)
    page = analyst.get(f"/processes/{ocid}").text
    for code, evidence in flags:
        assert f'<span class="code">{code}</span>' in page
        first_key = next(iter(json.loads(evidence)), None)
        if first_key:
            assert first_key.replace("_", " ") in page
    assert f"/cases/new?ocid={ocid}" in page.replace("&amp;", "&")
    assert analyst.get("/processes/no-such-process").status_code == 404


def test_party_page(module_site: Site) -> None:  # noqa: F811
    site = module_site
    analyst = site.client("analyst")
    n = store_rows(site.store, """SELECT count(*) FROM processes p JOIN parties bp ON bp.ocid = p.ocid
                   AND bp.party_id = p.buyer_id WHERE bp.subject_id = ?""", [site.org_subject])[0][0]
    data = analyst.get(f"/api/v1/parties/{site.org_subject}").json()
    assert data["n_bought"] == n and len(data["bought"]) == min(n, 100)
    assert analyst.get(f"/parties/{site.org_subject}").status_code == 200


def test_compliance_officer_sees_only_the_organisation(module_site: Site) -> None:  # noqa: F811
    site = module_site
    officer = site.client("compliance")
    ocids, _ = queue_ocids(officer)
    own = {r[0] for r in store_rows(site.store, f"{FLAGGED} WHERE bp.subject_id = ?", [site.org_subject])}
    assert ocids == own and site.org_ocid in ocids
    assert officer.get(f"/processes/{site.org_ocid}").status_code == 200
    assert officer.get(f"/processes/{site.other_ocid}").status_code == 404
    assert officer.get(f"/api/v1/processes/{site.other_ocid}").status_code == 404
    assert officer.get(f"/parties/{site.other_subject}").status_code == 404
    assert officer.get(f"/api/v1/parties/{site.org_subject}").status_code == 200


def test_the_store_is_opened_read_only(module_site: Site, store: Path) -> None:  # noqa: F811
    site = module_site
    analytics = site.app.state.aiqyn.analytics
    with pytest.raises(duckdb.Error, match="read-only"):
        analytics.query("CREATE TABLE app_was_here (x INTEGER)")


def test_every_kind_of_evidence_renders(module_site: Site) -> None:  # noqa: F811
    """One process per indicator (evidence holds numbers, lists, nested objects, yes/no values)."""
    analyst = module_site.client("analyst")
    rows = store_rows(module_site.store, "SELECT code, min(subject_id) FROM flags WHERE subject_type = 'process' "
                      "GROUP BY code ORDER BY code")
    assert len(rows) > 10
    for code, ocid in rows:
        r = analyst.get(f"/processes/{ocid}")
        assert r.status_code == 200 and f'<span class="code">{code}</span>' in r.text, (code, ocid)
