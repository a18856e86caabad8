"""Statement-by-statement profile of `aiqyn ingest`: wall and CPU time of every DuckDB call.

Usage: python bench/ingest_profile.py FILE [--db STORE] [--top N]   (figures in bench/README.md)

Ingests FILE into a new store (default: a temporary file, deleted afterwards) through the real pipeline,
with the connection wrapped so that every `execute` is timed: wall time and the process's CPU time (all
threads, `time.process_time`). Statements are grouped by their first words (the twelve canonical tables
are one group per SQL shape), listed by CPU time; what is left of the total is Python (imports excepted:
they happen before the clock starts) and the cutting of the file into pieces.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb

from aiqyn.ingest.pipeline import CANONICAL, ingest_paths
from aiqyn.store.db import open_store

_TABLES = "|".join(CANONICAL)


def group(sql: str) -> str:
    """The group of a statement: its first words, with the names of canonical and staging tables blurred."""
    text = " ".join(str(sql).split())
    text = re.sub(r"\b_f_\w+", "_f_<table>", text)
    text = re.sub(rf"\b(INSERT INTO|DELETE FROM) ({_TABLES}) ", r"\1 <table> ", text)
    return text[:70]


class Timed:
    """A DuckDB connection whose `execute` calls are timed per group."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.stats: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])

    def execute(self, sql: str, *args: Any) -> duckdb.DuckDBPyConnection:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return self._con.execute(sql, *args)
        finally:
            entry = self.stats[group(sql)]
            entry[0] += 1
            entry[1] += time.perf_counter() - wall
            entry[2] += time.process_time() - cpu

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path)
    parser.add_argument("--db", type=Path, help="The new store (deleted first when it exists).")
    parser.add_argument("--top", type=int, default=30, help="Groups listed (by CPU time).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aiqyn-profile-") as tmp:
        db = args.db or Path(tmp) / "profile.duckdb"
        for suffix in ("", ".wal"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        wall, cpu = time.perf_counter(), time.process_time()
        con = open_store(db)
        timed = Timed(con)
        result = ingest_paths(timed, [args.file])
        con.close()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stats = timed.stats
    in_duckdb = (sum(s[1] for s in stats.values()), sum(s[2] for s in stats.values()))
    print(f"{result.accepted:,} accepted, {result.unchanged:,} unchanged, {result.rejected:,} rejected")
    print(f"total: {cpu:.1f} s CPU, {wall:.1f} s wall; in DuckDB calls: {in_duckdb[1]:.1f} s CPU, "
          f"{in_duckdb[0]:.1f} s wall; outside them: {cpu - in_duckdb[1]:.1f} s CPU, "
          f"{wall - in_duckdb[0]:.1f} s wall\n")
    print("| CPU s | wall s | calls | statement |")
    print("|---:|---:|---:|---|")
    for name, (calls, w, c) in sorted(stats.items(), key=lambda kv: -kv[1][2])[: args.top]:
        print(f"| {c:.2f} | {w:.2f} | {calls:.0f} | `{name}` |")


if __name__ == "__main__":
    main()
