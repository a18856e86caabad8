"""`aiqyn serve`, `aiqyn app-db`, `aiqyn users`, `aiqyn audit`: the web application's commands.

    aiqyn serve [--db aiqyn.duckdb] [--app-db URL] [--host 127.0.0.1] [--port 8000] [--workers N]
                [--page-cache aiqyn-pages.sqlite | --no-page-cache]
    aiqyn app-db upgrade|current|downgrade|revision [--app-db URL]
    aiqyn users add NAME --role analyst|supervisor|compliance|ngo_reviewer [--org BIN] [--password-env VAR]
    aiqyn users list
    aiqyn audit verify [--expect-head HASH]
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aiqyn.console import fail as _fail

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


def default_workers() -> int:
    """One worker process per core this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


def worker_app() -> object:
    """The application of one worker process of `aiqyn serve --workers N` (uvicorn calls it in each worker):
    configured from the AIQYN_* variables `serve` sets, the store's queue read before the first request."""
    from aiqyn.web.app import create_app
    from aiqyn.web.settings import WebSettings

    application = create_app(WebSettings())
    if application.state.aiqyn.analytics is not None:
        from aiqyn.web import public

        application.state.aiqyn.analytics.warm()
        public.warm(application.state.aiqyn.analytics)  # the public portal's figures
    return application


def _page_cache(db: Path, path: Path) -> None:
    """Build the page cache of `db` at `path` unless the one there is of this store and its newest flags run."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from aiqyn.web import pagecache
    from aiqyn.web.analytics import Analytics

    analytics = Analytics(db)
    try:
        if pagecache.is_current(path, analytics):
            console.print(f"page cache {path}: current", soft_wrap=True)
            return
        with Progress(TextColumn("copying process pages into {task.fields[path]}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task("pages", total=None, path=str(path))

            def step(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            meta = pagecache.build(analytics, path, step)
        console.print(f"page cache {path}: {meta['processes']:,} processes, {meta['subjects']:,} flagged subjects "
                      f"in {meta['seconds']:.0f} s", soft_wrap=True)
    finally:
        analytics.close()


def serve(
    db: Annotated[Path, typer.Option("--db", envvar="AIQYN_DB", help="The analytics store (DuckDB), opened read-only.")]
    = Path("aiqyn.duckdb"),
    app_db: AppDbOption = DEFAULT_APP_DB,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    upgrade: Annotated[bool, typer.Option("--upgrade/--no-upgrade",
                                          help="Migrate the application database first.")] = True,
    workers: Annotated[int | None, typer.Option(
        min=1, envvar="AIQYN_WORKERS",
        help="Worker processes serving requests, each with the store open read-only (default: one per CPU "
             "core). Rate limits are counted per worker.")] = None,
    page_cache: Annotated[Path, typer.Option(
        envvar="AIQYN_PAGE_CACHE",
        help="The page cache: every process page's rows copied from the store into this SQLite file, read by "
             "ocid (built at the first start, rebuilt when the store or its flags run changed; written here, "
             "never into the store).")] = Path("aiqyn-pages.sqlite"),
    no_page_cache: Annotated[bool, typer.Option(
        "--no-page-cache", help="Read process pages from the store itself (slower at 1M processes).")] = False,
    access_log: Annotated[bool, typer.Option(
        "--access-log/--no-access-log", envvar="AIQYN_ACCESS_LOG",
        help="Log every request (uvicorn's access log; off by default: a reverse proxy usually logs requests, "
             "and the line costs CPU on each one).")] = False,
) -> None:
    """Serve the web application: the workbench, recommendations and cases, the JSON API (/api/docs)."""
    import uvicorn

    from aiqyn.web.app import _session_key, create_app
    from aiqyn.web.db import check_up_to_date, make_engine, session_factory
    from aiqyn.web.db import upgrade as run_upgrade
    from aiqyn.web.settings import WebSettings

    n_workers = workers or default_workers()
    if not db.exists():
        err.print(f"[yellow]warning:[/] {escape(str(db))}: no analytics store; the risk queue and process pages "
                  "stay empty until one is given (--db)", soft_wrap=True)
    if upgrade:
        run_upgrade(app_db)
    cache: Path | None = None
    if db.exists() and not no_page_cache:
        cache = page_cache.resolve()
        if cache == db.resolve():
            _fail(f"--page-cache {page_cache}: that is the store itself")
        try:
            _page_cache(db, cache)
        except (OSError, sqlite3.Error) as exc:
            _fail(f"page cache {cache}: {exc} (give another --page-cache, or --no-page-cache to serve without it)")
    settings = WebSettings(db=db, app_db=app_db, page_cache=cache)
    console.print(f"Aiqyn is served at [bold]http://{host}:{port}/[/] (API: http://{host}:{port}/api/docs) by "
                  f"{n_workers} worker process{'es' if n_workers > 1 else ''}; Ctrl-C stops it", soft_wrap=True)
    if n_workers == 1:
        try:
            application = create_app(settings)
        except RuntimeError as exc:
            _fail(str(exc))
        if application.state.aiqyn.analytics is not None:
            started = time.monotonic()
            from aiqyn.web import public

            application.state.aiqyn.analytics.warm()
            public.warm(application.state.aiqyn.analytics)  # the public portal's figures
            console.print(f"read the risk queue of {db} in {time.monotonic() - started:.1f} s", soft_wrap=True)
        uvicorn.run(application, host=host, port=port, log_level="info", proxy_headers=True, access_log=access_log)
        return
    # Several workers: each builds its application from these variables. The session key is made (or read)
    # here, once, so that every worker signs cookies with the same one.
    engine = make_engine(app_db)
    try:
        check_up_to_date(engine)
    except RuntimeError as exc:
        _fail(str(exc))
    _session_key(session_factory(engine), settings.secret_key)
    engine.dispose()
    os.environ.update({"AIQYN_DB": str(db.resolve()), "AIQYN_APP_DB": app_db})
    if cache is not None:
        os.environ["AIQYN_PAGE_CACHE"] = str(cache)
    else:
        os.environ.pop("AIQYN_PAGE_CACHE", None)
    # A worker answers the supervisor's health checks only once it has started (read the store's queue):
    # allow that time on a large store and a busy machine, uvicorn's 5 s would restart it again and again.
    uvicorn.run("aiqyn.web.cli:worker_app", factory=True, workers=n_workers, host=host, port=port,
                log_level="info", proxy_headers=True, timeout_worker_healthcheck=120, access_log=access_log)


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
