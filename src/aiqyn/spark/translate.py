"""DuckDB-dialect SQL of the indicators, the score and the regional index, turned into Spark SQL.

Every definition is written once, in DuckDB's dialect (src/aiqyn/indicators, src/aiqyn/scoring/score.py,
src/aiqyn/regions/index.py). For Spark, sqlglot parses it, the bound `$parameters` become literals, and a few
rewrites below cover what sqlglot's Spark generator does not translate by itself; the result is generated in
Spark's dialect with unsupported constructs raising an error (never silently dropped). Nothing is defined twice:
the rewrites are about the dialect, not about any indicator.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel


class TranslationError(ValueError):
    """A definition that cannot be run on Spark; the message names the definition and the construct."""


def literal(value: Any) -> exp.Expr:
    """A bound parameter as a SQL literal."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(str(value))
    if isinstance(value, float):
        return exp.Literal.number(repr(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, (list, tuple)):
        return exp.Array(expressions=[literal(v) for v in value])
    raise TranslationError(f"a parameter of type {type(value).__name__} cannot be written as a literal: {value!r}")


def bind(tree: exp.Expr, values: dict[str, Any], name: str) -> exp.Expr:
    """`tree` with every `$name` replaced by the literal of values[name]."""
    def sub(node: exp.Expr) -> exp.Expr:
        if isinstance(node, (exp.Placeholder, exp.Parameter)):
            key = node.name
            if key not in values:
                raise TranslationError(f"{name}: the query uses ${key}, which has no value")
            return literal(values[key])
        return node
    return tree.transform(sub)


def parse(sql: str, name: str) -> exp.Expr:
    try:
        return sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as e:
        raise TranslationError(f"{name}: sqlglot cannot parse the DuckDB SQL: {e}") from None


def to_spark(sql: str | exp.Expr, values: dict[str, Any] | None = None, name: str = "query") -> str:
    """The Spark SQL of a DuckDB-dialect statement, with its `$parameters` bound to `values`."""
    tree = parse(sql, name) if isinstance(sql, str) else sql
    tree = bind(tree, values or {}, name)
    return _generate(rewrite(tree), name)


@dataclass(frozen=True)
class View:
    """A common table expression of a definition, as a Spark temporary view: `name` is derived from its Spark SQL
    (so that the same CTE in two statements, SQL text and dependencies alike, is one view) and `sql` is that
    SELECT, reading the earlier CTEs through their views (`reads`: one entry per reference)."""

    name: str
    sql: str
    reads: tuple[str, ...]


@dataclass(frozen=True)
class Split:
    """A statement as its top-level CTEs (views, in order) and its body over them (Spark SQL, reading `reads`)."""

    views: tuple[View, ...]
    body: str
    reads: tuple[str, ...] = ()


def to_spark_views(sql: str | exp.Expr, values: dict[str, Any] | None = None, name: str = "query") -> Split:
    """to_spark, with the top-level WITH taken apart: every CTE becomes a View and the body reads the views.

    Spark inlines a CTE wherever it is referenced, and a CTE read by several others (the quartiles' inputs, a
    shared `procs`) is planned and computed once per reference: the plans of the quartile indicators grow to
    hundreds of scans. As views, the caller can compute once (cache) what several queries read. The statement
    means the same: a reference `x` becomes `<view> AS x`. A statement without a WITH, with a recursive one, or
    whose subqueries define a CTE of the same name as a top-level one, is left whole (no views)."""
    tree = parse(sql, name) if isinstance(sql, str) else sql.copy()
    tree = rewrite(bind(tree, values or {}, name))
    with_ = tree.args.get("with_")
    if with_ is None or with_.args.get("recursive"):
        return Split((), _generate(tree, name))
    names = {c.alias_or_name.lower() for c in with_.expressions}
    for inner in tree.find_all(exp.With):
        if inner is not with_ and names & {c.alias_or_name.lower() for c in inner.expressions}:
            return Split((), _generate(tree, name))
    views: list[View] = []
    mapping: dict[str, str] = {}
    for cte in with_.expressions:
        body, reads = _read_views(cte.this, mapping)
        text = _generate(body, f"{name}, CTE {cte.alias_or_name}")
        view = View("_cte_" + hashlib.sha1(text.encode()).hexdigest()[:16], text, reads)
        views.append(view)
        mapping[cte.alias_or_name.lower()] = view.name
    tree.set("with_", None)
    body, reads = _read_views(tree, mapping)
    return Split(tuple(views), _generate(body, name), reads)


def _read_views(tree: exp.Expr, mapping: dict[str, str]) -> tuple[exp.Expr, tuple[str, ...]]:
    """`tree` with its references to the CTEs of `mapping` reading their views instead (aliased by the CTE's
    name, so that qualified columns still resolve); and the views read, once per reference."""
    tree = tree.copy()
    used: list[str] = []
    for table in list(tree.find_all(exp.Table)):
        key = table.name.lower()
        if table.args.get("db") or key not in mapping:
            continue
        alias = table.alias or table.name
        table.replace(exp.Table(this=exp.to_identifier(mapping[key]), alias=exp.TableAlias(
            this=exp.to_identifier(alias))))
        used.append(mapping[key])
    return tree, tuple(used)


def _generate(tree: exp.Expr, name: str) -> str:
    try:
        return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    except sqlglot.errors.UnsupportedError as e:
        raise TranslationError(f"{name}: not translatable to Spark SQL: {e}") from None


def rewrite(tree: exp.Expr) -> exp.Expr:
    """Dialect rewrites sqlglot leaves to the caller:

    - an ordered aggregate `list(x ORDER BY k1 DESC, k2)` (DuckDB keeps the order; Spark's collect_list has no
      ORDER BY): the (keys, value) pairs are collected, sorted by a comparator that follows the ORDER BY
      (directions and DuckDB's NULLS LAST default), and the values kept;
    - a list slice `l[a:b]` (1-based, both ends included): Spark's `slice(l, a, b - a + 1)`;
    - a decimal literal (`1.0`, `0.25`): a DOUBLE, as DuckDB computes with it (Spark's DECIMAL arithmetic would
      round a quotient to 6 decimals);
    - `epoch(t)` (seconds with their fraction, a DOUBLE): unix_micros(t) / 1e6 (Spark's unix_timestamp drops
      the fraction);
    - `CAST(x AS JSON)` (JSON text kept as a value inside a larger JSON document): Spark's `parse_json(x)`, a
      VARIANT that to_json writes as JSON rather than as a quoted string.
    """
    tree = tree.copy()
    for node in reversed(list(tree.walk(bfs=False))):  # children before their parents
        new = _rewrite_node(node)
        if new is not node:
            if node is tree:
                tree = new
            else:
                node.replace(new)
    return tree


def _rewrite_node(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Literal) and not node.is_string and any(c in node.this for c in ".eE"):
        # DuckDB computes with a decimal literal (1.0 / 3, 0.25) in DOUBLE; Spark would keep DECIMAL and round
        # a division to 6 decimals.
        return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        return _ordered_list(node.this)
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.Slice):
        lo, hi = node.expressions[0].this, node.expressions[0].expression
        if lo is None or hi is None:
            raise TranslationError(f"an open-ended slice is not translated: {node.sql('duckdb')}")
        length = exp.Add(this=exp.Sub(this=hi.copy(), expression=lo.copy()), expression=exp.Literal.number(1))
        return exp.Anonymous(this="slice", expressions=[node.this, lo.copy(), length])
    if isinstance(node, exp.TimeToUnix):
        micros = exp.Anonymous(this="unix_micros", expressions=[exp.Cast(this=node.this, to=exp.DataType.build(
            "TIMESTAMP"))])
        return exp.Div(this=micros, expression=exp.Cast(this=exp.Literal.number("1000000.0"),
                                                         to=exp.DataType.build("DOUBLE")))
    if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.JSON):
        return exp.Anonymous(this="parse_json", expressions=[node.this])
    return node


