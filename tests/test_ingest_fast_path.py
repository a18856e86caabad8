"""The fast path (a JSON-lines file of compiled releases read whole by read_json) and compiled releases.

The fast path must give exactly the store the careful, line-by-line reader gives; any problem in the
file hands it back to the careful reader, which names the line; and a compiled release stands for its
whole process, whatever the order in which releases arrive.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from aiqyn.generate import generate
from aiqyn.ingest.pipeline import CANONICAL, Ingestor
from conftest import ingest, make_release

BOOKKEEPING = {"run_id", "source_file", "source_ref"}


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table in [*CANONICAL, "releases"]:
            cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in BOOKKEEPING]
            out[table] = con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY ALL").fetchall()
        return out
    finally:
        con.close()


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def write_lines(path: Path, releases: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in releases), encoding="utf-8")
    return path


def compiled(ocid: str, **overrides: Any) -> dict[str, Any]:
    return make_release(ocid, tag=["compiled"], **overrides)


def spy_fast_path(monkeypatch: Any) -> list[bool]:
    """Record what every fast-path attempt returned (True: the piece was ingested the fast way)."""
    outcomes: list[bool] = []
    original = Ingestor._fast_piece

    def spy(self: Ingestor, *args: Any) -> bool:
        outcomes.append(original(self, *args))
        return outcomes[-1]

    monkeypatch.setattr(Ingestor, "_fast_piece", spy)
    return outcomes


def test_fast_path_gives_the_careful_store(tmp_path: Path, monkeypatch: Any) -> None:
    outcomes = spy_fast_path(monkeypatch)
    generate(tmp_path / "gen", 300, 5, {})
    lines = (tmp_path / "gen" / "releases.jsonl").read_text(encoding="utf-8").splitlines()
    fast_db, careful_db = tmp_path / "fast.duckdb", tmp_path / "careful.duckdb"
    assert ingest([tmp_path / "gen" / "releases.jsonl"], fast_db).code == 0
    # The same releases as a JSON array: read by the careful reader.
    array = tmp_path / "releases.json"
    array.write_text("[" + ",\n".join(lines) + "]", encoding="utf-8")
    assert ingest([array], careful_db).code == 0
    assert outcomes == [True]  # the JSON lines took the fast path, the array did not
    assert query(fast_db, "SELECT min(source_ref), max(source_ref) FROM releases WHERE source_ref LIKE 'line %'") \
        == query(careful_db, "SELECT 'line 1', 'line 99'")
    fast, careful = snapshot(fast_db), snapshot(careful_db)
    for table in fast:
        assert fast[table] == careful[table], table
    assert len(fast["processes"]) == 300 and len(fast["bids"]) > 300
    # and again: nothing changes
    res = ingest([tmp_path / "gen" / "releases.jsonl"], fast_db)
    assert "0 releases accepted, 300 unchanged" in res.stdout
    assert snapshot(fast_db) == fast


def test_a_piece_short_of_memory_stays_on_the_fast_path(tmp_path: Path, monkeypatch: Any) -> None:
    """A piece whose parse needs more than the memory limit gets more memory and stays on the fast path: falling
    back to the careful reader for want of memory (what a 10M ingest did once its indexes outgrew the 1 GB
    default) is four times slower. 16 MB is far below what these 2,000 releases need to be parsed."""
    outcomes = spy_fast_path(monkeypatch)
    generate(tmp_path / "gen", 2000, 5, {})
    monkeypatch.setenv("AIQYN_MEMORY_LIMIT", "16MB")
    db = tmp_path / "s.duckdb"
    res = ingest([tmp_path / "gen" / "releases.jsonl"], db)
    assert res.code == 0 and "2,000 releases accepted" in res.stdout
    assert outcomes == [True]
    assert query(db, "SELECT count(*), count(DISTINCT ocid) FROM processes") == [(2000, 2000)]


def test_derived_process_columns_agree_with_the_stored_rows(tmp_path: Path) -> None:
    """The buyer's region and the year are derived from each release's own lists while it is flattened:
    they must be what the stored parties, awards and contracts of the process say."""
    generate(tmp_path / "gen", 300, 7, {})
    db = tmp_path / "s.duckdb"
    assert ingest([tmp_path / "gen" / "releases.jsonl"], db).code == 0
    rows = query(db, """
        WITH region AS (
            SELECT p.ocid, arg_min(p.region_code, p.party_id) AS region_code
            FROM parties p JOIN processes f ON f.ocid = p.ocid
            WHERE p.region_code IS NOT NULL AND (p.party_id = f.buyer_id OR list_contains(p.roles, 'buyer'))
            GROUP BY p.ocid
        ), award AS (SELECT ocid, min(date) AS d FROM awards GROUP BY ocid
        ), contract AS (SELECT ocid, min(date_signed) AS d FROM contracts GROUP BY ocid)
        SELECT count(*),
               count(*) FILTER (WHERE f.region_code IS NOT DISTINCT FROM r.region_code),
               count(*) FILTER (WHERE f.year IS NOT DISTINCT FROM
                                CAST(year(coalesce(f.tender_start, a.d, c.d, f.release_date)) AS INTEGER)),
               count(f.region_code)
        FROM processes f LEFT JOIN region r USING (ocid) LEFT JOIN award a USING (ocid)
        LEFT JOIN contract c USING (ocid)
    """)
    total, same_region, same_year, with_region = rows[0]
    assert total >= 300 and total == same_region == same_year
    assert with_region > 250  # (generated buyers have a KATO code)


def test_a_malformed_line_hands_the_file_to_the_careful_reader(tmp_path: Path, monkeypatch: Any) -> None:
    outcomes = spy_fast_path(monkeypatch)
    releases = [compiled(f"ocds-kzfast-{i}") for i in range(5)]
    path = write_lines(tmp_path / "c.jsonl", releases)
    text = path.read_text(encoding="utf-8").splitlines()
    text.insert(2, '{"ocid": "ocds-kzfast-x", "tag": ["compiled"], "tender": {')  # line 3: truncated
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    db = tmp_path / "s.duckdb"
    res = ingest([path], db)
    assert res.code == 1
    assert f"{path}:3: malformed JSON" in res.stderr
    assert "5 releases accepted" in res.stdout
    assert query(db, "SELECT line FROM rejects") == [(3,)]
    assert query(db, "SELECT count(*) FROM processes") == [(5,)]
    assert outcomes == [False]


def test_a_string_amount_hands_the_file_to_the_careful_reader(tmp_path: Path) -> None:
    releases = [compiled(f"ocds-kzfast-{i}") for i in range(4)]
    releases[3]["tender"]["value"]["amount"] = "12 000"
    path = write_lines(tmp_path / "c.jsonl", releases)
    db = tmp_path / "s.duckdb"
    res = ingest([path], db)
    assert res.code == 1
    assert f'{path}:4: /tender/value/amount: expected a number, got "12 000"' in res.stderr
    # the three good releases, once each: nothing of the abandoned fast attempt stayed
    assert query(db, "SELECT count(*), count(DISTINCT ocid) FROM processes") == [(3, 3)]
    assert query(db, "SELECT count(*) FROM releases") == [(3,)]


def test_a_container_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    releases = [compiled(f"ocds-kzfast-{i}") for i in range(3)]
    releases[1]["awards"] = {"id": "not-a-list"}
    path = write_lines(tmp_path / "c.jsonl", releases)
    db = tmp_path / "s.duckdb"
    res = ingest([path], db)
    assert res.code == 1
    assert f"{path}:2: /awards: expected an array, got object" in res.stderr
    assert query(db, "SELECT count(*) FROM processes") == [(2,)]


def test_releases_mixed_with_compiled_releases_take_the_careful_way(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "c.jsonl", [compiled("ocds-kzfast-1"), make_release("ocds-kzfast-2")])
    db = tmp_path / "s.duckdb"
    assert ingest([path], db).code == 0
    # the release is kept verbatim (it may be merged with later ones), the compiled release is not
    assert query(db, "SELECT ocid, compiled, raw IS NULL FROM releases ORDER BY ocid") == [
        ("ocds-kzfast-1", True, True), ("ocds-kzfast-2", False, False)]


def test_the_newest_compiled_release_stands_for_its_process(tmp_path: Path) -> None:
    ocid = "ocds-kzfast-c"
    old = compiled(ocid, id="v1", date="2024-03-01T09:00:00Z")
    new = compiled(ocid, id="v2", date="2024-04-01T09:00:00Z")
    new["tender"]["title"] = "Бумага (исправлено)"
    later_release = make_release(ocid, id="r9", date="2024-05-01T09:00:00Z")
    later_release["tender"]["title"] = "из релиза"
    files = {name: write_lines(tmp_path / f"{name}.jsonl", [r]) for name, r in
             [("old", old), ("new", new), ("rel", later_release)]}
    stores = []
    for order in (["old", "new", "rel"], ["rel", "new", "old"], ["new", "old", "rel"]):
        db = tmp_path / f"{'-'.join(order)}.duckdb"
        for name in order:
            assert ingest([files[name]], db).code == 0
        assert query(db, "SELECT title, release_id, n_releases FROM processes") == [
            ("Бумага (исправлено)", "v2", 3)]
        stores.append(snapshot(db))
    assert stores[0] == stores[1] == stores[2]


def test_a_release_never_replaces_a_compiled_release_with_its_id(tmp_path: Path) -> None:
    """A compiled release is stored without its text, so a plain release with the same id (even a later
    one) must not replace it: the process could not be rebuilt from it when the compiled release it stood
    for goes. Found by the Hypothesis property test (test_ingest_properties)."""
    ocid = "ocds-kzfast-same"
    first = compiled(ocid, id="r1", date="2024-01-10T00:00:00Z")
    second = compiled(ocid, id="r2", date="2024-01-10T00:00:00Z")
    second["tender"]["title"] = "второй"
    update = {"ocid": ocid, "id": "r2", "tag": ["tenderUpdate"], "date": "2024-02-01T00:00:00Z",
              "tender": {"status": "cancelled", "title": "из обновления"}}
    files = {name: write_lines(tmp_path / f"{name}.jsonl", [r]) for name, r in
             [("first", first), ("second", second), ("update", update)]}
    stores = []
    for order in (["first", "second", "update"], ["update", "second", "first"], ["second", "update", "first"]):
        db = tmp_path / f"{'-'.join(order)}.duckdb"
        for name in order:
            assert ingest([files[name]], db).code == 0
        assert query(db, "SELECT title, release_id, n_releases FROM processes") == [("второй", "r2", 2)]
        assert query(db, "SELECT release_id, compiled FROM releases ORDER BY 1") == [("r1", True), ("r2", True)]
        stores.append(snapshot(db))
    all_at_once = tmp_path / "once.duckdb"
    assert ingest([write_lines(tmp_path / "all.jsonl", [update, first, second])], all_at_once).code == 0
    assert stores[0] == stores[1] == stores[2] == snapshot(all_at_once)


def test_pieces_number_lines_across_the_file(tmp_path: Path, monkeypatch: Any) -> None:
    """Small pieces: each is a transaction; a bad line in a later piece is named by its line in the file."""
    from aiqyn.ingest import readers

    monkeypatch.setattr(readers, "FAST_PIECE_BYTES", 8 << 10)
    releases = [compiled(f"ocds-kzpiece-{i:03d}") for i in range(60)]
    releases[47]["bids"]["details"][0]["date"] = "вчера"
    path = write_lines(tmp_path / "c.jsonl", releases)
    assert len(path.read_bytes()) > 5 * (8 << 10)  # several pieces
    db = tmp_path / "s.duckdb"
    res = ingest([path], db)
    assert res.code == 1
    assert f"{path}:48: /bids/details/0/date: not a date: вчера" in res.stderr
    assert query(db, "SELECT count(*) FROM processes") == [(59,)]
    # the releases of the pieces that took the fast path carry their line in the file too
    refs = dict(query(db, "SELECT ocid, source_ref FROM releases"))
    assert all(refs[f"ocds-kzpiece-{i:03d}"] == f"line {i + 1}" for i in range(60) if i != 47)


def test_a_truncated_gzip_keeps_the_lines_before_the_break(tmp_path: Path) -> None:
    import gzip

    releases = [compiled(f"ocds-kzgz-{i:03d}") for i in range(200)]
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in releases).encode()
    data = gzip.compress(text)
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    db = tmp_path / "s.duckdb"
    res = ingest([path], db)
    assert res.code == 1
    assert "the file is truncated or corrupt" in res.stderr
    n = query(db, "SELECT count(*) FROM processes")[0][0]
    assert 0 < n < 200
    assert query(db, "SELECT max(ocid) FROM processes") == [(f"ocds-kzgz-{n - 1:03d}",)]


def test_plain_and_gzip_files_are_cut_into_the_same_lines(tmp_path: Path) -> None:
    """An uncompressed file is cut by the kernel (copy_file_range), a gzip one in Python: either way the
    pieces hold whole lines, in order, numbered from 1, and together the whole file (a last line without
    its newline gets one; a line longer than a piece makes a piece of its own)."""
    import gzip

    from aiqyn.ingest.readers import Piece, split_json_lines

    lines = [f'{{"n": {i}, "pad": "{"x" * (i * 37 % 300)}"}}' for i in range(400)]
    lines[123] = '{"long": "' + "y" * 5000 + '"}'
    lines[200] = ""  # a blank line is a line too
    text = "\n".join(lines)  # no newline after the last line
    plain = tmp_path / "c.jsonl"
    plain.write_text(text, encoding="utf-8")
    packed = tmp_path / "c.jsonl.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    for source in (plain, packed):
        out = tmp_path / source.name.replace(".", "-")
        out.mkdir()
        pieces = [p for p in split_json_lines(source, out, piece_bytes=2000)]
        assert all(isinstance(p, Piece) for p in pieces), pieces
        got = [p for p in pieces if isinstance(p, Piece)]
        assert len(got) > 5
        assert b"".join(p.path.read_bytes() for p in got) == (text + "\n").encode(), source
        assert [p.first_line for p in got] == [1, *[sum(q.lines for q in got[:i]) + 1 for i in range(1, len(got))]]
        for p in got:
            body = p.path.read_text(encoding="utf-8")
            assert body.endswith("\n") and body.count("\n") == p.lines
            assert body.splitlines()[0] == lines[p.first_line - 1]
        assert sum(p.lines for p in got) == len(lines)
        assert got[-1].position == source.stat().st_size
