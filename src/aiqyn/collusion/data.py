"""Reading bid tables: the labelled cartel data sets and any user's CSV of bids.

A bid table has one row per bid. Columns (names as in the labelled data of García Rodríguez et al. 2022):

- `Tender`     (required) the tender id; bids of one tender are screened together.
- `Bid_value`  (required) the amount of the bid, a positive number.
- `Lot`        (optional) the lot; screens are then computed per tender and lot.
- `Winner`     (optional) 1 for the winning bid, 0 otherwise.
- `Competitors` (optional) the bidder's id, for the pair and group features.
- `Category`   (optional) the kind of works (goods, services) of the tender, any text; empty when unknown.
  A categorical feature of the `full` models (`model.CATEGORY`).
- `Estimate`   (optional) the buyer's pre-tender estimate of the contract's value, a positive number in the
  currency of the bids; empty when unknown. Gives the bids-to-estimate features (`model.ESTIMATE_FEATURES`).
- `Collusive_competitor` (required for training) 1 when the tender was rigged, 0 when competitive; the
  label is a property of the tender, so it must be the same on every bid of it. So must `Category` and
  `Estimate` (of the tender, or of the lot when the table has lots).

The labelled files of García Rodríguez et al. name two of these columns differently; when the table has
no column of the canonical name, it is read from the published one (`ALIASES`):

- `Category` <- `Contract_type` (Switzerland GR and See-Gaster): the published codes 1.0, 2.0, 3.0 become
  the categories '1', '2', '3' (a number with no fraction is written as an integer); the file does not say
  which kind of works each code is.
- `Estimate` <- `Pre-Tender Estimate (PTE)` (Brazil, and the Japanese and Italian sets): the estimate in
  the currency of the bids, taken as it is.

Bad input raises `BidTableError` with the file, the line (1 is the header) and the column.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REQUIRED = ("Tender", "Bid_value")
LABEL = "Collusive_competitor"
#: Optional tender-level columns and the name the labelled files of García Rodríguez et al. give them.
ALIASES: dict[str, str] = {"Category": "Contract_type", "Estimate": "Pre-Tender Estimate (PTE)"}
MAX_ERRORS = 5


class BidTableError(ValueError):
    """A bid table that cannot be read; the message names the file, line and column."""


@dataclass(frozen=True)
class BidTable:
    """Bids in canonical columns: dataset, tender, lot, amount, winner (NaN when unknown), bidder ('' when
    unknown), label (NaN when unlabelled), category ('' when unknown), estimate (NaN when unknown)."""

    path: Path
    name: str
    bids: pd.DataFrame
    sha256: str

    @property
    def labelled(self) -> bool:
        return bool(self.bids["label"].notna().all())


def dataset_name(path: Path) -> str:
    """`DB_Collusion_Switzerland_Ticino_processed.csv` -> `Switzerland_Ticino`; other files: their stem."""
    m = re.fullmatch(r"DB_Collusion_(.+?)(_processed)?", path.stem)
    return m.group(1) if m else path.stem


def _line(index: int) -> int:
    return int(index) + 2  # 1-based, the header is line 1


def _bad(path: Path, column: str, rows: pd.Series, values: pd.Series, reason: str) -> BidTableError:
    idx = list(rows[rows].index[:MAX_ERRORS])
    where = "; ".join(f"line {_line(i)}: {values.loc[i]!r}" for i in idx)
    more = int(rows.sum()) - len(idx)
    tail = f" (and {more} more)" if more > 0 else ""
    return BidTableError(f"{path}: column {column!r}: {reason}: {where}{tail}")


def _flag(path: Path, column: str, raw: pd.Series, allowed: set[float]) -> pd.Series:
    num = pd.to_numeric(raw.str.strip(), errors="coerce")
    bad = num.isna() | ~num.isin(list(allowed))
    if bad.any():
        raise _bad(path, column, bad, raw, f"expected {' or '.join(str(int(a)) for a in sorted(allowed))}")
    return num.astype("float64")


def _optional(raw: pd.DataFrame, column: str) -> tuple[str, pd.Series] | None:
    """The column `column`, or its published alias (`ALIASES`) when the table has no `column`; None when
    neither is there. Returns the name read (for messages) and the stripped text."""
    for name in (column, ALIASES[column]):
        if name in raw.columns:
            return name, raw[name].str.strip()
    return None


def _category(raw: pd.DataFrame) -> pd.Series:
    found = _optional(raw, "Category")
    if found is None:
        return pd.Series("", index=raw.index)
    name, text = found
    if name == ALIASES["Category"]:  # published codes 1.0, 2.0, 3.0 -> '1', '2', '3'
        num = pd.to_numeric(text, errors="coerce")
        whole = num.notna() & np.isfinite(num) & (num == np.floor(num))
        text = text.where(~whole, num.where(whole).astype("Int64").astype(str))
    return text


def _estimate(path: Path, raw: pd.DataFrame) -> pd.Series:
    found = _optional(raw, "Estimate")
    if found is None:
        return pd.Series(np.nan, index=raw.index)
    name, text = found
    num = pd.to_numeric(text, errors="coerce")
    bad = (text != "") & (num.isna() | ~np.isfinite(num))
    if bad.any():
        raise _bad(path, name, bad, raw[name], "not a number (leave the cell empty when unknown)")
    if (num <= 0).any():
        raise _bad(path, name, num <= 0, raw[name], "an estimate must be positive")
    return num.astype("float64")


def _one_per_tender(path: Path, bids: pd.DataFrame, column: str, shown: str, what: str) -> None:
    """`column` must hold one value per tender and lot (missing counts as a value): it belongs to the tender."""
    per = bids.groupby(["tender", "lot"])[column].transform("nunique", dropna=False)
    if (per > 1).any():
        first = bids[per > 1].iloc[0]
        rows = bids.index[(bids["tender"] == first["tender"]) & (bids["lot"] == first["lot"]) & (per > 1)]
        lines = [_line(i) for i in rows[:MAX_ERRORS]]
        raise BidTableError(f"{path}: column {shown!r}: tender {first['tender']!r} has more than one {what} "
                            f"(lines {', '.join(map(str, lines))}); the {what} belongs to the tender")


def read_bids(path: Path, require_label: bool = False) -> BidTable:
    """Read and check one bid table (CSV, UTF-8, comma-separated)."""
    path = Path(path)
    if not path.is_file():
        raise BidTableError(f"{path}: no such file")
    data = path.read_bytes()
    if not data.strip():
        raise BidTableError(f"{path}: the file is empty")
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise BidTableError(f"{path}: line {line}: not valid UTF-8 ({e.reason})") from None
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.ParserError as e:
        raise BidTableError(f"{path}: not a readable CSV: {e}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in (*REQUIRED, *((LABEL,) if require_label else ())) if c not in raw.columns]
    if missing:
        raise BidTableError(f"{path}: line 1: missing column(s) {', '.join(missing)}; "
                            f"the header has {', '.join(raw.columns)}")
    if raw.empty:
        raise BidTableError(f"{path}: no bids after the header")

    tender = raw["Tender"].str.strip()
    if (tender == "").any():
        raise _bad(path, "Tender", tender == "", raw["Tender"], "empty tender id")
    amount = pd.to_numeric(raw["Bid_value"].str.strip(), errors="coerce")
    bad = amount.isna() | ~np.isfinite(amount)
    if bad.any():
        raise _bad(path, "Bid_value", bad, raw["Bid_value"], "not a number")
    if (amount <= 0).any():
        raise _bad(path, "Bid_value", amount <= 0, raw["Bid_value"], "a bid must be positive")

    bids = pd.DataFrame({
        "dataset": dataset_name(path),
        "tender": tender,
        "lot": raw["Lot"].str.strip() if "Lot" in raw.columns else "",
        "amount": amount.astype("float64"),
        "winner": _flag(path, "Winner", raw["Winner"], {0.0, 1.0}) if "Winner" in raw.columns else np.nan,
        "bidder": raw["Competitors"].str.strip() if "Competitors" in raw.columns else "",
        "label": _flag(path, LABEL, raw[LABEL], {0.0, 1.0}) if LABEL in raw.columns else np.nan,
        "category": _category(raw),
        "estimate": _estimate(path, raw),
    })
    for column, canonical, what in (("category", "Category", "category"), ("estimate", "Estimate", "estimate")):
        found = _optional(raw, canonical)
        if found is not None:
            _one_per_tender(path, bids, column, found[0], what)
    if LABEL in raw.columns:
        per = bids.groupby(["tender", "lot"])["label"].transform("nunique")
        if (per > 1).any():
            first = bids[per > 1].iloc[0]
            lines = [_line(i) for i in bids.index[(bids["tender"] == first["tender"]) & (per > 1)][:MAX_ERRORS]]
            raise BidTableError(f"{path}: column {LABEL!r}: tender {first['tender']!r} has both 0 and 1 "
                                f"(lines {', '.join(map(str, lines))}); the label belongs to the tender")
    return BidTable(path=path, name=dataset_name(path), bids=bids, sha256=hashlib.sha256(data).hexdigest())


def read_many(paths: list[Path], require_label: bool = False) -> list[BidTable]:
    """Read several tables; dataset names must be distinct (they are the groups of cross-country tests)."""
    tables = [read_bids(p, require_label=require_label) for p in paths]
    names = [t.name for t in tables]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise BidTableError(f"two files share the dataset name {', '.join(dup)}; rename one of them")
    return tables
