"""Computing once what several indicators of a run compute alike (the DuckDB runner's plan).

Each indicator stays one self-contained query (`WITH ctes SELECT ...`), which is what Spark runs and what the
docs show. Many indicators start from the same common table expressions, though: the processes in scope
(`procs`), the sole winners and their bids (R024, R025, R058), the second-lowest bid ratios and their quartiles
(R024, R058), the winners of Kazakhstan's flags (KZ004-KZ007), the buyers and their spend (KZ001, KZ002, KZ008).
The DuckDB runner plans the run first: it splits every indicator's WITH list into its CTEs and gives each one a
key (its text, the values of the parameters it uses, and the keys of the CTEs it reads), so that two CTEs
with one key return the same rows. A CTE whose key two or more indicators of the run need is computed once into
a temporary table (`_aiqyn_cte_N`) when first needed; in each query that needs it, its body becomes
`SELECT * FROM _aiqyn_cte_N`. Everything else runs as written.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiqyn.indicators.base import Indicator, used_parameters


@dataclass(frozen=True)
class Cte:
    name: str
    header: str  # `name AS` or `name(a, b) AS`: what precedes the parenthesised body
    body: str


def _skip_literal(text: str, i: int) -> int:
    """The index just after the quoted literal, comment or identifier starting at text[i] (or i + 1)."""
    c = text[i]
    if c in "'\"":
        j = i + 1
        while j < len(text):
            if text[j] == c:
                if j + 1 < len(text) and text[j + 1] == c:  # doubled quote
                    j += 2
                    continue
                return j + 1
            j += 1
        raise ValueError(f"unterminated {c} literal at offset {i}")
    if text.startswith("--", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end + 1
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        if end < 0:
            raise ValueError(f"unterminated comment at offset {i}")
        return end + 2
    return i + 1


def _closing(text: str, start: int) -> int:
    """The index of the parenthesis closing the one at text[start]."""
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        if c in "'\"" or text.startswith(("--", "/*"), i):
            i = _skip_literal(text, i)
            continue
        i += 1
    raise ValueError(f"unbalanced parenthesis at offset {start}")


_HEAD = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<cols>\([^()]*\))?\s+AS\s*\(", re.IGNORECASE)


def _skip_space(text: str, i: int) -> int:
    """The index of the first character from i that is neither white space nor part of a comment."""
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text.startswith(("--", "/*"), i):
            i = _skip_literal(text, i)
        else:
            break
    return i


def split_ctes(text: str) -> list[Cte]:
    """The common table expressions of a WITH list (without the WITH): `a AS (...), b AS (...)`."""
    out: list[Cte] = []
    i = 0
    while True:
        i = _skip_space(text, i)
        match = _HEAD.match(text, i)
        if match is None:
            raise ValueError(f"expected `name AS (` at offset {i}: {text[i:i + 60]!r}")
        open_at = match.end() - 1
        close_at = _closing(text, open_at)
        out.append(Cte(match["name"], text[match.start("name"):open_at].strip(), text[open_at + 1:close_at]))
        i = _skip_space(text, close_at + 1)
        if i < len(text) and text[i] == ",":
            i += 1
            continue
        if i < len(text):
            raise ValueError(f"unexpected text after the CTE {match['name']}: {text[i:i + 60]!r}")
        return out


def _refs(text: str, names: list[str]) -> set[str]:
    return {n for n in names if re.search(rf"\b{n}\b", text)}


@dataclass
class Statement:
    """One indicator's query, planned: its CTEs with their keys, and which ones its SELECT and meta need."""

    code: str
    ctes: list[Cte]
    keys: list[str]
    needed: set[int]  # indexes into ctes
    select: str
    meta: str | None


@dataclass
class Plan:
    statements: list[Statement]
    shared: set[str]  # keys computed once into temporary tables
    tables: dict[str, str] = field(default_factory=dict)  # key -> temporary table, once computed

    def sql(self, st: Statement, tail: str, upto: int | None = None, extra: tuple[str, ...] = ()) -> str:
        """The statement's WITH list (up to the CTE `upto` included), its shared CTEs reading their tables, then
        the `extra` CTEs, followed by `tail`."""
        parts = []
        for cte, key in list(zip(st.ctes, st.keys, strict=True))[:None if upto is None else upto + 1]:
            table = self.tables.get(key)
            parts.append(f"{cte.name} AS (SELECT * FROM {table})" if table else f"{cte.header} ({cte.body})")
        parts.extend(extra)
        return "WITH " + ",\n".join(parts) + "\n" + tail if parts else tail

    def pending(self, st: Statement) -> list[int]:
        """The statement's shared CTEs not computed yet, in WITH order (a CTE reads only earlier ones)."""
        return [i for i in sorted(st.needed) if st.keys[i] in self.shared and st.keys[i] not in self.tables]


def _key(cte: Cte, values: dict[str, Any], upstream: list[str]) -> str:
    params = used_parameters(cte.body + " " + cte.header, values)
    text = json.dumps([cte.header, cte.body, sorted(params.items()), upstream], default=str, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()


def plan_statement(code: str, indicator: Indicator, params: Any, values: dict[str, Any]) -> Statement:
    ctes_text = indicator.ctes
    if indicator.render is not None:
        for key, text in indicator.render(params).items():
            ctes_text = ctes_text.replace("{" + key + "}", text)
    ctes = split_ctes(ctes_text) if ctes_text.strip() else []
    names = [c.name for c in ctes]
    keys: list[str] = []
    for i, cte in enumerate(ctes):
        earlier = names[:i]
        # the latest earlier CTE of each name read (a later CTE of one name shadows an earlier one)
        upstream = [keys[max(j for j in range(i) if names[j] == n)] for n in sorted(_refs(cte.body, earlier))]
        keys.append(_key(cte, values, upstream))
    meta = indicator.meta
    needed: set[int] = set()
    todo = [max(j for j in range(len(names)) if names[j] == n)
            for n in _refs(indicator.select + " " + (meta or ""), names)]
    while todo:
        i = todo.pop()
        if i in needed:
            continue
        needed.add(i)
        todo.extend(max(j for j in range(i) if names[j] == n) for n in _refs(ctes[i].body, names[:i]))
    return Statement(code, ctes, keys, needed, indicator.select, meta)


# CTEs left inline even when shared: `procs` is a filter of `processes`, which each query scans for the few columns
# it reads more cheaply than it would read a copy of every column.
INLINE = frozenset({"procs"})


def plan_run(statements: list[Statement]) -> Plan:
    """Share the CTEs that two or more statements need (except those of INLINE)."""
    uses: dict[str, int] = {}
    for st in statements:
        for key in {st.keys[i] for i in st.needed if st.ctes[i].name not in INLINE}:
            uses[key] = uses.get(key, 0) + 1
    return Plan(statements, {key for key, n in uses.items() if n >= 2})
