"""How well the public-control checks find what `aiqyn generate` planted (truth.json `public_control`): recall and
precision per finding kind, and the findings on the queue planted with nothing (all false)."""

from __future__ import annotations

from typing import Any

import duckdb

KINDS = ("out_of_turn", "affiliated", "priority_jump", "backdated", "missing_statement")


def evaluate(con: duckdb.DuckDBPyConnection, truth: dict[str, Any]) -> dict[str, Any] | None:
    """None when the truth or the store has no public-control data."""
    pc = truth.get("public_control")
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if not isinstance(pc, dict) or not {"public_control_findings", "queue_private"} <= tables:
        return None
    found: dict[str, set[str]] = {k: set() for k in KINDS}
    for kind, subject in con.execute(
            "SELECT f.kind, COALESCE(p.event_id, f.case_number) FROM public_control_findings f "
            "LEFT JOIN queue_private p ON p.queue_id = f.queue_id AND p.seq = f.seq").fetchall():
        if kind in found and subject is not None:
            found[kind].add(subject)
    rows = []
    for kind in KINDS:
        planted = set(pc.get("planted", {}).get(kind, []))
        hits = len(planted & found[kind])
        rows.append({"kind": kind, "planted": len(planted), "found": len(found[kind]), "true_positives": hits,
                     "recall": hits / len(planted) if planted else None,
                     "precision": hits / len(found[kind]) if found[kind] else None})
    clean = pc.get("clean_queue")
    on_clean = con.execute("SELECT count(*) FROM public_control_findings WHERE queue_id = ?",
                           [clean]).fetchone() if clean else None
    return {"kinds": rows, "clean_queue": clean, "findings_on_clean_queue": int(on_clean[0]) if on_clean else None}


def report(result: dict[str, Any]) -> str:
    def f(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    lines = ["", "public control (`aiqyn queue check`, `aiqyn accountability check`) on the planted cases:",
             f"{'kind':<18} {'planted':>7} {'found':>6} {'hits':>5} {'recall':>7} {'precision':>9}"]
    for r in result["kinds"]:
        lines.append(f"{r['kind']:<18} {r['planted']:>7} {r['found']:>6} {r['true_positives']:>5} "
                     f"{f(r['recall']):>7} {f(r['precision']):>9}")
    if result.get("clean_queue"):
        lines.append(f"findings on the clean queue {result['clean_queue']}: {result['findings_on_clean_queue']}")
    return "\n".join(lines) + "\n"
