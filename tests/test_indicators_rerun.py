"""What keeps a re-run of the flags cheap gives the same results: the collusion model's SQL read from its cache (keyed
by the model file and the code that writes it), the reference tables loaded from bound lists, the score's
explanations assembled from each component's JSON, and no heavy library imported by a run (issue 3)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from aiqyn.indicators import r055
from aiqyn.indicators.kz import load_reference_tables
from aiqyn.indicators.runner import ensure_tables
from aiqyn.scoring import load_weights
from aiqyn.scoring import score as sc
from aiqyn.store.db import open_store
from conftest import REPO_ROOT, flagged_store
from test_indicators_kz import cases


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return flagged_store(tmp_path_factory.mktemp("rerun"), cases())


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cache"
    monkeypatch.setenv("AIQYN_CACHE_DIR", str(folder))
    r055._model_sql.cache_clear()
    yield folder
    r055._model_sql.cache_clear()


def test_model_sql_is_cached_and_equal_to_the_rendered_one(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rendered = r055._render_model(r055._model_file(""))
    assert r055._model_sql("") == rendered
    (cached,) = cache.glob("collusion-model-sql-*.json")
    assert json.loads(cached.read_text(encoding="utf-8"))["sql"] == rendered

    def no_model(path: Path) -> dict[str, str]:
        raise AssertionError("the model was loaded although its SQL is cached")

    monkeypatch.setattr(r055, "_render_model", no_model)
    r055._model_sql.cache_clear()
    assert r055._model_sql("") == rendered


def test_model_sql_cache_follows_the_model_file(cache: Path, tmp_path: Path) -> None:
    shipped = r055._model_file("")
    other = tmp_path / "other.skops"
    shutil.copyfile(shipped, other)
    assert r055._cache_key(other) == r055._cache_key(shipped)
    with other.open("ab") as f:  # another model file: another key, so its own SQL
        f.write(b"\0")
    assert r055._cache_key(other) != r055._cache_key(shipped)


@pytest.mark.parametrize("damage", ["garbage", "wrong key", "missing part"])
def test_a_damaged_cache_is_rendered_again(cache: Path, damage: str) -> None:
    rendered = r055._model_sql("")
    (cached,) = cache.glob("collusion-model-sql-*.json")
    content: Any = json.loads(cached.read_text(encoding="utf-8"))
    if damage == "garbage":
        cached.write_text("{not json", encoding="utf-8")
    elif damage == "wrong key":
        content["sql"]["model_raw"] = "0.0"
        content["key"] = "0" * 64
        cached.write_text(json.dumps(content), encoding="utf-8")
    else:
        del content["sql"]["model_calibration"]
        cached.write_text(json.dumps(content), encoding="utf-8")
    r055._model_sql.cache_clear()
    assert r055._model_sql("") == rendered
    assert json.loads(cached.read_text(encoding="utf-8"))["sql"] == rendered  # and written again


def test_an_unwritable_cache_only_costs_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("AIQYN_CACHE_DIR", str(blocker / "cache"))  # under a file: cannot be created
    r055._model_sql.cache_clear()
    try:
        assert r055._model_sql("") == r055._render_model(r055._model_file(""))
    finally:
        r055._model_sql.cache_clear()


def test_reference_tables_hold_the_shipped_files(tmp_path: Path) -> None:
    con = open_store(tmp_path / "s.duckdb")
    ensure_tables(con)
    load_reference_tables(con)
    load_reference_tables(con)  # reloaded, not appended
    root = REPO_ROOT / "src" / "aiqyn" / "reference"
    with (root / "kz_non_working_days.csv").open(encoding="utf-8") as f:
        days = [(r["date"], r["kind"], r["name"]) for r in csv.DictReader(f)]
    got = con.execute("SELECT CAST(date AS VARCHAR), kind, name FROM kz_non_working_days").fetchall()
    assert got == days and len(days) > 1000
    with (root / "medicine_ceiling_prices.csv").open(encoding="utf-8") as f:
        prices = [(r["atc"], r["inn"], r["characteristic"], r["unit"], float(r["ceiling_price_kzt"]))
                  for r in csv.DictReader(f)]
    got = con.execute("SELECT atc, inn, characteristic, unit, ceiling_price_kzt "
                      "FROM medicine_ceiling_prices").fetchall()
    assert got == prices and len(prices) > 1000


# The explanation as the score computed it before it was assembled from each component's JSON text: DuckDB's JSON of
# the ordered list of the components' structs. The two must give the same text.
_LIST_OF_STRUCTS = """explained AS (
  SELECT subject_type, subject_id, sum(weight * value / total) AS score,
    sum(CASE WHEN subject_type = 'process' THEN 1 ELSE coalesce(n_flagged, 0)
             + CASE WHEN own_evidence IS NULL THEN 0 ELSE 1 END END) AS n_flags,
    to_json(list({'code': code, 'title': title, 'weight': weight, 'value': value,
                  'contribution': weight * value / total,
                  'flagged_processes': CASE WHEN subject_type = 'process' THEN NULL ELSE coalesce(n_flagged, 0) END,
                  'examples': CASE WHEN subject_type = 'process' THEN NULL ELSE examples END,
                  'evidence': CAST(coalesce(own_evidence, CASE WHEN subject_type = 'process'
                                                               THEN process_evidence END) AS JSON)}
                 ORDER BY weight * value DESC, code)) AS explanation
  FROM valued GROUP BY subject_type, subject_id
)
"""


def test_explanations_are_the_json_of_the_ordered_components(store: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copyfile(store, db)
    con = duckdb.connect(str(db))
    (run_id,) = con.execute("SELECT run_id FROM flag_runs WHERE status = 'complete' "
                            "ORDER BY started_at DESC LIMIT 1").fetchone()  # type: ignore[misc]
    sc._weights_table(con, run_id, load_weights(None))
    con.execute(sc.MEMBERS)
    select = sc.SCORE.replace("INSERT INTO scores", "", 1)
    start, end = select.index("-- each component's explanation"), select.index("SELECT $run_id")
    reference = select[:start] + _LIST_OF_STRUCTS + select[end:]
    assert reference != select
    # the score (4th column) is a sum whose order DuckDB's threads may change in the last bit: compared rounded
    rows = [[(*r[:3], round(r[3], 12), *r[4:]) for r in
             con.execute(f"SELECT * FROM ({q}) ORDER BY 2, 3", {"run_id": run_id}).fetchall()]
            for q in (select, reference)]
    assert rows[0] == rows[1]
    parts = [json.loads(r[-1]) for r in rows[0]]
    assert sum(len(p) > 1 for p in parts) > 10  # several components in order, not only single ones
    assert any(c.get("evidence") for p in parts for c in p)


def test_a_rerun_imports_no_heavy_library(store: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copyfile(store, db)
    script = f"""
import sys
import aiqyn.cli
import duckdb
from aiqyn.indicators.runner import run
from aiqyn.indicators.settings import default_settings
from aiqyn.scoring import load_weights, score_run
con = duckdb.connect({str(db)!r})
settings = default_settings()
result = run(con, settings)
score_run(con, result.run_id, load_weights(None, base=settings.weights))
print(sorted(m for m in ("pandas", "sklearn", "skops", "networkx") if m in sys.modules))
"""
    env = {**os.environ, "AIQYN_CACHE_DIR": str(tmp_path / "cache")}
    first, second = (subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                                    check=True).stdout.strip() for _ in range(2))
    assert "sklearn" in first  # the model, loaded once to write its SQL
    assert second == "[]"
