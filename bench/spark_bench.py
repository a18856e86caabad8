"""DuckDB against Spark on the same Parquet store export: every indicator, the risk scores, the regional index.

    .venv/bin/python bench/spark_bench.py --parquet DIR --work WORKDIR [--engines duckdb,spark] [--master local[2]]

DIR is a store export (`aiqyn store export --format parquet DIR`). Each engine runs in its own process under
`/usr/bin/time -v` (wall time and peak RSS of the process and its children: the Spark JVM is a child of Python):

- duckdb: a new DuckDB file in WORKDIR whose store tables are views over DIR's Parquet files (the analytic inputs
  copied in), then aiqyn.indicators.runner.run, aiqyn.scoring.score_run, aiqyn.regions.index.compute: the DuckDB
  path of `aiqyn flags run` and `aiqyn regions run`, over the same files Spark reads;
- spark: aiqyn.spark.engine.run (what `aiqyn flags run --engine spark` runs) with the given master.

Then the results are compared (aiqyn.spark.compare) and everything is printed as JSON (and written to
WORKDIR/spark_bench.json). Not part of the test suite. While Spark runs, WORKDIR/progress.log gets a line per
indicator (elapsed time, the JVM's CPU seconds and peak resident memory so far).

`--finish` (spark only): no indicators; the scores and the regional index of the flags an earlier Spark run
left in WORKDIR/spark-results (a run stopped during its scores), with aiqyn.spark.engine.finish.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child_duckdb(parquet: Path, work: Path, memory: str) -> dict:
    from aiqyn.indicators.runner import run
    from aiqyn.indicators.settings import default_settings
    from aiqyn.regions.index import compute
    from aiqyn.scoring import load_weights, score_run
    from aiqyn.spark.engine import RESULTS
    from aiqyn.store.db import connect
    from aiqyn.store.parquet import read_manifest, schema_tables
    from aiqyn.store.schema import SCHEMA

    manifest = read_manifest(parquet)
    db = work / "duckdb-bench.duckdb"
    for p in (db, db.with_suffix(".duckdb.wal")):
        p.unlink(missing_ok=True)
    con = connect(db)
    con.execute(f"SET memory_limit = '{memory}'")
    t0 = time.perf_counter()
    for name, table in schema_tables().items():
        if name not in manifest["tables"] or name in RESULTS:
            continue
        cols = ", ".join(f'"{c}"' for c in table.column_names)
        glob = str(parquet / name / "**" / "*.parquet")
        source = f"SELECT {cols} FROM read_parquet('{glob}', hive_partitioning = true)"
        # the ingest tables and registers: views over the files; the analytic inputs: tables (runners write some)
        kind = "VIEW" if name in SCHEMA.tables or name in SCHEMA.registers else "TABLE"
        con.execute(f"CREATE {kind} {name} AS {source}")
    seconds = {"setup": time.perf_counter() - t0}
    t = time.perf_counter()
    result = run(con, default_settings())
    seconds["indicators"] = time.perf_counter() - t
    t = time.perf_counter()
    score_run(con, result.run_id, load_weights(None))
    seconds["scores"] = time.perf_counter() - t
    t = time.perf_counter()
    compute(con)
    seconds["region_index"] = time.perf_counter() - t
    con.close()
    return {"db": str(db), "run_id": result.run_id, "flags": sum(result.counts.values()), "seconds": seconds}


def child_spark(parquet: Path, work: Path, master: str, driver_memory: str, partitions: int,
                finish_only: bool = False) -> dict:
    from aiqyn.indicators.settings import default_settings
    from aiqyn.scoring import load_weights
    from aiqyn.spark.engine import SparkResult, finish, load_reference, register_inputs, run, session

    spark = session(master, shuffle_partitions=partitions, driver_memory=driver_memory)
    spark.sparkContext.setLogLevel("ERROR")
    out = work / "spark-results"
    jvm = jvm_cpu_seconds(spark)
    log = (work / "progress.log").open("a", encoding="utf-8")
    started = time.perf_counter()

    def progress(code: str, done: int, total: int) -> None:  # a long run's progress, readable while it runs
        hwm = jvm_peak_rss_mib(spark)
        log.write(f"{time.strftime('%H:%M:%S')} {code} {done}/{total}: {time.perf_counter() - started:.0f} s, "
                  f"JVM CPU {jvm_cpu_seconds(spark) - jvm:.0f} s, JVM peak RSS {hwm} MiB\n")
        log.flush()

    if finish_only:
        result = SparkResult(str(pq_run_id(out)), out)
        t = time.perf_counter()
        register_inputs(spark, parquet)
        load_reference(spark)
        result.seconds["setup"] = time.perf_counter() - t
        finish(spark, out, load_weights(None), result)
        result.counts = {"all": spark.read.parquet(str(out / "flags")).count()}
    else:
        result = run(spark, parquet, out, default_settings(), load_weights(None), progress=progress)
    jvm = jvm_cpu_seconds(spark) - jvm
    hwm = jvm_peak_rss_mib(spark)
    log.write(f"{time.strftime('%H:%M:%S')} done: {time.perf_counter() - started:.0f} s, JVM CPU {jvm:.0f} s, "
              f"JVM peak RSS {hwm} MiB\n")
    log.close()
    spark.stop()
    return {"out": str(out), "run_id": result.run_id, "flags": sum(result.counts.values()),
            "seconds": result.seconds, "indicator_seconds": result.indicator_seconds, "scores": result.scores,
            "region_rows": result.region_rows, "jvm_cpu_s": round(jvm, 1),
            "jvm_peak_rss_mib": hwm}


def pq_run_id(out: Path) -> str:
    import pyarrow.parquet as pq

    return str(pq.read_table(out / "flag_runs").column("run_id")[0])


def jvm_peak_rss_mib(spark) -> int:
    """The local Spark JVM's peak resident memory so far (VmHWM, from /proc): not in `/usr/bin/time`'s figure,
    which counts only the children a process has waited for."""
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return -1


def jvm_cpu_seconds(spark) -> float:
    """User + system CPU seconds of the local Spark JVM so far (from /proc): `/usr/bin/time` does not count it,
    pyspark does not reap it."""
    import os

    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(cmd: list[str]) -> dict:
    """Run `cmd` under /usr/bin/time -v; its JSON result (last stdout line), wall seconds and peak RSS."""
    t = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    elapsed = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", proc.stderr)
    user = re.search(r"User time \(seconds\): ([\d.]+)", proc.stderr)
    system = re.search(r"System time \(seconds\): ([\d.]+)", proc.stderr)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out.update(wall_s=round(wall, 1), time_elapsed=elapsed.group(1) if elapsed else None,
               cpu_s=round(float(user.group(1)) + float(system.group(1)), 1) if user and system else None,
               peak_rss_mib=round(int(rss.group(1)) / 1024) if rss else None)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parquet", type=Path, required=True, help="a store export (aiqyn store export)")
    ap.add_argument("--work", type=Path, required=True, help="a directory for the results")
    ap.add_argument("--engines", default="duckdb,spark")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="8g")
    ap.add_argument("--shuffle-partitions", type=int, default=16)
    ap.add_argument("--duckdb-memory", default="8GB")
    ap.add_argument("--compare", action="store_true", help="compare the two engines' results")
    ap.add_argument("--finish", action="store_true",
                    help="spark: only the scores and the index of the flags in WORKDIR/spark-results")
    ap.add_argument("--child", choices=["duckdb", "spark"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.child == "duckdb":
        print(json.dumps(child_duckdb(args.parquet, args.work, args.duckdb_memory)))
        return
    if args.child == "spark":
        print(json.dumps(child_spark(args.parquet, args.work, args.master, args.driver_memory,
                                     args.shuffle_partitions, args.finish)))
        return
    report: dict = {"parquet": str(args.parquet), "master": args.master, "driver_memory": args.driver_memory,
                    "shuffle_partitions": args.shuffle_partitions}
    manifest = json.loads((args.parquet / "_aiqyn_schema.json").read_text())
    report["processes"] = manifest["tables"]["processes"]["rows"]
    base = [sys.executable, str(Path(__file__).resolve()), "--parquet", str(args.parquet), "--work", str(args.work),
            "--master", args.master, "--driver-memory", args.driver_memory, "--shuffle-partitions",
            str(args.shuffle_partitions), "--duckdb-memory", args.duckdb_memory, *(["--finish"] if args.finish else [])]
    for engine in args.engines.split(","):
        print(f"running {engine}...", file=sys.stderr, flush=True)
        report[engine] = measured([*base, "--child", engine])
        print(json.dumps(report[engine]), file=sys.stderr, flush=True)
    if args.compare and "duckdb" in report and "spark" in report:
        from aiqyn.spark.compare import differences, spark_results, store_results

        diffs = differences(store_results(Path(report["duckdb"]["db"]), report["duckdb"]["run_id"]),
                            spark_results(Path(report["spark"]["out"])))
        report["differences"] = diffs or "none: identical within a relative tolerance of 1e-9"
    (args.work / "spark_bench.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
