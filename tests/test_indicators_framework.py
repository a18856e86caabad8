"""The indicator framework: the registry is complete and documented, the generated pages are committed,
settings files are checked with messages naming the file, the line and the key, and the quartiles are
Cardinal's (statrs, R-8)."""

from __future__ import annotations

import importlib
import math
import pkgutil
import random
import re
from pathlib import Path

import duckdb
import pytest

from aiqyn.indicators import REGISTRY, SettingsError, load_settings
from aiqyn.indicators.base import SUBJECT_TYPES, GlobalSettings
from aiqyn.indicators.docs import pages
from aiqyn.indicators.kz import REFERENCE_TABLES
from aiqyn.indicators.sql import quantile
from aiqyn.store.schema import SCHEMA
from conftest import REPO_ROOT, run_cli

PACKAGE = REPO_ROOT / "src" / "aiqyn" / "indicators"
CARDINAL = ["R003", "R018", "R024", "R025", "R028", "R030", "R035", "R036", "R038", "R048", "R058"]


# -- the registry ---------------------------------------------------------------------------------------
def test_every_indicator_file_is_registered() -> None:
    """Every module of the package that defines an INDICATOR is in the registry, under the file's name."""
    defined = {}
    for module in pkgutil.iter_modules([str(PACKAGE)]):
        mod = importlib.import_module(f"aiqyn.indicators.{module.name}")
        if hasattr(mod, "INDICATOR"):
            defined[module.name.upper()] = mod.INDICATOR
    assert len(defined) >= 11
    assert sorted(defined) == sorted(REGISTRY), "an indicator file is not in registry.REGISTRY (or the other way)"
    for code, indicator in defined.items():
        assert REGISTRY[code] is indicator and indicator.code == code, code


def test_cardinal_set_is_complete() -> None:
    assert set(CARDINAL) <= set(REGISTRY)


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_indicator_is_documented(code: str) -> None:
    ind = REGISTRY[code]
    assert ind.code == code
    for name in ("title", "methodology", "why", "output", "example"):
        assert getattr(ind, name).strip(), f"{code}: {name} is empty"
    assert ind.sources and all(s.url.startswith("https://") for s in ind.sources), code
    assert set(ind.subjects) <= set(SUBJECT_TYPES) and ind.subjects, code
    for name, info in ind.params.model_fields.items():
        assert (info.description or "").strip(), f"{code}: parameter {name} has no docstring"
    # Each defect named in the issue is documented on its page.
    defects = {"R003": "Date-only", "R018": "numberOfTenderers", "R030": "text", "R048": "Zero spread"}
    if code in defects:
        assert defects[code] in ind.cardinal_differences, code


def test_global_settings_are_documented() -> None:
    for name, info in GlobalSettings.model_fields.items():
        assert (info.description or "").strip(), name


def test_the_queries_read_only_store_tables() -> None:
    """Indicators read only the canonical store's tables (not releases, rejects or their own outputs), and the
    reference tables and input registers of Kazakhstan's flags (documented in schema.yaml's outputs)."""
    allowed = set(SCHEMA.tables) - {"releases", "rejects", "ingest_runs"} | set(REFERENCE_TABLES)
    assert set(REFERENCE_TABLES) <= set(SCHEMA.outputs)
    for code, ind in REGISTRY.items():
        sql = ind.query(ind.params()) + (ind.meta_query(ind.params()) or "")
        ctes = set(re.findall(r"(\w+)(?:\([^)]*\))? AS \(", sql))
        for table in re.findall(r"\b(?:FROM|JOIN)\s+([a-z_0-9]+)", sql):
            assert table in allowed or table in ctes, f"{code} reads {table}"


def test_flags_tables_are_in_the_schema() -> None:
    assert {"flags", "flag_runs"} <= set(SCHEMA.outputs)
    assert SCHEMA["processes"]  # canonical tables unchanged
    assert "## `flags`" in (REPO_ROOT / "docs" / "schema.md").read_text(encoding="utf-8")


# -- the generated pages --------------------------------------------------------------------------------
def test_docs_pages_are_generated_from_the_metadata() -> None:
    directory = REPO_ROOT / "docs" / "indicators"
    generated = pages()
    committed = {p.name for p in directory.glob("*.md")}
    assert committed == set(generated), "docs/indicators is out of date: run `aiqyn flags docs` (make docs)"
    for name, text in generated.items():
        assert (directory / name).read_text(encoding="utf-8") == text, (
            f"docs/indicators/{name} is out of date: run `aiqyn flags docs` (make docs)")


