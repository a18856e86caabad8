"""Ingest benchmark: `aiqyn ingest` against the bare cost of DuckDB parsing the same file.

Usage: python bench/ingest_bench.py [--tenders N] [--seed S] [--repeat R] [--file releases.jsonl]
(default 100,000; results in bench/README.md)

Generates N compiled releases once (cached in bench/out/N; `--file` takes an existing file of them
instead), then in one run measures, each as a process of its own, wall and CPU time (user + sys):
  1. bare parse: SELECT count(*) FROM read_json('releases.jsonl') in DuckDB;
  2. aiqyn ingest into a new store;
  3. aiqyn ingest again of the same file (every release unchanged).
Times and peak memory come from /usr/bin/time -v (wall time only when it is missing). With --repeat R the
steps run R times, interleaved, and the run with the least CPU time is kept.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent
AIQYN = [sys.executable, "-m", "aiqyn.cli"]


def timed(cmd: list[str]) -> tuple[float, float | None, float | None]:
    """(wall seconds, peak RSS in MiB, CPU seconds: user + sys) of a command."""
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    full = [gnu_time, "-v", *cmd] if gnu_time else cmd
    started = time.monotonic()
    proc = subprocess.run(full, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    cpu = [float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", proc.stderr)]
    return seconds, (int(match.group(1)) / 1024 if match else None), (sum(cpu) if len(cpu) == 2 else None)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="Run each step N times; keep the least CPU time.")
    parser.add_argument("--file", type=Path, help="An existing JSON-lines file of compiled releases to measure "
                        "(such as `aiqyn generate` writes) instead of generating one; the stores go to bench/out/.")
    args = parser.parse_args()
    if args.file:
        data = args.file.resolve()
        out = ROOT / "out" / f"file-{data.stat().st_size}"
        out.mkdir(parents=True, exist_ok=True)
    else:
        out = ROOT / "out" / str(args.tenders)
        data = out / "releases.jsonl"
    if not data.exists():
        gen_s, gen_mb, _cpu = timed(
            [*AIQYN, "generate", "--tenders", str(args.tenders), "--seed", str(args.seed), "--out", str(out)]
        )
        print(f"generate {args.tenders:,}: {gen_s:.1f} s, peak {gen_mb or 0:.0f} MiB")
    size_mb = data.stat().st_size / 1e6
    con = duckdb.connect()
    count = con.execute(f"SELECT count(*) FROM read_json('{data}')").fetchone()[0]  # type: ignore[index]
    con.close()
    # Both sides as processes of the same interpreter, so both pay its start-up (about a second for aiqyn,
    # which imports more): the bare parse is DuckDB alone, the least any ingest of the file must cost.
    bare_sql = f"SELECT count(*) FROM read_json('{data}')"
    bare_cmd = [sys.executable, "-c", f"import duckdb; duckdb.sql({bare_sql!r}).fetchall()"]
    db = out / "bench.duckdb"
    best: dict[str, tuple[float, float | None, float | None]] = {}
    loads = [os.getloadavg()[0]]
    for _ in range(args.repeat):  # interleaved, so that other load on the machine hits both sides alike
        for suffix in ("", ".wal"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        for key, cmd in (("bare", bare_cmd), ("first", [*AIQYN, "ingest", "--quiet", "--db", str(db), str(data)]),
                         ("again", [*AIQYN, "ingest", "--quiet", "--db", str(db), str(data)])):
            result = timed(cmd)
            loads.append(os.getloadavg()[0])
            # the fastest run by CPU time when known (steadier on a loaded machine), else by wall time
            if key not in best or (result[2] or result[0]) < (best[key][2] or best[key][0]):
                best[key] = result
    bare, bare_cpu = best["bare"][0], best["bare"][2]
    rows = [
        ("DuckDB bare parse: count(*) FROM read_json", *best["bare"]),
        ("aiqyn ingest, new store", *best["first"]),
        ("aiqyn ingest, same file again (all unchanged)", *best["again"]),
    ]
    print(f"\n{count:,} compiled releases, {size_mb:,.0f} MB, {os.cpu_count()} cores, "
          f"load average (1 min) {min(loads):.1f} to {max(loads):.1f}\n")
    print("| step | wall s | releases/s | x bare (wall) | CPU s | x bare (CPU) | peak MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, seconds, mb, cpu in rows:
        cpu_cells = f"{cpu:.1f} | {cpu / bare_cpu:.1f}" if cpu is not None and bare_cpu else " | "
        print(
            f"| {name} | {seconds:.1f} | {count / seconds:,.0f} | {seconds / bare:.1f} | {cpu_cells} | "
            f"{'' if mb is None else f'{mb:,.0f}'} |"
        )


if __name__ == "__main__":
    main()
