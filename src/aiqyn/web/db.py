"""The application database: engine, sessions and migrations (Alembic, run from the package, no alembic.ini)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from aiqyn.web.settings import normalise_db_url

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, pool_size: int | None = None) -> Engine:
    """The application database's engine. Its pool holds a connection per request thread (anyio's 40) unless
    `pool_size` says otherwise: opening a SQLite connection again and again costs more than a request's query."""
    url = normalise_db_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=pool_size or 40, max_overflow=0 if pool_size else 10)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_con: Any, _record: Any) -> None:
            cur = dbapi_con.cursor()
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size or 10, max_overflow=0 if pool_size else 20)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session committed at the end, rolled back on an exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation: a literal % in a URL (an encoded password) must be doubled.
    cfg.set_main_option("sqlalchemy.url", normalise_db_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the application database to `revision` (creating it when missing)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as con:
        return MigrationContext.configure(con).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def check_up_to_date(engine: Engine) -> None:
    """Refuse to serve a database whose schema is not the code's: say which command fixes it."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise RuntimeError(
            f"the application database is at revision {current or 'none (empty)'}, this Aiqyn needs {head}; "
            "run `aiqyn app-db upgrade` (with the same --app-db)"
        )
