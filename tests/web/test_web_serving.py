"""Serving at scale: the page cache gives the very rows (and pages) the store gives, it is rebuilt when the store
changes, and `aiqyn serve --workers N` serves one signed-in session from several worker processes."""

from __future__ import annotations

import math
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest
from webkit import Site, module_site, store, store_rows  # noqa: F401  (fixtures)

from aiqyn.web import pagecache
from aiqyn.web.analytics import Analytics
from aiqyn.web.app import create_app
from aiqyn.web.cli import _page_cache, default_workers
from conftest import run_cli

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def pages(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    path = tmp_path_factory.mktemp("pages") / "pages.sqlite"
    analytics = Analytics(store)
    try:
        meta = pagecache.build(analytics, path)
    finally:
        analytics.close()
    assert meta["processes"] == store_rows(store, "SELECT count(*) FROM processes")[0][0]
    return path


def same(a: Any, b: Any) -> bool:
    """Equal, NaN included (an indicator's value may be one)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def test_page_cache_reads_the_rows_the_store_gives(store: Path, pages: Path) -> None:  # noqa: F811
    direct, cached = Analytics(store), Analytics(store)
    cached.use_page_cache(pages)
    try:
        # a third of the processes (every kind of row among them), the store path costs a dozen queries a page
        ocids = [r[0] for r in store_rows(store, "SELECT ocid FROM processes ORDER BY ocid")][::3]
        kinds = {"bids": 0, "amendments": 0, "flags": 0, "score": 0, "party flags": 0}
        for ocid in ocids:
            want, got = direct.process(ocid), cached.process(ocid)
            assert want is not None and same(want, got), ocid
            assert direct.process_owner(ocid) == cached.process_owner(ocid) is not None
            kinds["bids"] += bool(want["bids"])
            kinds["amendments"] += bool(want["amendments"])
            kinds["flags"] += bool(want["flags"])
            kinds["score"] += want["score"] is not None
            kinds["party flags"] += any(f["subject_type"] != "process" for f in want["flags"])
        assert all(kinds.values()), f"the test store should have every kind of row: {kinds}"
        assert cached.process("ocds-no-such-process") is None and cached.process_owner("ocds-no-such") is None
    finally:
        direct.close()
        cached.close()


def test_process_pages_are_the_same_with_the_page_cache(module_site: Site, pages: Path) -> None:  # noqa: F811
    site = module_site
    settings = site.app.state.aiqyn.settings
    cached_app = create_app(settings.model_copy(update={"page_cache": pages}))
    assert cached_app.state.aiqyn.analytics.pages is not None and site.app.state.aiqyn.analytics.pages is None
    analyst = site.client("analyst")
    other = TestClient(cached_app, base_url="http://testserver", cookies=dict(analyst.http.cookies))
    ocids = [r[0] for r in store_rows(site.store, "SELECT DISTINCT subject_id FROM flags WHERE subject_type = "
                                                  "'process' ORDER BY 1 LIMIT 25")]
    for ocid in [*ocids, site.org_ocid]:
        for lang in ("kk", "ru", "en"):
            analyst.http.cookies.set("aiqyn_lang", lang)
            other.cookies.set("aiqyn_lang", lang)
            a, b = analyst.get(f"/processes/{ocid}"), other.get(f"/processes/{ocid}")
            assert a.status_code == b.status_code == 200
            assert a.text == b.text, (ocid, lang)
    assert other.get("/processes/ocds-no-such-process").status_code == 404
    # a compliance officer still sees only their organisation's processes
    officer = site.client("compliance")
    officer_cached = TestClient(cached_app, base_url="http://testserver", cookies=dict(officer.http.cookies))
    assert officer_cached.get(f"/processes/{site.org_ocid}").status_code == 200
    assert officer_cached.get(f"/processes/{site.other_ocid}").status_code == 404


def test_page_cache_of_another_store_is_refused_and_rebuilt(store: Path, tmp_path: Path) -> None:  # noqa: F811
    copy = tmp_path / "s.duckdb"
    shutil.copy(store, copy)
    path = tmp_path / "pages.sqlite"
    _page_cache(copy, path)
    analytics = Analytics(copy)
    assert pagecache.is_current(path, analytics)
    built = path.stat().st_mtime_ns
    _page_cache(copy, path)  # current: kept
    assert path.stat().st_mtime_ns == built
    os.utime(copy, ns=(time.time_ns(), time.time_ns()))  # the store changed (as a new ingest would change it)
    assert not pagecache.is_current(path, analytics)
    with pytest.raises(RuntimeError, match="another store or flags run"):
        analytics.use_page_cache(path)
    analytics.close()
    _page_cache(copy, path)
    assert path.stat().st_mtime_ns != built and pagecache.is_current(path, Analytics(copy))
    not_a_cache = tmp_path / "other.sqlite"
    sqlite3.connect(not_a_cache).close()
    with pytest.raises(RuntimeError, match="not a page cache"):
        Analytics(copy).use_page_cache(not_a_cache)


def worker_pids(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"spawn_main" in cmdline:
                pids.append(int(entry.name))
    return pids


def test_serve_with_two_workers(store: Path, tmp_path: Path) -> None:  # noqa: F811
    res = run_cli(["serve", "--help"])
    assert res.code == 0 and "--workers" in res.output and "--page-cache" in res.output
    assert default_workers() == len(os.sched_getaffinity(0))
    app_db = f"sqlite:///{tmp_path / 'app.sqlite'}"
    env = {**os.environ, "PW": "load-test-password-1"}
    env.pop("AIQYN_SECRET_KEY", None)  # the key is generated once and shared by the workers
    aiqyn = Path(sys.executable).parent / "aiqyn"
    subprocess.run([aiqyn, "app-db", "upgrade", "--app-db", app_db], check=True, env=env, capture_output=True)
    subprocess.run([aiqyn, "users", "add", "a", "--role", "analyst", "--password-env", "PW", "--app-db", app_db],
                   check=True, env=env, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen([aiqyn, "serve", "--db", store, "--app-db", app_db, "--port", str(port),
                                   "--workers", "2", "--page-cache", tmp_path / "pages.sqlite"],
                                  env=env, stdout=out, stderr=out, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/healthz").status_code == 200 and len(worker_pids(server.pid)) == 2:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        assert pagecache.PageCache.meta(tmp_path / "pages.sqlite") is not None
        with httpx.Client(base_url=base) as http:
            token = http.get("/api/v1/me").json()["csrf_token"]
            r = http.post("/api/v1/login", json={"username": "a", "password": "load-test-password-1"},
                          headers={"X-CSRF-Token": token})
            assert r.status_code == 200, r.text
            cookie = http.cookies["aiqyn_session"]
        ocid = store_rows(store, "SELECT min(subject_id) FROM flags WHERE subject_type = 'process'")[0][0]
        # each request on a new connection: the kernel hands them to either worker; every one knows the session
        for _ in range(16):
            for url in (f"/processes/{ocid}", "/queue?sort=amount"):
                r = httpx.get(base + url, cookies={"aiqyn_session": cookie}, follow_redirects=False)
                assert r.status_code == 200, (url, r.status_code, r.text[:300])
                assert ocid in r.text or url.startswith("/queue")
        keys = sqlite3.connect(tmp_path / "app.sqlite").execute(
            "SELECT count(*) FROM app_meta WHERE key = 'session_key'").fetchone()[0]
        assert keys == 1
    finally:
        server.terminate()
        server.wait(timeout=60)
    text = log.read_text()
    assert "by 2 worker processes" in text and text.count("Application startup complete") == 2, text


def test_fast_number_and_date_formatting_is_babels() -> None:
    import datetime as dt
    import random
    from decimal import Decimal

    from babel import Locale
    from babel.dates import format_date, format_datetime
    from babel.numbers import format_decimal

    from aiqyn.web.app import date_text, number_text

    rng = random.Random(3)
    values: list[Any] = [0, 1, -1, 0.005, 0.015, 2.675, -0.004, Decimal("-0.001"), 999.995, 10**20, 1e15,
                         -1234567.895, 123456789.125]
    values += [rng.uniform(-1e9, 1e9) for _ in range(300)] + [rng.randint(-10**12, 10**12) for _ in range(100)]
    values += [round(rng.uniform(0, 1e7), 2) for _ in range(300)]
    for lang in ("kk", "ru", "en"):
        loc = Locale.parse(lang)
        for v in values:
            for digits in (0, 2, 3):
                pattern = "#,##0" + ("." + "0" * digits if digits else "")
                assert number_text(v, digits, loc) == format_decimal(v, format=pattern, locale=loc), (lang, v)
        for _ in range(200):
            d = dt.datetime(rng.randint(1000, 2100), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                            rng.randint(0, 59), tzinfo=dt.UTC)
            assert date_text(d) == format_datetime(d, "dd.MM.yyyy HH:mm", locale=loc)
            assert date_text(d.date()) == format_date(d.date(), "dd.MM.yyyy", locale=loc)
