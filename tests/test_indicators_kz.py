"""Kazakhstan's flags (KZ001...KZ013) and R044, each with a small hand-built positive and negative case, through
`aiqyn ingest`, `aiqyn registers import unreliable` and `aiqyn flags run` into the `flags` table.

One store holds every case (built once per module); each test reads the flags of one indicator.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from aiqyn.ids import make_bin
from aiqyn.reference import medicines
from conftest import ingest, jsonl, query, run_cli, write


def _bin(year: int, month: int, serial: int) -> str:
    for s in range(serial, serial + 50):
        if number := make_bin(year, month, s):
            return number
    raise AssertionError("no valid BIN")


def org(key: str, registered: tuple[int, int] = (2010, 5), **contact: str) -> dict[str, Any]:
    """A company (or public body) with a valid BIN; `key` makes its serial, name and default contacts unique."""
    serial = sum(ord(c) * (i + 1) for i, c in enumerate(key)) % 90_000 + 1_000
    number = _bin(*registered, serial)
    return {
        "id": f"KZ-BIN-{number}", "name": f"ТОО «{key}»", "bin": number,
        "identifier": {"scheme": "KZ-BIN", "id": number, "legalName": f"ТОО «{key}»"},
        "address": {"streetAddress": contact.get("street", f"ул. {key}, {serial % 200 + 1}"),
                    "locality": contact.get("locality", "Астана"), "countryName": "Казахстан"},
        "contactPoint": {"name": contact.get("person", f"Контакт {key}"),
                         "telephone": contact.get("phone", f"+7 701 {serial:06d}"),
                         "email": contact.get("email", f"{serial}@{key.lower()}.kz")},
        "details": {"katoCode": "711110000"},
    }


def ref(o: dict[str, Any]) -> dict[str, str]:
    return {"id": o["id"], "name": o["name"]}


def process(ocid: str, buyer: dict[str, Any], winner: dict[str, Any] | None = None, *,
            method: str = "Открытый конкурс", start: str = "2024-03-01T09:00:00+05:00",
            end: str = "2024-03-21T09:00:00+05:00", award_date: str = "2024-03-25T12:00:00+05:00",
            signed: str = "2024-03-27T12:00:00+05:00", estimate: float = 1_000_000.0, award: float = 900_000.0,
            contract: float | None = None, others: list[dict[str, Any]] | None = None,
            items: list[dict[str, Any]] | None = None, code: str = "171912.500.000001") -> dict[str, Any]:
    """A complete process: the winner's bid at `award`, the other bidders above it, an award and a contract."""
    winner = winner or org(f"W-{ocid}")
    bidders = [winner, *(others if others is not None else [org(f"L-{ocid}")])]
    items = items or [{"id": "1", "description": "Бумага офисная", "quantity": 10,
                       "classification": {"scheme": "ENSTRU", "id": code, "description": "Бумага"},
                       "unit": {"name": "пачка", "value": {"amount": estimate / 10, "currency": "KZT"}}}]
    parties = [{**{k: v for k, v in buyer.items() if k != "bin"}, "roles": ["buyer", "procuringEntity"]}]
    parties += [{**{k: v for k, v in b.items() if k != "bin"}, "roles": ["tenderer", "supplier"] if i == 0
                 else ["tenderer"]} for i, b in enumerate(bidders)]
    return {
        "ocid": ocid, "id": f"{ocid}-1", "date": "2025-01-01T00:00:00Z", "tag": ["compiled"], "language": "ru",
        "initiationType": "tender", "buyer": ref(buyer), "parties": parties,
        "tender": {
            "id": ocid, "title": "Закуп", "status": "complete", "procurementMethodDetails": method,
            "procurementMethod": "direct" if method == "Из одного источника" else "open",
            "value": {"amount": estimate, "currency": "KZT"},
            "tenderPeriod": {"startDate": start, "endDate": end}, "procuringEntity": ref(buyer),
            "tenderers": [ref(b) for b in bidders], "items": items,
        },
        "bids": {"details": [
            {"id": f"{ocid}-b{i}", "status": "valid", "date": start,
             "value": {"amount": award * (1 + 0.05 * i), "currency": "KZT"}, "tenderers": [ref(b)]}
            for i, b in enumerate(bidders)]},
        "awards": [{"id": f"{ocid}-a", "status": "active", "date": award_date, "suppliers": [ref(winner)],
                    "value": {"amount": award, "currency": "KZT"}}],
        "contracts": [{"id": f"{ocid}-c", "awardID": f"{ocid}-a", "status": "active", "dateSigned": signed,
                       "value": {"amount": award if contract is None else contract, "currency": "KZT"}}],
    }


