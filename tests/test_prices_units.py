"""Units, the tenge price format, the ceiling-price list and medicine matching."""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path

import pytest

from aiqyn.prices.references import (
    MedicineMatcher,
    PriceFormatError,
    doses,
    load_reference_prices,
    parse_tenge,
)
from aiqyn.prices.units import convert, normalise, unit_key, unit_table

SHARED_CEILINGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "kz-medicine-marginal-prices"


@pytest.mark.parametrize(("name", "qty", "price", "expected"), [
    ("т", 2, 19_500_000.0, (2000.0, 19_500.0, "кг")),
    ("тонна", 1, 1000.0, (1000.0, 1.0, "кг")),
    ("кг", 5, 380.0, (5.0, 380.0, "кг")),
    ("г", 500, 1.0, (0.5, 1000.0, "кг")),
    ("мл", 250, 2.0, (0.25, 2000.0, "л")),
    ("л", 40, 215.0, (40.0, 215.0, "л")),
    ("Упак.", 10, 4200.0, (10.0, 4200.0, "упак")),
    ("пачка", 3, 2450.0, (3.0, 2450.0, "упак")),
    ("шт", 7, 38.0, (7.0, 38.0, "шт")),
    ("дана", 7, 38.0, (7.0, 38.0, "шт")),
    ("тыс. шт", 2, 38_000.0, (2000.0, 38.0, "шт")),
    ("кв. м", 100, 7800.0, (100.0, 7800.0, "м2")),
    ("м²", 100, 7800.0, (100.0, 7800.0, "м2")),
    ("шаршы метр", 100, 7800.0, (100.0, 7800.0, "м2")),
    ("га", 2, 1_000_000.0, (20_000.0, 100.0, "м2")),
    ("текше метр", 3, 5000.0, (3.0, 5000.0, "м3")),
])
def test_convert(name: str, qty: float, price: float, expected: tuple[float, float, str]) -> None:
    q, p, unit = convert(qty, price, name)
    assert (q, p) == pytest.approx(expected[:2])
    assert unit == expected[2]
    assert q * p == pytest.approx(qty * price)  # converting never changes the amount


def test_unknown_unit_is_kept_as_its_own_unit() -> None:
    u = normalise("  Бочка ")
    assert (u.unit, u.factor, u.known) == ("бочка", 1.0, False)
    assert normalise(None).known is False


def test_unit_key_ignores_case_spaces_and_dots() -> None:
    assert unit_key("Кв. М.") == unit_key("кв.м") == "квм"


def test_unit_table_is_consistent() -> None:
    text = resources.files("aiqyn.prices").joinpath("units.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    table = unit_table()
    for row in rows:
        u = table[unit_key(row["name"])]
        assert (u.unit, u.factor) == (row["unit"], float(row["factor"])), row
    bases = {u.unit for u in table.values()}
    for base in bases:  # every base unit maps to itself with factor 1
        assert normalise(base).unit == base and normalise(base).factor == 1.0, base


@pytest.mark.parametrize(("text", "value"), [
    ("2 993,88", 2993.88), ("2\u00a0993,88", 2993.88), ("2993.88", 2993.88), ("1 234 567", 1_234_567.0),
    ("12,5 тг", 12.5), ("100 тенге", 100.0), ("₸ 5", None), ("2.993,88", 2993.88), ("2,993.88", 2993.88),
    ("0,9", 0.9), (15, 15.0), (2.5, 2.5),
])
def test_parse_tenge(text: str | float, value: float | None) -> None:
    if value is None:
        with pytest.raises(PriceFormatError):
            parse_tenge(text)
    else:
        assert parse_tenge(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "  ", "abc", "12 абв", "-5", "120,00 (0.05 мл), 240,01 (0.1 мл)", "1,2,3",
                                  None, True])
def test_parse_tenge_rejects(text: str | None) -> None:
    with pytest.raises(PriceFormatError):
        parse_tenge(text)


def test_packaged_ceiling_prices_load() -> None:
    prices, rejects = load_reference_prices()
    assert len(prices) == 1125 and rejects == []
    para = [p for p in prices if p.inn == "Парацетамол" and p.characteristic == "таблетка 500 мг"]
    assert len(para) == 1 and para[0].price_kzt == pytest.approx(13.6) and para[0].unit_name == "таблетка"


