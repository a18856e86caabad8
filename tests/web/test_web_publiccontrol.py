"""The public-control pages through HTTP: the public queue pages show codes and aggregates only (no name, no IIN),
the position lookup, the ledger export verifies, the supervisor's accountability register; and the public queue
page in Debian's Chromium."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest
from webkit import LiveServer, Site, browser, make_site, store  # noqa: F401  (fixtures)

from aiqyn.publiccontrol import ledger
from aiqyn.publiccontrol.queues import applicant_code
from conftest import run_cli


@pytest.fixture(scope="module")
def pc_site(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Site:  # noqa: F811
    """The shared web store copied, with the generated registers, queues and accountability register imported
    and checked through the CLI."""
    base = tmp_path_factory.mktemp("pc")
    data = store.parent
    db = base / "pc.duckdb"
    shutil.copy(store, db)
    for kind in ("officials", "relatives", "companies"):
        assert run_cli(["registers", "import", kind, data / f"{kind}.csv", "--db", db]).code == 0
    res = run_cli(["queue", "import", data / "queue_events.csv", "--db", db, "--key-file", data / "queue.key"])
    assert res.code == 0, res.output
    assert run_cli(["queue", "check", "--db", db]).code == 1  # planted findings
    for kind in ("offences", "statements"):
        assert run_cli(["accountability", "import", kind, data / f"{kind}.csv", "--db", db]).code == 0
    assert run_cli(["accountability", "check", "--db", db]).code == 0
    return make_site(db, f"sqlite:///{base / 'app.sqlite'}", base / "uploads")


@pytest.fixture(scope="module")
def pc_data(store: Path) -> Path:  # noqa: F811
    """The generated files beside the shared web store (registers, queue events, offences, the demo key)."""
    return store.parent


def _personal_data(data: Path) -> set[str]:
    """Every IIN and every official's or relative's name of the generated files."""
    out: set[str] = set()
    for name, columns in (("queue_events.csv", ("applicant_iin", "official_iin")),
                          ("officials.csv", ("iin", "full_name")),
                          ("relatives.csv", ("relative_iin", "relative_name", "official_iin")),
                          ("offences.csv", ("person_iin", "person_name")),
                          ("statements.csv", ("head_iin",))):
        with (data / name).open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                out |= {row[c] for c in columns if row.get(c) and not row[c].startswith("Сотрудник")}
    return out


def _queues(site: Site) -> list[str]:
    page = site.client().get("/public/queues").text
    return sorted(set(re.findall(r'href="/public/queues/([A-Za-z0-9._-]+)"', page)))


def test_public_queue_pages_show_no_personal_data(pc_site: Site, pc_data: Path) -> None:
    client = pc_site.client()
    ids = _queues(pc_site)
    assert len(ids) >= 4
    secret = _personal_data(pc_data)
    assert len(secret) > 100
    pages = [client.get("/public/queues"), client.get("/public/accountability")]
    for qid in ids:
        pages += [client.get(f"/public/queues/{qid}"), client.get(f"/public/queues/{qid}?page=2"),
                  client.get(f"/public/queues/{qid}/export")]
    for r in pages:
        assert r.status_code == 200, r.url
        leaked = [s for s in secret if s in r.text]
        assert not leaked, f"{r.url}: personal data shown: {leaked[:5]}"
    page = client.get(f"/public/queues/{ids[0]}").text
    assert re.search(r"[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}", page)  # applicants by code
    # the affiliation findings rest on the registers of relatives: the supervisor's, never the public's
    everything = "".join(client.get(f"/public/queues/{qid}").text for qid in ids)
    assert "вне очереди" in everything and "родственнику" not in everything
    assert "родственнику" in pc_site.client("supervisor").get("/accountability/findings?kind=affiliated").text
    assert "Merkle" in page or "Меркл" in page


def test_the_web_export_verifies_and_an_edit_is_named(pc_site: Site, tmp_path: Path) -> None:
    qid = _queues(pc_site)[0]
    path = tmp_path / "q.jsonl"
    path.write_bytes(pc_site.client().get(f"/public/queues/{qid}/export").content)
    v = ledger.verify(path)
    assert v.ok and v.entries > 100 and v.seals >= 1
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[40] = lines[40].replace('"at":"20', '"at":"19', 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    broken = ledger.verify(path).broken
    assert broken is not None and broken.line == 41 and broken.seq == 40 and "hash" in broken.reason


def test_position_lookup_by_code(pc_site: Site, pc_data: Path) -> None:
    data = pc_data
    key = (data / "queue.key").read_bytes().strip()
    qid = _queues(pc_site)[0]
    with (data / "queue_events.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["queue_id"] == qid]
    placed = {r["applicant_iin"] for r in rows if r["event"] in ("accepted", "removed", "offered")}
    waiting = [r["applicant_iin"] for r in rows if r["event"] == "registered" and r["applicant_iin"] not in placed]
    assert waiting
    code = applicant_code(key, qid, waiting[-1])
    client = pc_site.client()
    page = client.get(f"/public/queues/{qid}", params={"code": code.lower().replace("-", " ")}).text
    box = re.search(r'id="position-result">(.*?)</div>', page, re.S)
    assert box and code in box.group(1) and re.search(r"место \d+ из \d+", box.group(1)), box
    page = client.get(f"/public/queues/{qid}", params={"code": "AAAA-BBBB-CCCC"}).text
    box = re.search(r'id="position-result">(.*?)</div>', page, re.S)
    assert box and "нет заявителя" in box.group(1)


def test_the_accountability_register_is_the_supervisors(pc_site: Site) -> None:
    sup = pc_site.client("supervisor").get("/accountability")
    assert sup.status_code == 200
    assert 'class="overdue"' in sup.text  # planted missing statements, highlighted
    assert pc_site.client("supervisor").get("/accountability", params={"state": "overdue"}).status_code == 200
    assert pc_site.client("supervisor").get("/accountability/findings?kind=out_of_turn").status_code == 200
    assert pc_site.client("analyst").get("/accountability").status_code == 403
    r = pc_site.client().get("/accountability", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    public = pc_site.client().get("/public/accountability").text
    assert "overdue" in public.lower() or "просроч" in public.lower() or "мерзімі" in public.lower()


def test_unknown_queue_is_404(pc_site: Site) -> None:
    assert pc_site.client().get("/public/queues/no-such-queue").status_code == 404
    assert pc_site.client().get("/public/queues/no-such-queue/export").status_code == 404


def test_public_queue_page_in_chromium(pc_site: Site, browser) -> None:  # noqa: F811
    qid = _queues(pc_site)[0]
    server = LiveServer(pc_site.app)
    try:
        page = browser.new_page(locale="ru-RU")
        page.goto(f"{server.url}/public/queues/{qid}")
        assert page.locator("table.ledger tbody tr").count() > 10
        code = page.locator("table.ledger tbody tr code").first.inner_text()
        page.fill("input[name=code]", code)
        page.click("#position button")
        page.wait_for_selector("#position-result")
        assert code in page.locator("#position-result").inner_text()
        page.close()
    finally:
        server.stop()
