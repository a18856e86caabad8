"""Opening the DuckDB store: one file, created with the schema on first use."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from aiqyn.store.schema import SCHEMA

DEFAULT_DB = "aiqyn.duckdb"


def default_db_path() -> Path:
    """The store's path: $AIQYN_DB, else ./aiqyn.duckdb."""
    return Path(os.environ.get("AIQYN_DB") or DEFAULT_DB)


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection with the session settings every part of Aiqyn relies on (UTC timestamps)."""
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    return con


def open_store(path: str | Path) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the store and make sure every table of the schema exists."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    con = connect(path)
    con.execute("CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    row = con.execute("SELECT value FROM store_meta WHERE key = 'schema_version'").fetchone()
    if row is not None and int(row[0]) != SCHEMA.version:
        con.close()
        raise RuntimeError(
            f"{path}: store has schema version {row[0]}, this Aiqyn expects {SCHEMA.version}; "
            "re-ingest into a new store file"
        )
    for table in SCHEMA.tables.values():
        con.execute(table.ddl())
    if row is None:
        con.execute("INSERT INTO store_meta VALUES ('schema_version', ?)", [str(SCHEMA.version)])
    return con
