"""Read-only views of the public-control tables, for the command line and the web application (which passes its
read-only `Analytics`). Nothing here computes a finding; the public views hold codes and aggregates only."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from aiqyn.publiccontrol import queues as q


def _q(con: Any, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    if isinstance(con, duckdb.DuckDBPyConnection):
        cur = con.execute(sql, params or {})
        cols = [d[0] for d in cur.description or []]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    return list(con.query(sql, params or {}))


def tables(con: Any) -> set[str]:
    return {r["table_name"] for r in _q(con, "SELECT table_name FROM information_schema.tables")}


def has_queues(con: Any) -> bool:
    return {"queues", "queue_ledger"} <= tables(con)


def queues(con: Any, only: str | None = None) -> list[dict[str, Any]]:
    """Each queue (or the one `only`) with its entries, applicants waiting (replayed), last seal and the
    out-of-turn findings."""
    if not has_queues(con):
        return []
    findings = "public_control_findings" in tables(con)
    rows = _q(con, """
        SELECT q.queue_id, q.kind, q.name, q.region_kato, count(l.seq) AS entries,
               max(l."at") AS last_at,
               max(l.seq) FILTER (WHERE l.type = 'seal') AS last_seal_seq
        FROM queues q LEFT JOIN queue_ledger l USING (queue_id)
        WHERE $only IS NULL OR q.queue_id = $only
        GROUP BY ALL ORDER BY q.queue_id""", {"only": only})
    for r in rows:
        seal = seal_of(con, r["queue_id"], r["last_seal_seq"]) if r["last_seal_seq"] else None
        r["last_root"] = seal["root"] if seal else None
        r["last_seal_at"] = seal["at"] if seal else None
        state = q.replay(r["kind"], entries(con, r["queue_id"]))
        r["waiting"] = len(state.waiting())
        r["placed"] = sum(1 for a in state.applicants.values() if a.status == "placed")
        r["findings"] = _q(con, "SELECT kind, count(*) AS n FROM public_control_findings WHERE queue_id = $q "
                                "AND list_contains($kinds, kind) GROUP BY kind ORDER BY kind",
                           {"q": r["queue_id"], "kinds": list(PUBLIC_KINDS)}) if findings else []
    return rows


def queue(con: Any, queue_id: str) -> dict[str, Any] | None:
    rows = queues(con, only=queue_id)
    return rows[0] if rows else None


def entries(con: Any, queue_id: str, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
    sql = "SELECT entry FROM queue_ledger WHERE queue_id = $q ORDER BY seq"
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    return [json.loads(r["entry"]) for r in _q(con, sql, {"q": queue_id})]


def seal_of(con: Any, queue_id: str, seq: int) -> dict[str, Any] | None:
    rows = _q(con, "SELECT entry FROM queue_ledger WHERE queue_id = $q AND seq = $s", {"q": queue_id, "s": seq})
    return json.loads(rows[0]["entry"]) if rows else None


def seals(con: Any, queue_id: str) -> list[dict[str, Any]]:
    return [json.loads(r["entry"]) for r in _q(con, "SELECT entry FROM queue_ledger WHERE queue_id = $q AND "
                                                    "type = 'seal' ORDER BY seq DESC", {"q": queue_id})]


# Findings the public sees: those read from the ledger itself, which anyone can check. `affiliated` rests on the
# registers of officials and their relatives (personal data, like the conflict-of-interest flags the public portal
# never shows): the supervisor's pages only.
PUBLIC_KINDS = ("out_of_turn", "priority_jump", "backdated")


def queue_findings(con: Any, queue_id: str) -> list[dict[str, Any]]:
    """The queue's findings as the public may see them: kind, entry, applicant code, date, evidence of codes."""
    if "public_control_findings" not in tables(con):
        return []
    rows = _q(con, "SELECT kind, seq, applicant, \"at\", evidence FROM public_control_findings WHERE queue_id = $q "
                   "AND list_contains($kinds, kind) ORDER BY seq, kind", {"q": queue_id, "kinds": list(PUBLIC_KINDS)})
    for r in rows:
        r["evidence"] = json.loads(r.pop("evidence") or "{}")
    return rows


def position(con: Any, queue_id: str, code: str) -> dict[str, Any] | None:
    info = queue(con, queue_id)
    if info is None:
        return None
    state = q.replay(info["kind"], entries(con, queue_id))
    return q.describe_position(state, q.normalise_code(code))


def has_accountability(con: Any) -> bool:
    return "accountability_status" in tables(con)


def overdue(con: Any) -> list[dict[str, Any]]:
    return _q(con, "SELECT * FROM accountability_status WHERE state = 'overdue' ORDER BY days_late DESC, case_number")


def register(con: Any, state: str | None = None, region: str | None = None, limit: int = 2000) -> list[dict[str, Any]]:
    """The accountability register as checked (supervisor only: names of heads)."""
    where, params = [], {}
    if state:
        where.append("state = $state")
        params["state"] = state
    if region:
        where.append("substr(region_kato, 1, 2) = $region")
        params["region"] = region[:2]
    sql = "SELECT * FROM accountability_status" + (" WHERE " + " AND ".join(where) if where else "")
    sql += (" ORDER BY CASE state WHEN 'overdue' THEN 0 WHEN 'due' THEN 1 WHEN 'filed_late' THEN 2 ELSE 3 END, "
            f"deadline, case_number LIMIT {int(limit)}")
    return _q(con, sql, params)


def public_accountability(con: Any) -> dict[str, Any]:
    """Aggregates only, per region and year, and the totals: what the public sees."""
    from aiqyn.publiccontrol.accountability import aggregates

    if not has_accountability(con):
        return {"regions": [], "totals": None}
    totals = _q(con, """
        SELECT count(*) AS offences, count(*) FILTER (WHERE code = 'criminal') AS crimes,
               count(*) FILTER (WHERE required) AS statements_required,
               count(*) FILTER (WHERE state IN ('filed', 'filed_late')) AS statements_filed,
               count(*) FILTER (WHERE state = 'overdue') AS overdue FROM accountability_status""")
    return {"regions": aggregates(con, "region"), "totals": totals[0] if totals else None}
