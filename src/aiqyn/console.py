"""What every command of the command line shares: how an error is reported."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

err = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `error: message` on standard error and leave the command with `code` (2: bad input).

    User input (paths, reasons quoting the data) is never markup; messages are not wrapped, so that a file name
    stays whole in logs (rich wraps at 80 columns when the output is not a terminal)."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)
