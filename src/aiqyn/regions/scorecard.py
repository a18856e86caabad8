"""The scorecard of a region or district: the index and its interval, its components, the trend, the findings
behind it (riskiest processes, buyers, suppliers) and the recommendations with their execution.

Everything is read from the store (`region_index`, the processes and their scores, `recommendation_facts`):
nothing is computed here but selections and sums. The same data serves the printable report
(`aiqyn report region`) and the web page `/regions/{kato}`; `query` is any function that runs DuckDB SQL with
`$name` parameters and returns rows as dicts (a store connection, or the web application's read-only
Analytics.query).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiqyn.regions.index import CITY_PREFIXES, COMPONENTS, WEIGHTS

Query = Callable[[str, dict[str, Any]], list[dict[str, Any]]]

TOP = 10


class NotFound(LookupError):
    """No such unit, or no data for it in the period: the message says which and what exists."""


def duck_query(con: Any) -> Query:
    """A Query over a DuckDB connection."""

    def run(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        cur = con.execute(sql, params)
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    return run


def tables(query: Query) -> set[str]:
    return {r["table_name"] for r in query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_catalog = current_database()", {})}


def unit_prefix(level: str, kato: str) -> str:
    """The prefix of processes.region_code that puts a process in the unit (as FACTS_SQL places it)."""
    if level == "region":
        return kato[:2]
    return kato[:6] if kato[:2] in CITY_PREFIXES else kato[:4]


def previous(period: int, quarter: int) -> tuple[int, int] | None:
    """The period before (year before, or quarter before); None for all years pooled."""
    if period == 0:
        return None
    if quarter == 0:
        return period - 1, 0
    return (period - 1, 4) if quarter == 1 else (period, quarter - 1)


RANKING_SQL = """
SELECT c.*, p.index_value AS prev_index, p.rank AS prev_rank, p.n_units AS prev_n_units
FROM region_index AS c
LEFT JOIN region_index AS p ON p.level = c.level AND p.kato = c.kato AND p.period = $prev_period
  AND p.quarter = $prev_quarter
