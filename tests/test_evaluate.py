"""`aiqyn evaluate` through its entry point on a small generated set: generate, ingest, import the register,
run the flags and scores, evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiqyn.evaluate import MAPPING
from conftest import ingest, run_cli, write


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("eval")
    db = out / "store.duckdb"
    assert run_cli(["generate", "--tenders", "2500", "--seed", "3", "--out", out]).code == 0
    assert ingest([out / "releases.jsonl"], db, "--quiet").code == 0
    res = run_cli(["registers", "import", "unreliable", out / "unreliable_suppliers.csv", "--db", db])
    assert res.code == 0, res.output
    res = run_cli(["flags", "run", "--db", db, "--quiet"])
    assert res.code == 0, res.output
    return db, out / "truth.json"


def test_evaluate_prints_every_scheme(evaluated: tuple[Path, Path]) -> None:
    db, truth = evaluated
    res = run_cli(["evaluate", "--truth", truth, "--db", db, "--top", "100"])
    assert res.code == 0, res.output
    lines = res.stdout.splitlines()
    for scheme in json.loads(truth.read_text(encoding="utf-8"))["schemes"]:
        assert any(line.startswith(scheme) for line in lines), scheme
    assert "top 100:" in res.stdout and "precision" in res.stdout


def test_evaluate_json_figures(evaluated: tuple[Path, Path]) -> None:
    db, truth = evaluated
    res = run_cli(["evaluate", "--truth", truth, "--db", db, "--json"])
    assert res.code == 0, res.output
    data = json.loads(res.stdout)
    rows = {(r["scheme"], r["level"]): r for r in data["schemes"]}
    assert set(rows) == {(s, level) for s, (_, levels) in MAPPING.items() for level in levels}
    planted = json.loads(truth.read_text(encoding="utf-8"))["schemes"]
    for scheme in ("short_period", "amendment_inflation", "new_winner", "shared_contacts", "overpricing",
                   "splitting", "favoured_supplier"):
        row = rows[(scheme, "process")]
        assert row["planted"] == len(planted[scheme]["processes"]) > 0
        assert row["recall"] >= 0.95 and row["precision"] >= 0.85, row
        assert row["f1"] == pytest.approx(2 * row["precision"] * row["recall"] / (row["precision"] + row["recall"]))
    top = data["top_k"][0]
    assert top["k"] == len({o for s in planted.values() for o in s["processes"]}) and 0 < top["share"] <= 1


def test_evaluate_bad_truth(evaluated: tuple[Path, Path], tmp_path: Path) -> None:
    db, _ = evaluated
    for text, words in (("{", "not JSON"), ('{"tenders": 1}', "no `schemes` object"),
                        ('{"schemes": {"x": {"processes": 3}}}', "schemes.x.processes: expected a list")):
        res = run_cli(["evaluate", "--truth", write(tmp_path / "t.json", text), "--db", db])
        assert res.code == 2 and words in " ".join(res.stderr.split()), res.output
    res = run_cli(["evaluate", "--truth", tmp_path / "none.json", "--db", db])
    assert res.code == 2 and "no such truth file" in res.stderr


def test_evaluate_needs_scores(tmp_path: Path, evaluated: tuple[Path, Path]) -> None:
    _, truth = evaluated
    db = tmp_path / "s.duckdb"
    out = tmp_path / "g"
    assert run_cli(["generate", "--tenders", "200", "--seed", "1", "--out", out]).code == 0
    assert ingest([out / "releases.jsonl"], db, "--quiet").code == 0
    assert run_cli(["flags", "run", "--db", db, "--quiet", "--no-score", "--only", "KZ003"]).code == 0
    res = run_cli(["evaluate", "--truth", truth, "--db", db])
    assert res.code == 2 and "has no scores" in res.stderr


def test_evaluate_includes_the_price_findings(evaluated: tuple[Path, Path]) -> None:
    """After `aiqyn prices run`, `aiqyn evaluate` also measures the planted overpricing with its money at stake."""
    db, truth = evaluated
    assert run_cli(["prices", "run", "--db", db]).code == 0
    res = run_cli(["evaluate", "--truth", truth, "--db", db])
    assert res.code == 0, res.output
    assert "price findings (`aiqyn prices run`) on the planted overpricing: precision" in res.stdout
    assert "money at stake on the planted items" in res.stdout
    data = json.loads(run_cli(["evaluate", "--truth", truth, "--db", db, "--json"]).stdout)
    assert data["prices"]["planted"] > 0 and 0 < data["prices"]["recall"] <= 1
