"""Measure the overpricing findings against what `aiqyn generate` planted (truth.json).

A process is found when at least one of its items is a finding. Precision and recall are over processes;
the money at stake is compared on the planted items: the findings' money at stake on the planted item of
each planted process, against the planted excess recorded by the generator (the amount paid above what
the item would have cost without the scheme; for a medicine, above its ceiling price).
"""

from __future__ import annotations

from typing import Any

import duckdb

from aiqyn.prices.run import one


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def evaluate(con: duckdb.DuckDBPyConnection, truth: dict[str, Any]) -> dict[str, Any]:
    """Precision, recall and money-at-stake error of `price_findings` for the planted overpricing."""
    try:
        scheme = truth["schemes"]["overpricing"]
    except (KeyError, TypeError) as exc:
        raise ValueError("truth.json has no schemes.overpricing (written by `aiqyn generate`)") from exc
    if not one(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'price_findings'")[0]:
        raise ValueError("the store has no price findings: run `aiqyn prices run` first")
    planted = set(scheme["processes"])
    # Only the processes present in the store are judged (a store may hold part of a generated set).
    stored = {r[0] for r in con.execute("SELECT ocid FROM processes").fetchall()}
    planted &= stored
    found_rows = con.execute(
        "SELECT ocid, item_id, basis, money_at_stake FROM price_findings").fetchall()
    found = {r[0] for r in found_rows}
    tp = found & planted
    result: dict[str, Any] = {
        "processes": len(stored),
        "planted": len(planted),
        "found": len(found),
        "true_positives": len(tp),
        "false_positives": len(found - planted),
        "false_negatives": len(planted - found),
        "precision": round(_ratio(len(tp), len(found)), 4),
        "recall": round(_ratio(len(tp), len(planted)), 4),
    }
    amounts: dict[str, dict[str, Any]] = scheme.get("planted") or {}
    if amounts:
        planted_items = {(ocid, a["item_id"]) for ocid, a in amounts.items() if ocid in planted}
        on_item = [r for r in found_rows if (r[0], r[1]) in planted_items]
        computed = sum(r[3] for r in on_item)
        planted_total = sum(a["excess_kzt"] for o, a in amounts.items() if o in planted)
        planted_found = sum(a["excess_kzt"] for o, a in amounts.items() if o in tp)
        by_basis: dict[str, dict[str, float]] = {}
        for ocid, a in amounts.items():
            if ocid not in planted:
                continue
            b = by_basis.setdefault(a["basis"], {"planted": 0, "found": 0, "planted_kzt": 0.0, "computed_kzt": 0.0})
            b["planted"] += 1
            b["found"] += ocid in tp
            b["planted_kzt"] += a["excess_kzt"]
        for r in on_item:
            by_basis[amounts[r[0]]["basis"]]["computed_kzt"] += r[3]
        result["money"] = {
            "planted_kzt": round(planted_total, 2),
            "computed_kzt": round(computed, 2),
            "error": round(_ratio(computed - planted_total, planted_total), 4),
            "planted_found_kzt": round(planted_found, 2),
            "error_found": round(_ratio(computed - planted_found, planted_found), 4),
            "false_positive_kzt": round(sum(r[3] for r in found_rows if r[0] not in planted), 2),
            "by_basis": {k: {**v, "planted_kzt": round(v["planted_kzt"], 2),
                             "computed_kzt": round(v["computed_kzt"], 2),
                             "error": round(_ratio(v["computed_kzt"] - v["planted_kzt"], v["planted_kzt"]), 4)}
                         for k, v in sorted(by_basis.items())},
        }
    return result
