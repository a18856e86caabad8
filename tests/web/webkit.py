"""Helpers of the web application's tests: an analytics store built through the CLI, application databases
(SQLite, and a real PostgreSQL in a database of its own per test run), accounts, signed-in clients."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from aiqyn.web import auth
from aiqyn.web import db as app_db
from aiqyn.web.app import create_app
from aiqyn.web.settings import WebSettings
from conftest import run_cli

PG_ADMIN_URL = os.environ.get("AIQYN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
# Real argon2id, with less time and memory than production's so that hundreds of sign-ins stay quick.
auth.set_hash_cost(time_cost=1, memory_kib=1024)
PASSWORDS = {"analyst": "analyst-password-1", "supervisor": "supervisor-password-1",
             "compliance": "compliance-password-1", "other": "other-compliance-1",
             "ngo_reviewer": "ngo-reviewer-password-1"}


def required(what: str) -> bool:
    """CI sets AIQYN_REQUIRE_<WHAT> (and CI=true): then a missing service fails instead of skipping."""
    return bool(os.environ.get(f"AIQYN_REQUIRE_{what}") or os.environ.get("CI"))


def build_store(base: Path) -> Path:
    """500 generated processes, ingested and flagged through the CLI (once per test session and worker)."""
    out = base / "web-store"
    db = out / "s.duckdb"
    done = out / "done"
    if done.exists():
        return db
    if out.exists():
        shutil.rmtree(out)
    res = run_cli(["generate", "--tenders", "500", "--seed", "1", "--out", out])
    assert res.code == 0, res.output
    res = run_cli(["ingest", "--db", db, out / "releases.jsonl"])
    assert res.code == 0, res.output
    res = run_cli(["flags", "run", "--db", db])
    assert res.code == 0, res.output
    done.write_text("ok")
    return db


def store_rows(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


# -- PostgreSQL ---------------------------------------------------------------------------------------
def pg_available() -> str | None:
    """None when a server answers at 127.0.0.1:5432, else why not."""
    if shutil.which("pg_isready") is None:
        return "pg_isready not installed"
    res = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"], capture_output=True, text=True)
    return None if res.returncode == 0 else f"no PostgreSQL at 127.0.0.1:5432 ({res.stdout.strip()})"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A new database on the real PostgreSQL for this test run, dropped at the end."""
    problem = pg_available()
    if problem:
        if required("POSTGRES"):
            pytest.fail(f"PostgreSQL is required here (AIQYN_REQUIRE_POSTGRES/CI) but: {problem}")
        pytest.skip(f"{problem}; set AIQYN_REQUIRE_POSTGRES=1 to make this a failure")
    import psycopg

    name = f"aiqyn_test_{uuid.uuid4().hex[:12]}"
    admin = PG_ADMIN_URL
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the application ----------------------------------------------------------------------------------
@dataclass
class Site:
    """An application on a migrated database with one account per role, and a compliance officer of each of
    two organisations (the buyers of two flagged processes)."""

    app: Any
    url: str
    store: Path
    org_ocid: str  # a flagged process of the compliance officer's organisation
    org_subject: str
    other_ocid: str  # a flagged process of another organisation
    other_subject: str

    def client(self, role: str | None = None) -> SignedIn:
        client = TestClient(self.app, base_url="http://testserver")
        c = SignedIn(client, None)
        if role is not None:
            c.login(role)
        return c


