"""Registers of officials, their declared relatives, companies (with founders and directors) and meetings,
imported with validation from CSV or JSON into the store's `registers:` tables (schema.yaml).

The formats are documented in docs/conflicts.md. In short: CSV with a header row (UTF-8; lists inside a cell are
separated by `;`), JSON lines (one object per line, `.jsonl`/`.ndjson`) or a JSON array of objects (`.json`;
lists as arrays). Column names are the ones in `FORMATS`. Dates are ISO (2024-03-01) or as Kazakh registers show
them (01.03.2024); date-times are ISO or `DD.MM.YYYY HH:MM`, in local time (Astana).

A bad row (a wrong IIN/BIN check digit, a date that is not one, a missing key, an unknown value of an enumerated
field) is reported with its file, line and field, stored in `register_rejects` with its raw text and left out; the
good rows are stored, replacing the earlier rows with the same key. The register of unreliable suppliers has its
own importer (`aiqyn.indicators.registers`, `aiqyn registers import unreliable`), which this module reuses as is.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from aiqyn.ids import is_valid
from aiqyn.store.schema import SCHEMA

KINDS = ("officials", "relatives", "companies", "meetings")
SERVANT_KINDS = ("political", "administrative")
RELATIONS = ("spouse", "parent", "child", "sibling", "parent_in_law", "child_in_law", "sibling_in_law", "other")
COMPANY_STATUSES = ("active", "liquidated", "suspended", "reorganised")


class RegisterFileError(ValueError):
    """A register file that cannot be read at all: missing, not UTF-8, not JSON, no header, a key column missing."""


class FieldError(ValueError):
    def __init__(self, field_name: str, reason: str):
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass
class Reject:
    file: str
    line: int
    field: str
    reason: str
    raw: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"


@dataclass
class ImportResult:
    kind: str
    path: str
    imported: int = 0
    rejects: list[Reject] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


# -- value parsers: each takes the cell's text (or JSON value) and returns the stored value or raises ValueError --
def parse_date(text: str) -> dt.date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (expected YYYY-MM-DD or DD.MM.YYYY)")


def parse_datetime(text: str) -> dt.datetime:
    """A local date-time (Astana). An explicit UTC offset is converted to Kazakhstan's time of that day (UTC+6
    until 1 March 2024, UTC+5 from then)."""
    text = text.strip()
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        for fmt in ("%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S"):
            try:
                value = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"{text!r} is not a date and time (expected YYYY-MM-DD HH:MM or DD.MM.YYYY HH:MM)")
    if value.tzinfo is not None:
        utc = value.astimezone(dt.UTC).replace(tzinfo=None)
        offset = 6 if utc < dt.datetime(2024, 2, 29, 18) else 5
        value = utc + dt.timedelta(hours=offset)
    return value


def parse_id(text: str, what: str = "IIN") -> str:
    text = text.strip()
    if not (len(text) == 12 and text.isdigit()):
        raise ValueError(f"{text!r} is not a 12-digit {what}")
    if not is_valid(text):
        raise ValueError(f"{text} has a wrong check digit")
    return text


def parse_bool(text: str) -> bool:
    t = text.strip().lower()
    if t in ("true", "yes", "1", "y", "да", "иә", "ия"):
        return True
    if t in ("false", "no", "0", "n", "нет", "жоқ"):
        return False
    raise ValueError(f"{text!r} is not yes/no (expected true/false, yes/no, 1/0, да/нет)")


def _enum(values: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        t = text.strip().lower()
        if t not in values:
            raise ValueError(f"{text!r} is not one of {', '.join(values)}")
        return t
    return parse


def _text(text: str) -> str:
    return " ".join(text.split())


def birth_date_of_iin(iin: str) -> dt.date | None:
    """The date of birth an IIN encodes (its first six digits and the century digit), None when it is not a date."""
    century = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}.get(iin[6])
    if century is None:
        return None
    try:
        return dt.date(century + int(iin[:2]), int(iin[2:4]), int(iin[4:6]))
    except ValueError:
        return None


@dataclass(frozen=True)
class PersonRef:
    """A founder or director as a register names them: by IIN, or by name with an optional date of birth."""
    iin: str | None
    name: str | None
    birth_date: dt.date | None


def parse_person(value: Any) -> PersonRef:
    """`920315300123`, `Ахметов Нурлан Серикович` or `Ахметов Нурлан, 1992-03-15` (text), or a JSON object with
    iin / name / birth_date."""
    if isinstance(value, dict):
        iin = parse_id(str(value["iin"])) if value.get("iin") else None
        name = _text(str(value["name"])) if value.get("name") else None
        born = parse_date(str(value["birth_date"])) if value.get("birth_date") else None
        if not iin and not name:
            raise ValueError(f"{value!r}: a person needs an iin or a name")
        return PersonRef(iin, name, born)
    text = _text(str(value))
    if re.fullmatch(r"\d+", text):
        return PersonRef(parse_id(text), None, None)
    written, _, born_text = text.partition(",")
    if not written.strip():
        raise ValueError(f"{text!r}: a person needs an IIN or a name")
    return PersonRef(None, written.strip(), parse_date(born_text) if born_text.strip() else None)


def relative_person_id(official_iin: str, relative_iin: str | None, name: str | None,
                       birth_date: dt.date | None) -> str:
    """The id of a declared relative: their IIN when declared, else a stable id made of the official's IIN and
    the relative's name (lower case, spaces collapsed) and date of birth (the generator uses the same function for
    its truth)."""
    if relative_iin:
        return relative_iin
    written = " ".join((name or "").lower().split())  # not the folded key: ids must not move when folding improves
    digest = hashlib.sha1(f"{official_iin}|{written}|{birth_date or ''}".encode()).hexdigest()[:10]
    return f"REL-{official_iin}-{digest}"


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], Any] | None = None  # None: text
    required: bool = False
    is_list: bool = False


FORMATS: dict[str, tuple[Column, ...]] = {
    "officials": (
        Column("iin", parse_id, required=True),
        Column("full_name", required=True),
        Column("position"),
        Column("organisation_bin", lambda t: parse_id(t, "BIN"), required=True),
        Column("servant_kind", _enum(SERVANT_KINDS), required=True),
        Column("in_office_from", parse_date, required=True),
        Column("in_office_to", parse_date),
        Column("office"),
        Column("address"),
        Column("commissions", is_list=True),
    ),
    "relatives": (
        Column("official_iin", parse_id, required=True),
        Column("relative_iin", parse_id),
        Column("relative_name"),
        Column("relation", _enum(RELATIONS), required=True),
        Column("birth_date", parse_date),
        Column("address"),
    ),
    "companies": (
        Column("bin", lambda t: parse_id(t, "BIN"), required=True),
        Column("name_kk"),
        Column("name_ru"),
        Column("name_latin"),
        Column("registered_on", parse_date),
        Column("address"),
        Column("phone"),
        Column("status", _enum(COMPANY_STATUSES)),
        Column("founders", parse_person, is_list=True),
        Column("directors", parse_person, is_list=True),
    ),
    "meetings": (
        Column("meeting_id", required=True),
        Column("official_iin", parse_id, required=True),
        Column("company_bin", lambda t: parse_id(t, "BIN")),
        Column("company_name"),
        Column("starts_at", parse_datetime, required=True),
        Column("ends_at", parse_datetime),
        Column("place", required=True),
        Column("recorded", parse_bool, required=True),
        Column("recording_ref"),
        Column("commission_members", parse_id, is_list=True),
        Column("subject"),
    ),
}


# -- reading the file ------------------------------------------------------------------------------------------
def _records(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any], str]]]:
    """(the columns present, an iterator of (line, record, raw text))."""
    if not path.exists() or path.is_dir():
        raise RegisterFileError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise RegisterFileError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        rows: list[tuple[int, dict[str, Any], str]] = []
        keys: dict[str, None] = {}
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                rows.append((n, {"__error__": f"not JSON: {e.msg}"}, line))
                continue
            if not isinstance(obj, dict):
                rows.append((n, {"__error__": "not a JSON object"}, line))
                continue
            keys.update(dict.fromkeys(obj))
            rows.append((n, obj, line))
        return list(keys), iter(rows)
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise RegisterFileError(f"{path}:{e.lineno}: not JSON: {e.msg}") from None
        if not isinstance(data, list):
            raise RegisterFileError(f"{path}: expected a JSON array of objects")
        keys = {}
        out = []
        # A JSON array has no lines per item: the item's 1-based position stands for its line.
        for n, obj in enumerate(data, start=1):
            raw = json.dumps(obj, ensure_ascii=False)
            if not isinstance(obj, dict):
                out.append((n, {"__error__": "not a JSON object"}, raw))
                continue
            keys.update(dict.fromkeys(obj))
            out.append((n, obj, raw))
        return list(keys), iter(out)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise RegisterFileError(f"{path}: empty file; expected a header row") from None
    except csv.Error as e:
        raise RegisterFileError(f"{path}:1: unreadable header: {e}") from None
    lines = text.splitlines()

    def rows_of_csv() -> Iterator[tuple[int, dict[str, Any], str]]:
        try:
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                raw = lines[line - 1] if line - 1 < len(lines) else ",".join(row)
                if len(row) != len(header):
                    yield line, {"__error__": f"expected {len(header)} fields, found {len(row)}"}, raw
                    continue
                yield line, {h: v for h, v in zip(header, row, strict=True) if v.strip()}, raw
        except csv.Error as e:
            yield reader.line_num, {"__error__": f"unreadable CSV: {e}; the rest of the file is left out"}, ""

    return header, rows_of_csv()


def _split(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [v for v in value if v not in (None, "")]
    return [part.strip() for part in str(value).split(";") if part.strip()]


def parse_record(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """The typed values of one record of a register; raises FieldError naming the first bad field."""
    if "__error__" in record:
        raise FieldError("row", record["__error__"])
    out: dict[str, Any] = {}
    for col in FORMATS[kind]:
        value = record.get(col.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if col.required:
                raise FieldError(col.name, "missing (required)")
            out[col.name] = [] if col.is_list else None
            continue
        try:
            if col.is_list:
                out[col.name] = [col.parse(v) if col.parse else _text(str(v)) for v in _split(value)]
            elif isinstance(value, bool) and col.parse is parse_bool:
                out[col.name] = value
            else:
                out[col.name] = col.parse(str(value)) if col.parse else _text(str(value))
        except (ValueError, KeyError, TypeError) as e:
            raise FieldError(col.name, str(e)) from None
    _check(kind, out)
    return out


def _check(kind: str, v: dict[str, Any]) -> None:
    """Rules across fields."""
    if kind == "officials":
        if v["in_office_to"] and v["in_office_to"] < v["in_office_from"]:
            raise FieldError("in_office_to", f"{v['in_office_to']} is before in_office_from {v['in_office_from']}")
    elif kind == "relatives":
        if not v["relative_iin"] and not v["relative_name"]:
            raise FieldError("relative_name", "missing: a relative needs relative_iin or relative_name")
        if v["relative_iin"] == v["official_iin"]:
            raise FieldError("relative_iin", "the official's own IIN")
    elif kind == "companies":
        if not (v["name_kk"] or v["name_ru"] or v["name_latin"]):
            raise FieldError("name_ru", "missing: a company needs name_kk, name_ru or name_latin")
    elif kind == "meetings":
        if not v["company_bin"] and not v["company_name"]:
            raise FieldError("company_bin", "missing: a meeting needs company_bin or company_name")
        if v["ends_at"] and v["ends_at"] < v["starts_at"]:
            raise FieldError("ends_at", f"{v['ends_at']} is before starts_at {v['starts_at']}")


# -- storing ----------------------------------------------------------------------------------------------------
def ensure_register_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the `registers:` tables of schema.yaml when missing (nothing is written when they all exist, so a
    read-only store can be read)."""
    present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    for table in SCHEMA.registers.values():
        if table.name not in present:
            con.execute(table.ddl())


