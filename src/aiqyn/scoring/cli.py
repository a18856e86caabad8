"""`aiqyn score`, `aiqyn evaluate` and `aiqyn registers import`: thin commands over scoring, evaluation and the
input registers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aiqyn.indicators.cli import DEFAULT_DB, DbOption, _fail, _open, _run_id

console = Console()
err = Console(stderr=True)

WeightsOption = Annotated[Path | None, typer.Option(
    "--weights", help="A TOML file with a [weights] table (indicator code = weight >= 0) overriding the default "
    "weights (docs/indicators/scoring.md).")]

registers_app = typer.Typer(help="Input registers, imported from files: the register of unreliable suppliers (used by "
                            "the flags) and the registers other modules attach here.", no_args_is_help=True)
import_app = typer.Typer(help="Import a register from a file.", no_args_is_help=True)
registers_app.add_typer(import_app, name="import")


def print_scores(result: Any) -> None:
    table = Table(title=f"Scores of run {result.run_id}")
    table.add_column("subject type")
    table.add_column("scored", justify="right")
    table.add_column("score > 0", justify="right")
    for subject_type in ("process", "buyer", "supplier", "region"):
        if subject_type in result.counts:
            table.add_row(subject_type, f"{result.counts[subject_type]:,}", f"{result.flagged[subject_type]:,}")
    console.print(table)


def score_command(
    db: DbOption = DEFAULT_DB,
    run: Annotated[str | None, typer.Option("--run", help="The flags run to score (default: the latest).")] = None,
    weights: WeightsOption = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Show the riskiest N of each subject type.")] = 5,
) -> None:
    """Compute the composite risk score of a flags run per process, buyer, supplier and region.

    `aiqyn flags run` already does this with the default weights; run it again with --weights to re-weight. The
    scores, ranks and explanations go to the `scores` table (replacing that run's earlier scores).
    """
    from aiqyn.scoring import WeightsError, load_weights, score_run

    try:
        resolved = load_weights(weights)
    except WeightsError as e:
        _fail(str(e))
    con = _open(db, read_only=False)
    try:
        run_id = _run_id(con, run)
        result = score_run(con, run_id, resolved)
        print_scores(result)
        for subject_type in ("process", "buyer", "supplier", "region"):
            rows = con.execute("SELECT rank, subject_id, score, explanation FROM scores WHERE run_id = ? AND "
                               "subject_type = ? AND rank <= ? ORDER BY rank", [run_id, subject_type, top]).fetchall()
            for rank, subject_id, score, explanation in rows:
                parts = ", ".join(f"{c['code']} {c['contribution']:.3f}" for c in json.loads(explanation))
                console.print(f"{subject_type} #{rank} {escape(subject_id)}: {score:.3f} ({parts})", soft_wrap=True)
    finally:
        con.close()


def evaluate_command(
    truth: Annotated[Path, typer.Option("--truth", help="The truth.json written by `aiqyn generate`.")],
    db: DbOption = DEFAULT_DB,
    run: Annotated[str | None, typer.Option("--run", help="The flags run to evaluate (default: the latest).")] = None,
    top: Annotated[list[int] | None, typer.Option(
        "--top", help="Also report the planted share of the top K of the risk ranking for this K (repeatable); "
        "K = the number of planted processes is always reported.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of the table.")] = False,
) -> None:
    """Precision, recall and F1 of the flags for each planted scheme, and the planted share of the top of the
    risk ranking.

    Each scheme is matched with the indicators that target it (docs/evaluation.md); a scheme is measured on
    processes, and on buyers or suppliers where truth.json names them. Run `aiqyn flags run` first.
    """
    from aiqyn.evaluate import TruthError, evaluate, load_truth, report

    try:
        data = load_truth(truth)
    except TruthError as e:
        _fail(str(e))
    con = _open(db, read_only=True)
    try:
        run_id = _run_id(con, run)
        if not con.execute("SELECT count(*) FROM scores WHERE run_id = ?", [run_id]).fetchone()[0]:
            _fail(f"run {run_id} has no scores: run `aiqyn score --db {db}` first")
        result = evaluate(con, data, run_id, top)
        prices = _prices_evaluation(con, data)
        from aiqyn.publiccontrol.evaluate import evaluate as evaluate_public_control

        public_control = evaluate_public_control(con, data)  # None without queue/accountability data
    finally:
        con.close()
    if as_json:
        sys.stdout.write(json.dumps({**result.as_dict(), **({"prices": prices} if prices else {}),
                                     **({"public_control": public_control} if public_control else {})},
                                    indent=1) + "\n")
    else:
        sys.stdout.write(report(result))
        if prices:
            line = ("\nprice findings (`aiqyn prices run`) on the planted overpricing: "
                    f"precision {prices['precision']:.3f}, recall {prices['recall']:.3f} "
                    f"({prices['true_positives']:,} of {prices['planted']:,} found, "
                    f"{prices['false_positives']:,} false positives)")
            money = prices.get("money")
            if money:
                line += (f"; money at stake on the planted items {money['computed_kzt']:,.2f} KZT against "
                         f"{money['planted_kzt']:,.2f} KZT planted ({money['error']:+.2%})")
            sys.stdout.write(line + "\n")
        if public_control:
            from aiqyn.publiccontrol.evaluate import report as public_control_report

            sys.stdout.write(public_control_report(public_control))


def _prices_evaluation(con: Any, truth: dict[str, Any]) -> dict[str, Any] | None:
    """The prices module's evaluation of the planted overpricing, when the store holds price findings."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if not {"price_findings", "price_runs"} <= tables or not con.execute("SELECT count(*) FROM price_runs"
                                                                         ).fetchone()[0]:
        return None  # no `aiqyn prices run` yet
    from aiqyn.prices.evaluate import evaluate as evaluate_prices

    try:
        return evaluate_prices(con, truth)
    except ValueError:
        return None


@import_app.command("unreliable")
def import_unreliable_command(
    file: Annotated[Path, typer.Argument(help="CSV with columns bin, included_on (required), name, excluded_on, "
                                         "reason; dates YYYY-MM-DD or DD.MM.YYYY.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Import the register of unreliable suppliers (RNU) into the store's `unreliable_suppliers` table (KZ005).

    Bad rows are reported with file, line and field and left out; good rows replace an entry with the same BIN
    and inclusion date. Exit code 0 when every row was imported, 1 when some were left out, 2 when the file
    cannot be read.
    """
    from aiqyn.indicators.registers import RegisterError, import_unreliable

    con = _open(db, read_only=False)
    try:
        result = import_unreliable(con, file)
    except RegisterError as e:
        _fail(str(e))
    finally:
        con.close()
    for message in result.errors:
        err.print(f"[red]rejected[/] {escape(message)}", soft_wrap=True)
    if result.ignored_columns:
        err.print(f"ignored column(s): {escape(', '.join(result.ignored_columns))}", soft_wrap=True)
    console.print(f"imported {result.imported:,} register entries from {escape(str(file))}, "
                  f"{len(result.errors):,} rows left out", soft_wrap=True)
    raise typer.Exit(1 if result.errors else 0)
