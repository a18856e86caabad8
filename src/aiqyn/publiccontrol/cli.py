"""`aiqyn queue ...` and `aiqyn accountability ...`: thin commands over the public-control package
(docs/public-control.md)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from aiqyn.console import fail as _fail
from aiqyn.console import open_store_or_fail

console = Console()
err = Console(stderr=True)

DbOption = Annotated[Path, typer.Option("--db", envvar="AIQYN_DB", help="The DuckDB store file (created when "
                                        "missing).", show_default=True)]
DEFAULT_DB = Path("aiqyn.duckdb")
KeyFile = Annotated[Path | None, typer.Option(
    "--key-file", help="File holding the queue operator's secret key (at least 16 bytes), which turns IINs into "
    "applicants' public codes. Default: the environment variable AIQYN_QUEUE_KEY.")]

queue_app = typer.Typer(help="Transparent public queues (kindergarten places, housing, land plots): a hash-chained, "
                        "sealed public ledger per queue, verification, positions, out-of-turn checks "
                        "(docs/public-control.md).", no_args_is_help=True)
accountability_app = typer.Typer(help="The accountability register: corruption offences, the heads of their "
                                 "organisations and the resignation statements due (docs/public-control.md).",
                                 no_args_is_help=True)


def _open(db: Path, create: bool = True, read_only: bool = False) -> Any:
    return open_store_or_fail(db, read_only=read_only, must_exist=not create,
                              hint="run `aiqyn queue import` or `aiqyn accountability import` first")


def _progress() -> Progress:
    """A spinner with the rows read on a terminal (nothing when stderr is a file or a pipe)."""
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                    transient=True, disable=not sys.stderr.isatty())


# -- queues -------------------------------------------------------------------------------------------------------
@queue_app.command("import")
def queue_import(
    file: Annotated[Path, typer.Argument(help="The operator's events: CSV with a header, JSON lines (.jsonl) or a "
                                         "JSON array (.json); columns in docs/public-control.md.")],
    db: DbOption = DEFAULT_DB,
    key_file: KeyFile = None,
    seal_every: Annotated[int, typer.Option("--seal-every", min=0, help="Append a seal after this many entries "
                                            "(0: only on `aiqyn queue seal`).")] = 100,
) -> None:
    """Append the operator's queue events to the queues' public ledgers.

    Each row: event_id, queue_id, event (registered, priority_changed, offered, accepted, refused, removed), at,
    applicant_iin (required); kind, queue_name, region_kato, organisation_bin (the first event of a new queue
    gives at least kind); application_date and priority (registered), priority and reason (priority_changed),
    place_id (offers), group, official_iin. The public ledger gets the applicant's code, never the IIN; an event
    already imported (same event_id) is skipped. Bad rows and impossible events (an offer to someone not waiting)
    are reported with file, line and field and left out. Exit code 0 when all went in, 1 when rows were left
    out, 2 when the file or the key cannot be used.
    """
    from aiqyn.conflicts.registers import RegisterFileError
    from aiqyn.publiccontrol.queues import QueueError, import_events, load_key

    try:
        key = load_key(key_file)
    except QueueError as e:
        _fail(str(e))
    con = _open(db)
    try:
        with _progress() as progress:
            task = progress.add_task(f"importing {file}", total=None)
            result = import_events(con, file, key, seal_every,
                                   progress=lambda n: progress.update(task, description=f"{file}: {n:,} rows read"))
    except (RegisterFileError, QueueError) as e:
        _fail(str(e))
    finally:
        con.close()
    for r in result.rejects[:200]:
        err.print(f"[red]rejected[/] {escape(str(r))}", soft_wrap=True)
    if len(result.rejects) > 200:
        err.print(f"... and {len(result.rejects) - 200:,} more (all kept in register_rejects)")
    total = sum(result.appended.values())
    console.print(f"appended {total:,} ledger entries ({result.seals:,} seals) to {len(result.appended):,} "
                  f"queue(s) from {escape(str(file))}; {result.skipped:,} events already in the ledger, "
                  f"{len(result.rejects):,} rows left out (kept in register_rejects)", soft_wrap=True)
    raise typer.Exit(1 if result.rejects else 0)


@queue_app.command("code")
def queue_code(
    queue: Annotated[str, typer.Argument(help="The queue id.")],
    iin: Annotated[str, typer.Argument(help="The applicant's IIN.")],
    key_file: KeyFile = None,
) -> None:
    """Print the applicant's public code in a queue (for the operator to give the applicant)."""
    from aiqyn.conflicts.registers import parse_id
    from aiqyn.publiccontrol.queues import QueueError, applicant_code, load_key

    try:
        key = load_key(key_file)
        number = parse_id(iin)
    except (QueueError, ValueError) as e:
        _fail(str(e))
    console.print(applicant_code(key, queue, number))


