"""`aiqyn prices run`: reference prices, unit normalisation, medicine matching, benchmarks and findings.

Every output table is rewritten by a run (citizens' reports are kept: they are imported, not computed).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from aiqyn.prices.references import MedicineMatcher, ReferencePrice, Reject, load_reference_prices
from aiqyn.prices.sql import UNIT_NAME, PriceParams, queries
from aiqyn.prices.units import normalise, unit_key
from aiqyn.store.schema import SCHEMA

# Rewritten by each run, in the order they are filled.
RUN_TABLES = ("price_units", "reference_prices", "medicine_matches", "unit_prices", "price_benchmarks",
              "price_findings")
# Items that may be medicines: classified by ATC, or by ENSTRU (KTRU) group 21.20, pharmaceutical preparations.
MEDICINE_FILTER = "(classification_scheme = 'ATC' OR classification_id LIKE '2120%')"


def one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
    """The single row of an aggregate query."""
    row = con.execute(sql, params or []).fetchone()
    if row is None:  # an aggregate always returns a row
        raise RuntimeError(f"no row from {sql[:60]!r}")
    return row


def ensure_tables(con: duckdb.DuckDBPyConnection, names: Sequence[str]) -> None:
    for name in names:
        con.execute(SCHEMA.outputs[name].ddl())


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence[Any]]) -> None:
    """Insert Python rows into an output table, column by column as declared in schema.yaml."""
    columns = SCHEMA.outputs[table].column_names
    if not rows:
        return
    data = pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})
    con.register("_rows", data)
    try:
        names = ", ".join(f'"{c}"' for c in columns)
        con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _rows")
    finally:
        con.unregister("_rows")


def record_rejects(con: duckdb.DuckDBPyConnection, source: str, rejects: Sequence[Reject]) -> None:
    now = dt.datetime.now(dt.UTC)
    insert_rows(con, "price_rejects",
                [(source, r.source_file, r.line, r.field, r.reason, r.raw, now) for r in rejects])


def store_reference_prices(con: duckdb.DuckDBPyConnection, prices: Sequence[ReferencePrice],
                           rejects: Sequence[Reject]) -> None:
    ensure_tables(con, ("reference_prices", "price_rejects"))
    con.execute("DELETE FROM reference_prices")
    con.execute("DELETE FROM price_rejects WHERE source = 'reference_prices'")
    insert_rows(con, "reference_prices", [(p.ref_id, p.source_file, p.line, p.atc, p.inn, p.characteristic,
                                           p.unit_name, p.price_kzt) for p in prices])
    record_rejects(con, "reference_prices", rejects)


def stored_reference_prices(con: duckdb.DuckDBPyConnection) -> list[ReferencePrice]:
    ensure_tables(con, ("reference_prices",))
    rows = con.execute("SELECT ref_id, source_file, line, atc, inn, characteristic, unit_name, price_kzt "
                       "FROM reference_prices ORDER BY source_file, line").fetchall()
    return [ReferencePrice(*r) for r in rows]


def ceiling_for(ref: ReferencePrice, unit_name: str | None) -> float | None:
    """The ceiling per base unit of `unit_name`, when the item's unit is one the ceiling is set for."""
    if unit_key(unit_name or "") == unit_key(ref.unit_name):
        return ref.price_kzt / normalise(unit_name).factor  # the very unit of the list, known or not
    item = normalise(unit_name)
    for u in ref.units():
        if u.unit and u.unit == item.unit:
            return ref.price_kzt / u.factor
    return None


@dataclass
class RunSummary:
    run_id: str
    reference_file: str
    reference_prices: int
    reference_rejects: list[Reject]
    items: int
    unknown_units: dict[str, int]
    not_kzt: int
    medicine_descriptions: int
    medicine_matched: int
    benchmarks: int
    findings: int
    findings_ceiling: int
    money_at_stake: float
    params: PriceParams
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per step
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # CPU time (all threads) per step

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reference_rejects"] = [asdict(r) for r in self.reference_rejects]
        return d