WHERE c.level = $level AND c.period = $period AND c.quarter = $quarter
ORDER BY c.rank
"""


def ranking(query: Query, level: str, period: int, quarter: int = 0, prefix: str = "") -> list[dict[str, Any]]:
    """The units of a level and period by rank, each with the change since the previous period
    (`delta`: index difference; `moved`: places toward #1, positive = riskier than before)."""
    prev = previous(period, quarter) or (-1, -1)
    rows = query(RANKING_SQL, {"level": level, "period": period, "quarter": quarter, "prev_period": prev[0],
                               "prev_quarter": prev[1]})
    for r in rows:
        r["has_previous"] = period > 0
        r["delta"] = None if r["prev_index"] is None else r["index_value"] - r["prev_index"]
        r["moved"] = None if r["prev_rank"] is None else r["prev_rank"] - r["rank"]
    return [r for r in rows if r["kato"].startswith(prefix)]


def periods(query: Query) -> list[dict[str, Any]]:
    """The periods the index covers: (period, quarter), newest first, all years (0) last."""
    return query("SELECT DISTINCT period, quarter FROM region_index ORDER BY period = 0, period DESC, quarter", {})


def latest_year(query: Query) -> int:
    """The default period: the latest year with at least a quarter of the procurements of the busiest year (a
    year just begun, or the stragglers of a data set, would rank a handful of units); 0 when there is none."""
    rows = query("""WITH y AS (SELECT period, SUM(n_processes) AS n FROM region_index
                              WHERE level = 'region' AND quarter = 0 AND period > 0 GROUP BY period)
                    SELECT MAX(period) AS p FROM y WHERE n >= 0.25 * (SELECT MAX(n) FROM y)""", {})
    return int(rows[0]["p"] or 0) if rows else 0


def history(query: Query, level: str, katos: list[str], quarters: bool = False, until: int = 0
            ) -> list[dict[str, Any]]:
    """The index of the units over the years (or quarters), oldest first; up to the year `until` when given."""
    q = ("quarter > 0" if quarters else "quarter = 0") + (f" AND period <= {int(until)}" if until else "")
    return query(f"SELECT kato, name_ru, name_kk, period, quarter, index_value, ci_low, ci_high, rank, n_units, "
                 f"n_processes FROM region_index WHERE level = $level AND list_contains($katos, kato) "
                 f"AND period > 0 AND {q} ORDER BY kato, period, quarter", {"level": level, "katos": katos})


@dataclass
class Scorecard:
    level: str
    kato: str
    period: int
    quarter: int
    unit: dict[str, Any]
    components: list[dict[str, Any]]
    history: list[dict[str, Any]]
    quarters: list[dict[str, Any]]
    processes: list[dict[str, Any]] = field(default_factory=list)
    buyers: list[dict[str, Any]] = field(default_factory=list)
    suppliers: list[dict[str, Any]] = field(default_factory=list)
    recommendations: dict[str, Any] = field(default_factory=dict)
    children: list[dict[str, Any]] = field(default_factory=list)  # the districts of a region, ranked
    parent: dict[str, Any] | None = None  # the region of a district

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def components(unit: dict[str, Any]) -> list[dict[str, Any]]:
    """Each component of a unit: raw value, normalised, weight and its share of the index (NULL when the
    unit's level cannot measure it)."""
    present = [c for c in COMPONENTS if unit.get(c.key + "_norm") is not None]
    wsum = sum(WEIGHTS[c.key] for c in present) or 1.0
    out = []
    for c in COMPONENTS:
        norm = unit.get(c.key + "_norm")
        out.append({"key": c.key, "title": c.title, "raw": unit.get(c.key), "norm": norm,
                    "weight": WEIGHTS[c.key] / wsum if norm is not None else None,
                    "contribution": WEIGHTS[c.key] * norm / wsum if norm is not None else None})
    return out


def _process_where(level: str, kato: str, period: int, quarter: int) -> tuple[str, dict[str, Any]]:
    where = "p.region_code LIKE $prefix AND LENGTH(p.region_code) = 9"
    params: dict[str, Any] = {"prefix": unit_prefix(level, kato) + "%"}
    if period:
        where += " AND p.year = $period"
        params["period"] = period
    if quarter:
        where += " AND EXTRACT(YEAR FROM p.tender_start) = p.year AND EXTRACT(QUARTER FROM p.tender_start) = $q"
        params["q"] = quarter
    if level == "district" and kato[:2] not in CITY_PREFIXES:
        where += " AND SUBSTRING(p.region_code, 1, 2) NOT IN ('71', '75', '79')"
    return where, params


def findings(query: Query, have: set[str], level: str, kato: str, period: int, quarter: int,
             top: int = TOP) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The riskiest processes of the unit and period (latest flags run), its buyers by risk-weighted spend, and
    its suppliers (legal entities only: a sole proprietor's name is a person's) by the risk of what they won."""
    where, params = _process_where(level, kato, period, quarter)
    params["top"] = top
    if not {"flag_runs", "scores"} <= have:
        return [], [], []
    # The unit's processes first, then only their scores, parties and awards (a 1M-process store answers in a
    # fraction of a second instead of joining every party and award before filtering).
    unit = f"""WITH latest AS (SELECT run_id FROM flag_runs ORDER BY started_at DESC, run_id DESC LIMIT 1),
    up AS (SELECT p.ocid, p.title, p.buyer_name, p.buyer_id, p.method, p.estimated_amount, p.year
           FROM processes AS p WHERE {where}),
    risk AS (SELECT s.subject_id AS ocid, s.score, s.n_flags FROM scores AS s JOIN latest AS l ON s.run_id = l.run_id
             WHERE s.subject_type = 'process' AND s.subject_id IN (SELECT ocid FROM up))"""
    processes = query(f"""{unit}
        SELECT p.ocid, p.title, p.buyer_name, p.method, p.estimated_amount, p.year, r.score, r.n_flags
        FROM up AS p JOIN risk AS r ON r.ocid = p.ocid
        WHERE r.score > 0 ORDER BY r.score DESC, p.ocid LIMIT $top""", params)
    buyers = query(f"""{unit}, bp AS (SELECT ocid, party_id, subject_id, name FROM parties
                                      WHERE ocid IN (SELECT ocid FROM up))
        SELECT bp.subject_id, MIN(bp.name) AS name, COUNT(*) AS n_processes,
               AVG(COALESCE(r.score, 0.0)) AS mean_score, SUM(CASE WHEN r.score > 0 THEN 1 ELSE 0 END) AS n_flagged,
               SUM(COALESCE(p.estimated_amount, 0.0)) AS amount
        FROM up AS p JOIN bp ON bp.ocid = p.ocid AND bp.party_id = p.buyer_id
        LEFT JOIN risk AS r ON r.ocid = p.ocid
        GROUP BY bp.subject_id
        ORDER BY SUM(COALESCE(r.score, 0.0)) DESC, bp.subject_id LIMIT $top""", params)
    suppliers = []
    if {"awards", "award_suppliers"} <= have:
        suppliers = query(f"""{unit}, won AS (
            SELECT DISTINCT a.ocid, sp.subject_id, sp.name, sp.scheme, aw.amount
            FROM (SELECT * FROM award_suppliers WHERE ocid IN (SELECT ocid FROM up)) AS a
            JOIN (SELECT * FROM awards WHERE ocid IN (SELECT ocid FROM up)) AS aw
              ON aw.ocid = a.ocid AND aw.position = a.award_position
            JOIN (SELECT * FROM parties WHERE ocid IN (SELECT ocid FROM up)) AS sp
              ON sp.ocid = a.ocid AND sp.party_id = a.party_id
            WHERE aw.status IS NULL OR aw.status = 'active')
            SELECT w.subject_id, MIN(w.name) AS name, COUNT(DISTINCT w.ocid) AS n_processes,
                   AVG(COALESCE(r.score, 0.0)) AS mean_score,
                   COUNT(DISTINCT CASE WHEN r.score > 0 THEN w.ocid END) AS n_flagged, SUM(w.amount) AS amount
            FROM won AS w LEFT JOIN risk AS r ON r.ocid = w.ocid
            WHERE COALESCE(w.scheme, '') <> 'KZ-IIN' AND NOT regexp_matches(COALESCE(w.name, ''), '^(ИП|ЖК|IP)[ .]')
            GROUP BY w.subject_id ORDER BY SUM(COALESCE(r.score, 0.0)) DESC, w.subject_id LIMIT $top""", params)
    return processes, buyers, suppliers


def recommendations(query: Query, have: set[str], level: str, kato: str, period: int, quarter: int,
                    top: int = TOP) -> dict[str, Any]:
    """The recommendations issued to the unit's buyers in the period (by issue date): counts by status, money
    at stake and saved, and the buyers with most not carried out."""
    if "recommendation_facts" not in have:
        return {"imported": False}
    where = "region_code LIKE $prefix AND issued_on IS NOT NULL AND status <> 'draft'"
    params: dict[str, Any] = {"prefix": unit_prefix(level, kato) + "%"}
    if period:
        where += " AND EXTRACT(YEAR FROM issued_on) = $period"
        params["period"] = period
    if quarter:
        where += " AND EXTRACT(QUARTER FROM issued_on) = $q"
        params["q"] = quarter
    total = query(f"""SELECT COUNT(*) AS issued, COALESCE(SUM(CASE WHEN not_carried_out THEN 1 ELSE 0 END), 0)
                              AS not_carried_out,
                             COALESCE(SUM(CASE WHEN executed_on IS NOT NULL OR status = 'executed' THEN 1 ELSE 0 END),
                                      0) AS executed,
                             COALESCE(SUM(money_at_stake), 0.0) AS money_at_stake,
                             COALESCE(SUM(money_saved), 0.0) AS money_saved, MAX(as_of) AS as_of
                      FROM recommendation_facts WHERE {where}""", params)[0]
    by_status = query(f"SELECT status, COUNT(*) AS n FROM recommendation_facts WHERE {where} GROUP BY status "
                      "ORDER BY n DESC, status", params)
    params["top"] = top
    buyers = query(f"""SELECT buyer_subject_id AS subject_id, MIN(buyer_name) AS name, COUNT(*) AS issued,
                              SUM(CASE WHEN not_carried_out THEN 1 ELSE 0 END) AS not_carried_out,
                              SUM(money_at_stake) AS money_at_stake, SUM(money_saved) AS money_saved
                       FROM recommendation_facts WHERE {where} GROUP BY buyer_subject_id
                       ORDER BY not_carried_out DESC, issued DESC, subject_id LIMIT $top""", params)
    any_rows = query("SELECT COUNT(*) AS n, MAX(as_of) AS as_of FROM recommendation_facts", {})[0]
    return {"imported": True, "as_of": total["as_of"] or any_rows["as_of"], **total, "by_status": by_status,
            "buyers": buyers}


def find_unit(query: Query, kato: str) -> str:
    """The level of a KATO code in the index; NotFound when the index has no such unit."""
    rows = query("SELECT DISTINCT level FROM region_index WHERE kato = $kato ORDER BY level DESC", {"kato": kato})
    if not rows:
        raise NotFound(f"KATO {kato}: no such region or district in the index (see `aiqyn index show`)")
    return str(rows[0]["level"])


def scorecard(query: Query, kato: str, period: int, quarter: int = 0, top: int = TOP) -> Scorecard:
    """The scorecard of a unit and period; NotFound when the index has neither."""
    level = find_unit(query, kato)
    rows = [r for r in ranking(query, level, period, quarter) if r["kato"] == kato]
    if not rows:
        have = [r["period"] for r in query("SELECT DISTINCT period FROM region_index WHERE kato = $kato AND "
                                           "quarter = 0 ORDER BY period", {"kato": kato})]
        when = f"{period}" + (f" Q{quarter}" if quarter else "")
        raise NotFound(f"KATO {kato}: no procurements in period {when}; the index has it for "
                       + ", ".join("all years (0)" if p == 0 else str(p) for p in have))
    unit = rows[0]
    have_tables = tables(query)
    card = Scorecard(level=level, kato=kato, period=period, quarter=quarter, unit=unit,
                     components=components(unit), history=history(query, level, [kato]),
                     quarters=history(query, level, [kato], quarters=True))
    card.processes, card.buyers, card.suppliers = findings(query, have_tables, level, kato, period, quarter, top)
    card.recommendations = recommendations(query, have_tables, level, kato, period, quarter, top)
    if level == "region":
        card.children = ranking(query, "district", period, quarter, prefix=kato[:2])
    else:
        parent = [r for r in ranking(query, "region", period, quarter) if r["kato"] == kato[:2] + "0000000"]
        card.parent = parent[0] if parent else None
    return card
