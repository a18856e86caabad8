"""Render the regional index's pages and printed report in Debian's Chromium to docs/regions/*.png (run by hand;
docs/regions.md shows them).

    PYTHONPATH=tests:tests/web .venv/bin/python tests/web/make_region_screenshots.py --db demo/aiqyn.duckdb \\
        --app-db demo/app.sqlite [--out docs/regions] [--kato 630000000]

Takes a store the demo built (`make demo NO_SERVE=1`), copies it and the application database, records a few
recommendations through the API on procurements of the unit (one rejected, one being executed, one executed),
computes the index with them (`aiqyn index compute --app-db`), serves the application and takes the
screenshots: the map and ranking of the oblasts (Russian), of the districts (Kazakh), a scorecard, the printed
report (print media), and the trend chart (`aiqyn index trend`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from playwright.sync_api import sync_playwright
from webkit import CHROMIUM, PASSWORDS, LiveServer, Site, store_rows

from aiqyn.web.app import create_app
from aiqyn.web.settings import WebSettings
from conftest import run_cli


def _cli(args: list[object], env: dict[str, str] | None = None) -> str:
    old = dict(os.environ)
    os.environ.update(env or {})
    try:
        res = run_cli(args)  # type: ignore[arg-type]
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert res.code == 0, res.output
    return res.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--app-db", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("docs/regions"))
    parser.add_argument("--kato", default="630000000")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        db, app_db = base / "s.duckdb", base / "app.sqlite"
        shutil.copy(args.db, db)
        shutil.copy(args.app_db, app_db)
        url = f"sqlite:///{app_db}"
        for role in ("analyst", "supervisor"):
            _cli(["users", "add", f"shot-{role}", "--role", role, "--password-env", "PW", "--app-db", url,
                  "--exist-ok"], {"PW": PASSWORDS[role]})
        prefix = args.kato[:2]
        ocids = [r[0] for r in store_rows(db, """
            SELECT s.subject_id FROM scores AS s JOIN processes AS p ON p.ocid = s.subject_id
            WHERE s.subject_type = 'process' AND SUBSTRING(p.region_code, 1, 2) = ? ORDER BY s.score DESC LIMIT 4""",
            [prefix])]
        settings = WebSettings(db=db, app_db=url, secret_key="shots-" + uuid.uuid4().hex, upload_dir=base / "up")
        site = Site(create_app(settings), url, db, "", "", "", "")
        analyst, supervisor = site.client(), site.client()
        for client, role in ((analyst, "analyst"), (supervisor, "supervisor")):
            r = client.http.post("/api/v1/login", json={"username": f"shot-{role}", "password": PASSWORDS[role]},
                                 headers={"X-CSRF-Token": client.csrf})
            assert r.status_code == 200, r.text
        paths = [("rejected",), ("accepted", "in_execution"), ("accepted", "in_execution", "executed"), ()]
        for i, (ocid, path) in enumerate(zip(ocids, paths, strict=False)):
            case = analyst.post("/api/v1/cases", json={
                "title": f"Проверка закупки {i + 1}", "ocid": ocid, "money_at_stake": str(12_500_000 * (i + 1)),
                "recommendation": "Расторгнуть договор и провести закупку на конкурсной основе."}).json()
            rec = case["recommendations"][0]["id"]
            supervisor.post(f"/api/v1/recommendations/{rec}/status", json={"status": "issued"})
            for status in path:
                analyst.post(f"/api/v1/recommendations/{rec}/status", json={"status": status})
            if "executed" in path:
                analyst.post(f"/api/v1/recommendations/{rec}/savings", json={"amount": "9800000"})
        site.app.state.aiqyn.analytics.close()
        # judged a year on, so that the recommendations still open are past their deadline
        print(_cli(["index", "compute", "--db", db, "--app-db", url, "--as-of", "2027-12-31"]))
        print(_cli(["index", "trend", "--db", db, "--level", "region", "--top", "4",
                    "--out", out / "trend_region.png"]))
        app = create_app(settings)
        server = LiveServer(app)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
                shots = [("regions-ru", "ru", "/regions?level=region&period=2025", 900, True),
                         ("regions-district-kk", "kk", "/regions?level=district&period=2025", 1250, False),
                         ("scorecard-ru", "ru", f"/regions/{args.kato}?period=0", 900, True)]
                for name, lang, path, height, full in shots:
                    ctx = browser.new_context(viewport={"width": 1400, "height": height}, locale=lang)
                    ctx.add_cookies([{"name": "aiqyn_lang", "value": lang, "url": server.url}])
                    page = ctx.new_page()
                    page.goto(server.url + path)
                    page.screenshot(path=str(out / f"{name}.png"), full_page=full)
                    ctx.close()
                    print(f"wrote {out / f'{name}.png'}")
                report = base / "report.html"
                _cli(["report", "region", args.kato, "--db", db, "--period", "0", "--out", report])
                _cli(["report", "region", args.kato, "--db", db, "--period", "0", "--format", "pdf",
                      "--out", base / "report.pdf"])
                ctx = browser.new_context(viewport={"width": 1000, "height": 1400})
                page = ctx.new_page()
                page.emulate_media(media="print")
                page.goto(report.as_uri())
                page.screenshot(path=str(out / "report-ru.png"), full_page=True)
                print(f"wrote {out / 'report-ru.png'}")
                browser.close()
        finally:
            server.stop()
            app.state.aiqyn.analytics.close()


if __name__ == "__main__":
    main()
