"""Running the indicators, the risk score and the regional index on Apache Spark.

The input is a store export (`aiqyn store export --format parquet DIR`, aiqyn.store.parquet); the output a
directory of Parquet tables with the store's schema (`flag_runs`, `flags`, `scores`, `region_index`), which
`aiqyn flags import` loads into a DuckDB store for the web application.

Each step runs the one definition the DuckDB path runs, translated by aiqyn.spark.translate:

- every indicator's SELECT (and its `meta` statistics) from the registry, with the same bound parameters
  (aiqyn.indicators.runner.global_bindings and the indicator's own bindings);
- the score's MEMBERS and SCORE statements of aiqyn.scoring.score (their SELECT parts);
- the regional index's FACTS_SQL and INDEX_SQL of aiqyn.regions.index.

Three small steps are not relational and run, as on DuckDB, in Python on collected results, through the very
functions the DuckDB path calls, applied to an in-memory DuckDB connection that holds Spark's output: loading the
shipped reference tables (kz.load_reference_tables), choosing the score's weights (score._weights_table: a row
per indicator), and the bootstrap intervals of the index (index._bootstrap: numpy over the per-process facts,
then the rank intervals). The relational work (the indicators' joins, windows and aggregates, the score, the
facts and the index) runs on Spark.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from aiqyn.indicators.base import used_parameters
from aiqyn.indicators.registry import REGISTRY
from aiqyn.indicators.runner import global_bindings
from aiqyn.indicators.settings import Settings
from aiqyn.spark.translate import Split, View, parse, to_spark, to_spark_views
from aiqyn.store.parquet import ParquetError, read_manifest, schema_tables
from aiqyn.store.schema import SCHEMA

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# DuckDB types of schema.yaml and the Spark SQL types they are read as.
SPARK_TYPES = {
    "VARCHAR": "STRING", "DOUBLE": "DOUBLE", "INTEGER": "INT", "BIGINT": "BIGINT", "BOOLEAN": "BOOLEAN",
    "DATE": "DATE", "TIMESTAMPTZ": "TIMESTAMP", "TIMESTAMP": "TIMESTAMP_NTZ", "VARCHAR[]": "ARRAY<STRING>",
}
# The tables the Spark run writes (its results), never read from the input.
RESULTS = ("flag_runs", "flags", "scores", "region_index")
# What DuckDB does that Spark must be told: timestamps in UTC, JSON objects that keep their null fields
# (DuckDB's to_json writes them), and lenient arithmetic (a division by zero is NULL, as in DuckDB).
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.jsonGenerator.ignoreNullFields": "false",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


class SparkRunError(RuntimeError):
    """A Spark run that cannot start or finish; the message says which step and why."""


def session(master: str | None = None, shuffle_partitions: int | None = None, driver_memory: str | None = None,
            conf: dict[str, str] | None = None) -> SparkSession:
    """A SparkSession with the settings the translated definitions rely on (SESSION_CONF).

    `master` None: the one of spark-submit, or `local[*]` when run directly. An existing session is reused
    (with the settings applied)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:  # pragma: no cover - pyspark is a dependency of the `spark` extra
        raise SparkRunError(f"pyspark is not installed ({e}); pip install 'aiqyn[spark]'") from None
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise SparkRunError("no Java runtime: Spark needs Java 17 or 21 (Debian: apt-get install "
                            "openjdk-17-jre-headless), or JAVA_HOME set")
    builder = SparkSession.builder.appName("aiqyn")
    if master:
        builder = builder.master(master)
    elif "spark.master" not in (conf or {}) and not os.environ.get("SPARK_HOME"):
        builder = builder.master("local[*]")
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    settings = {**SESSION_CONF, **(conf or {})}
    if shuffle_partitions:
        settings["spark.sql.shuffle.partitions"] = str(shuffle_partitions)
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in settings.items():
        if not key.startswith("spark.ui") and key != "spark.driver.memory":
            spark.conf.set(key, value)
    return spark


def _spark_type(duck_type: str) -> str:
    try:
        return SPARK_TYPES[duck_type]
    except KeyError:
        raise SparkRunError(f"schema.yaml type {duck_type} has no Spark type in aiqyn.spark.engine.SPARK_TYPES") \
            from None


