"""Comparing the results of the two engines: a DuckDB store's run against a Spark run's output directory.

Used by the equality test (tests/test_spark_engine.py) and by bench/spark_bench.py. Rows are matched by their
key; values are compared exactly, except floating-point numbers, which may differ in their last bits because the
engines add in different orders: they are equal when within a relative tolerance of 1e-9 (absolute 1e-12 near
zero). Evidence and explanations are JSON: compared as parsed values (key order and number formatting do not
matter, list order does).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import duckdb

REL_TOL = 1e-9
ABS_TOL = 1e-12

# The key of each result table, and its JSON columns.
KEYS = {
    "flags": ("code", "subject_type", "subject_id"),
    "scores": ("subject_type", "subject_id"),
    "region_index": ("level", "kato", "period", "quarter"),
}
JSON_COLUMNS = {"flags": ("evidence",), "scores": ("explanation",), "region_index": ()}
IGNORED = {"flags": ("run_id",), "scores": ("run_id",), "region_index": ()}


def same(a: Any, b: Any, path: str = "") -> list[str]:
    """The differences between two values (empty when equal within the tolerance)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return [] if a == b else [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return []
        return [] if math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL) else [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}: only in one ({a.get(k, b.get(k))!r})" for k in sorted(set(a) ^ set(b))]
        for k in sorted(set(a) & set(b)):
            out += same(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items != {len(b)} items ({a!r} != {b!r})"]
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += same(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def _rows(con: duckdb.DuckDBPyConnection, table: str, sql: str, params: list[Any]) -> dict[tuple[Any, ...], dict]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    out: dict[tuple[Any, ...], dict] = {}
    for row in cur.fetchall():
        rec = dict(zip(names, row, strict=True))
        for c in IGNORED[table]:
            rec.pop(c, None)
        for c in JSON_COLUMNS[table]:
            rec[c] = None if rec[c] is None else json.loads(rec[c])
        key = tuple(rec[k] for k in KEYS[table])
        if key in out:
            raise ValueError(f"{table}: key {key} twice")
        out[key] = rec
    return out


def store_results(db: Path, run_id: str | None = None) -> dict[str, dict[tuple[Any, ...], dict]]:
    """flags and scores of a run (default: the latest) and region_index of a DuckDB store, keyed."""
    from aiqyn.store.db import connect

    con = connect(db, read_only=True)
    try:
        if run_id is None:
            row = con.execute("SELECT run_id FROM flag_runs WHERE status = 'complete' "
                              "ORDER BY started_at DESC, run_id DESC LIMIT 1").fetchone()
            run_id = None if row is None else str(row[0])
        if run_id is None:
            raise ValueError(f"{db}: no flags run")
        return {
            "flags": _rows(con, "flags", "SELECT * FROM flags WHERE run_id = ?", [run_id]),
            "scores": _rows(con, "scores", "SELECT * FROM scores WHERE run_id = ?", [run_id]),
            "region_index": _rows(con, "region_index", "SELECT * FROM region_index", []),
        }
    finally:
        con.close()


def spark_results(out: Path) -> dict[str, dict[tuple[Any, ...], dict]]:
    """The same tables from a Spark run's output directory (read with DuckDB)."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    try:
        found = {}
        for table in KEYS:
            folder = out / table
            if not folder.exists():
                continue
            glob = str(folder / "**" / "*.parquet").replace("'", "''")
            found[table] = _rows(con, table, f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true)", [])
        return found
    finally:
        con.close()


def differences(left: dict[str, dict[tuple[Any, ...], dict]], right: dict[str, dict[tuple[Any, ...], dict]],
                limit: int = 20) -> dict[str, list[str]]:
    """Per table, the keys missing on either side and the values that differ (at most `limit` per table)."""
    out: dict[str, list[str]] = {}
    for table in KEYS:
        a, b = left.get(table, {}), right.get(table, {})
        diffs = [f"{k}: only in the first" for k in sorted(set(a) - set(b), key=str)]
        diffs += [f"{k}: only in the second" for k in sorted(set(b) - set(a), key=str)]
        for k in sorted(set(a) & set(b), key=str):
            diffs += [f"{k}{d}" for d in same(a[k], b[k])]
            if len(diffs) > limit:
                break
        if diffs:
            out[table] = diffs[:limit]
    return out
