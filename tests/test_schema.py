"""The store's schema (schema.yaml) is documented, its reference page is up to date, and ingest
produces exactly its columns."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import duckdb
import pytest
import yaml

from aiqyn.ingest.flatten import DERIVED_PROCESS_COLUMNS, FLATTEN, STRUCTURE_SQL, flatten_sql
from aiqyn.ingest.pipeline import CANONICAL
from aiqyn.store.db import open_store
from aiqyn.store.schema import SCHEMA
from conftest import REPO_ROOT, run_cli

RAW = yaml.safe_load(resources.files("aiqyn.store").joinpath("schema.yaml").read_text(encoding="utf-8"))


def test_every_table_and_column_is_documented() -> None:
    assert RAW["tables"]
    for name, spec in RAW["tables"].items():
        assert isinstance(spec.get("doc"), str) and spec["doc"].strip(), f"table {name} has no doc"
        assert spec["columns"], name
        for column, c in spec["columns"].items():
            assert isinstance(c.get("doc"), str) and c["doc"].strip(), f"{name}.{column} has no doc"
            assert isinstance(c.get("type"), str) and c["type"].strip(), f"{name}.{column} has no type"
        assert set(spec.get("primary_key") or []) <= set(spec["columns"]), name
    assert set(SCHEMA.tables) == set(RAW["tables"])


def test_docs_schema_md_is_generated_from_schema_yaml() -> None:
    page = REPO_ROOT / "docs" / "schema.md"
    assert page.exists(), "docs/schema.md is missing: run `aiqyn store docs`"
    assert page.read_text(encoding="utf-8") == SCHEMA.markdown(), (
        "docs/schema.md is out of date: run `aiqyn store docs`")
    for name, table in SCHEMA.tables.items():
        assert f"## `{name}`" in page.read_text(encoding="utf-8")
        assert all(f"| `{c}` |" in SCHEMA.markdown() for c in table.column_names)


def test_store_docs_command(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "schema.md"
    res = run_cli(["store", "docs", "--out", out])
    assert res.code == 0, res.output
    assert out.read_text(encoding="utf-8") == SCHEMA.markdown()


def test_flatten_covers_the_canonical_tables() -> None:
    assert set(FLATTEN) == set(CANONICAL)
    assert set(CANONICAL) == set(SCHEMA.tables) - {"releases", "rejects", "ingest_runs"}


@pytest.mark.parametrize("table", sorted(FLATTEN))
def test_flatten_produces_exactly_the_schema_columns(table: str) -> None:
    expected = [c for c in SCHEMA[table].column_names
                if table != "processes" or c not in DERIVED_PROCESS_COLUMNS]
    for select in FLATTEN[table]:
        assert sorted(select.exprs) == sorted(expected), table
    # and the SQL, run on parsed releases, yields them in the schema's order (plus its key and errors)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE _docs AS SELECT 0::BIGINT AS k, json_transform('{{}}', {STRUCTURE_SQL}) AS s "
                "LIMIT 0")
    names = [d[0] for d in con.execute(f"SELECT * FROM ({flatten_sql(table, '_docs')}) LIMIT 0").description]
    helpers = [h for select in FLATTEN[table][:1] for h in select.helpers]  # (the same in every select)
    assert all(list(select.helpers) == helpers for select in FLATTEN[table])
    assert all(h.startswith("_") for h in helpers)
    assert names == ["_k", *expected, *helpers, "_err"]


ALIASES = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}


def test_store_tables_match_the_schema(tmp_path: Path) -> None:
    con = open_store(tmp_path / "s.duckdb")
    try:
        for name, table in SCHEMA.tables.items():
            described = con.execute(f"DESCRIBE {name}").fetchall()
            want = [(c.name, ALIASES.get(c.type, c.type)) for c in table.columns]
            assert [(r[0], r[1]) for r in described] == want, name
    finally:
        con.close()


def test_derived_process_columns_are_in_the_schema() -> None:
    assert set(DERIVED_PROCESS_COLUMNS) <= set(SCHEMA["processes"].column_names)


@pytest.mark.parametrize("args", [["--help"], ["ingest", "--help"], ["stats", "--help"],
                                  ["store", "docs", "--help"], ["--version"]])
def test_help(args: list[str]) -> None:
    res = run_cli(args)
    assert res.code == 0, res.output
    assert res.stdout.strip()


def test_ingest_help_explains_shapes_and_exit_codes() -> None:
    text = " ".join(run_cli(["ingest", "--help"]).stdout.split())
    for word in ("--db", "--strict", "gzip", "JSON lines", "rejects", "Exit code"):
        assert word in text, word


def test_no_arguments_shows_help() -> None:
    res = run_cli([])
    assert res.code in (0, 2)
    assert "ingest" in res.output
