"""`aiqyn flags` through its entry point: run, show, list, export in every format; Aiqyn's own definitions
against Cardinal's exact behaviour on the defects the issue names; the real samples."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from aiqyn.indicators.registry import REGISTRY
from conftest import REAL_SAMPLES, ingest, jsonl, make_release, query, run_cli, write

ALL = list(REGISTRY)  # Cardinal's eleven, R044, then Kazakhstan's flags KZ001...


def _store(tmp_path: Path, releases: list[dict[str, Any]]) -> Path:
    db = tmp_path / "store.duckdb"
    res = ingest([write(tmp_path / "releases.jsonl", jsonl(releases))], db, "--quiet")
    assert res.code == 0, res.output
    return db


def _flags(db: Path, settings_text: str | None, tmp_path: Path, suffix: str = ".ini") -> dict[str, Any]:
    """Run with these settings (None: defaults) and return Cardinal's JSON without Meta."""
    args = ["flags", "run", "--db", db, "--quiet"]
    if settings_text is not None:
        path = write(tmp_path / f"settings{suffix}", settings_text)
        args += ["--settings", path]
    res = run_cli(args)
    assert res.code == 0 and res.exception is None, res.output
    res = run_cli(["flags", "export", "--format", "cardinal", "--db", db, "--no-meta"])
    assert res.code == 0, res.output
    return json.loads(res.stdout)


