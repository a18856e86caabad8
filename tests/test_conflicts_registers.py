"""Registers of officials, relatives, companies and meetings: validation with file, line and field; the good rows
loaded; names normalised across scripts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from aiqyn.conflicts.normalize import address_key, company_name, fold, person_key, person_tokens, phone_key
from aiqyn.conflicts.registers import birth_date_of_iin, parse_datetime
from aiqyn.ids import make_bin, make_iin
from conftest import run_cli

IIN1 = make_iin(dt.date(1975, 4, 17), True, 1234)
IIN2 = make_iin(dt.date(1980, 1, 2), False, 55)
IIN3 = make_iin(dt.date(1978, 6, 30), False, 901)
BIN1 = make_bin(2010, 6, 12345)
BIN2 = make_bin(2015, 3, 777)
assert IIN1 and IIN2 and IIN3 and BIN1 and BIN2
BAD_IIN = IIN1[:11] + str((int(IIN1[11]) + 1) % 10)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _rejects(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT kind, file, line, field, reason FROM register_rejects ORDER BY line").fetchall()
    finally:
        con.close()


def test_officials_import_reports_bad_rows_with_file_line_and_field(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    f = _write(tmp_path / "officials.csv", "\n".join([
        "iin,full_name,position,organisation_bin,servant_kind,in_office_from,in_office_to,office,commissions,extra",
        f"{IIN1},Ахметов Нурлан Серикович,аким,{BIN1},political,2019-01-09,,каб. 201,ocds-a-1;ocds-a-2,x",
        f"{BAD_IIN},Сериков Ерлан,руководитель,{BIN1},administrative,2019-01-09,,,,",  # line 3: check digit
        f"{IIN2},Омарова Динара,специалист,{BIN1},administrative,31.02.2020,,,,",  # line 4: not a date
        f",Касымов Марат,специалист,{BIN1},administrative,2020-01-01,,,,",  # line 5: missing key
        f"{IIN2},Омарова Динара,специалист,{BIN1},minister,2020-01-01,,,,",  # line 6: unknown servant kind
        f"{IIN2},Омарова Динара,специалист,{BIN1},administrative,01.03.2020,2019-01-01,,,",  # line 7: ends first
        f"{IIN1},Ахметов Нурлан,аким,{BIN1},political,2019-01-09,,,,",  # line 8: the same official again
    ]) + "\n")
    res = run_cli(["registers", "import", "officials", f, "--db", db])
    assert res.code == 1, res.output
    for line, column in ((3, "iin"), (4, "in_office_from"), (5, "iin"), (6, "servant_kind"), (7, "in_office_to"),
                         (8, "iin")):
        assert f"{f}:{line}: {column}:" in res.stderr.replace("\n", ""), (line, res.stderr)
    assert "imported 1 officials" in res.stdout
    assert "ignored column(s): extra" in res.stderr
    con = duckdb.connect(str(db), read_only=True)
    row = con.execute("SELECT iin, servant_kind, commissions, birth_date, office FROM officials").fetchall()
    con.close()
    assert row == [(IIN1, "political", ["ocds-a-1", "ocds-a-2"], dt.date(1975, 4, 17), "каб. 201")]
    assert [(r[2], r[3]) for r in _rejects(db)] == [(3, "iin"), (4, "in_office_from"), (5, "iin"),
                                                    (6, "servant_kind"), (7, "in_office_to"), (8, "iin")]
    assert "already at line 2" in _rejects(db)[-1][4]


def test_relatives_and_companies_in_json_formats(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    rel = _write(tmp_path / "relatives.jsonl", "\n".join([
        json.dumps({"official_iin": IIN1, "relative_iin": IIN2, "relation": "spouse"}),
        json.dumps({"official_iin": IIN1, "relative_name": "Ахметов Серик", "relation": "parent",
                    "birth_date": "12.05.1950"}),
        json.dumps({"official_iin": IIN1, "relation": "child"}),  # line 3: neither IIN nor name
        "{not json",  # line 4
        json.dumps({"official_iin": IIN1, "relative_iin": IIN2, "relation": "cousin"}),  # line 5
        json.dumps({"official_iin": IIN3, "relative_iin": IIN2, "relation": "sibling"}),  # another official's sister
        json.dumps({"official_iin": IIN3, "relative_iin": IIN2, "relation": "sibling"}),  # line 7: again
    ]) + "\n")
    res = run_cli(["registers", "import", "relatives", rel, "--db", db])
    assert res.code == 1
    assert [(r[2], r[3]) for r in _rejects(db)] == [(3, "relative_name"), (4, "row"), (5, "relation"),
                                                    (7, "person_id")]
    comp = _write(tmp_path / "companies.json", json.dumps([
        {"bin": BIN1, "name_ru": "ТОО «Астана Строй»", "name_latin": "Astana Stroy LLP", "registered_on": "2010-06-01",
         "founders": [IIN2, "Ахметов Нурлан, 1975-04-17"], "directors": [{"name": "Ким Ольга"}]},
        {"bin": BIN2},  # item 2: no name
        {"bin": BIN2, "name_ru": "ТОО «Кокше»", "founders": ["Иванов, 1975-13-40"]},  # item 3: a founder's date
    ], ensure_ascii=False))
    res = run_cli(["registers", "import", "companies", comp, "--db", db])
    assert res.code == 1
    assert "companies.json:2: name_ru: missing" in res.stderr.replace("\n", "")
    assert "companies.json:3: founders:" in res.stderr.replace("\n", "")
    con = duckdb.connect(str(db), read_only=True)
    people = con.execute("SELECT role, position, person_iin, person_name, birth_date FROM company_people "
                         "ORDER BY role, position").fetchall()
    relatives = con.execute("SELECT person_id, relation, birth_date FROM relatives ORDER BY relation").fetchall()
    con.close()
    assert people == [("director", 0, None, "Ким Ольга", None),
                      ("founder", 0, IIN2, None, dt.date(1980, 1, 2)),
                      ("founder", 1, None, "Ахметов Нурлан", dt.date(1975, 4, 17))]
    assert relatives[0][1] == "parent" and relatives[0][0].startswith(f"REL-{IIN1}-")
    assert relatives[0][2] == dt.date(1950, 5, 12)
    assert relatives[1:] == [(IIN2, "sibling", dt.date(1980, 1, 2)), (IIN2, "spouse", dt.date(1980, 1, 2))]


def test_meetings_import_and_reimport_replaces(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    header = "meeting_id,official_iin,company_bin,starts_at,place,recorded,commission_members\n"
    f = _write(tmp_path / "m.csv", header + f"M1,{IIN1},{BIN1},2024-03-04 10:00,зал 101,да,{IIN2}\n"
               f"M2,{IIN1},{BIN1},2024-03-04 25:00,зал 101,true,\n"  # line 3: bad time
               f"M3,{IIN1},{BIN1},2024-03-04 10:00,зал 101,maybe,\n")  # line 4: not yes/no
    res = run_cli(["meetings", "import", f, "--db", db])
    assert res.code == 1
    assert [(r[2], r[3]) for r in _rejects(db)] == [(3, "starts_at"), (4, "recorded")]
    _write(f, header + f"M1,{IIN1},{BIN1},2024-03-04T10:00:00+00:00,зал 102,нет,\n")
    assert run_cli(["meetings", "import", f, "--db", db]).code == 0
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT meeting_id, starts_at, place, recorded FROM meetings").fetchall()
    con.close()
    assert rows == [("M1", dt.datetime(2024, 3, 4, 15, 0), "зал 102", False)]  # UTC+5 from 1 March 2024


def test_unreadable_files_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    assert run_cli(["registers", "import", "officials", tmp_path / "none.csv", "--db", db]).code == 2
    f = _write(tmp_path / "o.csv", "iin,full_name\n1,2\n")
    res = run_cli(["registers", "import", "officials", f, "--db", db])
    assert res.code == 2 and "missing column(s) organisation_bin, servant_kind, in_office_from" in res.stderr
    (tmp_path / "latin1.csv").write_bytes("iin\n\xe9".encode("latin-1"))
    assert run_cli(["registers", "import", "companies", tmp_path / "latin1.csv", "--db", db]).code == 2


@pytest.mark.parametrize(("a", "b"), [
    ("ТОО «Астана Строй»", "Astana Stroy LLP"),
    ("ЖШС «Астана Строй»", "TOO Astana Stroy"),
    ("АО «Самрук Инвест»", "Samruk Invest JSC"),
    ("АҚ «Самрук Инвест»", "AO \"Samruk Invest\""),
])
def test_company_names_agree_across_languages_and_scripts(a: str, b: str) -> None:
    assert company_name(a) == company_name(b)


def test_person_names_fold_across_scripts() -> None:
    assert fold("Нұрлан") == fold("Нурлан") == fold("Nurlan") == fold("Nūrlan")
    assert fold("Жұмабаев") == fold("Zhumabayev") == fold("Jumabaev")
    assert fold("Қасымов") == fold("Qasymov") == fold("Kassymov")
    assert person_key("Ахметов Нурлан Серикович") == person_key("Nurlan Akhmetov")
    assert person_tokens("Ахметов Нурлан Серикович")[1] == person_tokens("Akhmetov Nurlan Serik uly")[1]
    assert person_key("Ахметов Нурлан") != person_key("Ахметов Ерлан")
    assert address_key("ул. Кенесары, д. 12") == address_key("Kenesary street 12")
    assert phone_key("8 (701) 123-45-67") == phone_key("+7 701 123 45 67")


def test_iin_birth_date_and_local_time() -> None:
    assert birth_date_of_iin(IIN1) == dt.date(1975, 4, 17)
    assert parse_datetime("2024-02-01T04:00:00Z") == dt.datetime(2024, 2, 1, 10, 0)  # UTC+6 before March 2024
    assert parse_datetime("04.03.2024 19:30") == dt.datetime(2024, 3, 4, 19, 30)
