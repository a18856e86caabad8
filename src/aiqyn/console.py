"""What every command of the command line shares: how an error is reported and how the store is opened."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    import duckdb

err = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `error: message` on standard error and leave the command with `code` (2: bad input).

    User input (paths, reasons quoting the data) is never markup; messages are not wrapped, so that a file name
    stays whole in logs (rich wraps at 80 columns when the output is not a terminal)."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def open_store_or_fail(db: Path, *, read_only: bool = False, must_exist: bool = True,
                       hint: str = "run `aiqyn ingest` first") -> duckdb.DuckDBPyConnection:
    """The store at `db` for a command, or a clear error naming the file (exit 2), never a traceback.

    `read_only` opens an existing store for reading (several readers at once, the UTC session of
    `store.db.connect`); otherwise the store is opened for writing and its tables created when missing.
    `must_exist` refuses a missing file (always so for reading) with `hint`, what to run first. A store
    locked by another process, a damaged file or one of another schema version is reported as such."""
    import duckdb

    from aiqyn.store.db import connect, open_store

    if (must_exist or read_only) and not db.exists():
        fail(f"{db}: no store here; {hint} (or pass --db)")
    try:
        return connect(db, read_only=True) if read_only else open_store(db)
    except (duckdb.Error, RuntimeError, OSError) as e:  # locked by a writer, damaged, another schema version
        fail(f"{db}: cannot open the store: {e}")
