#!/usr/bin/env bash
# The 10M-process Spark run of bench/README.md (section "Spark"), as one unattended chain:
#
#   bench/spark_10m.sh WORKDIR [TENDERS]        (TENDERS defaults to 10000000)
#
# generate (sharded, 2 jobs, gzip) -> ingest -> unreliable-suppliers register -> store export (Parquet)
# -> Spark local[2] over the export (bench/spark_bench.py --engines spark) -> DuckDB over the same export.
# Each step runs under /usr/bin/time -v; WORKDIR/chain.log gets a line per step (start, end, exit code,
# wall, CPU, peak RSS) and the steps' own output goes to WORKDIR/<step>.out and .err. A step already done
# (its .done marker in WORKDIR) is skipped, so the chain can be started again after an interruption.
#
# Sizing on this machine (2 cores, 23 GB): about 8 GB of gzipped JSON, a store of about 20 GB (plus up to
# 16 GB of WAL during the ingest), a few GB of Parquet; the Spark driver gets 14 GB. The registers of
# officials, meetings, queues and public control (docs/spark.md) are left out (`generate --no-registers`):
# the indicators that read them run on empty tables. Run it from a checkout that nobody edits meanwhile (the
# Python path is this checkout's).
# A Spark step stopped after its indicators (their flags in WORKDIR/spark/spark-results) can be finished with
# `bench/spark_bench.py ... --finish` (scores and index only; bench/README.md).
set -euo pipefail
work=${1:?usage: bench/spark_10m.sh WORKDIR [TENDERS]}
tenders=${2:-10000000}
root=$(cd "$(dirname "$0")/.." && pwd)
py=$root/.venv/bin/python
aiqyn=$root/.venv/bin/aiqyn
export PYTHONPATH=$root/src
# The ingest's DuckDB memory: 8 GB keeps a piece's parse from running short once the store holds millions of
# processes (the default 1 GB then retries each piece with 3/4 of the memory, which works but costs a retry).
export AIQYN_MEMORY_LIMIT=${AIQYN_MEMORY_LIMIT:-8GB}
mkdir -p "$work"
work=$(cd "$work" && pwd)
cd "$work"

step() {  # step NAME COMMAND...: run once, timed, logged
  local name=$1
  shift
  if [ -e "$name.done" ]; then
    echo "$(date +%T) $name: done before, skipped" >>chain.log
    return
  fi
  echo "$(date +%T) $name: start" >>chain.log
  local rc=0
  /usr/bin/time -v -o "$name.time" "$@" >"$name.out" 2>"$name.err" || rc=$?
  local wall cpu_u cpu_s rss
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$name.time")
  cpu_u=$(sed -n 's/.*User time (seconds): //p' "$name.time")
  cpu_s=$(sed -n 's/.*System time (seconds): //p' "$name.time")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$name.time")
  echo "$(date +%T) $name: exit $rc, wall $wall, CPU ${cpu_u}+${cpu_s} s, peak RSS $((rss / 1024)) MiB" >>chain.log
  # `meetings check`-like exit 1 is not used here: any non-zero exit stops the chain
  [ "$rc" -eq 0 ] || { echo "$(date +%T) $name failed: see $work/$name.err" >>chain.log; exit "$rc"; }
  touch "$name.done"
}

echo "$(date +%T) chain: $tenders processes, code $(git -C "$root" rev-parse --short HEAD), load $(cut -d' ' -f1-3 /proc/loadavg)" >>chain.log
step generate "$aiqyn" generate --tenders "$tenders" --seed 42 --jobs 2 --gzip --no-registers --out "$work/data"
step ingest "$aiqyn" ingest --quiet --db "$work/aiqyn.duckdb" "$work"/data/releases-*.jsonl.gz
step unreliable "$aiqyn" registers import unreliable "$work/data/unreliable_suppliers.csv" --db "$work/aiqyn.duckdb"
step export "$aiqyn" store export --format parquet "$work/parquet" --db "$work/aiqyn.duckdb"
[ -e spark.done ] || rm -rf "$work/spark"  # an interrupted run's partial results: Spark refuses to write over them
step spark "$py" "$root/bench/spark_bench.py" --parquet "$work/parquet" --work "$work/spark" --engines spark \
  --master 'local[2]' --driver-memory 14g --shuffle-partitions 64
[ -e duckdb.done ] || rm -rf "$work/duckdb"
step duckdb "$py" "$root/bench/spark_bench.py" --parquet "$work/parquet" --work "$work/duckdb" --engines duckdb \
  --duckdb-memory 16GB
echo "$(date +%T) chain: finished" >>chain.log
