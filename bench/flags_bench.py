"""Red-flag benchmark: a first run (ingest + every flag) and a re-run of every flag, against references.

Usage: python bench/flags_bench.py [--tenders N] [--seed S] [--cardinal-python PATH]

Uses the compiled releases of bench/out/N (generated once, as bench/ingest_bench.py does) and measures in
one run, each step as a process of its own:
  1. the bare parse: SELECT count(*) FROM read_json(file) in DuckDB;
  2. Cardinal's `coverage` (the `ocdscardinal` PyPI package, which exposes only that command: it reads and
     walks every release in Rust, a floor under what Cardinal's `indicators` costs on the same file), when a
     Python with ocdscardinal is given;
  3. aiqyn ingest into a new store, then aiqyn flags run (every indicator with its defaults, then the scores):
     the first run;
  4. aiqyn flags run again on the loaded store: the re-run.
Cardinal's own `indicators` command is not on PyPI (its Rust crate is not reachable here): its published
figures on this kind of machine are quoted in bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ingest_bench import AIQYN, ROOT, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cardinal-python", type=Path, default=None,
                        help="A Python interpreter with the ocdscardinal package installed.")
    args = parser.parse_args()
    out = ROOT / "out" / str(args.tenders)
    data = out / "releases.jsonl"
    if not data.exists():
        seconds, _ = timed([*AIQYN, "generate", "--tenders", str(args.tenders), "--seed", str(args.seed),
                            "--out", str(out)])
        print(f"generate {args.tenders:,}: {seconds:.1f} s")
    db = out / "flags-bench.duckdb"
    for suffix in ("", ".wal"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    bare_sql = f"SELECT count(*) FROM read_json('{data}')"
    rows: list[tuple[str, float, float | None]] = []
    rows.append(("DuckDB bare parse: count(*) FROM read_json",
                 *timed([sys.executable, "-c", f"import duckdb; duckdb.sql({bare_sql!r}).fetchall()"])))
    if args.cardinal_python:
        rows.append(("Cardinal `coverage` (ocdscardinal, Rust)", *timed(
            [str(args.cardinal_python), "-c", f"import ocdscardinal; ocdscardinal.coverage({str(data)!r})"])))
    ingest_s, ingest_mb = timed([*AIQYN, "ingest", "--quiet", "--db", str(db), str(data)])
    flags_s, flags_mb = timed([*AIQYN, "flags", "run", "--quiet", "--db", str(db)])
    rows.append(("aiqyn ingest", ingest_s, ingest_mb))
    rows.append(("aiqyn flags run (every indicator + scores)", flags_s, flags_mb))
    rows.append(("first run: ingest + flags run", ingest_s + flags_s, max(ingest_mb or 0, flags_mb or 0)))
    rows.append(("re-run: aiqyn flags run on the loaded store",
                 *timed([*AIQYN, "flags", "run", "--quiet", "--db", str(db)])))
    bare = rows[0][1]
    print(f"\n{args.tenders:,} compiled releases, {data.stat().st_size / 1e6:,.0f} MB, {os.cpu_count()} cores\n")
    print("| step | seconds | x bare | peak MiB |")
    print("|---|---:|---:|---:|")
    for name, seconds, mb in rows:
        print(f"| {name} | {seconds:.1f} | {seconds / bare:.1f} | {'' if mb is None else f'{mb:,.0f}'} |")


if __name__ == "__main__":
    main()
