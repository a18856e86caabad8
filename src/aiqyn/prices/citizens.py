"""Citizens' price reports: a price seen at a pharmacy or seller, checked against the ceiling price.

The Turkistan project office asks citizens who see medicines sold at inflated prices to report the
pharmacy's name and address, by phone, in writing or with a video. A report is validated (a region of
Kazakhstan, a price in tenge, a date), matched to a medicine of the ceiling-price list (INN, form, dosage;
the score kept) and aggregated into hotspots by region and seller. A report that cannot be used is kept in
`price_rejects` with its file, line, field and reason, never dropped silently.

File format (docs/prices.md): CSV with a header row, a JSON array of objects, or JSON lines, UTF-8, with
the fields id (optional), seller, address, region (KATO code or name, ru or kk), product, price
("2 993,88"), unit (optional: the ceiling's unit is assumed), date (YYYY-MM-DD or DD.MM.YYYY), media
(optional: photo or video file name or URL).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
from rapidfuzz import fuzz, process

from aiqyn.prices.references import MedicineMatcher, PriceFormatError, Reject, parse_tenge
from aiqyn.prices.run import (
    ceiling_for,
    ensure_tables,
    insert_rows,
    record_rejects,
    store_reference_prices,
    stored_reference_prices,
)
from aiqyn.reference import kato_units

FIELDS = ("id", "seller", "address", "region", "product", "price", "unit", "date", "media")
REQUIRED = ("seller", "region", "product", "price", "date")
SOURCE = "citizen_reports"

_REGION_WORDS = re.compile(r"\b(г|город|обл|область|облысы|қ|қаласы|region|city)\b\.?", re.IGNORECASE)


def _region_key(name: str) -> str:
    s = name.lower().replace("ё", "е").replace(".", " ")
    return " ".join(_REGION_WORDS.sub(" ", s).split())


@cache
def _regions() -> tuple[dict[str, str], dict[str, str]]:
    """(exact names -> KATO, core names -> KATO) of the oblasts and cities of republican significance."""
    exact: dict[str, str] = {}
    core: dict[str, str] = {}
    for u in kato_units():
        if u.level != "oblast":
            continue
        for name in (u.name_ru, u.name_kk):
            exact[" ".join(name.lower().replace("ё", "е").split())] = u.kato
            key = _region_key(name)
            # "Алматы" alone is the city; the region is "Алматы облысы" / "Алматинская область".
            if key not in core or u.urban:
                core[key] = u.kato
    return exact, core


def resolve_region(value: str) -> str | None:
    """KATO code (NN0000000) of a region given as a KATO code (any level) or a name in Russian or Kazakh."""
    v = value.strip()
    exact, core = _regions()
    if v.isdigit():
        code = v[:2] + "0000000"
        return code if len(v) == 9 and code in set(exact.values()) else None
    name = " ".join(v.lower().replace("ё", "е").split())
    if name in exact:
        return exact[name]
    key = _region_key(v)
    if key in core:
        return core[key]
    found = process.extractOne(key, list(core), scorer=fuzz.ratio, score_cutoff=85)
    return core[found[0]] if found else None


def parse_date(value: str) -> dt.date:
    v = value.strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(v[:10], fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{value!r} is not a date (expected YYYY-MM-DD or DD.MM.YYYY)")


_SELLER_NOISE = re.compile(r"\b(тоо|ип|ао|too|llp|аптека|дәріхана)\b|[«»\"'“”]", re.IGNORECASE)


def seller_key(name: str) -> str:
    """A seller's name for grouping: lower case, without quotes, legal form and the word pharmacy."""
    return " ".join(_SELLER_NOISE.sub(" ", name.lower().replace("ё", "е")).split()) or name.strip().lower()