# -- the cases ------------------------------------------------------------------------------------------
UNRELIABLE = org("Ненадежный", (2012, 3))
NEWCOMER = org("Новичок", (2024, 1))
DOMINANT = org("Доминант")
MED = next(m for m in medicines() if m.ceiling_price > 100)


def cases() -> list[dict[str, Any]]:
    releases = []
    b = org("Школа-1", (2001, 1))
    # KZ012: a request for price proposals open 3 days (minimum 5) / 6 days.
    releases.append(process("kz012-pos", b, method="Запрос ценовых предложений", end="2024-03-04T10:00:00+05:00"))
    releases.append(process("kz012-neg", b, method="Запрос ценовых предложений", end="2024-03-07T10:00:00+05:00"))
    # KZ003: the contract raised 50% over the award / 5%.
    releases.append(process("kz003-pos", b, contract=1_350_000.0))
    releases.append(process("kz003-neg", b, contract=945_000.0))
    # KZ004: a winner registered in January 2024 wins a tender of March 2024 / one registered in 2010.
    releases.append(process("kz004-pos", b, NEWCOMER))
    releases.append(process("kz004-neg", b))
    # KZ005: the winner listed from 2024-02-01 (see the register below) wins in March 2024 / in January 2024.
    releases.append(process("kz005-pos", b, UNRELIABLE))
    releases.append(process("kz005-neg", b, UNRELIABLE, start="2024-01-15T09:00:00+05:00",
                            end="2024-02-05T09:00:00+05:00", award_date="2024-02-07T12:00:00+05:00",
                            signed="2024-02-09T12:00:00+05:00"))
    # KZ009: signed on Nauryz (2024-03-22), on a Saturday / on a Wednesday (the default).
    releases.append(process("kz009-pos", b, signed="2024-03-22T11:00:00+05:00"))
    releases.append(process("kz009-sat", b, signed="2024-03-30T11:00:00+05:00"))
    # KZ010: awarded 2 hours after the deadline with two bids; 80 days after / 4 days after (the default).
    releases.append(process("kz010-short", b, award_date="2024-03-21T11:00:00+05:00"))
    releases.append(process("kz010-long", b, award_date="2024-06-09T12:00:00+05:00",
                            signed="2024-06-12T12:00:00+05:00"))
    # KZ011: an open tender won at 99.5% of the estimate / a single-source purchase at 99.5%.
    releases.append(process("kz011-pos", b, award=995_000.0))
    releases.append(process("kz011-neg", b, award=995_000.0, method="Из одного источника", others=[]))
    # R044: two bidders with one phone / with different phones.
    twin_a, twin_b = org("Близнец-А", phone="+7 (701) 555-12-34"), org("Близнец-Б", phone="+77015551234")
    releases.append(process("r044-pos", b, twin_a, others=[twin_b]))
    releases.append(process("r044-neg", b, org("Чужой-А"), others=[org("Чужой-Б")]))
    # R055: three bids 5% apart (900,000, 945,000, 990,000: equal gaps) / three bids at irregular distances.
    releases.append(process("r055-pos", b, org("Кольцо-А"), others=[org("Кольцо-Б"), org("Кольцо-В")]))
    irregular = process("r055-neg", b, org("Сам-А"), others=[org("Сам-Б"), org("Сам-В")])
    for bid, amount in zip(irregular["bids"]["details"], (900_000.0, 951_000.0, 1_032_500.0), strict=True):
        bid["value"]["amount"] = amount
    releases.append(irregular)
    # KZ002: a buyer buys one code in three purchases of 10 million within 20 days (threshold 14,768,000) /
    # the same in two purchases 60 days apart / one purchase of another code.
    s = org("Акимат-2", (2001, 2))
    for i, day in enumerate(("2024-04-01", "2024-04-10", "2024-04-20")):
        releases.append(process(f"kz002-pos-{i}", s, method="Запрос ценовых предложений",
                                start=f"{day}T09:00:00+05:00", end="2024-04-28T09:00:00+05:00",
                                estimate=10_000_000.0, award=9_500_000.0, code="192022.500.000000"))
    for i, day in enumerate(("2024-06-01", "2024-08-01")):
        releases.append(process(f"kz002-neg-{i}", s, method="Запрос ценовых предложений",
                                start=f"{day}T09:00:00+05:00", end=f"{day}T18:00:00+05:00",
                                estimate=10_000_000.0, award=9_500_000.0, code="262013.000.000004"))
    # KZ006: a buyer with 12 contracts, 5 won by one supplier / 7 by seven others.
    c = org("Больница-3", (2001, 3))
    for i in range(12):
        releases.append(process(f"kz006-{'pos' if i < 5 else 'neg'}-{i}", c, DOMINANT if i < 5 else None))
    # KZ001: a buyer with 10 processes, 7 single-source / the buyer above, with none.
    d = org("Садик-4", (2001, 4))
    for i in range(10):
        releases.append(process(f"kz001-{i}", d, method="Из одного источника" if i < 7 else "Аукцион",
                                others=[] if i < 7 else None))
    # KZ008: a buyer with 10 processes in 2023, 4 of them in December worth most of the year.
    e = org("Отдел-5", (2001, 5))
    for i in range(10):
        month = 12 if i < 4 else i
        releases.append(process(f"kz008-{i}", e, start=f"2023-{month:02d}-01T09:00:00+06:00",
                                end=f"2023-{month:02d}-20T09:00:00+06:00",
                                award_date=f"2023-{month:02d}-22T12:00:00+06:00",
                                signed=f"2023-{month:02d}-25T12:00:00+06:00",
                                award=5_000_000.0 if i < 4 else 500_000.0,
                                estimate=5_500_000.0 if i < 4 else 550_000.0))
    # KZ007: data start in 2022; a supplier's first contract, 45 million, in 2024 / its second / a first of 1 million.
    f = org("Управление-6", (2001, 6))
    releases.append(process("kz007-early", f, start="2022-01-10T09:00:00+06:00", end="2022-01-30T09:00:00+06:00",
                            award_date="2022-02-02T12:00:00+06:00", signed="2022-02-04T12:00:00+06:00"))
    big = org("Крупный")
    releases.append(process("kz007-pos", f, big, estimate=50_000_000.0, award=45_000_000.0))
    releases.append(process("kz007-second", f, big, start="2024-05-01T09:00:00+05:00", end="2024-05-21T09:00:00+05:00",
                            award_date="2024-05-24T12:00:00+05:00", signed="2024-05-28T12:00:00+05:00",
                            estimate=50_000_000.0, award=45_000_000.0))
    releases.append(process("kz007-small", f))
    # KZ013: 24 purchases of coal at 19,500 a tonne, one at 45,000 (2.3 times the median), one at 21,000; a
    # medicine at 1.2 times its ceiling price / at 0.9 times.
    g = org("Котельная-7", (2001, 7))
    for i in range(26):
        price = 45_000.0 if i == 0 else 21_000.0 if i == 1 else 19_500.0 + 10 * i
        item = {"id": "1", "description": "Уголь каменный", "quantity": 100,
                "classification": {"scheme": "ENSTRU", "id": "192022.500.000000", "description": "Уголь"},
                "unit": {"name": "т", "value": {"amount": price, "currency": "KZT"}}}
        name = "kz013-pos" if i == 0 else "kz013-neg" if i == 1 else f"kz013-base-{i}"
        releases.append(process(name, g, items=[item], estimate=price * 100, award=price * 95))
    for name, factor in (("kz013-med-pos", 1.2), ("kz013-med-neg", 0.9)):
        item = {"id": "1", "description": f"{MED.inn}, {MED.characteristic}",
                "classification": {"scheme": "ATC", "id": MED.atc, "description": MED.inn}, "quantity": 100,
                "unit": {"name": MED.unit,
                         "value": {"amount": round(MED.ceiling_price * factor, 2), "currency": "KZT"}}}
        releases.append(process(name, g, items=[item], estimate=MED.ceiling_price * factor * 100,
                                award=MED.ceiling_price * factor * 90))
    return releases


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("kz")
    db = tmp / "store.duckdb"
    res = ingest([write(tmp / "releases.jsonl", jsonl(cases()))], db, "--quiet")
    assert res.code == 0, res.output
    register = tmp / "rnu.csv"
    with register.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["bin", "name", "included_on", "excluded_on", "reason"])
        w.writerow([UNRELIABLE["bin"], UNRELIABLE["name"], "2024-02-01", "", "Уклонение от заключения договора"])
    res = run_cli(["registers", "import", "unreliable", register, "--db", db])
    assert res.code == 0, res.output
    res = run_cli(["flags", "run", "--db", db, "--quiet"])
    assert res.code == 0 and res.exception is None, res.output
    return db


