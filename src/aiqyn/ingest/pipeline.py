"""The ingest pipeline: units -> checked releases -> stored releases -> compiled processes -> canonical tables.

Two ways through, with the same result (a test checks it):

- The fast path: a JSON-lines file of compiled releases (the common bulk shape) is cut in pieces (by the
  kernel when it is not compressed), each parsed by DuckDB's read_json into typed structs, in parallel,
  and flattened from them straight into the stored tables, one transaction per piece. Anything
  unexpected in it (malformed JSON, a container or a field of the wrong type, a line that is not a
  compiled release) rolls the piece back and hands it to the careful path.
- The careful path: every other file, read in batches of about 32 MB of input, each batch one
  transaction. DuckDB parses each unit once into a typed struct (`try(json_transform)`); units that are
  not JSON objects are diagnosed in Python (orjson's message names the position); records and packages
  met on a JSON line are expanded in Python into their releases. Releases without an ocid, with a
  container or a field of the wrong type (an amount that is a string, a date that is not a date) are
  rejected with their line and JSON pointer.

Either way, an interrupted ingest leaves the store as it was before the unfinished transaction. Releases
already stored identically are skipped; a process is its newest compiled release when it has one, else
its releases merged with the OCDS merge rules (recompiled when a new release arrives); the rows of every
changed process are replaced in the canonical tables.
"""

from __future__ import annotations

import contextlib
import os
import queue
import tempfile
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

from aiqyn.ingest.flatten import (
    CONTAINERS,
    DERIVED_PROCESS_COLUMNS,
    READ_JSON_COLUMNS,
    STRUCTURE_SQL,
    _quote,
    flatten_sql,
)
from aiqyn.ingest.merge import compile_releases
from aiqyn.ingest.readers import (
    CHUNK_BYTES,
    Piece,
    Problem,
    Units,
    _raw_text,
    classify,
    fast_path_compression,
    read_units,
    split_json_lines,
)
from aiqyn.store.schema import SCHEMA