def register_inputs(spark: SparkSession, folder: Path) -> dict[str, int]:
    """Register every table of schema.yaml as a temporary view: read from the export with the schema's columns
    and types, or empty (with its columns) when the export lacks it. Returns the rows per table of the input."""
    manifest = read_manifest(folder)
    rows: dict[str, int] = {}
    for name, table in schema_tables().items():
        if name in RESULTS:
            continue
        cols = ", ".join(f"CAST(`{c.name}` AS {_spark_type(c.type)}) AS `{c.name}`" for c in table.columns)
        entry = manifest["tables"].get(name)
        if entry is None:
            spark.sql(f"SELECT {cols} FROM (SELECT {', '.join(f'NULL AS `{c}`' for c in table.column_names)}) "
                      "WHERE FALSE").createOrReplaceTempView(name)
            continue
        path = folder / name
        if not path.exists():
            raise ParquetError(f"{path}: listed in {folder / '_aiqyn_schema.json'} but missing")
        missing = [c for c in table.column_names if c not in entry.get("columns", {})]
        if missing:
            raise ParquetError(f"{path}: column(s) {', '.join(missing)} of schema.yaml missing from the export; "
                               "export the store again")
        df = spark.read.parquet(str(path))
        df.createOrReplaceTempView(f"_in_{name}")
        spark.sql(f"SELECT {cols} FROM _in_{name}").createOrReplaceTempView(name)
        rows[name] = int(entry.get("rows", 0))
    return rows


def _view_from_duckdb(spark: SparkSession, con: duckdb.DuckDBPyConnection, sql: str, view: str) -> None:
    """A small DuckDB result (reference rows, weights) as a Spark view, through Arrow."""
    table = con.sql(sql).to_arrow_table()
    spark.createDataFrame(table).createOrReplaceTempView(view)


@contextmanager
def _sidecar() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    try:
        yield con
    finally:
        con.close()


def load_reference(spark: SparkSession) -> None:
    """The shipped reference tables (non-working days, medicine ceiling prices) as loaded by the DuckDB runner,
    replacing any copy in the input; the unreliable-suppliers register stays as exported."""
    from aiqyn.indicators.kz import load_reference_tables
    from aiqyn.indicators.runner import ensure_tables

    with _sidecar() as con:
        ensure_tables(con)
        load_reference_tables(con)
        for name in ("kz_non_working_days", "medicine_ceiling_prices"):
            _view_from_duckdb(spark, con, f"SELECT * FROM {name}", name)


@dataclass
class SparkResult:
    run_id: str
    out: Path
    counts: dict[str, int] = field(default_factory=dict)  # flags per indicator
    meta: dict[str, dict[str, float | None]] = field(default_factory=dict)
    scores: dict[str, int] = field(default_factory=dict)  # subjects scored per type
    region_rows: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per step
    indicator_seconds: dict[str, float] = field(default_factory=dict)  # wall time per indicator (with its meta)


class SharedViews:
    """The CTEs of a sequence of statements (aiqyn.spark.translate.to_spark_views) as temporary views, a view
    that the statements read more than once (within one statement, across a statement and its `meta`, or across
    indicators that share a CTE such as `procs`) computed once and cached; each view dropped (and uncached)
    after the last statement that reads it. Without this, Spark would compute a CTE once per reference.

    `sql(i)` gives statement i's DataFrame; the statements are meant to be run in order. `lazy`: a cached view is
    computed by the first query that reads it (no job of its own), else at once."""

    def __init__(self, spark: SparkSession, splits: list[Split], lazy: bool = True):
        self.spark = spark
        self.lazy = lazy
        self.splits = splits
        self.defs: dict[str, View] = {}
        reads: Counter[str] = Counter()
        for split in splits:
            reads.update(split.reads)
            for view in split.views:
                if view.name not in self.defs:
                    self.defs[view.name] = view
                    reads.update(view.reads)
        self.cached = {name for name, n in reads.items() if n > 1}
        self.last: dict[str, int] = {}
        for i, split in enumerate(splits):
            for name in self._closure(split.reads):
                self.last[name] = i
        self.created: list[str] = []  # in the order created: a view after the views it reads

    def _closure(self, names: tuple[str, ...]) -> set[str]:
        seen: set[str] = set()
        todo = list(names)
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(self.defs[name].reads)
        return seen

    def sql(self, i: int) -> DataFrame:
        for view in self.splits[i].views:
            if view.name in self.created:
                continue
            if view.name in self.cached:
                self.spark.sql(f"CACHE {'LAZY ' if self.lazy else ''}TABLE {view.name} "
                               f"OPTIONS ('storageLevel' 'MEMORY_AND_DISK') AS {view.sql}")
            else:
                self.spark.sql(f"CREATE OR REPLACE TEMPORARY VIEW {view.name} AS {view.sql}")
            self.created.append(view.name)
        return self.spark.sql(self.splits[i].body)

    def done(self, i: int) -> None:
        """Statement i has run: drop the views no later statement reads, each before the views it reads (a
        temporary view is resolved again, from its SQL, when it is uncached)."""
        for name in [n for n in reversed(self.created) if self.last.get(n, -1) <= i]:
            if name in self.cached:
                self.spark.sql(f"UNCACHE TABLE IF EXISTS {name}")
            self.spark.catalog.dropTempView(name)
            self.created.remove(name)

    def close(self) -> None:
        self.done(len(self.splits))