def flags(db: Path, code: str, subject_type: str = "process") -> dict[str, tuple[float, dict[str, Any]]]:
    rows = query(db, "SELECT subject_id, value, evidence FROM flags WHERE code = ? AND subject_type = ?",
                 [code, subject_type])
    return {s: (v, json.loads(e)) for s, v, e in rows}


def test_kz012_short_period_by_method(store: Path) -> None:
    got = flags(store, "KZ012")
    assert got["kz012-pos"][0] == 3.0 and got["kz012-pos"][1]["minimum"] == 5
    assert "kz012-neg" not in got
    assert "kz003-neg" not in got  # an open tender open 20 days


def test_kz003_amendments(store: Path) -> None:
    got = flags(store, "KZ003")
    assert got["kz003-pos"][0] == pytest.approx(0.5)
    assert got["kz003-pos"][1]["contracts"][0]["award_amount"] == 900_000.0
    assert "kz003-neg" not in got


def test_kz004_new_registration(store: Path) -> None:
    got = flags(store, "KZ004")
    assert got["kz004-pos"][0] == 2.0 and got["kz004-pos"][1]["registered"] == "2024-01"
    assert "kz004-neg" not in got
    assert NEWCOMER["id"] in flags(store, "KZ004", "tenderer")


def test_kz005_unreliable_supplier(store: Path) -> None:
    got = flags(store, "KZ005")
    assert set(got) == {"kz005-pos"}
    listed = got["kz005-pos"][1]["listed"][0]
    assert listed["bin"] == UNRELIABLE["bin"] and listed["included_on"] == "2024-02-01"
    assert set(flags(store, "KZ005", "tenderer")) == {UNRELIABLE["id"]}


