"""The rendered-page cache (aiqyn.web.rendered): a cached risk-queue or process page is the page the route renders
for this user, never another organisation's, with this user's name, CSRF token and the process's current cases;
it is dropped when the store changes."""

from __future__ import annotations

import os
import shutil
import time
import warnings
from pathlib import Path

from markupsafe import escape
from sqlalchemy import create_engine
from test_web_workflow import any_site  # noqa: F401  (fixture: SQLite and PostgreSQL)
from webkit import Site, _cli, pg_url, site, store, store_rows  # noqa: F401  (fixtures)

from aiqyn.web.app import create_app
from aiqyn.web.rendered import RenderedPages, page_key

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient


def plain_twin(site: Site, client: TestClient) -> TestClient:  # noqa: F811
    """The same session on an application without the rendered-page cache (same database and key)."""
    settings = site.app.state.aiqyn.settings
    plain = create_app(settings.model_copy(update={"rendered_cache_mb": 0}))
    assert plain.state.aiqyn.rendered is None
    return TestClient(plain, base_url="http://testserver", cookies=dict(client.cookies))


def test_cached_pages_are_the_rendered_pages_of_each_user(site: Site) -> None:  # noqa: F811
    pages = site.app.state.aiqyn.rendered
    assert pages is not None and len(pages) == 0
    env = {**os.environ, "PW": "second-analyst-pw"}
    _cli(["users", "add", "beta", "--role", "analyst", "--full-name", 'Beta <b>"&\' Analyst', "--password-env", "PW",
          "--app-db", site.url], env)
    alma = site.client("analyst")
    beta = site.client()
    r = beta.http.post("/api/v1/login", json={"username": "beta", "password": "second-analyst-pw"},
                       headers={"X-CSRF-Token": beta.csrf})
    assert r.status_code == 200
    ocids = [r[0] for r in store_rows(site.store, "SELECT DISTINCT subject_id FROM flags WHERE subject_type = "
                                                  "'process' ORDER BY 1 LIMIT 5")]
    urls = ["/queue", "/queue?sort=amount&page=2", f"/queue?region={'75' + '0' * 7}", "/queue?flag=R018",
            *(f"/processes/{o}" for o in ocids)]
    alma_plain, beta_plain = plain_twin(site, alma.http), plain_twin(site, beta.http)
    for url in urls:
        for lang in ("kk", "ru", "en"):
            for client, plain, name in ((alma.http, alma_plain, "analyst"), (beta.http, beta_plain, "beta")):
                client.cookies.set("aiqyn_lang", lang)
                plain.cookies.set("aiqyn_lang", lang)
                got, want = client.get(url), plain.get(url)
                assert got.status_code == want.status_code == 200, url
                # alma asks first (a miss, rendered and kept), beta then gets the kept page (a hit)
                assert got.headers["x-aiqyn-cache"] == ("miss" if name == "analyst" else "hit"), (url, lang, name)
                assert got.text == want.text, (url, lang, name)
                assert got.headers["content-security-policy"] == want.headers["content-security-policy"]
                token = client.get("/api/v1/me").json()["csrf_token"]
                assert got.text.count(token) == 2 and pages.nonce not in got.text
    assert 'title="Beta &lt;b&gt;&#34;&amp;&#39; Analyst"' in beta.get("/queue").text
    assert str(escape('Beta <b>"')) not in alma.get("/queue").text
    assert pages.hits > 0 and len(pages) == len(urls) * 3
    # htmx asks for the rows only: another entry, not the whole page
    rows = alma.get("/queue?sort=amount&page=2", headers={"HX-Request": "true"})
    assert rows.headers["x-aiqyn-cache"] == "miss" and "<html" not in rows.text and "<tr>" in rows.text
    assert beta.get("/queue?sort=amount&page=2", headers={"HX-Request": "true"}).headers["x-aiqyn-cache"] == "hit"


