"""The public portal: aggregate statistics that are the store's and the application's own figures, public flags per
process, and no personal data on any page the public may open.

The store here has the conflict-of-interest flags too (registers of officials, relatives and companies imported,
`aiqyn entities flags`): their evidence names officials and relatives, so that a leak would show."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from webkit import PASSWORDS, Site, make_site, store, store_rows  # noqa: F401  (fixtures)

from aiqyn.indicators.registry import REGISTRY
from aiqyn.web.app import route_table
from conftest import run_cli

REPORTER = {"contact": "Сауле Нурланкызы, saule.reporter@example.kz, +7 701 555 12 34",
            "name": "Сауле Нурланкызы", "email": "saule.reporter@example.kz", "phone": "+7 701 555 12 34"}


@pytest.fixture(scope="module")
def portal(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Site:  # noqa: F811
    base = tmp_path_factory.mktemp("portal")
    copy = base / "store.duckdb"
    shutil.copy(store, copy)
    for kind in ("officials", "relatives", "companies"):
        assert run_cli(["registers", "import", kind, store.parent / f"{kind}.csv", "--db", copy]).code in (0, 1)
    assert run_cli(["entities", "resolve", "--db", copy]).code == 0
    res = run_cli(["entities", "flags", "--db", copy])
    assert res.code == 0, res.output
    site = make_site(copy, f"sqlite:///{base / 'app.sqlite'}", base / "uploads")
    analyst, supervisor = site.client("analyst"), site.client("supervisor")
    recs = []
    for ocid, stake in ((site.org_ocid, "480000000"), (site.other_ocid, "15000000")):
        case = analyst.post("/api/v1/cases", json={"title": "t", "ocid": ocid, "recommendation": "Repeat the purchase",
                                                  "money_at_stake": stake}).json()
        recs.append(case["recommendations"][0]["id"])
    for rid in recs:
        assert supervisor.post(f"/api/v1/recommendations/{rid}/status", json={"status": "issued"}).status_code == 200
    for status in ("accepted", "in_execution"):
        analyst.post(f"/api/v1/recommendations/{recs[0]}/status", json={"status": status})
    assert analyst.post(f"/api/v1/recommendations/{recs[0]}/savings", json={"amount": "372000000"}).status_code == 200
    r = site.client().post("/api/v1/reports", data={"kind": "corruption", "ocid": site.org_ocid,
                                                    "text": "The commission chair's brother won", "contact":
                                                    REPORTER["contact"]})
    assert r.status_code == 201, r.text
    site.client("compliance").post("/api/v1/meetings", json={
        "official_iin": _officials(store)[0]["iin"], "official_name": _officials(store)[0]["full_name"],
        "company_name": "ТОО «Портал»", "starts_at": "2024-03-12 10:00", "place": "101", "recorded": True})
    return site


def _officials(store: Path) -> list[dict[str, str]]:  # noqa: F811
    with (store.parent / "officials.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def personal_data(store: Path) -> dict[str, set[str]]:  # noqa: F811
    """Names, IINs, e-mails and telephone numbers of people in the generated data."""
    data = store.parent
    found: dict[str, set[str]] = {"name": set(), "iin": set(), "email": set(), "phone": set()}
    for r in _officials(store):
        found["name"].add(r["full_name"])
        found["iin"].add(r["iin"])
    with (data / "relatives.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            found["name"].add(r["relative_name"])
            found["iin"].add(r["relative_iin"])
    with (data / "companies.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            found["phone"].add(r["phone"])
            for person in (r["founders"] + ";" + r["directors"]).split(";"):
                person = person.split(",")[0].strip()
                found["iin" if person.isdigit() else "name"].add(person)
    with (data / "meetings.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            found["iin"].update([r["official_iin"], *r["commission_members"].split(";")])

    def contacts(value: Any) -> None:
        if isinstance(value, dict):
            cp = value.get("contactPoint")
            if isinstance(cp, dict):
                for key, kind in (("name", "name"), ("email", "email"), ("telephone", "phone")):
                    if cp.get(key):
                        found[kind].add(cp[key])
            for v in value.values():
                contacts(v)
        elif isinstance(value, list):
            for v in value:
                contacts(v)

    with (data / "releases.jsonl").open(encoding="utf-8") as f:
        for line in f:
            contacts(json.loads(line))
    found["name"].add(REPORTER["name"])
    found["email"].add(REPORTER["email"])
    found["phone"].add(REPORTER["phone"])
    return {k: {v for v in vs if v and len(v) >= 5} for k, vs in found.items()}


def leaks(text: str, pd: dict[str, set[str]]) -> list[str]:
    out = [f"{kind} {v!r}" for kind, values in pd.items() if kind != "iin" for v in values if v in text]
    out += [f"iin {n}" for n in set(re.findall(r"(?<!\d)\d{12}(?!\d)", text)) if n in pd["iin"]]
    return out


def test_no_personal_data_on_any_public_page(portal: Site, store: Path) -> None:  # noqa: F811
    site = portal
    pd = personal_data(store)
    assert len(pd["name"]) > 300 and len(pd["iin"]) > 300 and pd["email"] and pd["phone"]
    conflicted = [r[0] for r in store_rows(site.store, "SELECT DISTINCT subject_id FROM flags WHERE code LIKE 'CI%' "
                                           "AND subject_type = 'process' ORDER BY 1")]
    assert conflicted, "the generated data plants conflicts of interest"
    # The test can fail: an analyst's page of such a process names the people of the affiliation path.
    analyst_page = site.client("analyst").get(f"/processes/{conflicted[0]}").text
    assert leaks(analyst_page, pd), "the analyst's process page shows the conflict's path with its people"

    visitor = site.client()
    urls: list[str] = []
    for method, path in route_table(site.app):  # every page and API read the public may open, without parameters
        if method == "GET" and "{" not in path and not path.startswith(("/static", "/api/docs", "/lang")):
            urls.append(path)
    assert {"/public", "/public/processes", "/api/v1/public/summary", "/api/v1/public/processes"} <= set(urls)
    rows = visitor.get("/api/v1/public/processes").json()
    pages = (rows["total"] + 49) // 50
    urls += [f"/public/processes?page={p}" for p in range(2, pages + 1)]
    for ocid in sorted({*conflicted, site.org_ocid, site.other_ocid, *(r["ocid"] for r in rows["rows"][:20])}):
        urls += [f"/public/processes/{ocid}", f"/api/v1/public/processes/{ocid}"]
    problems: list[str] = []
    checked = 0
    for url in urls:
        r = visitor.get(url, follow_redirects=False)
        if r.status_code in (401, 403) or (r.status_code == 303 and "/login" in r.headers.get("location", "")):
            continue  # not public
        assert r.status_code < 500, f"{url}: {r.status_code}"
        checked += 1
        problems += [f"{url}: {p}" for p in leaks(r.text, pd)]
        if url.startswith(("/public/processes/", "/api/v1/public/processes/")):
            assert not re.search(r"CI\d{3}", r.text), f"{url}: a conflict-of-interest flag on the public portal"
    assert checked >= 2 * len(conflicted) + 4
    assert not problems, "personal data on public pages:\n" + "\n".join(problems[:20])


def test_public_figures_are_the_store_and_the_application(portal: Site) -> None:
    site = portal
    s = site.client().get("/api/v1/public/summary").json()
    ((n, flagged),) = store_rows(site.store, f"""
        SELECT (SELECT count(*) FROM processes),
               (SELECT count(DISTINCT subject_id) FROM flags WHERE subject_type = 'process'
                AND code IN ({", ".join(f"'{c}'" for c in REGISTRY)}))""")
    assert s["total"]["processes"] == n and s["total"]["flagged"] == flagged
    assert sum(r["processes"] for r in s["by_year"]) == n == sum(r["processes"] for r in s["by_region"])
    by_code = dict(store_rows(site.store, "SELECT code, count(DISTINCT subject_id) FROM flags "
                              "WHERE subject_type = 'process' GROUP BY code"))
    assert {r["code"]: r["processes"] for r in s["by_flag"]} == {c: k for c, k in by_code.items() if c in REGISTRY}
    assert any(c.startswith("CI") for c in by_code) and not any(r["code"].startswith("CI") for r in s["by_flag"])
    assert s["recommendations"]["issued"] == 2 and s["recommendations"]["in_execution"] == 1
    assert float(s["recommendations"]["money_saved"]) == 372_000_000
    page = site.client().get("/public", headers={"Accept-Language": "en"}).text
    assert "2 recommendations issued, 1 being carried out, 372M ₸ saved." in re.sub(r"\s+", " ", page)
    assert 'href="/regions"' in page

    # A process: its public flags and score, as the analyst sees them minus the non-public ones; no evidence.
    public = site.client().get(f"/api/v1/public/processes/{site.org_ocid}").json()
    full = site.client("analyst").get(f"/api/v1/processes/{site.org_ocid}").json()
    expected = {f["code"] for f in full["flags"] if f["subject_type"] == "process" and f["code"] in REGISTRY}
    assert [f["code"] for f in public["flags"]] == sorted(expected)
    assert public["score"] == full["score"]["score"] and public["rank"] == full["score"]["rank"]
    assert "evidence" not in json.dumps(public)
    listed = site.client().get("/api/v1/public/processes", params={"flag": public["flags"][0]["code"]}).json()
    assert listed["total"] == by_code[public["flags"][0]["code"]]
    assert all(public["flags"][0]["code"] in r["codes"] and not any(c.startswith("CI") for c in r["codes"])
               for r in listed["rows"])
    assert site.client().get("/api/v1/public/processes", params={"flag": "CI001"}).status_code == 422
    assert site.client().get("/public/processes/no-such-process").status_code == 404