def _write(df: DataFrame, path: Path) -> None:
    df.write.mode("overwrite").parquet(str(path))


def run_indicators(spark: SparkSession, settings: Settings, run_id: str, out: Path,
                   progress: Callable[[str, int, int], None] | None = None) -> tuple[dict[str, int], dict[str, Any]]:
    """Every indicator of the settings on Spark, its flags written to out/flags/code=<CODE>/."""
    common = {**global_bindings(settings), "run_id": run_id}
    counts: dict[str, int] = {}
    meta: dict[str, dict[str, float | None]] = {}
    codes = list(settings.indicators)
    # Every statement of the run (each indicator's SELECT, then its meta), translated first, so that the CTEs
    # they share are computed once (SharedViews).
    splits: list[Split] = []
    position: dict[tuple[str, str], int] = {}
    for code, params in settings.indicators.items():
        indicator = REGISTRY[code]
        values = {**common, **indicator.bindings(params), "code": code}
        for kind, sql in (("select", indicator.query(params)), ("meta", indicator.meta_query(params))):
            if sql is not None:
                position[(code, kind)] = len(splits)
                splits.append(to_spark_views(sql, used_parameters(sql, values),
                                             name=code if kind == "select" else f"{code} meta"))
    views = SharedViews(spark, splits)
    try:
        for done, code in enumerate(codes, start=1):
            counts[code], found = _run_indicator(spark, views, position, code, run_id, out)
            if found is not None:
                meta[code] = found
            if progress is not None:
                progress(code, done, len(codes))
    finally:
        views.close()
    return counts, meta


def _run_indicator(spark: SparkSession, views: SharedViews, position: dict[tuple[str, str], int], code: str,
                   run_id: str, out: Path) -> tuple[int, dict[str, float | None] | None]:
    """One indicator's flags written to out/flags/code=<CODE>/ (their count) and its meta statistics."""
    i = position[(code, "select")]
    flags = views.sql(i).selectExpr(
        f"'{run_id}' AS run_id", f"'{code}' AS code", "CAST(subject_type AS STRING) AS subject_type",
        "CAST(subject_id AS STRING) AS subject_id", "CAST(value AS DOUBLE) AS value",
        "CAST(evidence AS STRING) AS evidence")
    target = out / "flags" / f"code={code}"
    _write(flags.drop("code"), target)
    views.done(i)
    count = spark.read.parquet(str(target)).count()
    if (code, "meta") not in position:
        return count, None
    i = position[(code, "meta")]
    rows = views.sql(i).collect()
    views.done(i)
    return count, {str(r[0]): (None if r[1] is None else float(r[1])) for r in rows}


def _flags_view(spark: SparkSession, out: Path) -> None:
    flags_cols = SCHEMA.outputs["flags"].column_names
    if (out / "flags").exists():
        spark.read.parquet(str(out / "flags")).selectExpr(*flags_cols).createOrReplaceTempView("flags")
    else:
        spark.sql("SELECT CAST(NULL AS STRING) AS run_id, CAST(NULL AS STRING) AS code, CAST(NULL AS STRING) AS "
                  "subject_type, CAST(NULL AS STRING) AS subject_id, CAST(NULL AS DOUBLE) AS value, "
                  "CAST(NULL AS STRING) AS evidence WHERE FALSE").createOrReplaceTempView("flags")


