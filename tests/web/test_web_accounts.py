"""Accounts, sessions and CSRF; the application database's migrations; the hash-chained audit log."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from webkit import PASSWORDS, Site, site, store  # noqa: F401  (fixtures)

from aiqyn.web import db as app_db
from aiqyn.web.models import Base
from conftest import run_cli


def test_migrations_build_exactly_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    res = run_cli(["app-db", "current", "--app-db", url])
    assert res.code == 1 and "empty" in res.output
    res = run_cli(["app-db", "upgrade", "--app-db", url])
    assert res.code == 0 and app_db.head_revision() in res.output
    engine = create_engine(url)
    with engine.connect() as con:
        diff = compare_metadata(MigrationContext.configure(con), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
    assert run_cli(["app-db", "current", "--app-db", url]).code == 0
    assert run_cli(["app-db", "downgrade", "base", "--app-db", url]).code == 0
    with engine.connect() as con:
        assert MigrationContext.configure(con).get_current_revision() is None
    assert run_cli(["app-db", "upgrade", "--app-db", url]).code == 0
    engine.dispose()


def test_serving_an_outdated_database_is_refused(tmp_path: Path, store: Path) -> None:  # noqa: F811
    from aiqyn.web.app import create_app
    from aiqyn.web.settings import WebSettings

    with pytest.raises(RuntimeError, match="aiqyn app-db upgrade"):
        create_app(WebSettings(db=store, app_db=str(tmp_path / "empty.sqlite")))


def test_passwords_are_argon2_and_sign_in_works(site: Site) -> None:  # noqa: F811
    engine = create_engine(site.url)
    with engine.connect() as con:
        hashes = [r[0] for r in con.exec_driver_sql("SELECT password_hash FROM users")]
    engine.dispose()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(p in h for h in hashes for p in PASSWORDS.values())

    client = site.client()
    r = client.form("/login", {"username": "analyst", "password": "wrong-password", "next": "/queue"})
    assert r.status_code == 401 and client.get("/api/v1/me").json()["role"] == "public"
    r = client.form("/login", {"username": "analyst", "password": PASSWORDS["analyst"], "next": "https://evil.example/"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"  # never redirected off-site
    assert client.get("/api/v1/me").json()["role"] == "analyst"
    assert client.get("/queue").status_code == 200
    client.form("/logout", {})
    assert client.get("/api/v1/me").json()["role"] == "public"
    assert client.get("/queue", follow_redirects=False).headers["location"].startswith("/login")


def test_wrong_password_message(site: Site) -> None:  # noqa: F811
    client = site.client()
    client.http.cookies.set("aiqyn_lang", "en")
    r = client.form("/login", {"username": "nobody", "password": "whatever-123"})
    assert r.status_code == 401 and "Wrong username or password." in r.text
    r = client.post("/api/v1/login", json={"username": "analyst", "password": "nope"})
    assert r.status_code == 401


def test_a_forged_session_cookie_is_ignored(site: Site) -> None:  # noqa: F811
    client = site.client("supervisor")
    cookie = client.http.cookies.get("aiqyn_session")
    assert cookie
    payload, _, signature = cookie.rpartition(".")
    for forged in (payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:],  # a wrong signature
                   base64.b64encode(b'{"uid": 1, "ver": 1}').decode() + "." + signature):  # a made-up session
        client.http.cookies.clear()
        client.http.cookies.set("aiqyn_session", forged)
        assert client.get("/api/v1/me").json()["role"] == "public"
    client.http.cookies.clear()
    client.http.cookies.set("aiqyn_session", cookie)
    assert client.get("/api/v1/me").json()["role"] == "supervisor"


def test_deactivating_an_account_ends_its_sessions(site: Site) -> None:  # noqa: F811
    client = site.client("analyst")
    assert client.get("/api/v1/queue").status_code == 200
    engine = create_engine(site.url)
    with engine.begin() as con:
        con.exec_driver_sql("UPDATE users SET active = false WHERE username = 'analyst'")
    engine.dispose()
    assert client.get("/api/v1/queue").status_code == 401


def test_csrf_is_required(site: Site) -> None:  # noqa: F811
    client = site.client("analyst")
    body = {"title": "x", "ocid": site.org_ocid}
    assert client.post("/api/v1/cases", csrf=False, json=body).status_code == 403
    assert client.post("/api/v1/cases", csrf=False, json=body, headers={"X-CSRF-Token": "guess"}).status_code == 403
    assert client.post("/api/v1/cases", json=body).status_code == 201


def test_login_rate_limit(store: Path, tmp_path: Path) -> None:  # noqa: F811
    from webkit import SignedIn, TestClient

    from aiqyn.web.app import create_app
    from aiqyn.web.settings import WebSettings

    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    app_db.upgrade(url)
    app = create_app(WebSettings(db=store, app_db=url, login_rate_limit=3))
    client = SignedIn(TestClient(app), None)
    codes = [client.post("/api/v1/login", json={"username": "x", "password": "y"}).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]


def test_users_add_checks_its_input(site: Site) -> None:  # noqa: F811
    import os

    os.environ["AIQYN_TEST_PW"] = "long-enough-password"
    try:
        res = run_cli(["users", "add", "x", "--role", "boss", "--password-env", "AIQYN_TEST_PW", "--app-db", site.url])
        assert res.code == 2 and "unknown role" in res.output
        res = run_cli(["users", "add", "x", "--role", "compliance", "--password-env", "AIQYN_TEST_PW",
                       "--app-db", site.url])
        assert res.code == 2 and "one organisation" in res.output
        res = run_cli(["users", "add", "analyst", "--role", "analyst", "--password-env", "AIQYN_TEST_PW",
                       "--app-db", site.url])
        assert res.code == 2 and "exists already" in res.output
        os.environ["AIQYN_TEST_PW"] = "short"
        res = run_cli(["users", "add", "y", "--role", "analyst", "--password-env", "AIQYN_TEST_PW",
                       "--app-db", site.url])
        assert res.code == 2 and "10 characters" in res.output
    finally:
        del os.environ["AIQYN_TEST_PW"]
    res = run_cli(["users", "list", "--app-db", site.url])
    assert res.code == 0 and "compliance" in res.output


# -- the audit log -------------------------------------------------------------------------------------
def _some_changes(site: Site) -> None:  # noqa: F811
    analyst = site.client("analyst")
    case = analyst.post("/api/v1/cases", json={"title": "audit", "ocid": site.org_ocid, "recommendation": "r"}).json()
    rid = case["recommendations"][0]["id"]
    site.client("supervisor").post(f"/api/v1/recommendations/{rid}/status", json={"status": "issued"})


def _sqlite_path(site: Site) -> str:  # noqa: F811
    return site.url.removeprefix("sqlite:///")


def test_the_audit_log_refuses_updates_and_deletes(site: Site) -> None:  # noqa: F811
    _some_changes(site)
    con = sqlite3.connect(_sqlite_path(site))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE audit_log SET actor = 'nobody' WHERE seq = 3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM audit_log WHERE seq = 3")
    con.close()
    res = run_cli(["audit", "verify", "--app-db", site.url])
    assert res.code == 0 and "intact" in res.output


@pytest.mark.parametrize("tamper, message", [
    ("UPDATE audit_log SET data = replace(data, 'issued', 'rejected') WHERE action = 'recommendation.status'",
     "content changed"),
    ("DELETE FROM audit_log WHERE seq = 3", "expected entry 3"),
    ("UPDATE audit_log SET actor = 'someone-else', hash = hash WHERE seq = 2", "entry 2: content changed"),
])
def test_any_edit_of_the_audit_log_is_detected(site: Site, tamper: str, message: str) -> None:  # noqa: F811
    _some_changes(site)
    con = sqlite3.connect(_sqlite_path(site))
    con.execute("DROP TRIGGER audit_log_no_update")  # someone with the database file bypasses the guard
    con.execute("DROP TRIGGER audit_log_no_delete")
    con.execute(tamper)
    con.commit()
    con.close()
    res = run_cli(["audit", "verify", "--app-db", site.url])
    assert res.code == 1 and "BROKEN" in res.output and message in res.output, res.output


def test_removing_the_last_entries_is_caught_by_the_published_head(site: Site) -> None:  # noqa: F811
    _some_changes(site)
    res = run_cli(["audit", "verify", "--app-db", site.url])
    head = res.output.split("head ")[1].split()[0]
    assert run_cli(["audit", "verify", "--app-db", site.url, "--expect-head", head]).code == 0
    con = sqlite3.connect(_sqlite_path(site))
    con.execute("DROP TRIGGER audit_log_no_delete")
    con.execute("DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)")
    con.commit()
    con.close()
    assert run_cli(["audit", "verify", "--app-db", site.url]).code == 0  # the chain alone cannot tell
    res = run_cli(["audit", "verify", "--app-db", site.url, "--expect-head", head])
    assert res.code == 1 and "expected" in res.output
