"""Units of measure: names as published (ru, kk, abbreviations) mapped to a base unit and a factor.

The table is data (`units.csv`): one row per spelling, with the base unit and how many base units one
published unit holds (1 т = 1000 кг, 1 мл = 0.001 л). A price per published unit divided by the factor is
the price per base unit; a quantity times the factor is the quantity in base units. A unit not in the
table is kept as its own unit (so its items still compare with each other) and is counted and reported.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Unit:
    """A published unit name resolved to its base unit."""

    name: str  # as published
    unit: str  # base unit
    factor: float  # base units in one published unit
    known: bool  # False: not in the table, kept as its own unit


_SPACES_DOTS = re.compile(r"[\s.]+")


def unit_key(name: str) -> str:
    """The spelling-insensitive key of a unit name: lower case, ё as е, without spaces and dots."""
    return _SPACES_DOTS.sub("", name.strip().lower().replace("ё", "е"))


@cache
def unit_table() -> dict[str, Unit]:
    """The packaged table, by key; a spelling given twice with different meanings is an error."""
    text = resources.files("aiqyn.prices").joinpath("units.csv").read_text(encoding="utf-8")
    table: dict[str, Unit] = {}
    for line, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            factor = float(row["factor"])
        except ValueError as exc:
            raise ValueError(f"units.csv line {line}: factor {row['factor']!r} is not a number") from exc
        if factor <= 0 or not row["name"].strip() or not row["unit"].strip():
            raise ValueError(f"units.csv line {line}: a name, a unit and a positive factor are required")
        key = unit_key(row["name"])
        unit = Unit(row["name"], row["unit"], factor, True)
        seen = table.get(key)
        if seen is not None and (seen.unit, seen.factor) != (unit.unit, unit.factor):
            raise ValueError(f"units.csv line {line}: {row['name']!r} already maps to {seen.unit} x {seen.factor}")
        table[key] = unit
    return table


def normalise(name: str | None) -> Unit:
    """The base unit of a published unit name; unknown names are kept as their own unit (factor 1)."""
    if name is None or not name.strip():
        return Unit(name or "", "", 1.0, False)
    found = unit_table().get(unit_key(name))
    if found is not None:
        return Unit(name, found.unit, found.factor, True)
    return Unit(name, " ".join(name.split()).lower(), 1.0, False)


def convert(quantity: float, unit_price: float, name: str | None) -> tuple[float, float, str]:
    """(quantity in base units, price per base unit, base unit) of an item priced per `name`."""
    u = normalise(name)
    return quantity * u.factor, unit_price / u.factor, u.unit