def flag_run_table(run_id: str, settings: Settings, started: datetime, finished: datetime,
                   meta: dict[str, Any]) -> pa.Table:
    """The run's row of `flag_runs`, as the DuckDB runner writes it."""
    return pa.table({
        "run_id": [run_id], "started_at": pa.array([started], pa.timestamp("us", tz="UTC")),
        "finished_at": pa.array([finished], pa.timestamp("us", tz="UTC")), "mode": [settings.mode],
        "settings_file": pa.array([settings.source], pa.string()), "settings": [json.dumps(settings.as_dict())],
        "codes": pa.array([list(settings.indicators)], pa.list_(pa.string())), "meta": [json.dumps(meta)],
        "status": ["complete"],
    })


def run_scores(spark: SparkSession, run_id: str, codes: list[str], weights: dict[str, float], out: Path) -> None:
    """The composite risk scores of the run (aiqyn.scoring.score's MEMBERS and SCORE) into out/scores/."""
    from sqlglot import exp

    from aiqyn.scoring.score import MEMBERS, SCORE, _weights_table

    written = [r[0] for r in spark.sql(f"SELECT DISTINCT code FROM flags WHERE run_id = '{run_id}' ORDER BY code")
               .collect()]
    with _sidecar() as con:
        con.execute("CREATE TABLE flag_runs (run_id VARCHAR, codes VARCHAR[])")
        con.execute("CREATE TABLE flags (run_id VARCHAR, code VARCHAR)")
        con.execute("INSERT INTO flag_runs VALUES (?, ?)", [run_id, codes])
        if written:
            con.executemany("INSERT INTO flags VALUES (?, ?)", [[run_id, c] for c in written])
        _weights_table(con, run_id, weights)
        _view_from_duckdb(spark, con, "SELECT * FROM score_weights", "score_weights")
    members = parse(MEMBERS, "score members")
    if not isinstance(members, exp.Create) or members.expression is None:
        raise SparkRunError("aiqyn.scoring.score.MEMBERS is no longer a CREATE TABLE ... AS SELECT")
    members_df = spark.sql(to_spark(members.expression, name="score members")).persist()
    members_df.createOrReplaceTempView("score_members")
    score = parse(SCORE, "score")
    if not isinstance(score, exp.Insert) or score.expression is None:
        raise SparkRunError("aiqyn.scoring.score.SCORE is no longer an INSERT INTO scores SELECT ...")
    cols = SCHEMA.outputs["scores"].columns
    views = SharedViews(spark, [to_spark_views(score.expression, {"run_id": run_id}, name="score")])
    try:
        df = views.sql(0).toDF(*[c.name for c in cols]).selectExpr(
            *(f"CAST(`{c.name}` AS {_spark_type(c.type)}) AS `{c.name}`" for c in cols))
        _write(df, out / "scores")
    finally:
        views.close()
        members_df.unpersist()