class SignedIn:
    """A test client that signs in through the API and sends the CSRF token with every POST."""

    def __init__(self, client: TestClient, role: str | None) -> None:
        self.http, self.role = client, role

    @property
    def csrf(self) -> str:
        return self.http.get("/api/v1/me").json()["csrf_token"]

    def login(self, role: str) -> None:
        username = {"other": "other"}.get(role, role)
        r = self.http.post("/api/v1/login", json={"username": username, "password": PASSWORDS[role]},
                           headers={"X-CSRF-Token": self.csrf})
        assert r.status_code == 200, r.text
        self.role = role

    def get(self, url: str, **kw: Any) -> Any:
        return self.http.get(url, **kw)

    def post(self, url: str, csrf: bool = True, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}) or {})
        if csrf:
            headers["X-CSRF-Token"] = self.csrf
        return self.http.post(url, headers=headers, **kw)

    def form(self, url: str, data: dict[str, Any], **kw: Any) -> Any:
        return self.http.post(url, data={**data, "csrf_token": self.csrf}, **kw)


def flagged_processes_of_two_buyers(store: Path) -> list[tuple[str, str]]:
    """(ocid, buyer subject id) of flagged processes, one per buyer, from two different buyers."""
    rows = store_rows(store, """
        SELECT min(p.ocid) AS ocid, bp.subject_id FROM processes p
        JOIN parties bp ON bp.ocid = p.ocid AND bp.party_id = p.buyer_id
        JOIN flags f ON f.subject_type = 'process' AND f.subject_id = p.ocid
        GROUP BY bp.subject_id ORDER BY count(DISTINCT f.code) DESC, bp.subject_id LIMIT 2""")
    assert len(rows) == 2
    return [(r[0], r[1]) for r in rows]


def make_site(store: Path, url: str, uploads: Path) -> Site:
    app_db.upgrade(url)
    (ocid, subject), (other_ocid, other_subject) = flagged_processes_of_two_buyers(store)
    env = {**os.environ}
    for role in ("analyst", "supervisor", "ngo_reviewer"):
        env["PW"] = PASSWORDS[role]
        _cli(["users", "add", role, "--role", role, "--password-env", "PW", "--app-db", url, "--db", store], env)
    env["PW"] = PASSWORDS["compliance"]
    _cli(["users", "add", "compliance", "--role", "compliance", "--org", subject, "--password-env", "PW",
          "--app-db", url, "--db", store], env)
    env["PW"] = PASSWORDS["other"]
    _cli(["users", "add", "other", "--role", "compliance", "--org", other_subject, "--password-env", "PW",
          "--app-db", url, "--db", store], env)
    settings = WebSettings(db=store, app_db=url, secret_key="test-secret-" + uuid.uuid4().hex,
                           upload_dir=uploads, report_rate_limit=1000, login_rate_limit=1000)
    return Site(create_app(settings), url, store, ocid, subject, other_ocid, other_subject)


def _cli(args: list[Any], env: dict[str, str]) -> None:
    old = dict(os.environ)
    os.environ.update(env)
    try:
        res = run_cli(args)
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert res.code == 0, res.output


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.getbasetemp())


@pytest.fixture
def site(store: Path, tmp_path: Path) -> Site:
    """A fresh application on a new SQLite database."""
    return make_site(store, f"sqlite:///{tmp_path / 'app.sqlite'}", tmp_path / "uploads")


@pytest.fixture(scope="module")
def module_site(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Site:
    """One application for the tests of a module that change nothing another test there relies on."""
    base = tmp_path_factory.mktemp("site")
    return make_site(store, f"sqlite:///{base / 'app.sqlite'}", base / "uploads")


# -- a real server and Debian's Chromium -----------------------------------------------------------------
CHROMIUM = os.environ.get("AIQYN_CHROMIUM", "/usr/bin/chromium")


def chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if required("BROWSER"):
        pytest.fail(f"Chromium is required here (AIQYN_REQUIRE_BROWSER/CI) but {CHROMIUM} is missing "
                    "(.ci/run installs Debian's chromium package)")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); set AIQYN_REQUIRE_BROWSER=1 to fail instead")


class LiveServer:
    """The application served by uvicorn in a thread, on a free port."""

    def __init__(self, app: Any) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time

        for _ in range(200):
            if self.server.started:
                return
            time.sleep(0.05)
        raise RuntimeError("the test server did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    path = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()
