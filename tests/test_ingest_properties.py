"""Property: the store depends on the set of releases ingested, not on how they arrive.

A few processes, each with several releases (full or partial, with equal or missing dates, an id used
twice for a corrected release...), are ingested in any order, split over any number of files and ingest
runs, any number of times: the canonical tables and the stored releases are always those of ingesting
the set once, in one file.
"""

from __future__ import annotations

import gzip
import itertools
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiqyn.ingest.pipeline import CANONICAL, ingest_paths
from aiqyn.store.db import open_store
from conftest import make_release

DATES = ["2024-01-10T00:00:00Z", "2024-02-01T09:00:00Z", "2024-02-01T15:00:00+06:00", "2024-03-15T12:00:00Z",
         None]
STATUSES = ["planned", "active", "complete", "cancelled", "unsuccessful"]
# Columns that say when, from where and in which run a row was stored, not what the store holds.
BOOKKEEPING = {"run_id", "source_file", "source_ref"}


@st.composite
def releases_of(draw: st.DrawFn, ocid: str) -> list[dict[str, Any]]:
    out = []
    ids = draw(st.lists(st.sampled_from(["r1", "r2", "r3", "r4"]), min_size=1, max_size=4))
    for release_id in ids:  # an id may come twice: a corrected release, with or without a newer date
        date = draw(st.sampled_from(DATES))
        awards = [
            {"id": award_id, "status": draw(st.sampled_from(["pending", "active", "cancelled"])),
             "value": {"amount": draw(st.integers(1, 10_000_000)), "currency": "KZT"},
             "suppliers": [{"id": f"KZ-BIN-{draw(st.sampled_from(['111', '222', '333']))}", "name": "ТОО"}]}
            for award_id in draw(st.lists(st.sampled_from(["a1", "a2", "a3"]), unique=True, max_size=2))
        ]
        if draw(st.booleans()):  # a full release
            # a release, or a compiled release (which then stands for the whole process)
            release = make_release(ocid, id=release_id, tag=draw(st.sampled_from([["tender"], ["compiled"]])))
            release["tender"]["status"] = draw(st.sampled_from(STATUSES))
            release["tender"]["value"]["amount"] = draw(st.integers(1, 10_000_000))
            if awards:
                release["awards"] = awards
        else:  # an update naming only what changed
            release = {"ocid": ocid, "id": release_id, "tag": ["tenderUpdate"],
                       "tender": {"status": draw(st.sampled_from(STATUSES)),
                                  "title": draw(st.sampled_from(["Бумага", "Ручки", "Мебель"]))}}
            if awards:
                release["awards"] = awards
                release["tag"] = ["award"]
        if date is not None:
            release["date"] = date
        else:
            release.pop("date", None)
        out.append(release)
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    n_ocids = draw(st.integers(1, 3))
    releases: list[dict[str, Any]] = []
    for i in range(n_ocids):
        releases.extend(draw(releases_of(f"ocds-kzprop-{i}")))
    lines = [json.dumps(r, ensure_ascii=False) for r in releases]
    order = draw(st.permutations(range(len(lines))))
    # some releases arrive twice
    again = draw(st.lists(st.sampled_from(range(len(lines))), max_size=3))
    arrival = [lines[i] for i in [*order, *again]]
    # cut into files, the files into ingest runs
    n_files = draw(st.integers(1, min(4, len(arrival))))
    cuts = sorted(draw(st.lists(st.integers(1, len(arrival) - 1), min_size=n_files - 1, max_size=n_files - 1,
                                unique=True))) if len(arrival) > 1 else []
    bounds = [0, *cuts, len(arrival)]
    files = [arrival[a:b] for a, b in itertools.pairwise(bounds)]
    n_runs = draw(st.integers(1, min(3, len(files))))
    run_of_file = sorted(draw(st.lists(st.integers(0, n_runs - 1), min_size=len(files), max_size=len(files))))
    runs = [[f for f, r in zip(files, run_of_file, strict=True) if r == run] for run in range(n_runs)]
    runs = [run for run in runs if run]
    # and then, maybe, everything once more in one run (each ingest costs time: two passes are enough
    # to show that a third changes nothing either)
    if draw(st.booleans()):
        runs.append([f for run in reversed(runs) for f in run])
    gz = draw(st.booleans())
    return {"lines": lines, "runs": runs, "gz": gz}


def snapshot(con: Any) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table in [*CANONICAL, "releases", "rejects"]:
        cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in BOOKKEEPING]
        sel = ", ".join(f'"{c}"' for c in cols)
        out[table] = con.execute(f"SELECT {sel} FROM {table} ORDER BY ALL").fetchall()
    return out


def store_of(directory: Path, runs: list[list[list[str]]], gz: bool) -> dict[str, Any]:
    con = open_store(directory / "store.duckdb")
    try:
        n = 0
        for run in runs:
            paths = []
            for lines in run:
                n += 1
                text = "".join(line + "\n" for line in lines).encode()
                path = directory / (f"part-{n}.jsonl.gz" if gz else f"part-{n}.jsonl")
                path.write_bytes(gzip.compress(text) if gz else text)
                paths.append(path)
            result = ingest_paths(con, paths)
            assert result.rejected == 0, result.examples
        return snapshot(con)
    finally:
        con.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_store_is_independent_of_order_splitting_and_repetition(scenario: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        once = Path(tmp) / "once"
        many = Path(tmp) / "many"
        once.mkdir()
        many.mkdir()
        reference = store_of(once, [[scenario["lines"]]], False)
        got = store_of(many, scenario["runs"], scenario["gz"])
        for table in reference:
            assert got[table] == reference[table], f"table {table} differs"
        n_ocids = len({json.loads(line)["ocid"] for line in scenario["lines"]})
        assert len(got["processes"]) == n_ocids
