"""Shared helpers of the test suite: running the CLI, making OCDS releases, reading the store back."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aiqyn.cli import app
from aiqyn.ingest.pipeline import CANONICAL
from aiqyn.store.db import connect

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_SAMPLES = REPO_ROOT.parent / "shared" / "data" / "ocds-real-samples"


# -- the command line ---------------------------------------------------------------------------------
@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(args: Sequence[str | Path]) -> CliResult:
    """Run `aiqyn ARGS...` in-process through its Typer entry point; (exit code, stdout, stderr)."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    exc = result.exception if not isinstance(result.exception, SystemExit) else None
    return CliResult(result.exit_code, result.stdout, result.stderr, exc)


def ingest(paths: Iterable[str | Path], db: Path, *extra: str) -> CliResult:
    """`aiqyn ingest PATHS... --db DB`; fails the test on an unexpected crash (a traceback)."""
    res = run_cli(["ingest", *paths, "--db", db, *extra])
    if res.exception is not None:
        raise AssertionError(f"aiqyn ingest crashed: {res.exception!r}\n{res.output}") from res.exception
    return res


# -- OCDS test data -----------------------------------------------------------------------------------
BUYER_BIN = "140340012345"


def _org(bin_: str, name: str) -> dict[str, str]:
    return {"id": f"KZ-BIN-{bin_}", "name": name}


def make_release(ocid: str, /, **overrides: Any) -> dict[str, Any]:
    """A small valid OCDS release in KZT: buyer and two suppliers, a tender with items, two bids, an
    award and a contract with an amendment. Top-level keys of `overrides` replace the release's keys
    (None removes the key)."""
    n = sum(ord(c) for c in ocid) % 900 + 100  # varies the numbers between processes
    buyer = _org(BUYER_BIN, "ГУ «Отдел образования города Астаны»")
    sup1 = _org(f"0605400{n:05d}", "ТОО «Астана Снаб»")
    sup2 = _org(f"1112400{n:05d}", "ТОО «Кокше Трейд»")
    item = {
        "id": "1",
        "description": "Бумага офисная А4",
        "classification": {"scheme": "ENSTRU", "id": "171912.000.000001", "description": "Бумага"},
        "quantity": 10 + n % 7,
        "unit": {"name": "упак", "value": {"amount": 2500.0 + n, "currency": "KZT"}},
    }
    release: dict[str, Any] = {
        "ocid": ocid,
        "id": f"{ocid}-tender",
        "date": "2024-03-01T09:00:00Z",
        "tag": ["tender"],
        "initiationType": "tender",
        "language": "ru",
        "parties": [
            {
                **buyer,
                "identifier": {"scheme": "KZ-BIN", "id": BUYER_BIN, "legalName": buyer["name"]},
                "address": {"streetAddress": "пр. Абая, 1", "locality": "Астана", "region": "Астана",
                            "postalCode": "010000", "countryName": "Казахстан"},
                "contactPoint": {"name": "Иванова А.", "email": "buy@example.kz", "telephone": "+77172000000"},
                "roles": ["buyer", "procuringEntity"],
                "details": {"katoCode": "711110000"},
            },
            {**sup1, "identifier": {"scheme": "KZ-BIN", "id": sup1["id"][7:]}, "roles": ["tenderer", "supplier"],
             "details": {"katoCode": "751110000"}},
            {**sup2, "identifier": {"scheme": "KZ-BIN", "id": sup2["id"][7:]}, "roles": ["tenderer"]},
        ],
        "buyer": buyer,
        "planning": {"budget": {"amount": {"amount": 1_500_000 + n, "currency": "KZT"}},
                     "documents": [{"id": "plan", "documentType": "procurementPlan",
                                    "datePublished": "2024-01-15T00:00:00Z"}]},
        "tender": {
            "id": f"T-{n}",
            "title": "Закуп бумаги",
            "description": "Бумага офисная для школ",
            "status": "complete",
            "procurementMethod": "open",
            "procurementMethodDetails": "Открытый конкурс",
            "mainProcurementCategory": "goods",
            "awardCriteria": "priceOnly",
            "value": {"amount": 1_200_000.0 + n, "currency": "KZT"},
            "tenderPeriod": {"startDate": "2024-03-01T09:00:00+06:00", "endDate": "2024-03-11T09:00:00+06:00"},
            "enquiryPeriod": {"startDate": "2024-03-01T09:00:00+06:00", "endDate": "2024-03-05T18:00:00+06:00"},
            "procuringEntity": buyer,
            "numberOfTenderers": 2,
            "tenderers": [sup1, sup2],
            "items": [item, {**item, "id": "2", "description": "Ручки", "quantity": 100}],
            "lots": [{"id": "lot-1", "title": "Бумага", "status": "complete",
                      "value": {"amount": 1_200_000.0 + n, "currency": "KZT"}}],
            "documents": [{"id": "tender-doc", "documentType": "tenderNotice", "title": "Объявление",
                           "url": "https://example.kz/doc", "datePublished": "2024-03-01T09:00:00Z"}],
        },
        "bids": {"details": [
            {"id": "bid-1", "date": "2024-03-05T10:00:00Z", "status": "valid", "relatedLots": ["lot-1"],
             "value": {"amount": 1_100_000.0 + n, "currency": "KZT"}, "tenderers": [sup1]},
            {"id": "bid-2", "date": "2024-03-06T10:00:00Z", "status": "valid", "relatedLots": ["lot-1"],
             "value": {"amount": 1_150_000.0 + n, "currency": "KZT"}, "tenderers": [sup2]},
        ]},
        "awards": [{
            "id": "award-1", "title": "Победитель", "status": "active", "date": "2024-03-15T12:00:00Z",
            "value": {"amount": 1_100_000.0 + n, "currency": "KZT"}, "suppliers": [sup1],
            "items": [item], "relatedLots": ["lot-1"], "relatedBid": "bid-1",
        }],
        "contracts": [{
            "id": "contract-1", "awardID": "award-1", "title": "Договор", "status": "active",
            "dateSigned": "2024-03-20T12:00:00Z",
            "period": {"startDate": "2024-03-20T00:00:00Z", "endDate": "2024-12-31T00:00:00Z"},
            "value": {"amount": 1_100_000.0 + n, "currency": "KZT"}, "items": [item],
            "amendments": [{"id": "am-1", "date": "2024-05-01T00:00:00Z", "rationale": "Изменение сроков"}],
            "documents": [{"id": "contract-doc", "documentType": "contractSigned",
                           "datePublished": "2024-03-20T12:00:00Z"}],
        }],
    }
    for key, value in overrides.items():
        if value is None:
            release.pop(key, None)
        else:
            release[key] = copy.deepcopy(value)
    return release


