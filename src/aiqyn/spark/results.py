"""Loading a Spark run's results (Parquet) into a DuckDB store, where the web application reads them.

`aiqyn flags import DIR --db STORE` reads DIR/flag_runs, DIR/flags, DIR/scores and DIR/region_index (written by
`aiqyn flags run --engine spark`) and stores them as the DuckDB path would have: the run's row in `flag_runs`, its
flags and scores (rows of an earlier import of the same run replaced), and `region_index` replaced whole (it is
rewritten whole by every `aiqyn regions run` too). One transaction: a failed import changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from aiqyn.store.schema import SCHEMA


class ResultsError(ValueError):
    """A results directory that cannot be imported; the message names the path."""


@dataclass
class ImportResult:
    run_id: str
    rows: dict[str, int] = field(default_factory=dict)


def _glob(folder: Path) -> str:
    return str(folder / "**" / "*.parquet").replace("'", "''")


def import_results(con: duckdb.DuckDBPyConnection, folder: Path) -> ImportResult:
    """Import a Spark run's output directory into the store opened as `con`."""
    from aiqyn.indicators.runner import ensure_tables

    if not (folder / "flag_runs").is_dir():
        raise ResultsError(f"{folder}: no flag_runs/ here; not the output of `aiqyn flags run --engine spark`")
    runs = con.execute(f"SELECT run_id FROM read_parquet('{_glob(folder / 'flag_runs')}')").fetchall()
    if len(runs) != 1:
        raise ResultsError(f"{folder / 'flag_runs'}: expected one run, found {len(runs)}")
    run_id = str(runs[0][0])
    ensure_tables(con)
    result = ImportResult(run_id)
    con.execute("BEGIN TRANSACTION")
    try:
        for name in ("flag_runs", "flags", "scores"):
            if not (folder / name).is_dir():
                continue
            cols = ", ".join(f'"{c}"' for c in SCHEMA.outputs[name].column_names)
            con.execute(f"DELETE FROM {name} WHERE run_id = ?", [run_id])
            source = f"read_parquet('{_glob(folder / name)}', hive_partitioning = true, union_by_name = true)"
            found = con.execute(f"SELECT DISTINCT run_id FROM {source}").fetchall()
            if any(str(r[0]) != run_id for r in found):
                raise ResultsError(f"{folder / name}: rows of another run than {run_id}")
            con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {source}")
            result.rows[name] = int(con.execute(f"SELECT count(*) FROM {name} WHERE run_id = ?",
                                                [run_id]).fetchone()[0])  # type: ignore[index]
        if (folder / "region_index").is_dir():
            table = SCHEMA.outputs["region_index"]
            cols = ", ".join(f'"{c}"' for c in table.column_names)
            con.execute("DROP TABLE IF EXISTS region_index")
            con.execute(table.ddl())
            con.execute(f"INSERT INTO region_index ({cols}) SELECT {cols} FROM "
                        f"read_parquet('{_glob(folder / 'region_index')}')")
            result.rows["region_index"] = int(con.execute("SELECT count(*) FROM region_index").fetchone()[0])  # type: ignore[index]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result
