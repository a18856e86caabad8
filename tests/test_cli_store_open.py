"""Every command group opens the store the same way: a missing store or one locked by another process (a
running ingest, say) is a one-line error naming the file, exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ingest, jsonl, make_release, run_cli, write

READERS = [  # commands that only read the store
    ["stats"],
    ["flags", "export", "--format", "csv"],
    ["index", "show"],
    ["prices", "report"],
    ["accountability", "show"],
]
WRITERS = [  # commands that write to it
    ["flags", "run"],
    ["prices", "run"],
    ["entities", "resolve"],
    ["queue", "check"],
]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    db = tmp_path / "aiqyn.duckdb"
    res = ingest([write(tmp_path / "r.jsonl", jsonl([make_release("ocds-213czf-1")]))], db)
    assert res.code == 0, res.output
    return db


@pytest.fixture
def locked(store: Path) -> Iterator[Path]:
    """The store held open for writing by another process, as a running `aiqyn ingest` holds it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
         "print('locked', flush=True); time.sleep(120)", str(store)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield store
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("command", READERS + WRITERS, ids=" ".join)
def test_a_locked_store_is_a_clear_error(locked: Path, command: list[str]) -> None:
    res = run_cli([*command, "--db", locked])
    assert res.exception is None, f"{command}: {res.exception!r}"
    assert res.code == 2, res.output
    assert "cannot open the store" in res.stderr and str(locked) in res.stderr.replace("\n", "")
    assert "Traceback" not in res.output


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_reading_a_missing_store_says_what_to_run(tmp_path: Path, command: list[str]) -> None:
    db = tmp_path / "none.duckdb"
    res = run_cli([*command, "--db", db])
    assert res.code == 2, res.output
    assert "no store here" in res.stderr and "run `aiqyn " in res.stderr
    assert not db.exists(), "a read must not create the store"


def test_the_store_is_usable_once_the_lock_is_gone(store: Path) -> None:
    res = run_cli(["stats", "--db", store])
    assert res.code == 0, res.output


@pytest.mark.parametrize("command", [["index", "show"], ["index", "trend"], ["index", "map"],
                                     ["report", "region", "630000000"]], ids=" ".join)
def test_reading_an_index_that_was_never_computed(store: Path, tmp_path: Path, command: list[str]) -> None:
    res = run_cli([*command, "--db", store, *(["--out", tmp_path / "out"] if command[1] != "show" else [])])
    assert res.exception is None, f"{command}: {res.exception!r}"
    assert res.code == 2, res.output
    assert "no region_index in the store: run `aiqyn index compute` first" in res.stderr
