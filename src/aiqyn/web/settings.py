"""The web application's settings: one pydantic-settings class, read from AIQYN_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_APP_DB = "sqlite:///aiqyn-app.sqlite"


def normalise_db_url(url: str) -> str:
    """SQLAlchemy URL of the application database: a bare path is a SQLite file; `postgresql://` uses psycopg 3."""
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class WebSettings(BaseSettings):
    """Everything the web application is configured with. Unknown AIQYN_* variables are ignored (other parts
    of Aiqyn read their own), unknown keyword arguments are an error."""

    model_config = SettingsConfigDict(env_prefix="AIQYN_", extra="ignore")

    db: Path = Path("aiqyn.duckdb")
    """The analytics store (DuckDB), opened read-only."""
    app_db: str = DEFAULT_APP_DB
    """SQLAlchemy URL (or a SQLite file path) of the application database."""
    secret_key: str | None = None
    """Key that signs session cookies; when unset, one is generated once and kept in the application database."""
    upload_dir: Path = Path("aiqyn-uploads")
    """Where citizens' attachments are stored (outside the web root, under random names)."""
    max_upload_mb: float = 20.0
    """Largest attachment accepted, in megabytes."""
    report_rate_limit: int = 5
    """Citizen reports accepted per client address per hour."""
    login_rate_limit: int = 20
    """Login attempts per client address per 15 minutes."""
    secure_cookies: bool = False
    """Send cookies over HTTPS only (set it behind TLS)."""
    page_size: int = Field(default=50, ge=5, le=500)
    """Rows per page of the risk queue."""
    page_cache: Path | None = None
    """A page cache of the store (web/pagecache.py, built by `aiqyn serve`): process pages are read from it."""
    rendered_cache_mb: int = Field(default=256, ge=0)
    """Memory (per worker process) for rendered risk-queue and process pages (web/rendered.py); 0 turns it off."""