def test_a_compliance_officer_never_gets_another_organisations_cached_page(any_site: Site) -> None:  # noqa: F811
    site = any_site  # noqa: F811
    analyst, officer, other = site.client("analyst"), site.client("compliance"), site.client("other")
    for url in ("/queue", "/queue?page=1&sort=score", f"/processes/{site.other_ocid}", f"/processes/{site.org_ocid}"):
        assert analyst.get(url).status_code == 200  # kept for the analysts
    # the other organisation's officer keeps its own queue and process page
    mine = other.get("/queue")
    assert mine.status_code == 200 and site.other_ocid in mine.text
    assert other.get(f"/processes/{site.other_ocid}").status_code == 200
    assert other.get(f"/processes/{site.other_ocid}").headers["x-aiqyn-cache"] == "hit"
    # the first organisation's officer: neither the analysts' pages nor the other officer's
    page = officer.get("/queue")
    assert page.status_code == 200 and page.headers["x-aiqyn-cache"] == "miss"
    assert site.org_ocid in page.text and site.other_ocid not in page.text
    for _ in range(2):
        refused = officer.get(f"/processes/{site.other_ocid}")
        assert refused.status_code == 404 and "x-aiqyn-cache" not in refused.headers
    assert officer.get(f"/processes/{site.org_ocid}").headers["x-aiqyn-cache"] == "miss"
    assert officer.get(f"/processes/{site.org_ocid}").headers["x-aiqyn-cache"] == "hit"
    pages = site.app.state.aiqyn.rendered
    owners = {key[5] for key in pages._entries}
    assert owners == {None, site.org_subject, site.other_subject}
    # the same process page, kept for two keys: the officer's has no "open a case"
    assert "/cases/new?ocid=" in analyst.get(f"/processes/{site.org_ocid}").text
    assert "/cases/new?ocid=" not in officer.get(f"/processes/{site.org_ocid}").text


def test_a_process_page_shows_its_current_cases(any_site: Site) -> None:  # noqa: F811
    site = any_site  # noqa: F811
    analyst, officer, other = site.client("analyst"), site.client("compliance"), site.client("other")
    url = f"/processes/{site.org_ocid}"
    for client in (analyst, officer):
        client.http.cookies.set("aiqyn_lang", "en")
    assert "Cases on this process" not in analyst.get(url).text
    assert analyst.get(url).headers["x-aiqyn-cache"] == "hit"
    code = store_rows(site.store, "SELECT min(code) FROM flags WHERE subject_type = 'process' AND subject_id = ?",
                      [site.org_ocid])[0][0]
    r = analyst.post("/api/v1/cases", json={"title": "A <case> & its title", "ocid": site.org_ocid, "code": code,
                                           "subject_type": "process", "subject_id": site.org_ocid})
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    for client in (analyst, officer):
        page = client.get(url)
        assert page.headers["x-aiqyn-cache"] in ("hit", "miss")
        assert f'<a href="/cases/{case_id}">#{case_id} A &lt;case&gt; &amp; its title</a>' in page.text
        assert page.text == plain_twin(site, client.http).get(url).text
    assert analyst.get(url).headers["x-aiqyn-cache"] == "hit"
    assert other.get(url).status_code == 404  # another organisation's process, cases or not


def test_a_deactivated_account_gets_no_cached_page(any_site: Site) -> None:  # noqa: F811
    site = any_site  # noqa: F811
    analyst = site.client("analyst")
    assert analyst.get("/queue").status_code == 200
    assert analyst.get("/queue").headers["x-aiqyn-cache"] == "hit"
    engine = create_engine(site.url)
    with engine.begin() as con:
        con.exec_driver_sql("UPDATE users SET active = false WHERE username = 'analyst'")
    engine.dispose()
    r = analyst.get("/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    public = site.client()
    r = public.get("/queue", follow_redirects=False)
    assert r.status_code == 303 and "x-aiqyn-cache" not in r.headers


def test_the_cache_is_dropped_when_the_store_changes(store: Path, tmp_path: Path) -> None:  # noqa: F811
    copy = tmp_path / "s.duckdb"
    shutil.copy(store, copy)
    pages = RenderedPages(10_000_000, copy, "run")
    key = page_key("/queue", b"", "ru", False, "analyst", None)
    entry = pages.put(key, f"<p>{pages.slot('user')} {pages.slot('csrf')}</p>")
    assert pages.fill(entry, {"user": "<alma>", "csrf": "t0k"}) == b"<p>&lt;alma&gt; t0k</p>"
    pages.check_store(force=True)
    assert pages.get(key) is entry  # the same file: kept
    os.utime(copy, ns=(time.time_ns(), time.time_ns()))  # the store changed (as a new flags run changes it)
    pages.check_store(force=True)
    assert pages.get(key) is None and len(pages) == 0 and pages.size == 0


def test_the_cache_keeps_within_its_memory(store: Path) -> None:  # noqa: F811
    pages = RenderedPages(10_000, store)
    for i in range(50):
        pages.put(page_key(f"/processes/{i}", b"", "ru", False, "analyst", None), "x" * 1_000)
    assert pages.size <= 10_000 and 0 < len(pages) < 50
    assert pages.get(page_key("/processes/49", b"", "ru", False, "analyst", None)) is not None
    assert pages.get(page_key("/processes/0", b"", "ru", False, "analyst", None)) is None  # the oldest went first

