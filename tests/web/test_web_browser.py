"""Journeys in Debian's Chromium (Playwright, never a downloaded browser), against the application served
by uvicorn."""

from __future__ import annotations

import re

from webkit import PASSWORDS, LiveServer, Site, browser, site, store, store_rows  # noqa: F401  (fixtures)


def sign_in(page, server: LiveServer, role: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + "/login")
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", PASSWORDS[role])
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r".*/queue"))


def test_analyst_turns_a_flag_into_a_recommendation_and_records_the_money_saved(site: Site, browser) -> None:  # noqa: F811
    (code,) = store_rows(site.store, "SELECT code FROM flags WHERE subject_type = 'process' AND subject_id = ? "
                         "ORDER BY code LIMIT 1", [site.org_ocid])[0]
    server = LiveServer(site.app)
    try:
        analyst = browser.new_context(locale="en-US").new_page()
        analyst.context.add_cookies([{"name": "aiqyn_lang", "value": "en", "url": server.url}])
        sign_in(analyst, server, "analyst")

        # The risk queue, filtered by buyer and flag (htmx swaps the rows), leads to the process.
        analyst.fill("input[name=buyer]", site.org_subject.removeprefix("KZ-BIN-"))
        analyst.select_option("select[name=flag]", code)
        analyst.wait_for_url(re.compile(rf".*flag={code}.*"))
        analyst.click(f"a[href='/processes/{site.org_ocid}']")
        analyst.wait_for_url(re.compile(r".*/processes/.*"))
        assert analyst.locator("h2", has_text="Red flags").is_visible()

        # From the flag's card: open a case with a recommendation and the money at stake.
        card = analyst.locator("article.flag", has=analyst.locator(f"span.code:text-is('{code}')")).first
        card.locator("a", has_text="Open a case").click()
        analyst.wait_for_url(re.compile(r".*/cases/new.*"))
        analyst.fill("textarea[name=recommendation]", "Terminate the contract and return the overpayment.")
        analyst.fill("input[name=money_at_stake]", "1500000")
        analyst.click("button:text('Open the case')")
        analyst.wait_for_url(re.compile(r".*/cases/\d+$"))
        assert analyst.locator(f".facts .code:text-is('{code}')").is_visible()
        analyst.click("table.grid a:text('Terminate the contract and return the overpayment.')")
        analyst.wait_for_url(re.compile(r".*/recommendations/\d+$"))
        rec_url = analyst.url
        assert analyst.locator("h1 .badge").inner_text() == "Draft"
        assert "1,500,000.00" in analyst.locator("#at-stake").inner_text()

        # A supervisor, in another browser, issues it.
        supervisor = browser.new_context(locale="en-US").new_page()
        supervisor.context.add_cookies([{"name": "aiqyn_lang", "value": "en", "url": server.url}])
        sign_in(supervisor, server, "supervisor")
        supervisor.goto(rec_url)
        supervisor.click("button[value=issued]")
        supervisor.wait_for_url(rec_url)
        assert supervisor.locator("h1 .badge").inner_text() == "Issued"

        # The analyst records the entity's acceptance, then the money saved.
        analyst.reload()
        analyst.fill("form[action$='/status'] input[name=note]", "Letter of the akimat")
        analyst.click("button[value=accepted]")
        analyst.wait_for_url(rec_url)
        analyst.click("button[value=in_execution]")
        analyst.wait_for_url(rec_url)
        analyst.fill("input[name=amount]", "372000")
        analyst.click("form[action$='/savings'] button[type=submit]")
        analyst.wait_for_url(rec_url)
        assert "372,000.00" in analyst.locator("#saved").inner_text()
        assert analyst.locator("ol.timeline li").count() == 5

        # The dashboard: one issued, one being carried out, 372,000 saved.
        analyst.click("nav.main a:text('Dashboard')")
        analyst.wait_for_url(re.compile(r".*/dashboard$"))
        assert analyst.locator("#n-issued").inner_text() == "1"
        assert analyst.locator("#n-in-execution").inner_text() == "1"
        assert analyst.locator("#money-saved").inner_text() == "372K ₸"
        assert "372,000.00" in analyst.locator("#money-saved").get_attribute("title")

        # The interface in Kazakh, chosen by the user.
        analyst.click("nav.langs a[hreflang=kk]")
        analyst.wait_for_url(re.compile(r".*/dashboard$"))
        assert analyst.locator("nav.main a.on").inner_text() == "Жиынтық"
        assert analyst.locator("html").get_attribute("lang") == "kk"
    finally:
        server.stop()