def test_kz009_non_working_day(store: Path) -> None:
    got = flags(store, "KZ009")
    assert got["kz009-pos"][1]["contracts"][0]["kind"] == "holiday"
    assert got["kz009-sat"][1]["contracts"][0]["kind"] == "weekend"
    assert "kz003-neg" not in got and "kz004-neg" not in got


def test_kz010_decision_period(store: Path) -> None:
    got = flags(store, "KZ010")
    assert got["kz010-short"][1]["too"] == "short" and got["kz010-long"][1]["too"] == "long"
    assert got["kz010-long"][0] == 80.0
    assert "kz003-neg" not in got


def test_kz011_price_close_to_estimate(store: Path) -> None:
    got = flags(store, "KZ011")
    assert got["kz011-pos"][0] == pytest.approx(0.995)
    assert "kz011-neg" not in got and "kz003-neg" not in got


def test_r044_shared_contacts(store: Path) -> None:
    got = flags(store, "R044")
    assert set(got) == {"r044-pos"}
    assert got["r044-pos"][1]["pairs"][0]["phone"] is True
    assert set(flags(store, "R044", "tenderer")) == {org("Близнец-А")["id"], org("Близнец-Б")["id"]}


def test_r055_bids_in_fixed_increments(store: Path) -> None:
    got = flags(store, "R055")
    assert "r055-pos" in got and "r055-neg" not in got
    evidence = got["r055-pos"][1]
    assert evidence["bids"] == 3 and evidence["gap"] == pytest.approx(45_000.0)
    assert evidence["diffp"] == pytest.approx(0.05) and evidence["cv"] == pytest.approx(0.0476, abs=1e-3)
    # The collusion model's calibrated probability (computed in the SQL) is the value and evidence, with the
    # screens; three bids in fixed increments are flagged by the rule, not by the probability (< 0.95).
    assert evidence["fixed_increments"] is True and 0.0 < evidence["probability"] < evidence["min_probability"]
    assert got["r055-pos"][0] == pytest.approx(evidence["probability"])
    assert evidence["spd"] == pytest.approx(0.1) and evidence["kstest"] is not None and evidence["ties"] == 0.0
    ring = {org(k)["id"] for k in ("Кольцо-А", "Кольцо-Б", "Кольцо-В")}
    assert ring <= set(flags(store, "R055", "tenderer"))
    assert not {org(k)["id"] for k in ("Сам-А", "Сам-Б", "Сам-В")} & set(flags(store, "R055", "tenderer"))