def _both(tmp_path: Path, releases: list[dict[str, Any]], section: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Cardinal INI result, Aiqyn TOML result) for the same data and the same section."""
    db = _store(tmp_path, releases)
    cardinal = _flags(db, section, tmp_path, ".ini")
    aiqyn = _flags(db, section, tmp_path, ".toml")
    return cardinal, aiqyn


# -- the defects of Cardinal: reproduced with its INI, corrected with Aiqyn's settings -------------------
def test_r003_date_only_and_negative_periods(tmp_path: Path) -> None:
    releases = [
        {"ocid": "date-only", "tender": {"tenderPeriod": {"startDate": "2024-03-01", "endDate": "2024-03-05"}}},
        {"ocid": "negative", "tender": {"tenderPeriod": {"startDate": "2024-03-05T00:00:00Z",
                                                          "endDate": "2024-03-01T00:00:00Z"}}},
        {"ocid": "long", "tender": {"tenderPeriod": {"startDate": "2024-03-01T00:00:00Z",
                                                      "endDate": "2024-04-01T00:00:00Z"}}},
    ]
    cardinal, aiqyn = _both(tmp_path, releases, "[R003]\n")
    assert cardinal == {"OCID": {"negative": {"R003": 1.0}}}
    assert aiqyn == {"OCID": {"date-only": {"R003": 1.0}}}


def test_r018_reads_the_bids(tmp_path: Path) -> None:
    bid = {"status": "valid", "tenderers": [{"id": "A"}]}
    releases = [
        {"ocid": "one bid, no count", "tender": {"procurementMethod": "open"}, "bids": {"details": [bid]}},
        {"ocid": "two bids, count 1", "tender": {"procurementMethod": "open", "numberOfTenderers": 1},
         "bids": {"details": [bid, {**bid, "tenderers": [{"id": "B"}]}]}},
        {"ocid": "count only", "tender": {"procurementMethod": "selective", "numberOfTenderers": 1}},
    ]
    cardinal, aiqyn = _both(tmp_path, releases, "[R018]\n")
    assert cardinal == {"OCID": {"two bids, count 1": {"R018": 1.0}, "count only": {"R018": 1.0}}}
    assert aiqyn == {"OCID": {"one bid, no count": {"R018": 1.0}, "count only": {"R018": 1.0}}}


def _late(ocid: str, bid_date: str, end_date: str) -> dict[str, Any]:
    return {"ocid": ocid, "tender": {"tenderPeriod": {"endDate": end_date}},
            "bids": {"details": [{"status": "valid", "date": bid_date, "tenderers": [{"id": "W"}]}]},
            "awards": [{"status": "active", "suppliers": [{"id": "W"}]}]}


def test_r030_compares_instants_not_text(tmp_path: Path) -> None:
    releases = [
        # 09:30 in Astana is 03:30 UTC, before the 05:00 UTC deadline; as text it sorts after it.
        _late("early, other offset", "2024-03-11T09:30:00+06:00", "2024-03-11T05:00:00Z"),
        # 23:00 at UTC-5 is 04:00 UTC on the 12th, after the deadline; as text "2024-03-11T23..." sorts before it.
        _late("late, other offset", "2024-03-11T23:00:00-05:00", "2024-03-12T01:00:00Z"),
        _late("late", "2024-04-01T00:00:00Z", "2024-03-15T00:00:00Z"),
    ]
    cardinal, aiqyn = _both(tmp_path, releases, "[R030]\n")
    assert set(cardinal["OCID"]) == {"early, other offset", "late"}
    assert set(aiqyn["OCID"]) == {"late, other offset", "late"}
    assert cardinal["Tenderer"] == aiqyn["Tenderer"] == {"W": {"R030": 1.0}}


def test_r048_zero_spread(tmp_path: Path) -> None:
    def award(ocid: str, supplier: str, codes: list[str]) -> dict[str, Any]:
        items = [{"id": str(i), "classification": {"scheme": "CPV", "id": c}} for i, c in enumerate(codes)]
        return {"ocid": ocid, "awards": [{"id": "a", "status": "active", "suppliers": [{"id": supplier}],
                                          "items": items}]}

    same = [award(f"p{i}", f"S{i}", ["30190000"]) for i in range(4)]
    cardinal, aiqyn = _both(tmp_path, same, "[R048]\nminimum_contracting_processes = 1\n")
    assert cardinal == {"Tenderer": {f"S{i}": {"R048": 1.0} for i in range(4)}}  # every supplier
    assert aiqyn == {}
    # Seven suppliers of one division and one of three: Q1 = Q3 = 1, so the fence is 1.
    outlier = [*[award(f"q{i}", f"S{i}", ["30190000"]) for i in range(7)],
               award("p9", "S9", ["30190000", "45000000", "33600000"])]
    cardinal, aiqyn = _both(tmp_path / "b", outlier, "[R048]\nminimum_contracting_processes = 1\n")
    assert aiqyn == {"Tenderer": {"S9": {"R048": 3.0}}}
    assert cardinal["Tenderer"]["S9"] == {"R048": 3.0} and len(cardinal["Tenderer"]) == 8


def test_r038_minimum_counts_processes(tmp_path: Path) -> None:
    bids = {"details": [{"status": "disqualified", "tenderers": [{"id": "T1"}]},
                        {"status": "valid", "tenderers": [{"id": "T2"}]}]}
    releases = [{"ocid": "one", "buyer": {"id": "B"}, "bids": bids}]
    cardinal, aiqyn = _both(tmp_path, releases, "[R038]\nthreshold = 0.5\nminimum_submitted_bids = 1\n")
    assert cardinal["Buyer"] == {"B": {"R038": 0.5}}  # two bids pass a minimum of two "processes"
    assert "Buyer" not in aiqyn
    assert aiqyn["Tenderer"] == cardinal["Tenderer"] == {"T1": {"R038": 1.0}}


def test_organisations_are_identified_across_processes(tmp_path: Path) -> None:
    """Aiqyn names a tenderer by its scheme and identifier; Cardinal's INI keeps the OCDS id."""
    def process(ocid: str) -> dict[str, Any]:
        return {"ocid": ocid,
                "parties": [{"id": "1", "identifier": {"scheme": "KZ-BIN", "id": "060540012345"}},
                            {"id": "2", "identifier": {"scheme": "KZ-BIN", "id": "111240012345"}}],
                "bids": {"details": [{"status": "valid", "tenderers": [{"id": "1"}],
                                      "value": {"amount": 100, "currency": "KZT"}},
                                     {"status": "valid", "tenderers": [{"id": "2"}],
                                      "value": {"amount": 100, "currency": "KZT"}}]}}

    cardinal, aiqyn = _both(tmp_path, [process("a"), process("b")], "[R028]\n")
    assert set(cardinal["Tenderer"]) == {"1", "2"}
    assert set(aiqyn["Tenderer"]) == {"KZ-BIN-060540012345", "KZ-BIN-111240012345"}
    assert set(cardinal["OCID"]) == set(aiqyn["OCID"]) == {"a", "b"}