def _rows(kind: str, v: dict[str, Any], file: str, line: int) -> dict[str, list[list[Any]]]:
    if kind == "officials":
        born = birth_date_of_iin(v["iin"])
        return {"officials": [[v["iin"], v["full_name"], v["position"], v["organisation_bin"], v["servant_kind"],
                               v["in_office_from"], v["in_office_to"], v["office"], v["address"], born,
                               v["commissions"], file, line]]}
    if kind == "relatives":
        born = v["birth_date"] or (birth_date_of_iin(v["relative_iin"]) if v["relative_iin"] else None)
        pid = relative_person_id(v["official_iin"], v["relative_iin"], v["relative_name"], born)
        return {"relatives": [[pid, v["official_iin"], v["relative_iin"], v["relative_name"], v["relation"], born,
                               v["address"], file, line]]}
    if kind == "companies":
        people = []
        for role in ("founder", "director"):
            for i, p in enumerate(v[role + "s"]):
                born = p.birth_date or (birth_date_of_iin(p.iin) if p.iin else None)
                people.append([v["bin"], role, i, p.iin, p.name, born, file, line])
        return {"companies": [[v["bin"], v["name_kk"], v["name_ru"], v["name_latin"], v["registered_on"],
                               v["address"], v["phone"], v["status"], file, line]],
                "company_people": people}
    return {"meetings": [[v["meeting_id"], v["official_iin"], v["company_bin"], v["company_name"], v["starts_at"],
                          v["ends_at"], v["place"], v["recorded"], v["recording_ref"], v["commission_members"],
                          v["subject"], file, line]]}


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[list[Any]]) -> None:
    """Append rows (in the schema's column order) to a register or output table, through Arrow (fast)."""
    if not rows:
        return
    spec = SCHEMA.registers.get(table) or SCHEMA.outputs[table]
    data = pa.table({name: [r[i] for r in rows] for i, name in enumerate(spec.column_names)})  # noqa: F841
    con.execute(f"INSERT INTO {table} SELECT * FROM data")


