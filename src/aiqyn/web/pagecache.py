"""The rows of every process page, re-shaped for reading: one record per process, one per flagged subject.

A process page reads a process's rows from eleven tables, its score and the flags of the process and its
parties. Read from the analytics store (DuckDB, no index, columns compressed in row groups of 122,880 rows),
that is a dozen scans bounded by row ids, about 70 ms at 1M processes. This module copies those rows once,
unchanged, into a SQLite file keyed by ocid and by subject id (JSON text compressed with zlib, one record per
process), so a page
is two primary-key look-ups (well under a millisecond) however large the store, and every worker process of
`aiqyn serve --workers N` shares the file through the operating system's page cache.

Nothing is computed here: each record holds the rows `SELECT * FROM <table> WHERE ocid = ...` gives, in the
order the page shows them, and they are read back with the store's column types (timestamps, dates, doubles).
The file remembers which store (path, size, modification time) and which flags run it was made from; `serve`
rebuilds it when either changed. The store is only read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiqyn.web.analytics import Analytics

FORMAT = 2
"""Version of the file's layout: a file of another version is rebuilt. 2: records compressed (zlib)."""
LEVEL = 1  # zlib's fastest level: JSON of rows shrinks about five-fold at a fraction of the build's time

PAGE_TABLES: dict[str, str] = {
    # table: the order of its rows on a process page (the row id breaks ties, in the store's reads as here)
    "processes": "ocid",
    "parties": "party_id",
    "lots": "lot_id",
    "items": "section, parent_id, position",
    "bid_tenderers": "bid_position, party_id",
    "bids": "amount NULLS LAST, position",
    "award_suppliers": "award_position, party_id",
    "awards": "position",
    "contracts": "position",
    "contract_amendments": "contract_position, position",
    "documents": "section, position",
}
FLAG_COLUMNS = ("code", "subject_type", "subject_id", "value", "evidence")
SCORE_COLUMNS = ("score", "rank", "explanation")
CHUNK = 20_000  # processes per build step
FLAG_PARTS = 8  # the flags are copied in this many parts (by a hash of the subject), to bound memory


