"""Journeys in Debian's Chromium (Playwright, never a downloaded browser): a compliance officer of one organisation
sees that organisation only and records a meeting; a visitor without an account walks the public portal."""

from __future__ import annotations

import csv
import re

from webkit import PASSWORDS, LiveServer, Site, browser, site, store, store_rows  # noqa: F401  (fixtures)


def _page(browser, server: LiveServer, lang: str = "en"):  # type: ignore[no-untyped-def]  # noqa: F811
    page = browser.new_context(locale="en-US").new_page()
    page.context.add_cookies([{"name": "aiqyn_lang", "value": lang, "url": server.url}])
    return page


def test_compliance_officer_sees_one_organisation_and_records_a_meeting(site: Site, browser) -> None:  # noqa: F811
    with (site.store.parent / "officials.csv").open(encoding="utf-8") as f:
        officials = [r for r in csv.DictReader(f) if r["organisation_bin"] == site.org_subject.removeprefix("KZ-BIN-")]
    head, member1, member2 = officials[:3]
    # A meeting of the other organisation, recorded by its own officer.
    other = site.client("other").post("/api/v1/meetings", json={
        "official_iin": head["iin"], "company_name": "ТОО «Чужая»", "starts_at": "2024-05-02 10:00",
        "place": "101", "recorded": True}).json()
    server = LiveServer(site.app)
    try:
        page = _page(browser, server)
        page.goto(server.url + "/login")
        page.fill("input[name=username]", "compliance")
        page.fill("input[name=password]", PASSWORDS["compliance"])
        page.click("form.stack button[type=submit]")
        page.wait_for_url(re.compile(r".*/queue"))

        # The queue holds the organisation's processes only.
        buyers = page.locator("table.queue tbody td:nth-child(3) a").evaluate_all("els => els.map(e => e.href)")
        assert buyers and all(b.endswith("/parties/" + site.org_subject) for b in buyers)
        page.click(f"a[href='/processes/{site.org_ocid}']")
        page.wait_for_url(re.compile(r".*/processes/.*"))
        assert page.locator("h2", has_text="Red flags").is_visible()

        # The meetings register: record a meeting held by the rules' opposite, in the official's own office.
        page.click("nav.main a:text('Meetings')")
        page.wait_for_url(re.compile(r".*/meetings$"))
        assert page.locator("table.meetings tbody tr").first.inner_text() == "No meetings recorded."
        form = page.locator("#record-meeting")
        form.locator("input[name=official_iin]").fill(head["iin"])
        form.locator("input[name=official_name]").fill(head["full_name"])
        form.locator("input[name=company_name]").fill("ТОО «Курылыс Сервис»")
        form.locator("input[name=starts_at]").fill("2024-03-12T19:30")
        form.locator("input[name=ends_at]").fill("2024-03-12T19:00")  # before the start: refused, fields kept
        form.locator("input[name=place]").fill(head["office"])
        form.locator("input[name=commission_members]").fill(f"{member1['iin']}, {member2['iin']}")
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator("small[data-field=ends_at]").is_visible()
        assert page.locator("#record-meeting input[name=place]").input_value() == head["office"]
        page.locator("#record-meeting input[name=ends_at]").fill("2024-03-12T20:10")
        page.locator("#record-meeting button[type=submit]").click()
        page.wait_for_url(re.compile(r".*/meetings/\d+$"))
        assert page.locator("h1 .badge").inner_text() == "Not yet checked"
        assert "compliance" in page.locator(".facts").inner_text()
        page.click(".crumbs a")
        page.wait_for_url(re.compile(r".*/meetings$"))
        assert page.locator("table.meetings tbody tr").count() == 1
        assert head["office"] in page.locator("table.meetings tbody tr").inner_text()

        # Another organisation's process and meeting: refused without telling they exist; a staff page: 403.
        response = page.goto(f"{server.url}/processes/{site.other_ocid}")
        assert response is not None and response.status == 404
        assert "no such process" in page.locator("main").inner_text()
        response = page.goto(f"{server.url}/meetings/{other['id']}")
        assert response is not None and response.status == 404
        response = page.goto(f"{server.url}/triage")
        assert response is not None and response.status == 403
        assert "compliance" in page.locator("main").inner_text()
        assert page.locator("nav.main a:text('Citizen reports')").count() == 0
    finally:
        server.stop()


def test_public_visitor_walks_the_portal(site: Site, browser) -> None:  # noqa: F811
    analyst, supervisor = site.client("analyst"), site.client("supervisor")
    case = analyst.post("/api/v1/cases", json={"title": "t", "ocid": site.org_ocid, "recommendation": "Repeat it",
                                               "money_at_stake": "480000000"}).json()
    rid = case["recommendations"][0]["id"]
    supervisor.post(f"/api/v1/recommendations/{rid}/status", json={"status": "issued"})
    (code,) = store_rows(site.store, "SELECT min(code) FROM flags WHERE subject_type = 'process' AND subject_id = ? "
                         "AND code NOT LIKE 'CI%'", [site.org_ocid])[0]
    server = LiveServer(site.app)
    try:
        page = _page(browser, server)
        page.goto(server.url + "/")
        page.click("nav.main a:text('Public portal')")
        page.wait_for_url(re.compile(r".*/public$"))
        assert page.locator("#n-issued").inner_text() == "1"
        (n,) = store_rows(site.store, "SELECT count(*) FROM processes")[0]
        assert page.locator("#n-processes").inner_text() == f"{n:,}"

        # Flags by type lead to the purchases with that flag, and to one of them.
        page.click(f"#by-flag a[href='/public/processes?flag={code}']")
        page.wait_for_url(re.compile(rf".*/public/processes\?flag={code}$"))
        assert page.locator("select[name=flag]").input_value() == code
        rows = page.locator("#public-rows tbody tr")
        assert rows.count() > 0 and all(code in t for t in rows.all_inner_texts())
        rows.first.locator("a").first.click()
        page.wait_for_url(re.compile(r".*/public/processes/ocds-.*"))
        assert page.locator(f"article.flag .code:text-is('{code}')").is_visible()
        assert page.locator("text=Evidence").count() == 0  # no evidence on the public portal
        assert page.locator("a:text('Open a case')").count() == 0

        # The regional index map is a public page of its own.
        page.goto(server.url + "/public")
        page.click("#regions-link")
        page.wait_for_url(re.compile(r".*/regions$"))
        # Nothing here needed an account: no sign-in form was shown on the way.
        assert page.locator("input[name=password]").count() == 0
    finally:
        server.stop()
