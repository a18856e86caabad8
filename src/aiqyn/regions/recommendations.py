"""Importing the web application's recommendations into the store, for the regional index.

The index reads only the analytics store (DuckDB); recommendations live in the application database
(SQLAlchemy: SQLite or PostgreSQL). `import_recommendations` copies their facts — no text, no people — into
the store table `recommendation_facts`, replacing it whole, and places each one in a KATO unit: the region of
the case's process in the store, else the addressee's (the buyer's region in the store's parties), else the
region the application recorded.

A recommendation is *not carried out* when it was issued, has not been executed, and either the addressee
rejected it, it was closed without execution, or its deadline (GRACE_DAYS after issue when it has none) has
passed on the `as_of` date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from aiqyn.store.schema import SCHEMA

GRACE_DAYS = 60
"""Days an issued recommendation without a deadline has before it counts as not carried out."""


class AppDbError(Exception):
    """The application database cannot be read: the message says why and what to run."""


@dataclass
class ImportResult:
    rows: int
    issued: int
    not_carried_out: int
    unplaced: int  # issued recommendations without a KATO unit: left out of the index
    as_of: dt.date


def _day(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _money(value: Any) -> float:
    return float(Decimal(str(value))) if value is not None else 0.0


def not_carried_out(status: str, issued_on: dt.date | None, due: dt.date | None, executed_on: dt.date | None,
                    as_of: dt.date) -> bool | None:
    """None for a recommendation never issued; else whether it counts as not carried out on `as_of`."""
    if issued_on is None or status == "draft":
        return None
    if executed_on is not None or status == "executed":
        return False
    if status in ("rejected", "closed"):
        return True
    deadline = due or issued_on + dt.timedelta(days=GRACE_DAYS)
    return deadline < as_of


def read_app_db(app_db: str) -> list[dict[str, Any]]:
    """Every recommendation of the application database with its case and addressee."""
    from sqlalchemy import inspect, select
    from sqlalchemy.exc import SQLAlchemyError

    from aiqyn.web.db import make_engine
    from aiqyn.web.models import Case, Organisation, Recommendation

    if "://" not in app_db and not Path(app_db).exists():
        raise AppDbError(f"--app-db {app_db}: no such file (the web application's database; "
                           "create it with `aiqyn app-db upgrade --app-db ...`)")
    engine = make_engine(app_db)
    try:
        tables = set(inspect(engine).get_table_names())
        missing = {"recommendations", "cases", "organisations"} - tables
        if missing:
            raise AppDbError(f"--app-db {app_db}: not an Aiqyn application database (no table "
                               f"{', '.join(sorted(missing))}); run `aiqyn app-db upgrade --app-db ...` first")
        stmt = (select(Recommendation.id, Recommendation.case_id, Case.ocid, Organisation.subject_id,
                       Organisation.name, Recommendation.region_code, Organisation.region_code, Case.region_code,
                       Recommendation.status, Recommendation.issued_at, Recommendation.due_date,
                       Recommendation.executed_at, Recommendation.money_at_stake, Recommendation.money_saved,
                       Recommendation.currency)
                .join(Case, Case.id == Recommendation.case_id)
                .join(Organisation, Organisation.id == Recommendation.organisation_id)
                .order_by(Recommendation.id))
        with engine.connect() as con:
            rows = con.execute(stmt).all()
    except SQLAlchemyError as exc:
        raise AppDbError(f"--app-db {app_db}: cannot read the recommendations: {exc}") from exc
    finally:
        engine.dispose()
    keys = ("recommendation_id", "case_id", "ocid", "buyer_subject_id", "buyer_name", "rec_region", "org_region",
            "case_region", "status", "issued_at", "due_date", "executed_at", "money_at_stake", "money_saved",
            "currency")
    return [dict(zip(keys, r, strict=True)) for r in rows]


# Each recommendation's unit: its process's region in the store, else its addressee's, else the application's.
PLACE_SQL = """
WITH buyer_region AS (
  SELECT subject_id, MIN(region_code) AS region_code FROM parties
  WHERE ARRAY_CONTAINS(roles, 'buyer') AND LENGTH(region_code) = 9 GROUP BY subject_id
)
SELECT r.recommendation_id,
       COALESCE(p.region_code, b.region_code, r.app_region) AS region_code,
       CASE WHEN p.region_code IS NOT NULL THEN 'process' WHEN b.region_code IS NOT NULL THEN 'buyer'
            WHEN r.app_region IS NOT NULL THEN 'app' END AS region_source
FROM rec_import AS r
LEFT JOIN processes AS p ON p.ocid = r.ocid AND LENGTH(p.region_code) = 9
LEFT JOIN buyer_region AS b ON b.subject_id = r.buyer_subject_id
"""


def import_recommendations(con: duckdb.DuckDBPyConnection, app_db: str, as_of: dt.date | None = None
                           ) -> ImportResult:
    """Replace `recommendation_facts` with the recommendations of `app_db`, judged on `as_of` (today, UTC)."""
    as_of = as_of or dt.datetime.now(dt.UTC).date()
    recs = read_app_db(app_db)
    now = dt.datetime.now(dt.UTC)
    con.execute("CREATE OR REPLACE TEMP TABLE rec_import (recommendation_id BIGINT, ocid VARCHAR, "
                "buyer_subject_id VARCHAR, app_region VARCHAR)")
    if recs:  # an application without any recommendation yet (a new installation, the demo) imports none
        con.executemany("INSERT INTO rec_import VALUES (?, ?, ?, ?)", [
            (r["recommendation_id"], r["ocid"], r["buyer_subject_id"],
             next((c for c in (r["rec_region"], r["case_region"], r["org_region"]) if c and len(c) == 9), None))
            for r in recs])
    for name in ("processes", "parties"):
        con.execute(SCHEMA.tables[name].ddl())  # an empty store places by the application's region only
    placed = {rid: (code, src) for rid, code, src in con.execute(PLACE_SQL).fetchall()}
    rows = []
    for r in recs:
        issued, executed, due = _day(r["issued_at"]), _day(r["executed_at"]), _day(r["due_date"])
        code, src = placed.get(r["recommendation_id"], (None, None))
        stake = _money(r["money_at_stake"]) if r["currency"] in (None, "KZT") else 0.0
        saved = _money(r["money_saved"]) if r["currency"] in (None, "KZT") else 0.0
        rows.append((r["recommendation_id"], r["case_id"], r["ocid"], r["buyer_subject_id"], r["buyer_name"], code,
                     src, r["status"], issued, due, executed, stake, saved,
                     not_carried_out(r["status"], issued, due, executed, as_of), as_of, now))
    table = SCHEMA.outputs["recommendation_facts"]
    con.execute("BEGIN")
    try:
        con.execute("DROP TABLE IF EXISTS recommendation_facts")
        con.execute(table.ddl())
        if rows:
            marks = ", ".join("?" for _ in table.column_names)
            con.executemany(f"INSERT INTO recommendation_facts VALUES ({marks})", rows)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("DROP TABLE rec_import")
    issued_rows = [r for r in rows if r[8] is not None and r[7] != "draft"]
    return ImportResult(rows=len(rows), issued=len(issued_rows),
                        not_carried_out=sum(1 for r in issued_rows if r[13]),
                        unplaced=sum(1 for r in issued_rows if r[5] is None), as_of=as_of)
