"""Citizens' price reports: import with bad rows kept, matching to the ceiling price, hotspots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiqyn.prices.citizens import parse_date, resolve_region, seller_key
from conftest import ingest, jsonl, make_release, query, run_cli, write

CSV = """id,seller,address,region,product,price,unit,date,media
r1,"Аптека «Шипагер»","г. Туркестан, ул. Тауке хана, 12",Туркестанская область,Парацетамол таблетки 500 мг,"25,00",таблетка,2024-05-02,video_0502.mp4
r2,"ТОО «Шипагер»","г. Туркестан, ул. Тауке хана, 12",610000000,Парацетамол таблетка 500 мг,30,,03.05.2024,
r3,Аптека Денсаулык,"Шымкент, пр. Республики, 5",г. Шымкент,Парацетамол таблетка 500 мг,"12,00",таблетка,2024-05-04,
r4,Аптека Денсаулык,"Шымкент, пр. Республики, 5",Шымкент қ.,Парацетамол таблетка 500 мг,дорого,таблетка,2024-05-04,
r5,Аптека Арман,"Москва",Московская область,Парацетамол таблетка 500 мг,20,таблетка,2024-05-04,
r6,Аптека Арман,"Туркестан",Түркістан облысы,Чудо-таблетка от всего,20,таблетка,2024-05-04,
r7,Аптека Арман,"Туркестан",Түркістан облысы,Парацетамол таблетка 500 мг,20,упаковка,2024-05-04,
r8,,"Туркестан",Түркістан облысы,Парацетамол таблетка 500 мг,20,таблетка,2024-05-04,
r9,Аптека Арман,"Туркестан",Түркістан облысы,Парацетамол таблетка 500 мг,20,таблетка,31.02.2024,
"""  # noqa: E501 (a CSV file as citizens send it)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    db = tmp_path / "s.duckdb"
    ingest([write(tmp_path / "r.jsonl", jsonl([make_release("ocds-a")]))], db)
    return db


def test_import_keeps_bad_rows_with_the_reason(store: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "reports.csv", CSV)
    res = run_cli(["reports", "import", path, "--db", store])
    assert res.code == 1, res.output  # something was rejected
    assert "imported 3 report(s)" in res.stdout and "2 above the ceiling" in res.stdout
    rows = query(store, "SELECT report_id, region_code, price_seen, ceiling_price, above_ceiling, seller_key, "
                        "media FROM citizen_reports ORDER BY report_id")
    assert rows == [
        ("r1", "610000000", 25.0, 13.6, True, "шипагер", "video_0502.mp4"),
        ("r2", "610000000", 30.0, 13.6, True, "шипагер", None),  # no unit: the ceiling's unit
        ("r3", "790000000", 12.0, 13.6, False, "денсаулык", None),
    ]
    rejects = query(store, "SELECT line, field, reason FROM price_rejects WHERE source = 'citizen_reports' "
                           "AND source_file = ? ORDER BY line", [str(path)])
    assert [(line, field) for line, field, _ in rejects] == [
        (5, "price"), (6, "region"), (7, "product"), (8, "unit"), (9, "seller"), (10, "date")]
    reasons = {field: reason for _, field, reason in rejects}
    assert "'дорого' is not a price" in reasons["price"]
    assert "unknown region 'Московская область'" in reasons["region"]
    assert "matches no medicine" in reasons["product"]
    assert "'упаковка' is not the unit of the ceiling price ('таблетка')" in reasons["unit"]
    assert "31.02.2024" in reasons["date"]
    assert f"{path} line 6, field region" in res.stderr.replace("\n", "")

    # Importing the same file again replaces its reports and rejects, nothing doubles.
    run_cli(["reports", "import", path, "--db", store])
    assert query(store, "SELECT count(*) FROM citizen_reports") == [(3,)]
    assert query(store, "SELECT count(*) FROM price_rejects WHERE source = 'citizen_reports'") == [(6,)]


def test_json_lines_and_hotspots(store: Path, tmp_path: Path) -> None:
    reports = [
        {"seller": "Аптека «Шипагер»", "address": "Туркестан", "region": "Түркістан облысы",
         "product": "Парацетамол, таблетка 500 мг", "price": "27,20", "date": "2024-06-01"},
        {"seller": "ТОО Шипагер", "address": "Туркестан", "region": "611010000",
         "product": "Ибупрофен таблетка 200 мг", "price": 1000, "date": "2024-06-02"},
        {"seller": "Аптека Береке", "address": "Астана", "region": "г.Астана",
         "product": "Парацетамол, таблетка 500 мг", "price": 10, "date": "2024-06-03"},
    ]
    text = jsonl(reports) + "{not json\n"
    path = write(tmp_path / "reports.jsonl", text)
    res = run_cli(["reports", "import", path, "--db", store])
    assert res.code == 1 and "line 4: not valid JSON" in res.stderr.replace("\n", "")
    res = run_cli(["reports", "hotspots", "--db", store, "--json"])
    assert res.code == 0, res.output
    hot = json.loads(res.stdout)
    assert [(h["region_code"], h["reports"], h["above_ceiling"]) for h in hot] == [("610000000", 2, 2)]
    res = run_cli(["reports", "hotspots", "--db", store, "--by", "seller", "--min-above", "0", "--json"])
    sellers = [(h["seller_key"], h["reports"], h["above_ceiling"]) for h in json.loads(res.stdout)]
    assert sellers == [("шипагер", 2, 2), ("береке", 1, 0)]
    res = run_cli(["reports", "hotspots", "--db", store, "--by", "seller"])
    assert res.code == 0 and "Hotspots by seller" in res.stdout


def test_unreadable_files(store: Path, tmp_path: Path) -> None:
    res = run_cli(["reports", "import", tmp_path / "none.csv", "--db", store])
    assert res.code == 2 and "no such file" in res.stderr
    path = write(tmp_path / "bad.csv", "seller,price\nx,1\n")
    res = run_cli(["reports", "import", path, "--db", store])
    assert res.code == 2 and "line 1: missing column(s) region, product, date" in res.stderr.replace("\n", "")
    path = write(tmp_path / "latin1.csv", b"seller,region\n" + b"\xff\xfe\n")
    res = run_cli(["reports", "import", path, "--db", store])
    assert res.code == 2 and "not UTF-8" in res.stderr


@pytest.mark.parametrize(("text", "code"), [
    ("Туркестанская область", "610000000"), ("Түркістан облысы", "610000000"), ("Туркестанская обл.", "610000000"),
    ("г. Алматы", "750000000"), ("Алматы", "750000000"), ("Алматинская область", "190000000"),
    ("Алматы облысы", "190000000"), ("Астана қ.", "710000000"), ("611010000", "610000000"), ("61", None),
    ("999999999", None), ("Подмосковье", None),
])
def test_resolve_region(text: str, code: str | None) -> None:
    assert resolve_region(text) == code


def test_small_parsers() -> None:
    assert str(parse_date("03.05.2024")) == "2024-05-03"
    with pytest.raises(ValueError, match="not a date"):
        parse_date("вчера")
    assert seller_key("ТОО «Аптека Шипагер»") == seller_key("шипагер") == "шипагер"
