"""Expertise of draft legal acts in the application: a reviewer uploads a draft (text, DOCX), reads its report,
confirms or rejects flags, and the summary counts the decisions into each factor's precision. On SQLite and on
a real PostgreSQL."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from webkit import Site, make_site, pg_url, site, store  # noqa: F401  (fixtures)

from aiqyn.web.models import ExpertiseDecision, ExpertiseDraft

DRAFT_RU = """ЗАКОН РЕСПУБЛИКИ КАЗАХСТАН
О разрешениях на торговлю
Статья 1. Выдача разрешений
1. Уполномоченный орган вправе по своему усмотрению выдать разрешение или отказать в его выдаче.
2. Заявитель представляет иные документы, предусмотренные уполномоченным органом.
3. Разрешение выдаётся в разумный срок.
Статья 2. Отказ
1. Основаниями для отказа являются:
1) несоответствие требованиям;
2) иные основания.
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def any_site(request: pytest.FixtureRequest, store: Path, tmp_path: Path) -> Site:  # noqa: F811
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    else:
        import psycopg

        url = request.getfixturevalue("pg_url")
        with psycopg.connect(url, autocommit=True) as con:  # an empty schema for this test
            con.execute("DROP SCHEMA public CASCADE")
            con.execute("CREATE SCHEMA public")
    return make_site(store, url, tmp_path / "uploads")


def flags_on_page(html: str) -> list[tuple[str, str]]:
    """(flag id, factor) of every flag the report page shows."""
    return re.findall(r'data-flag-id="([^"]+)" data-factor="([^"]+)"', html)


def upload(client, name: str, content: bytes):  # type: ignore[no-untyped-def]
    return client.form("/expertise", {}, files={"file": (name, content, "application/octet-stream")},
                       follow_redirects=False)


def test_upload_review_and_precision(any_site: Site, tmp_path: Path) -> None:
    s = any_site
    reviewer = s.client("ngo_reviewer")
    r = upload(reviewer, "проект.txt", DRAFT_RU.encode())
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    page = reviewer.get(url)
    assert page.status_code == 200
    assert "О разрешениях на торговлю" in page.text and "<mark" in page.text
    flags = flags_on_page(page.text)
    # the same ids as the expertise package gives the same text
    from aiqyn.expertise import analyse

    assert sorted(f for f, _ in flags) == sorted(f.id for f in analyse(DRAFT_RU).flags)
    by_factor: dict[str, list[str]] = {}
    for flag_id, factor in flags:
        by_factor.setdefault(factor, []).append(flag_id)
    factor, (first, second, *_) = next((k, v) for k, v in sorted(by_factor.items()) if len(v) >= 2)

    draft_id = int(url.rsplit("/", 1)[1])
    r = reviewer.form(f"{url}/decisions", {"flag_id": first, "decision": "confirmed", "comment": "явная дискреция"},
                      follow_redirects=False)
    assert r.status_code == 303, r.text
    # a first decision changed by the analyst, then a reviewer's rejection: the latest one counts
    analyst = s.client("analyst")
    assert analyst.form(f"{url}/decisions", {"flag_id": second, "decision": "confirmed"},
                        follow_redirects=False).status_code == 303
    assert reviewer.form(f"{url}/decisions", {"flag_id": second, "decision": "rejected", "comment": ""},
                         follow_redirects=False).status_code == 303
    page = reviewer.get(url).text
    assert "явная дискреция" in page and "ngo_reviewer" in page

    summary = reviewer.get("/expertise/summary").text
    row = re.search(rf'<tr data-factor="{factor}">(.*?)</tr>', summary, re.S)
    assert row, summary
    cells = re.findall(r'<td class="num[^"]*">([^<]*)</td>', row.group(1))
    flags_n, confirmed, rejected, undecided, precision = cells
    assert (int(confirmed), int(rejected)) == (1, 1)
    assert int(flags_n) == len(by_factor[factor]) and int(undecided) == len(by_factor[factor]) - 2
    assert precision.strip() in ("0.5", "0,5")
    other = next(k for k in by_factor if k != factor)
    other_row = re.search(rf'<tr data-factor="{other}">(.*?)</tr>', summary, re.S).group(1)  # type: ignore[union-attr]
    assert "—" in other_row  # nothing decided yet: no precision

    # stored: the report's JSON and every decision, with who and which factor; the file outside the web root
    engine = create_engine(s.url)
    with engine.connect() as con:
        draft = con.execute(select(ExpertiseDraft).where(ExpertiseDraft.id == draft_id)).one()
        assert {f["id"] for f in json.loads(draft.report_json)["flags"]} == {f for f, _ in flags}
        decisions = con.execute(select(ExpertiseDecision.flag_id, ExpertiseDecision.factor,
                                       ExpertiseDecision.decision).order_by(ExpertiseDecision.id)).all()
    engine.dispose()
    assert [tuple(d) for d in decisions] == [(first, factor, "confirmed"), (second, factor, "confirmed"),
                                             (second, factor, "rejected")]
    stored = tmp_path / "uploads" / "expertise" / draft.stored_name
    assert stored.read_bytes() == DRAFT_RU.encode()

    # every change is in the audit log, and the chain holds
    audit = s.client("supervisor").get("/api/v1/audit").json()
    actions = [e["action"] for e in (audit["entries"] if isinstance(audit, dict) else audit)]
    assert actions.count("expertise.decide") == 3 and actions.count("expertise.upload") == 1

    # a flag that is not in the report, a decision that is not one
    assert reviewer.form(f"{url}/decisions", {"flag_id": "AC01-x", "decision": "confirmed"}).status_code == 404
    assert reviewer.form(f"{url}/decisions", {"flag_id": first, "decision": "maybe"}).status_code == 422
    # the public and a compliance officer see no reviews
    assert s.client().get("/expertise/summary", follow_redirects=False).headers["location"].startswith("/login")
    assert s.client("compliance").get(url).status_code == 403


