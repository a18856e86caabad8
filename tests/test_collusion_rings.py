"""`aiqyn collusion rings --db STORE` through the entry point: the rings `aiqyn generate` plants are found, with
their evidence, in CSV and JSON, with a period; bad options are named; `aiqyn evaluate` reports the rings' recall."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from aiqyn.collusion.rings import planted_ring_scores, planted_rings, ring_scores
from aiqyn.store.db import connect
from conftest import ingest, run_cli


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("rings")
    res = run_cli(["generate", "--tenders", "2000", "--seed", "7", "--out", tmp / "gen"])
    assert res.code == 0, res.output
    db = tmp / "store.duckdb"
    ingest([tmp / "gen" / "releases.jsonl"], db)
    truth = json.loads((tmp / "gen" / "truth.json").read_text(encoding="utf-8"))
    return {"db": db, "truth": truth, "tmp": tmp}


def test_rings_finds_the_planted_rings(generated: dict[str, Any]) -> None:
    out = generated["tmp"] / "rings.json"
    res = run_cli(["collusion", "rings", "--db", generated["db"], "--out", out])
    assert res.code == 0, res.output
    rings = json.loads(out.read_text(encoding="utf-8"))
    rigged = generated["truth"]["schemes"]["bid_rigging"]["processes"]
    con = connect(generated["db"], read_only=True)
    try:
        planted = planted_rings(con, rigged)
        scores = planted_ring_scores(con, rigged)
    finally:
        con.close()
    assert len(planted) >= 2
    assert scores.recall is not None and scores.recall >= 0.9
    assert scores.precision is not None and scores.precision >= 0.9
    found = ring_scores([frozenset(r["members"]) for r in rings], planted)
    assert found.found == scores.found
    ring = rings[0]
    assert set(ring) >= {"members", "size", "tenders", "won", "wins", "rotation", "pairs", "first", "last", "ocids"}
    # Planted rings rotate the win among all their members and price at fixed gaps or a tiyn apart.
    assert ring["size"] == len(ring["members"]) and set(ring["wins"]) == set(ring["members"])
    assert ring["rotation"] > 0.5 and ring["same_ratio_pairs"] > 0
    assert ring["tenders"] == len(ring["ocids"]) >= 3 and set(ring["ocids"]) & set(rigged)
    assert sum(ring["wins"].values()) == ring["won"]


def test_rings_csv_period_and_thresholds(generated: dict[str, Any]) -> None:
    out = generated["tmp"] / "rings.csv"
    res = run_cli(["collusion", "rings", "--db", generated["db"], "--out", out, "--min-cobids", "3"])
    assert res.code == 0, res.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows and ";" in rows[0]["members"] and "=" in rows[0]["wins"]
    # A period before any process: no rings; a very high threshold: none either.
    early = generated["tmp"] / "early.json"
    res = run_cli(["collusion", "rings", "--db", generated["db"], "--out", early, "--until", "2000-01-01"])
    assert res.code == 0, res.output
    assert json.loads(early.read_text(encoding="utf-8")) == []
    strict = generated["tmp"] / "strict.json"
    res = run_cli(["collusion", "rings", "--db", generated["db"], "--out", strict, "--min-cobids", "1000"])
    assert res.code == 0 and json.loads(strict.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(("args", "expected"), [
    (["--since", "yesterday-ish"], "not a date"),
    (["--since", "2025-01-01", "--until", "2024-01-01"], "is after"),
])
def test_rings_bad_options(generated: dict[str, Any], args: list[str], expected: str) -> None:
    res = run_cli(["collusion", "rings", "--db", generated["db"], *args])
    assert res.code == 2 and expected in res.output


def test_rings_missing_store(tmp_path: Path) -> None:
    res = run_cli(["collusion", "rings", "--db", tmp_path / "none.duckdb"])
    assert res.code == 2 and "no such store" in res.output


def test_evaluate_reports_the_rings(generated: dict[str, Any]) -> None:
    res = run_cli(["flags", "run", "--db", generated["db"], "--only", "R055,R028,R024", "-q"])
    assert res.code == 0, res.output
    res = run_cli(["evaluate", "--db", generated["db"], "--truth", generated["tmp"] / "gen" / "truth.json"])
    assert res.code == 0, res.output
    line = next(x for x in res.output.splitlines() if x.startswith("bid-rigging rings"))
    assert "recall 1.000" in line and "precision 1.000" in line
    bid = [x for x in res.output.splitlines() if x.startswith("bid_rigging ") and " process " in x]
    precision, recall = (float(v) for v in bid[0].split()[-3:-1])
    assert recall >= 0.95 and precision >= 0.85
