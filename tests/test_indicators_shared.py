"""The DuckDB runner computes once the CTEs several indicators share (aiqyn.indicators.shared): the WITH lists split
into their CTEs, shared only when text, parameters and inputs are the same, and a run's flags and statistics are
those of each indicator's own query run alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from aiqyn.indicators.base import used_parameters
from aiqyn.indicators.registry import REGISTRY
from aiqyn.indicators.runner import global_bindings, run
from aiqyn.indicators.settings import default_settings
from aiqyn.indicators.shared import INLINE, plan_run, plan_statement, split_ctes
from aiqyn.spark.compare import same
from conftest import ingest, run_cli


def test_split_keeps_literals_comments_and_column_lists() -> None:
    text = """a AS (SELECT ')(' AS x, 'it''s, (' AS y -- a comment ) with (
  FROM t),
-- between the CTEs, a comment with a ) and a ,
b(p, q) AS (SELECT "odd ) name", (1 + (2)) FROM a /* ) */),
c AS(SELECT * FROM b)"""
    ctes = split_ctes(text)
    assert [c.name for c in ctes] == ["a", "b", "c"]
    assert ctes[0].body.startswith("SELECT ')(' AS x, 'it''s, ('") and ctes[0].body.endswith("FROM t")
    assert ctes[1].header == "b(p, q) AS" and ctes[1].body == 'SELECT "odd ) name", (1 + (2)) FROM a /* ) */'
    assert ctes[2].body == "SELECT * FROM b"


@pytest.mark.parametrize("text", ["a AS (SELECT 1", "a AS (SELECT 1) b AS (SELECT 2)", "SELECT 1",
                                  "a AS (SELECT 'x)"])
def test_split_rejects_what_is_not_a_with_list(text: str) -> None:
    with pytest.raises(ValueError):
        split_ctes(text)


@pytest.mark.parametrize("code", list(REGISTRY))
def test_every_indicator_splits_into_its_ctes(code: str) -> None:
    ind = REGISTRY[code]
    params = ind.params()
    query = ind.query(params)
    ctes = split_ctes(query[len("WITH "):query.index(ind.select)].strip()) if query.startswith("WITH ") else []
    assert [c.name for c in ctes] == re.findall(r"(?m)^(\w+)(?:\([^)]*\))? AS \(", query.split(ind.select)[0]
                                                .removeprefix("WITH "))
    # put back together, the statement is the definition (comments between the CTEs aside)
    rebuilt = "WITH " + ",\n".join(f"{c.header} ({c.body})" for c in ctes) + "\n" + ind.select if ctes else ind.select
    strip = re.compile(r"--[^\n]*\n|\s+")
    assert strip.sub("", rebuilt) == strip.sub("", query)


def _statements(codes: list[str], **overrides: dict[str, object]) -> list:  # type: ignore[type-arg]
    settings = default_settings().only(codes)
    common = {**global_bindings(settings), "run_id": "r"}
    out = []
    for code, params in settings.indicators.items():
        if code in overrides:
            params = params.model_copy(update=overrides[code])
        ind = REGISTRY[code]
        out.append(plan_statement(code, ind, params, {**common, **ind.bindings(params), "code": code}))
    return out


def _shared_names(statements: list) -> set[str]:  # type: ignore[type-arg]
    plan = plan_run(statements)
    return {c.name for st in statements for c, k in zip(st.ctes, st.keys, strict=True) if k in plan.shared}


def test_what_is_shared() -> None:
    # R024 and R058 read the same ratios and quartiles; their fences differ; procs stays inline
    names = _shared_names(_statements(["R024", "R058"]))
    assert {"party_keys", "sole_winner", "single_bids", "ratios", "q1", "q3"} <= names
    assert "fence" not in names and "flagged" not in names and not names & INLINE
    # an indicator alone shares nothing; R018's and R044's `bidders` are different CTEs of one name
    assert _shared_names(_statements(["R024"])) == set()
    assert "bidders" not in _shared_names(_statements(["R018", "R025"]))


def test_a_cte_is_shared_only_with_the_same_inputs() -> None:
    # KZ001 and KZ008 share buyers and spend; with another list of excluded methods (a global binding read by
    # procs) nothing downstream of procs could be shared, which the keys follow
    a = _statements(["KZ001", "KZ008"])
    assert {"buyers", "spend", "party_keys"} <= _shared_names(a)
    spend = [dict(zip([c.name for c in st.ctes], st.keys, strict=True))["spend"] for st in a]
    assert spend[0] == spend[1]
    settings = default_settings()
    ind = REGISTRY["KZ001"]
    other = plan_statement("KZ001", ind, ind.params(), {**global_bindings(settings), "run_id": "r", "code": "KZ001",
                                                         **ind.bindings(ind.params()), "excluded_details": ["x"]})
    assert dict(zip([c.name for c in other.ctes], other.keys, strict=True))["spend"] != spend[0]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("shared")
    assert run_cli(["generate", "--tenders", "1500", "--seed", "5", "--out", tmp / "data"]).code == 0
    db = tmp / "store.duckdb"
    res = ingest([tmp / "data" / "releases.jsonl"], db, "--quiet")
    assert res.code == 0, res.output
    return db


def test_a_run_equals_each_indicator_alone(store: Path) -> None:
    """Every indicator's flags and statistics in a run (shared CTEs, flags and statistics in one statement) are
    those of its own query and meta query run alone, as Spark runs them."""
    settings = default_settings()
    con = duckdb.connect(str(store))
    try:
        result = run(con, settings)
        assert any(s.label.startswith("shared ") for s in result.steps)
        assert [s.label for s in result.steps if not s.label.startswith("shared ")] == list(settings.indicators)
        info = json.loads(con.execute("SELECT meta FROM flag_runs WHERE run_id = ?", [result.run_id]).fetchone()[0])
        flagged = 0
        for code, params in settings.indicators.items():
            ind = REGISTRY[code]
            values = {**global_bindings(settings), "run_id": result.run_id, **ind.bindings(params), "code": code}
            sql = ind.query(params)
            alone = {(t, s): (float(v), json.loads(str(e))) for t, s, v, e in
                     con.execute(f"SELECT * FROM ({sql}) q", used_parameters(sql, values)).fetchall()}
            stored = {(t, s): (v, json.loads(e)) for t, s, v, e in con.execute(
                "SELECT subject_type, subject_id, value, evidence FROM flags WHERE run_id = ? AND code = ?",
                [result.run_id, code]).fetchall()}
            assert same(alone, stored) == [], code
            assert result.counts[code] == len(stored)
            flagged += bool(stored)
            meta_sql = ind.meta_query(params)
            if meta_sql is not None:
                meta = {str(k): (None if v is None else float(v))
                        for k, v in con.execute(meta_sql, used_parameters(meta_sql, values)).fetchall()}
                assert same(meta, info[code]) == [], code
        assert flagged >= 15  # the generated schemes raise most flags
        assert not [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
                    if t.startswith("_aiqyn")]
    finally:
        con.close()
