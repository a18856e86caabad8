"""Cardinal's own test fixtures and documentation examples, run through Aiqyn end to end.

For each fixture: `aiqyn ingest` the input into a new store, `aiqyn flags run --settings` with the Cardinal INI
settings that produced the expected output, `aiqyn flags export --format cardinal`, and compare the JSON (without
`Meta` for the fixtures, which were written with --no-meta; with `Meta` for the documentation examples).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import REPO_ROOT, ingest, run_cli

FIXTURES = REPO_ROOT.parent / "shared" / "data" / "cardinal-fixtures"
EXAMPLES = FIXTURES / "docs-examples"

pytestmark = pytest.mark.skipif(not FIXTURES.exists(), reason=f"{FIXTURES} is not present")

FIXTURE_NAMES = sorted(p.name.removesuffix(".expected") for p in FIXTURES.glob("R*.expected"))
EXAMPLE_NAMES = sorted(p.name.removesuffix(".expected.json") for p in EXAMPLES.glob("*.expected.json"))


def _cardinal(tmp_path: Path, data: Path, settings: Path) -> dict:
    db = tmp_path / "store.duckdb"
    res = ingest([data], db, "--quiet")
    # R003.jsonl holds two processes whose dates are not dates: ingest rejects them (exit 1), Cardinal skips them.
    assert res.code in (0, 1), res.output
    res = run_cli(["flags", "run", "--db", db, "--settings", settings, "--quiet"])
    assert res.code == 0 and res.exception is None, res.output
    out = tmp_path / "out.json"
    res = run_cli(["flags", "export", "--format", "cardinal", "--db", db, "--out", out])
    assert res.code == 0 and res.exception is None, res.output
    return json.loads(out.read_text(encoding="utf-8"))


def test_every_fixture_is_collected() -> None:
    assert len(FIXTURE_NAMES) == 15
    assert len(EXAMPLE_NAMES) == 11
    for name in FIXTURE_NAMES:
        assert (FIXTURES / f"{name}.jsonl").exists() and (FIXTURES / "settings" / f"{name}.ini").exists(), name


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_cardinal_fixture(name: str, tmp_path: Path) -> None:
    text = (FIXTURES / f"{name}.expected").read_text(encoding="utf-8").strip()
    expected = json.loads(text) if text else {}
    got = _cardinal(tmp_path, FIXTURES / f"{name}.jsonl", FIXTURES / "settings" / f"{name}.ini")
    got.pop("Meta")
    assert got == expected


@pytest.mark.parametrize("number", EXAMPLE_NAMES)
def test_cardinal_documentation_example(number: str, tmp_path: Path) -> None:
    settings = EXAMPLES / f"{number}.ini"
    if not settings.exists():  # SOURCE.md: "else with a settings file holding only [RNNN]"
        settings = tmp_path / f"R{number}.ini"
        settings.write_text(f"[R{number}]\n", encoding="utf-8")
    expected = json.loads((EXAMPLES / f"{number}.expected.json").read_text(encoding="utf-8"))
    got = _cardinal(tmp_path, EXAMPLES / f"{number}.jsonl", settings)
    # The results are compared exactly; Meta (quartiles and fences, rounded to 4 decimals) too.
    assert {k: v for k, v in got.items() if k != "Meta"} == {k: v for k, v in expected.items() if k != "Meta"}
    assert got["Meta"] == expected["Meta"]
