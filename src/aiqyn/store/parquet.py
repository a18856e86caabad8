"""The store as partitioned Parquet: the input of the distributed path (`aiqyn flags run --engine spark`).

`aiqyn store export --format parquet DIR` writes one directory per table of the store (the ingest tables, the
input registers and the analytic tables present in the store file). A table with an `ocid` column is partitioned
by the year of its process (`processes.year`): `DIR/<table>/partition_year=<year>/*.parquet`, year 0 holding the
processes without a year (and rows whose process is unknown). Other tables are one file,
`DIR/<table>/data.parquet`. The partition column is an extra column; the table's own columns keep their name and
their type, written by DuckDB into the Parquet files (TIMESTAMPTZ as a UTC-adjusted timestamp, DATE as a date,
VARCHAR[] as a list of strings, DOUBLE, INTEGER, BIGINT, BOOLEAN).

`DIR/_aiqyn_schema.json` is the manifest: the schema version, and for every table its columns with the types of
schema.yaml, its row count and whether it is partitioned. A reader (aiqyn.spark.engine) checks it, reads only
those columns and casts them to the schema's types, so both engines see the same typed tables.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from aiqyn.store.schema import SCHEMA, Table

MANIFEST = "_aiqyn_schema.json"
PARTITION = "partition_year"


class ParquetError(ValueError):
    """A Parquet directory that cannot be written or read as a store export; the message names the path."""


def schema_tables() -> dict[str, Table]:
    """Every table schema.yaml declares: ingest tables, registers, analytic outputs."""
    return {**SCHEMA.tables, **SCHEMA.registers, **SCHEMA.outputs}


@dataclass
class ExportResult:
    out: Path
    tables: dict[str, int] = field(default_factory=dict)  # rows per table written
    skipped: list[str] = field(default_factory=list)  # declared tables absent from the store file


def export_parquet(con: duckdb.DuckDBPyConnection, out: Path, overwrite: bool = False,
                   progress: Callable[[str, int, int], None] | None = None) -> ExportResult:
    """Write every table of the store present in `con` under `out` (see the module's docstring)."""
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ParquetError(f"{out}: the directory is not empty; give --overwrite to replace it")
        if not (out / MANIFEST).exists():
            raise ParquetError(f"{out}: not empty and not a store export (no {MANIFEST}); refusing to delete it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    present = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    declared = schema_tables()
    result = ExportResult(out)
    manifest: dict[str, Any] = {"schema_version": SCHEMA.version, "partition_column": PARTITION, "tables": {}}
    names = [n for n in declared if n in present]
    result.skipped = [n for n in declared if n not in present]
    has_processes = "processes" in present
    for done, name in enumerate(names, start=1):
        table = declared[name]
        actual = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ?",
            [name]).fetchall()}
        missing = [c for c in table.column_names if c not in actual]
        if missing:
            raise ParquetError(f"table {name}: the store lacks column(s) {', '.join(missing)} of schema.yaml "
                               f"(schema version {SCHEMA.version}); re-ingest into a new store file")
        cols = ", ".join(f't."{c}"' for c in table.column_names)
        target = out / name
        n = int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])  # type: ignore[index]
        partitioned = "ocid" in table.column_names and has_processes and n > 0
        if partitioned:
            year = "t.year" if name == "processes" else "y.year"
            join = "" if name == "processes" else " LEFT JOIN (SELECT ocid, year FROM processes) y ON y.ocid = t.ocid"
            con.execute(f"COPY (SELECT {cols}, CAST(coalesce({year}, 0) AS INTEGER) AS {PARTITION} "
                        f'FROM "{name}" t{join}) TO \'{_quote(target)}\' '
                        f"(FORMAT parquet, PARTITION_BY ({PARTITION}), COMPRESSION zstd)")
        else:
            target.mkdir(parents=True, exist_ok=True)
            con.execute(f'COPY (SELECT {cols} FROM "{name}" t) TO \'{_quote(target / "data.parquet")}\' '
                        f"(FORMAT parquet, COMPRESSION zstd)")
        manifest["tables"][name] = {"rows": n, "partitioned": partitioned,
                                    "columns": {c.name: c.type for c in table.columns}}
        result.tables[name] = n
        if progress is not None:
            progress(name, done, len(names))
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return result


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a store export, checked against this Aiqyn's schema version."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise ParquetError(f"{folder}: no such directory; write one with `aiqyn store export --format parquet`")
    if not path.exists():
        raise ParquetError(f"{path}: missing; {folder} is not a store export (`aiqyn store export --format parquet`)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ParquetError(f"{path}: not a JSON manifest: {e}") from None
    version = manifest.get("schema_version")
    if version != SCHEMA.version:
        raise ParquetError(f"{path}: schema version {version}, this Aiqyn expects {SCHEMA.version}; export the "
                           "store again with this version")
    if not isinstance(manifest.get("tables"), dict):
        raise ParquetError(f"{path}: key 'tables' missing or not an object")
    return manifest


def table_path(folder: Path, name: str) -> Path:
    return folder / name
