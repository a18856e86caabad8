"""Bad input through `aiqyn ingest`: each is reported with its file and line (or JSON pointer) and the
reason, kept in `rejects` with its raw text, and the good releases around it are still ingested."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from aiqyn.ingest.pipeline import CANONICAL
from aiqyn.ingest.readers import MAX_RAW_KEPT
from aiqyn.store.db import open_store
from conftest import (
    count,
    ingest,
    jsonl,
    make_release,
    query,
    run_cli,
    tables,
    write,
)

GOOD = ["ocds-kzbad-0001", "ocds-kzbad-0002"]


def good_line(i: int) -> str:
    return json.dumps(make_release(GOOD[i]), ensure_ascii=False)


def with_bad_line(path: Path, bad: str | bytes) -> Path:
    """good release (line 1), the bad line (line 2), good release (line 3)."""
    bad_bytes = bad.encode("utf-8") if isinstance(bad, str) else bad
    return write(path, good_line(0).encode() + b"\n" + bad_bytes + b"\n" + good_line(1).encode() + b"\n")


def rejects(db: Path) -> list[tuple[Any, ...]]:
    return query(db, "SELECT source_file, line, pointer, reason, raw FROM rejects ORDER BY line, pointer")


def ocids(db: Path) -> list[str]:
    return [r[0] for r in query(db, "SELECT ocid FROM processes ORDER BY ocid")]


def assert_reported(res: Any, where: str, reason: str) -> None:
    """Exit code 1 and a `rejected WHERE: ...REASON...` line on stderr (one line: not wrapped)."""
    assert res.code == 1, res.output
    lines = [line for line in res.stderr.splitlines() if line.startswith("rejected ")]
    assert any(line.startswith(f"rejected {where}") and reason in line for line in lines), res.stderr
    assert "1 rejected" in res.stdout, res.stdout


def assert_line_rejected(db: Path, path: Path, res: Any, reason: str, raw: str) -> None:
    """The bad line 2 of `path` is rejected with `reason`; the good lines 1 and 3 were ingested."""
    assert_reported(res, f"{path}:2: ", reason)
    (source, line, _pointer, stored_reason, stored_raw), = rejects(db)
    assert (source, line) == (str(path), 2)
    assert reason in stored_reason
    assert stored_raw == raw
    assert ocids(db) == GOOD
    assert "2 releases accepted" in res.stdout


def test_malformed_json_line(tmp_path: Path, db: Path) -> None:
    bad = '{"ocid": "ocds-kzbad-0009", "id": "1", "tender": {"title": "no end'
    path = with_bad_line(tmp_path / "in.jsonl", bad)
    assert_line_rejected(db, path, ingest([path], db), "malformed JSON", bad)


def test_release_without_ocid(tmp_path: Path, db: Path) -> None:
    bad = json.dumps(make_release("ocds-kzbad-0009", ocid=None))
    path = with_bad_line(tmp_path / "in.jsonl", bad)
    assert_line_rejected(db, path, ingest([path], db), "/ocid: the release has no ocid", bad)


def test_string_amount(tmp_path: Path, db: Path) -> None:
    release = make_release("ocds-kzbad-0009")
    release["tender"]["value"]["amount"] = "1000"
    bad = json.dumps(release, ensure_ascii=False)
    path = with_bad_line(tmp_path / "in.jsonl", bad)
    assert_line_rejected(db, path, ingest([path], db), '/tender/value/amount: expected a number, got "1000"', bad)
    assert count(db, "releases") == 2  # the bad release is not stored either


def test_date_that_is_not_a_date(tmp_path: Path, db: Path) -> None:
    release = make_release("ocds-kzbad-0009")
    release["awards"][0]["date"] = "yesterday"
    bad = json.dumps(release, ensure_ascii=False)
    path = with_bad_line(tmp_path / "in.jsonl", bad)
    assert_line_rejected(db, path, ingest([path], db), "/awards/0/date: not a date: yesterday", bad)


def test_awards_object_instead_of_array(tmp_path: Path, db: Path) -> None:
    release = make_release("ocds-kzbad-0009")
    release["awards"] = release["awards"][0]
    bad = json.dumps(release, ensure_ascii=False)
    path = with_bad_line(tmp_path / "in.jsonl", bad)
    assert_line_rejected(db, path, ingest([path], db), "/awards: expected an array, got object", bad)


def test_several_errors_in_one_release_are_all_named(tmp_path: Path, db: Path) -> None:
    release = make_release("ocds-kzbad-0009")
    release["tender"]["value"]["amount"] = "1000"
    release["contracts"][0]["dateSigned"] = "31.12.2024"
    bad = json.dumps(release, ensure_ascii=False)
    path = with_bad_line(tmp_path / "in.jsonl", bad)
    res = ingest([path], db)
    assert_line_rejected(db, path, res, "/tender/value/amount: expected a number", bad)
    assert "/contracts/0/dateSigned: not a date: 31.12.2024" in rejects(db)[0][3]


@pytest.mark.parametrize("bad,kind", [("[1, 2]", "an array"), ('[{"ocid": "x"}]', "an array"),
                                      ('"a string"', "a string"), ("42", "a number"), ("null", "null")])
def test_json_line_that_is_not_an_object(tmp_path: Path, db: Path, bad: str, kind: str) -> None:
    path = with_bad_line(tmp_path / "in.jsonl", bad)
    assert_line_rejected(db, path, ingest([path], db), f"expected a JSON object (a release, record or package), "
                         f"got {kind}", bad)


def test_invalid_utf8_on_a_line(tmp_path: Path, db: Path) -> None:
    bad = b'{"ocid": "ocds-kzbad-0009", "id": "1", "tender": {"title": "\xd0\x97\xff\xfe"}}'
    path = with_bad_line(tmp_path / "in.jsonl", bad)
    res = ingest([path], db)
    assert_line_rejected(db, path, res, "not valid UTF-8", bad.decode("utf-8", errors="replace"))


def test_bad_release_in_a_package_is_named_by_its_pointer(tmp_path: Path, db: Path) -> None:
    bad = make_release("ocds-kzbad-0009")
    bad["bids"]["details"][1]["value"]["amount"] = "много"
    pkg = {"uri": "x", "version": "1.1", "releases": [make_release(GOOD[0]), bad, make_release(GOOD[1])]}
    path = write(tmp_path / "package.json", json.dumps(pkg, indent=2, ensure_ascii=False))
    res = ingest([path], db)
    assert_reported(res, f"{path} /releases/1: ", '/bids/details/1/value/amount: expected a number, got "много"')
    (source, line, pointer, reason, raw), = rejects(db)
    assert (source, line, pointer) == (str(path), None, "/releases/1")
    assert "/bids/details/1/value/amount" in reason
    assert json.loads(raw) == bad
    assert ocids(db) == GOOD


def test_unknown_package_shape(tmp_path: Path, db: Path) -> None:
    good = write(tmp_path / "good.jsonl", jsonl(make_release(o) for o in GOOD))
    text = '{\n  "foo": 1,\n  "bar": [1, 2]\n}\n'
    path = write(tmp_path / "odd.json", text)
    res = ingest([path, good], db)
    assert_reported(res, f"{path}: ", "unknown package shape")
    assert "top-level keys: bar, foo" in res.stderr
    (source, line, _pointer, _reason, raw), = rejects(db)
    assert (source, line) == (str(path), None)
    assert raw == text
    assert ocids(db) == GOOD


def test_one_line_object_that_is_no_release(tmp_path: Path, db: Path) -> None:
    good = write(tmp_path / "good.jsonl", jsonl(make_release(o) for o in GOOD))
    path = write(tmp_path / "odd.json", '{"foo": 1}')
    res = ingest([good, path], db)
    assert_reported(res, f"{path}:1: ", "/ocid: the release has no ocid")
    assert [(r[0], r[1], r[4]) for r in rejects(db)] == [(str(path), 1, '{"foo": 1}')]
    assert ocids(db) == GOOD


def test_not_json_at_all(tmp_path: Path, db: Path) -> None:
    good = write(tmp_path / "good.jsonl", jsonl(make_release(o) for o in GOOD))
    path = write(tmp_path / "notes.json", "ocid,amount\nocds-1,1000\n")
    res = ingest([path, good], db)
    assert_reported(res, f"{path}:1: ", "not JSON")
    assert [(r[0], r[1], r[4]) for r in rejects(db)] == [(str(path), 1, "ocid,amount")]
    assert ocids(db) == GOOD


def test_truncated_gzip(tmp_path: Path, db: Path) -> None:
    all_ocids = [f"ocds-kzbad-{i:04d}" for i in range(300)]
    lines = [json.dumps(make_release(o), ensure_ascii=False) for o in all_ocids]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    path = write(tmp_path / "in.jsonl.gz", data[: len(data) // 2])
    res = ingest([path], db)
    (source, line, _pointer, reason, raw), = rejects(db)
    assert source == str(path)
    assert 1 < line < 300
    assert_reported(res, f"{path}:{line}: ", "the file is truncated or corrupt")
    assert f"everything before line {line} was read" in reason
    # the raw text is what was left of the broken line
    assert raw and lines[line - 1].startswith(raw)
    # the lines before the break were ingested, none after it
    assert ocids(db) == all_ocids[: line - 1]
    assert f"{line - 1} releases accepted" in res.stdout


def test_truncated_package(tmp_path: Path, db: Path) -> None:
    releases = [make_release(f"ocds-kzbad-{i:04d}") for i in range(10)]
    text = json.dumps({"uri": "x", "releases": releases}, indent=2, ensure_ascii=False)
    cut = text.index('"ocid": "ocds-kzbad-0006"') + 40  # inside the 7th release
    path = write(tmp_path / "package.json", text[:cut])
    res = ingest([path], db)
    assert_reported(res, f"{path} /releases/6: ", "malformed or truncated JSON")
    assert "every element before this point was read" in res.stderr
    assert ocids(db) == [r["ocid"] for r in releases[:6]]
    assert [(r[0], r[1], r[2]) for r in rejects(db)] == [(str(path), None, "/releases/6")]


def test_truncated_json_array(tmp_path: Path, db: Path) -> None:
    releases = [make_release(f"ocds-kzbad-{i:04d}") for i in range(5)]
    text = json.dumps(releases)
    path = write(tmp_path / "array.json.gz", text[: text.index('"ocid": "ocds-kzbad-0003"') + 100], gz=True)
    res = ingest([path], db)
    assert_reported(res, f"{path} /3: ", "malformed or truncated JSON")
    assert ocids(db) == [r["ocid"] for r in releases[:3]]


@pytest.mark.parametrize("content", [b"", b"\n  \n\t\n"], ids=["zero-bytes", "whitespace"])
def test_empty_file(tmp_path: Path, db: Path, content: bytes) -> None:
    good = write(tmp_path / "good.jsonl", jsonl(make_release(o) for o in GOOD))
    path = write(tmp_path / "empty.jsonl", content)
    res = ingest([path, good], db)
    assert_reported(res, f"{path}: ", "empty file")
    assert [(r[0], r[1], r[4]) for r in rejects(db)] == [(str(path), None, "")]
    assert ocids(db) == GOOD


def test_missing_path_is_a_usage_error(tmp_path: Path, db: Path) -> None:
    good = write(tmp_path / "good.jsonl", jsonl([make_release(GOOD[0])]))
    res = run_cli(["ingest", good, tmp_path / "nowhere.jsonl", "--db", db])
    assert res.code == 2
    assert f"no such file or directory: {tmp_path / 'nowhere.jsonl'}" in res.stderr
    assert not db.exists()  # nothing was ingested, not even the good file


def test_directory_without_data_files_is_a_usage_error(tmp_path: Path, db: Path) -> None:
    write(tmp_path / "d" / "readme.txt", "nothing here")
    res = run_cli(["ingest", tmp_path / "d", "--db", db])
    assert res.code == 2
    assert "no data files" in res.stderr


# -- very long lines ------------------------------------------------------------------------------------
HUGE = 100_000_000


def test_100mb_release_on_one_line_is_accepted(tmp_path: Path, db: Path) -> None:
    big = make_release("ocds-kzbad-big")
    big["tender"]["description"] = "x" * HUGE
    path = tmp_path / "huge.jsonl"
    with path.open("w") as f:
        f.write(good_line(0) + "\n" + json.dumps(big, ensure_ascii=False) + "\n" + good_line(1) + "\n")
    assert path.stat().st_size > HUGE
    res = ingest([path], db)
    assert res.code == 0, res.output
    assert "3 releases accepted" in res.stdout
    assert query(db, "SELECT ocid, length(description) FROM processes WHERE ocid = 'ocds-kzbad-big'") == [
        ("ocds-kzbad-big", HUGE)]
    assert ocids(db) == sorted([*GOOD, "ocds-kzbad-big"])


def test_100mb_of_garbage_on_one_line_is_rejected(tmp_path: Path, db: Path) -> None:
    path = tmp_path / "garbage.jsonl"
    with path.open("w") as f:
        f.write(good_line(0) + "\n" + '{"ocid": "' + "z" * HUGE + "\n" + good_line(1) + "\n")
    res = ingest([path], db)
    assert_reported(res, f"{path}:2: ", "malformed JSON")
    (source, line, _pointer, _reason, raw), = rejects(db)
    assert (source, line) == (str(path), 2)
    assert len(raw) == MAX_RAW_KEPT and raw.startswith('{"ocid": "zzz')  # kept, but capped
    assert ocids(db) == GOOD


# -- --strict and what bad input may not destroy --------------------------------------------------------
def test_strict_stops_at_the_first_reject(tmp_path: Path, db: Path) -> None:
    bad = with_bad_line(tmp_path / "a.jsonl", '{"id": "no ocid"}')
    later = write(tmp_path / "b.jsonl", jsonl([make_release("ocds-kzbad-later")]))
    res = ingest([bad, later, tmp_path / "a.jsonl"], db, "--strict")
    assert res.code == 1, res.output
    assert f"rejected {bad}:2: /ocid: the release has no ocid" in res.stderr
    assert "stopped at the first rejected input (--strict)" in res.stderr
    assert "ocds-kzbad-later" not in ocids(db)  # the later file was not ingested
    assert [(r[0], r[1]) for r in rejects(db)] == [(str(bad), 2)]
    assert query(db, "SELECT status, rejected FROM ingest_runs") == [("stopped", 1)]


def test_strict_stops_at_a_read_problem(tmp_path: Path, db: Path) -> None:
    bad = write(tmp_path / "a.jsonl", b"")
    later = write(tmp_path / "b.jsonl", jsonl([make_release("ocds-kzbad-later")]))
    res = ingest([bad, later], db, "--strict")
    assert res.code == 1
    assert f"rejected {bad}: empty file" in res.stderr
    assert count(db, "processes") == 0
    assert query(db, "SELECT status FROM ingest_runs") == [("stopped",)]


def test_without_strict_every_file_is_read(tmp_path: Path, db: Path) -> None:
    bad = with_bad_line(tmp_path / "a.jsonl", '{"id": "no ocid"}')
    later = write(tmp_path / "b.jsonl", jsonl([make_release("ocds-kzbad-later")]))
    res = ingest([bad, later], db)
    assert res.code == 1
    assert ocids(db) == sorted([*GOOD, "ocds-kzbad-later"])
    assert query(db, "SELECT status, accepted, rejected FROM ingest_runs") == [("complete", 3, 1)]


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_a_bad_batch_loses_nothing_already_stored(tmp_path: Path, db: Path, strict: bool) -> None:
    first = write(tmp_path / "first.jsonl", jsonl(make_release(o) for o in GOOD))
    assert ingest([first], db).code == 0
    names = [*CANONICAL, "releases"]
    before = tables(db, names)

    # A batch of nothing but bad input, including bad updates of the stored processes.
    worse = make_release(GOOD[0], id="update-2", date="2025-01-01T00:00:00Z")
    worse["tender"]["value"]["amount"] = "1 000 000"
    no_contracts = make_release(GOOD[1], id="update-3", date="2025-01-01T00:00:00Z", contracts={"id": "c"})
    text = "\n".join([json.dumps(worse), "{broken", json.dumps(no_contracts), "[]", ""])
    bad = write(tmp_path / "bad.jsonl", text)
    truncated = write(tmp_path / "bad2.jsonl.gz", gzip.compress(text.encode() * 50)[:300])
    res = ingest([bad, truncated], db, *(["--strict"] if strict else []))
    assert res.code == 1, res.output
    assert tables(db, names) == before
    # strict: the first reject stops it; else both files are read to their end (the truncated one yields
    # whatever whole lines it has, all bad, then its truncation)
    assert count(db, "rejects") == 1 if strict else count(db, "rejects") >= 5
    # and the same file once more, now with the stored processes
    res = ingest([first], db)
    assert res.code == 0 and "0 releases accepted, 2 unchanged" in res.stdout
    assert tables(db, names) == before


# -- interruption -------------------------------------------------------------------------------------
def _aiqyn() -> str:
    exe = Path(sys.executable).with_name("aiqyn")
    assert exe.exists(), f"the aiqyn entry point is not installed beside {sys.executable}"
    return str(exe)


@pytest.mark.parametrize(("tag", "n", "watch_bytes"), [("tender", 4000, 3 << 20), ("compiled", 12000, 1 << 20)],
                         ids=["careful-path", "fast-path"])
def test_sigkill_leaves_a_consistent_store(tmp_path: Path, db: Path, tag: str, n: int, watch_bytes: int) -> None:
    """Killed in the middle of an ingest (SIGKILL: no clean-up at all), the store holds whole processes:
    every batch committed before the kill, nothing of the batch in progress; ingesting again completes it.
    Releases take the careful path (batches), compiled releases the fast path (pieces)."""
    template = json.dumps(make_release("ocds-kzint-000000", tag=[tag]), ensure_ascii=False)
    path = tmp_path / "big.jsonl"
    with path.open("w") as f:
        for i in range(n):
            f.write(template.replace("ocds-kzint-000000", f"ocds-kzint-{i:06d}") + "\n")
    # One release alone, for the number of rows one process has in each table.
    one = tmp_path / "one.duckdb"
    assert ingest([write(tmp_path / "one.jsonl", template + "\n")], one).code == 0
    per_process = {t: count(one, t) for t in CANONICAL}
    assert all(per_process[t] for t in ("processes", "parties", "items", "bids", "awards", "contracts",
                                        "contract_amendments"))

    # Small batches (about 200 releases each), so that several commits happen before the kill.
    env = {**os.environ, "AIQYN_CHUNK_BYTES": str(1 << 20), "AIQYN_FAST_PIECE_BYTES": str(1 << 20)}
    wal = db.with_name(db.name + ".wal")

    def stored_bytes() -> int:
        return sum(p.stat().st_size for p in (db, wal) if p.exists())

    def kill_after(grown: int) -> int:
        """Ingest into a new store, SIGKILL it once its files grew by `grown` bytes; releases then stored."""
        for p in (db, wal):
            p.unlink(missing_ok=True)
        open_store(db).close()  # the empty store's files: the baseline of the growth watched
        baseline = stored_bytes()
        proc = subprocess.Popen([_aiqyn(), "ingest", str(path), "--db", str(db), "--quiet"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # DuckDB lets one process write, so the store cannot be read meanwhile: watch its files grow.
        deadline = time.monotonic() + 60
        while stored_bytes() < baseline + grown and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, f"ingest ended before it could be killed: {proc.communicate()}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        return count(db, "releases")  # opening the store replays its log

    # The growth seen before the first commit depends on how DuckDB writes (log or data file) and on
    # the machine's load: kill later when no batch was committed yet, earlier when all were.
    grown = watch_bytes
    for _attempt in range(5):
        n_releases = kill_after(grown)
        if n_releases == 0:
            grown *= 2
        elif n_releases == n:
            grown //= 3
        else:
            break
    assert 0 < n_releases < n, "the kill should fall between the first and the last commit"
    assert query(db, "SELECT status, finished_at FROM ingest_runs") == [("running", None)]
    assert count(db, "processes") == n_releases
    assert query(db, "SELECT count(*) FROM processes p FULL JOIN releases r USING (ocid) "
                     "WHERE p.ocid IS NULL OR r.ocid IS NULL") == [(0,)]
    assert query(db, "SELECT DISTINCT n_releases FROM processes") == [(1,)]
    for table, rows in per_process.items():
        # every stored process has all of its rows, and no row belongs to a process that is not stored
        assert query(db, f"SELECT count(*), count(DISTINCT ocid) FROM {table}") == [
            (rows * n_releases, n_releases if rows else 0)], table
        assert query(db, f"SELECT count(*) FROM {table} WHERE ocid NOT IN (SELECT ocid FROM processes)") == [(0,)]
    assert count(db, "rejects") == 0

    res = ingest([path], db)
    assert res.code == 0, res.output
    assert f"{n - n_releases:,} releases accepted, {n_releases:,} unchanged, 0 rejected" in res.stdout
    assert count(db, "processes") == count(db, "releases") == n
    for table, rows in per_process.items():
        assert count(db, table) == rows * n, table


def test_bad_elements_of_a_package_on_a_json_line(tmp_path: Path, db: Path) -> None:
    """A package or record on a JSON line: its bad releases are named by line and pointer."""
    bad = make_release("ocds-kzbad-0009")
    bad["tender"]["value"]["amount"] = "12"
    record = {"ocid": "ocds-kzbad-0008", "compiledRelease": {**bad, "ocid": "ocds-kzbad-0008"}}
    package = {"uri": "x", "releases": [make_release(GOOD[1]), bad, 5, None]}
    path = write(tmp_path / "in.jsonl", jsonl([make_release(GOOD[0]), record, package]))
    res = ingest([path], db)
    assert res.code == 1
    for where, reason in [(":2 /compiledRelease: ", '/tender/value/amount: expected a number, got "12"'),
                          (":3 /releases/1: ", '/tender/value/amount: expected a number, got "12"'),
                          (":3 /releases/2: ", "expected a JSON object (a release or record), got a number"),
                          (":3 /releases/3: ", "expected a JSON object (a release or record), got null")]:
        assert f"rejected {path}{where}{reason}" in res.stderr, res.stderr
    assert sorted((r[1], r[2]) for r in rejects(db)) == [
        (2, "/compiledRelease"), (3, "/releases/1"), (3, "/releases/2"), (3, "/releases/3")]
    assert all(r[4] for r in rejects(db))
    assert ocids(db) == GOOD
