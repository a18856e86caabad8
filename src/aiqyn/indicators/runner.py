"""Running indicators over the store, and reading their flags back.

Python orchestrates only: it binds each indicator's parameters and runs its query inside DuckDB, which writes
the rows into `flags`; the run and its settings go to `flag_runs`. A run is one transaction: interrupted, it
leaves no flags behind (its `flag_runs` row says `interrupted`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from aiqyn.indicators.base import SUBJECT_TYPES, used_parameters
from aiqyn.indicators.kz import load_reference_tables
from aiqyn.indicators.registry import REGISTRY
from aiqyn.indicators.settings import Settings
from aiqyn.store.schema import SCHEMA


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the analytic output tables of schema.yaml (flags, flag_runs) when missing."""
    for table in SCHEMA.outputs.values():
        con.execute(table.ddl())


def global_bindings(settings: Settings) -> dict[str, Any]:
    g = settings.globals
    return {
        "cardinal": settings.cardinal,
        "currency": g.currency,
        "excluded_details": list(g.excluded_procurement_method_details),
        "price_methods": list(g.price_comparison_procurement_methods),
        "no_price_methods": list(g.no_price_comparison_procurement_methods),
        "has_price_methods": bool(g.price_comparison_procurement_methods),
    }


@dataclass
class RunResult:
    run_id: str
    counts: dict[str, int]  # flags per indicator
    meta: dict[str, dict[str, float | None]]


def run(con: duckdb.DuckDBPyConnection, settings: Settings,
        progress: Callable[[str, int, int], None] | None = None) -> RunResult:
    """Compute every indicator of the settings; `progress(code, done, total)` after each one."""
    ensure_tables(con)
    load_reference_tables(con)
    run_id = f"flags-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    codes = list(settings.indicators)
    con.execute("INSERT INTO flag_runs VALUES (?, now(), NULL, ?, ?, ?, ?, NULL, 'running')",
                [run_id, settings.mode, settings.source, json.dumps(settings.as_dict()), codes])
    counts: dict[str, int] = {}
    meta: dict[str, dict[str, float | None]] = {}
    common = {**global_bindings(settings), "run_id": run_id}
    con.execute("BEGIN TRANSACTION")
    try:
        for done, (code, params) in enumerate(settings.indicators.items(), start=1):
            indicator = REGISTRY[code]
            values = {**common, **indicator.bindings(params), "code": code}
            sql = ("INSERT INTO flags SELECT $run_id, $code, subject_type, subject_id, CAST(value AS DOUBLE), "
                   f"CAST(evidence AS VARCHAR) FROM (\n{indicator.query(params)}\n) q")
            con.execute(sql, used_parameters(sql, values))
            counts[code] = con.execute("SELECT count(*) FROM flags WHERE run_id = ? AND code = ?",
                                       [run_id, code]).fetchone()[0]  # type: ignore[index]
            meta_sql = indicator.meta_query(params)
            if meta_sql is not None:
                rows = con.execute(meta_sql, used_parameters(meta_sql, values)).fetchall()
                meta[code] = {str(key): (None if value is None else float(value)) for key, value in rows}
            if progress is not None:
                progress(code, done, len(codes))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        con.execute("UPDATE flag_runs SET status = 'interrupted', finished_at = now() WHERE run_id = ?", [run_id])
        raise
    con.execute("UPDATE flag_runs SET status = 'complete', finished_at = now(), meta = ? WHERE run_id = ?",
                [json.dumps(meta), run_id])
    return RunResult(run_id, counts, meta)


def latest_run(con: duckdb.DuckDBPyConnection) -> str | None:
    """The id of the newest complete run, None when there is none."""
    if not _has_tables(con):
        return None
    row = con.execute("SELECT run_id FROM flag_runs WHERE status = 'complete' "
                      "ORDER BY started_at DESC, run_id DESC LIMIT 1").fetchone()
    return None if row is None else str(row[0])


def _has_tables(con: duckdb.DuckDBPyConnection) -> bool:
    names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    return set(SCHEMA.outputs) <= names


def run_info(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any] | None:
    row = con.execute("SELECT run_id, started_at, finished_at, mode, settings_file, settings, codes, meta, status "
                      "FROM flag_runs WHERE run_id = ?", [run_id]).fetchone()
    if row is None:
        return None
    keys = ["run_id", "started_at", "finished_at", "mode", "settings_file", "settings", "codes", "meta", "status"]
    info = dict(zip(keys, row, strict=True))
    info["settings"] = json.loads(info["settings"]) if info["settings"] else {}
    info["meta"] = json.loads(info["meta"]) if info["meta"] else {}
    return info


def _round(value: float | None) -> float | None:
    # Cardinal rounds its Meta values to 4 decimals, half away from zero; NaN (no data) is written null.
    if value is None:
        return None
    scaled = value * 10_000.0
    return float(int(scaled + (0.5 if scaled >= 0 else -0.5))) / 10_000.0


def cardinal_output(con: duckdb.DuckDBPyConnection, run_id: str, with_meta: bool = True) -> dict[str, Any]:
    """The JSON object Cardinal's `indicators` command writes for the same data and settings: groups OCID,
    Buyer, ProcuringEntity, Tenderer (each keyed by identifier, then by indicator code), and `Meta`."""
    rows = con.execute("""
        SELECT subject_type, CAST(json_group_object(subject_id, results) AS VARCHAR) FROM (
          SELECT subject_type, subject_id, json_group_object(code, value) AS results
          FROM flags WHERE run_id = ? GROUP BY subject_type, subject_id
        ) GROUP BY subject_type""", [run_id]).fetchall()
    by_type = {subject_type: json.loads(text) for subject_type, text in rows}
    out: dict[str, Any] = {SUBJECT_TYPES[t]: by_type[t] for t in SUBJECT_TYPES if t in by_type}
    if with_meta:
        info = run_info(con, run_id) or {}
        out["Meta"] = {code: {key: _round(value) for key, value in values.items()}
                       for code, values in (info.get("meta") or {}).items()}
    return out