# -- the commands ---------------------------------------------------------------------------------------
@pytest.fixture
def flagged(tmp_path: Path) -> Path:
    """A store with processes of the test factory, one with a 3-day submission period and one bid."""
    short = make_release("ocds-kz-short", tender={
        **make_release("x")["tender"],
        "tenderPeriod": {"startDate": "2024-03-01T09:00:00+06:00", "endDate": "2024-03-04T09:00:00+06:00"},
        "numberOfTenderers": 1})
    month = {"startDate": "2024-02-01T09:00:00+06:00", "endDate": "2024-03-04T09:00:00+06:00"}
    normal = [make_release(f"ocds-kz-{i}", tender={**make_release("x")["tender"], "tenderPeriod": month})
              for i in range(5)]
    db = _store(tmp_path, [*normal, short])
    res = run_cli(["flags", "run", "--db", db, "--quiet"])
    assert res.code == 0, res.output
    return db


def test_run_records_the_run(flagged: Path) -> None:
    runs = query(flagged, "SELECT mode, settings_file, codes, status, finished_at IS NOT NULL, settings FROM flag_runs")
    assert len(runs) == 1
    mode, settings_file, codes, status, finished, settings = runs[0]
    assert (mode, settings_file, codes, status, finished) == ("aiqyn", None, ALL, "complete", True)
    assert json.loads(settings)["indicators"]["R003"]["threshold"] == 15
    rows = query(flagged, "SELECT subject_type, subject_id, value, evidence FROM flags WHERE code = 'R003'")
    assert [(r[0], r[1], r[2]) for r in rows] == [("process", "ocds-kz-short", 1.0)]
    evidence = json.loads(rows[0][3])
    assert evidence["days"] == 3 and evidence["threshold"] == 15
    assert evidence["start_date"] == "2024-03-01T09:00:00+06:00"


def test_export_formats(flagged: Path, tmp_path: Path) -> None:
    res = run_cli(["flags", "export", "--db", flagged, "--format", "csv"])
    assert res.code == 0, res.output
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["code", "subject_type", "subject_id", "value"]
    assert ["R003", "process", "ocds-kz-short", "1.0"] in rows
    assert {r[1] for r in rows[1:]} <= {"process", "buyer", "procuring_entity", "tenderer"}

    res = run_cli(["flags", "export", "--db", flagged, "--format", "json", "--out", tmp_path / "f.json"])
    assert res.code == 0, res.output
    flags = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    assert len(flags) == len(rows) - 1
    r003 = next(f for f in flags if f["code"] == "R003")
    assert r003["evidence"]["days"] == 3

    res = run_cli(["flags", "export", "--db", flagged, "--format", "parquet", "--out", tmp_path / "f.parquet"])
    assert res.code == 0, res.output
    table = pq.read_table(tmp_path / "f.parquet")
    assert table.num_rows == len(flags)
    assert table.column_names == ["code", "subject_type", "subject_id", "value", "evidence"]

    res = run_cli(["flags", "export", "--db", flagged, "--format", "cardinal"])
    assert res.code == 0, res.output
    out = json.loads(res.stdout)
    assert out["OCID"]["ocds-kz-short"]["R003"] == 1.0
    assert set(out) <= {"OCID", "Buyer", "ProcuringEntity", "Tenderer", "Meta"} and "Meta" in out

    res = run_cli(["flags", "export", "--db", flagged, "--format", "parquet"])
    assert res.code == 2 and "--out" in res.stderr