def test_docs_pages_have_every_section() -> None:
    for code in REGISTRY:
        text = pages()[f"{code}.md"]
        sections = ["## Methodology", "## Example", "## Why is this a red flag?", "## Output", "## Parameters",
                    "## Query", "## Sources"]
        if "cardinal" in REGISTRY[code].tags:
            sections.append("## Differences from Cardinal")
        for section in sections:
            assert section in text, (code, section)
    assert all(f"]({code}.md)" in pages()["README.md"] for code in REGISTRY)


def test_docs_command(tmp_path: Path) -> None:
    res = run_cli(["flags", "docs", "--out", tmp_path])
    assert res.code == 0, res.output
    assert (tmp_path / "R003.md").read_text(encoding="utf-8") == pages()["R003.md"]


# -- settings files -------------------------------------------------------------------------------------
def _ini(tmp_path: Path, text: str, name: str = "settings.ini") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_cardinal_ini_is_read(tmp_path: Path) -> None:
    path = _ini(tmp_path, "; comment\nno_price_comparison_procurement_methods = NPC|Other\n\n[exclusions]\n"
                          "procurement_method_details = EXC\n\n[defaults]\ncurrency = USD\n\n[R003]\nthreshold = 10\n"
                          "procurement_methods = open|selective\n\n[R003.procurement_method_details]\nx = 5\n\n"
                          "[R024]\n[R038]\nthreshold = 0.5\n")
    s = load_settings(path)
    assert s.mode == "cardinal" and s.cardinal
    assert list(s.indicators) == ["R003", "R024", "R038"]
    r003 = s.indicators["R003"]
    assert (r003.threshold, r003.procurement_methods, r003.procurement_method_details) == (
        10, ["open", "selective"], {"x": 5})
    assert s.globals.no_price_comparison_procurement_methods == ["NPC", "Other"]
    assert s.globals.excluded_procurement_method_details == ["EXC"]
    assert s.indicators["R038"].threshold == 0.5 and s.indicators["R024"].threshold is None
    assert s.ignored == ["defaults"]


@pytest.mark.parametrize(("text", "line", "words"), [
    ("[R003]\nthreshhold = 10\n", 2, ["unknown parameter", "threshhold", "threshold"]),
    ("[R003]\nthreshold = ten\n", 2, ["threshold", "'ten'", "integer"]),
    ("[R035]\n\nthreshold = 1.5\n", 3, ["threshold", "1.5"]),
    ("[R999]\n", 1, ["unknown section [R999]", "R003"]),
    ("\n[R003]\nthis line is not ini\n", 3, ["not a section header"]),
    ("currency = KZT\ncolour = red\n", 2, ["unknown setting 'colour'"]),
    ("[exclusions]\nmethod = x\n", 2, ["unknown setting 'method'", "procurement_method_details"]),
    ("[R003]\n[R003]\n", 2, ["appears twice", "line 1"]),
    ("[R025]\npercentile = 101\n", 2, ["percentile", "101"]),
    ("[R024.something]\nx = 1\n", 1, ["unknown section [R024.something]"]),
    ("[R003]\n\n[R003.procurement_method_details]\nx = 5\ny = ten\n", 5, ["procurement_method_details.y", "'ten'"]),
    ("[R038]\nminimum_submitted_bids = -1\n", 2, ["minimum_submitted_bids", "-1"]),
])
def test_bad_cardinal_ini_names_file_line_and_key(tmp_path: Path, text: str, line: int, words: list[str]) -> None:
    path = _ini(tmp_path, text)
    with pytest.raises(SettingsError) as e:
        load_settings(path)
    message = str(e.value)
    assert message.startswith(f"{path}:{line}: "), message
    for word in words:
        assert word in message, (word, message)


def test_bad_settings_through_the_cli(tmp_path: Path) -> None:
    path = _ini(tmp_path, "[R003]\nthreshhold = 10\n")
    db = tmp_path / "store.duckdb"
    res = run_cli(["flags", "run", "--db", db, "--settings", path])
    assert res.code == 2 and res.exception is None
    assert f"{path}:2" in res.stderr and "threshhold" in res.stderr
    res = run_cli(["flags", "run", "--db", db, "--settings", tmp_path / "missing.ini"])
    assert res.code == 2 and "no such settings file" in res.stderr


def test_aiqyn_toml_settings(tmp_path: Path) -> None:
    path = _ini(tmp_path, 'currency = "KZT"\n[exclusions]\nprocurement_method_details = ["Тест"]\n'
                          "[R003]\nthreshold = 20\n[R003.procurement_method_details]\nauction = 7\n"
                          '[R018]\nprocurement_methods = "open"\n', name="aiqyn.toml")
    s = load_settings(path)
    assert s.mode == "aiqyn" and list(s.indicators) == ["R003", "R018"]
    assert s.globals.currency == "KZT" and s.globals.excluded_procurement_method_details == ["Тест"]
    assert s.indicators["R003"].procurement_method_details == {"auction": 7}
    assert s.indicators["R018"].procurement_methods == ["open"]


