"""The regional corruption-risk index (src/aiqyn/regions): computed through the CLI on a generated data set."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from aiqyn.regions.boundaries import geojson, units
from aiqyn.regions.index import COMPONENTS, FACTS_SQL, WEIGHTS, compute, index_sql
from aiqyn.store.db import connect
from aiqyn.store.schema import SCHEMA
from conftest import ingest, query, run_cli


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(store, generated data directory): 2,000 generated processes, ingested, flagged and indexed."""
    root = tmp_path_factory.mktemp("regions")
    gen = root / "gen"
    assert run_cli(["generate", "--tenders", "2000", "--seed", "1", "--out", gen]).code == 0
    db = root / "store.duckdb"
    assert ingest([gen / "releases.jsonl"], db).code == 0
    res = run_cli(["flags", "run", "--db", db])
    assert res.code == 0, res.output
    res = run_cli(["regions", "run", "--db", db])
    assert res.code == 0, res.output
    assert "16 regions" in res.stdout
    return db, gen


def _copy(db: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy.duckdb"
    shutil.copy(db, out)
    return out


def _index(db: Path, level: str, period: int = 0) -> dict[str, tuple[float, int]]:
    rows = query(db, "SELECT kato, index_value, rank FROM region_index WHERE level = ? AND period = ? AND quarter = 0",
                 [level, period])
    return {k: (v, r) for k, v, r in rows}


def test_table_is_declared_and_consistent(store: tuple[Path, Path]) -> None:
    db, _ = store
    cols = [r[0] for r in query(db, "DESCRIBE region_index")]
    assert cols == SCHEMA.outputs["region_index"].column_names
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    for level, period, quarter, n, n_units, max_rank in query(
            db, "SELECT level, period, quarter, COUNT(*), MAX(n_units), MAX(rank) FROM region_index GROUP BY ALL"):
        assert n == n_units == max_rank, (level, period, quarter)
    # every process is counted once per level in all years pooled, and once in its year
    n_proc = query(db, "SELECT COUNT(*) FROM processes")[0][0]
    for level in ("region", "district"):
        assert query(db, "SELECT SUM(n_processes) FROM region_index WHERE level = ? AND period = 0",
                     [level])[0][0] == n_proc
        assert query(db, "SELECT SUM(n_processes) FROM region_index WHERE level = ? AND period > 0 AND quarter = 0",
                     [level])[0][0] == n_proc
    # quarters split the year by tender start (every generated process has one)
    assert query(db, "SELECT SUM(n_processes) FROM region_index WHERE period > 0 AND quarter > 0")[0][0] == 2 * n_proc
    assert query(db, "SELECT COUNT(*) FROM region_index WHERE period = 0 AND quarter > 0")[0][0] == 0
    bad = query(db, "SELECT level, kato, period FROM region_index WHERE index_value < 0 OR index_value > 1 "
                    "OR ci_low > ci_high OR rank_best > rank OR rank_worst < rank OR rank_best < 1")
    assert bad == []
    # citizens' reports carry only an oblast: districts leave the component out
    assert query(db, "SELECT COUNT(*) FROM region_index WHERE level = 'district' AND citizen_reports IS NOT NULL"
                 )[0][0] == 0
    # names as in the classifier, in Russian and Kazakh
    assert query(db, "SELECT name_ru, name_kk FROM region_index WHERE kato = '630000000' AND period = 0 "
                     "AND quarter = 0")[0] == (
        "Восточно-Казахстанская область", "Шығыс Қазақстан облысы")


def test_index_is_the_weighted_mean_of_normalised_components(store: tuple[Path, Path]) -> None:
    db, _ = store
    keys = [c.key for c in COMPONENTS]
    sel = ", ".join(f"{k}, {k}_norm" for k in keys)
    for row in query(db, f"SELECT level, period, index_value, {sel} FROM region_index"):
        level, period, idx, vals = row[0], row[1], row[2], row[3:]
        num = den = 0.0
        for i, k in enumerate(keys):
            norm = vals[2 * i + 1]
            if norm is not None:
                assert 0.0 <= norm <= 1.0
                num += WEIGHTS[k] * norm
                den += WEIGHTS[k]
        assert idx == pytest.approx(num / den), (level, period)


def test_all_weight_on_one_component_ranks_by_it(store: tuple[Path, Path], tmp_path: Path) -> None:
    db = _copy(store[0], tmp_path)
    weights = {k: 0.0 for k in WEIGHTS} | {"non_competitive": 1.0}
    con = connect(db)
    try:
        compute(con, weights, bootstrap=0)
        rows = con.execute("SELECT non_competitive, index_value FROM region_index WHERE level = 'district' "
                           "AND period = 0 AND quarter = 0 ORDER BY rank").fetchall()
    finally:
        con.close()
    shares = [r[0] for r in rows]
    assert shares == sorted(shares, reverse=True)
    assert rows[0][1] == pytest.approx(1.0) and rows[-1][1] == pytest.approx(0.0)


def test_index_rises_when_a_districts_risk_rises(store: tuple[Path, Path], tmp_path: Path) -> None:
    """Monotonicity: make the lowest-ranked district buy more without competition; its index and rank rise."""
    db = _copy(store[0], tmp_path)
    before = _index(db, "district")
    kato = max(before, key=lambda k: before[k][1])
    con = connect(db)
    try:
        prefix = kato[:4] if kato[:2] not in ("71", "75", "79") else kato[:6]
        con.execute("UPDATE processes SET method = 'direct' WHERE ocid IN (SELECT ocid FROM processes WHERE "
                    "region_code LIKE ? AND method = 'open' ORDER BY ocid LIMIT 10)", [prefix + "%"])
        compute(con, bootstrap=0)
    finally:
        con.close()
    after = _index(db, "district")
    assert after[kato][0] > before[kato][0]
    assert after[kato][1] < before[kato][1]


def test_unchanged_by_reingesting_the_same_data(store: tuple[Path, Path], tmp_path: Path) -> None:
    db, gen = store
    db2 = _copy(db, tmp_path)
    cols = ", ".join(SCHEMA.outputs["region_index"].column_names)
    before = query(db2, f"SELECT {cols} FROM region_index ORDER BY level, kato, period, quarter")
    assert ingest([gen / "releases.jsonl"], db2).code == 0
    assert run_cli(["flags", "run", "--db", db2]).code == 0
    assert run_cli(["regions", "run", "--db", db2]).code == 0
    after = query(db2, f"SELECT {cols} FROM region_index ORDER BY level, kato, period, quarter")
    assert len(after) == len(before)
    for a, b in zip(after, before, strict=True):  # floats up to the order of parallel sums; all else exact
        assert [x for x in a if not isinstance(x, float)] == [x for x in b if not isinstance(x, float)]
        assert [x for x in a if isinstance(x, float)] == pytest.approx(
            [x for x in b if isinstance(x, float)], rel=1e-9, abs=1e-12)


def test_districts_with_more_planted_schemes_rank_higher(store: tuple[Path, Path], tmp_path: Path) -> None:
    """Rank correlation (Spearman) between a district's share of processes carrying a planted scheme and its
    index, and the same (Pearson) for the oblasts."""
    db, gen = store
    truth = json.loads((gen / "truth.json").read_text(encoding="utf-8"))
    planted = sorted({o for s in truth["schemes"].values() for o in s["processes"]})
    con = connect(_copy(db, tmp_path))
    try:
        compute(con, bootstrap=0)  # leaves the per-process facts in the temporary table `facts`
        con.execute("CREATE TEMP TABLE planted (ocid VARCHAR)")
        con.executemany("INSERT INTO planted VALUES (?)", [(o,) for o in planted])
        shares = """SELECT f.{col} AS kato, AVG(CASE WHEN p.ocid IS NULL THEN 0.0 ELSE 1.0 END) AS share
                    FROM facts AS f LEFT JOIN planted AS p ON p.ocid = f.ocid WHERE f.{col} IS NOT NULL GROUP BY 1"""
        spearman = con.execute(f"""
            WITH d AS ({shares.format(col="district")}),
            j AS (SELECT RANK() OVER (ORDER BY d.share) AS rs, RANK() OVER (ORDER BY r.index_value) AS ri
                  FROM d JOIN region_index AS r ON r.level = 'district' AND r.period = 0 AND r.quarter = 0
                  AND r.kato = d.kato)
            SELECT CORR(rs, ri), COUNT(*) FROM j""").fetchall()[0]
        pearson = con.execute(f"""
            WITH d AS ({shares.format(col="region")})
            SELECT CORR(d.share, r.index_value), COUNT(*) FROM d
            JOIN region_index AS r ON r.level = 'region' AND r.period = 0 AND r.quarter = 0 AND r.kato = d.kato
            """).fetchall()[0]
    finally:
        con.close()
    assert spearman[1] >= 30 and spearman[0] > 0.35, spearman
    assert pearson[1] >= 15 and pearson[0] > 0.5, pearson


SPARK_FUNCTIONS = {"ARRAY_CONTAINS", "AVG", "CAST", "COALESCE", "CONCAT", "COUNT", "EXTRACT", "LENGTH", "MAX",
                   "MIN", "NULLIF", "QUARTER", "ROUND", "ROW_NUMBER", "SUBSTRING", "SUM", "YEAR"}


@pytest.mark.parametrize("sql", [FACTS_SQL, index_sql()], ids=["facts", "index"])
def test_definitions_transpile_to_spark(sql: str) -> None:
    sqlglot = pytest.importorskip("sqlglot")
    from sqlglot.errors import ErrorLevel

    spark = sqlglot.transpile(sql, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE)[0]
    used = set(re.findall(r"\b([A-Z_]+)\(", spark))
    assert used <= SPARK_FUNCTIONS | {"IN", "AS", "OVER", "FROM", "ON"}, sorted(used - SPARK_FUNCTIONS)
    assert "$" not in spark


def test_shipped_boundaries_are_small_and_keyed_by_kato(store: tuple[Path, Path]) -> None:
    db, _ = store
    folder = Path(__file__).resolve().parent.parent / "src" / "aiqyn" / "regions" / "boundaries"
    assert sum(p.stat().st_size for p in folder.glob("*.geo.json")) < 1_000_000
    for level, n in (("region", 20), ("district", 224)):
        ids = [f["id"] for f in geojson(level)["features"]]
        assert len(ids) == len(set(ids)) == n
        assert all(re.fullmatch(r"\d{9}", k) for k in ids)
        assert "geokz" in geojson(level)["source"]
    regions = {u.kato for u in units("region")}
    assert {r[0] for r in query(db, "SELECT kato FROM region_index WHERE level = 'region'")} <= regions


def test_cli_rank_and_maps(store: tuple[Path, Path], tmp_path: Path) -> None:
    db, _ = store
    res = run_cli(["regions", "rank", "--db", db, "--level", "district", "--period", "2024", "--top", "5"])
    assert res.code == 0, res.output
    top = query(db, "SELECT kato FROM region_index WHERE level = 'district' AND period = 2024 AND quarter = 0 "
                    "AND rank = 1")[0][0]
    assert top in res.stdout
    res = run_cli(["regions", "rank", "--db", db, "--period", "2024", "--quarter", "2"])
    assert res.code == 0, res.output
    assert "2024 Q2" in res.stdout
    res = run_cli(["regions", "map", "--db", db, "--level", "region", "--out", tmp_path])
    assert res.code == 0, res.output
    png = tmp_path / "index_region_all.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    page = (tmp_path / "index_region_all.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", page)  # plotly.js inline, nothing fetched
    assert "Восточно-Казахстанская область" in page and "Шығыс Қазақстан облысы" in page


def test_cli_errors(store: tuple[Path, Path], tmp_path: Path) -> None:
    db, _ = store
    assert run_cli(["regions", "run", "--db", db, "--weight", "bogus=1"]).code == 2
    assert run_cli(["regions", "rank", "--db", db, "--level", "city"]).code == 2
    assert run_cli(["regions", "rank", "--db", tmp_path / "none.duckdb"]).code == 2
    assert run_cli(["regions", "rank", "--db", db, "--quarter", "1"]).code == 2  # a quarter needs a year
