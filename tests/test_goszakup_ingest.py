"""`aiqyn ingest` of goszakup.gov.kz OWS v3 data: pages (with a BOM), JSON lines, GraphQL answers; the entities
of one process merged across files; rejects with file, line or pointer and reason; idempotence; the real pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiqyn.goszakup.mapping import OCID_PREFIX, parse_date
from conftest import canonical_tables, count, ingest, query, run_cli
from goszakup_factory import (
    BUYER,
    ENTREPRENEUR,
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

OCID = f"{OCID_PREFIX}-5001"


def one_process(tmp_path: Path) -> list[Path]:
    """An announcement (saved page with BOM), its lot (JSON lines), two applications (GraphQL), the contract
    (page) and a plan point (JSON lines): five files, as a user collects them."""
    return [
        write_page(tmp_path / "trd_buy.json", [announcement()], "/v3/trd-buy"),
        write_lines(tmp_path / "lots.jsonl", [lot()]),
        write_graphql(tmp_path / "apps.json", "TrdApp", [application(8001, SUPPLIER, 1_100_000),
                                                         application(8002, SUPPLIER2, 1_150_000)]),
        write_page(tmp_path / "contracts.json", [contract()]),
        write_lines(tmp_path / "plans.jsonl", [plan_point()]),
    ]


def test_entities_of_one_process_merge_across_files(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    res = ingest(one_process(tmp_path), db)
    assert res.code == 0, res.output
    assert "6 releases accepted, 0 unchanged, 0 rejected" in res.output
    proc = query(db, "SELECT title, status, status_details, method, method_details, main_category, "
                     "estimated_amount, tender_start_text, buyer_id, procuring_entity_id, n_releases, year "
                     "FROM processes WHERE ocid = ?", [OCID])
    assert proc == [("Закуп бумаги офисной", "complete", "Завершено", "open", "Запрос ценовых предложений", "goods",
                     1_200_000.0, "2020-02-01T09:00:00+06:00", f"KZ-BIN-{BUYER}", f"KZ-BIN-{BUYER}", 5, 2020)]
    assert query(db, "SELECT lot_id, title, amount, currency FROM lots") == [("7001", "Бумага А4", 1_200_000.0, "KZT")]
    assert query(db, "SELECT bid_id, amount, related_lots FROM bids ORDER BY bid_id") == [
        ("8001-7001", 1_100_000.0, ["7001"]), ("8002-7001", 1_150_000.0, ["7001"])]
    assert query(db, "SELECT party_id FROM bid_tenderers ORDER BY 1") == [
        (f"KZ-BIN-{SUPPLIER}",), (f"KZ-BIN-{SUPPLIER2}",)]
    assert query(db, "SELECT a.amount, s.party_id FROM awards a JOIN award_suppliers s USING (ocid)") == [
        (1_100_000.0, f"KZ-BIN-{SUPPLIER}")]
    assert query(db, "SELECT contract_id, status, date_signed_text, amount FROM contracts") == [
        ("9001", "active", "2020-02-12T09:30:00+06:00", 1_100_000.0)]
    # the customer's and the supplier's payment details, for the affiliation graph
    assert query(db, "SELECT party_id, iban, bic FROM party_accounts WHERE ocid = ? ORDER BY 1", [OCID]) == [
        (f"KZ-BIN-{SUPPLIER}", "KZ468560000005082256", "KCJBKZKX"),
        (f"KZ-BIN-{BUYER}", "KZ92070101KSN0000000", "KKMFKZ2A")]
    # the plan point: a planning process with its ENSTRU code, quantity and unit price
    assert query(db, "SELECT ocid, section, classification_scheme, classification_id, quantity, unit_id, unit_name, "
                     "unit_price FROM items WHERE section = 'planning'") == [
        (f"{OCID_PREFIX}-plan-35511372", "planning", "ENSTRU", "171912.000.000001", 100.0, "778", "Упаковка",
         12000.0)]
    assert query(db, "SELECT budget_amount, status, buyer_id FROM processes WHERE ocid LIKE '%-plan-%'") == [
        (1_200_000.0, "planning", f"KZ-BIN-{BUYER}")]


def test_ingesting_again_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    files = one_process(tmp_path)
    assert ingest(files, db).code == 0
    before = canonical_tables(db)
    res = ingest(list(reversed(files)), db)
    assert res.code == 0, res.output
    assert "0 releases accepted, 6 unchanged, 0 rejected" in res.output
    assert canonical_tables(db) == before


def test_order_of_files_does_not_matter(tmp_path: Path) -> None:
    files = one_process(tmp_path)
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    ingest(files, a)
    ingest(list(reversed(files)), b)
    assert canonical_tables(a) == canonical_tables(b)


def test_an_updated_item_updates_its_process(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    ingest([write_page(tmp_path / "c1.json", [contract(ref_contract_status_id=190)])], db)
    newer = contract(ref_contract_status_id=330, last_update_date="2020-03-01 10:00:00", ref_contract_cancel_id=23)
    res = ingest([write_page(tmp_path / "c2.json", [newer])], db)
    assert "1 releases accepted" in res.output
    assert query(db, "SELECT status FROM contracts") == [("cancelled",)]
    assert query(db, "SELECT n_releases FROM processes") == [(2,)]


def test_additional_agreement_amends_its_root_contract(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    root = contract(9001, amount=1_000_000)
    agreement = contract(9050, amount=1_300_000, parent_id=9001, root_id=9001, sign_date="2020-05-01 10:00:00",
                         last_update_date="2020-05-01 11:00:00", ref_amendm_agreem_justif_id=[3],
                         description_ru="Увеличение объёма")
    res = ingest([write_page(tmp_path / "c.json", [root, agreement])], db)
    assert res.code == 0, res.output
    assert query(db, "SELECT contract_id, amount FROM contracts") == [("9001", 1_300_000.0)]
    assert query(db, "SELECT amount FROM awards") == [(1_000_000.0,)]
    assert query(db, "SELECT contract_id, amendment_id, description, rationale FROM contract_amendments") == [
        ("9001", "9050", "Увеличение объёма", "ref_amendm_agreem_justif_id=3")]


def test_direct_contract_without_announcement_and_an_individual_entrepreneur(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    item = contract(9100, trd=None, supplier=ENTREPRENEUR, fakt_trade_methods_id=23)
    assert ingest([write_lines(tmp_path / "c.jsonl", [item])], db).code == 0
    assert query(db, "SELECT ocid, method, method_details FROM processes") == [
        (f"{OCID_PREFIX}-contract-9100", "direct", "Из одного источника путем прямого заключения договора")]
    assert query(db, "SELECT scheme, identifier, subject_id FROM parties WHERE list_contains(roles, 'supplier')") == [
        ("KZ-IIN", ENTREPRENEUR, f"KZ-IIN-{ENTREPRENEUR}")]


def test_bad_items_are_rejected_with_file_line_and_reason(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    wrong_digit = SUPPLIER[:11] + str((int(SUPPLIER[11]) + 1) % 10)
    lines = write_lines(tmp_path / "c.jsonl", [
        contract(9001),
        contract(9002, supplier=wrong_digit),
        contract(9003, sign_date="31.02.2020"),
        {k: v for k, v in contract(9004).items() if k != "id"},
        {"foo": 1},
    ])
    (tmp_path / "broken.jsonl").write_text(json.dumps(contract(9005)) + "\n{\"id\": 9006, \n", encoding="utf-8")
    page = write_page(tmp_path / "page.json", [plan_point(1), plan_point(2, ref_enstru_code="x", price="дорого")])
    res = ingest([lines, tmp_path / "broken.jsonl", page], db)
    assert res.code == 1
    assert "3 releases accepted, 0 unchanged, 6 rejected" in res.output, res.output
    rejects = query(db, "SELECT source_file, line, pointer, reason FROM rejects ORDER BY source_file, line, pointer")
    assert rejects == [
        (str(tmp_path / "broken.jsonl"), 2, None, rejects[0][3]),
        (str(lines), 2, "/supplier_biin", f"BIN/IIN {wrong_digit} has a wrong check digit"),
        (str(lines), 3, "/sign_date", "not a date: 31.02.2020"),
        (str(lines), 4, "/id", "missing: the item has no id"),
        (str(lines), 5, None, rejects[4][3]),
        (str(page), None, "/items/1/price", "expected a number, got 'дорого'"),
    ]
    assert rejects[0][3].startswith("malformed JSON")
    assert rejects[4][3].startswith("not a goszakup item")
    assert f"{lines}:2 /supplier_biin: BIN/IIN {wrong_digit} has a wrong check digit" in res.output
    # a reject keeps the raw item
    raw = query(db, "SELECT raw FROM rejects WHERE line = 3")[0][0]
    assert json.loads(raw)["sign_date"] == "31.02.2020"
    # the plan point's price that is not a number: pointer into the page
    res2 = ingest([page], tmp_path / "p.duckdb")
    assert query(tmp_path / "p.duckdb", "SELECT pointer, reason FROM rejects") == [
        ("/items/1/price", "expected a number, got 'дорого'")]
    assert res2.code == 1


def test_detection_by_content_and_source_option(tmp_path: Path) -> None:
    page = write_page(tmp_path / "data.json", [contract()])
    assert ingest([page], tmp_path / "a.duckdb").code == 0
    assert count(tmp_path / "a.duckdb", "contracts") == 1
    # read as OCDS, a goszakup page is an unknown package shape
    res = ingest([page], tmp_path / "b.duckdb", "--source", "ocds")
    assert res.code == 1 and "unknown package shape" in res.output
    # forced goszakup on an OCDS file: its items are not goszakup items
    ocds = tmp_path / "ocds.jsonl"
    ocds.write_text(json.dumps({"ocid": "ocds-x-1", "id": "1", "date": "2020-01-01T00:00:00Z", "tag": ["tender"]})
                    + "\n", encoding="utf-8")
    res = ingest([ocds], tmp_path / "c.duckdb", "--source", "goszakup")
    assert res.code == 1 and "not a goszakup item" in res.output
    assert ingest([ocds], tmp_path / "d.duckdb").code == 0  # auto: OCDS
    assert run_cli(["ingest", page, "--db", tmp_path / "e.duckdb", "--source", "xml"]).code == 2


def test_reference_book_page_names_the_codes(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    refs = tmp_path / "statuses.json"
    refs.write_text(json.dumps({"total": 2, "limit": 50, "next_page": "/v3/refs/ref_contract_status?page=next",
                                "items": [{"id": 185, "name_ru": "Подписан", "name_kz": "Қол қойылды",
                                           "code": "Signed"},
                                          {"id": 190, "name_ru": "Действует", "code": "Active"}]}),
                    encoding="utf-8")
    page = write_page(tmp_path / "c.json", [contract(ref_contract_status_id=185)])
    res = ingest([page, refs], db)  # the book is read first, whatever the order
    assert res.code == 0, res.output
    assert query(db, "SELECT status FROM contracts") == [(None,)]
    con_rows = query(db, "SELECT raw FROM releases")
    assert json.loads(con_rows[0][0])["contracts"][0]["statusDetails"] == "Подписан"


def test_gzip_and_graphql_contracts_in_camel_case(tmp_path: Path) -> None:
    import gzip
    import re

    item = {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), k): v for k, v in contract().items()}
    path = write_graphql(tmp_path / "contracts.json", "Contract", [item])
    gz = tmp_path / "contracts.json.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    path.unlink()
    db = tmp_path / "s.duckdb"
    assert ingest([gz], db).code == 0
    assert query(db, "SELECT amount, status FROM contracts") == [(1_100_000.0, "active")]
    assert query(db, "SELECT source_ref FROM releases") == [("/data/Contract/0",)]


def test_register_of_unreliable_suppliers_feeds_kz005(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    rnu = write_page(tmp_path / "rnu.json", [
        {"pid": 1, "supplier_biin": SUPPLIER, "supplier_innunp": None, "supplier_name_ru": "ТОО «Астана Снаб»",
         "supplier_name_kz": None, "start_date": "2019-12-01 00:00:00", "end_date": "2021-12-01 00:00:00",
         "court_decision": "решение суда № 2-123", "kato_list": [711110000], "index_date": "2019-12-02 10:00:00",
         "system_id": 3},
        {"pid": 2, "supplier_biin": "123", "supplier_name_ru": "x", "kato_list": [], "index_date": "2019-12-02"},
    ], "/v3/rnu")
    subjects = write_lines(tmp_path / "subjects.jsonl", [
        {"pid": 11, "bin": BUYER, "iin": None, "regdate": "2016-04-20 00:00:00", "name_ru": "ГУ «Отдел образования»",
         "customer": 1, "organizer": 1, "supplier": 0, "ref_kopf_code": "4", "mark_resident": 1,
         "phone": "+7 7172 000000"},
        {"pid": 12, "bin": None, "iin": ENTREPRENEUR, "regdate": "2015-01-10 00:00:00", "name_ru": "ИП Ахметов",
         "supplier": 1, "mark_resident": 1}])
    files = [write_page(tmp_path / "trd_buy.json", [announcement()], "/v3/trd-buy"),
             write_page(tmp_path / "contracts.json", [contract()]), rnu, subjects]
    res = ingest(files, db)
    assert res.code == 1  # the entry with a bad BIN
    assert "register of unreliable suppliers: 1 entries stored" in res.output
    assert "participants register: 2 read, 1 companies added to the companies register" in res.output
    assert query(db, "SELECT bin, name_ru, CAST(registered_on AS VARCHAR), phone FROM companies") == [
        (BUYER, "ГУ «Отдел образования»", "2016-04-20", "+7 7172 000000")]
    assert "0 companies added" in ingest([subjects], db).output  # the register is never overwritten
    assert query(db, "SELECT pointer, reason FROM rejects") == [("/items/1/supplier_biin",
                                                                 "not a BIN or IIN (12 digits): '123'")]
    assert query(db, "SELECT bin, CAST(included_on AS VARCHAR), CAST(excluded_on AS VARCHAR), reason "
                     "FROM unreliable_suppliers") == [(SUPPLIER, "2019-12-01", "2021-12-01", "решение суда № 2-123")]
    res = run_cli(["flags", "run", "--db", db, "--only", "KZ005"])
    assert res.code == 0, res.output
    assert query(db, "SELECT subject_id FROM flags WHERE code = 'KZ005' AND subject_type = 'process'") == [(OCID,)]


def test_dates_keep_kazakhstan_offsets() -> None:
    assert parse_date("2020-02-06 15:00:22") == "2020-02-06T15:00:22+06:00"
    assert parse_date("2024-03-01 00:00:00") == "2024-03-01T00:00:00+05:00"
    assert parse_date("2020-02-06") == "2020-02-06T00:00:00+06:00"
    assert parse_date("2020-02-06T15:00:22.123+0600") == "2020-02-06T15:00:22+06:00"
    assert parse_date("2020-02-30 10:00:00") is None
    assert parse_date("06.02.2020") is None


# -- the real pages ---------------------------------------------------------------------------------
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"real goszakup pages not found at {SAMPLES} (see its SOURCE.md)")


@needs_samples
def test_real_pages_ingest_without_a_reject_and_run_stats_and_flags(tmp_path: Path) -> None:
    db = tmp_path / "real.duckdb"
    res = ingest([SAMPLES], db)
    assert res.code == 0, res.output
    assert "ingested 2 file(s)" in res.output and "1,000 releases accepted, 0 unchanged, 0 rejected" in res.output
    assert count(db, "rejects") == 0
    # 450 contracts and 50 additional agreements, whose root contracts are on other pages
    assert (count(db, "awards"), count(db, "contracts"), count(db, "contract_amendments")) == (450, 500, 50)
    assert query(db, "SELECT count(*) FROM items WHERE section = 'planning' AND classification_scheme = 'ENSTRU' "
                     "AND quantity IS NOT NULL AND unit_price IS NOT NULL") == [(500,)]
    # every party is identified by a BIN or an IIN whose check digit is right
    assert query(db, "SELECT DISTINCT scheme FROM parties ORDER BY 1") == [("KZ-BIN",), ("KZ-IIN",)]
    assert query(db, "SELECT count(*) FROM party_accounts WHERE iban LIKE 'KZ%'")[0][0] > 800
    # the region of most contracts' buyers, from their legal address
    assert query(db, "SELECT count(*) FROM processes WHERE region_code IS NOT NULL AND ocid NOT LIKE '%-plan-%'"
                 )[0][0] > 400
    again = ingest([SAMPLES], db)
    assert again.code == 0 and "0 releases accepted, 1,000 unchanged, 0 rejected" in again.output
    res = run_cli(["stats", "--db", db, "--json"])
    assert res.code == 0, res.output
    assert json.loads(res.stdout)["tables"]["contracts"] == 500
    res = run_cli(["flags", "run", "--db", db])
    assert res.code == 0, res.output
    assert query(db, "SELECT status FROM flag_runs") == [("complete",)]
