"""Render the main pages in Debian's Chromium to docs/web/*.png (run by hand; docs/web.md shows them).

    PYTHONPATH=tests:tests/web .venv/bin/python tests/web/make_screenshots.py [--out docs/web]

Builds a small store (generated data, ingested and flagged through the CLI), an application database with
accounts, a few cases and recommendations in different statuses and a citizen report, serves it, and
takes one screenshot per page.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright
from test_web_expertise import DRAFT_RU
from test_web_reports import png
from webkit import CHROMIUM, PASSWORDS, LiveServer, Site, build_store, make_site

from aiqyn.web.app import create_app
from aiqyn.web.settings import WebSettings
from conftest import run_cli


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("docs/web"))
    parser.add_argument("--only", nargs="*", default=None, help="Only these screenshots (names without .png).")
    args = parser.parse_args()
    out, only = args.out, args.only
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        store = build_store(base)
        site = make_site(store, f"sqlite:///{base / 'app.sqlite'}", base / "uploads")
        analyst, supervisor, officer = site.client("analyst"), site.client("supervisor"), site.client("compliance")
        ocids = [r["ocid"] for r in analyst.get("/api/v1/queue", params={"per_page": 6}).json()["rows"]]
        recs = []
        for i, ocid in enumerate([site.org_ocid, *ocids[:4]]):
            case = analyst.post("/api/v1/cases", json={
                "title": f"Case {i + 1}", "ocid": ocid,
                "money_at_stake": str(480_000_000 if i == 0 else 15_000_000 * (i + 1)),
                "recommendation": "Terminate the contract and repeat the purchase in open competition."}).json()
            recs.append(case["recommendations"][0]["id"])
        for rid in recs[:4]:
            supervisor.post(f"/api/v1/recommendations/{rid}/status", json={"status": "issued"})
        officer.post(f"/api/v1/recommendations/{recs[0]}/status",
                     json={"status": "accepted", "note": "Letter 15-2/341"})
        officer.post(f"/api/v1/recommendations/{recs[0]}/status", json={"status": "in_execution"})
        analyst.post(f"/api/v1/recommendations/{recs[0]}/savings", json={"amount": "372000000", "note": "Contract cut"})
        for rid in recs[1:3]:
            analyst.post(f"/api/v1/recommendations/{rid}/status", json={"status": "accepted"})
            analyst.post(f"/api/v1/recommendations/{rid}/status", json={"status": "in_execution"})
        import datetime as dt

        today = dt.date.today()
        for title, owner, days, org in [
            ("Опубликовать план государственных закупок на 2026 год", "Заместитель акима района", -12,
             site.org_subject),
            ("Оборудовать комнаты встреч видео- и аудиозаписью", "Руководитель аппарата акима", 20, site.org_subject),
            ("Обучить членов конкурсных комиссий", "Отдел государственных закупок", -3, site.other_subject),
            ("Внедрить комплаенс-службу", "Аким района", 60, site.other_subject),
        ]:
            supervisor.post("/api/v1/plan", json={"plan": "Комплексный план 2025–2026", "title": title, "owner": owner,
                                                  "deadline": (today + dt.timedelta(days=days)).isoformat(),
                                                  "organisation": org})
        citizen = site.client()
        receipt = citizen.post("/api/v1/reports", data={
            "kind": "price", "text": "Insulin sold at twice the ceiling price at the pharmacy on Abai street.",
            "organisation_name": "Pharmacy No. 12", "region": "750000000"},
            files=[("files", ("photo.png", png(40, 30), "image/png"))]).json()
        reviewer = site.client("ngo_reviewer")
        draft_url = reviewer.form("/expertise", {}, follow_redirects=False, files={
            "file": ("проект-закона.txt", DRAFT_RU.encode(), "text/plain")}).headers["location"]
        flag_ids = re.findall(r'data-flag-id="([^"]+)"', reviewer.get(draft_url).text)
        reviewer.form(f"{draft_url}/decisions", {"flag_id": flag_ids[0], "decision": "confirmed",
                                                 "comment": "Дискреция без условий: предложить перечень оснований"})
        reviewer.form(f"{draft_url}/decisions", {"flag_id": flag_ids[1], "decision": "rejected",
                                                 "comment": "Не фактор: полномочие ограничено статьёй 2"})
        meeting_ids = record_meetings(site, store)
        site.app.state.aiqyn.analytics.close()  # the analytics read the recorded meetings into the store
        for args in (["registers", "import", "officials", store.parent / "officials.csv"],
                     ["meetings", "import", "--app-db", site.url], ["meetings", "check"],
                     *public_control_steps(store.parent)):
            run_cli([*args, "--db", store])
        site = Site(create_app(WebSettings(db=store, app_db=site.url, secret_key="shots", upload_dir=base / "uploads")),
                    site.url, store, site.org_ocid, site.org_subject, site.other_ocid, site.other_subject)
        server = LiveServer(site.app)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])

                def page_for(role: str | None, lang: str):  # type: ignore[no-untyped-def]
                    page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
                    page.context.add_cookies([{"name": "aiqyn_lang", "value": lang, "url": server.url}])
                    if role:
                        page.goto(server.url + "/login")
                        page.fill("input[name=username]", role)
                        page.fill("input[name=password]", PASSWORDS[role])
                        page.click("form.stack button[type=submit]")
                        page.wait_for_load_state()
                    return page

                def shot(page, path: str, name: str, full: bool = False) -> None:  # type: ignore[no-untyped-def]
                    if only is not None and name not in only:
                        return
                    page.goto(server.url + path)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(out / f"{name}.png"), full_page=full)
                    print("wrote", out / f"{name}.png")

                public = page_for(None, "kk")
                shot(public, "/", "home-kk")
                shot(public, "/report", "report-form-kk", full=True)
                if only is None or "report-status-ru" in only:
                    page = page_for(None, "ru")
                    page.goto(server.url + "/report/status")
                    page.fill("input[name=code]", receipt["follow_up_code"])
                    page.click("form.stack button[type=submit]")
                    page.wait_for_load_state()
                    page.screenshot(path=str(out / "report-status-ru.png"))
                ru = page_for("analyst", "ru")
                shot(ru, "/queue", "queue-ru")
                shot(ru, f"/processes/{site.org_ocid}", "process-ru", full=True)
                en = page_for("supervisor", "en")
                shot(en, f"/recommendations/{recs[0]}", "recommendation-en", full=True)
                shot(en, "/dashboard", "dashboard-en", full=True)
                shot(en, "/triage", "triage-en")
                shot(en, "/audit", "audit-en")
                shot(page_for("supervisor", "ru"), "/plan", "plan-ru")
                shot(page_for("analyst", "kk"), f"/cases/new?ocid={site.org_ocid}", "case-new-kk", full=True)
                shot(page_for("compliance", "ru"), "/recommendations", "compliance-ru")
                shot(page_for("ngo_reviewer", "ru"), draft_url, "expertise-report-ru", full=True)
                shot(page_for("ngo_reviewer", "ru"), "/expertise/summary", "expertise-summary-ru")
                shot(page_for("compliance", "ru"), "/meetings", "meetings-ru", full=True)
                shot(page_for("compliance", "ru"), f"/meetings/{meeting_ids[1]}", "meeting-ru", full=True)
                shot(page_for(None, "en"), "/public", "public-en", full=True)
                shot(page_for(None, "ru"), "/public/processes", "public-processes-ru")
                riskiest = site.client().get("/api/v1/public/processes").json()["rows"][0]["ocid"]
                shot(page_for(None, "kk"), f"/public/processes/{riskiest}", "public-process-kk", full=True)
                queue_id = site.client().get("/public/queues").text.split('href="/public/queues/', 1)[1].split('"')[0]
                shot(page_for(None, "ru"), f"/public/queues/{queue_id}", "public-queue", full=False)
                shot(page_for("supervisor", "ru"), "/accountability", "accountability-ru")
                browser.close()
        finally:
            server.stop()


def record_meetings(site: Site, store: Path) -> list[int]:
    """Meetings of the compliance officer's organisation, as its officer records them: one by the rules, one in the
    official's office without recording or commission, one with a tender winner in the evening."""
    import csv

    with (store.parent / "officials.csv").open(encoding="utf-8") as f:
        officials = [r for r in csv.DictReader(f) if r["organisation_bin"] == site.org_subject.removeprefix("KZ-BIN-")]
    head, deputy, *others = officials
    members = [o["iin"] for o in others[:2]]
    officer = site.client("compliance")
    ids = []
    for body in [
        {"official_iin": head["iin"], "official_name": head["full_name"], "company_name": "ТОО «Курылыс Сервис»",
         "starts_at": "2024-03-12 10:00", "ends_at": "2024-03-12 10:40", "place": "переговорная 101 (1 этаж)",
         "recorded": True, "recording_ref": "REC-2024-0312-1", "commission_members": members,
         "subject": "Приёмка работ по договору"},
        {"official_iin": deputy["iin"], "official_name": deputy["full_name"], "company_name": "ТОО «Арман Инвест»",
         "starts_at": "2024-03-13 11:00", "place": f"{deputy['office']}, кабинет заместителя", "recorded": False,
         "subject": "Обсуждение технической спецификации"},
        {"official_iin": head["iin"], "official_name": head["full_name"], "company_name": "ИП «Жетысу Инвест 11»",
         "starts_at": "2024-03-16 19:30", "ends_at": "2024-03-16 20:15", "place": "переговорная 101 (1 этаж)",
         "recorded": True, "recording_ref": "REC-2024-0316-2", "commission_members": members[:1],
         "subject": "Сроки поставки"},
    ]:
        r = officer.post("/api/v1/meetings", json=body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids



def public_control_steps(data: Path) -> list[list[object]]:
    """The generated queues and accountability register imported and checked (docs/public-control.md)."""
    return [["registers", "import", "relatives", data / "relatives.csv"],
            ["registers", "import", "companies", data / "companies.csv"],
            ["queue", "import", data / "queue_events.csv", "--key-file", data / "queue.key"], ["queue", "check"],
            ["queue", "seal"], ["accountability", "import", "offences", data / "offences.csv"],
            ["accountability", "import", "statements", data / "statements.csv"], ["accountability", "check"]]

if __name__ == "__main__":
    main()