@pytest.mark.skipif(not SHARED_CEILINGS.exists(), reason="shared data folder not present")
def test_official_json_reads_the_tenge_format_and_keeps_the_bad_row() -> None:
    path = SHARED_CEILINGS / "mnn_price.json"
    prices, rejects = load_reference_prices(path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert len(prices) + len(rejects) == len(raw) == 1126
    (bad,) = rejects  # the vaccine with two prices in one cell
    assert bad.field == "Предельная цена по МНН" and "not a price" in bad.reason
    assert bad.line > 1 and path.read_text(encoding="utf-8").splitlines()[bad.line - 1].strip() == "{"
    packaged = {(p.atc, p.inn, p.characteristic, p.unit_name): p.price_kzt for p in load_reference_prices()[0]}
    assert {(p.atc, p.inn, p.characteristic, p.unit_name): p.price_kzt for p in prices} == packaged


def test_reference_file_with_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "ceilings.csv"
    path.write_text("atc,inn,characteristic,unit,ceiling_price_kzt\n"
                    "N02BE01,Парацетамол,таблетка 500 мг,таблетка,\"13,60\"\n"
                    "N02BE01,Парацетамол,таблетка 200 мг,таблетка,дорого\n"
                    "N02BE01,,таблетка 200 мг,таблетка,5\n", encoding="utf-8")
    prices, rejects = load_reference_prices(path)
    assert [p.price_kzt for p in prices] == [13.6]
    assert [(r.line, r.field) for r in rejects] == [(3, "ceiling_price_kzt"), (4, "inn")]
    with pytest.raises(ValueError, match="line 2: no column for price"):
        (tmp_path / "x.csv").write_text("atc,inn,characteristic,unit\nA,B,C,D\n", encoding="utf-8")
        load_reference_prices(tmp_path / "x.csv")


def test_doses() -> None:
    assert doses("Парацетамол, таблетка 500 мг") == {(500.0, "мг")}
    assert doses("раствор 0,9% 250 мл") == {(0.9, "%"), (250.0, "мл")}


def test_matcher_prefers_the_right_dosage_and_code() -> None:
    prices, _ = load_reference_prices()
    m = MedicineMatcher(prices)
    hit = m.match("Парацетамол таблетки 500 мг")
    assert hit is not None and hit.ref.characteristic == "таблетка 500 мг" and hit.score >= 85
    assert m.match("Парацетамол таблетки 123 мг") is None  # a dosage the list does not have
    assert m.match("Бумага офисная А4") is None
    # Every medicine of the list is found from its own description, cut at 200 characters as publishers do.
    wrong = [p for p in prices if (r := m.match(f"{p.inn}, {p.characteristic}"[:200], p.atc)) is None or r.ref != p]
    assert wrong == []


def test_the_unit_table_is_documented() -> None:
    """docs/prices.md lists every spelling of units.csv with its base unit (regenerate the table when they drift)."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "prices.md").read_text(encoding="utf-8")
    text = resources.files("aiqyn.prices").joinpath("units.csv").read_text(encoding="utf-8")
    for row in csv.DictReader(text.splitlines()):
        line = next((ln for ln in doc.splitlines() if ln.startswith(f"| {row['unit']} |")), None)
        assert line is not None, f"base unit {row['unit']} is not in docs/prices.md"
        factor = "" if float(row["factor"]) == 1 else f" ×{row['factor']}"
        assert f"`{row['name']}`{factor}" in line, f"{row['name']} is not documented with its factor"


def test_a_medicine_without_dosage_is_ambiguous() -> None:
    m = MedicineMatcher(load_reference_prices()[0])
    hit = m.match("Парацетамол")
    assert hit is not None and hit.ambiguous and "таблетка 500 мг" in hit.alternatives
    assert not m.match("Парацетамол, таблетка 500 мг").ambiguous  # type: ignore[union-attr]


def test_goszakup_unit_codes() -> None:
    assert convert(3, 19_500_000.0, "MKEI 168") == (3000.0, 19_500.0, "кг")
    assert normalise("Штука").unit == normalise("MKEI 796").unit == "шт"
    assert normalise("MKEI 5114").known is False
