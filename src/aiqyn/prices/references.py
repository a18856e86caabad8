"""Reference prices: the Ministry of Health's ceiling prices of medicines, read and matched to purchases.

The ceiling price (предельная цена по МНН) is the legal maximum for a medicine, identified by its
international nonproprietary name (INN, МНН), its form and dosage (характеристика) and its unit. The
official tables write prices the Kazakh way, "2 993,88" (space thousands separator, decimal comma);
`parse_tenge` reads that and rejects anything ambiguous with a reason.

Matching a purchased item to a medicine: when the item is classified by ATC code, the candidates are the
medicines with that code, else every medicine. Each candidate is scored with rapidfuzz's token-set ratio
between the item's description and the medicine's "INN, characteristic"; a candidate whose dosages
(500 мг, 5 мл, 0,9%) contradict the item's is dropped. The best score at or above the threshold is the
match, and the score is kept beside it so that a reviewer sees how sure the match is.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rapidfuzz import fuzz, process

from aiqyn.prices.units import Unit, normalise

PACKAGED_CEILINGS = "aiqyn.reference/medicine_ceiling_prices.csv"

# Column headers of the official table (as transcribed in mnn_price.json) and of Aiqyn's CSV.
_HEADERS = {
    "atc": ("АТХ Код", "atc"),
    "inn": ("Наименование лекарственного средства (Международное Непатентованное Наименование или состав)", "inn"),
    "characteristic": ("Характеристика", "characteristic"),
    "unit": ("unit",),  # the official header is long; matched by its prefix below
    "price": ("Предельная цена по МНН", "ceiling_price_kzt", "price_kzt"),
}
_UNIT_PREFIX = "Единица измерения"


class PriceFormatError(ValueError):
    """A price that is not a number in tenge."""


_CURRENCY = re.compile(r"\s*(тг\.?|тенге|₸|kzt)\s*$", re.IGNORECASE)
_SPACES = re.compile(r"[\s\u00a0\u202f']")


def parse_tenge(text: str | float | int | None) -> float:
    """A price in tenge as written in Kazakh tables: "2 993,88" -> 2993.88.

    Accepts a space (also no-break) as thousands separator, a decimal comma or point, an optional
    "тг", "тенге", "₸" or "KZT"; both separators ("2.993,88", "2,993.88") when the last is the decimal
    one. Rejects empty text, several numbers in one cell, letters, and negative prices.
    """
    if isinstance(text, bool):
        raise PriceFormatError(f"{text!r} is not a price")
    if isinstance(text, int | float):
        value = float(text)
    else:
        if text is None or not str(text).strip():
            raise PriceFormatError("the price is empty")
        raw = str(text)
        s = _SPACES.sub("", _CURRENCY.sub("", raw.strip()))
        if "," in s and "." in s:
            decimal = "," if s.rfind(",") > s.rfind(".") else "."
            thousands = "." if decimal == "," else ","
            s = s.replace(thousands, "")
        s = s.replace(",", ".")
        if not re.fullmatch(r"\d+(\.\d+)?", s):
            raise PriceFormatError(f"{raw!r} is not a price in tenge (expected e.g. \"2 993,88\")")
        value = float(s)
    if value != value or value < 0:
        raise PriceFormatError(f"{text!r} is not a positive price")
    return value


@dataclass(frozen=True)
class ReferencePrice:
    """One row of a reference price list: a medicine and its ceiling price per unit."""

    ref_id: str
    source_file: str
    line: int
    atc: str
    inn: str
    characteristic: str
    unit_name: str
    price_kzt: float

    @property
    def unit(self) -> Unit:
        return normalise(self.unit_name)

    def units(self) -> list[Unit]:
        """The units a price applies to: "таблетка/ капсула" is either."""
        parts = [p.strip() for p in self.unit_name.split("/") if p.strip()] or [self.unit_name]
        return [normalise(p) for p in parts]

    @property
    def label(self) -> str:
        return f"{self.inn}, {self.characteristic}"


@dataclass(frozen=True)
class Reject:
    source_file: str
    line: int
    field: str
    reason: str
    raw: str


def _column(row: dict[str, str], key: str) -> str | None:
    for name in _HEADERS[key]:
        if name in row:
            return name
    if key == "unit":
        return next((k for k in row if k.startswith(_UNIT_PREFIX)), None)
    return None


def _rows(path: Path | None) -> tuple[str, Iterator[tuple[int, dict[str, str]]]]:
    """(file name, (line, row) pairs) of a JSON array (one object per line, as in mnn_price.json) or CSV."""
    if path is None:
        pkg, name = PACKAGED_CEILINGS.split("/")
        text = resources.files(pkg).joinpath(name).read_text(encoding="utf-8")
        label, suffix = f"{pkg}/{name}", ".csv"
    else:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not UTF-8 text ({exc})") from exc
        label, suffix = str(path), path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{label} line {exc.lineno}: not valid JSON ({exc.msg})") from exc
        if not isinstance(data, list):
            raise ValueError(f"{label}: expected a JSON array of price rows")
        lines = _object_lines(text, len(data))
        return label, ((lines[i], row) for i, row in enumerate(data))
    reader = csv.DictReader(io.StringIO(text))
    return label, ((reader.line_num, row) for row in reader)


def _object_lines(text: str, n: int) -> list[int]:
    """The line on which each top-level object of a JSON array starts (for messages)."""
    lines, depth, line, in_str, esc = [], 0, 1, False, False
    for ch in text:
        if ch == "\n":
            line += 1
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if ch == "{" and depth == 2:
                lines.append(line)
        elif ch in "]}":
            depth -= 1
    return lines + [0] * (n - len(lines))


def load_reference_prices(path: Path | None = None) -> tuple[list[ReferencePrice], list[Reject]]:
    """Read a ceiling-price list: the official JSON transcription (`mnn_price.json`, Russian headers) or a
    CSV (Aiqyn's `medicine_ceiling_prices.csv` columns); None reads the copy shipped with Aiqyn.
    Rows that cannot be used are returned as rejects naming the line, the field and the reason."""
    label, rows = _rows(path)
    prices: list[ReferencePrice] = []
    rejects: list[Reject] = []
    columns: dict[str, str | None] | None = None
    for line, row in rows:
        if not isinstance(row, dict):
            rejects.append(Reject(label, line, "", "not an object", json.dumps(row, ensure_ascii=False)))
            continue
        if columns is None:
            columns = {k: _column(row, k) for k in _HEADERS}
            missing = [k for k, v in columns.items() if v is None]
            if missing:
                raise ValueError(f"{label} line {line}: no column for {', '.join(missing)} "
                                 f"(columns: {', '.join(row)})")
        raw = json.dumps(row, ensure_ascii=False)
        values = {k: str(row.get(c) or "").strip() for k, c in columns.items() if c is not None}
        blank = next((k for k in ("inn", "unit", "price") if not values[k]), None)
        if blank is not None:
            rejects.append(Reject(label, line, str(columns[blank]), f"{blank} is empty", raw))
            continue
        try:
            price = parse_tenge(values["price"])
        except PriceFormatError as exc:
            rejects.append(Reject(label, line, str(columns["price"]), str(exc), raw))
            continue
        if price <= 0:
            rejects.append(Reject(label, line, str(columns["price"]), "the ceiling price is zero", raw))
            continue
        prices.append(ReferencePrice(f"{Path(label).name}:{line}", label, line, values["atc"], values["inn"],
                                     values["characteristic"], values["unit"], price))
    return prices, rejects


# -- matching ---------------------------------------------------------------------------------------------
_DOSE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(мг|мкг|г|мл|л|ме|ед|%)(?![а-яa-z])", re.IGNORECASE)
_NOISE = re.compile(r"[*«»\"(),;:]+")


def _text(s: str) -> str:
    return " ".join(_NOISE.sub(" ", s.lower().replace("ё", "е")).split())


def doses(s: str) -> frozenset[tuple[float, str]]:
    """The dosages written in a text: {(500.0, 'мг'), (5.0, 'мл')}."""
    return frozenset((float(n.replace(",", ".")), u.lower()) for n, u in _DOSE.findall(s))


@dataclass(frozen=True)
class Match:
    ref: ReferencePrice
    score: float  # 0-100
    # The description names no dosage and the list has this medicine in several: the match is a guess, and
    # no ceiling is applied (its dosages are in `alternatives`).
    ambiguous: bool = False
    alternatives: tuple[str, ...] = ()


class MedicineMatcher:
    """Finds the ceiling price of a purchased item by ATC code, INN, form and dosage."""

    def __init__(self, prices: Iterable[ReferencePrice], min_score: float = 85.0):
        self.prices = list(prices)
        self.min_score = min_score
        self._texts = [_text(p.label) for p in self.prices]
        self._doses = [doses(p.label) for p in self.prices]
        self._by_atc: dict[str, list[int]] = {}
        for i, p in enumerate(self.prices):
            if p.atc:
                self._by_atc.setdefault(p.atc.upper(), []).append(i)

    def match(self, description: str | None, atc: str | None = None) -> Match | None:
        if not description or not description.strip():
            return None
        text = _text(description)
        item_doses = doses(description)
        candidates = self._by_atc.get(atc.upper(), []) if atc else []
        if not candidates:
            candidates = list(range(len(self.prices)))
        choices = {i: self._texts[i] for i in candidates}
        found: list[tuple[float, int]] = []
        for _, score, i in process.extract(text, choices, scorer=fuzz.token_set_ratio, limit=20,
                                           score_cutoff=self.min_score):
            if item_doses and self._doses[i] and not (item_doses & self._doses[i]):
                continue  # another dosage of the same medicine
            found.append((float(score), i))
        if not found:
            return None
        # A description contained in a longer one scores ~100 on both: among the near-best, the closer
        # text wins, first as a prefix (descriptions are often cut short), then whole.
        top = max(score for score, _ in found)
        near = [c for c in found if c[0] >= top - 5]
        score, i = max(
            near,
            key=lambda c: (fuzz.ratio(text, self._texts[c[1]][: len(text)]), fuzz.ratio(text, self._texts[c[1]]),
                           c[0], -c[1]),
        )
        dosed = {self._doses[j] for _, j in near if self._doses[j]}
        if not item_doses and len(dosed) > 1:
            others = tuple(sorted({self.prices[j].characteristic for _, j in near}))
            return Match(self.prices[i], round(score, 1), ambiguous=True, alternatives=others)
        return Match(self.prices[i], round(score, 1))
