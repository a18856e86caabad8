"""The regional index's second part: recommendations not carried out (imported from the application database),
`aiqyn index compute|show|trend`, and the printable scorecard `aiqyn report region`, through the CLI."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from aiqyn.regions.index import COMPONENTS, WEIGHTS
from aiqyn.regions.recommendations import GRACE_DAYS, not_carried_out
from aiqyn.regions.report import chromium
from aiqyn.store.schema import SCHEMA
from aiqyn.web import db as app_db
from aiqyn.web.models import Case, Organisation, Recommendation, User
from conftest import ingest, query, run_cli

AS_OF = "2026-06-30"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 generated processes, ingested, flagged and indexed (no recommendations yet)."""
    root = tmp_path_factory.mktemp("regions-report")
    gen = root / "gen"
    assert run_cli(["generate", "--tenders", "1000", "--seed", "3", "--out", gen]).code == 0
    db = root / "store.duckdb"
    assert ingest([gen / "releases.jsonl"], db).code == 0
    assert run_cli(["flags", "run", "--db", db]).code == 0
    res = run_cli(["index", "compute", "--db", db, "--bootstrap", "50"])
    assert res.code == 0, res.output
    return db


def _copy(db: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy.duckdb"
    shutil.copy(db, out)
    return out


def _districts(db: Path, year: int, n: int) -> list[tuple[str, str, str]]:
    """(district KATO, an ocid of the district in `year`, its buyer's subject id) of n districts, busiest first."""
    rows = query(db, """
        SELECT r.kato, MIN(p.ocid), MIN(bp.subject_id) FROM region_index AS r
        JOIN processes AS p ON p.year = r.period AND p.region_code LIKE SUBSTRING(r.kato, 1, 4) || '%'
        JOIN parties AS bp ON bp.ocid = p.ocid AND bp.party_id = p.buyer_id
        WHERE r.level = 'district' AND r.period = ? AND r.quarter = 0
          AND SUBSTRING(r.kato, 1, 2) NOT IN ('71', '75', '79')
        GROUP BY r.kato, r.n_processes ORDER BY r.n_processes DESC, r.kato LIMIT ?""", [year, n])
    assert len(rows) == n
    return [(k, o, s) for k, o, s in rows]


def _app_db(path: Path, recs: list[tuple[str, str, str, dt.date | None, dt.date | None]]) -> str:
    """An application database (migrated by Alembic) holding recommendations (ocid, buyer, status, issued on,
    executed on), each in a case of its own, as the web application records them."""
    url = f"sqlite:///{path}"
    app_db.upgrade(url)
    engine = app_db.make_engine(url)
    with Session(engine) as s:
        user = User(username="analyst", password_hash="x", role="analyst")
        s.add(user)
        orgs: dict[str, Organisation] = {}
        for i, (ocid, buyer, status, issued, executed) in enumerate(recs):
            org = orgs.get(buyer) or Organisation(subject_id=buyer, name=f"Buyer {buyer}", region_code=None)
            orgs[buyer] = org
            case = Case(title=f"case {i}", origin="process", ocid=ocid, organisation=org, created_by=user)
            s.add(Recommendation(case=case, organisation=org, text="Terminate the contract", status=status,
                                 money_at_stake=1000 * (i + 1), money_saved=100 if executed else 0,
                                 created_by=user,
                                 issued_at=dt.datetime.combine(issued, dt.time(9), dt.UTC) if issued else None,
                                 executed_at=dt.datetime.combine(executed, dt.time(9), dt.UTC) if executed else None))
        s.commit()
    engine.dispose()
    return url


def _component(db: Path, kato: str, period: int = 2024) -> tuple[float | None, float | None, float, int]:
    return query(db, "SELECT recommendations, recommendations_norm, index_value, rank FROM region_index "
                     "WHERE level = 'district' AND kato = ? AND period = ? AND quarter = 0", [kato, period])[0]


def test_not_carried_out_rules() -> None:
    day = dt.date(2024, 3, 1)
    late = day + dt.timedelta(days=GRACE_DAYS + 1)
    assert not_carried_out("draft", None, None, None, late) is None
    assert not_carried_out("issued", day, None, None, day + dt.timedelta(days=GRACE_DAYS)) is False
    assert not_carried_out("issued", day, None, None, late) is True
    assert not_carried_out("accepted", day, dt.date(2030, 1, 1), None, late) is False  # its own deadline
    assert not_carried_out("rejected", day, None, None, day) is True
    assert not_carried_out("closed", day, None, None, day) is True
    assert not_carried_out("closed", day, None, dt.date(2024, 4, 1), late) is False  # executed, then closed


def test_recommendations_component(store: Path, tmp_path: Path) -> None:
    """Imported recommendations give each district the share of those issued that were not carried out; the index
    rises with it (monotonicity), and re-importing the same application database changes nothing."""
    db = _copy(store, tmp_path)
    (a, oa, ba), (b, ob, bb), (c, oc, bc) = _districts(db, 2024, 3)
    issued = dt.date(2024, 5, 1)
    recs = [(oa, ba, "rejected", issued, None), (oa, ba, "executed", issued, dt.date(2024, 6, 1)),
            (ob, bb, "executed", issued, dt.date(2024, 6, 1)), (ob, bb, "in_execution", issued, None),
            (oc, bc, "issued", issued, None), (oc, bc, "draft", None, None)]
    url = _app_db(tmp_path / "app.sqlite", recs)
    res = run_cli(["index", "compute", "--db", db, "--app-db", url, "--as-of", AS_OF, "--bootstrap", "30"])
    assert res.code == 0, res.output
    assert "6 recommendations" in res.stdout and "5 issued" in res.stdout and "3 not carried out" in res.stdout
    facts = query(db, "SELECT recommendation_id, region_source, not_carried_out FROM recommendation_facts "
                      "ORDER BY recommendation_id")
    assert [f[1] for f in facts] == ["process"] * 6
    assert [f[2] for f in facts] == [True, False, False, True, True, None]
    assert [r[0] for r in query(db, "DESCRIBE recommendation_facts")] == \
        SCHEMA.outputs["recommendation_facts"].column_names
    ra, rb, rc = _component(db, a), _component(db, b), _component(db, c)
    assert (ra[0], rb[0], rc[0]) == (0.5, 0.5, 1.0)
    assert rc[1] == pytest.approx(1.0) and ra[1] == pytest.approx(0.0)
    # districts without a recommendation leave the component out (NULL), as citizens' reports for districts
    assert query(db, "SELECT COUNT(*) FROM region_index WHERE level = 'district' AND period = 2024 AND quarter = 0 "
                     "AND recommendations IS NULL")[0][0] > 0
    keys = [c.key for c in COMPONENTS]
    row = query(db, f"SELECT index_value, {', '.join(k + '_norm' for k in keys)} FROM region_index "
                    "WHERE level = 'district' AND kato = ? AND period = 2024 AND quarter = 0", [c])[0]
    present = [(WEIGHTS[k], v) for k, v in zip(keys, row[1:], strict=True) if v is not None]
    assert row[0] == pytest.approx(sum(w * v for w, v in present) / sum(w for w, _ in present))

    # Monotonicity: district b's executed recommendation had been rejected instead; its index rises.
    before = query(db, "SELECT * FROM region_index ORDER BY level, kato, period, quarter")
    engine = app_db.make_engine(url)
    with Session(engine) as s:
        rec = s.query(Recommendation).join(Case).filter(Case.ocid == ob, Recommendation.status == "executed").one()
        rec.status, rec.executed_at = "rejected", None
        s.commit()
    engine.dispose()
    assert run_cli(["index", "compute", "--db", db, "--app-db", url, "--as-of", AS_OF, "--bootstrap", "30"]).code == 0
    rb2 = _component(db, b)
    assert rb2[0] == 1.0 and rb2[2] > rb[2] and rb2[3] <= rb[3]

    # Re-importing the same application database (the same day) leaves the index as it was.
    after1 = query(db, "SELECT * FROM region_index ORDER BY level, kato, period, quarter")
    assert after1 != before
    assert run_cli(["index", "import-recommendations", "--db", db, "--app-db", url, "--as-of", AS_OF]).code == 0
    assert run_cli(["index", "compute", "--db", db, "--bootstrap", "30"]).code == 0
    assert query(db, "SELECT * FROM region_index ORDER BY level, kato, period, quarter") == after1

    # The scorecard of district c shows the recommendation not carried out; the oblast's lists its districts.
    out = tmp_path / "c.html"
    res = run_cli(["report", "region", c, "--db", db, "--period", "2024", "--out", out])
    assert res.code == 0, res.output
    page = out.read_text(encoding="utf-8")
    assert re.search(r'id="recs-not-carried-out">1<', page)
    assert re.search(r'id="recs-issued">1<', page)


def test_show_has_the_change_from_the_previous_period(store: Path) -> None:
    res = run_cli(["index", "show", "--db", store, "--level", "region", "--period", "2024"])
    assert res.code == 0, res.output
    assert "change from 2023" in res.stdout
    assert "▲" in res.stdout or "▼" in res.stdout
    # the same numbers as the table: first row, index difference from 2023
    kato, idx, prev = query(store, """SELECT c.kato, c.index_value, p.index_value FROM region_index AS c
        JOIN region_index AS p ON p.level = c.level AND p.kato = c.kato AND p.period = 2023 AND p.quarter = 0
        WHERE c.level = 'region' AND c.period = 2024 AND c.quarter = 0 AND c.rank = 1""")[0]
    line = next(ln for ln in res.stdout.splitlines() if kato in ln)
    assert f"{idx - prev:+.3f}" in line
    res = run_cli(["index", "show", "--db", store, "--level", "district", "--period", "2024", "--quarter", "2"])
    assert res.code == 0 and "2024 Q2" in res.stdout and "change from 2024 Q1" in res.stdout
    # `aiqyn regions rank` is the same command
    assert run_cli(["regions", "rank", "--db", store, "--period", "2024"]).stdout == \
        run_cli(["index", "show", "--db", store, "--period", "2024"]).stdout


def test_cli_bad_input(store: Path, tmp_path: Path) -> None:
    res = run_cli(["index", "show", "--db", store, "--period", "2031"])
    assert res.code == 2 and "no region has procurements in period 2031" in res.stderr
    assert "2024" in res.stderr  # says which periods exist
    res = run_cli(["report", "region", "999999999", "--db", store])
    assert res.code == 2 and "KATO 999999999: no such region or district" in res.stderr
    res = run_cli(["report", "region", "63", "--db", store])
    assert res.code == 2 and "9-digit" in res.stderr
    kato = query(store, "SELECT kato FROM region_index WHERE level = 'region' ORDER BY kato LIMIT 1")[0][0]
    res = run_cli(["report", "region", kato, "--db", store, "--period", "2031"])
    assert res.code == 2 and "no procurements in period 2031" in res.stderr
    assert run_cli(["report", "region", kato, "--db", store, "--format", "docx"]).code == 2
    res = run_cli(["index", "compute", "--db", _copy(store, tmp_path), "--app-db", tmp_path / "none.sqlite"])
    assert res.code == 2 and "none.sqlite: no such file" in res.stderr
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    res = run_cli(["index", "compute", "--db", _copy(store, tmp_path), "--app-db", empty])
    assert res.code == 2 and "not an Aiqyn application database" in res.stderr
    assert run_cli(["index", "compute", "--db", store, "--as-of", "yesterday"]).code == 2
    fresh = _app_db(tmp_path / "fresh.sqlite", [])  # a new installation: no recommendation yet
    db = _copy(store, tmp_path)
    res = run_cli(["index", "compute", "--db", db, "--app-db", fresh, "--bootstrap", "0"])
    assert res.code == 0 and "0 recommendations" in res.stdout, res.output
    assert query(db, "SELECT COUNT(*) FROM region_index WHERE recommendations IS NOT NULL")[0][0] == 0
    res = run_cli(["report", "region", kato, "--db", tmp_path / "nowhere.duckdb"])
    assert res.code == 2 and "no store" in res.stderr


def test_report_html_is_self_contained_and_in_the_readers_language(store: Path, tmp_path: Path) -> None:
    kato = "630000000" if query(store, "SELECT 1 FROM region_index WHERE kato = '630000000' AND period = 2024") \
        else query(store, "SELECT kato FROM region_index WHERE level = 'region' AND period = 2024 LIMIT 1")[0][0]
    unit = query(store, "SELECT name_ru, name_kk, index_value, rank, n_units FROM region_index WHERE level = 'region' "
                        "AND kato = ? AND period = 2024 AND quarter = 0", [kato])[0]
    ru = tmp_path / "ru.html"
    assert run_cli(["report", "region", kato, "--db", store, "--period", "2024", "--out", ru]).code == 0
    page = ru.read_text(encoding="utf-8")
    assert unit[0] in page and unit[1] in page
    assert f'id="index-value">{unit[2]:.3f}<' in page
    assert f"{unit[3]} из {unit[4]}" in page
    assert "Компоненты" in page and "Динамика" in page and "Районы и города" in page
    assert "<svg" in page and 'class="choropleth"' in page
    assert not re.search(r"<(script|link|img)\b", page)  # nothing fetched: styles and charts inline
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert not re.search(r"url\(", page)
    kk = tmp_path / "kk.html"
    assert run_cli(["report", "region", kato, "--db", store, "--period", "2024", "--lang", "kk", "--out", kk]).code == 0
    assert "Құрамдастар" in kk.read_text(encoding="utf-8")


def test_report_pdf(store: Path, tmp_path: Path) -> None:
    if chromium() is None:
        if os.environ.get("AIQYN_REQUIRE_BROWSER") or os.environ.get("CI"):
            pytest.fail("Chromium is required here (AIQYN_REQUIRE_BROWSER/CI) but none is installed")
        pytest.skip("no Chromium (apt-get install chromium); set AIQYN_REQUIRE_BROWSER=1 to fail instead")
    kato = query(store, "SELECT kato FROM region_index WHERE level = 'region' AND period = 2024 ORDER BY rank "
                        "LIMIT 1")[0][0]
    out = tmp_path / "r.pdf"
    res = run_cli(["report", "region", kato, "--db", store, "--period", "2024", "--format", "pdf", "--out", out])
    assert res.code == 0, res.output
    data = out.read_bytes()
    assert data[:5] == b"%PDF-" and len(data) > 20_000


def test_trend_png(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.png"
    res = run_cli(["index", "trend", "--db", store, "--level", "region", "--top", "4", "--out", out])
    assert res.code == 0, res.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    res = run_cli(["index", "trend", "--db", store, "--kato", "123456789", "--out", out])
    assert res.code == 2 and "123456789" in res.stderr


def test_sensitivity(store: Path, tmp_path: Path) -> None:
    """Equal weights and each component left out or doubled: the rank correlation with the default ranking; a
    component that is empty in the data (no recommendations here) moves nothing, the risk score does."""
    db = _copy(store, tmp_path)
    before = query(db, "SELECT * FROM region_index ORDER BY level, kato, period, quarter")
    res = run_cli(["index", "sensitivity", "--db", db, "--level", "district", "--period", "0"])
    assert res.code == 0, res.output
    lines = {ln.split("│")[1].strip(): [c.strip() for c in ln.split("│")[2:5]]
             for ln in res.stdout.splitlines() if ln.count("│") >= 5}
    assert lines["without recommendations"] == ["1.000", "0.0", "0"]
    assert float(lines["without risk_score"][0]) < 1.0 and int(lines["without risk_score"][2]) > 0
    assert "equal weights" in lines and len(lines) == 1 + 2 * len(WEIGHTS)
    assert query(db, "SELECT * FROM region_index ORDER BY level, kato, period, quarter") == before  # untouched
