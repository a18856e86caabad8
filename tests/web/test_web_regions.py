"""The regional index in the web application: the public map and ranking (/regions), a unit's scorecard
(/regions/{kato}), their JSON (/api/v1/regions), all read from the store the CLI computed; and a journey in
Debian's Chromium."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webkit import LiveServer, Site, browser, make_site, module_site, store, store_rows  # noqa: F401  (fixtures)

from aiqyn.web.app import create_app
from aiqyn.web.settings import WebSettings
from conftest import run_cli


@pytest.fixture(scope="module")
def regions_site(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:  # noqa: F811
    """A store with the index computed after two recommendations went through the application (one rejected by
    the buyer, one executed), and the application serving it."""
    base = tmp_path_factory.mktemp("regions-site")
    db = base / "s.duckdb"
    shutil.copy(store, db)
    site = make_site(db, f"sqlite:///{base / 'app.sqlite'}", base / "uploads")
    analyst, supervisor = site.client("analyst"), site.client("supervisor")
    for ocid, path in ((site.org_ocid, ("rejected",)), (site.other_ocid, ("accepted", "in_execution", "executed"))):
        case = analyst.post("/api/v1/cases", json={"title": "Overpriced", "ocid": ocid, "recommendation": "Return it",
                                                   "money_at_stake": "250000"}).json()
        rec = case["recommendations"][0]["id"]
        assert supervisor.post(f"/api/v1/recommendations/{rec}/status", json={"status": "issued"}).status_code == 200
        for status in path:
            r = analyst.post(f"/api/v1/recommendations/{rec}/status", json={"status": status})
            assert r.status_code == 200, r.text
    site.app.state.aiqyn.analytics.close()
    res = run_cli(["index", "compute", "--db", db, "--app-db", site.url, "--bootstrap", "50"])
    assert res.code == 0, res.output
    assert "2 issued, 1 not carried out" in res.stdout
    settings = WebSettings(db=db, app_db=site.url, secret_key="test-" + uuid.uuid4().hex, upload_dir=base / "uploads")
    yield Site(create_app(settings), site.url, db, site.org_ocid, site.org_subject, site.other_ocid,
               site.other_subject)


def _region_of(site: Site, ocid: str) -> str:
    return store_rows(site.store, "SELECT SUBSTRING(region_code, 1, 2) || '0000000' FROM processes WHERE ocid = ?",
                      [ocid])[0][0]


def _latest(site: Site) -> int:
    return max(r[0] for r in store_rows(site.store, "SELECT period FROM region_index WHERE quarter = 0 AND period > 0 "
                                        "GROUP BY period HAVING SUM(n_processes) > 0"))


def test_regions_page_is_public_and_shows_map_and_ranking(regions_site: Site) -> None:
    client = regions_site.client()
    rows = store_rows(regions_site.store, "SELECT period, kato, name_ru, name_kk, rank FROM region_index "
                      "WHERE level = 'region' AND period = 2024 AND quarter = 0 ORDER BY rank")
    r = client.get("/regions?period=2024")
    assert r.status_code == 200
    assert "script-src 'self'" in r.headers["content-security-policy"]
    page = r.text
    assert 'class="choropleth"' in page and page.count("<path ") >= 20  # every oblast drawn
    assert not re.search(r"<script(?![^>]*src=\"/static/)", page)  # no inline script (the CSP forbids them)
    ranked = re.findall(r'<tr data-kato="(\d{9})">', page)
    assert ranked == [k for _, k, *_ in rows]
    for _, kato, ru, kk, _rank in rows:
        assert ru in page and kk in page
        assert f'href="/regions/{kato}?period=2024"' in page
    assert "change from 2023" in page or "изменение к периоду 2023" in page
    districts = client.get("/regions?level=district&period=0").text
    assert 'id="ranking"' in districts and "нет закупок" in districts  # hover text of units without procurements
    empty = client.get("/regions?period=2031", headers={"Accept-Language": "en"}).text
    assert "No procurements in this period" in empty


def test_scorecard_page(regions_site: Site) -> None:
    client = regions_site.client()
    kato = _region_of(regions_site, regions_site.org_ocid)
    ru, kk, idx = store_rows(regions_site.store, "SELECT name_ru, name_kk, index_value FROM region_index WHERE "
                             "level = 'region' AND kato = ? AND period = 0 AND quarter = 0", [kato])[0]
    page = client.get(f"/regions/{kato}?period=0").text
    assert f'id="index-value">{idx:.3f}<' in page
    assert re.search(rf'<h1 id="unit-name">{re.escape(ru)} <span class="muted unit-alt">{re.escape(kk)}', page)
    for section in ("top-processes", "top-buyers", "top-suppliers", "trend-table"):
        assert f'id="{section}"' in page
    both = _region_of(regions_site, regions_site.other_ocid) == kato
    assert re.search(rf'id="recs-issued">{2 if both else 1}<', page)
    assert re.search(r'id="recs-not-carried-out">1<', page)
    assert "Return it" not in page  # facts only: no recommendation text on a public page
    assert 'svg xmlns="http://www.w3.org/2000/svg" class="bars"' in page
    client.get("/lang/kk")
    assert re.search(rf'<h1 id="unit-name">{re.escape(kk)} ', client.get(f"/regions/{kato}?period=0").text)
    assert client.get("/regions/999999999").status_code == 404
    assert client.get("/regions/12345").status_code == 404
    r = client.get(f"/regions/{kato}?period=2031")
    assert r.status_code == 404 and "no procurements in period 2031" in r.text


def test_regions_api(regions_site: Site) -> None:
    client = regions_site.client()
    data = client.get("/api/v1/regions?level=district&period=2024").json()
    rows = store_rows(regions_site.store, "SELECT kato, index_value, ci_low, rank FROM region_index "
                      "WHERE level = 'district' AND period = 2024 AND quarter = 0 ORDER BY rank")
    assert [(u["kato"], u["index_value"], u["ci_low"], u["rank"]) for u in data["units"]] == [tuple(r) for r in rows]
    assert data["previous"] == [2023, 0]
    prev = dict(store_rows(regions_site.store, "SELECT kato, index_value FROM region_index WHERE level = 'district' "
                           "AND period = 2023 AND quarter = 0"))
    for u in data["units"]:
        assert u["delta"] == (pytest.approx(u["index_value"] - prev[u["kato"]]) if u["kato"] in prev else None)
    default = client.get("/api/v1/regions").json()
    assert default["period"] == _latest(regions_site) or default["period"] < _latest(regions_site)
    kato = _region_of(regions_site, regions_site.org_ocid)
    card = client.get(f"/api/v1/regions/{kato}?period=0").json()
    assert card["kato"] == kato and card["level"] == "region"
    assert {c["key"] for c in card["components"]} >= {"risk_score", "recommendations"}
    assert card["recommendations"]["not_carried_out"] == 1
    assert client.get("/api/v1/regions/999999999").status_code == 404
    assert client.get("/api/v1/regions?level=city").status_code == 422


def test_without_an_index(module_site: Site) -> None:  # noqa: F811
    client = module_site.client()
    r = client.get("/regions")
    assert r.status_code == 200 and 'id="no-index"' in r.text
    assert client.get("/regions/630000000").status_code == 404
    assert client.get("/api/v1/regions").status_code == 404


def test_map_and_scorecard_in_chromium(regions_site: Site, browser: Any) -> None:  # noqa: F811
    server = LiveServer(regions_site.app)
    try:
        page = browser.new_context(locale="ru-RU").new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(server.url + "/regions?period=2024")
        svg = page.locator("svg.choropleth")
        assert svg.is_visible()
        box = svg.bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 150
        assert page.locator("svg.choropleth a path").count() >= 16
        first = page.locator("#ranking tbody tr").first
        name = first.locator("td a").inner_text()
        first.locator("td a").click()
        page.wait_for_url(re.compile(r".*/regions/\d{9}\?period=2024$"))
        assert page.locator("#unit-name").inner_text().startswith(name)
        assert page.locator("svg.bars").is_visible() and page.locator("#top-processes").is_visible()
        # the map's units link to their scorecards
        page.go_back()
        page.locator("svg.choropleth a").first.click()
        page.wait_for_url(re.compile(r".*/regions/\d{9}\?period=2024$"))
        assert page.locator("#index-value").is_visible()
        assert not problems, problems  # no CSP violation, nothing failed to load
    finally:
        server.stop()
