"""Citizen reports: anonymous or not, photos and videos checked by content, a follow-up code, triage into cases,
rate limiting; the reporter's identity never leaves the triage pages."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

from webkit import LiveServer, Site, browser, make_site, site, store  # noqa: F401  (fixtures)

from aiqyn.web.reports import sniff


def png(width: int = 4, height: int = 3) -> bytes:
    """A real PNG image (red pixels)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 100


def test_types_are_read_from_the_content() -> None:
    assert sniff(png()) == "image/png"
    assert sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF") == "image/jpeg"
    assert sniff(MP4) == "video/mp4"
    assert sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81") == "video/webm"
    assert sniff(b"<html><script>alert(1)</script>") is None
    assert sniff(b"%PDF-1.7") is None


def test_a_citizen_reports_with_a_photo_and_follows_it_with_the_code(site: Site, tmp_path: Path) -> None:  # noqa: F811
    citizen = site.client()
    photo = png()
    r = citizen.form("/report", {"kind": "price", "text": "Paracetamol sold at three times the ceiling price",
                                 "organisation_name": "Pharmacy No. 5", "region": "750000000",
                                 "contact": "+7 701 000 00 00"},
                     files=[("files", ("holiday.txt", photo, "text/plain")), ("files", ("v.bin", MP4, "x/y"))])
    assert r.status_code == 200, r.text
    code = re.search(r'id="follow-up-code">([A-Z0-9-]+)<', r.text).group(1)  # type: ignore[union-attr]
    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", code)

    # Stored outside the web root, under random names, with the type read from the content.
    uploads = site.app.state.aiqyn.settings.upload_dir
    files = sorted(uploads.iterdir())
    assert len(files) == 2 and all(re.fullmatch(r"[0-9a-f]{32}", f.name) for f in files)
    assert photo in [f.read_bytes() for f in files]
    static = Path(__import__("aiqyn.web", fromlist=["x"]).__file__).parent / "static"
    assert not uploads.resolve().is_relative_to(static.resolve())
    staff = site.client("analyst")
    (report,) = staff.get("/api/v1/triage").json()
    assert sorted(a["content_type"] for a in report["attachments"]) == ["image/png", "video/mp4"]
    assert report["contact"] == "+7 701 000 00 00"
    att = next(a for a in report["attachments"] if a["content_type"] == "image/png")
    r = staff.get(f"/triage/{report['id']}/attachments/{att['id']}")
    assert r.status_code == 200 and r.content == photo and r.headers["content-type"] == "image/png"
    assert "attachment" in r.headers["content-disposition"]
    assert citizen.get(f"/triage/{report['id']}/attachments/{att['id']}", follow_redirects=False).status_code == 303

    # The code shows the status; nobody's identity.
    r = citizen.form("/report/status", {"code": code.lower()})
    assert r.status_code == 200 and 'id="report-status"' in r.text
    assert "+7 701" not in r.text and "Pharmacy" not in r.text
    assert citizen.form("/report/status", {"code": "AAAA-BBBB-CCCC-DDDD"}).status_code == 404
    status = citizen.post("/api/v1/reports/status", json={"code": code}).json()
    assert status["status"] == "received" and set(status) == {"kind", "status", "note", "received", "updated"}

    # Triage: a note for the reporter, then a case.
    r = staff.post(f"/api/v1/triage/{report['id']}", json={"status": "in_review", "public_note": "We are checking."})
    assert r.status_code == 200
    assert citizen.post("/api/v1/reports/status", json={"code": code}).json()["note"] == "We are checking."
    r = staff.form(f"/triage/{report['id']}", {"open_case": "1", "case_title": "Pharmacy prices"},
                   follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/cases/")
    case = staff.get("/api/v1" + r.headers["location"]).json()
    assert case["origin"] == "report" and case["title"] == "Pharmacy prices"
    assert citizen.post("/api/v1/reports/status", json={"code": code}).json()["status"] == "case_opened"

    # The audit log has the submission but not the reporter.
    log = site.client("supervisor").get("/api/v1/audit").json()["entries"]
    submitted = [e for e in log if e["action"] == "report.submit"]
    assert len(submitted) == 1 and submitted[0]["actor"] == "anonymous"
    assert "+7 701" not in str(log) and "Paracetamol" not in str(log)


def test_what_is_not_a_photo_or_video_is_refused_and_nothing_is_kept(site: Site) -> None:  # noqa: F811
    citizen = site.client()
    r = citizen.post("/api/v1/reports", data={"kind": "corruption", "text": "A bribe was asked at the akimat"},
                     files=[("files", ("photo.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg"))])
    assert r.status_code == 422 and "photo" in r.text
    uploads = site.app.state.aiqyn.settings.upload_dir
    assert not uploads.exists() or not list(uploads.iterdir())
    assert site.client("analyst").get("/api/v1/triage").json() == []
    # Without a file it is fine (anonymous, no attachments).
    r = citizen.post("/api/v1/reports", data={"kind": "corruption", "text": "A bribe was asked at the akimat"})
    assert r.status_code == 201 and len(r.json()["follow_up_code"]) == 19


def test_attachments_over_the_size_limit_are_refused(store: Path, tmp_path: Path) -> None:  # noqa: F811
    small = make_site(store, f"sqlite:///{tmp_path / 'a.sqlite'}", tmp_path / "up")
    small.app.state.aiqyn.settings.max_upload_mb = 0.01  # 10 kB
    citizen = small.client()
    big = png() + b"\x00" * 20_000
    r = citizen.post("/api/v1/reports", data={"kind": "price", "text": "An overpriced purchase of chairs"},
                     files=[("files", ("a.png", big, "image/png"))])
    assert r.status_code == 413
    assert not list((tmp_path / "up").iterdir())
    r = citizen.post("/api/v1/reports", content=b"x" * 200, headers={"Content-Length": str(10**9),
                                                                     "Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413  # refused before the body is read
    assert small.client("analyst").get("/api/v1/triage").json() == []


def test_reports_are_rate_limited(store: Path, tmp_path: Path) -> None:  # noqa: F811
    limited = make_site(store, f"sqlite:///{tmp_path / 'a.sqlite'}", tmp_path / "up")
    limited.app.state.aiqyn.report_limiter.limit = 2
    citizen = limited.client()
    codes = [citizen.post("/api/v1/reports", data={"kind": "price", "text": f"report number {i} of many"}).status_code
             for i in range(4)]
    assert codes == [201, 201, 429, 429]


def test_a_citizen_files_a_report_with_a_photo_in_the_browser(site: Site, browser, tmp_path: Path) -> None:  # noqa: F811
    photo = tmp_path / "evidence.png"
    photo.write_bytes(png(40, 30))
    server = LiveServer(site.app)
    try:
        page = browser.new_context(locale="en-US").new_page()
        page.context.add_cookies([{"name": "aiqyn_lang", "value": "en", "url": server.url}])
        page.goto(server.url + "/")
        page.click("nav.main a:text('Report corruption')")
        page.check("input[value=price]")
        page.fill("textarea[name=text]", "The pharmacy sells insulin above the ceiling price.")
        page.set_input_files("input[name=files]", str(photo))
        page.click("button:text('Send the report')")
        code = page.locator("#follow-up-code").inner_text()
        page.click("a:text('Check a report')")
        page.fill("input[name=code]", code)
        page.click("form.stack button[type=submit]")
        assert page.locator("#report-status strong").inner_text() == "Received"
    finally:
        server.stop()
    (report,) = site.client("analyst").get("/api/v1/triage").json()
    assert report["contact"] == "" and [a["content_type"] for a in report["attachments"]] == ["image/png"]
