"""`aiqyn export ocds`: the store as OCDS compiled releases, JSON lines."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(help="Write the store in open formats (OCDS).", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@app.command("ocds")
def ocds_command(
    out: Annotated[Path, typer.Option("--out", help="The JSON-lines file to write (one compiled release a line).")],
    db: Annotated[Path, typer.Option("--db", envvar="AIQYN_DB", help="The DuckDB store file.")] = Path(
        "aiqyn.duckdb"),
    validate: Annotated[bool, typer.Option(
        "--validate", help="Check every release against the OCDS release schema with the bids extension "
        "(shipped in the package); exit code 1 when one is invalid.")] = False,
) -> None:
    """Write every process of the store as an OCDS compiled release (JSON lines).

    The releases are built from the canonical tables only, whatever the data was read from (OCDS, or
    goszakup.gov.kz data turned into OCDS on ingest), so Aiqyn also turns goszakup data into OCDS for the
    open-contracting tools (Cardinal, Kingfisher, the Data Review Tool).
    """
    from aiqyn.export.ocds import export_file

    if not db.exists():
        err.print(f"[bold red]error:[/] {escape(str(db))}: no store here; run `aiqyn ingest` first (or pass --db)")
        raise typer.Exit(2)
    started = time.monotonic()
    result = export_file(db, out, validate=validate)
    for example in result.examples:
        err.print(f"[red]invalid[/] {escape(example)}", soft_wrap=True)
    checked = f", {result.invalid:,} invalid against the OCDS schema" if validate else ""
    console.print(f"wrote {result.releases:,} compiled releases to {escape(str(out))} in "
                  f"{time.monotonic() - started:,.1f} s{checked}", soft_wrap=True)
    raise typer.Exit(1 if result.invalid else 0)