def test_runs_are_kept_and_selectable(flagged: Path, tmp_path: Path) -> None:
    settings = write(tmp_path / "s.ini", "[R003]\nthreshold = 100\n")
    res = run_cli(["flags", "run", "--db", flagged, "--settings", settings, "--quiet"])
    assert res.code == 0, res.output
    (first,), (second,) = query(flagged, "SELECT run_id FROM flag_runs ORDER BY started_at, run_id")
    latest = json.loads(run_cli(["flags", "export", "--db", flagged, "--format", "cardinal", "--no-meta"]).stdout)
    assert set(latest["OCID"]) == {f"ocds-kz-{i}" for i in range(5)} | {"ocds-kz-short"}  # 32 days < 100
    assert set(query(flagged, "SELECT DISTINCT code FROM flags WHERE run_id = ?", [second])[0]) == {"R003"}
    older = run_cli(["flags", "export", "--db", flagged, "--format", "csv", "--run", first])
    assert older.code == 0 and "R030" in older.stdout
    res = run_cli(["flags", "export", "--db", flagged, "--run", "nope"])
    assert res.code == 2 and "no run 'nope'" in res.stderr


def test_only(flagged: Path) -> None:
    res = run_cli(["flags", "run", "--db", flagged, "--only", "r003, R018", "--quiet"])
    assert res.code == 0, res.output
    assert "R003" in res.stdout and "R024" not in res.stdout


def test_show_and_list(flagged: Path) -> None:
    res = run_cli(["flags", "show", "R003", "--db", flagged])
    assert res.code == 0, res.output
    text = " ".join(res.stdout.split())
    for words in ("Short submission period", "threshold", "Why it is a red flag", "process", "ocds-kz-short"):
        assert words in text, words
    res = run_cli(["flags", "show", "R404", "--db", flagged])
    assert res.code == 2 and "unknown indicator" in res.stderr
    res = run_cli(["flags", "list"])
    assert res.code == 0 and all(code in res.stdout for code in ALL)


def test_errors_without_a_store_or_flags(tmp_path: Path) -> None:
    res = run_cli(["flags", "run", "--db", tmp_path / "none.duckdb"])
    assert res.code == 2 and "no store here" in res.stderr
    db = _store(tmp_path, [make_release("ocds-kz-1")])
    res = run_cli(["flags", "export", "--db", db])
    assert res.code == 2 and "flags run" in res.stderr


@pytest.mark.parametrize("command", ["", "run", "export", "show", "list", "docs"])
def test_help(command: str) -> None:
    res = run_cli(["flags", *([command] if command else []), "--help"])
    assert res.code == 0 and res.stdout.strip()


def test_export_help_names_the_formats() -> None:
    text = " ".join(run_cli(["flags", "export", "--help"]).stdout.split())
    for word in ("csv", "json", "parquet", "cardinal", "Meta"):
        assert word in text, word


# -- the real samples ------------------------------------------------------------------------------------
@pytest.mark.skipif(not REAL_SAMPLES.exists(), reason="no real samples")
def test_real_samples(tmp_path: Path) -> None:
    db = tmp_path / "real.duckdb"
    res = ingest([REAL_SAMPLES], db, "--quiet")
    assert res.code in (0, 1), res.output
    res = run_cli(["flags", "run", "--db", db, "--quiet"])
    assert res.code == 0 and res.exception is None, res.output
    settings = write(tmp_path / "all.ini", "".join(f"[{code}]\n" for code in ALL))
    res = run_cli(["flags", "run", "--db", db, "--settings", settings, "--quiet"])
    assert res.code == 0 and res.exception is None, res.output
    counts = dict(query(db, "SELECT r.mode, count(f.code) FROM flag_runs r LEFT JOIN flags f USING (run_id) "
                            "GROUP BY r.mode"))
    assert counts["aiqyn"] > 0 and counts["cardinal"] > 0  # Armenia and Moldova have short periods
    # Cardinal flags periods that end before they start (Armenia publishes some); Aiqyn does not.
    negative = query(db, "SELECT count(*) FROM flags WHERE code = 'R003' AND "
                         "CAST(json_extract(evidence, '$.days') AS INTEGER) < 0 GROUP BY run_id ORDER BY 1")
    assert len(negative) == 1
