"""Reading bid tables: the labelled cartel data sets and any user's CSV of bids.

A bid table has one row per bid. Columns (names as in the labelled data of García Rodríguez et al. 2022):

- `Tender`     (required) the tender id; bids of one tender are screened together.
- `Bid_value`  (required) the amount of the bid, a positive number.
- `Lot`        (optional) the lot; screens are then computed per tender and lot.
- `Winner`     (optional) 1 for the winning bid, 0 otherwise.
- `Competitors` (optional) the bidder's id, for the pair and group features.
- `Collusive_competitor` (required for training) 1 when the tender was rigged, 0 when competitive; the
  label is a property of the tender, so it must be the same on every bid of it.

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
MAX_ERRORS = 5


class BidTableError(ValueError):
    """A bid table that cannot be read; the message names the file, line and column."""


@dataclass(frozen=True)
class BidTable:
    """Bids in canonical columns: dataset, tender, lot, amount, winner (NaN when unknown), bidder ('' when
    unknown), label (NaN when unlabelled)."""

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
    })
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