def store_identity(store: Path) -> dict[str, Any]:
    st = store.stat()
    return {"path": str(store.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _decoder(duck_type: str) -> Callable[[Any], Any] | None:
    """How a JSON value of this DuckDB column type becomes the Python value DuckDB itself would return."""
    t = duck_type.upper()
    if t in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        return lambda v: None if v is None else dt.datetime.fromisoformat(v).astimezone(dt.UTC)
    if t == "TIMESTAMP":
        return lambda v: None if v is None else dt.datetime.fromisoformat(v)
    if t == "DATE":
        return lambda v: None if v is None else dt.date.fromisoformat(v)
    if t in ("DOUBLE", "FLOAT", "REAL"):
        return lambda v: None if v is None else float(v)
    return None


class PageCache:
    """A built page cache, opened read-only (one SQLite connection per thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        meta = self.meta(path)
        if meta is None or meta.get("format") != FORMAT:
            raise ValueError(f"{path}: not a page cache of format {FORMAT} (rebuild it with `aiqyn serve`)")
        self.identity: dict[str, Any] = meta["store"]
        self.run_id: str = meta["run_id"]
        self._decoders: dict[str, list[tuple[str, Callable[[Any], Any]]]] = {}
        kept = {"flags": FLAG_COLUMNS, "scores": SCORE_COLUMNS}
        for table, columns in meta["columns"].items():
            self._decoders[table] = [(c, f) for c, t in columns.items()
                                     if (f := _decoder(t)) is not None and c in kept.get(table, columns)]

    @staticmethod
    def meta(path: Path) -> dict[str, Any] | None:
        """What the file was built from, or None when it is not a complete page cache."""
        if not path.exists():
            return None
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                row = con.execute("SELECT value FROM meta WHERE key = 'meta'").fetchone()
            finally:
                con.close()
        except sqlite3.Error:
            return None
        return json.loads(row[0]) if row else None

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.con = con
        return con

    def _decode(self, table: str, rows: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        rows = rows or []
        for name, f in self._decoders.get(table, ()):
            for r in rows:
                r[name] = f(r[name])
        return rows

    def tables(self, ocid: str) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any] | None] | None:
        """(rows per table, score row or None) of a process; None when the store has no such process."""
        row = self._con().execute("SELECT doc FROM processes WHERE ocid = ?", (ocid,)).fetchone()
        if row is None:
            return None
        doc = json.loads(zlib.decompress(row[0]))  # the stdlib parser: it reads the Infinity and NaN DuckDB writes
        tables = {t: self._decode(t, doc.get(t)) for t in PAGE_TABLES}
        score = doc.get("score")
        if score is not None:
            score = self._decode("scores", [score])[0]
        return tables, score

    def flags(self, ids: list[str]) -> list[dict[str, Any]]:
        """The flags of the run about these subjects, each subject's in the store's order."""
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        out: list[dict[str, Any]] = []
        for (doc,) in self._con().execute(f"SELECT doc FROM flags WHERE subject_id IN ({marks}) ORDER BY subject_id",
                                          ids).fetchall():
            out.extend(json.loads(zlib.decompress(doc)))
        return self._decode("flags", out)


def _packed(rows: list[tuple[str, str]]) -> Iterator[tuple[str, bytes]]:
    return ((key, zlib.compress(doc.encode(), LEVEL)) for key, doc in rows)


def build(analytics: Analytics, path: Path, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Copy every process page's rows from the store into a new page cache at `path` (written beside it, then
    renamed into place: a worker never sees half a file). Returns the file's meta record."""
    started = time.monotonic()
    run = analytics.run_id
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    columns: dict[str, dict[str, str]] = {}
    cur = analytics.cursor()
    try:
        for table in (*PAGE_TABLES, "flags", "scores"):
            if table in analytics.tables:
                cur.execute(f"DESCRIBE {table}")
                columns[table] = {r[0]: r[1] for r in cur.fetchall()}
        analytics.row_index()
        cur.execute("SELECT min(processes_lo), max(processes_lo), count(*) FROM memory.main.rows_by_ocid")
        lo, hi, n = cur.fetchone()  # type: ignore[misc]
        out = sqlite3.connect(tmp)
        out.execute("PRAGMA journal_mode = OFF")
        out.execute("PRAGMA synchronous = OFF")
        out.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        out.execute("CREATE TABLE processes (ocid TEXT PRIMARY KEY, doc BLOB NOT NULL)")  # zlib of the JSON text
        out.execute("CREATE TABLE flags (subject_id TEXT PRIMARY KEY, doc BLOB NOT NULL)")
        steps = ((hi - lo) // CHUNK + 1 if n else 0) + (FLAG_PARTS if run else 0)
        done = 0
        present = [t for t in PAGE_TABLES if t in analytics.tables]
        score_sql = ("(SELECT subject_id AS ocid, {" + ", ".join(f"'{c}': {c}" for c in SCORE_COLUMNS) + "} AS r "
                     "FROM scores WHERE run_id = $run AND subject_type = 'process' "
                     "AND subject_id IN (SELECT ocid FROM c))") if analytics.has_scores else \
            "(SELECT NULL::VARCHAR AS ocid, NULL AS r WHERE false)"
        for start in range(lo or 0, (hi or -1) + 1, CHUNK):
            cur.execute("CREATE OR REPLACE TEMP TABLE page_chunk AS SELECT * FROM memory.main.rows_by_ocid "
                        "WHERE processes_lo BETWEEN $a AND $b", {"a": start, "b": start + CHUNK - 1})
            bounds = cur.execute("SELECT " + ", ".join(f"min({t}_lo), max({t}_hi)" for t in present)
                                 + " FROM page_chunk").fetchone()
            ctes = ["c AS (SELECT ocid FROM page_chunk)"]
            for i, table in enumerate(present):
                t_lo, t_hi = bounds[2 * i], bounds[2 * i + 1]  # type: ignore[index]
                span = f"t.rowid BETWEEN {int(t_lo)} AND {int(t_hi)}" if t_lo is not None else "false"
                order = ", ".join(f"t.{k.strip()}" for k in PAGE_TABLES[table].split(","))
                # each row as DuckDB writes it in JSON, joined into a list (faster than to_json of a list)
                ctes.append(f"{table}_ AS (SELECT t.ocid, '[' || string_agg(to_json(t), ',' ORDER BY {order}, "
                            f"t.rowid) || ']' AS r FROM {table} t "
                            f"WHERE {span} AND t.ocid IN (SELECT ocid FROM c) GROUP BY t.ocid)")
            ctes.append(f"score_ AS {score_sql}")
            doc = " || ',' || ".join([f"'\"{t}\":' || coalesce({t}_.r, '[]')" for t in present]
                                     + ["'\"score\":' || coalesce(to_json(score_.r), 'null')"])
            joins = " ".join(f"LEFT JOIN {t}_ ON {t}_.ocid = c.ocid" for t in (*present, "score"))
            cur.execute(f"WITH {', '.join(ctes)} SELECT c.ocid, '{{' || {doc} || '}}' FROM c {joins}", {"run": run})
            out.executemany("INSERT INTO processes VALUES (?, ?)", _packed(cur.fetchall()))
            done += 1
            if progress:
                progress(done, steps)
        if run:
            cols = ", ".join(f"'{c}': {c}" for c in FLAG_COLUMNS)
            for part in range(FLAG_PARTS):
                cur.execute(f"SELECT subject_id, to_json(list({{{cols}}} ORDER BY rowid)) FROM flags "
                            f"WHERE run_id = $run AND hash(subject_id) % {FLAG_PARTS} = {part} GROUP BY subject_id",
                            {"run": run})
                out.executemany("INSERT INTO flags VALUES (?, ?)", _packed(cur.fetchall()))
                done += 1
                if progress:
                    progress(done, steps)
        meta = {"format": FORMAT, "store": store_identity(analytics.path), "run_id": run, "columns": columns,
                "processes": out.execute("SELECT count(*) FROM processes").fetchone()[0],
                "subjects": out.execute("SELECT count(*) FROM flags").fetchone()[0],
                "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "seconds": round(time.monotonic() - started, 1)}
        out.execute("INSERT INTO meta VALUES ('meta', ?)", (json.dumps(meta),))
        out.commit()
        out.close()
        cur.execute("DROP TABLE IF EXISTS page_chunk")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        cur.close()
    os.replace(tmp, path)
    return meta


def is_current(path: Path, analytics: Analytics) -> bool:
    """The file at `path` is a complete page cache of this store and its newest flags run."""
    meta = PageCache.meta(path)
    return bool(meta and meta.get("format") == FORMAT and meta.get("store") == store_identity(analytics.path)
                and meta.get("run_id") == analytics.run_id)
