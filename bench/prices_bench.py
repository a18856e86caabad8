"""Benchmark of `aiqyn prices run` on millions of items, against the bare cost of scanning them.

Builds a scratch store with N synthetic items (default 10M) written by DuckDB straight into the canonical
`processes`, `contracts` and `items` tables (no JSON, no ingest: what is measured is the price analytics),
then times in the same run:

- the bare scan of the items (`SELECT count(*), sum(quantity * unit_price), count(DISTINCT classification_id)`);
- `aiqyn prices run` step by step: reference prices, units, medicine matching, unit prices, benchmarks,
  findings;

and prints a Markdown table for bench/README.md. The items: 2,000 goods codes (20 of them ATC-coded
medicines with descriptions from the ceiling list), 17 regions, 4 years, units in several spellings (шт,
упак, кг, т, л, мл, м2, and an unknown one), log-normal prices, 1% of them bought at 2.5x.

    .venv/bin/python bench/prices_bench.py --items 10000000
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

from aiqyn.prices.run import run
from aiqyn.prices.sql import PriceParams
from aiqyn.reference import medicines
from aiqyn.store.db import open_store

ROOT = Path(__file__).resolve().parent


def build(path: Path, n_items: int, items_per_process: int = 2) -> float:
    if path.exists():
        path.unlink()
    con = open_store(path)
    t = time.perf_counter()
    n_proc = n_items // items_per_process
    regions = [f"{r:02d}0000000" for r in (10, 11, 15, 19, 23, 27, 31, 33, 35, 39, 43, 47, 55, 59, 61, 63, 71)]
    con.execute("CREATE TEMP TABLE regions AS SELECT unnest(?) AS kato, generate_subscripts(?, 1) - 1 AS i",
                [regions, regions])
    meds = list(medicines())[:20]
    con.execute("CREATE TEMP TABLE meds (i INTEGER, atc VARCHAR, descr VARCHAR, unit VARCHAR, price DOUBLE)")
    con.executemany("INSERT INTO meds VALUES (?, ?, ?, ?, ?)",
                    [(i, m.atc, f"{m.inn}, {m.characteristic}"[:200], m.unit, m.ceiling_price)
                     for i, m in enumerate(meds)])
    con.execute(f"""
        INSERT INTO processes (ocid, status, buyer_id, region_code, year)
        SELECT 'ocds-bench-' || p, 'complete', 'KZ-BIN-' || lpad(CAST(p % 50000 AS VARCHAR), 12, '0'),
               (SELECT kato FROM regions WHERE i = p % 17), 2022 + CAST(p % 4 AS INTEGER)
        FROM range({n_proc}) t(p)""")
    con.execute(f"""
        INSERT INTO contracts (ocid, position, contract_id, status)
        SELECT 'ocds-bench-' || p, 0, 'c-' || p, 'active' FROM range({n_proc}) t(p)""")
    # Each item: a goods code, a unit spelling (with its factor), a log-normal price around the code's own level.
    con.execute(f"""
        INSERT INTO items (ocid, section, parent_id, position, item_id, description, classification_scheme,
                           classification_id, quantity, unit_name, unit_price, unit_currency)
        WITH raw AS (
          SELECT k, k // {items_per_process} AS p, k % {items_per_process} AS pos, hash(k) % 2000 AS code,
                 random() AS u1, random() AS u2, random() AS u3
          FROM range({n_items}) t(k)
        ),
        priced AS (
          SELECT *, sqrt(-2 * ln(greatest(u1, 1e-12))) * cos(2 * pi() * u2) AS z,
                 CASE code % 7 WHEN 0 THEN 'т' WHEN 1 THEN 'кг' WHEN 2 THEN 'шт' WHEN 3 THEN 'Упак.'
                               WHEN 4 THEN 'л' WHEN 5 THEN 'мл' ELSE 'м2' END AS unit0
          FROM raw
        )
        SELECT 'ocds-bench-' || p, 'contract', 'c-' || p, pos, CAST(pos + 1 AS VARCHAR),
               CASE WHEN code < 20 THEN m.descr ELSE 'Товар ' || code END,
               CASE WHEN code < 20 THEN 'ATC' ELSE 'ENSTRU' END,
               CASE WHEN code < 20 THEN m.atc ELSE printf('%06d', code) || '.000.000001' END,
               1 + floor(u3 * 500),
               CASE WHEN code < 20 THEN m.unit WHEN k % 1000 = 0 THEN 'бочка' ELSE unit0 END,
               round((CASE WHEN code < 20 THEN m.price * 0.8 ELSE 50 + code * 37 END)
                     * exp(0.2 * z) * (CASE WHEN hash(k * 7) % 100 = 0 THEN 2.5 ELSE 1 END)
                     * (CASE WHEN code >= 20 AND unit0 = 'т' THEN 1000 WHEN code >= 20 AND unit0 = 'мл'
                             THEN 0.001 ELSE 1 END), 2),
               'KZT'
        FROM priced LEFT JOIN meds m ON m.i = priced.code
    """)
    con.execute("CHECKPOINT")
    con.close()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=10_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "prices")
    ap.add_argument("--keep", action="store_true", help="Reuse the scratch store when it exists.")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"prices_{args.items}.duckdb"
    if not (args.keep and path.exists()):
        secs = build(path, args.items)
        print(f"built {args.items:,} items in {secs:.1f} s: {path} ({path.stat().st_size / 2**20:,.0f} MiB)",
              file=sys.stderr)
    con = open_store(path)
    t, c = time.perf_counter(), time.process_time()
    n, _amount, codes = con.execute(
        "SELECT count(*), sum(quantity * unit_price), count(DISTINCT classification_id) FROM items").fetchone()
    bare, bare_cpu = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    summary = run(con, PriceParams())
    total, total_cpu = time.perf_counter() - t, time.process_time() - c
    findings = summary.findings
    con.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()
    print(f"{platform.node()}: {os.cpu_count()} cores, load {load[0]:.1f}; {n:,} items, {codes:,} goods codes; "
          f"{findings:,} findings; peak RSS {peak:,.0f} MiB; DuckDB threads default")
    print()
    print("| step | wall s | x bare (wall) | CPU s | x bare (CPU) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| bare scan of the items: count, sum(quantity × price), distinct codes | {bare:.2f} | 1.0 "
          f"| {bare_cpu:.2f} | 1.0 |")
    for step, s in summary.seconds.items():
        c = summary.cpu_seconds.get(step)
        cpu = f"{c:.2f} | {c / bare_cpu:.1f}" if c is not None else "- | -"
        print(f"| {step} | {s:.2f} | {s / bare:.1f} | {cpu} |")
    print(f"| **aiqyn prices run, total** | **{total:.2f}** | **{total / bare:.1f}** | **{total_cpu:.2f}** "
          f"| **{total_cpu / bare_cpu:.1f}** |")


if __name__ == "__main__":
    main()
