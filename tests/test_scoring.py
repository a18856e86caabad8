"""The composite risk score: every explanation adds up to its score, names only flags that were raised, and the
weights come from the defaults or a weights file (checked, with errors naming the file and the key)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aiqyn.indicators.registry import REGISTRY
from aiqyn.scoring.weights import DEFAULT_WEIGHTS, DEFAULTS, known_codes, load_weights
from conftest import flagged_store, query, run_cli, write
from test_indicators_kz import cases


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return flagged_store(tmp_path_factory.mktemp("score"), cases())


@pytest.fixture
def copy(store: Path, tmp_path: Path) -> Path:
    """A copy of the store, for the tests that run or score again."""
    db = tmp_path / "copy.duckdb"
    shutil.copyfile(store, db)
    return db


def _scores(db: Path) -> list[tuple[str, str, float, int, int, int, list[dict]]]:
    """The scores of the latest run."""
    rows = query(db, "SELECT subject_type, subject_id, score, rank, n_processes, n_flags, explanation FROM scores "
                     "WHERE run_id = (SELECT run_id FROM flag_runs WHERE status = 'complete' "
                     "ORDER BY started_at DESC LIMIT 1)")
    return [(*r[:6], json.loads(r[6])) for r in rows]


def test_every_weight_is_documented() -> None:
    kz = {f"KZ{i:03d}" for i in range(1, 14)}
    cardinal = {c for c, ind in REGISTRY.items() if "cardinal" in ind.tags}
    assert kz | cardinal | {"R044", "R055", "CI001", "CI002", "CI003"} <= set(DEFAULTS) <= set(known_codes())
    assert all(reason.strip() and weight >= 0 for weight, reason in DEFAULTS.values())


def test_explanations_add_up(store: Path) -> None:
    rows = _scores(store)
    assert {r[0] for r in rows} == {"process", "buyer", "supplier", "region"}
    for subject_type, subject_id, score, _, _, n_flags, parts in rows:
        assert 0.0 <= score <= 1.0
        assert sum(p["contribution"] for p in parts) == pytest.approx(score), (subject_type, subject_id)
        assert [p["contribution"] for p in parts] == sorted((p["contribution"] for p in parts), reverse=True)
        assert all(p["weight"] > 0 and 0 < p["value"] <= 1 for p in parts)
        assert (score > 0) == bool(parts) == (n_flags > 0)
    for subject_type in ("process", "buyer", "supplier", "region"):
        ranks = sorted(r[3] for r in rows if r[0] == subject_type)
        assert ranks == list(range(1, len(ranks) + 1))
        by_rank = sorted((r for r in rows if r[0] == subject_type), key=lambda r: r[3])
        assert [r[2] for r in by_rank] == sorted((r[2] for r in by_rank), reverse=True)


def test_process_explanation_names_its_flags_and_evidence(store: Path) -> None:
    rows = {r[1]: r for r in _scores(store) if r[0] == "process"}
    flagged = {(code, ocid) for code, ocid in query(store, "SELECT code, subject_id FROM flags "
                                                           "WHERE subject_type = 'process'")}
    for ocid, (_, _, _, _, _, _, parts) in rows.items():
        for p in parts:
            assert (p["code"], ocid) in flagged
    weights = load_weights(None)
    total = sum(w for code, w in weights.items() if w > 0 and code in REGISTRY and "process" in REGISTRY[code].subjects)
    kz003 = next(p for p in rows["kz003-pos"][6] if p["code"] == "KZ003")
    assert kz003["contribution"] == pytest.approx(DEFAULT_WEIGHTS["KZ003"] / total)
    assert kz003["evidence"]["contracts"][0]["rise"] == pytest.approx(0.5)
    assert rows["kz003-pos"][2] > rows["kz003-neg"][2]


def test_buyer_components_are_shares_or_own_flags(store: Path) -> None:
    rows = [r for r in _scores(store) if r[0] == "buyer"]
    splitter = next(r for r in rows if any(p["code"] == "KZ002" for p in r[6]))
    part = next(p for p in splitter[6] if p["code"] == "KZ002")
    assert part["value"] == 1.0 and part["flagged_processes"] == 3 and part["evidence"]["codes"]
    hospital = next(r for r in rows if any(p["code"] == "KZ006" for p in r[6]))
    assert hospital[4] == 12  # processes covered


def test_rescoring_with_a_weights_file(copy: Path, tmp_path: Path) -> None:
    store = copy
    weights = write(tmp_path / "w.toml", "[weights]\nKZ003 = 0\nR044 = 10\n")
    res = run_cli(["score", "--db", store, "--weights", weights, "--top", "1"])
    assert res.code == 0, res.output
    rows = {r[1]: r for r in _scores(store) if r[0] == "process"}
    assert rows["kz003-pos"][2] == 0.0 or all(p["code"] != "KZ003" for p in rows["kz003-pos"][6])
    assert rows["r044-pos"][3] == 1  # the heaviest weight puts it first
    res = run_cli(["score", "--db", store])
    assert res.code == 0
    assert any(p["code"] == "KZ003" for p in {r[1]: r for r in _scores(store)}["kz003-pos"][6])


@pytest.mark.parametrize(("text", "words"), [
    ("[weights]\nKZ999 = 1\n", "[weights] KZ999: unknown indicator"),
    ("[weights]\nKZ003 = -1\n", "[weights] KZ003 = -1: expected a number >= 0"),
    ("[weights]\nKZ003 = 'high'\n", "expected a number"),
    ("[weight]\nKZ003 = 1\n", "unknown table(s) weight"),
    ("[weights\n", "not a TOML file"),
])
def test_bad_weights_file(copy: Path, tmp_path: Path, text: str, words: str) -> None:
    store = copy
    path = write(tmp_path / "w.toml", text)
    for args in (["score", "--db", store, "--weights", path], ["flags", "run", "--db", store, "--weights", path]):
        res = run_cli(args)
        assert res.code == 2, res.output
        assert "w.toml" in res.stderr and words in " ".join(res.stderr.split()), res.stderr


def test_weights_in_the_settings_file(copy: Path, tmp_path: Path) -> None:
    store = copy
    settings = write(tmp_path / "aiqyn.toml", "[KZ003]\n[R044]\n[weights]\nKZ003 = 5\n")
    res = run_cli(["flags", "run", "--db", store, "--settings", settings, "--quiet"])
    assert res.code == 0, res.output
    rows = {r[1]: r for r in _scores(store) if r[0] == "process"}
    part = next(p for p in rows["kz003-pos"][6] if p["code"] == "KZ003")
    assert part["weight"] == 5.0 and part["contribution"] == pytest.approx(5 / (5 + DEFAULT_WEIGHTS["R044"]))
    override = write(tmp_path / "w.toml", "[weights]\nKZ003 = 1\n")
    res = run_cli(["flags", "run", "--db", store, "--settings", settings, "--weights", override, "--quiet"])
    assert res.code == 0, res.output
    part = next(p for p in {r[1]: r for r in _scores(store)}["kz003-pos"][6] if p["code"] == "KZ003")
    assert part["weight"] == 1.0
    bad = write(tmp_path / "bad.toml", "[KZ003]\n[weights]\nKZ003 = -2\n")
    res = run_cli(["flags", "run", "--db", store, "--settings", bad, "--quiet"])
    assert res.code == 2 and "bad.toml: [weights] KZ003 = -2" in " ".join(res.stderr.split()), res.output
