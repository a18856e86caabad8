"""What the store holds: counts, breakdowns, and coverage of the fields that indicators need."""

from __future__ import annotations

from typing import Any

import duckdb

from aiqyn.store.schema import SCHEMA

# (label, table, SQL condition that the field is filled)
COVERAGE: list[tuple[str, str, str]] = [
    ("processes.status", "processes", "status IS NOT NULL"),
    ("processes.method", "processes", "method IS NOT NULL"),
    ("processes.method_details", "processes", "method_details IS NOT NULL"),
    ("processes.estimated_amount", "processes", "estimated_amount IS NOT NULL"),
    ("processes.tender_start", "processes", "tender_start IS NOT NULL"),
    ("processes.tender_end", "processes", "tender_end IS NOT NULL"),
    ("processes.buyer_id", "processes", "buyer_id IS NOT NULL"),
    ("processes.region_code", "processes", "region_code IS NOT NULL"),
    ("parties.identifier", "parties", "identifier IS NOT NULL"),
    ("parties.address", "parties", "street_address IS NOT NULL"),
    ("parties.telephone", "parties", "telephone IS NOT NULL"),
    ("items.classification_id", "items", "classification_id IS NOT NULL"),
    ("items.quantity", "items", "quantity IS NOT NULL"),
    ("items.unit_name", "items", "unit_name IS NOT NULL"),
    ("items.unit_price", "items", "unit_price IS NOT NULL"),
    ("bids.amount", "bids", "amount IS NOT NULL"),
    ("bids.date", "bids", "date IS NOT NULL"),
    ("bids.status", "bids", "status IS NOT NULL"),
    ("bids.tenderer", "bids", "EXISTS (SELECT 1 FROM bid_tenderers t WHERE t.ocid = bids.ocid "
                              "AND t.bid_position = bids.position)"),
    ("awards.amount", "awards", "amount IS NOT NULL"),
    ("awards.date", "awards", "date IS NOT NULL"),
    ("awards.status", "awards", "status IS NOT NULL"),
    ("awards.supplier", "awards", "EXISTS (SELECT 1 FROM award_suppliers s WHERE s.ocid = awards.ocid "
                                  "AND s.award_position = awards.position)"),
    ("contracts.amount", "contracts", "amount IS NOT NULL"),
    ("contracts.date_signed", "contracts", "date_signed IS NOT NULL"),
    ("contracts.status", "contracts", "status IS NOT NULL"),
]


def _breakdown(con: duckdb.DuckDBPyConnection, key: str) -> list[dict[str, Any]]:
    rows = con.execute(f"""
        SELECT {key} AS key, count(*) AS n, estimated_currency, sum(estimated_amount) AS v
        FROM processes GROUP BY ALL ORDER BY n DESC, key NULLS LAST
    """).fetchall()
    grouped: dict[Any, dict[str, Any]] = {}
    for k, n, currency, value in rows:
        g = grouped.setdefault(k, {"key": k if k is not None else "(none)", "processes": 0, "values": []})
        g["processes"] += n
        if value is not None:
            g["values"].append(f"{value:,.0f} {currency or '?'}")
    out = sorted(grouped.values(), key=lambda g: (-g["processes"], str(g["key"])))
    for g in out:
        g["value"] = "; ".join(g.pop("values")) or "-"
    return out


def store_stats(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """A JSON-ready summary of the store."""
    tables = {name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # type: ignore[index]
              for name in SCHEMA.tables}
    n = tables["processes"] or 1
    shares = {}
    for label, table in [("bids", "bids"), ("awards", "awards"), ("contracts", "contracts"),
                         ("items", "items"), ("amendments", "contract_amendments")]:
        count = con.execute(f"SELECT count(DISTINCT ocid) FROM {table}").fetchone()[0]  # type: ignore[index]
        shares[label] = count / n if tables["processes"] else 0.0
    coverage = []
    for label, table, condition in COVERAGE:
        rows, filled = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {condition}) FROM {table}").fetchone()  # type: ignore[misc]
        coverage.append({"field": label, "rows": rows, "share": (filled / rows) if rows else 0.0})
    return {
        "tables": tables,
        "by_year": _breakdown(con, "year"),
        "by_region": _breakdown(con, "region_code"),
        "by_method": _breakdown(con, "coalesce(method_details, method)"),
        "shares": shares,
        "coverage": coverage,
        "rejects_by_reason": [
            {"reason": r, "count": c} for r, c in con.execute(
                "SELECT regexp_replace(reason, '^/[^:]*: ', '') AS r, count(*) FROM rejects "
                "GROUP BY r ORDER BY 2 DESC LIMIT 20").fetchall()
        ],
    }