def test_r055_probability_alone_flags_the_tender_but_names_no_firm(store: Path, tmp_path: Path) -> None:
    """With `min_probability = 0` every tender with enough bids is flagged by the model; only a tender in fixed
    increments names its tenderers (the probability scores the bids as a whole, not a firm's part in them)."""
    db = tmp_path / "copy.duckdb"
    shutil.copy(store, db)
    settings = write(tmp_path / "settings.toml", "[R055]\nmin_probability = 0.0\n")
    res = run_cli(["flags", "run", "--db", db, "--only", "R055", "--settings", settings, "--quiet"])
    assert res.code == 0 and res.exception is None, res.output
    got = flags(db, "R055")
    assert {"r055-pos", "r055-neg"} <= set(got)
    assert got["r055-neg"][1]["fixed_increments"] is False and got["r055-pos"][1]["fixed_increments"] is True
    tenderers = set(flags(db, "R055", "tenderer"))
    assert {org(k)["id"] for k in ("Кольцо-А", "Кольцо-Б", "Кольцо-В")} <= tenderers
    assert not {org(k)["id"] for k in ("Сам-А", "Сам-Б", "Сам-В")} & tenderers

def test_kz002_splitting(store: Path) -> None:
    got = flags(store, "KZ002")
    assert {o for o in got if o.startswith("kz002")} == {"kz002-pos-0", "kz002-pos-1", "kz002-pos-2"}
    assert got["kz002-pos-0"][1]["group_size"] == 3 and got["kz002-pos-0"][0] == 30_000_000.0
    assert org("Акимат-2", (2001, 2))["id"] in flags(store, "KZ002", "buyer")


def test_kz006_concentration(store: Path) -> None:
    got = flags(store, "KZ006")
    assert {o for o in got if o.startswith("kz006")} == {f"kz006-pos-{i}" for i in range(5)}
    assert got["kz006-pos-0"][1]["wins"] == 5 and got["kz006-pos-0"][1]["buyer_contracts"] == 12
    buyers = flags(store, "KZ006", "buyer")
    assert org("Больница-3", (2001, 3))["id"] in buyers
    assert DOMINANT["id"] in flags(store, "KZ006", "tenderer")


def test_kz001_single_source_share(store: Path) -> None:
    got = flags(store, "KZ001", "buyer")
    assert got[org("Садик-4", (2001, 4))["id"]][0] > 0.5
    assert org("Больница-3", (2001, 3))["id"] not in got


def test_kz008_year_end_rush(store: Path) -> None:
    got = flags(store, "KZ008", "buyer")
    value, evidence = got[org("Отдел-5", (2001, 5))["id"]]
    assert value == pytest.approx(20_000_000 / 23_000_000) and evidence["years"][0]["year"] == 2023
    assert org("Больница-3", (2001, 3))["id"] not in got


def test_kz007_new_supplier_large_contract(store: Path) -> None:
    got = flags(store, "KZ007")
    assert "kz007-pos" in got and "kz007-second" not in got and "kz007-small" not in got
    assert "kz007-early" not in got  # the data begin with it: no history before


def test_kz013_price_benchmark(store: Path) -> None:
    got = flags(store, "KZ013")
    item = got["kz013-pos"][1]["items"][0]
    assert item["median_ratio"] > 2 and item["observations"] == 26
    assert "kz013-neg" not in got
    assert got["kz013-med-pos"][1]["items"][0]["ceiling_ratio"] == pytest.approx(1.2, abs=1e-3)
    assert "kz013-med-neg" not in got


def test_every_kz_flag_has_a_case(store: Path) -> None:
    codes = {r[0] for r in query(store, "SELECT DISTINCT code FROM flags")}
    assert {f"KZ{i:03d}" for i in range(1, 14)} | {"R044"} <= codes


