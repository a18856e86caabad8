"""Every common shape of OCDS data ingests into the same canonical tables; releases of a process merge.

The same three hand-made releases (three processes) are written as JSON lines, packages, records, single
documents, arrays, gzip-compressed, with a BOM, CRLF line endings, blank lines... and each is ingested
through `aiqyn ingest` into a fresh store; the canonical tables must equal those of the plain JSON lines.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aiqyn.ingest.merge import merger
from aiqyn.ingest.pipeline import CANONICAL
from conftest import (
    canonical_tables,
    count,
    ingest,
    jsonl,
    make_release,
    query,
    table_rows,
    tables,
    write,
)

OCIDS = ["ocds-kz0001-2024-0001", "ocds-kz0001-2024-0002", "ocds-kz0001-2024-0003"]


def base_releases() -> list[dict[str, Any]]:
    """Three processes: a full one, one without bids and contracts, one still open (no awards)."""
    return [
        make_release(OCIDS[0]),
        make_release(OCIDS[1], bids=None, contracts=None, tag=["award"]),
        make_release(OCIDS[2], bids=None, awards=None, contracts=None,
                     tender={**make_release(OCIDS[2])["tender"], "status": "active"}),
    ]


def release_package(releases: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "uri": "https://example.kz/package.json",
        "version": "1.1",
        "publishedDate": "2024-04-01T00:00:00Z",
        "publisher": {"name": "Test publisher", "scheme": "KZ-BIN", "uid": "000000000000"},
        "releases": releases,
        "extensions": [],
    }


def record(release: dict[str, Any], compiled: bool = True) -> dict[str, Any]:
    if compiled:
        return {
            "ocid": release["ocid"],
            "releases": [{"url": f"https://example.kz/{release['id']}.json", "date": release["date"],
                          "tag": release["tag"]}],
            "compiledRelease": {**release, "tag": ["compiled"]},
        }
    return {"ocid": release["ocid"], "releases": [release]}


def record_package(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"uri": "https://example.kz/records.json", "version": "1.1",
            "publishedDate": "2024-04-01T00:00:00Z", "publisher": {"name": "Test publisher"},
            "packages": ["https://example.kz/package.json"], "records": records}


# Each shape writes the releases under `d` and returns the paths to give to `aiqyn ingest`.
Shape = Callable[[list[dict[str, Any]], Path, bool], list[Path]]


def _gz(name: str, gz: bool) -> str:
    return name + ".gz" if gz else name


def shape_jsonl_releases(rs: list[dict[str, Any]], d: Path, gz: bool) -> list[Path]:
    return [write(d / _gz("releases.jsonl", gz), jsonl(rs), gz)]


def shape_jsonl_compiled(rs: list[dict[str, Any]], d: Path, gz: bool) -> list[Path]:
    return [write(d / _gz("compiled.jsonl", gz), jsonl({**r, "tag": ["compiled"]} for r in rs), gz)]


def shape_jsonl_records(rs: list[dict[str, Any]], d: Path, gz: bool) -> list[Path]:
    return [write(d / _gz("records.ndjson", gz), jsonl(record(r) for r in rs), gz)]


def shape_jsonl_packages_and_records(rs: list[dict[str, Any]], d: Path, gz: bool) -> list[Path]:
    """Line 1: a release package; line 2: a record; line 3: a record package with an embedded release."""
    lines = [release_package([rs[0]]), record(rs[1]), record_package([record(rs[2], compiled=False)])]
    return [write(d / _gz("mixed.jsonl", gz), jsonl(lines), gz)]


def shape_release_package(rs: list[dict[str, Any]], d: Path, gz: bool) -> list[Path]:
    return [write(d / _gz("package.json", gz), json.dumps(release_package(rs), indent=2, ensure_ascii=False), gz)]


def shape_release_package_minified(rs: list[dict[str, Any]], d: Path, gz: bool) -> list[Path]:
    return [write(d / _gz("package.json", gz), json.dumps(release_package(rs)), gz)]


def shape_record_package_compiled(rs: list[dict[str, Any]], d: Path, gz: bool) -> list[Path]:
    pkg = record_package([record(r) for r in rs])
    return [write(d / _gz("records.json", gz), json.dumps(pkg, indent=2, ensure_ascii=False), gz)]


def shape_record_package_embedded(rs: list[dict[str, Any]], d: Path, gz: bool) -> list[Path]:
    pkg = record_package([record(r, compiled=False) for r in rs])
    return [write(d / _gz("records.json", gz), json.dumps(pkg, indent=4), gz)]


def shape_single_releases(rs: list[dict[str, Any]], d: Path, gz: bool) -> list[Path]:
    return [write(d / _gz(f"release-{i}.json", gz), json.dumps(r, indent=2, ensure_ascii=False), gz)
            for i, r in enumerate(rs)]


def shape_single_records(rs: list[dict[str, Any]], d: Path, gz: bool) -> list[Path]:
    return [write(d / _gz(f"record-{i}.json", gz), json.dumps(record(r, compiled=i != 1), indent=2), gz)
            for i, r in enumerate(rs)]


def shape_array(rs: list[dict[str, Any]], d: Path, gz: bool) -> list[Path]:
    return [write(d / _gz("array.json", gz), json.dumps(rs, indent=2, ensure_ascii=False), gz)]


def shape_array_one_line(rs: list[dict[str, Any]], d: Path, gz: bool) -> list[Path]:
    return [write(d / _gz("array.json", gz), json.dumps(rs), gz)]


SHAPES: dict[str, Shape] = {
    "jsonl-releases": shape_jsonl_releases,
    "jsonl-compiled-releases": shape_jsonl_compiled,
    "jsonl-records": shape_jsonl_records,
    "jsonl-packages-and-records": shape_jsonl_packages_and_records,
    "release-package": shape_release_package,
    "release-package-minified": shape_release_package_minified,
    "record-package-compiled": shape_record_package_compiled,
    "record-package-embedded": shape_record_package_embedded,
    "single-release-files": shape_single_releases,
    "single-record-files": shape_single_records,
    "array": shape_array,
    "array-one-line": shape_array_one_line,
}


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[Any, ...]]]:
    """The canonical tables of the three releases given as plain JSON lines."""
    d = tmp_path_factory.mktemp("expected")
    path = write(d / "releases.jsonl", jsonl(base_releases()))
    res = ingest([path], d / "store.duckdb")
    assert res.code == 0, res.output
    tables = canonical_tables(d / "store.duckdb")
    assert len(tables["processes"]) == 3
    assert {r[0] for r in tables["processes"]} == set(OCIDS)
    for table in ("parties", "items", "bids", "bid_tenderers", "awards", "award_suppliers", "contracts",
                  "contract_amendments", "documents", "lots", "tenderers"):
        assert tables[table], f"the test data should fill {table}"
    return tables


def assert_same_store(db: Path, res: Any, expected: dict[str, list[tuple[Any, ...]]]) -> None:
    assert res.code == 0, res.output
    assert "3 releases accepted" in res.stdout, res.stdout
    assert "0 rejected" in res.stdout
    assert count(db, "rejects") == 0
    assert count(db, "releases") == 3
    got = canonical_tables(db)
    for table, rows in expected.items():
        assert got[table] == rows, f"table {table} differs"


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_shape(shape: str, gz: bool, tmp_path: Path, expected: dict[str, list[tuple[Any, ...]]]) -> None:
    paths = SHAPES[shape](base_releases(), tmp_path / "in", gz)
    db = tmp_path / "store.duckdb"
    assert_same_store(db, ingest(paths, db), expected)


def _jsonl_bytes(variant: str) -> bytes:
    rs = base_releases()
    if variant == "bom":
        return b"\xef\xbb\xbf" + jsonl(rs).encode()
    if variant == "crlf":
        return jsonl(rs, newline="\r\n").encode()
    if variant == "blank-lines":
        return ("\n\n" + "\n  \n\r\n".join(json.dumps(r) for r in rs) + "\n\n\n").encode()
    if variant == "no-final-newline":
        return jsonl(rs).rstrip("\n").encode()
    if variant == "all-at-once":
        return b"\xef\xbb\xbf\r\n" + "\r\n\r\n".join(json.dumps(r, ensure_ascii=False) for r in rs).encode()
    if variant == "bom-package":
        return b"\xef\xbb\xbf" + json.dumps(release_package(rs), indent=2).encode()
    if variant == "crlf-package":
        return json.dumps(release_package(rs), indent=2).replace("\n", "\r\n").encode()
    raise AssertionError(variant)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("variant", ["bom", "crlf", "blank-lines", "no-final-newline", "all-at-once",
                                     "bom-package", "crlf-package"])
def test_text_variants(variant: str, gz: bool, tmp_path: Path,
                       expected: dict[str, list[tuple[Any, ...]]]) -> None:
    path = write(tmp_path / _gz(f"{variant}.json", gz), _jsonl_bytes(variant), gz)
    db = tmp_path / "store.duckdb"
    assert_same_store(db, ingest([path], db), expected)


def test_single_release_with_bom(tmp_path: Path, expected: dict[str, list[tuple[Any, ...]]]) -> None:
    rs = base_releases()
    paths = [write(tmp_path / f"r{i}.json", b"\xef\xbb\xbf" + json.dumps(r, indent=2).encode())
             for i, r in enumerate(rs)]
    db = tmp_path / "store.duckdb"
    assert_same_store(db, ingest(paths, db), expected)


def test_directory_is_walked_recursively(tmp_path: Path, expected: dict[str, list[tuple[Any, ...]]]) -> None:
    rs = base_releases()
    root = tmp_path / "data"
    write(root / "2024" / "03" / "release.json", json.dumps(rs[0], indent=2))
    write(root / "2024" / "records.jsonl.gz", jsonl([record(rs[1])]), gz=True)
    write(root / "package.json", json.dumps(release_package([rs[2]])))
    write(root / "README.txt", "not data: ignored")
    write(root / "2024" / "notes.md", "# not data either")
    db = tmp_path / "store.duckdb"
    res = ingest([root], db)
    assert "ingested 3 file(s)" in res.stdout, res.stdout
    assert_same_store(db, res, expected)


def test_several_paths_and_a_directory(tmp_path: Path, expected: dict[str, list[tuple[Any, ...]]]) -> None:
    rs = base_releases()
    a = write(tmp_path / "a.jsonl", jsonl(rs[:1]))
    write(tmp_path / "dir" / "sub" / "b.json", json.dumps(release_package(rs[1:])))
    db = tmp_path / "store.duckdb"
    assert_same_store(db, ingest([a, tmp_path / "dir"], db), expected)


# -- merging releases of one process ------------------------------------------------------------------
OCID = "ocds-kz0001-2024-0100"


def merge_releases() -> list[dict[str, Any]]:
    """Three releases of one process: tender, award, then a change of the award and a contract."""
    full = make_release(OCID)
    tender = make_release(OCID, id="rel-1", date="2024-03-01T09:00:00Z", tag=["tender"],
                          awards=None, contracts=None, bids=None,
                          tender={**full["tender"], "status": "active"})
    award = {
        "ocid": OCID, "id": "rel-2", "date": "2024-03-15T12:00:00Z", "tag": ["award"],
        "tender": {"id": full["tender"]["id"], "status": "complete"},
        "parties": [{"id": full["parties"][1]["id"], "name": "ТОО «Астана Снаб» (новое имя)",
                     "roles": ["supplier"]}],
        "bids": full["bids"],
        "awards": [
            {"id": "award-1", "status": "pending", "date": "2024-03-15T12:00:00Z",
             "value": {"amount": 1_100_000, "currency": "KZT"}, "suppliers": full["awards"][0]["suppliers"]},
            {"id": "award-2", "status": "unsuccessful", "date": "2024-03-15T12:00:00Z"},
        ],
    }
    contract = {
        "ocid": OCID, "id": "rel-3", "date": "2024-03-20T12:00:00Z", "tag": ["awardUpdate", "contract"],
        "awards": [{"id": "award-1", "status": "active"}],
        "contracts": full["contracts"],
    }
    return [tender, award, contract]


def test_merge_two_releases_like_ocdsmerge(tmp_path: Path) -> None:
    tender, award, _ = merge_releases()
    db = tmp_path / "store.duckdb"
    res = ingest([write(tmp_path / "in.jsonl", jsonl([award, tender]))], db)  # newest first on purpose
    assert res.code == 0, res.output
    assert "2 releases accepted" in res.stdout

    # The reference: ocdsmerge with the same merge rules, its compiled release ingested on its own.
    compiled = merger().create_compiled_release([tender, award])
    ref = tmp_path / "ref.duckdb"
    assert ingest([write(tmp_path / "compiled.jsonl", jsonl([compiled]))], ref).code == 0
    got, want = canonical_tables(db), canonical_tables(ref)
    for table in want:
        if table != "processes":
            assert got[table] == want[table], f"table {table} differs from ocdsmerge's compiled release"
    skip = ("release_id", "n_releases")
    assert table_rows(db, "processes", exclude=skip) == table_rows(ref, "processes", exclude=skip)

    (status, n, release_id, release_date), = query(
        db, "SELECT status, n_releases, release_id, CAST(release_date AS VARCHAR) FROM processes")
    assert (status, n, release_id) == ("complete", 2, "rel-2")
    assert release_date.startswith("2024-03-15 12:00:00")
    # awards are merged by id; the supplier's party (merged by id) takes the newer name
    assert query(db, "SELECT award_id, status FROM awards ORDER BY position") == [
        ("award-1", "pending"), ("award-2", "unsuccessful")]
    assert query(db, "SELECT name FROM parties WHERE party_id = ?", [tender["parties"][1]["id"]]) == [
        ("ТОО «Астана Снаб» (новое имя)",)]
    # the tender's items survive from the first release: the second one does not mention them
    assert count(db, "items") == count(ref, "items") > 0
    assert count(db, "releases") == 2


def test_newer_release_updates_the_process(tmp_path: Path) -> None:
    tender, award, contract = merge_releases()
    db = tmp_path / "store.duckdb"
    assert ingest([write(tmp_path / "1.jsonl", jsonl([tender]))], db).code == 0
    assert query(db, "SELECT status, n_releases, release_id FROM processes") == [("active", 1, "rel-1")]
    assert count(db, "awards") == 0

    res = ingest([write(tmp_path / "2.jsonl", jsonl([award]))], db)
    assert res.code == 0 and "1 releases accepted" in res.stdout, res.output
    assert query(db, "SELECT status, n_releases, release_id FROM processes") == [("complete", 2, "rel-2")]

    res = ingest([write(tmp_path / "3.jsonl.gz", jsonl([contract]), gz=True)], db)
    assert res.code == 0, res.output
    assert query(db, "SELECT status, n_releases, release_id FROM processes") == [("complete", 3, "rel-3")]
    assert query(db, "SELECT award_id, status FROM awards ORDER BY position") == [
        ("award-1", "active"), ("award-2", "unsuccessful")]
    assert count(db, "contracts") == 1
    assert count(db, "contract_amendments") == 1

    # The same three releases ingested at once, in any order, give the same tables.
    together = tmp_path / "together.duckdb"
    assert ingest([write(tmp_path / "all.jsonl", jsonl([contract, tender, award]))], together).code == 0
    assert canonical_tables(together) == canonical_tables(db)
    compiled = merger().create_compiled_release([tender, award, contract])
    ref = tmp_path / "ref.duckdb"
    assert ingest([write(tmp_path / "compiled.jsonl", jsonl([compiled]))], ref).code == 0
    skip = ("release_id", "n_releases")
    assert table_rows(db, "processes", exclude=skip) == table_rows(ref, "processes", exclude=skip)
    for table in ("awards", "award_suppliers", "contracts", "items", "parties", "bids", "documents"):
        assert table_rows(db, table) == table_rows(ref, table), table


def test_older_release_arriving_late_is_merged_in_date_order(tmp_path: Path) -> None:
    tender, award, contract = merge_releases()
    late = tmp_path / "late.duckdb"
    assert ingest([write(tmp_path / "a.jsonl", jsonl([contract, award]))], late).code == 0
    assert ingest([write(tmp_path / "b.jsonl", jsonl([tender]))], late).code == 0
    ordered = tmp_path / "ordered.duckdb"
    assert ingest([write(tmp_path / "c.jsonl", jsonl([tender, award, contract]))], ordered).code == 0
    assert canonical_tables(late) == canonical_tables(ordered)
    assert query(late, "SELECT status, n_releases, release_id FROM processes") == [("complete", 3, "rel-3")]


def test_reingesting_changes_nothing(tmp_path: Path) -> None:
    tender, award, contract = merge_releases()
    data = [*base_releases(), tender, award, contract]
    path = write(tmp_path / "in.jsonl", jsonl(data))
    gz = write(tmp_path / "copy" / "in.jsonl.gz", jsonl(data), gz=True)
    db = tmp_path / "store.duckdb"
    assert ingest([path], db).code == 0
    names = [*CANONICAL, "releases", "rejects"]
    before = tables(db, names)
    assert len(before["processes"]) == 4 and len(before["releases"]) == 6

    for again in ([path], [path, gz]):
        res = ingest(again, db)
        assert res.code == 0, res.output
        unchanged = 6 * len(again)
        assert f"0 releases accepted, {unchanged} unchanged, 0 rejected" in res.stdout, res.stdout
        assert tables(db, names) == before  # releases keep their first run id, source file and place
    runs = query(db, "SELECT status, accepted, unchanged, rejected FROM ingest_runs ORDER BY started_at")
    assert runs == [("complete", 6, 0, 0), ("complete", 0, 6, 0), ("complete", 0, 12, 0)]


def test_same_releases_in_another_shape_leave_the_tables_as_they_are(tmp_path: Path) -> None:
    """The same releases, serialized differently (inside a package), compile to the same tables."""
    tender, award, contract = merge_releases()
    data = [*base_releases(), tender, award, contract]
    db = tmp_path / "store.duckdb"
    assert ingest([write(tmp_path / "in.jsonl", jsonl(data))], db).code == 0
    before = canonical_tables(db)
    pkg = write(tmp_path / "package.json", json.dumps(release_package(data), indent=2))
    res = ingest([pkg], db)
    assert res.code == 0 and "0 rejected" in res.stdout, res.output
    assert canonical_tables(db) == before
    assert count(db, "releases") == 6


def test_corrected_release_with_the_same_id_replaces_the_old_one(tmp_path: Path) -> None:
    old = make_release(OCID, id="rel-1", date="2024-03-01T09:00:00Z")
    new = make_release(OCID, id="rel-1", date="2024-03-02T09:00:00Z",
                       tender={**old["tender"], "title": "Закуп бумаги (исправлено)"})
    db = tmp_path / "store.duckdb"
    assert ingest([write(tmp_path / "old.jsonl", jsonl([old]))], db).code == 0
    assert ingest([write(tmp_path / "new.jsonl", jsonl([new]))], db).code == 0
    assert query(db, "SELECT title, n_releases FROM processes") == [("Закуп бумаги (исправлено)", 1)]
    # the older version coming again does not win over the newer one
    res = ingest([tmp_path / "old.jsonl"], db)
    assert res.code == 0 and "0 releases accepted, 1 unchanged" in res.stdout, res.stdout
    assert query(db, "SELECT title, n_releases FROM processes") == [("Закуп бумаги (исправлено)", 1)]
    assert count(db, "releases") == 1


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("compiled", [False, True], ids=["releases", "compiled-releases"])
def test_json_lines_with_a_first_line_longer_than_a_read_block(compiled: bool, gz: bool, tmp_path: Path) -> None:
    """A first line longer than the 8 KiB block gzip decompresses at a time: the shape is still seen as JSON lines
    (it was read as one document and rejected after its first release, 7 shards of 100 at 10M processes)."""
    rs = base_releases()
    for r in rs:
        r["tender"]["description"] = "Поставка " * 3000  # 51 KB of UTF-8 a line
        if compiled:
            r["tag"] = ["compiled"]
    path = write(tmp_path / _gz("long.jsonl", gz), jsonl(rs), gz)
    db = tmp_path / "store.duckdb"
    res = ingest([path], db)
    assert res.code == 0, res.output
    assert "3 releases accepted" in res.stdout and "0 rejected" in res.stdout
    assert query(db, "SELECT ocid, length(description) FROM processes ORDER BY ocid") == [
        (ocid, 27000) for ocid in OCIDS]