@pytest.mark.parametrize(("text", "words"), [
    ("[R003]\nthreshhold = 10\n", ["unknown parameter [R003] 'threshhold'"]),
    ("[R003]\nthreshold = 'x'\n", ["threshold", "'x'"]),
    ("[R777]\n", ["unknown setting or section 'R777'"]),
    ("[R003\n", ["aiqyn.toml"]),
])
def test_bad_aiqyn_toml(tmp_path: Path, text: str, words: list[str]) -> None:
    path = _ini(tmp_path, text, name="aiqyn.toml")
    with pytest.raises(SettingsError) as e:
        load_settings(path)
    assert str(e.value).startswith(str(path))
    for word in words:
        assert word in str(e.value), (word, str(e.value))


def test_only_rejects_unknown_codes(tmp_path: Path) -> None:
    res = run_cli(["flags", "run", "--db", tmp_path / "s.duckdb", "--only", "R003,R404"])
    assert res.code == 2 and "R404" in res.stderr


# -- the quartiles ---------------------------------------------------------------------------------------
def _r8(values: list[float], tau: float) -> float:
    """statrs' quantile (Hyndman and Fan R-8), written from its definition."""
    xs = sorted(values)
    n = len(xs)
    h = (n + 1 / 3) * tau + 1 / 3
    hf = math.floor(h)
    if hf <= 0 or tau == 0:
        return xs[0]
    if hf >= n or tau == 1:
        return xs[-1]
    return xs[hf - 1] + (h - hf) * (xs[hf] - xs[hf - 1])


@pytest.mark.parametrize("seed", range(8))
def test_quantile_is_r8(seed: int) -> None:
    rng = random.Random(seed)
    groups = {g: [round(rng.uniform(0, 10), 3) for _ in range(rng.randint(1, 12))] for g in "abc"}
    con = duckdb.connect()
    con.execute("CREATE TABLE src (g VARCHAR, v DOUBLE)")
    con.executemany("INSERT INTO src VALUES (?, ?)", [(g, v) for g, vs in groups.items() for v in vs])
    for tau in (0.0, 0.25, 0.5, 0.75, 0.9, 1.0):
        rows = dict(con.execute(f"WITH {quantile('q', 'src', str(tau))} SELECT g, q FROM q").fetchall())
        for g, vs in groups.items():
            assert rows[g] == pytest.approx(_r8(vs, tau)), (g, tau, vs)


# -- portability: the same definitions on Apache Spark -----------------------------------------------------
# Spark SQL built-in functions the definitions may use once transpiled (all in Spark 3.x).
SPARK_FUNCTIONS = {"ARRAY_CONTAINS", "ARRAY_DISTINCT", "ARRAY_SORT", "CAST", "COALESCE", "COLLECT_LIST", "COUNT",
                   "FLOOR", "GREATEST", "LAG", "LEFT", "MAX", "MIN", "ROW_NUMBER", "STRUCT", "SUM", "TO_JSON",
                   "UNIX_TIMESTAMP",
                   # used by Kazakhstan's flags (KZ..., R044); EXISTS is the subquery predicate
                   "ARRAY", "EXISTS", "LENGTH", "LOCATE", "LOWER", "LPAD", "MAX_BY", "REGEXP_REPLACE", "SUBSTRING",
                   "TRIM",
                   # used by R055's screens, and the logistic function of its collusion model
                   "AVG", "STDDEV_SAMP", "EXP",
                   # KZ007's date as text
                   "DATE_FORMAT"}


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_definition_transpiles_to_spark(code: str) -> None:
    """Each query is standard enough for sqlglot to write it for Spark with only Spark's own functions."""
    sqlglot = pytest.importorskip("sqlglot")
    from sqlglot.errors import ErrorLevel

    ind = REGISTRY[code]
    for sql in (ind.query(ind.params()), ind.meta_query(ind.params())):
        if sql is None:
            continue
        spark = sqlglot.transpile(sql, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE)[0]
        used = set(re.findall(r"\b([A-Z_]+)\(", spark))
        assert used <= SPARK_FUNCTIONS, f"{code} uses {sorted(used - SPARK_FUNCTIONS)} on Spark"
        assert "$" not in spark, code


def test_the_documented_toml_example_is_valid(tmp_path: Path) -> None:
    text = pages()["README.md"]
    block = text.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "aiqyn.toml"
    path.write_text(block, encoding="utf-8")
    s = load_settings(path)
    assert list(s.indicators) == ["R003", "R018", "R038"]
    assert s.indicators["R003"].procurement_method_details == {"Запрос ценовых предложений": 5}
