"""The ingest pipeline: units -> checked releases -> stored releases -> compiled processes -> canonical tables.

Every batch of units (about 32 MB of input) is one transaction: an interrupted ingest leaves the store
as it was before the unfinished batch. Within a batch:

1. DuckDB parses each unit once into a typed struct (`try(json_transform)`); units that are not JSON
   objects are diagnosed in Python (orjson's message names the position); records and packages met on
   a JSON line are expanded in Python into their releases.
2. Releases without an ocid, with a container of the wrong type, or with a field of the wrong type (an
   amount that is a string, a date that is not a date) are rejected with a JSON pointer; the rest are
   flattened into the canonical tables' columns.
3. Releases already stored identically are skipped; a new release of a known process is stored beside
   the older ones; a process with several releases is compiled again with the OCDS merge rules.
4. The rows of every changed process are replaced in the canonical tables.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import orjson
import pyarrow as pa

from aiqyn.ingest.flatten import CONTAINERS, DERIVED_PROCESS_COLUMNS, STRUCTURE_SQL, flatten_sql
from aiqyn.ingest.merge import compile_releases
from aiqyn.ingest.readers import CHUNK_BYTES, Problem, Units, _raw_text, classify, read_units
from aiqyn.store.schema import SCHEMA

CANONICAL = [t for t in SCHEMA.tables if t not in ("releases", "rejects", "ingest_runs")]
_ROOT_AND_CONTAINER_PATHS = "['$', " + ", ".join(f"'{p}'" for p in CONTAINERS) + "]"


@dataclass
class Reject:
    """A rejected input, as stored in the rejects table and shown to the user."""

    source_file: str
    line: int | None
    pointer: str | None
    reason: str
    raw: str

    def message(self) -> str:
        where = self.source_file
        if self.line is not None:
            where += f":{self.line}"
        if self.pointer:
            where += f" {self.pointer}"
        return f"{where}: {self.reason}"


@dataclass
class IngestResult:
    run_id: str
    files: int = 0
    accepted: int = 0
    unchanged: int = 0
    rejected: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    status: str = "running"
    examples: list[Reject] = field(default_factory=list)


class StrictStop(Exception):
    """Raised in --strict mode at the first reject."""

    def __init__(self, reject: Reject):
        super().__init__(reject.message())
        self.reject = reject


ProgressFn = Callable[[str, int, IngestResult], None]
T = TypeVar("T")


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Run an iterator in a background thread so reading overlaps with DuckDB's work."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def worker() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # re-raised in the consumer
            q.put(exc)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


class Ingestor:
    """Ingests files into an open store; one instance per `aiqyn ingest` run."""

    def __init__(self, con: duckdb.DuckDBPyConnection, strict: bool = False,
                 progress: ProgressFn | None = None, max_examples: int = 20):
        self.con = con
        self.strict = strict
        self.progress = progress
        self.max_examples = max_examples
        self.result = IngestResult(run_id=uuid.uuid4().hex[:12])
        self._started = time.monotonic()

    # -- runs ---------------------------------------------------------------------------------------
    def begin(self, paths: list[str]) -> None:
        self.con.execute(
            "INSERT INTO ingest_runs VALUES (?, now(), NULL, ?, 0, 0, 0, 'running')", [self.result.run_id, paths])

    def finish(self, status: str) -> IngestResult:
        r = self.result
        r.status = status
        r.seconds = time.monotonic() - self._started
        self.con.execute(
            "UPDATE ingest_runs SET finished_at = now(), accepted = ?, unchanged = ?, rejected = ?, status = ? "
            "WHERE run_id = ?", [r.accepted, r.unchanged, r.rejected, status, r.run_id])
        return r

    # -- files --------------------------------------------------------------------------------------
    def ingest_files(self, files: list[Path]) -> None:
        """Read every file; units are gathered across files into batches of about CHUNK_BYTES."""
        pending: list[tuple[str, Units]] = []
        pending_bytes = 0
        done_bytes = 0
        for path in files:
            name = str(path)
            self.result.files += 1
            for item in prefetch(read_units(path)):
                if isinstance(item, Problem):
                    reject = Reject(name, item.line, item.pointer, item.reason, item.raw)
                    self._store_rejects([reject])
                    if self.strict:
                        raise StrictStop(reject)
                    continue
                pending.append((name, item))
                pending_bytes += int(item.raws.nbytes)
                if pending_bytes >= CHUNK_BYTES:
                    self._flush(pending)
                    pending, pending_bytes = [], 0
                    self._report(name, done_bytes + item.position)
            done_bytes += path.stat().st_size
            if not pending:
                self._report(name, done_bytes)
        if pending:
            self._flush(pending)
        self._report("", done_bytes)

    def _report(self, name: str, position: int) -> None:
        self.result.bytes_read = position
        if self.progress:
            self.progress(name, position, self.result)

    def _store_rejects(self, rejects: list[Reject]) -> None:
        if not rejects:
            return
        self.con.executemany(
            "INSERT INTO rejects VALUES (?, ?, ?, ?, ?, ?, now())",
            [[self.result.run_id, r.source_file, r.line, r.pointer, r.reason, r.raw] for r in rejects])
        self._count_rejects(rejects)

    def _count_rejects(self, rejects: list[Reject]) -> None:
        self.result.rejected += len(rejects)
        room = self.max_examples - len(self.result.examples)
        if room > 0:
            self.result.examples.extend(rejects[:room])

    # -- batches ------------------------------------------------------------------------------------
    def _flush(self, pending: list[tuple[str, Units]]) -> None:
        sources: list[str] = []
        lines: list[pa.Array] = []
        pointers: list[pa.Array] = []
        raws: list[pa.Array] = []
        for name, units in pending:
            n = len(units)
            sources.extend([name] * n)
            lines.append(pa.array(units.lines, type=pa.int64()))
            pointers.append(pa.array(units.pointers if units.pointers is not None else [None] * n,
                                     type=pa.string()))
            raws.append(units.raws)
        total = len(sources)
        table = pa.table({
            "k": pa.array(np.arange(total, dtype=np.int64)),
            "source": pa.array(sources, type=pa.string()).dictionary_encode(),
            "line": pa.concat_arrays(lines),
            "pointer": pa.concat_arrays(pointers),
            "raw": pa.concat_arrays(raws),
        })
        self._batch(table)

    def _batch(self, table: pa.Table) -> None:
        con = self.con
        con.register("_batch_arrow", table)
        expansions: list[tuple[str, int | None, str, str]] = []
        rejects: list[Reject] = []
        con.execute("BEGIN TRANSACTION")
        try:
            rejects, expansions = self._stage()
            if rejects and self.strict:
                raise StrictStop(rejects[0])
            self._publish()
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            if rejects and self.strict:
                self._store_rejects(rejects[:1])
            raise
        finally:
            con.unregister("_batch_arrow")
        if rejects:
            self._count_rejects(rejects)
        if expansions:
            self._expand(expansions)

    def _expand(self, expansions: list[tuple[str, int | None, str, str]]) -> None:
        """Records and packages found on JSON lines: their releases form a batch of their own."""
        by_source: dict[str, tuple[list[int | None], list[str | None], list[str]]] = {}
        problems: list[Reject] = []
        for name, line, prefix, raw in expansions:
            lines, pointers, raws = by_source.setdefault(name, ([], [], []))
            for item in classify(orjson.loads(raw), prefix):
                if isinstance(item, Problem):
                    problems.append(Reject(name, line, item.pointer, item.reason, item.raw))
                else:
                    lines.append(line)
                    pointers.append(item[0])
                    raws.append(item[1].decode("utf-8"))
        self._store_rejects(problems)
        if problems and self.strict:
            raise StrictStop(problems[0])
        pending = [(name, Units(lines, pointers, pa.array(raws, type=pa.large_string()), 0))
                   for name, (lines, pointers, raws) in by_source.items() if raws]
        if pending:
            self._flush(pending)

    def _stage(self) -> tuple[list[Reject], list[tuple[str, int | None, str, str]]]:
        """Parse, check and flatten the batch into temp tables; return its rejects and expansions."""
        con = self.con
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _docs AS
            SELECT k, line, pointer, CASE WHEN t[1] = 'OBJECT' THEN s END AS s, hash, t[2:] AS ctypes
            FROM (
                SELECT k, line, pointer, s, CAST(hash(rtrim(raw)) AS VARCHAR) AS hash,
                       CASE WHEN s IS NOT NULL THEN json_type(raw, {_ROOT_AND_CONTAINER_PATHS}) END AS t
                FROM (SELECT k, line, pointer, raw, try(json_transform(raw, {STRUCTURE_SQL})) AS s
                      FROM _batch_arrow))
        """)
        # (json_transform turns an array, a string or a number into a struct of NULLs: such a unit, which
        # is not a JSON object, gets s = NULL and is diagnosed below rather than taken for a release.)
        rejects: list[Reject] = []
        # Not a JSON object: orjson says why and where.
        for name, line, pointer, raw in con.execute(
                "SELECT b.source, b.line, b.pointer, b.raw FROM _docs d JOIN _batch_arrow b USING (k) "
                "WHERE d.s IS NULL").fetchall():
            if not raw.strip():
                continue
            try:
                value = orjson.loads(raw)
                kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
                    type(value), "a number")
                reason = f"expected a JSON object (a release, record or package), got {kind}"
            except orjson.JSONDecodeError as exc:
                reason = f"malformed JSON: {exc}"
            rejects.append(Reject(name, line, pointer, reason, _raw_text(raw.rstrip())))
        # Records and packages on a line: expanded after this batch.
        expansions = [
            (name, line, pointer or "", raw) for name, line, pointer, raw in con.execute(
                "SELECT b.source, b.line, b.pointer, b.raw FROM _docs d JOIN _batch_arrow b USING (k) "
                "WHERE d.s IS NOT NULL AND (d.s.compiledRelease IS NOT NULL OR d.s.records IS NOT NULL "
                "OR (d.s.releases IS NOT NULL AND d.s.releases <> 'null'))").fetchall()
        ]
        con.execute("DELETE FROM _docs WHERE s IS NULL OR s.compiledRelease IS NOT NULL OR s.records IS NOT NULL "
                    "OR (s.releases IS NOT NULL AND s.releases <> 'null')")
        # Checks of the whole release: ocid, containers.
        checks = ["CASE WHEN nullif(trim(s.ocid), '') IS NULL THEN '/ocid: the release has no ocid' END"]
        for i, (path, expected) in enumerate(CONTAINERS.items(), start=1):
            pointer = "/" + path[2:].replace(".", "/")
            article = "an"
            checks.append(
                f"CASE WHEN ctypes[{i}] IS NOT NULL AND ctypes[{i}] NOT IN ('{expected}', 'NULL') THEN "
                f"'{pointer}: expected {article} {expected.lower()}, got ' || lower(ctypes[{i}]) END")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _errs AS
            SELECT k, concat_ws('; ', {', '.join(checks)}) AS reason FROM _docs
        """)
        con.execute("DELETE FROM _errs WHERE reason = ''")
        con.execute("DELETE FROM _docs WHERE k IN (SELECT k FROM _errs)")
        for table in CANONICAL:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _f_{table} AS {flatten_sql(table, '_docs')}")
            con.execute(f"INSERT INTO _errs SELECT _k, string_agg(_err, '; ') FROM _f_{table} "
                        "WHERE _err IS NOT NULL GROUP BY _k")
        for name, line, pointer, reason, raw in con.execute(
                "SELECT b.source, b.line, b.pointer, string_agg(e.reason, '; ' ORDER BY e.reason), b.raw "
                "FROM _errs e JOIN _batch_arrow b USING (k) GROUP BY b.k, b.source, b.line, b.pointer, b.raw "
                "ORDER BY b.k").fetchall():
            rejects.append(Reject(name, line, pointer, reason, _raw_text(raw.rstrip())))
        if rejects:
            con.execute("DELETE FROM _docs WHERE k IN (SELECT k FROM _errs)")
            for table in CANONICAL:
                con.execute(f"DELETE FROM _f_{table} WHERE _k IN (SELECT k FROM _errs)")
            if not self.strict:
                con.executemany(
                    "INSERT INTO rejects VALUES (?, ?, ?, ?, ?, ?, now())",
                    [[self.result.run_id, r.source_file, r.line, r.pointer, r.reason, r.raw] for r in rejects])
        return rejects, expansions

    def _publish(self) -> None:
        con = self.con
        run_id = self.result.run_id
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _cand AS
            SELECT d.k, d.s.ocid AS ocid, coalesce(nullif(d.s.id, ''), 'hash:' || d.hash) AS release_id,
                   d.s.date AS date_text, TRY_CAST(d.s.date AS TIMESTAMPTZ) AS date, d.hash
            FROM _docs d
            QUALIFY row_number() OVER (PARTITION BY d.s.ocid, release_id
                                       ORDER BY date DESC NULLS LAST, hash DESC) = 1
        """)
        valid = con.execute("SELECT count(*) FROM _docs").fetchone()[0]  # type: ignore[index]
        # A stored release with the same id is replaced only by a later (date, hash): order-independent.
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _new AS
            SELECT c.* FROM _cand c LEFT JOIN releases r ON r.ocid = c.ocid AND r.release_id = c.release_id
            WHERE r.ocid IS NULL OR (r.hash <> c.hash AND
                  (coalesce(c.date, '-infinity'::TIMESTAMPTZ), c.hash)
                  > (coalesce(r.date, '-infinity'::TIMESTAMPTZ), r.hash))
        """)
        new = con.execute("SELECT count(*) FROM _new").fetchone()[0]  # type: ignore[index]
        self.result.accepted += new
        self.result.unchanged += valid - new
        if new == 0:
            return
        con.execute("""
            DELETE FROM releases r USING _new n WHERE r.ocid = n.ocid AND r.release_id = n.release_id
        """)
        con.execute("""
            INSERT INTO releases
            SELECT n.ocid, n.release_id, n.date, n.date_text, n.hash, CAST(b.source AS VARCHAR),
                   concat_ws(' ', 'line ' || b.line, b.pointer), ?, rtrim(b.raw)
            FROM _new n JOIN _batch_arrow b USING (k)
        """, [run_id])
        for table in CANONICAL:
            con.execute(f"DELETE FROM _f_{table} WHERE _k NOT IN (SELECT k FROM _new)")
        con.execute("CREATE OR REPLACE TEMP TABLE _affected AS SELECT DISTINCT ocid FROM _new")
        self._recompile()
        self._replace_rows()

    def _recompile(self) -> None:
        """Processes with several stored releases are compiled again with the OCDS merge rules."""
        con = self.con
        multi = con.execute("""
            SELECT r.ocid, r.raw FROM releases r
            WHERE r.ocid IN (SELECT ocid FROM releases WHERE ocid IN (SELECT ocid FROM _affected)
                             GROUP BY ocid HAVING count(*) > 1)
            ORDER BY r.ocid, r.date NULLS FIRST, r.release_id
        """).fetchall()
        if not multi:
            return
        compiled: list[str] = []
        group: list[dict[str, Any]] = []
        current = None
        for ocid, raw in [*multi, (None, None)]:
            if ocid != current and group:
                compiled.append(orjson.dumps(compile_releases(group)).decode("utf-8"))
                group = []
            current = ocid
            if raw is not None:
                group.append(orjson.loads(raw))
        merged = pa.table({"k": pa.array(np.arange(-len(compiled), 0, dtype=np.int64)),
                           "raw": pa.array(compiled, type=pa.large_string())})
        con.register("_merged_arrow", merged)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _mdocs AS "
                        f"SELECT k, json_transform(raw, {STRUCTURE_SQL}) AS s FROM _merged_arrow")
        finally:
            con.unregister("_merged_arrow")
        for table in CANONICAL:
            con.execute(f"DELETE FROM _f_{table} WHERE ocid IN (SELECT s.ocid FROM _mdocs)")
            con.execute(f"INSERT INTO _f_{table} {flatten_sql(table, '_mdocs')}")

    def _replace_rows(self) -> None:
        con = self.con
        known = con.execute(
            "SELECT count(*) FROM processes WHERE ocid IN (SELECT ocid FROM _affected)").fetchone()[0]  # type: ignore[index]
        for table in CANONICAL:
            if known:
                con.execute(f"DELETE FROM {table} WHERE ocid IN (SELECT ocid FROM _affected)")
            if table == "processes":
                continue
            cols = ", ".join(f'"{c}"' for c in SCHEMA[table].column_names)
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _f_{table}")
        own = [c for c in SCHEMA["processes"].column_names if c not in DERIVED_PROCESS_COLUMNS]
        own_cols = ", ".join(f'"{c}"' for c in own)
        own_f = ", ".join(f'f."{c}"' for c in own)
        con.execute(f"""
            INSERT INTO processes ({own_cols}, release_id, release_date, n_releases, region_code, year)
            WITH rel AS (
                SELECT ocid, arg_max(release_id, (coalesce(date, '-infinity'::TIMESTAMPTZ), release_id)) AS release_id,
                       max(date) AS release_date, CAST(count(*) AS INTEGER) AS n_releases
                FROM releases WHERE ocid IN (SELECT ocid FROM _affected) GROUP BY ocid
            ), buyer_region AS (
                SELECT p.ocid, arg_min(p.region_code, p.party_id) AS region_code
                FROM _f_parties p JOIN _f_processes f ON f.ocid = p.ocid
                WHERE p.region_code IS NOT NULL AND (p.party_id = f.buyer_id OR list_contains(p.roles, 'buyer'))
                GROUP BY p.ocid
            ), first_award AS (SELECT ocid, min(date) AS d FROM _f_awards GROUP BY ocid
            ), first_contract AS (SELECT ocid, min(date_signed) AS d FROM _f_contracts GROUP BY ocid)
            SELECT {own_f}, rel.release_id, rel.release_date, rel.n_releases, br.region_code,
                   CAST(year(coalesce(f.tender_start, fa.d, fc.d, rel.release_date)) AS INTEGER)
            FROM _f_processes f
            LEFT JOIN rel USING (ocid)
            LEFT JOIN buyer_region br USING (ocid)
            LEFT JOIN first_award fa USING (ocid)
            LEFT JOIN first_contract fc USING (ocid)
        """)


def ingest_paths(con: duckdb.DuckDBPyConnection, paths: list[Path], strict: bool = False,
                 progress: ProgressFn | None = None) -> IngestResult:
    """Ingest files (directories are walked for *.json, *.jsonl, *.ndjson and their .gz) into `con`."""
    ingestor = Ingestor(con, strict=strict, progress=progress)
    files = expand_paths(paths)
    # Checkpoint once at the end rather than after every batch: each checkpoint recompresses the
    # tables' last row groups, which made commits the largest cost of an ingest.
    con.execute("SET checkpoint_threshold = '16GB'")
    ingestor.begin([str(p) for p in paths])
    status = "complete"
    try:
        ingestor.ingest_files(files)
    except StrictStop:
        status = "stopped"
    except BaseException:
        ingestor.finish("interrupted")
        raise
    result = ingestor.finish(status)
    con.execute("CHECKPOINT")
    return result


DATA_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz", ".gz")


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files named, and the data files found under directories named, in a stable order."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(DATA_SUFFIXES)))
        else:
            files.append(p)
    return files
