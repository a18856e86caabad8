"""`aiqyn goszakup fetch`: pages of goszakup.gov.kz's OWS v3 API into JSON lines that `aiqyn ingest` reads."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(help="goszakup.gov.kz, Kazakhstan's e-procurement portal: fetch its OWS v3 API with a token "
                  "(ingest the files with `aiqyn ingest`; docs/goszakup.md).", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@app.command("fetch")
def fetch_command(
    token: Annotated[str, typer.Option("--token", envvar="GOSZAKUP_TOKEN", help="The API token (Bearer).")],
    entity: Annotated[str, typer.Option(
        "--entity", help="contract, plans, trd-buy, lots, subject, rnu, refs/NAME (e.g. refs/ref_units) or a "
        "/v3/ path.")],
    out: Annotated[Path, typer.Option("--out", help="JSON-lines file of the items fetched (OUT.fetch-state beside "
                                      "it keeps where the fetch is).")],
    since: Annotated[str | None, typer.Option(
        "--since", help="Stop at the first page whose items were all last updated before this date "
        "(YYYY-MM-DD); older items are left out.")] = None,
    base_url: Annotated[str, typer.Option("--base-url", help="The API's address.")] = "https://ows.goszakup.gov.kz",
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="Items per page.")] = 500,
    max_pages: Annotated[int | None, typer.Option("--max-pages", min=1, help="Stop after this many pages "
                                                  "(the next run goes on from there).")] = None,
    retries: Annotated[int, typer.Option("--retries", min=0, help="Retries of a request failing with 429 or "
                                         "5xx.")] = 6,
    retry_wait: Annotated[float, typer.Option("--retry-wait", min=0, help="Seconds before the first retry; "
                                              "doubled at each.")] = 1.0,
) -> None:
    """Fetch a register of goszakup.gov.kz page by page (`search_after`), resumable, into JSON lines.

    Requests failing with 429 or a 5xx status are retried with exponential backoff. Each page is written
    whole before the state file records it: a fetch interrupted (Ctrl-C, network down) and started again
    with the same arguments goes on from the next page. Exit code: 0 when the register was read to its end
    (or --since reached), 3 when --max-pages stopped it first, 1 on an error.
    """
    from aiqyn.goszakup.fetch import FetchError, fetch

    show = sys.stderr.isatty()

    def progress(r: object) -> None:
        if show:
            err.print(f"page {r.pages:,}: {r.items:,} items", end="\r")  # type: ignore[attr-defined]

    try:
        result = fetch(token, entity, out, since=since, base_url=base_url, limit=limit, max_pages=max_pages,
                       retries=retries, retry_wait=retry_wait, progress=progress)
    except FetchError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("[yellow]interrupted:[/] start the same command again to go on from the last page written")
        raise typer.Exit(130) from None
    how = "resumed, " if result.resumed else ""
    state = "complete" if result.done else f"stopped before {result.next_page}"
    console.print(f"{how}{result.pages:,} pages, {result.items:,} items in {escape(str(out))} "
                  f"({result.retries} retries; {state})", soft_wrap=True)
    raise typer.Exit(0 if result.done else 3)
