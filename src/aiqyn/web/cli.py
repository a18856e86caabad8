"""`aiqyn serve`, `aiqyn app-db`, `aiqyn users`, `aiqyn audit`: the web application's commands.

    aiqyn serve [--db aiqyn.duckdb] [--app-db URL] [--host 127.0.0.1] [--port 8000]
    aiqyn app-db upgrade|current|downgrade|revision [--app-db URL]
    aiqyn users add NAME --role analyst|supervisor|compliance|ngo_reviewer [--org BIN] [--password-env VAR]
    aiqyn users list
    aiqyn audit verify [--expect-head HASH]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
err = Console(stderr=True)

AppDbOption = Annotated[str, typer.Option(
    "--app-db", envvar="AIQYN_APP_DB",
    help="The application database: a SQLAlchemy URL (postgresql://user@host/db) or a SQLite file.")]
DEFAULT_APP_DB = "aiqyn-app.sqlite"

app_db_app = typer.Typer(help="The application database (accounts, cases, recommendations, reports, audit log): "
                         "Alembic migrations.", no_args_is_help=True)
users_app = typer.Typer(help="Accounts of the web application.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log of the web application.", no_args_is_help=True)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def serve(
    db: Annotated[Path, typer.Option("--db", envvar="AIQYN_DB", help="The analytics store (DuckDB), opened read-only.")]
    = Path("aiqyn.duckdb"),
    app_db: AppDbOption = DEFAULT_APP_DB,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    upgrade: Annotated[bool, typer.Option("--upgrade/--no-upgrade",
                                          help="Migrate the application database first.")] = True,
) -> None:
    """Serve the web application: the workbench, recommendations and cases, the JSON API (/api/docs)."""
    import uvicorn

    from aiqyn.web.app import create_app
    from aiqyn.web.db import upgrade as run_upgrade
    from aiqyn.web.settings import WebSettings

    if not db.exists():
        err.print(f"[yellow]warning:[/] {escape(str(db))}: no analytics store; the risk queue and process pages "
                  "stay empty until one is given (--db)", soft_wrap=True)
    if upgrade:
        run_upgrade(app_db)
    try:
        application = create_app(WebSettings(db=db, app_db=app_db))
    except RuntimeError as exc:
        _fail(str(exc))
    if application.state.aiqyn.analytics is not None:
        started = time.monotonic()
        application.state.aiqyn.analytics.warm()
        console.print(f"read the risk queue of {db} in {time.monotonic() - started:.1f} s", soft_wrap=True)
    console.print(f"Aiqyn is served at [bold]http://{host}:{port}/[/] (API: http://{host}:{port}/api/docs); "
                  "Ctrl-C stops it", soft_wrap=True)
    uvicorn.run(application, host=host, port=port, log_level="info", proxy_headers=True)


@app_db_app.command("upgrade")
def app_db_upgrade(app_db: AppDbOption = DEFAULT_APP_DB,
                   revision: Annotated[str, typer.Option(help="Target revision.")] = "head") -> None:
    """Create the application database or bring it to the newest schema."""
    from aiqyn.web.db import current_revision, make_engine, upgrade

    upgrade(app_db, revision)
    engine = make_engine(app_db)
    console.print(f"application database at revision {current_revision(engine)}")
    engine.dispose()


@app_db_app.command("current")
def app_db_current(app_db: AppDbOption = DEFAULT_APP_DB) -> None:
    """Print the database's revision and the code's."""
    from aiqyn.web.db import current_revision, head_revision, make_engine

    engine = make_engine(app_db)
    current, head = current_revision(engine), head_revision()
    engine.dispose()
    console.print(f"database: {current or 'empty'}; code: {head}" + ("" if current == head else
                                                                      " (run `aiqyn app-db upgrade`)"))
    raise typer.Exit(0 if current == head else 1)


@app_db_app.command("downgrade")
def app_db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision (base: drop everything).")],
                     app_db: AppDbOption = DEFAULT_APP_DB) -> None:
    """Undo migrations down to REVISION."""
    from aiqyn.web.db import downgrade

    downgrade(app_db, revision)
    console.print(f"application database downgraded to {revision}")


@app_db_app.command("revision")
def app_db_revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the migration changes.")],
) -> None:
    """Write a new migration from the difference between models.py and the newest migration (for developers)."""
    import tempfile

    from alembic import command

    from aiqyn.web.db import alembic_config, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scratch.sqlite"
        upgrade(url)
        script = command.revision(alembic_config(url), message=message, autogenerate=True)
    console.print(f"wrote {getattr(script, 'path', script)}; read it, then test it with `aiqyn app-db upgrade`",
                  soft_wrap=True)


def _organisation_from_store(db: Path, subject_id: str) -> tuple[str, str | None] | None:
    if not db.exists():
        return None
    from aiqyn.store.db import connect

    con = connect(db, read_only=True)
    try:
        row = con.execute("SELECT name, region_code FROM parties WHERE subject_id = ? ORDER BY ocid DESC LIMIT 1",
                          [subject_id]).fetchone()
    finally:
        con.close()
    return (row[0], row[1]) if row else None


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="analyst, supervisor, compliance or ngo_reviewer.")],
    org: Annotated[str | None, typer.Option(
        help="A compliance officer's organisation: its BIN or store subject id (KZ-BIN-...).")] = None,
    org_name: Annotated[str | None, typer.Option(help="The organisation's name (default: from --db).")] = None,
    full_name: Annotated[str, typer.Option(help="The person's name.")] = "",
    password_env: Annotated[str | None, typer.Option(
        help="Read the password from this environment variable (default: ask).")] = None,
    exist_ok: Annotated[bool, typer.Option("--exist-ok", help="Do nothing when the account exists already.")] = False,
    app_db: AppDbOption = DEFAULT_APP_DB,
    db: Annotated[Path, typer.Option("--db", envvar="AIQYN_DB", help="Analytics store to look the organisation up in.")]
    = Path("aiqyn.duckdb"),
) -> None:
    """Create an account (the password is hashed with argon2; it is never stored nor printed)."""
    from aiqyn.web import audit, services
    from aiqyn.web.auth import create_user
    from aiqyn.web.db import check_up_to_date, make_engine, session_factory, session_scope

    if password_env:
        password = os.environ.get(password_env)
        if not password:
            _fail(f"environment variable {password_env} is empty or not set")
    elif sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    engine = make_engine(app_db)
    try:
        check_up_to_date(engine)
    except RuntimeError as exc:
        _fail(str(exc))
    factory = session_factory(engine)
    if exist_ok:
        from sqlalchemy import select

        from aiqyn.web.models import User

        with factory() as session:
            if session.execute(select(User.id).where(User.username == username)).first() is not None:
                console.print(f"{username} exists already")
                engine.dispose()
                return
    try:
        with session_scope(factory) as session:
            organisation = None
            if org:
                subject_id = f"KZ-BIN-{org}" if org.isdigit() else org
                found = _organisation_from_store(db, subject_id)
                name = org_name or (found[0] if found else None)
                if name is None:
                    _fail(f"organisation {subject_id}: not in {db}; give its name with --org-name")
                organisation = services.organisation(session, subject_id, name or subject_id,
                                                     found[1] if found else None)
            user = create_user(session, username, password or "", role, full_name, organisation)
            audit.record(session, "cli", "user.create", "user", user.id,
                         {"username": username, "role": role,
                          "organisation": organisation.subject_id if organisation else None})
    except ValueError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    console.print(f"created {role} {username}" + (f" of {organisation.name}" if organisation else ""))


@users_app.command("list")
def users_list(app_db: AppDbOption = DEFAULT_APP_DB) -> None:
    """The accounts, their roles and organisations."""
    from sqlalchemy import select

    from aiqyn.web.db import make_engine, session_factory
    from aiqyn.web.models import User

    engine = make_engine(app_db)
    t = Table("username", "role", "organisation", "active", "created")
    with session_factory(engine)() as session:
        for u in session.execute(select(User).order_by(User.username)).scalars():
            t.add_row(u.username, u.role, u.organisation.name if u.organisation else "", "yes" if u.active else "no",
                      str(u.created_at)[:19])
    engine.dispose()
    console.print(t)


@audit_app.command("verify")
def audit_verify(
    app_db: AppDbOption = DEFAULT_APP_DB,
    expect_head: Annotated[str | None, typer.Option(
        help="The head hash published earlier: entries removed from the end are caught too.")] = None,
) -> None:
    """Check the audit log's hash chain; exit code 1 when any entry was changed, inserted or removed."""
    from aiqyn.web.audit import verify
    from aiqyn.web.db import make_engine, session_factory

    engine = make_engine(app_db)
    with session_factory(engine)() as session:
        result = verify(session, expect_head)
    engine.dispose()
    for problem in result.problems:
        err.print(f"[red]broken:[/] {escape(problem)}", soft_wrap=True)
    if result.ok:
        console.print(f"audit log intact: {result.entries:,} entries, head {result.head}", soft_wrap=True)
    else:
        console.print(f"audit log BROKEN: {len(result.problems)} problem(s) in {result.entries:,} entries")
        raise typer.Exit(1)