def jsonl(objs: Iterable[Any], newline: str = "\n") -> str:
    """JSON lines text, one object per line, with a trailing newline."""
    return "".join(json.dumps(o, ensure_ascii=False) + newline for o in objs)


def write(path: Path, text: str | bytes, gz: bool = False) -> Path:
    """Write text (UTF-8) or bytes to `path`, gzip-compressed when `gz`."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def flagged_store(tmp: Path, releases: Iterable[dict[str, Any]]) -> Path:
    """A store in `tmp` with `releases` ingested and one `aiqyn flags run` (indicators and scores) on them."""
    db = tmp / "store.duckdb"
    assert ingest([write(tmp / "releases.jsonl", jsonl(releases))], db, "--quiet").code == 0
    res = run_cli(["flags", "run", "--db", db, "--quiet"])
    assert res.code == 0 and "risk scores" in res.stdout, res.output
    return db


# -- reading the store back ---------------------------------------------------------------------------
def _rows(con: Any, table: str, exclude: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in exclude]
    sel = ", ".join(f'"{c}"' for c in cols)
    return con.execute(f"SELECT {sel} FROM {table} ORDER BY ALL").fetchall()


def table_rows(db: Path, table: str, exclude: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    """All rows of `table` (without the columns in `exclude`), sorted."""
    con = connect(db, read_only=True)
    try:
        return _rows(con, table, exclude)
    finally:
        con.close()


def tables(db: Path, names: Iterable[str] = CANONICAL,
           exclude: Sequence[str] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of several tables (the canonical ones by default), each sorted."""
    con = connect(db, read_only=True)
    try:
        return {t: _rows(con, t, exclude) for t in names}
    finally:
        con.close()


def canonical_tables(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every canonical table (processes ... documents), rows sorted."""
    return tables(db)


def query(db: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    con = connect(db, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def count(db: Path, table: str) -> int:
    return query(db, f"SELECT count(*) FROM {table}")[0][0]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.duckdb"