CANONICAL = [t for t in SCHEMA.tables if t not in ("releases", "rejects", "ingest_runs")]
# The message of the error a field of the wrong type raises in the fast path (the piece then goes the careful way).
FAST_PATH_ERROR = "aiqyn fast path: a field of the wrong type"
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
# A unit source reads a file of another format (goszakup.gov.kz) as OCDS releases: it returns the file's units,
# or None when the file is not its format (the OCDS readers then take it).
UnitSource = Callable[[Path], Iterator[Units | Problem] | None]
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
                 progress: ProgressFn | None = None, max_examples: int = 20,
                 unit_source: UnitSource | None = None):
        self.con = con
        self.unit_source = unit_source
        self.strict = strict
        self.progress = progress
        self.max_examples = max_examples
        self.result = IngestResult(run_id=uuid.uuid4().hex[:12])
        self._pending: list[tuple[str, Units]] = []
        self._pending_bytes = 0
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
        """Read every file; the careful path gathers units across files into batches of about CHUNK_BYTES."""
        done_bytes = 0
        for path in files:
            name = str(path)
            self.result.files += 1
            units = self.unit_source(path) if self.unit_source is not None else None
            if units is not None:  # another format, read as OCDS releases: the careful path
                self._careful(name, units, done_bytes)
            elif fast_path_compression(path) is not None:
                self._flush_pending()
                with tempfile.TemporaryDirectory(prefix="aiqyn-ingest-") as tmp:
                    for piece in split_json_lines(path, Path(tmp)):
                        if isinstance(piece, Problem):
                            self._problem(name, piece)
                            continue
                        try:
                            if not self._fast_piece(piece, name):
                                self._careful(name, read_units(piece.path, piece.first_line, json_lines=True))
                                self._flush_pending()
                        finally:
                            piece.path.unlink(missing_ok=True)
                        self._report(name, done_bytes + piece.position)
            else:
                self._careful(name, read_units(path), done_bytes)
            done_bytes += path.stat().st_size
            if not self._pending:
                self._report(name, done_bytes)
        self._flush_pending()
        self._report("", done_bytes)

    def _careful(self, name: str, items: Iterator[Units | Problem], done_bytes: int | None = None) -> None:
        for item in prefetch(items):
            if isinstance(item, Problem):
                self._problem(name, item)
                continue
            self._pending.append((name, item))
            self._pending_bytes += int(item.raws.nbytes)
            if self._pending_bytes >= CHUNK_BYTES:
                self._flush_pending()
                if done_bytes is not None:
                    self._report(name, done_bytes + item.position)

    def _problem(self, name: str, problem: Problem) -> None:
        reject = Reject(name, problem.line, problem.pointer, problem.reason, problem.raw)
        self._store_rejects([reject])
        if self.strict:
            raise StrictStop(reject)

    def _flush_pending(self) -> None:
        if self._pending:
            pending = self._pending
            self._pending, self._pending_bytes = [], 0
            self._flush(pending)

    def _fast_piece(self, piece: Piece, name: str) -> bool:
        """`_fast_piece_once`, run again once with more memory when it runs out: the store's indexes grow with
        it (at 10M processes the 1 GB default no longer holds a piece's parse), and falling back to the careful
        reader for want of memory made a 10M ingest four times slower."""
        try:
            return self._fast_piece_once(piece, name)
        except duckdb.OutOfMemoryException:
            with self._more_memory():
                return self._fast_piece_once(piece, name)

    @contextlib.contextmanager
    def _more_memory(self) -> Iterator[None]:
        """The memory limit raised to three quarters of the machine's memory, and set back afterwards."""
        limit = self.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]  # type: ignore[index]
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        self.con.execute(f"SET memory_limit = '{total * 3 // 4 // (1 << 20)}MB'")
        try:
            yield
        finally:
            # (when what the store now holds does not fit the old limit, the raised one stays)
            with contextlib.suppress(duckdb.OutOfMemoryException):
                self.con.execute("SET memory_limit = ?", [limit])

    def _fast_piece_once(self, piece: Piece, name: str) -> bool:
        """Ingest a piece of a JSON-lines file of compiled releases in one transaction, parsed by read_json.

        read_json parses the piece in parallel into typed structs (and fails on malformed JSON or a
        container of the wrong type); the canonical rows are flattened from them by the batch's SQL, but
        straight into the stored tables (no staging tables: each row is built and written once). Anything
        that needs a closer look (a line that is not a compiled release, a blank line, a missing ocid, a
        field of the wrong type) rolls the piece back and returns False: the piece is then read the
        careful way, which names the line of every problem. Returns True when the piece was ingested.
        """
        con = self.con
        try:
            # Parsed outside the transaction (a temp table is not part of the store), so that its row ids
            # count the lines from 0.
            try:
                con.execute(f"""
                    CREATE OR REPLACE TEMP TABLE _fast AS
                    SELECT t AS s FROM read_json(?, format = 'newline_delimited', columns = {READ_JSON_COLUMNS},
                                                 maximum_object_size = ?) t
                """, [str(piece.path), piece.path.stat().st_size + 1])  # (its buffers take twice that)
            except duckdb.InterruptException:
                raise KeyboardInterrupt from None
            except duckdb.OutOfMemoryException:
                raise  # not a problem of the file's: _fast_piece tries again with more memory
            except duckdb.Error:
                return False
            n, odd, first, last = con.execute("""
                SELECT count(*), count(*) FILTER (
                    WHERE nullif(trim(s.ocid), '') IS NULL OR s.compiledRelease IS NOT NULL OR s.records IS NOT NULL
                       OR (s.releases IS NOT NULL AND s.releases <> 'null')
                       OR NOT coalesce(list_contains(s.tag, 'compiled'), false)), min(rowid), max(rowid)
                FROM _fast
            """).fetchone()  # type: ignore[misc]
            # With no blank line, row i is line first_line + i.
            if n != piece.lines or odd or (first, last) != (0, n - 1):
                return False
            con.execute(f"""
                CREATE OR REPLACE TEMP VIEW _fdocs AS
                SELECT rowid AS k, {_quote(name)} AS source, 'line ' || ({piece.first_line} + rowid) AS ref, s,
                       NULL::VARCHAR AS raw
                FROM _fast
            """)
            counts = (self.result.accepted, self.result.unchanged)
            # Bulk appends in any order (faster; the order of rows in a table carries no meaning), but only
            # after the piece is parsed: the row ids of `_fast` number its lines.
            con.execute("SET preserve_insertion_order = false")
            con.execute("BEGIN TRANSACTION")
            try:
                # Only the releases not stored identically yet are flattened (a re-ingest flattens nothing),
                # straight from the parsed piece into the stored tables: a field of the wrong type raises
                # (FAST_PATH_ERROR), which rolls the piece back.
                if self._select_new("_fdocs"):
                    con.execute("CREATE OR REPLACE TEMP VIEW _fnew AS "
                                "SELECT * FROM _fdocs WHERE k IN (SELECT k FROM _new)")
                    self._store_new(direct="_fnew")
                con.execute("COMMIT")
            except duckdb.InvalidInputException as exc:
                con.execute("ROLLBACK")
                self.result.accepted, self.result.unchanged = counts
                if FAST_PATH_ERROR not in str(exc):
                    raise
                return False
            except BaseException:
                con.execute("ROLLBACK")
                self.result.accepted, self.result.unchanged = counts
                raise
        finally:
            con.execute("RESET preserve_insertion_order")
            con.execute("DROP VIEW IF EXISTS _fnew")
            con.execute("DROP VIEW IF EXISTS _fdocs")
            con.execute("DROP TABLE IF EXISTS _fast")
        return True

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
        """One batch in one transaction; a batch that needs more memory than the limit gets it, once."""
        counts = (self.result.accepted, self.result.unchanged)
        try:
            self._batch_once(table)
        except duckdb.OutOfMemoryException:
            # A single huge release (a 100 MB line) can need more than the memory limit, which is set for
            # bulk work: this batch runs again with three quarters of the machine's memory.
            self.result.accepted, self.result.unchanged = counts
            with self._more_memory():
                self._batch_once(table)

    def _batch_once(self, table: pa.Table) -> None:
        con = self.con
        con.register("_batch_arrow", table)
        expansions: list[tuple[str, int | None, str, str]] = []
        rejects: list[Reject] = []
        con.execute("BEGIN TRANSACTION")
        try:
            rejects, expansions = self._stage()
            if rejects and self.strict:
                raise StrictStop(rejects[0])
            con.execute("CREATE OR REPLACE TEMP VIEW _cdocs AS "
                        "SELECT d.*, b.raw FROM _docs d JOIN _batch_arrow b USING (k)")
            self._publish("_cdocs")
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
            SELECT k, CAST(source AS VARCHAR) AS source, CASE WHEN line IS NOT NULL THEN 'line ' || line END AS ref,
                   line, pointer, CASE WHEN t[1] = 'OBJECT' THEN s END AS s, t[2:] AS ctypes
            FROM (
                SELECT k, source, line, pointer, raw, s,
                       CASE WHEN s IS NOT NULL THEN json_type(raw, {_ROOT_AND_CONTAINER_PATHS}) END AS t
                FROM (SELECT k, source, line, pointer, raw, try(json_transform(raw, {STRUCTURE_SQL})) AS s
                      FROM _batch_arrow))
        """)
        con.execute("UPDATE _docs SET ref = concat_ws(' ', ref, pointer) WHERE pointer IS NOT NULL")
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

    def _publish(self, docs: str = "_docs") -> None:
        """Store the batch's new releases and replace the canonical rows of the processes they change.

        Reads `_docs` (k, source, ref, s, raw) and the flattened `_f_*` tables. A process is its newest
        compiled release when it has one (by date, then id), else its releases merged by the OCDS rules;
        so the store depends only on the set of releases ingested, not on their order.
        """
        if self._select_new(docs) == 0:
            return
        self._store_new()

    def _select_new(self, docs: str) -> int:
        """`_new`: the releases of `docs` not stored identically yet; counts them accepted or unchanged."""
        con = self.con
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _cand AS
            SELECT d.k, d.s.ocid AS ocid, coalesce(nullif(d.s.id, ''), 'hash:' || d.hash) AS release_id,
                   d.s.date AS date_text, TRY_CAST(d.s.date AS TIMESTAMPTZ) AS date, d.hash, d.compiled,
                   d.source, d.ref, CASE WHEN d.compiled THEN NULL ELSE rtrim(d.raw) END AS raw
            FROM (SELECT k, source, ref, s, raw, CAST(hash(s) AS VARCHAR) AS hash,
                         coalesce(list_contains(s.tag, 'compiled'), false) AS compiled FROM {docs}) d
            QUALIFY row_number() OVER (PARTITION BY d.s.ocid, release_id
                                       ORDER BY compiled DESC, date DESC NULLS LAST, hash DESC) = 1
        """.replace("{docs}", docs))
        valid = con.execute(f"SELECT count(*) FROM {docs}").fetchone()[0]  # type: ignore[index]
        # A stored release with the same id is replaced only by a later (compiled, date, hash):
        # order-independent. A compiled release is never replaced by a release with its id: its text is not
        # stored, so the process it stands for could not be rebuilt from it again.
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _new AS
            SELECT c.* FROM _cand c LEFT JOIN releases r ON r.ocid = c.ocid AND r.release_id = c.release_id
            WHERE r.ocid IS NULL OR (r.hash <> c.hash AND
                  (c.compiled, coalesce(c.date, '-infinity'::TIMESTAMPTZ), c.hash)
                  > (r.compiled, coalesce(r.date, '-infinity'::TIMESTAMPTZ), r.hash))
        """)
        new: int = con.execute("SELECT count(*) FROM _new").fetchone()[0]  # type: ignore[index]
        self.result.accepted += new
        self.result.unchanged += valid - new
        return new

    def _store_new(self, direct: str | None = None) -> None:
        """Store the releases of `_new` and replace the canonical rows of the processes they change.

        The rows come from the flattened `_f_*` tables, or, with `direct` (the fast path: parsed compiled
        releases, none of them checked yet), are flattened from `direct` straight into the stored tables.
        """
        con = self.con
        run_id = self.result.run_id
        con.execute("""
            DELETE FROM releases r USING _new n WHERE r.ocid = n.ocid AND r.release_id = n.release_id
        """)
        con.execute("""
            INSERT INTO releases (ocid, release_id, date, date_text, hash, compiled, source_file, source_ref,
                                  run_id, raw)
            SELECT ocid, release_id, date, date_text, hash, compiled, source, ref, ?, raw FROM _new
        """, [run_id])
        # What each changed process is now: its newest compiled release, its only release, or a merge.
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _plan AS
            SELECT ocid,
                   arg_max(release_id, (coalesce(date, '-infinity'::TIMESTAMPTZ), release_id))
                       FILTER (WHERE compiled) AS compiled_id,
                   arg_max(release_id, (coalesce(date, '-infinity'::TIMESTAMPTZ), release_id)) AS newest_id,
                   max(date) AS newest_date, max(date) FILTER (WHERE compiled) AS compiled_date,
                   CAST(count(*) AS INTEGER) AS n_releases
            FROM releases WHERE ocid IN (SELECT DISTINCT ocid FROM _new) GROUP BY ocid
        """)
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _keep AS
            SELECT n.k FROM _new n JOIN _plan p USING (ocid)
            WHERE n.release_id = p.compiled_id OR (p.compiled_id IS NULL AND p.n_releases = 1)
        """)
        if direct is None:
            for table in CANONICAL:
                con.execute(f"DELETE FROM _f_{table} WHERE _k NOT IN (SELECT k FROM _keep)")
        # A process whose newest compiled release was stored before keeps its rows; only its count changes.
        con.execute("""
            UPDATE processes SET n_releases = p.n_releases FROM _plan p
            WHERE processes.ocid = p.ocid AND p.compiled_id IS NOT NULL
              AND p.compiled_id NOT IN (SELECT release_id FROM _new n WHERE n.ocid = p.ocid)
        """)
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _affected AS
            SELECT ocid FROM _plan
            WHERE compiled_id IS NULL OR compiled_id IN (SELECT release_id FROM _new n WHERE n.ocid = _plan.ocid)
        """)
        if direct is None:  # (in the fast path every changed process has a compiled release: none to merge)
            self._recompile()
        self._replace_rows(direct)

    def _recompile(self) -> None:
        """Processes with several stored releases and no compiled release: merged by the OCDS rules."""
        con = self.con
        multi = con.execute("""
            SELECT r.ocid, r.raw FROM releases r JOIN _plan p USING (ocid)
            WHERE p.compiled_id IS NULL AND p.n_releases > 1
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

    def _replace_rows(self, direct: str | None = None) -> None:
        """Replace the canonical rows of the `_affected` processes: from the `_f_*` tables, or flattened
        from the releases in `direct` (those of `_keep` stored, a wrong field in any raising FAST_PATH_ERROR)."""
        con = self.con
        known = con.execute(
            "SELECT count(*) FROM processes WHERE ocid IN (SELECT ocid FROM _affected)").fetchone()[0]  # type: ignore[index]

        def rows(table: str) -> str:
            if direct is None:
                return f"_f_{table}"
            return (f"(SELECT * FROM ({flatten_sql(table, direct)}) WHERE CASE WHEN _err IS NOT NULL "
                    f"THEN error({_quote(FAST_PATH_ERROR + ': ')} || _err) ELSE _k IN (SELECT k FROM _keep) END)")

        for table in CANONICAL:
            if known:
                con.execute(f"DELETE FROM {table} WHERE ocid IN (SELECT ocid FROM _affected)")
            if table == "processes":
                continue
            cols = ", ".join(f'"{c}"' for c in SCHEMA[table].column_names)
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {rows(table)}")
        own = [c for c in SCHEMA["processes"].column_names if c not in DERIVED_PROCESS_COLUMNS]
        own_cols = ", ".join(f'"{c}"' for c in own)
        own_f = ", ".join(f'f."{c}"' for c in own)
        con.execute(f"""
            INSERT INTO processes ({own_cols}, release_id, release_date, n_releases, region_code, year)
            SELECT {own_f}, coalesce(pl.compiled_id, pl.newest_id), pl.release_date, pl.n_releases, f._buyer_region,
                   CAST(year(coalesce(f.tender_start, f._first_award, f._first_contract, pl.release_date)) AS INTEGER)
            FROM {rows("processes")} f
            LEFT JOIN (SELECT *, CASE WHEN compiled_id IS NULL THEN newest_date ELSE compiled_date END AS release_date
                       FROM _plan) pl USING (ocid)
        """)


def ingest_paths(con: duckdb.DuckDBPyConnection, paths: list[Path], strict: bool = False,
                 progress: ProgressFn | None = None, unit_source: UnitSource | None = None) -> IngestResult:
    """Ingest files (directories are walked for *.json, *.jsonl, *.ndjson and their .gz) into `con`."""
    ingestor = Ingestor(con, strict=strict, progress=progress, unit_source=unit_source)
    files = expand_paths(paths)
    # Checkpoint once at the end rather than after every batch: each checkpoint recompresses the
    # tables' last row groups, which made commits the largest cost of an ingest.
    con.execute("SET checkpoint_threshold = '16GB'")
    # DuckDB spills to disk (beside the store) beyond this: peak memory stays bounded on big files.
    con.execute("SET memory_limit = ?", [os.environ.get("AIQYN_MEMORY_LIMIT") or "1GB"])
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
