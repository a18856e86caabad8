"""The canonical procurement store (DuckDB): schema, connection, statistics."""

from aiqyn.store.db import connect, open_store
from aiqyn.store.schema import SCHEMA, Table

__all__ = ["SCHEMA", "Table", "connect", "open_store"]
