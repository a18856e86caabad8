"""The affiliation graph out of Aiqyn: GraphML (networkx; Gephi, yEd, Neo4j) and FollowTheMoney entities (JSON
lines, made with the `followthemoney` package, so the graph opens in Aleph and the OpenSanctions tools).

FollowTheMoney mapping: officials, relatives, founders and directors are `Person` (IIN as `idNumber`, date of
birth as `birthDate`, officials' position); companies are `Company` (BIN as `registrationNumber`, the Kazakh,
Russian and Latin names as `name`/`alias`, address, phone, status); state bodies are `PublicBody`; a founder is
an `Ownership` (owner -> asset), a director a `Directorship` (director -> organization), a declared relative a
`Family` (person -> relative, with the relation), an official's post an `Employment` (employee -> employer, with
the position); a shared bank account is a `BankAccount` with an `UnknownLink` to its holder. Entity ids are
stable: the SHA-1 of "aiqyn" and the graph node's id (FtM's `make_id`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import orjson


def write_graphml(g: nx.MultiGraph, path: Path) -> int:
    """Write the graph as GraphML (attributes without a value are left out); returns the number of nodes."""
    h = nx.MultiGraph()
    for n, attrs in g.nodes(data=True):
        h.add_node(n, **{k: str(v) for k, v in attrs.items() if v is not None})
    for a, b, attrs in g.edges(data=True):
        h.add_edge(a, b, **{k: str(v) for k, v in attrs.items() if v is not None})
    nx.write_graphml(h, path)
    return h.number_of_nodes()


def ftm_entities(g: nx.MultiGraph) -> list[dict[str, Any]]:
    """The graph as FollowTheMoney entities (their dict form)."""
    from followthemoney import model

    ids: dict[str, str] = {}
    out: list[Any] = []

    def entity(schema: str, key: str) -> Any:
        e = model.make_entity(schema)
        e.make_id("aiqyn", key)
        return e

    for n, a in g.nodes(data=True):
        kind = a.get("kind")
        node_id = n.split(":", 1)[1]
        if kind in ("official", "relative", "person"):
            e = entity("Person", n)
            e.add("name", a.get("label"))
            if node_id.isdigit() and len(node_id) == 12:
                e.add("idNumber", node_id)
            if a.get("birth_date"):
                e.add("birthDate", a["birth_date"])
            if a.get("position"):
                e.add("position", a["position"])
            e.add("country", "kz")
            e.add("topics", "role.pep" if kind == "official" else ("role.rca" if kind == "relative" else None))
        elif kind in ("company", "organisation"):
            e = entity("Company" if kind == "company" else "PublicBody", n)
            names = [x for x in (a.get("name_ru"), a.get("name_kk"), a.get("name_latin")) if x]
            e.add("name", names[0] if names else (a.get("label") or node_id))
            for alias in names[1:]:
                e.add("alias", alias)
            e.add("registrationNumber", node_id)
            e.add("jurisdiction", "kz")
            if kind == "company":
                e.add("status", a.get("status"))
                for nb in g.neighbors(n):
                    nk = g.nodes[nb].get("kind")
                    if nk == "address":
                        e.add("address", g.nodes[nb].get("label"))
                    elif nk == "phone":
                        e.add("phone", g.nodes[nb].get("label"), quiet=True)
        elif kind == "account":
            e = entity("BankAccount", n)
            e.add("iban", node_id, quiet=True)
            e.add("accountNumber", node_id)
        else:
            continue  # addresses and phones are properties of the companies
        ids[n] = e.id
        out.append(e)
    for a, b, attrs in g.edges(data=True):
        kind = attrs.get("kind")
        if a not in ids or b not in ids:
            continue
        if kind in ("founder", "director", "relative", "serves_in"):
            person, org = (a, b) if g.nodes[a].get("kind") in ("official", "relative", "person") else (b, a)
        key = f"{a}|{kind}|{b}|{attrs.get('mention', '')}"
        if kind == "founder":
            e = entity("Ownership", key)
            e.add("owner", ids[person])
            e.add("asset", ids[org])
            e.add("role", "founder")
        elif kind == "director":
            e = entity("Directorship", key)
            e.add("director", ids[person])
            e.add("organization", ids[org])
            e.add("role", "director")
        elif kind == "relative":
            e = entity("Family", key)
            e.add("person", ids[a])
            e.add("relative", ids[b])
            e.add("relationship", attrs.get("relation"))
        elif kind == "serves_in":
            e = entity("Employment", key)
            e.add("employee", ids[person])
            e.add("employer", ids[org])
            e.add("role", g.nodes[person].get("position"))
        elif kind == "account":
            holder, account = (a, b) if g.nodes[b].get("kind") == "account" else (b, a)
            e = entity("UnknownLink", key)
            e.add("subject", ids[holder])
            e.add("object", ids[account])
            e.add("role", "account holder")
        else:
            continue
        out.append(e)
    return [e.to_dict() for e in out]


def write_ftm(g: nx.MultiGraph, path: Path) -> int:
    """Write FollowTheMoney entities as JSON lines; returns their number."""
    entities = ftm_entities(g)
    with path.open("wb") as fh:
        for e in entities:
            fh.write(orjson.dumps(e) + b"\n")
    return len(entities)
