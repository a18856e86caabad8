"""What a monitoring officer takes to a procuring entity: the purchases above their benchmark or ceiling,
the benchmark and its basis, and the money at stake, with totals per buyer, region and year."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from aiqyn.prices.run import one
from aiqyn.reference import kato_units


@cache
def region_names() -> dict[str, str]:
    """KATO code of each oblast and city of republican significance -> its Russian name."""
    return {u.kato: u.name_ru for u in kato_units() if u.level == "oblast"}


def region_name(code: str | None) -> str:
    if not code:
        return "регион не указан"
    return region_names().get(code, code)


def kato_filter(kato: str) -> tuple[str, list[Any]]:
    """SQL condition on the findings' process for a KATO code: a region (NN0000000) or a district."""
    kato = kato.strip()
    if not (kato.isdigit() and len(kato) == 9):
        raise ValueError(f"--region {kato!r}: a KATO code has 9 digits, e.g. 610000000 (Turkistan region)")
    if kato.endswith("0000000"):
        return "f.region_code = ?", [kato]
    return "p.region_code = ?", [kato]


@dataclass
class Report:
    filters: dict[str, str]
    totals: dict[str, Any]
    by_region: list[dict[str, Any]]
    by_buyer: list[dict[str, Any]]
    by_year: list[dict[str, Any]]
    purchases: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"filters": self.filters, "totals": self.totals, "by_region": self.by_region,
                "by_buyer": self.by_buyer, "by_year": self.by_year, "purchases": self.purchases}


def basis_text(row: dict[str, Any]) -> str:
    """The benchmark's basis in words, for the officer."""
    if row["basis"] == "ceiling":
        return (f"ceiling price of the Ministry of Health ({row['ref_inn']}, {row['ref_characteristic']}; "
                f"match {row['match_score']:.0f}/100)")
    where = region_name(row["benchmark_region"]) if row["benchmark_region"] else "Kazakhstan"
    when = f"in {row['benchmark_year']}" if row["benchmark_year"] else "all years"
    n = f"{row['benchmark_n']:,}".replace(",", " ")
    fence = f"{row['upper_fence']:,.2f}".replace(",", " ")
    return (f"median of {n} purchases of this goods code per {row['unit']}, {where}, {when}; "
            f"overpricing threshold (outlier fence) {fence}")


def build_report(con: duckdb.DuckDBPyConnection, region: str | None = None, buyer: str | None = None,
                 year: int | None = None, limit: int | None = 50) -> Report:
    if not one(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'price_findings'")[0]:
        raise ValueError("the store has no price findings: run `aiqyn prices run` first")
    where, args = ["TRUE"], []
    filters: dict[str, str] = {}
    if region:
        cond, a = kato_filter(region)
        where.append(cond)
        args += a
        filters["region"] = f"{region} ({region_name(region[:2] + '0000000')})"
    if buyer:
        b = buyer.strip()
        where.append("(f.buyer_id = ? OR f.buyer_id = 'KZ-BIN-' || ? OR pa.identifier = ?)")
        args += [b, b, b]
        filters["buyer"] = b
    if year:
        where.append("f.year = ?")
        args.append(year)
        filters["year"] = str(year)
    base = f"""
      SELECT f.*, p.buyer_name, p.region_code AS buyer_kato, p.tender_start, p.title AS process_title,
        pa.identifier AS buyer_bin, r.inn AS ref_inn, r.characteristic AS ref_characteristic,
        (SELECT string_agg(DISTINCT s.name, '; ') FROM award_suppliers s WHERE s.ocid = f.ocid) AS suppliers
      FROM price_findings f
      JOIN processes p ON p.ocid = f.ocid
      LEFT JOIN parties pa ON pa.ocid = f.ocid AND pa.party_id = f.buyer_id
      LEFT JOIN reference_prices r ON r.ref_id = f.ref_id
      WHERE {' AND '.join(where)}"""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _report AS {base}", args)
    totals_row = one(con,
        "SELECT count(*), count(DISTINCT ocid), count(DISTINCT buyer_id), coalesce(sum(money_at_stake), 0), "
        "count(*) FILTER (WHERE basis = 'ceiling'), coalesce(sum(money_at_stake) FILTER (WHERE basis = 'ceiling'), 0) "
        "FROM _report")
    totals = {"findings": totals_row[0], "processes": totals_row[1], "buyers": totals_row[2],
              "money_at_stake_kzt": round(totals_row[3], 2), "medicines_above_ceiling": totals_row[4],
              "money_at_stake_medicines_kzt": round(totals_row[5], 2)}

    def group(sql: str) -> list[dict[str, Any]]:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    by_region = group("SELECT region_code, count(*) AS findings, count(DISTINCT buyer_id) AS buyers, "
                      "round(sum(money_at_stake), 2) AS money_at_stake_kzt FROM _report GROUP BY 1 "
                      "ORDER BY money_at_stake_kzt DESC")
    for r in by_region:
        r["region"] = region_name(r["region_code"])
    by_buyer = group("SELECT buyer_id, any_value(buyer_bin) AS buyer_bin, any_value(buyer_name) AS buyer_name, "
                     "any_value(region_code) AS region_code, count(*) AS findings, "
                     "round(sum(money_at_stake), 2) AS money_at_stake_kzt FROM _report GROUP BY 1 "
                     "ORDER BY money_at_stake_kzt DESC, buyer_id")
    by_year = group("SELECT year, count(*) AS findings, round(sum(money_at_stake), 2) AS money_at_stake_kzt "
                    "FROM _report GROUP BY 1 ORDER BY 1")
    limit_sql = f" LIMIT {int(limit)}" if limit else ""
    purchases = group("SELECT ocid, section, item_id, year, CAST(tender_start AS DATE) AS tender_start, buyer_bin, "
                      "buyer_name, suppliers, region_code, buyer_kato, classification_id, description, unit, "
                      "quantity, unit_price, basis, benchmark_price, benchmark_level, benchmark_region, "
                      "benchmark_year, benchmark_n, upper_fence, ref_id, ref_inn, ref_characteristic, match_score, "
                      "ratio, money_at_stake FROM _report ORDER BY money_at_stake DESC, ocid, item_id" + limit_sql)
    for p in purchases:
        p["region"] = region_name(p["region_code"])
        p["basis_text"] = basis_text(p)
        p["tender_start"] = str(p["tender_start"]) if p["tender_start"] else None
    con.execute("DROP TABLE IF EXISTS _report")
    return Report(filters, totals, by_region, by_buyer, by_year, purchases)


CSV_COLUMNS = ("ocid", "year", "tender_start", "region", "buyer_bin", "buyer_name", "suppliers", "classification_id",
               "description", "unit", "quantity", "unit_price", "basis", "benchmark_price", "basis_text", "ratio",
               "money_at_stake", "section", "item_id", "benchmark_level", "benchmark_n", "upper_fence", "ref_id",
               "match_score")


def write_csv(report: Report, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for p in report.purchases:
            w.writerow(p)


def write_json(report: Report, path: Path) -> None:
    path.write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str), encoding="utf-8")
