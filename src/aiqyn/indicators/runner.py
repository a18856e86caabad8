"""Running indicators over the store, and reading their flags back.

Python orchestrates only: it binds each indicator's parameters and runs its query inside DuckDB, which writes
the rows into `flags`; the run and its settings go to `flag_runs`. A run is one transaction: interrupted, it
leaves no flags behind (its `flag_runs` row says `interrupted`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from aiqyn.indicators.base import SUBJECT_TYPES, used_parameters
from aiqyn.indicators.kz import load_reference_tables
from aiqyn.indicators.registry import REGISTRY
from aiqyn.indicators.settings import Settings
from aiqyn.indicators.shared import plan_run, plan_statement
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
class Step:
    """One step of a run, timed: an indicator (its code) or a CTE shared by several (`shared NAME`)."""

    label: str
    wall: float  # seconds
    cpu: float  # seconds of CPU of the whole process (DuckDB's threads included)
    rows: int  # flags written, or rows of the shared CTE


@dataclass
class RunResult:
    run_id: str
    counts: dict[str, int]  # flags per indicator
    meta: dict[str, dict[str, float | None]]
    steps: list[Step] = field(default_factory=list)


# An indicator with statistics (`meta`) runs its flags and its statistics as one statement, so that the CTEs both
# read are computed once; the rows go through a temporary table, the flags to `flags`, the statistics to the run.
_COMBINED = """SELECT 0 AS part, subject_type, subject_id, CAST(value AS DOUBLE) AS value,
  CAST(evidence AS VARCHAR) AS evidence, CAST(NULL AS VARCHAR) AS meta_key, CAST(NULL AS DOUBLE) AS meta_value
FROM _aiqyn_flags
UNION ALL
SELECT 1, NULL, NULL, NULL, NULL, CAST(key AS VARCHAR), CAST(value AS DOUBLE) FROM _aiqyn_meta"""

_INSERT = ("INSERT INTO flags SELECT $run_id, $code, subject_type, subject_id, CAST(value AS DOUBLE), "
           "CAST(evidence AS VARCHAR) FROM ")


def run(con: duckdb.DuckDBPyConnection, settings: Settings,
        progress: Callable[[str, int, int], None] | None = None) -> RunResult:
    """Compute every indicator of the settings; `progress(code, done, total)` after each one.

    The CTEs that several indicators of the run compute alike are computed once (aiqyn.indicators.shared)."""
    ensure_tables(con)
    load_reference_tables(con)
    run_id = f"flags-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    codes = list(settings.indicators)
    con.execute("INSERT INTO flag_runs VALUES (?, now(), NULL, ?, ?, ?, ?, NULL, 'running')",
                [run_id, settings.mode, settings.source, json.dumps(settings.as_dict()), codes])
    counts: dict[str, int] = {}
    meta: dict[str, dict[str, float | None]] = {}
    steps: list[Step] = []
    common = {**global_bindings(settings), "run_id": run_id}
    values_of: dict[str, dict[str, Any]] = {}
    statements = []
    planned: dict[str, tuple[float, float]] = {}  # the time of binding and rendering each query, counted in its step
    for code, params in settings.indicators.items():
        wall, cpu = time.perf_counter(), time.process_time()
        indicator = REGISTRY[code]
        values_of[code] = {**common, **indicator.bindings(params), "code": code}
        statements.append(plan_statement(code, indicator, params, values_of[code]))
        planned[code] = (time.perf_counter() - wall, time.process_time() - cpu)
    plan = plan_run(statements)
    con.execute("BEGIN TRANSACTION")
    try:
        for done, st in enumerate(plan.statements, start=1):
            values = values_of[st.code]
            for i in plan.pending(st):
                wall, cpu = time.perf_counter(), time.process_time()
                table = f"_aiqyn_cte_{len(plan.tables)}"
                sql = f"CREATE OR REPLACE TEMP TABLE {table} AS " + plan.sql(st, f"SELECT * FROM {st.ctes[i].name}",
                                                                             upto=i)
                con.execute(sql, used_parameters(sql, values))
                plan.tables[st.keys[i]] = table
                rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
                steps.append(Step(f"shared {st.ctes[i].name}", time.perf_counter() - wall,
                                  time.process_time() - cpu, int(rows)))
            wall, cpu = time.perf_counter(), time.process_time()
            if st.meta is None:
                sql = _INSERT + "(\n" + plan.sql(st, st.select) + "\n) q"
                counts[st.code] = int(con.execute(sql, used_parameters(sql, values)).fetchone()[0])  # type: ignore[index]
            else:
                sql = "CREATE OR REPLACE TEMP TABLE _aiqyn_rows AS " + plan.sql(
                    st, _COMBINED, extra=(f"_aiqyn_flags AS (\n{st.select}\n)", f"_aiqyn_meta AS (\n{st.meta}\n)"))
                con.execute(sql, used_parameters(sql, values))
                insert = _INSERT + "_aiqyn_rows WHERE part = 0"
                counts[st.code] = int(con.execute(insert, used_parameters(insert, values))
                                      .fetchone()[0])  # type: ignore[index]
                rows = con.execute("SELECT meta_key, meta_value FROM _aiqyn_rows WHERE part = 1").fetchall()
                meta[st.code] = {str(key): (None if value is None else float(value)) for key, value in rows}
                con.execute("DROP TABLE _aiqyn_rows")
            steps.append(Step(st.code, time.perf_counter() - wall + planned[st.code][0],
                              time.process_time() - cpu + planned[st.code][1], counts[st.code]))
            if progress is not None:
                progress(st.code, done, len(codes))
        for table in plan.tables.values():
            con.execute(f"DROP TABLE {table}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")  # the temporary tables go with it
        con.execute("UPDATE flag_runs SET status = 'interrupted', finished_at = now() WHERE run_id = ?", [run_id])
        raise
    con.execute("UPDATE flag_runs SET status = 'complete', finished_at = now(), meta = ? WHERE run_id = ?",
                [json.dumps(meta), run_id])
    return RunResult(run_id, counts, meta, steps)


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
