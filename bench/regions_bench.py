"""Time the regional index on a flagged store (issue 7): `aiqyn index compute` with and without the bootstrap,
`aiqyn index show`, and the printable report of one oblast.

    .venv/bin/python bench/regions_bench.py --db /work/bench-data/1m/aiqyn.duckdb [--kato 630000000]

The store is COPIED to a temporary directory first (the index writes region_index into it): the original is never
written. Wall time and peak memory (RSS) come from `/usr/bin/time -v` when it exists.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AIQYN = str(Path(sys.executable).with_name("aiqyn"))


def run(args: list[str]) -> tuple[float, float | None, int | None, str]:
    """(wall seconds, CPU seconds, peak MiB, stdout) of `aiqyn ARGS` (CPU and memory None without GNU time)."""
    timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
    started = time.monotonic()
    res = subprocess.run([*timer, AIQYN, *args], capture_output=True, text=True)
    seconds = time.monotonic() - started
    if res.returncode != 0:
        raise SystemExit(f"aiqyn {' '.join(args)} failed ({res.returncode}):\n{res.stderr[-2000:]}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)
    cpu = [float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", res.stderr)]
    return seconds, sum(cpu) if cpu else None, int(peak.group(1)) // 1024 if peak else None, res.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True, help="A flagged store (aiqyn ingest + flags run).")
    parser.add_argument("--kato", default="630000000", help="The oblast of the report.")
    parser.add_argument("--tmp", type=Path, default=None, help="Where to copy the store (default: a temp dir).")
    args = parser.parse_args()
    if not args.db.exists():
        raise SystemExit(f"{args.db}: no such store")
    with tempfile.TemporaryDirectory(dir=args.tmp, prefix="aiqyn-regions-bench-") as tmp:
        db = Path(tmp) / "aiqyn.duckdb"
        started = time.monotonic()
        shutil.copy(args.db, db)
        wal = args.db.with_name(args.db.name + ".wal")
        if wal.exists():
            shutil.copy(wal, db.with_name(db.name + ".wal"))
        print(f"copied {args.db} ({args.db.stat().st_size / 1e9:.2f} GB) in {time.monotonic() - started:.1f} s")
        rows = []
        for name, cmd in [
            ("aiqyn --version (start-up alone)", ["--version"]),
            ("aiqyn index compute (200 bootstrap resamples)", ["index", "compute", "--db", str(db)]),
            ("aiqyn index compute --bootstrap 0 (the SQL alone)", ["index", "compute", "--db", str(db),
                                                                  "--bootstrap", "0"]),
            ("aiqyn index compute (again, 200 resamples)", ["index", "compute", "--db", str(db)]),
            ("aiqyn index show --level district", ["index", "show", "--db", str(db), "--level", "district"]),
            (f"aiqyn report region {args.kato} --format html", ["report", "region", args.kato, "--db", str(db),
                                                               "--out", str(Path(tmp) / "r.html")]),
        ]:
            seconds, cpu, peak, out = run(cmd)
            rows.append((name, seconds, cpu, peak))
            first = out.strip().splitlines()[0] if out.strip() else ""
            print(f"{name}: {seconds:.1f} s wall, {cpu} s CPU, peak {peak} MiB  [{first[:110]}]", flush=True)
    print("\n| step | wall s | CPU s | peak MiB |\n|---|---:|---:|---:|")
    for name, seconds, cpu, peak in rows:
        print(f"| {name} | {seconds:.1f} | {'—' if cpu is None else f'{cpu:.1f}'} | {peak if peak else '—'} |")


if __name__ == "__main__":
    main()