def run(con: duckdb.DuckDBPyConnection, params: PriceParams | None = None,
        ceilings: Path | None = None) -> RunSummary:
    """Compute unit prices, benchmarks and findings in the store behind `con`."""
    params = params or PriceParams()
    params.check()
    for table in ("items", "processes", "contracts", "awards"):
        if not one(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table])[0]:
            raise ValueError(f"the store has no `{table}` table: ingest procurement data first (aiqyn ingest)")
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    t = time.perf_counter()
    prices, rejects = load_reference_prices(ceilings)  # a file that cannot be read stops here, nothing written
    run_id = uuid.uuid4().hex[:12]
    ensure_tables(con, ("price_runs", "price_rejects"))
    con.execute("INSERT INTO price_runs (run_id, started_at, params, status) VALUES (?, ?, ?, 'running')",
                [run_id, dt.datetime.now(dt.UTC), json.dumps(asdict(params))])
    reference_file = prices[0].source_file if prices else str(ceilings or "")
    store_reference_prices(con, prices, rejects)
    seconds["reference_prices"] = time.perf_counter() - t

    con.execute("BEGIN")
    try:
        for name in RUN_TABLES:
            if name != "reference_prices":
                con.execute(f"DROP TABLE IF EXISTS {name}")
                ensure_tables(con, (name,))
        t = time.perf_counter()
        published = UNIT_NAME.format(t="items")
        units = con.execute(f"SELECT {published}, count(*) FROM items GROUP BY ALL").fetchall()
        unit_rows = []
        for name, n in units:
            u = normalise(name)
            unit_rows.append((name, u.unit, u.factor, u.known, n))
        insert_rows(con, "price_units", unit_rows)
        seconds["units"] = time.perf_counter() - t

        t = time.perf_counter()
        matcher = MedicineMatcher(prices, params.match_score)
        candidates = con.execute(
            f"SELECT DISTINCT classification_scheme, classification_id, description, {published} "
            f"FROM items WHERE {MEDICINE_FILTER} AND classification_id IS NOT NULL AND description IS NOT NULL"
        ).fetchall()
        match_rows: list[tuple[Any, ...]] = []
        cache: dict[tuple[str, str], Any] = {}
        for scheme, code, description, unit_name in candidates:
            key = (code if scheme == "ATC" else "", description)
            if key not in cache:
                cache[key] = matcher.match(description, code if scheme == "ATC" else None)
            m = cache[key]
            if m is not None and m.ambiguous:  # no dosage in the description: which ceiling is unknown
                match_rows.append((code, description, unit_name, None, m.score, False, None))
                continue
            ceiling = ceiling_for(m.ref, unit_name) if m else None
            match_rows.append((code, description, unit_name, m.ref.ref_id if m else None, m.score if m else None,
                               ceiling is not None, ceiling))
        insert_rows(con, "medicine_matches", match_rows)
        seconds["medicine_matches"] = time.perf_counter() - t

        for table, sql in queries(params).items():
            t, c = time.perf_counter(), time.process_time()
            names = ", ".join(f'"{c}"' for c in SCHEMA.outputs[table].column_names)
            con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM ({sql})")
            seconds[table] = time.perf_counter() - t
            cpu[table] = time.process_time() - c

        items = one(con, "SELECT count(*) FROM unit_prices")[0]
        unknown = dict(con.execute(
            "SELECT u.unit_name, count(*) AS n FROM unit_prices u JOIN price_units pu ON pu.unit_name = u.unit_name "
            "WHERE NOT pu.known GROUP BY 1 ORDER BY n DESC, 1").fetchall())
        not_kzt = one(con, "SELECT count(*) FROM items WHERE unit_price > 0 "
                              "AND coalesce(unit_currency, '') <> 'KZT'")[0]
        n_findings, n_ceiling, money = one(con,
            "SELECT count(*), count(*) FILTER (WHERE basis = 'ceiling'), coalesce(sum(money_at_stake), 0) "
            "FROM price_findings")
        benchmarks = one(con, "SELECT count(*) FROM price_benchmarks")[0]
        con.execute("UPDATE price_runs SET finished_at = ?, reference_file = ?, items = ?, unknown_units = ?, "
                    "status = 'complete' WHERE run_id = ?",
                    [dt.datetime.now(dt.UTC), reference_file, items, json.dumps(unknown, ensure_ascii=False),
                     run_id])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        con.execute("UPDATE price_runs SET status = 'interrupted' WHERE run_id = ?", [run_id])
        raise
    return RunSummary(run_id, reference_file, len(prices), rejects, items, unknown, not_kzt, len(match_rows),
                      sum(1 for r in match_rows if r[3] is not None), benchmarks, n_findings, n_ceiling,
                      float(money), params, seconds, cpu)
