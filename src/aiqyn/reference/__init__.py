"""Reference data shipped with Aiqyn: KATO regions and districts, medicine ceiling prices."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class KatoUnit:
    kato: str
    level: str  # oblast or district
    urban: bool
    name_ru: str
    name_kk: str

    @property
    def region(self) -> str:
        """KATO code of the oblast (or city of republican significance) the unit belongs to."""
        return self.kato[:2] + "0000000"


@dataclass(frozen=True)
class Medicine:
    atc: str
    inn: str
    characteristic: str
    unit: str
    ceiling_price: float


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("aiqyn.reference").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def kato_units() -> tuple[KatoUnit, ...]:
    return tuple(
        KatoUnit(r["kato"], r["level"], r["type_code"] == "1", r["name_ru"], r["name_kk"])
        for r in _rows("kato_regions.csv")
    )


@cache
def medicines() -> tuple[Medicine, ...]:
    return tuple(
        Medicine(r["atc"], r["inn"], r["characteristic"], r["unit"], float(r["ceiling_price_kzt"]))
        for r in _rows("medicine_ceiling_prices.csv")
    )
