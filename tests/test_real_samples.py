"""Real OCDS data from nine publishers (2016–2018, open-contracting/sample-data) goes in without a reject.

The samples live outside the repository, in ../shared/data/ocds-real-samples; the tests are skipped
when they are not there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiqyn.ingest.pipeline import expand_paths
from conftest import REAL_SAMPLES, count, ingest, query, run_cli

pytestmark = pytest.mark.skipif(
    not REAL_SAMPLES.is_dir(),
    reason=f"real OCDS samples not found at {REAL_SAMPLES} (a checkout of open-contracting/sample-data's "
    "real-examples, see its SOURCE.md)",
)

PUBLISHERS = ["armenia", "canada", "colombia", "mexico", "moldova", "nigeria", "paraguay",
              "uk-contracts-finder", "ukraine"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    db = tmp_path_factory.mktemp("real") / "real.duckdb"
    res = ingest([REAL_SAMPLES], db)
    return db, res.code, res.output


def test_every_file_ingests_without_a_reject(store: tuple[Path, int, str]) -> None:
    db, code, output = store
    assert code == 0, output
    assert " 0 rejected" in output
    assert count(db, "rejects") == 0
    n_files = len(expand_paths([REAL_SAMPLES]))
    assert f"ingested {n_files} file(s)" in output
    assert query(db, "SELECT status, rejected FROM ingest_runs") == [("complete", 0)]


def test_every_publisher_has_processes(store: tuple[Path, int, str]) -> None:
    db, _, _ = store
    assert count(db, "processes") > 0
    per_publisher = dict(query(db, f"""
        SELECT split_part(substr(source_file, {len(str(REAL_SAMPLES)) + 2}), '/', 1) AS publisher,
               count(DISTINCT ocid)
        FROM releases GROUP BY publisher"""))
    for publisher in PUBLISHERS:
        if (REAL_SAMPLES / publisher).is_dir():
            assert per_publisher.get(publisher, 0) > 0, publisher
    # every process comes from stored releases, and every stored release belongs to a process
    assert query(db, "SELECT count(*) FROM processes p FULL JOIN (SELECT DISTINCT ocid FROM releases) r "
                     "USING (ocid) WHERE p.ocid IS NULL OR r.ocid IS NULL") == [(0,)]


@pytest.mark.parametrize("publisher", ["ukraine", "armenia"])
def test_bids_of_ukraine_and_armenia(store: tuple[Path, int, str], publisher: str) -> None:
    db, _, _ = store
    if not (REAL_SAMPLES / publisher).is_dir():
        pytest.skip(f"no {publisher} samples")
    ocids = f"SELECT DISTINCT ocid FROM releases WHERE source_file LIKE '%/{publisher}/%'"
    n_bids, with_amount = query(db, f"SELECT count(*), count(amount) FROM bids WHERE ocid IN ({ocids})")[0]
    assert n_bids > 0
    assert with_amount > 0
    assert query(db, f"SELECT count(*) FROM bid_tenderers WHERE ocid IN ({ocids})")[0][0] > 0


def test_stats_json(store: tuple[Path, int, str]) -> None:
    db, _, _ = store
    res = run_cli(["stats", "--db", db, "--json"])
    assert res.code == 0, res.output
    data = json.loads(res.stdout)
    assert data["tables"]["processes"] == count(db, "processes") > 0
    assert data["tables"]["rejects"] == 0
    assert data["tables"]["bids"] > 0
    assert {"by_year", "by_region", "by_method", "shares", "coverage"} <= set(data)


def test_stats_tables(store: tuple[Path, int, str]) -> None:
    db, _, _ = store
    res = run_cli(["stats", "--db", db])
    assert res.code == 0, res.output
    assert "Rows per table" in res.stdout