@queue_app.command("list")
def queue_list(db: DbOption = DEFAULT_DB, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The queues of the store: entries, applicants waiting, the last seal and its root."""
    con = _open(db, create=False, read_only=True)
    from aiqyn.publiccontrol import views

    rows = views.queues(con)
    con.close()
    if as_json:
        sys.stdout.write(json.dumps(rows, default=str, indent=1) + "\n")
        return
    t = Table("queue", "kind", "region", "entries", "waiting", "last seal", "root")
    for r in rows:
        t.add_row(r["queue_id"], r["kind"], r["region_kato"] or "", f"{r['entries']:,}", f"{r['waiting']:,}",
                  str(r["last_seal_seq"] or "—"), (r["last_root"] or "—")[:16])
    console.print(t)


@queue_app.command("seal")
def queue_seal(
    queues: Annotated[list[str] | None, typer.Argument(help="Queue ids (default: every queue).")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Append a seal to each queue now: the Merkle root of all its entries so far. Publish the root (a newspaper,
    a web page, a citizen's notebook): `aiqyn queue verify FILE --seal ROOT` proves a later export kept that
    history."""
    from aiqyn.publiccontrol.queues import QueueError, seal

    con = _open(db, create=False)
    try:
        ids = queues or [r[0] for r in con.execute("SELECT queue_id FROM queues ORDER BY 1").fetchall()]
        if not ids:
            _fail(f"{db}: no queues (run `aiqyn queue import` first)")
        for qid in ids:
            s = seal(con, qid)
            console.print(f"{escape(qid)}: seal seq {s['seq']} over {s['covers']:,} entries, root {s['root']}")
    except QueueError as e:
        _fail(str(e))
    finally:
        con.close()


@queue_app.command("export")
def queue_export(
    queue: Annotated[str, typer.Argument(help="The queue id (`aiqyn queue list`).")],
    out: Annotated[Path, typer.Option("--out", help="The JSON-lines file to write.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Write the queue's public ledger: a header line, then one entry per line (codes, never names or IINs)."""
    from aiqyn.publiccontrol.queues import QueueError, export

    con = _open(db, create=False, read_only=True)
    try:
        n = export(con, queue, out)
    except QueueError as e:
        _fail(str(e))
    except OSError as e:
        _fail(f"{out}: cannot write: {e}")
    finally:
        con.close()
    console.print(f"{n:,} entries of {escape(queue)} written to {escape(str(out))}")


@queue_app.command("verify")
def queue_verify(
    file: Annotated[Path, typer.Argument(help="An export of `aiqyn queue export` (or of the public queue page).")],
    seal: Annotated[str | None, typer.Option("--seal", help="A seal root you kept: the ledger must contain "
                                             "it.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Verify a queue's ledger: every entry's sequence number, its link to the entry before (prev), its hash and
    every seal's Merkle root. Names the first broken entry (line, entry seq, what is wrong). Exit code 0 when the
    ledger verifies, 1 when it is broken, 2 when the file is not a ledger export."""
    from aiqyn.publiccontrol.ledger import LedgerFileError, verify

    try:
        v = verify(file, seal)
    except LedgerFileError as e:
        _fail(str(e))
    if as_json:
        sys.stdout.write(json.dumps({"file": str(file), "ok": v.ok, "entries": v.entries, "seals": v.seals,
                                     "last_hash": v.last_hash, "last_root": v.last_root,
                                     "broken": None if v.broken is None else {
                                         "line": v.broken.line, "seq": v.broken.seq, "reason": v.broken.reason}})
                         + "\n")
        raise typer.Exit(0 if v.ok else 1)
    if not v.ok:
        err.print(f"[bold red]broken:[/] {escape(str(file))}: {escape(str(v.broken))}", soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"{escape(str(file))}: OK, {v.entries:,} entries, {v.seals:,} seals; last hash {v.last_hash}"
                  + (f"; last seal root {v.last_root}" if v.last_root else "")
                  + (f"; contains the seal {seal}" if seal else ""), soft_wrap=True)


@queue_app.command("position")
def queue_position(
    file: Annotated[Path, typer.Argument(help="An export of the queue (verified before it is read).")],
    code: Annotated[str, typer.Argument(help="Your applicant code, as the operator gave it (XXXX-XXXX-XXXX).")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Where an applicant stands, computed from the public export alone: status, priority, group, position among
    the applicants of the group waiting (priority category, then date of application, then registration)."""
    from aiqyn.publiccontrol.ledger import LedgerFileError
    from aiqyn.publiccontrol.queues import QueueError, position_in_export

    try:
        p = position_in_export(file, code)
    except (LedgerFileError, QueueError) as e:
        _fail(str(e))
    if as_json:
        sys.stdout.write(json.dumps(p) + "\n")
    elif not p["found"]:
        _fail(f"{file}: no applicant with code {p['code']} in this queue", 1)
    elif p["position"]:
        console.print(f"{p['code']}: waiting, position {p['position']} of {p['waiting_in_group']} in group "
                      f"{p['group'] or '—'} (priority {p['priority']}, applied {p['applied_on']})")
    else:
        console.print(f"{p['code']}: {p['status']}" + (f", place {p['place']}" if p["place"] else ""))
    raise typer.Exit(0 if p["found"] else 1)


@queue_app.command("check")
def queue_check(
    db: DbOption = DEFAULT_DB,
    backdate_days: Annotated[int, typer.Option("--backdate-days", min=0, help="Days an application may be "
                                               "recorded after its date without being called back-dated.")] = 3,
    max_hops: Annotated[int, typer.Option("--max-hops", min=1, help="Longest affiliation path (relative, founder, "
                                          "director edges) between the official and the applicant.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Out-of-turn checks on every queue: out-of-turn offers, priority rises without a documented reason,
    back-dated applications, places offered to relatives or affiliates of the responsible official. The findings
    replace the earlier ones in `public_control_findings`. Exit code 0 without findings, 1 with findings."""
    from aiqyn.publiccontrol.detect import QueueRules, check

    con = _open(db, create=False)
    try:
        with _progress() as progress:
            progress.add_task("checking the queues", total=None)
            result = check(con, QueueRules(backdate_days, max_hops))
    finally:
        con.close()
    if as_json:
        sys.stdout.write(json.dumps([{"kind": f.kind, "queue": f.queue_id, "seq": f.seq, "applicant": f.applicant,
                                      "at": f.at, "evidence": f.evidence} for f in result.findings],
                                    ensure_ascii=False, indent=1) + "\n")
    else:
        console.print(f"{result.queues:,} queues, {result.entries:,} entries checked: "
                      + ", ".join(f"{k} {v:,}" for k, v in result.counts.items()))
    raise typer.Exit(1 if result.findings else 0)


# -- accountability ----------------------------------------------------------------------------------------------
@accountability_app.command("import")
def accountability_import(
    kind: Annotated[str, typer.Argument(help="offences or statements.")],
    file: Annotated[Path, typer.Argument(help="CSV with a header, JSON lines (.jsonl) or a JSON array (.json).")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Import corruption offences (case_number, code: criminal or administrative, article, registered_on,
    organisation_bin, status: registered, sent_to_court, convicted or acquitted, required; committed_on,
    person_iin, person_name, position, organisation_name, region_kato, status_on, head_iin) or resignation
    statements (case_number, head_iin, filed_on, required; decision: pending, accepted or rejected, decided_on,
    decided_by). A row with a stored key replaces it. Exit code 0 when all rows went in, 1 when some were left
    out (reported with file, line and field), 2 when the file cannot be read."""
    from aiqyn.conflicts.registers import RegisterFileError
    from aiqyn.publiccontrol.accountability import import_file

    if kind not in ("offences", "statements"):
        _fail(f"{kind!r}: expected offences or statements")
    con = _open(db)
    try:
        result = import_file(con, kind, file)
    except RegisterFileError as e:
        _fail(str(e))
    finally:
        con.close()
    for r in result.rejects[:200]:
        err.print(f"[red]rejected[/] {escape(str(r))}", soft_wrap=True)
    console.print(f"imported {result.imported:,} {kind} from {escape(str(file))}, {len(result.rejects):,} rows left "
                  "out (kept in register_rejects)", soft_wrap=True)
    raise typer.Exit(1 if result.rejects else 0)


@accountability_app.command("check")
def accountability_check(
    db: DbOption = DEFAULT_DB,
    deadline_days: Annotated[int, typer.Option("--deadline-days", min=0, help="Days the head has to file the "
                                               "resignation statement after the trigger.")] = 30,
    trigger: Annotated[str, typer.Option("--trigger", help="convicted (the verdict's entry into force) or "
                                         "registered (the case's registration).")] = "convicted",
    as_of: Annotated[str | None, typer.Option("--as-of", help="Judge deadlines on this date (YYYY-MM-DD; default "
                                              "today).")] = None,
) -> None:
    """Link every offence to its organisation's head at the time (the file's head_iin, else the officials register:
    a head's position, in office on the date of the offence), and judge the resignation statement: filed, filed
    late, overdue, due, not required. Writes accountability_status and the missing_statement findings."""
    from aiqyn.publiccontrol.accountability import Rules, check

    try:
        rules = Rules(deadline_days, trigger)
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError as e:
        _fail(f"--trigger/--as-of: {e}")
    con = _open(db, create=False)
    try:
        result = check(con, rules, day)
    finally:
        con.close()
    console.print(f"{result.offences:,} offences: " + ", ".join(f"{k} {v:,}" for k, v in result.counts.items()))


@accountability_app.command("show")
def accountability_show(
    db: DbOption = DEFAULT_DB,
    by: Annotated[str, typer.Option("--by", help="region or organisation.")] = "region",
    year: Annotated[int | None, typer.Option("--year")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="List the overdue statements instead.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Offences per year, heads concerned, statements required, filed, late and overdue, per region or
    organisation (after `aiqyn accountability check`); or the overdue statements."""
    from aiqyn.publiccontrol import views
    from aiqyn.publiccontrol.accountability import aggregates

    if by not in ("region", "organisation"):
        _fail(f"--by {by!r}: expected region or organisation")
    con = _open(db, create=False, read_only=True)
    try:
        if not views.has_accountability(con):
            _fail(f"{db}: the accountability register has not been checked yet: run `aiqyn accountability import` "
                  "and `aiqyn accountability check` first")
        rows = views.overdue(con) if overdue else aggregates(con, by, year)
    finally:
        con.close()
    if as_json:
        sys.stdout.write(json.dumps(rows, default=str, ensure_ascii=False, indent=1) + "\n")
        return
    if overdue:
        t = Table("case", "article", "organisation", "head", "deadline", "days overdue")
        for r in rows:
            t.add_row(r["case_number"], r["article"], r["organisation_name"] or r["organisation_bin"],
                      r["head_name"] or r["head_iin"] or "", str(r["deadline"]), str(r["days_late"]))
    else:
        t = Table(by, "year", "offences", "crimes", "heads", "required", "filed", "late", "overdue", "accepted")
        for r in rows:
            t.add_row(str(r["unit"]), str(r["year"]), *(f"{r[k]:,}" for k in (
                "offences", "crimes", "heads_concerned", "statements_required", "statements_filed", "filed_late",
                "overdue", "resignations_accepted")))
    console.print(t)