def read_rows(path: Path) -> list[tuple[int, Any]]:
    """(line, row) of a CSV, JSON array or JSON lines file; a file that cannot be read raises ValueError."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ValueError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    stripped = text.lstrip()
    if path.suffix.lower() in (".json", ".jsonl", ".ndjson") or stripped[:1] in "[{":
        if stripped.startswith("["):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg})") from exc
            from aiqyn.prices.references import _object_lines

            lines = _object_lines(text, len(data))
            return [(lines[i], row) for i, row in enumerate(data)]
        rows: list[tuple[int, Any]] = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                rows.append((n, _Bad(f"not valid JSON ({exc.msg})", line)))
        return rows
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise ValueError(f"{path}: empty file")
    missing = [f for f in REQUIRED if f not in [h.strip().lower() for h in reader.fieldnames]]
    if missing:
        raise ValueError(f"{path} line 1: missing column(s) {', '.join(missing)} "
                         f"(the header is: {', '.join(reader.fieldnames)})")
    return [(reader.line_num, {k.strip().lower(): v for k, v in row.items() if k}) for row in reader]


@dataclass(frozen=True)
class _Bad:
    reason: str
    raw: str


@dataclass
class ImportSummary:
    file: str
    accepted: int
    above_ceiling: int
    rejects: list[Reject]


def import_reports(con: duckdb.DuckDBPyConnection, path: Path, match_score: float = 85.0) -> ImportSummary:
    """Validate, match and store the reports of a file; its earlier import (reports and rejects) is replaced."""
    prices = stored_reference_prices(con)
    if not prices:
        from aiqyn.prices.references import load_reference_prices

        prices, ref_rejects = load_reference_prices(None)
        store_reference_prices(con, prices, ref_rejects)
    matcher = MedicineMatcher(prices, match_score)
    label = str(path)
    rows = read_rows(path)
    accepted: list[tuple[Any, ...]] = []
    rejects: list[Reject] = []
    now = dt.datetime.now(dt.UTC)
    ids: set[str] = set()
    for line, row in rows:
        raw = row.raw if isinstance(row, _Bad) else json.dumps(row, ensure_ascii=False, default=str)

        def bad(field: str, reason: str, line: int = line, raw: str = raw) -> None:
            rejects.append(Reject(label, line, field, reason, raw))

        if isinstance(row, _Bad):
            bad("", row.reason)
            continue
        if not isinstance(row, dict):
            bad("", "a report must be an object with the fields " + ", ".join(FIELDS))
            continue
        values = {k: ("" if row.get(k) is None else str(row.get(k)).strip()) for k in FIELDS}
        missing = [k for k in REQUIRED if not values[k]]
        if missing:
            bad(missing[0], f"{', '.join(missing)} missing")
            continue
        try:
            price = parse_tenge(row["price"] if isinstance(row.get("price"), int | float) else values["price"])
        except PriceFormatError as exc:
            bad("price", f"price {exc}")
            continue
        if price <= 0:
            bad("price", "price is zero")
            continue
        region = resolve_region(values["region"])
        if region is None:
            bad("region", f"unknown region {values['region']!r} (a KATO code or a region name of Kazakhstan)")
            continue
        try:
            seen = parse_date(values["date"])
        except ValueError as exc:
            bad("date", str(exc))
            continue
        if seen > now.date():
            bad("date", f"date {seen} is in the future")
            continue
        match = matcher.match(values["product"])
        if match is None:
            bad("product", f"product {values['product']!r} matches no medicine of the ceiling-price list "
                           f"(score below {match_score:g})")
            continue
        if match.ambiguous:
            bad("product", f"product {values['product']!r} names no dosage and the ceiling-price list has "
                           f"{match.ref.inn} as {'; '.join(a[:40] for a in match.alternatives[:4])}")
            continue
        ceiling = ceiling_for(match.ref, values["unit"] or match.ref.unit_name)
        if ceiling is None:
            bad("unit", f"unit {values['unit']!r} is not the unit of the ceiling price "
                        f"({match.ref.unit_name!r}) of {match.ref.label[:80]!r}")
            continue
        report_id = values["id"] or f"{path.name}:{line}"
        if report_id in ids:
            bad("id", f"id {report_id!r} given twice in the file")
            continue
        ids.add(report_id)
        accepted.append((report_id, label, line, values["seller"], seller_key(values["seller"]), values["address"],
                         region, values["product"], price, values["unit"], seen, values["media"] or None,
                         match.ref.ref_id, match.score, ceiling, price / ceiling, price > ceiling, now))
    ensure_tables(con, ("citizen_reports", "price_rejects"))
    con.execute("BEGIN")
    try:
        con.execute("DELETE FROM citizen_reports WHERE source_file = ?", [label])
        con.execute("DELETE FROM price_rejects WHERE source = ? AND source_file = ?", [SOURCE, label])
        if accepted:
            con.execute("DELETE FROM citizen_reports WHERE report_id IN (SELECT unnest(?))",
                        [[a[0] for a in accepted]])
        insert_rows(con, "citizen_reports", accepted)
        record_rejects(con, SOURCE, rejects)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return ImportSummary(label, len(accepted), sum(1 for a in accepted if a[16]), rejects)


HOTSPOTS_SQL = """
SELECT {key} AS {name}, {label} AS label, count(*) AS reports,
  count(*) FILTER (WHERE above_ceiling) AS above_ceiling,
  round(count(*) FILTER (WHERE above_ceiling) * 1.0 / count(*), 3) AS share_above,
  round(max(excess_ratio), 3) AS max_ratio,
  round(median(excess_ratio), 3) AS median_ratio,
  count(DISTINCT ref_id) AS medicines,
  max(seen_on) AS last_seen,
  count(*) FILTER (WHERE media IS NOT NULL) AS with_media
FROM citizen_reports
GROUP BY {group}
HAVING count(*) FILTER (WHERE above_ceiling) >= ?
ORDER BY above_ceiling DESC, reports DESC, 1
"""


def hotspots(con: duckdb.DuckDBPyConnection, by: str = "region", min_above: int = 1) -> list[dict[str, Any]]:
    """Regions or sellers ranked by the number of reports above the ceiling price."""
    ensure_tables(con, ("citizen_reports",))
    if by == "region":
        sql = HOTSPOTS_SQL.format(key="region_code", name="region_code", label="region_code", group="region_code")
    elif by == "seller":
        sql = HOTSPOTS_SQL.format(key="seller_key", name="seller_key",
                                  label="any_value(seller) || ', ' || any_value(address)",
                                  group="seller_key, region_code")
        sql = sql.replace("SELECT seller_key AS seller_key,", "SELECT seller_key AS seller_key, region_code,")
    else:
        raise ValueError(f"--by {by!r}: region or seller")
    cur = con.execute(sql, [min_above])
    cols = [d[0] for d in cur.description]
    out = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    from aiqyn.prices.report import region_name

    for r in out:
        r["region"] = region_name(r["region_code"])
    return out
