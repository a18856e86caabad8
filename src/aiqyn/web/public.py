"""What the public portal shows of the analytics store: public flags per process and aggregate statistics, read-only.

The policy (docs/web.md, "Public portal"):

- public are the **process-level** flags of the indicators of `aiqyn.indicators.registry.REGISTRY` (Cardinal's R
  codes and Kazakhstan's KZ codes), computed from published procurement data and public registers of companies, with
  the indicator's title and why it matters, and the process's risk score and rank;
- never public: the flags' evidence (it may name tenderers that are individual entrepreneurs, i.e. persons), flags
  about a buyer, procuring entity or tenderer, the conflict-of-interest flags (CI codes: built from the registers of
  officials, relatives, founders and directors, they name persons) or any code not in the registry, the score's
  explanation (it would show the weight of the non-public flags), the parties but the buyer, and anything of the
  citizen reports or the meetings register;
- aggregate statistics count processes and amounts by year, region and public flag, and the recommendations of the
  application database (issued, being carried out, executed, money saved), never a person.

Every figure is a read of what the ingest, the analytics and the application wrote: counts and sums grouped by year,
region and code, read once per store (the store does not change while it is served).
"""

from __future__ import annotations

import threading
from typing import Any
from weakref import WeakKeyDictionary

from aiqyn.indicators.registry import REGISTRY
from aiqyn.web.analytics import Analytics, QueueFilters

PUBLIC_CODES: tuple[str, ...] = tuple(sorted(REGISTRY))
"""The indicators whose process-level flags are public."""

_lock = threading.Lock()
_summaries: WeakKeyDictionary[Analytics, dict[str, Any]] = WeakKeyDictionary()
_ready: WeakKeyDictionary[Analytics, bool] = WeakKeyDictionary()


def is_public(code: str) -> bool:
    return code in REGISTRY


def summary(analytics: Analytics) -> dict[str, Any]:
    """Processes, amounts and flagged processes in total, by year and by oblast; processes per public flag."""
    with _lock:
        if analytics in _summaries:
            return _summaries[analytics]
    run = analytics.run_id
    flagged = ("(SELECT DISTINCT subject_id AS ocid FROM flags WHERE run_id = $run AND subject_type = 'process' "
               "AND list_contains($codes, code))") if run else \
        "(SELECT NULL::VARCHAR AS ocid WHERE false)"
    params = {"run": run, "codes": list(PUBLIC_CODES)} if run else {}
    contracts = "contracts" in analytics.tables
    spent = ("(SELECT ocid, sum(amount) AS amount FROM contracts WHERE coalesce(currency, 'KZT') = 'KZT' "
             "AND coalesce(status, 'active') NOT IN ('cancelled', 'pending') GROUP BY ocid)") if contracts else \
        "(SELECT NULL::VARCHAR AS ocid, NULL::DOUBLE AS amount WHERE false)"
    base = f"""
        WITH f AS {flagged}, c AS {spent}
        SELECT p.year, left(p.region_code, 2) AS oblast,
               grouping(p.year) AS all_years, grouping(left(p.region_code, 2)) AS all_regions,
               count(*) AS processes,
               sum(CASE WHEN coalesce(p.estimated_currency, 'KZT') = 'KZT' THEN p.estimated_amount END) AS estimated,
               sum(c.amount) AS contracted,
               count(f.ocid) AS flagged
        FROM processes p LEFT JOIN f ON f.ocid = p.ocid LEFT JOIN c ON c.ocid = p.ocid
        GROUP BY GROUPING SETS ((), (p.year), (left(p.region_code, 2)))"""
    rows = analytics.query(base, params)
    total = next(r for r in rows if r["all_years"] and r["all_regions"])
    by_year = sorted((r for r in rows if not r["all_years"]), key=lambda r: (r["year"] is None, r["year"] or 0))
    by_region = sorted((r for r in rows if not r["all_regions"]), key=lambda r: -r["processes"])
    for r in by_region:
        r["region"] = r["oblast"] + "0000000" if r["oblast"] else None
    by_flag: list[dict[str, Any]] = []
    if run:
        by_flag = analytics.query("""
            SELECT code, count(DISTINCT subject_id) AS processes FROM flags
            WHERE run_id = $run AND subject_type = 'process' AND list_contains($codes, code)
            GROUP BY code ORDER BY processes DESC, code""", params)
    out = {"total": total, "by_year": by_year, "by_region": by_region, "by_flag": by_flag,
           "run": analytics.flag_run, "scored": analytics.n_scored}
    with _lock:
        _summaries[analytics] = out
    return out


