"""`aiqyn export ocds`: the store as OCDS compiled releases that validate against the OCDS release schema with the
bids extension (shipped in the package); goszakup data -> store -> OCDS -> store gives the same canonical rows."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from aiqyn.export.ocds import errors, release_schema
from aiqyn.store.schema import SCHEMA
from conftest import canonical_tables, ingest, jsonl, make_release, run_cli, write
from goszakup_factory import (
    SAMPLES,
    SUPPLIER,
    SUPPLIER2,
    announcement,
    application,
    contract,
    lot,
    plan_point,
    write_graphql,
    write_lines,
    write_page,
)


def _export(db: Path, out: Path) -> list[dict]:
    res = run_cli(["export", "ocds", "--db", db, "--out", out, "--validate"])
    assert res.code == 0, res.output
    assert "0 invalid against the OCDS schema" in res.output
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_goszakup_round_trip_validates_and_reads_back_the_same(tmp_path: Path) -> None:
    files = [
        write_page(tmp_path / "trd_buy.json", [announcement()], "/v3/trd-buy"),
        write_lines(tmp_path / "lots.jsonl", [lot()]),
        write_graphql(tmp_path / "apps.json", "TrdApp", [application(8001, SUPPLIER, 1_100_000),
                                                         application(8002, SUPPLIER2, 1_150_000)]),
        write_page(tmp_path / "contracts.json", [contract(), contract(9050, amount=1_300_000, parent_id=9001,
                                                                      root_id=9001, sign_date="2020-05-01 10:00:00",
                                                                      last_update_date="2020-05-01 11:00:00")]),
        write_lines(tmp_path / "plans.jsonl", [plan_point()]),
    ]
    db = tmp_path / "s.duckdb"
    assert ingest(files, db).code == 0
    releases = _export(db, tmp_path / "out.jsonl")
    assert len(releases) == 2
    for release in releases:
        assert errors(release) == []
        assert release["tag"] == ["compiled"]
    process = next(r for r in releases if r["ocid"] == "ocds-kzgoszakup-5001")
    assert [b["id"] for b in process["bids"]["details"]] == ["8001-7001", "8002-7001"]
    assert process["contracts"][0]["amendments"][0]["id"] == "9050"
    accounts = [p["details"]["bankAccounts"] for p in process["parties"] if "bankAccounts" in p.get("details", {})]
    assert accounts
    # the export read back is the same store (but for what only the releases tell: their ids and count)
    again = tmp_path / "again.duckdb"
    assert ingest([tmp_path / "out.jsonl"], again).code == 0
    a, b = canonical_tables(db), canonical_tables(again)
    for table in a:
        if table != "processes":
            assert a[table] == b[table], table
    names = SCHEMA["processes"].column_names
    keep = [i for i, c in enumerate(names) if c not in ("release_id", "n_releases")]
    assert [[r[i] for i in keep] for r in a["processes"]] == [[r[i] for i in keep] for r in b["processes"]]


def test_ocds_data_exports_valid_too(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    ingest([write(tmp_path / "r.jsonl", jsonl([make_release("ocds-abc123-1"), make_release("ocds-abc123-2")]))], db)
    releases = _export(db, tmp_path / "out.jsonl")
    assert sorted(r["ocid"] for r in releases) == ["ocds-abc123-1", "ocds-abc123-2"]


def test_the_validator_fails_what_is_not_ocds() -> None:
    good = {"ocid": "ocds-x-1", "id": "1", "date": "2020-01-01T00:00:00Z", "tag": ["compiled"],
            "initiationType": "tender", "tender": {"id": "t", "status": "active"},
            "bids": {"details": [{"id": "b1", "status": "valid", "value": {"amount": 1, "currency": "KZT"}}]}}
    assert errors(good) == []
    bad = copy.deepcopy(good)
    bad["tender"]["status"] = "open"
    bad["date"] = "2020-01-01 00:00:00"
    bad["bids"]["details"][0]["status"] = "winner"
    problems = errors(bad)
    assert any(p.startswith("/tender/status") for p in problems)
    assert any(p.startswith("/date") for p in problems)
    assert any(p.startswith("/bids/details/0/status") for p in problems)
    assert "Bid" in release_schema()["definitions"]


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"real goszakup pages not found at {SAMPLES}")
def test_real_pages_round_trip_validates(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    assert ingest([SAMPLES], db).code == 0
    releases = _export(db, tmp_path / "out.jsonl")
    assert len(releases) == 941
    assert all(errors(r) == [] for r in releases)