# -- the register of unreliable suppliers ----------------------------------------------------------------
def test_register_bad_rows_are_reported_and_kept_out(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    assert ingest([write(tmp_path / "r.jsonl", jsonl([process("p", org("B"))]))], db, "--quiet").code == 0
    good = UNRELIABLE["bin"]
    wrong_check = good[:11] + str((int(good[11]) + 1) % 10)
    path = write(tmp_path / "rnu.csv", "\n".join([
        "bin,name,included_on,excluded_on,reason,extra",
        f"{good},Ок,2024-02-01,,причина,x",
        f"{wrong_check},Плохая контрольная,2024-02-01,,,",
        "12345,Короткий,2024-02-01,,,",
        f"{NEWCOMER['bin']},Плохая дата,2024-13-01,,,",
        f"{NEWCOMER['bin']},Исключен раньше,2024-03-01,2024-01-01,,",
        f"{good},Повтор,01.02.2024,,,",
        f"{DOMINANT['bin']},Мало полей,2024-02-01",
    ]) + "\n")
    res = run_cli(["registers", "import", "unreliable", path, "--db", db])
    assert res.code == 1, res.output
    text = " ".join(res.stderr.split())
    for expected in (f"rnu.csv:3: bin: {wrong_check} has a wrong check digit", "rnu.csv:4: bin: '12345' is not 12",
                     "rnu.csv:5: included_on: '2024-13-01' is not a date", "rnu.csv:6: excluded_on: 2024-01-01 is "
                     "before", "rnu.csv:7: bin:", "already at line 2", "rnu.csv:8: expected 6 fields, found 3",
                     "ignored column(s): extra"):
        assert expected in text, (expected, text)
    rows = query(db, "SELECT bin, name, included_on, source_line FROM unreliable_suppliers")
    assert [(r[0], r[1], str(r[2]), r[3]) for r in rows] == [(good, "Ок", "2024-02-01", 2)]
    # Importing again replaces the entry, keeps the others.
    write(tmp_path / "more.csv", f"bin,included_on\n{NEWCOMER['bin']},2024-05-01\n{good},2024-02-01\n")
    assert run_cli(["registers", "import", "unreliable", tmp_path / "more.csv", "--db", db]).code == 0
    assert query(db, "SELECT count(*) FROM unreliable_suppliers")[0][0] == 2


@pytest.mark.parametrize(("text", "words"), [
    ("", "empty file"),
    ("name,included_on\nX,2024-01-01\n", "missing column(s) bin"),
])
def test_register_unusable_file(tmp_path: Path, text: str, words: str) -> None:
    db = tmp_path / "store.duckdb"
    assert ingest([write(tmp_path / "r.jsonl", jsonl([process("p", org("B"))]))], db, "--quiet").code == 0
    res = run_cli(["registers", "import", "unreliable", write(tmp_path / "bad.csv", text), "--db", db])
    assert res.code == 2 and words in " ".join(res.stderr.split()), res.output
    res = run_cli(["registers", "import", "unreliable", tmp_path / "missing.csv", "--db", db])
    assert res.code == 2 and "no such file" in res.stderr


def test_settings_take_goszakup_method_names(tmp_path: Path) -> None:
    """Mapping parameters are keyed by goszakup's (Cyrillic) method names, in Cardinal INI and Aiqyn TOML."""
    from aiqyn.indicators.settings import load_settings

    ini = write(tmp_path / "s.ini", "[KZ012.minimum_days]\nЗапрос ценовых предложений = 7\n[KZ002]\nwindow_days = 10\n")
    toml = write(tmp_path / "s.toml", '[KZ012.minimum_days]\n"Аукцион" = 20\n[KZ001]\n'
                                      'single_source_method_details = "Из одного источника|Бір көзден"\n')
    s = load_settings(ini)
    assert s.indicators["KZ012"].minimum_days == {"Запрос ценовых предложений": 7}  # type: ignore[attr-defined]
    assert s.indicators["KZ002"].window_days == 10  # type: ignore[attr-defined]
    t = load_settings(toml)
    assert t.indicators["KZ012"].minimum_days == {"Аукцион": 20}  # type: ignore[attr-defined]
    assert t.indicators["KZ001"].single_source_method_details == ["Из одного источника", "Бір көзден"]  # type: ignore[attr-defined]