# The key of each register: a row with the key of an earlier row of the same file is left out; an import replaces
# the stored rows with the same key. One relative may be declared by several officials (siblings, a parent).
KEYS: dict[str, tuple[str, ...]] = {"officials": ("iin",), "relatives": ("official_iin", "person_id"),
                                    "companies": ("bin",), "meetings": ("meeting_id",)}


def import_register(con: duckdb.DuckDBPyConnection, kind: str, path: Path, source: str | None = None) -> ImportResult:
    """Import one register file of `kind` (officials, relatives, companies, meetings) into the store. `source` names
    where the rows came from in `source_file` and in the rejects (default: the file's path)."""
    label = source or str(path)
    if kind not in FORMATS:
        raise RegisterFileError(f"unknown register {kind!r}; expected one of {', '.join(KINDS)} "
                                "(or `unreliable`, imported by aiqyn.indicators.registers)")
    columns, records = _records(path)
    known = {c.name for c in FORMATS[kind]}
    key_cols = [c.name for c in FORMATS[kind] if c.required]
    if path.suffix.lower() not in (".json", ".jsonl", ".ndjson"):
        missing = [c for c in key_cols if c not in columns]
        if missing:
            raise RegisterFileError(f"{path}:1: missing column(s) {', '.join(missing)}; the header is "
                                    f"{', '.join(columns)}")
    result = ImportResult(kind, label, ignored_columns=[c for c in columns if c not in known])
    tables: dict[str, list[list[Any]]] = {}
    seen: dict[tuple[Any, ...], int] = {}
    key = KEYS[kind]
    columns_of = SCHEMA.registers[kind].column_names
    for line, record, raw in records:
        try:
            values = parse_record(kind, record)
            rows = _rows(kind, values, label, line)
        except FieldError as e:
            result.rejects.append(Reject(label, line, e.field, e.reason, raw))
            continue
        main = rows[kind][0]
        k = tuple(main[columns_of.index(c)] for c in key)
        if k in seen:
            shown = " ".join(str(x) for x in k)
            result.rejects.append(Reject(label, line, key[-1], f"{shown} already at line {seen[k]}; this row is "
                                         "left out", raw))
            continue
        seen[k] = line
        for table, table_rows in rows.items():
            tables.setdefault(table, []).extend(table_rows)
    ensure_register_tables(con)
    also = ["DELETE FROM company_people WHERE bin IN (SELECT bin FROM keys)"] if kind == "companies" else []
    replace_register_rows(con, kind, kind, key, list(seen), tables, result.rejects, also)
    result.imported = len(seen)
    return result


def replace_register_rows(con: duckdb.DuckDBPyConnection, kind: str, table: str, key: list[str] | tuple[str, ...],
                          keys: list[tuple[Any, ...]], tables: dict[str, list[list[Any]]], rejects: list[Reject],
                          also: list[str] | None = None) -> None:
    """One import of a register, in one transaction: the rows of `table` with the imported keys are replaced
    (`also`: further statements that may read the temporary `keys`), the new rows of every table in `tables`
    inserted, and the rows left out recorded in register_rejects under `kind`."""
    con.execute("BEGIN TRANSACTION")
    try:
        if keys:
            keys_table = pa.table({c: [k[i] for k in keys] for i, c in enumerate(key)})
            con.register("keys", keys_table)
            try:
                match = " AND ".join(f"{table}.{c} = keys.{c}" for c in key)
                con.execute(f"DELETE FROM {table} USING keys WHERE {match}")
                for sql in also or []:
                    con.execute(sql)
            finally:
                con.unregister("keys")
        for name, rows in tables.items():
            insert_rows(con, name, rows)
        now = dt.datetime.now(dt.UTC)
        insert_rows(con, "register_rejects", [[kind, r.file, r.line, r.field, r.reason, r.raw, now]
                                              for r in rejects])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
