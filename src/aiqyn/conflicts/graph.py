"""The affiliation graph and its conflict-of-interest flags, each with the connecting path as evidence.

Nodes: `person:<IIN or relative id or mention cluster>` (officials, relatives, founders, directors), `org:<BIN>`
(companies and state bodies), `address:<key>`, `phone:<digits>`, `account:<IBAN>`. Edges carry a `kind`:
serves_in, relative (with the relation), founder, director, address, phone, account. Founders and directors are
the nodes entity resolution linked them to (`entity_matches`), so "Akhmetov Nurlan, 1969-09-17" in a company and
"Ахметов Нурлан Серикович" in the officials register are one node.

Flags (subject: the process), written to the indicators' `flags` table through `write_flags` (a documented hook:
these need graph paths, not one SQL query) and to `conflict_paths`:

- CI001: the winner is founded or directed by an official of the buyer, or by a member of the process's
  commission, or by a declared relative of one (path official -relative- person -founder/director- winner);
- CI002: a political servant is connected the same way to the winner of a body they oversee (a buyer of the same
  district, KATO code, as the servant's organisation);
- CI003: two bidders of one tender belong to one group: a shared founder or director, address, phone or bank
  account.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb

from aiqyn.conflicts.normalize import address_key, phone_key
from aiqyn.conflicts.registers import ensure_register_tables, insert_rows
from aiqyn.store.schema import SCHEMA

if TYPE_CHECKING:  # networkx is imported where a graph is built: `flags run` reads only CODES (0.2 s of import)
    import networkx as nx

PERSONAL = ("founder", "director", "relative")
CODES = {
    "CI001": "Winner affiliated with an official of the buyer or of the commission",
    "CI002": "Political servant connected to a supplier of a body they oversee",
    "CI003": "Bidders of one tender in one group (shared founder, director, address, phone or account)",
}


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [table]).fetchone()[0])  # type: ignore[index]


def build_graph(con: duckdb.DuckDBPyConnection) -> nx.MultiGraph:
    """The affiliation graph of the registers, the resolution's matches and the store's parties."""
    import networkx as nx

    ensure_register_tables(con)
    g = nx.MultiGraph()
    for iin, name, org, kind, position in con.execute(
            "SELECT iin, full_name, organisation_bin, servant_kind, position FROM officials").fetchall():
        g.add_node(f"person:{iin}", kind="official", label=name, servant_kind=kind, position=position)
        g.add_node(f"org:{org}", kind="organisation")
        g.add_edge(f"person:{iin}", f"org:{org}", kind="serves_in")
    for pid, official, name, relation in con.execute(
            "SELECT person_id, official_iin, relative_name, relation FROM relatives").fetchall():
        node = f"person:{pid}"
        if node not in g or g.nodes[node].get("kind") != "official":
            g.add_node(node, kind="relative", label=name or pid)
        g.add_edge(f"person:{official}", node, kind="relative", relation=relation)
    matched: dict[str, str] = {}
    if _has(con, "entity_matches"):
        for mention_id, person_id in con.execute(
                "SELECT mention_id, person_id FROM entity_matches ORDER BY score DESC, person_id").fetchall():
            matched.setdefault(mention_id, person_id)
    clusters: dict[str, str] = {}
    if _has(con, "mention_clusters"):
        clusters = dict(con.execute("SELECT mention_id, cluster_id FROM mention_clusters").fetchall())
    relative_iins = dict(con.execute("SELECT relative_iin, person_id FROM relatives WHERE relative_iin IS NOT NULL")
                         .fetchall())
    for bin_, kk, ru, latin, address, phone, status in con.execute(
            "SELECT bin, name_kk, name_ru, name_latin, address, phone, status FROM companies").fetchall():
        node = f"org:{bin_}"
        g.add_node(node, kind="company", label=ru or kk or latin, name_kk=kk, name_ru=ru, name_latin=latin,
                   status=status)
        if address:
            g.add_node(f"address:{address_key(address)}", kind="address", label=address)
            g.add_edge(node, f"address:{address_key(address)}", kind="address")
        if phone and phone_key(phone):
            g.add_node(f"phone:{phone_key(phone)}", kind="phone", label=phone)
            g.add_edge(node, f"phone:{phone_key(phone)}", kind="phone")
    for bin_, role, position, iin, name, born in con.execute(
            "SELECT bin, role, position, person_iin, person_name, birth_date FROM company_people").fetchall():
        mention_id = f"{bin_}/{role}/{position}"
        if mention_id in matched:
            person = matched[mention_id]
        elif iin:
            person = relative_iins.get(iin, iin)
        else:
            person = f"mention:{clusters.get(mention_id, mention_id)}"
        node = f"person:{person}"
        if node not in g:
            g.add_node(node, kind="person", label=name or iin or person, birth_date=str(born) if born else None)
        g.add_edge(node, f"org:{bin_}", kind=role, mention=mention_id, written=name or iin)
    if _has(con, "party_accounts") and _has(con, "parties"):
        for identifier, iban in con.execute(
                "SELECT DISTINCT p.identifier, a.iban FROM party_accounts a JOIN parties p USING (ocid, party_id) "
                "WHERE a.iban IS NOT NULL AND p.identifier IS NOT NULL").fetchall():
            g.add_node(f"account:{iban}", kind="account", label=iban)
            g.add_edge(f"org:{identifier}", f"account:{iban}", kind="account")
    return g


def _step(g: nx.MultiGraph, a: str, b: str) -> dict[str, Any]:
    data = next(iter(g.get_edge_data(a, b).values()))
    return {k: v for k, v in data.items() if v is not None}


def describe_path(g: nx.MultiGraph, nodes: list[str]) -> list[dict[str, Any]]:
    """[node, edge, node, ...] as JSON-ready dicts."""
    out: list[dict[str, Any]] = []
    for i, n in enumerate(nodes):
        attrs = g.nodes[n]
        out.append({"node": n, "kind": attrs.get("kind"), "label": attrs.get("label")})
        if i + 1 < len(nodes):
            out.append({"edge": _step(g, n, nodes[i + 1])})
    return out


@dataclass
class FlagsResult:
    run_id: str
    counts: dict[str, int] = field(default_factory=dict)
    rows: list[list[Any]] = field(default_factory=list)  # conflict_paths rows


def personal_graph(g: nx.MultiGraph) -> nx.Graph:
    """The people and organisations linked by founder, director and relative edges only (a copy, so that paths
    are searched in the neighbourhood of a company, not over the whole graph)."""
    import networkx as nx

    h = nx.Graph()
    h.add_edges_from((a, b) for a, b, kind in g.edges(data="kind") if kind in PERSONAL)
    return h


def _personal_paths(g: nx.MultiGraph, personal: nx.Graph, company: str) -> dict[str, list[str]]:
    """official node -> the shortest path company -> ... -> official over personal edges (at most 2 steps)."""
    if company not in personal:
        return {}
    import networkx as nx

    paths = nx.single_source_shortest_path(personal, company, cutoff=2)
    return {n: p for n, p in paths.items() if g.nodes[n].get("kind") == "official"}


def conflict_flags(con: duckdb.DuckDBPyConnection, g: nx.MultiGraph | None = None,
                   max_group_bidders: int = 50) -> list[tuple[str, str, float, list[list[dict[str, Any]]]]]:
    """(code, ocid, value, paths) for every process flagged."""
    g = g if g is not None else build_graph(con)
    if not _has(con, "awards"):
        return []
    officials_of: dict[str, list[str]] = defaultdict(list)
    commission_of: dict[str, list[str]] = defaultdict(list)
    political: dict[str, str] = {}
    for iin, org, kind, commissions in con.execute(
            "SELECT iin, organisation_bin, servant_kind, commissions FROM officials").fetchall():
        officials_of[org].append(iin)
        for ocid in commissions or []:
            commission_of[ocid].append(iin)
        if kind == "political":
            political[iin] = org
    office = {iin: (s, e) for iin, s, e in con.execute(
        "SELECT iin, in_office_from, in_office_to FROM officials").fetchall()}
    kato = dict(con.execute("SELECT DISTINCT identifier, region_code FROM parties WHERE identifier IS NOT NULL "
                            "AND region_code IS NOT NULL AND list_contains(roles, 'buyer')").fetchall())
    overseen: dict[str, set[str]] = defaultdict(set)  # buyer BIN -> political servants overseeing it
    by_kato: dict[str, set[str]] = defaultdict(set)
    for buyer, code in kato.items():
        by_kato[code].add(buyer)
    for iin, org in political.items():
        for buyer in by_kato.get(kato.get(org, ""), {org}):
            overseen[buyer].add(iin)
    awards = con.execute("""
        SELECT DISTINCT a.ocid, b.identifier AS buyer, s.identifier AS winner, CAST(a.date AS DATE) AS day
        FROM awards a
        JOIN award_suppliers x ON x.ocid = a.ocid AND x.award_position = a.position
        JOIN parties s ON s.ocid = x.ocid AND s.party_id = x.party_id
        JOIN processes p ON p.ocid = a.ocid
        JOIN parties b ON b.ocid = p.ocid AND b.party_id = p.buyer_id
        WHERE coalesce(a.status, 'active') NOT IN ('cancelled', 'unsuccessful') AND s.identifier IS NOT NULL
        ORDER BY 1""").fetchall()
    cache: dict[str, dict[str, list[str]]] = {}
    personal = personal_graph(g)
    found: dict[tuple[str, str], list[list[dict[str, Any]]]] = {}  # (code, ocid) -> paths (all its awards)

    def in_office(iin: str, day: dt.date | None) -> bool:
        start, end = office[iin]
        return day is None or (start <= day and (end is None or day <= end))

    for ocid, buyer, winner, day in awards:
        node = f"org:{winner}"
        if node not in g:
            continue
        if winner not in cache:
            cache[winner] = _personal_paths(g, personal, node)
        reach = cache[winner]
        if not reach:
            continue
        ci1 = [describe_path(g, list(reversed(reach[f"person:{o}"])))
               for o in sorted(set(officials_of.get(buyer, [])) | set(commission_of.get(ocid, [])))
               if f"person:{o}" in reach and in_office(o, day)]
        if ci1:
            found.setdefault(("CI001", ocid), []).extend(ci1)
        ci2 = [[*describe_path(g, list(reversed(reach[f"person:{o}"]))), {"oversees": buyer}]
               for o in sorted(overseen.get(buyer, set())) if f"person:{o}" in reach and in_office(o, day)]
        if ci2:
            found.setdefault(("CI002", ocid), []).extend(ci2)
    # CI003: bidders sharing a founder, director, address, phone or account
    bidders = con.execute("""
        SELECT t.ocid, list(DISTINCT p.identifier ORDER BY p.identifier) FROM tenderers t
        JOIN parties p ON p.ocid = t.ocid AND p.party_id = t.party_id WHERE p.identifier IS NOT NULL
        GROUP BY t.ocid HAVING count(DISTINCT p.identifier) BETWEEN 2 AND ? ORDER BY 1""",
                          [max_group_bidders]).fetchall()
    for ocid, members in bidders:
        paths = []
        for i, a in enumerate(members):
            na = f"org:{a}"
            if na not in g:
                continue
            for b in members[i + 1:]:
                nb = f"org:{b}"
                if nb not in g:
                    continue
                for shared in sorted(set(g.neighbors(na)) & set(g.neighbors(nb))):
                    if g.nodes[shared].get("kind") in ("person", "official", "relative", "address", "phone",
                                                       "account"):
                        paths.append(describe_path(g, [na, shared, nb]))
        if paths:
            found[("CI003", ocid)] = paths
    return [(code, ocid, float(len(paths)), paths) for (code, ocid), paths in sorted(found.items())]


def write_flags(con: duckdb.DuckDBPyConnection, run: str | None = None,
                g: nx.MultiGraph | None = None) -> FlagsResult:
    """The hook into the indicator framework: compute CI001-CI003 and write them to `flags` (subject type
    process, value = number of paths, evidence = {"paths": [...]}) and to `conflict_paths`.

    `run`: the flags run to add them to (its earlier CI rows are replaced), "latest" for the newest complete
    `aiqyn flags run`, or None for a run of their own (mode `conflicts`)."""
    from aiqyn.indicators.runner import ensure_tables, latest_run

    ensure_tables(con)
    for name in ("conflict_paths",):
        con.execute(SCHEMA.outputs[name].ddl())
    flags = conflict_flags(con, g)
    run_id = latest_run(con) if run == "latest" else run
    own = run_id is None
    if own:
        run_id = f"conflicts-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    elif not con.execute("SELECT count(*) FROM flag_runs WHERE run_id = ?", [run_id]).fetchone()[0]:  # type: ignore
        raise KeyError(f"no flags run {run_id!r} in this store")
    result = FlagsResult(str(run_id))
    con.execute("BEGIN TRANSACTION")
    try:
        if own:
            con.execute("INSERT INTO flag_runs VALUES (?, now(), now(), 'conflicts', NULL, '{}', ?, '{}', "
                        "'complete')", [run_id, list(CODES)])
        con.execute(f"DELETE FROM flags WHERE run_id = ? AND code IN ({', '.join('?' * len(CODES))})",
                    [run_id, *CODES])
        con.execute("DELETE FROM conflict_paths WHERE run_id = ?", [run_id])
        flag_rows = []
        for code, ocid, value, paths in flags:
            flag_rows.append([run_id, code, "process", ocid, value, json.dumps({"paths": paths}, ensure_ascii=False)])
            for i, path in enumerate(paths):
                result.rows.append([run_id, code, ocid, i, json.dumps(path, ensure_ascii=False)])
            result.counts[code] = result.counts.get(code, 0) + 1
        insert_rows(con, "flags", flag_rows)
        insert_rows(con, "conflict_paths", result.rows)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result
