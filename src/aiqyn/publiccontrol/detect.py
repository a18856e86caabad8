"""Out-of-turn detection on the queues' ledgers (`aiqyn queue check`), each finding with its evidence.

- `out_of_turn`: a place offered to an applicant when the queue's order (queues.QueueState.expected: priority
  category, then date of application, then registration; the one-to-three ratio of kindergarten queues) named
  another eligible applicant (same group, waiting, who had not refused that place);
- `priority_jump`: an applicant's priority category raised without a documented reason (the entry's `reason`,
  the number and date of the decision, is empty);
- `backdated`: an application registered with a date more than `backdate_days` before it was recorded in the
  ledger, which puts it ahead of applicants registered in between;
- `affiliated`: a place offered to the responsible official themself, a declared relative, or a person linked to
  them in the affiliation graph (conflicts/graph.py: founder, director, relative edges, at most `max_hops` steps).

Findings go to `public_control_findings` (replacing the previous queue findings), where the supervisor's pages
and the regional index read them.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import duckdb
import networkx as nx

from aiqyn.conflicts.registers import ensure_register_tables, insert_rows
from aiqyn.publiccontrol import queues
from aiqyn.store.schema import SCHEMA

QUEUE_KINDS = ("out_of_turn", "priority_jump", "backdated", "affiliated")


@dataclass(frozen=True)
class QueueRules:
    backdate_days: int = 3  # paper applications may be entered a few days after they were made
    max_hops: int = 2  # official -> relative, or official -> company <- co-founder

    def __post_init__(self) -> None:
        if self.backdate_days < 0 or self.max_hops < 1:
            raise ValueError("backdate_days must be >= 0 and max_hops >= 1")


@dataclass
class Finding:
    kind: str
    queue_id: str
    seq: int
    applicant: str
    at: str
    evidence: dict[str, Any]
    official_iin: str | None = None


@dataclass
class CheckResult:
    queues: int = 0
    entries: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def ensure_outputs(con: duckdb.DuckDBPyConnection) -> None:
    present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    for name in ("public_control_findings", "accountability_status"):
        if name not in present:
            con.execute(SCHEMA.outputs[name].ddl())


def check_queue(kind: str, items: list[dict[str, Any]], private: dict[int, tuple[str | None, str | None]],
                rules: QueueRules, graph: nx.Graph | None = None) -> list[Finding]:
    """The findings of one queue's entries (in seq order). `private`: seq -> (applicant IIN, official IIN)."""
    state = queues.QueueState(kind)
    out: list[Finding] = []
    for e in items:
        t = e.get("type")
        seq = int(e["seq"])
        if t == "offered":
            a = state.applicants.get(e["applicant"])
            place = str(e.get("place") or "")
            want = state.expected(a.group, place) if a is not None else None
            if a is not None and want is not None and want.code != a.code:
                ahead = [w for w in state.waiting(a.group, place) if w.key() < a.key()]
                out.append(Finding("out_of_turn", e["queue"], seq, a.code, e["at"], {
                    "place": place, "group": a.group,
                    "offered_to": {"code": a.code, "priority": a.priority, "applied_on": a.applied_on},
                    "expected": {"code": want.code, "priority": want.priority, "applied_on": want.applied_on},
                    "passed_over": len(ahead) or 1,
                    "rule": "priority, then date of application, then registration"
                            + (f"; primary:general 1:{state.kind.primary_ratio}" if state.kind.primary_ratio else ""),
                }))
            applicant_iin, official_iin = private.get(seq, (None, None))
            if graph is not None and applicant_iin and official_iin:
                path = _affiliation(graph, official_iin, applicant_iin, rules.max_hops)
                if path is not None:
                    out.append(Finding("affiliated", e["queue"], seq, e["applicant"], e["at"], {
                        "place": place, "path": path, "hops": max(0, (len(path) - 1) // 2)}, official_iin))
        elif t == "priority_changed":
            a = state.applicants.get(e["applicant"])
            new = e.get("priority")
            if a is not None and new in queues.PRIORITIES and queues.PRIORITIES[new] < queues.PRIORITIES[a.priority] \
                    and not str(e.get("reason") or "").strip():
                out.append(Finding("priority_jump", e["queue"], seq, a.code, e["at"], {
                    "from": a.priority, "to": new, "reason": "", "registered_seq": a.reg_seq}))
        elif t == "registered":
            at = dt.datetime.fromisoformat(e["at"])
            applied = dt.date.fromisoformat(str(e.get("applied_on")))
            gap = (at.date() - applied).days
            if gap > rules.backdate_days:
                overtaken = [w.code for w in state.waiting(str(e.get("group") or ""))
                             if (queues.PRIORITIES.get(str(e.get("priority")), 3), str(applied)) < w.key()[:2]]
                out.append(Finding("backdated", e["queue"], seq, e["applicant"], e["at"], {
                    "applied_on": str(applied), "recorded": e["at"], "days_before": gap,
                    "tolerance_days": rules.backdate_days, "overtakes": len(overtaken)}))
        state.apply(e)
    return out


def _affiliation(g: nx.Graph, official: str, applicant: str, max_hops: int) -> list[dict[str, Any]] | None:
    """The path official ... applicant in the personal graph, as [{node, kind, label}, {edge}, ...] with labels
    of organisations only (people by their role in the path, never by name)."""
    if official == applicant:
        return [{"node": "official", "kind": "official"}, {"edge": {"kind": "same_person"}},
                {"node": "applicant", "kind": "applicant"}]
    a, b = f"person:{official}", f"person:{applicant}"
    if a not in g or b not in g:
        return None
    try:
        nodes = nx.shortest_path(g, a, b)
    except nx.NetworkXNoPath:
        return None
    if len(nodes) - 1 > max_hops:
        return None
    out: list[dict[str, Any]] = []
    for i, n in enumerate(nodes):
        kind = "official" if i == 0 else "applicant" if i == len(nodes) - 1 else (
            "organisation" if n.startswith("org:") else "person")
        out.append({"node": n.split(":", 1)[1] if kind == "organisation" else kind, "kind": kind})
        if i + 1 < len(nodes):
            out.append({"edge": dict(g.get_edge_data(n, nodes[i + 1]) or {})})
    return out


def personal_graph(con: duckdb.DuckDBPyConnection) -> nx.Graph:
    """People and organisations linked by relative, founder and director edges (conflicts.graph), with relatives
    declared by IIN reachable by their IIN."""
    from aiqyn.conflicts.graph import PERSONAL, build_graph

    ensure_register_tables(con)
    g = build_graph(con)
    h = nx.Graph()
    for u, v, data in g.edges(data=True):
        if data.get("kind") in PERSONAL:
            h.add_edge(u, v, **{k: val for k, val in data.items() if k in ("kind", "relation")})
    for pid, iin in con.execute("SELECT person_id, relative_iin FROM relatives WHERE relative_iin IS NOT NULL "
                                "AND person_id <> relative_iin").fetchall():
        if f"person:{pid}" in h:
            h.add_edge(f"person:{pid}", f"person:{iin}", kind="same_person")
    return h


def check(con: duckdb.DuckDBPyConnection, rules: QueueRules | None = None, store: bool = True,
          only: list[str] | None = None) -> CheckResult:
    """Check every queue (or `only` these) and replace the queue findings in the store."""
    rules = rules or QueueRules()
    queues.ensure_tables(con)
    ensure_outputs(con)
    graph = personal_graph(con)
    result = CheckResult(counts=dict.fromkeys(QUEUE_KINDS, 0))
    rows = con.execute("SELECT queue_id, kind, region_kato, organisation_bin FROM queues ORDER BY queue_id").fetchall()
    meta: dict[str, tuple[str | None, str | None]] = {}
    for qid, kind, region, org in rows:
        if only and qid not in only:
            continue
        items = list(queues.entries(con, qid))
        private = {int(s): (a, o) for s, a, o in con.execute(
            "SELECT seq, applicant_iin, official_iin FROM queue_private WHERE queue_id = ?", [qid]).fetchall()}
        found = check_queue(kind, items, private, rules, graph)
        result.queues += 1
        result.entries += len(items)
        result.findings += found
        meta[qid] = (region, org)
    for f in result.findings:
        result.counts[f.kind] += 1
    if store:
        now = dt.datetime.now(dt.UTC)
        con.execute("BEGIN TRANSACTION")
        try:
            if only:
                con.execute("DELETE FROM public_control_findings WHERE list_contains(?, queue_id)", [only])
            else:
                con.execute("DELETE FROM public_control_findings WHERE queue_id IS NOT NULL")
            insert_rows(con, "public_control_findings", [
                [f.kind, f"{f.queue_id}#{f.seq}", f.queue_id, f.seq, None, meta[f.queue_id][0], meta[f.queue_id][1],
                 f.applicant, f.official_iin, dt.datetime.fromisoformat(f.at),
                 json.dumps(f.evidence, ensure_ascii=False), now] for f in result.findings])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return result
