"""Input registers the flags use: the register of unreliable suppliers (goszakup's RNU), imported from CSV.

The CSV has a header row with the columns `bin` and `included_on` (required), `name`, `excluded_on` and `reason`
(optional; other columns are ignored and named in the result). Dates are ISO (2024-03-01) or as goszakup shows
them (01.03.2024). A BIN or IIN must be 12 digits with a valid check digit (aiqyn.ids). A bad row is reported
with its file, line and field and left out; the good rows are stored, replacing an earlier entry with the same
BIN and inclusion date. Nothing else in the register is touched.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from aiqyn.conflicts.registers import parse_date
from aiqyn.ids import is_valid

REQUIRED = ("bin", "included_on")
OPTIONAL = ("name", "excluded_on", "reason")


class RegisterError(ValueError):
    """A register file that cannot be read at all (missing, not UTF-8, no header, a required column missing)."""


@dataclass
class ImportResult:
    path: str
    imported: int = 0
    errors: list[str] = field(default_factory=list)  # "FILE:LINE: field: message"
    ignored_columns: list[str] = field(default_factory=list)


_date = parse_date  # the registers' one date format rule (YYYY-MM-DD or DD.MM.YYYY)


def import_unreliable(con: duckdb.DuckDBPyConnection, path: Path) -> ImportResult:
    """Import the register of unreliable suppliers from a CSV file into `unreliable_suppliers`."""
    from aiqyn.indicators.runner import ensure_tables

    if not path.exists() or path.is_dir():
        raise RegisterError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise RegisterError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise RegisterError(f"{path}: empty file; expected a header row with {', '.join(REQUIRED)}") from None
    except csv.Error as e:
        raise RegisterError(f"{path}:1: unreadable header: {e}") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise RegisterError(f"{path}:1: missing column(s) {', '.join(missing)}; the header is {', '.join(header)}")
    result = ImportResult(str(path), ignored_columns=[h for h in header if h not in REQUIRED + OPTIONAL])
    index = {name: header.index(name) for name in REQUIRED + OPTIONAL if name in header}
    good: dict[tuple[str, dt.date], list[object]] = {}
    first_line: dict[tuple[str, dt.date], int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                result.errors.append(f"{path}:{line}: expected {len(header)} fields, found {len(row)}")
                continue
            values = {name: row[i].strip() for name, i in index.items()}
            number = values["bin"]
            if not (len(number) == 12 and number.isdigit()):
                result.errors.append(f"{path}:{line}: bin: {number!r} is not 12 digits")
                continue
            if not is_valid(number):
                result.errors.append(f"{path}:{line}: bin: {number} has a wrong check digit")
                continue
            try:
                included = _date(values["included_on"])
            except ValueError as e:
                result.errors.append(f"{path}:{line}: included_on: {e}")
                continue
            excluded = None
            if values.get("excluded_on"):
                try:
                    excluded = _date(values["excluded_on"])
                except ValueError as e:
                    result.errors.append(f"{path}:{line}: excluded_on: {e}")
                    continue
                if excluded < included:
                    result.errors.append(f"{path}:{line}: excluded_on: {excluded} is before included_on {included}")
                    continue
            key = (number, included)
            if key in good:
                result.errors.append(f"{path}:{line}: bin: {number} included on {included} already at line "
                                     f"{first_line[key]}; this row is left out")
                continue
            first_line[key] = line
            good[key] = [number, values.get("name") or None, included, excluded, values.get("reason") or None,
                         str(path), line]
    except csv.Error as e:
        result.errors.append(f"{path}:{reader.line_num}: unreadable CSV: {e}; the rest of the file is left out")
    ensure_tables(con)
    con.execute("BEGIN TRANSACTION")
    try:
        if good:
            con.executemany("DELETE FROM unreliable_suppliers WHERE bin = ? AND included_on = ?",
                            [[b, d] for b, d in good])
            con.executemany("INSERT INTO unreliable_suppliers VALUES (?, ?, ?, ?, ?, ?, ?)", list(good.values()))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    result.imported = len(good)
    return result