def run_region_index(spark: SparkSession, out: Path, flag_runs: pa.Table, weights: dict[str, float] | None = None,
                     bootstrap: int = 200, seed: int = 0, alpha: float = 0.1) -> int:
    """The regional index (aiqyn.regions.index's FACTS_SQL and INDEX_SQL on Spark, then its bootstrap) into
    out/region_index/. Reads the flags and scores of this run."""
    from aiqyn.regions.index import FACTS_SQL, WEIGHTS, _bootstrap, index_sql, kato_rows

    spark.createDataFrame([list(r) for r in kato_rows()], "level STRING, kato STRING, name_ru STRING, "
                          "name_kk STRING").createOrReplaceTempView("kato_units")
    spark.read.parquet(str(out / "scores")).createOrReplaceTempView("scores")
    spark.createDataFrame(flag_runs.to_pandas()[["run_id", "started_at"]]).createOrReplaceTempView("flag_runs")
    # The facts (a row per process) are written once, as Parquet beside the results, and read from there by the
    # index on Spark and by the bootstrap in DuckDB: collected through the driver instead, 10M processes' facts
    # exceeded spark.driver.maxResultSize (1 GB), and the driver is where a cluster has the least memory.
    facts_dir = out / "_region_facts"
    facts_views = SharedViews(spark, [to_spark_views(FACTS_SQL, name="region facts")])
    _write(facts_views.sql(0), facts_dir)
    facts_views.close()
    spark.read.parquet(str(facts_dir)).createOrReplaceTempView("facts")
    table = SCHEMA.outputs["region_index"]
    computed = [c for c in table.columns if c.name not in ("ci_low", "ci_high", "rank_best", "rank_worst")]
    index_views = SharedViews(spark, [to_spark_views(index_sql(weights), name="region index")])
    index = index_views.sql(0).selectExpr(
        *(f"CAST(`{c.name}` AS {_spark_type(c.type)}) AS `{c.name}`" for c in computed))
    with _sidecar() as con:
        con.execute(table.ddl())
        con.register("index_arrow", index.toArrow())
        names = ", ".join(f'"{c.name}"' for c in computed)
        con.execute(f"INSERT INTO region_index ({names}) SELECT {names} FROM index_arrow")
        if bootstrap > 0:
            con.execute("CREATE TEMP TABLE facts AS SELECT * FROM read_parquet(?)", [str(facts_dir / "*.parquet")])
            _bootstrap(con, {**WEIGHTS, **(weights or {})}, bootstrap, seed, alpha)
        result = con.sql("SELECT * FROM region_index ORDER BY level, kato, period, quarter").to_arrow_table()
    index_views.close()
    spark.catalog.dropTempView("facts")
    shutil.rmtree(facts_dir)
    target = out / "region_index"
    target.mkdir(parents=True, exist_ok=True)
    pq.write_table(result, target / "data.parquet")
    return int(result.num_rows)


def run(spark: SparkSession, input_dir: Path, out: Path, settings: Settings, weights: dict[str, float],
        score: bool = True, regions: bool = True, bootstrap: int = 200, seed: int = 0,
        progress: Callable[[str, int, int], None] | None = None) -> SparkResult:
    """The whole distributed run: indicators, scores, regional index; results under `out` (replaced)."""
    import time

    started = datetime.now(UTC)
    run_id = f"flags-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}-spark"
    if out.exists():
        if any(out.iterdir()) and not (out / "flag_runs").exists():
            raise SparkRunError(f"{out}: not empty and not the output of a Spark run; choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    result = SparkResult(run_id, out)
    t = time.perf_counter()
    register_inputs(spark, input_dir)
    load_reference(spark)
    result.seconds["setup"] = time.perf_counter() - t
    t = last = time.perf_counter()

    def step(code: str, done: int, total: int) -> None:
        nonlocal last
        now = time.perf_counter()
        result.indicator_seconds[code] = now - last
        last = now
        if progress is not None:
            progress(code, done, total)

    result.counts, result.meta = run_indicators(spark, settings, run_id, out, step)
    result.seconds["indicators"] = time.perf_counter() - t
    flag_runs = flag_run_table(run_id, settings, started, datetime.now(UTC), result.meta)
    (out / "flag_runs").mkdir()
    pq.write_table(flag_runs, out / "flag_runs" / "data.parquet")
    if score:
        finish(spark, out, weights, result, regions=regions, bootstrap=bootstrap, seed=seed)
    return result


def finish(spark: SparkSession, out: Path, weights: dict[str, float], result: SparkResult, regions: bool = True,
           bootstrap: int = 200, seed: int = 0) -> None:
    """The scores and (with `regions`) the regional index of the flags run in `out` (its flags/ and flag_runs/,
    as `run` writes them; the inputs registered), into out/scores/ and out/region_index/; counts and wall times
    into `result`. `run` ends with it; on its own, it scores again the flags of an earlier run."""
    import time

    flag_runs = pq.read_table(out / "flag_runs")
    run_id = str(flag_runs.column("run_id")[0])
    codes = [str(c) for c in flag_runs.column("codes")[0].as_py()]
    _flags_view(spark, out)
    t = time.perf_counter()
    run_scores(spark, run_id, codes, weights, out)
    result.scores = {r[0]: int(r[1]) for r in spark.read.parquet(str(out / "scores"))
                     .groupBy("subject_type").count().collect()}
    result.seconds["scores"] = time.perf_counter() - t
    if regions:
        t = time.perf_counter()
        result.region_rows = run_region_index(spark, out, flag_runs, bootstrap=bootstrap, seed=seed)
        result.seconds["region_index"] = time.perf_counter() - t