def _public_queue(analytics: Analytics) -> None:
    """The public list's rows: the analytics' risk queue restricted to processes with a public flag, the codes
    restricted to the public ones (built once from the queue's in-memory table)."""
    with _lock:
        if _ready.get(analytics):
            return
    analytics.queue(QueueFilters(per_page=1))  # the risk queue's table, built once by the analytics reader
    cur = analytics.cursor()
    try:
        cur.execute("""CREATE OR REPLACE TABLE memory.main.public_queue AS
            SELECT ocid, title, buyer_name, region_code, estimated_amount, estimated_currency, date, year, score, rank,
                   list_sort(list_intersect(codes, $codes::VARCHAR[])) AS codes
            FROM memory.main.queue WHERE list_has_any(codes, $codes)""", {"codes": list(PUBLIC_CODES)})
    finally:
        cur.close()
    with _lock:
        _ready[analytics] = True


def processes(analytics: Analytics, *, region: str | None = None, year: int | None = None, flag: str | None = None,
              page: int = 1, per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    """Processes with a public flag, riskiest first: (a page of rows, how many in all)."""
    _public_queue(analytics)
    where: list[str] = ["true"]
    params: dict[str, Any] = {}
    if region:
        where.append("left(region_code, 2) = left($region, 2)")
        params["region"] = region
    if year:
        where.append("year = $year")
        params["year"] = year
    if flag:
        where.append("list_contains(codes, $flag)")
        params["flag"] = flag
    condition = " AND ".join(where)
    rows = analytics.query(f"""SELECT * FROM memory.main.public_queue WHERE {condition}
        ORDER BY rank NULLS LAST, len(codes) DESC, estimated_amount DESC NULLS LAST, ocid
        LIMIT {int(per_page)} OFFSET {int((max(page, 1) - 1) * per_page)}""", params)
    total = int(analytics.query(f"SELECT count(*) AS n FROM memory.main.public_queue WHERE {condition}",
                                params)[0]["n"])
    return rows, total


def process(analytics: Analytics, ocid: str) -> dict[str, Any] | None:
    """A process as the public sees it: its facts, the buyer, the score and rank, its public flags (no evidence)."""
    data = analytics.process(ocid)
    if data is None:
        return None
    p = data["process"]
    facts = {k: p.get(k) for k in ("ocid", "title", "description", "status", "method_details", "main_category",
                                   "estimated_amount", "estimated_currency", "tender_start", "tender_end",
                                   "number_of_tenderers", "buyer_name", "region_code", "year")}
    buyer = next((r for r in data["parties"] if r["party_id"] == p.get("buyer_id")), None)
    facts["buyer_subject_id"] = buyer["subject_id"] if buyer else None
    contracted = [c for c in data["contracts"] if (c.get("currency") or "KZT") == "KZT"
                  and c.get("status") not in ("cancelled", "pending") and c.get("amount") is not None]
    facts["contracted"] = sum(c["amount"] for c in contracted) if contracted else None
    flags = sorted({f["code"] for f in data["flags"] if f["subject_type"] == "process" and is_public(f["code"])})
    score = data["score"]
    return {"process": facts, "codes": flags,
            "score": {"score": score["score"], "rank": score["rank"]} if score else None,
            "risk_class": analytics.risk_class(score["rank"]) if score else "", "n_scored": analytics.n_scored}


def warm(analytics: Analytics) -> None:
    """Read the portal's figures and list before the first visitor does (seconds at 1M processes, once per worker)."""
    summary(analytics)
    _public_queue(analytics)