def test_docx_upload(any_site: Site) -> None:
    import docx

    document = docx.Document()
    for line in DRAFT_RU.splitlines():
        document.add_paragraph(line)
    buf = io.BytesIO()
    document.save(buf)
    reviewer = any_site.client("ngo_reviewer")
    r = upload(reviewer, "проект", buf.getvalue())  # no suffix: the type is read from the content
    assert r.status_code == 303, r.text
    page = reviewer.get(r.headers["location"]).text
    assert "docx" in page and len(flags_on_page(page)) == len(flags_on_page(reviewer.get(
        upload(reviewer, "same.txt", DRAFT_RU.encode()).headers["location"]).text))


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.txt", b"", "the file is empty"),
    ("blank.txt", b"  \n\n ", "the file is empty"),
    ("image.bin", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "unknown format (binary data)"),
    ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "old binary Word (.doc)"),
    ("fake.docx", b"PK\x03\x04" + bytes(60), "ZIP"),
])
def test_bad_uploads_are_refused_with_a_reason(site: Site,  # noqa: F811
                                                name: str, content: bytes, message: str) -> None:
    reviewer = site.client("ngo_reviewer")
    r = upload(reviewer, name, content)
    assert r.status_code in (413, 422), r.text
    assert message in r.text and name in r.text.replace("&#34;", '"')
    assert "/uploads/" not in r.text  # the stored path is never shown
    assert not list((Path(site.url.split("///", 1)[1]).parent / "uploads" / "expertise").glob("*"))  # nothing kept
    assert 'href="/expertise/1"' not in reviewer.get("/expertise").text  # no draft listed


def test_too_large_is_refused(store: Path, tmp_path: Path) -> None:  # noqa: F811
    small = make_site(store, f"sqlite:///{tmp_path / 'app.sqlite'}", tmp_path / "uploads")
    small.app.state.aiqyn.settings.max_upload_mb = 0.001  # 1,000 bytes
    r = upload(small.client("analyst"), "big.txt", (DRAFT_RU * 10).encode())
    assert r.status_code == 413 and "at most" in r.text


@pytest.mark.parametrize("lang", ["kk", "en"])
def test_report_in_every_language(site: Site, lang: str) -> None:  # noqa: F811
    reviewer = site.client("ngo_reviewer")
    url = upload(reviewer, "d.txt", DRAFT_RU.encode()).headers["location"]
    reviewer.http.cookies.set("aiqyn_lang", lang)
    page = reviewer.get(url).text
    names = {"kk": "Дискрециялық", "en": "discretion"}
    assert f'<html lang="{lang}">' in page and len(flags_on_page(page)) == 7
    assert names[lang].lower() in page.lower(), page[:2000]
    assert "Generated automatically" in page if lang == "en" else "Автоматты түрде жасалды" in page
