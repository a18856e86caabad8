"""The web application: the analysts' workbench, recommendations and cases, citizen reports, the public portal.

It shows what the analytics compute and carries the follow-up; it computes nothing itself. Two databases:
the analytics store (DuckDB, opened read-only) and the application's own database (SQLAlchemy 2 with
Alembic migrations; SQLite by default, PostgreSQL in production) for accounts, cases, recommendations,
citizen reports and the hash-chained audit log.
"""