def _ordered_list(order: exp.Order) -> exp.Expr:
    value = order.this
    distinct = isinstance(value, exp.Distinct)
    if distinct:
        if len(value.expressions) != 1:
            raise TranslationError(f"DISTINCT over several values in an ordered list: {order.sql('duckdb')}")
        value = value.expressions[0]
    keys = list(order.expressions)
    fields = [exp.PropertyEQ(this=exp.to_identifier(f"k{i}"), expression=o.this.copy()) for i, o in enumerate(keys)]
    fields.append(exp.PropertyEQ(this=exp.to_identifier("v"), expression=value.copy()))
    # DISTINCT: collect_set, which keeps the pairs in a hash set. Not array_distinct(collect_list(...)): over an
    # array of structs Spark's array_distinct compares every element with every other one (quadratic: the scores'
    # examples of a region at 10M processes, lists of 100,000 processes, ran 28 minutes without finishing). The
    # keys follow from the value (DuckDB: an ORDER BY of a DISTINCT aggregate names its argument), so distinct
    # pairs are distinct values.
    collected: exp.Expr = exp.Anonymous(this="collect_set" if distinct else "collect_list",
                                        expressions=[exp.Struct(expressions=fields)])
    cases = []
    for i, o in enumerate(keys):
        left, right = f"l.k{i}", f"r.k{i}"
        # DuckDB's default: NULLS LAST whatever the direction; an explicit NULLS FIRST is kept.
        nulls_first = bool(o.args.get("nulls_first"))
        lt, gt = ("1", "-1") if o.args.get("desc") else ("-1", "1")
        cases += [f"WHEN {left} IS NULL AND {right} IS NOT NULL THEN {-1 if nulls_first else 1}",
                  f"WHEN {left} IS NOT NULL AND {right} IS NULL THEN {1 if nulls_first else -1}",
                  f"WHEN {left} < {right} THEN {lt}", f"WHEN {left} > {right} THEN {gt}"]
    body = sqlglot.parse_one(f"CASE {' '.join(cases)} ELSE 0 END", read="spark")
    comparator = exp.Lambda(this=body, expressions=[exp.to_identifier("l"), exp.to_identifier("r")])
    srt = exp.Anonymous(this="array_sort", expressions=[collected, comparator])
    pick = exp.Lambda(this=exp.column("v", table="e"), expressions=[exp.to_identifier("e")])
    return exp.Anonymous(this="transform", expressions=[srt, pick])
