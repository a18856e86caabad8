"""Unit prices, benchmarks, findings and the money at stake on a small hand-built store, through the CLI."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiqyn.prices.cli import tenge
from aiqyn.prices.sql import PriceParams, queries
from conftest import BUYER_BIN, ingest, jsonl, make_release, query, run_cli, write

PAPER = "171912.000.000001"
COAL = "192022.500.000000"
PARACETAMOL = "N02BE01"


def priced(ocid: str, code: str, description: str, unit: str, price: float, quantity: float,
           scheme: str = "ENSTRU", year: int = 2024) -> dict[str, Any]:
    """A release whose tender, award and contract list one item at `price` per `unit`."""
    item = {"id": "1", "description": description,
            "classification": {"scheme": scheme, "id": code, "description": description},
            "quantity": quantity, "unit": {"name": unit, "value": {"amount": price, "currency": "KZT"}}}
    r = make_release(ocid)
    r["tender"]["items"] = [item]
    r["tender"]["tenderPeriod"] = {"startDate": f"{year}-03-01T09:00:00+05:00",
                                   "endDate": f"{year}-03-11T09:00:00+05:00"}
    r["awards"][0]["items"] = [item]
    r["contracts"][0]["items"] = [item]
    return r


def build(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    releases = []
    paper = [1000.0 + 10 * i for i in range(30)]
    for i, p in enumerate(paper):
        releases.append(priced(f"ocds-p-{i:03d}", PAPER, "Бумага А4", "упак", p, 10 + i))
    releases.append(priced("ocds-p-over", PAPER, "Бумага А4", "упак", 5000.0, 40))
    # Coal bought per tonne and per kilogram: comparable once converted to kilograms.
    coal_kg = [19_000.0 + 100 * i for i in range(12)] + [60_000.0]
    coal_t = [19_500_000.0 + 100_000 * i for i in range(12)]
    for i, p in enumerate(coal_t):
        releases.append(priced(f"ocds-ct-{i:03d}", COAL, "Уголь каменный", "т", p, 5))
    for i, p in enumerate(coal_kg):
        releases.append(priced(f"ocds-ck-{i:03d}", COAL, "Уголь каменный", "кг", p, 1000))
    # A medicine above its ceiling (13.60 tenge per tablet), and one below it.
    releases.append(priced("ocds-m-over", PARACETAMOL, "Парацетамол, таблетка 500 мг", "таблетка", 20.0, 1000,
                           scheme="ATC"))
    releases.append(priced("ocds-m-ok", PARACETAMOL, "Парацетамол, таблетка 500 мг", "таблетка", 12.0, 1000,
                           scheme="ATC"))
    # An item in an unknown unit, and one priced in dollars: neither breaks the run.
    releases.append(priced("ocds-odd", PAPER, "Бумага А4", "бочка", 7.0, 1))
    usd = priced("ocds-usd", PAPER, "Бумага А4", "упак", 3.0, 1)
    for sec in (usd["tender"]["items"], usd["awards"][0]["items"], usd["contracts"][0]["items"]):
        sec[0]["unit"]["value"]["currency"] = "USD"
    releases.append(usd)
    path = write(tmp_path / "releases.jsonl", jsonl(releases))
    db = tmp_path / "store.duckdb"
    ingest([path], db)
    return db, {"paper": paper, "coal_per_kg": [p / 1000 for p in coal_t] + coal_kg}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("prices")
    db, data = build(tmp)
    res = run_cli(["prices", "run", "--db", db, "--min-sample", "10"])
    assert res.code == 0, res.output
    return db, data


def test_run_summary(store: tuple[Path, dict[str, Any]]) -> None:
    db, _ = store
    res = run_cli(["prices", "run", "--db", db, "--min-sample", "10", "--json"])
    assert res.code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["unknown_units"] == {"бочка": 1}
    assert summary["not_kzt"] == 3  # tender, award and contract item of the dollar purchase
    assert summary["findings"] == 3 and summary["findings_ceiling"] == 1
    assert query(db, "SELECT unit, factor, known FROM price_units WHERE unit_name = 'т'") == [("кг", 1000.0, True)]


def test_unit_prices_take_the_contract_and_convert(store: tuple[Path, dict[str, Any]]) -> None:
    db, _ = store
    rows = query(db, "SELECT section, unit, quantity, unit_price, amount, region_code, year FROM unit_prices "
                     "WHERE ocid = 'ocds-ct-000'")
    assert rows == [("contract", "кг", 5000.0, 19_500.0, 5 * 19_500_000.0, "710000000", 2024)]
    assert query(db, "SELECT count(*) FROM unit_prices WHERE ocid = 'ocds-usd'") == [(0,)]


def _r7(values: list[float], q: float) -> float:
    return float(np.percentile(values, 100 * q))  # numpy's default is R-7, DuckDB's quantile_cont


@pytest.mark.parametrize("level", ["region-year", "country-year", "country"])
def test_benchmarks_are_the_quartiles(store: tuple[Path, dict[str, Any]], level: str) -> None:
    db, data = store
    paper = [*data["paper"], 5000.0]
    for code, unit, values in ((PAPER, "упак", paper), (COAL, "кг", data["coal_per_kg"])):
        (n, q1, median, q3, fence), = query(
            db, "SELECT n, q1, median, q3, upper_fence FROM price_benchmarks "
                "WHERE classification_id = ? AND unit = ? AND level = ?", [code, unit, level])
        assert n == len(values)
        assert (q1, median, q3) == pytest.approx((_r7(values, 0.25), _r7(values, 0.5), _r7(values, 0.75)))
        assert fence == pytest.approx(q3 * (q3 / q1) ** 1.5)


def test_findings_and_money_at_stake(store: tuple[Path, dict[str, Any]]) -> None:
    db, data = store
    rows = {r[0]: r[1:] for r in query(
        db, "SELECT ocid, basis, benchmark_price, benchmark_level, benchmark_n, quantity, money_at_stake "
            "FROM price_findings")}
    assert set(rows) == {"ocds-p-over", "ocds-ck-012", "ocds-m-over"}
    paper_median = _r7([*data["paper"], 5000.0], 0.5)
    assert rows["ocds-p-over"] == pytest.approx(
        ("benchmark", paper_median, "region-year", 31, 40.0, (5000.0 - paper_median) * 40))
    coal_median = _r7(data["coal_per_kg"], 0.5)
    assert rows["ocds-ck-012"] == pytest.approx(
        ("benchmark", coal_median, "region-year", 25, 1000.0, (60_000.0 - coal_median) * 1000))
    assert rows["ocds-m-over"] == pytest.approx(("ceiling", 13.6, "ceiling", None, 1000.0, (20.0 - 13.6) * 1000))
    (score,), = query(db, "SELECT match_score FROM price_findings WHERE ocid = 'ocds-m-over'")
    assert score >= 85


def test_small_samples_give_no_benchmark(tmp_path: Path) -> None:
    db, _ = build(tmp_path)
    res = run_cli(["prices", "run", "--db", db])  # the default needs 100 purchases
    assert res.code == 0, res.output
    assert query(db, "SELECT ocid, basis FROM price_findings") == [("ocds-m-over", "ceiling")]


def test_report_through_the_cli(store: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    db, _ = store
    out_csv, out_json = tmp_path / "r.csv", tmp_path / "r.json"
    res = run_cli(["prices", "report", "--db", db, "--region", "710000000", "--buyer", BUYER_BIN,
                   "--csv", out_csv, "--json", out_json])
    assert res.code == 0, res.output
    text = re.sub(r"\s+", " ", res.stdout)
    assert "3 purchases in 3 processes of 1 buyers" in text and "г.Астана" in text
    assert "Туркестан" not in text and "2. ocds-p-over (tender 2024-03-01), contract item 1" in res.stdout
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert [r["ocid"] for r in rows] == ["ocds-ck-012", "ocds-p-over", "ocds-m-over"]  # largest money first
    assert rows[2]["basis_text"].startswith("ceiling price of the Ministry of Health (Парацетамол, таблетка 500 мг")
    assert rows[1]["basis_text"].startswith("median of 31 purchases of this goods code per упак, г.Астана, in 2024")
    report = json.loads(out_json.read_text(encoding="utf-8"))
    total = sum(float(r["money_at_stake"]) for r in rows)
    assert f"money at stake {tenge(total)} KZT" in text
    assert report["totals"]["money_at_stake_kzt"] == pytest.approx(total)
    assert report["by_year"] == [{"year": 2024, "findings": 3, "money_at_stake_kzt": pytest.approx(total)}]

    res = run_cli(["prices", "report", "--db", db, "--region", "610000000"])
    assert res.code == 0 and "0 purchases" in res.stdout
    res = run_cli(["prices", "report", "--db", db, "--region", "61"])
    assert res.code == 2 and "KATO code has 9 digits" in res.stderr


def test_report_needs_a_run(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    ingest([write(tmp_path / "r.jsonl", jsonl([make_release("ocds-a")]))], db)
    res = run_cli(["prices", "report", "--db", db])
    assert res.code == 2 and "aiqyn prices run" in res.stderr
    res = run_cli(["prices", "report", "--db", tmp_path / "missing.duckdb"])
    assert res.code == 2 and "no store here" in res.stderr


SPARK_FUNCTIONS = {"CASE", "CAST", "COALESCE", "CONCAT", "COUNT", "EXISTS", "FLOOR", "LENGTH", "MAX", "MIN",
                   "NULLIF", "POWER", "ROW_NUMBER", "SUBSTRING", "TRIM"}


@pytest.mark.parametrize("table", ["unit_prices", "price_benchmarks", "price_findings"])
def test_queries_transpile_to_spark(table: str) -> None:
    sqlglot = pytest.importorskip("sqlglot")
    from sqlglot.errors import ErrorLevel

    sql = queries(PriceParams())[table]
    spark = sqlglot.transpile(sql, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE)[0]
    keywords = {"AS", "IN", "AND", "OR", "ON", "OVER", "BY", "SELECT", "WHERE", "FROM", "JOIN", "THEN", "ELSE", "WHEN",
                "NOT"}
    used = set(re.findall(r"\b([A-Z_]+)\s*\(", spark)) - keywords
    assert used <= SPARK_FUNCTIONS, sorted(used - SPARK_FUNCTIONS)


GOSZAKUP = Path(__file__).resolve().parents[2] / "shared" / "data" / "goszakup-ows-v3-samples"
GOSZAKUP = GOSZAKUP / "v3_plans_all_page.json"


@pytest.mark.skipif(not GOSZAKUP.exists(), reason="shared data folder not present")
def test_real_goszakup_plans(tmp_path: Path) -> None:
    """A real page of goszakup's annual plans: plan items priced, units by name or МКЕИ code, unknown codes
    reported, a medicine named without dosage not compared with a ceiling."""
    db = tmp_path / "gz.duckdb"
    ingest([GOSZAKUP], db)
    res = run_cli(["prices", "run", "--db", db, "--json"])
    assert res.code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["items"] == 500
    assert set(summary["unknown_units"]) <= {"MKEI 5111", "MKEI 5114", "MKEI 5156", "MKEI 881", "MKEI 980"}
    assert query(db, "SELECT DISTINCT section FROM unit_prices") == [("planning",)]
    assert query(db, "SELECT count(*) FROM unit_prices WHERE unit = 'шт'")[0][0] > 200
    assert query(db, "SELECT ref_id, unit_comparable FROM medicine_matches WHERE description = 'Парацетамол'") == [
        (None, False)]


SHARED_CEILINGS = GOSZAKUP.parents[1] / "kz-medicine-marginal-prices" / "mnn_price.json"


@pytest.mark.skipif(not SHARED_CEILINGS.exists(), reason="shared data folder not present")
def test_run_with_the_official_ceiling_list(tmp_path: Path) -> None:
    db, _ = build(tmp_path)
    res = run_cli(["prices", "run", "--db", db, "--min-sample", "10", "--ceilings", SHARED_CEILINGS])
    assert res.code == 0, res.output
    err = res.stderr.replace("\n", "")
    assert "mnn_price.json line 7290, field Предельная цена по МНН" in err and "is not a price" in err
    assert query(db, "SELECT count(*) FROM reference_prices") == [(1125,)]
    assert query(db, "SELECT count(*), min(line) FROM price_rejects WHERE source = 'reference_prices'") == [(1, 7290)]
    (ref, ceiling), = query(db, "SELECT f.ref_id, f.benchmark_price FROM price_findings f WHERE basis = 'ceiling'")
    assert ref.startswith("mnn_price.json:") and ceiling == pytest.approx(13.6)

    bad = write(tmp_path / "bad.json", '[{"АТХ Код": "A"}, ')
    res = run_cli(["prices", "run", "--db", db, "--ceilings", bad])
    assert res.code == 2 and f"{bad} line 1: not valid JSON" in res.stderr.replace("\n", "")
    assert query(db, "SELECT count(*) FROM price_runs WHERE status = 'running'") == [(0,)]
