"""Red-flag benchmark: a first run (ingest + every flag) and a re-run of every flag, against references.

Usage:
  python bench/flags_bench.py [--tenders N] [--seed S] [--data FILE] [--work DIR] [--cardinal-python PATH]
  python bench/flags_bench.py --store STORE.duckdb [--work DIR]        (re-run and per-indicator times only)

Uses the compiled releases of bench/out/N (generated once, as bench/ingest_bench.py does), or --data FILE, and
measures in one run, each step as a process of its own under /usr/bin/time -v (wall time, CPU time = user +
system, peak memory):
  1. the bare parse: SELECT count(*) FROM read_json(file) in DuckDB;
  2. Cardinal's `coverage` (the `ocdscardinal` PyPI package, which exposes only that command: it reads and
     walks every release in Rust, a floor under what Cardinal's `indicators` costs on the same file), when a
     Python with ocdscardinal is given;
  3. aiqyn ingest into a new store, then aiqyn flags run (every indicator with its defaults, then the scores):
     the first run;
  4. aiqyn flags run again on the loaded store: the re-run;
then, in this process on the loaded store, the time of each step of a run (aiqyn.indicators.runner's steps: each
indicator, and each CTE several indicators share, computed once) and of the scores.

With --store, an existing store (the 1M one of `make demo`) is copied into --work (never written) and only the
re-run and the per-step times are measured. Cardinal's own `indicators` command is not on PyPI (its Rust crate is
not reachable here): its published figures on this kind of machine are quoted in bench/README.md.
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

ROOT = Path(__file__).resolve().parent
AIQYN = [sys.executable, "-m", "aiqyn.cli"]


def timed(cmd: list[str]) -> tuple[float, float | None, float | None]:
    """(wall seconds, CPU seconds (user + system), peak RSS in MiB) of a command."""
    gnu_time = "/usr/bin/time" if Path("/usr/bin/time").exists() else None
    started = time.monotonic()
    proc = subprocess.run([gnu_time, "-v", *cmd] if gnu_time else cmd, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")

    def field(name: str) -> float | None:
        match = re.search(rf"{re.escape(name)}: ([0-9.]+)", proc.stderr)
        return float(match.group(1)) if match else None

    user, system, rss = field("User time (seconds)"), field("System time (seconds)"), field(
        "Maximum resident set size (kbytes)")
    cpu = None if user is None or system is None else user + system
    return seconds, cpu, None if rss is None else rss / 1024


def _remove(db: Path) -> None:
    for suffix in ("", ".wal"):
        Path(str(db) + suffix).unlink(missing_ok=True)


def per_step(db: Path) -> None:
    """Run every indicator and the scores in this process on `db`, printing the time of each step."""
    import duckdb

    from aiqyn.indicators.runner import run
    from aiqyn.indicators.settings import default_settings
    from aiqyn.scoring import load_weights, score_run

    settings = default_settings()
    con = duckdb.connect(str(db))
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        result = run(con, settings)
        flags_wall, flags_cpu = time.perf_counter() - wall, time.process_time() - cpu
        wall, cpu = time.perf_counter(), time.process_time()
        score_run(con, result.run_id, load_weights(None, base=settings.weights))
        score_wall, score_cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        con.close()
    print(f"\nper step, in one process (load average {os.getloadavg()[0]:.1f}); a shared CTE is computed once, "
          "when the first indicator that reads it runs\n")
    print("| step | wall s | CPU s | rows |")
    print("|---|---:|---:|---:|")
    for step in result.steps:
        print(f"| {step.label} | {step.wall:.2f} | {step.cpu:.2f} | {step.rows:,} |")
    rest_wall = flags_wall - sum(s.wall for s in result.steps)
    rest_cpu = flags_cpu - sum(s.cpu for s in result.steps)
    print(f"| set-up (reference tables, plan, commit) | {rest_wall:.2f} | {rest_cpu:.2f} | |")
    print(f"| **flags, all indicators** | **{flags_wall:.2f}** | **{flags_cpu:.2f}** | "
          f"**{sum(result.counts.values()):,}** |")
    print(f"| scores (process, buyer, supplier, region) | {score_wall:.2f} | {score_cpu:.2f} | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=None, help="The compiled releases (default: bench/out/N).")
    parser.add_argument("--work", type=Path, default=None, help="Where the stores go (default: the data's folder).")
    parser.add_argument("--store", type=Path, default=None,
                        help="Measure the re-run only, on a copy of this store (never written).")
    parser.add_argument("--cardinal-python", type=Path, default=None,
                        help="A Python interpreter with the ocdscardinal package installed.")
    args = parser.parse_args()
    rows: list[tuple[str, float, float | None, float | None]] = []
    loads = [os.getloadavg()[0]]
    if args.store is not None:
        work = args.work or Path("/tmp")
        work.mkdir(parents=True, exist_ok=True)
        db = work / "flags-bench.duckdb"
        _remove(db)
        shutil.copyfile(args.store, db)
        title = f"store {args.store} (copied to {db})"
    else:
        out = ROOT / "out" / str(args.tenders)
        data = args.data or out / "releases.jsonl"
        if not data.exists():
            if args.data is not None:
                raise SystemExit(f"{data}: no such file")
            seconds, _, _ = timed([*AIQYN, "generate", "--tenders", str(args.tenders), "--seed", str(args.seed),
                                   "--out", str(out)])
            print(f"generate {args.tenders:,}: {seconds:.1f} s")
        work = args.work or data.parent
        work.mkdir(parents=True, exist_ok=True)
        db = work / "flags-bench.duckdb"
        _remove(db)
        bare_sql = f"SELECT count(*) FROM read_json('{data}')"
        rows.append(("DuckDB bare parse: count(*) FROM read_json",
                     *timed([sys.executable, "-c", f"import duckdb; duckdb.sql({bare_sql!r}).fetchall()"])))
        loads.append(os.getloadavg()[0])
        if args.cardinal_python:
            rows.append(("Cardinal `coverage` (ocdscardinal, Rust)", *timed(
                [str(args.cardinal_python), "-c", f"import ocdscardinal; ocdscardinal.coverage({str(data)!r})"])))
            loads.append(os.getloadavg()[0])
        ingest = timed([*AIQYN, "ingest", "--quiet", "--db", str(db), str(data)])
        loads.append(os.getloadavg()[0])
        flags = timed([*AIQYN, "flags", "run", "--quiet", "--db", str(db)])
        loads.append(os.getloadavg()[0])
        rows.append(("aiqyn ingest", *ingest))
        rows.append(("aiqyn flags run (every indicator + scores)", *flags))
        rows.append(("first run: ingest + flags run", ingest[0] + flags[0],
                     None if ingest[1] is None or flags[1] is None else ingest[1] + flags[1],
                     max(ingest[2] or 0, flags[2] or 0)))
        title = f"{data} ({data.stat().st_size / 1e6:,.0f} MB)"
    rows.append(("re-run: aiqyn flags run on the loaded store", *timed([*AIQYN, "flags", "run", "--quiet", "--db",
                                                                       str(db)])))
    loads.append(os.getloadavg()[0])
    print(f"\n{title}, {os.cpu_count()} cores, load average (1 min) {min(loads):.1f} to {max(loads):.1f}\n")
    bare = rows[0] if args.store is None else None
    print("| step | wall s | x bare (wall) | CPU s | x bare (CPU) | peak MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, seconds, cpu, mb in rows:
        x_wall = f"{seconds / bare[1]:.1f}" if bare else ""
        x_cpu = f"{cpu / bare[2]:.1f}" if bare and cpu is not None and bare[2] else ""
        print(f"| {name} | {seconds:.1f} | {x_wall} | {'' if cpu is None else f'{cpu:.1f}'} | {x_cpu} | "
              f"{'' if mb is None else f'{mb:,.0f}'} |")
    per_step(db)


if __name__ == "__main__":
    main()
