"""The regional corruption-risk index: a composite of normalised risk components per oblast and district.

Each unit (an oblast or city of republican significance, or a district / city of oblast significance, by
KATO) and each year gets the components below, measured from the store and the analytic outputs, then
min-max normalised across the units of its level and year and combined with documented weights
(OECD/JRC, *Handbook on Constructing Composite Indicators*, 2008; docs/regions.md). Components that a
level cannot measure (citizens' reports carry only an oblast) are left out and the weights of the others
rescaled. Where a unit has few procurements, the index carries a bootstrap interval and a rank interval.

Two SQL definitions (DuckDB dialect, transpiled to Spark by sqlglot in the tests): FACTS_SQL, one row
per process with its measured facts; INDEX_SQL, the `region_index` table built from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from aiqyn.reference import kato_units
from aiqyn.regions.boundaries import units as map_units
from aiqyn.store.schema import SCHEMA


@dataclass(frozen=True)
class Component:
    key: str
    weight: float
    title: str
    per_process: bool  # measured as a mean over processes (bootstrappable) rather than per unit


# The weights sum to 1; the reasoning is on docs/regions.md. `per_process` components are ratios of process
# facts; the others are counts per unit, divided by its number of processes.
COMPONENTS: tuple[Component, ...] = (
    Component("risk_score", 0.25, "Mean procurement risk score (aiqyn flags run)", True),
    Component("single_bid", 0.15, "Share of competitive procedures with a single bid", True),
    Component("non_competitive", 0.15, "Share of procedures without competition (direct, limited)", True),
    Component("money_at_stake", 0.15, "Money at stake from overpricing / spend", True),
    Component("conflicts", 0.10, "Share of processes with a conflict-of-interest flag (CI001-CI003)", True),
    Component("collusion", 0.10, "Share of processes flagged for collusion (R055)", True),
    Component("citizen_reports", 0.05, "Citizens' reports of prices above the ceiling, per 100 processes", False),
    Component("meeting_violations", 0.05, "Meeting-rule violations of the buyers' officials, per 100 processes",
              False),
    Component("recommendations", 0.05, "Share of recommendations issued to the unit's buyers not carried out",
              False),
    Component("public_control", 0.05, "Out-of-turn queue findings and overdue resignation statements, per 100 "
              "processes", False),
)
# The weights above are nominal; the index uses them rescaled to sum to 1 (a component added later takes its
# share from all the others in proportion).
WEIGHTS = {c.key: c.weight / sum(d.weight for d in COMPONENTS) for c in COMPONENTS}
LEVELS = ("region", "district")
CITY_PREFIXES = ("71", "75", "79")  # Astana, Almaty, Shymkent: their districts are 6-digit KATO prefixes

# One row per process: its units, year and quarter, and the facts the components average.
FACTS_SQL = """
WITH latest AS (
  SELECT run_id FROM flag_runs ORDER BY started_at DESC, run_id DESC LIMIT 1
), risk AS (
  SELECT s.subject_id AS ocid, s.score FROM scores AS s JOIN latest AS l ON s.run_id = l.run_id
  WHERE s.subject_type = 'process'
), flagged AS (
  SELECT f.subject_id AS ocid,
         MAX(CASE WHEN f.code IN ('CI001', 'CI002', 'CI003') THEN 1 ELSE 0 END) AS conflict,
         MAX(CASE WHEN f.code = 'R055' THEN 1 ELSE 0 END) AS collusion
  FROM flags AS f JOIN latest AS l ON f.run_id = l.run_id
  WHERE f.subject_type = 'process' GROUP BY f.subject_id
), nbids AS (
  SELECT ocid, COUNT(*) AS n FROM bids WHERE status IS NULL OR status NOT IN ('withdrawn', 'invited') GROUP BY ocid
), spend AS (
  SELECT ocid, SUM(amount) AS amount FROM awards
  WHERE (status IS NULL OR status = 'active') AND (currency IS NULL OR currency = 'KZT') GROUP BY ocid
), stake AS (
  SELECT ocid, SUM(money_at_stake) AS amount FROM price_findings GROUP BY ocid
), located AS (
  SELECT p.ocid, p.year, p.method, p.estimated_amount, p.estimated_currency, p.tender_start,
         SUBSTRING(p.region_code, 1, 2) || '0000000' AS region,
         COALESCE(d6.kato, d4.kato) AS district
  FROM processes AS p
  LEFT JOIN kato_units AS d6 ON d6.level = 'district' AND d6.kato = SUBSTRING(p.region_code, 1, 6) || '000'
  LEFT JOIN kato_units AS d4 ON d4.level = 'district' AND d4.kato = SUBSTRING(p.region_code, 1, 4) || '00000'
  WHERE p.region_code IS NOT NULL AND LENGTH(p.region_code) = 9 AND p.year IS NOT NULL
)
SELECT x.ocid, x.region, x.district, x.year,
       CASE WHEN EXTRACT(YEAR FROM x.tender_start) = x.year THEN CAST(EXTRACT(QUARTER FROM x.tender_start) AS INTEGER)
            ELSE 0 END AS quarter,
       COALESCE(r.score, 0.0) AS risk_score,
       CASE WHEN x.method IN ('direct', 'limited') THEN 1 ELSE 0 END AS non_competitive,
       CASE WHEN x.method IN ('direct', 'limited') OR COALESCE(b.n, 0) = 0 THEN 0 ELSE 1 END AS competitive,
       CASE WHEN x.method NOT IN ('direct', 'limited') AND b.n = 1 THEN 1 ELSE 0 END AS single_bid,
       COALESCE(sp.amount, CASE WHEN COALESCE(x.estimated_currency, 'KZT') = 'KZT' THEN x.estimated_amount END, 0.0)
         AS spend,
       COALESCE(st.amount, 0.0) AS money_at_stake,
       COALESCE(f.conflict, 0) AS conflict,
       COALESCE(f.collusion, 0) AS collusion
FROM located AS x
LEFT JOIN risk AS r ON r.ocid = x.ocid
LEFT JOIN flagged AS f ON f.ocid = x.ocid
LEFT JOIN nbids AS b ON b.ocid = x.ocid
LEFT JOIN spend AS sp ON sp.ocid = x.ocid
LEFT JOIN stake AS st ON st.ocid = x.ocid
"""

# The index table: raw components, min-max normalised within (level, year), weighted (weights of the
# components a level cannot measure are rescaled away), ranked. Per year (quarter 0), per quarter of a year
# (by tender start), and all years pooled (period 0, quarter 0).
INDEX_SQL = """
WITH leveled AS (
  SELECT 'region' AS level, region AS kato, f.* FROM facts AS f
  UNION ALL SELECT 'district', district, f.* FROM facts AS f WHERE district IS NOT NULL
), expanded AS (
  SELECT year AS period, 0 AS qtr, l.* FROM leveled AS l
  UNION ALL SELECT 0, 0, l.* FROM leveled AS l
  UNION ALL SELECT year, quarter, l.* FROM leveled AS l WHERE quarter > 0
), per_unit AS (
  SELECT level, kato, period, qtr AS quarter, COUNT(*) AS n_processes, SUM(spend) AS spend,
         SUM(money_at_stake) AS money_at_stake_amount,
         AVG(risk_score) AS risk_score,
         CAST(SUM(single_bid) AS DOUBLE) / NULLIF(SUM(competitive), 0) AS single_bid,
         AVG(CAST(non_competitive AS DOUBLE)) AS non_competitive,
         CASE WHEN SUM(spend) > 0 THEN SUM(money_at_stake) / SUM(spend) ELSE 0.0 END AS money_at_stake,
         AVG(CAST(conflict AS DOUBLE)) AS conflicts,
         AVG(CAST(collusion AS DOUBLE)) AS collusion
  FROM expanded GROUP BY level, kato, period, qtr
), reports AS (
  SELECT region_code AS kato, CAST(EXTRACT(YEAR FROM seen_on) AS INTEGER) AS y,
         CAST(EXTRACT(QUARTER FROM seen_on) AS INTEGER) AS q
  FROM citizen_reports WHERE above_ceiling AND region_code IS NOT NULL AND seen_on IS NOT NULL
), report_units AS (
  SELECT u.kato, u.period, u.quarter, COUNT(*) AS n FROM (
    SELECT kato, y AS period, 0 AS quarter FROM reports
    UNION ALL SELECT kato, 0, 0 FROM reports
    UNION ALL SELECT kato, y, q FROM reports
  ) AS u GROUP BY u.kato, u.period, u.quarter
), buyer_units AS (
  SELECT DISTINCT pa.identifier AS bin, SUBSTRING(pa.region_code, 1, 2) || '0000000' AS region,
         COALESCE(d6.kato, d4.kato) AS district
  FROM parties AS pa
  LEFT JOIN kato_units AS d6 ON d6.level = 'district' AND d6.kato = SUBSTRING(pa.region_code, 1, 6) || '000'
  LEFT JOIN kato_units AS d4 ON d4.level = 'district' AND d4.kato = SUBSTRING(pa.region_code, 1, 4) || '00000'
  WHERE ARRAY_CONTAINS(pa.roles, 'buyer') AND pa.identifier IS NOT NULL AND LENGTH(pa.region_code) = 9
), violations AS (
  SELECT DISTINCT v.meeting_id, v.rule, o.organisation_bin AS bin,
         CAST(EXTRACT(YEAR FROM m.starts_at) AS INTEGER) AS y, CAST(EXTRACT(QUARTER FROM m.starts_at) AS INTEGER) AS q
  FROM meeting_violations AS v
  JOIN meetings AS m ON m.meeting_id = v.meeting_id
  JOIN officials AS o ON o.iin = v.official_iin
  WHERE m.starts_at IS NOT NULL
), violation_levels AS (
  SELECT 'region' AS level, b.region AS kato, v.* FROM violations AS v JOIN buyer_units AS b ON b.bin = v.bin
  UNION ALL SELECT 'district', b.district, v.* FROM violations AS v JOIN buyer_units AS b ON b.bin = v.bin
  WHERE b.district IS NOT NULL
), violation_units AS (
  SELECT u.level, u.kato, u.period, u.quarter, COUNT(DISTINCT u.meeting_id || '/' || u.rule) AS n FROM (
    SELECT level, kato, y AS period, 0 AS quarter, meeting_id, rule FROM violation_levels
    UNION ALL SELECT level, kato, 0, 0, meeting_id, rule FROM violation_levels
    UNION ALL SELECT level, kato, y, q, meeting_id, rule FROM violation_levels
  ) AS u GROUP BY u.level, u.kato, u.period, u.quarter
), recommended AS (
  SELECT rf.recommendation_id, rf.not_carried_out, CAST(EXTRACT(YEAR FROM rf.issued_on) AS INTEGER) AS y,
         CAST(EXTRACT(QUARTER FROM rf.issued_on) AS INTEGER) AS q,
         SUBSTRING(rf.region_code, 1, 2) || '0000000' AS region, COALESCE(d6.kato, d4.kato) AS district
  FROM recommendation_facts AS rf
  LEFT JOIN kato_units AS d6 ON d6.level = 'district' AND d6.kato = SUBSTRING(rf.region_code, 1, 6) || '000'
  LEFT JOIN kato_units AS d4 ON d4.level = 'district' AND d4.kato = SUBSTRING(rf.region_code, 1, 4) || '00000'
  WHERE rf.issued_on IS NOT NULL AND rf.not_carried_out IS NOT NULL AND LENGTH(rf.region_code) = 9
), recommendation_levels AS (
  SELECT 'region' AS level, r.region AS kato, r.* FROM recommended AS r
  UNION ALL SELECT 'district', r.district, r.* FROM recommended AS r WHERE r.district IS NOT NULL
), recommendation_units AS (
  SELECT u.level, u.kato, u.period, u.quarter, COUNT(*) AS n_issued,
         SUM(CASE WHEN u.not_carried_out THEN 1 ELSE 0 END) AS n_not_carried_out FROM (
    SELECT r.level, r.kato, r.y AS period, 0 AS quarter, r.not_carried_out FROM recommendation_levels AS r
    UNION ALL SELECT r.level, r.kato, 0, 0, r.not_carried_out FROM recommendation_levels AS r
    UNION ALL SELECT r.level, r.kato, r.y, r.q, r.not_carried_out FROM recommendation_levels AS r
  ) AS u GROUP BY u.level, u.kato, u.period, u.quarter
), public_control AS (
  SELECT f.kind || '/' || f.subject AS finding, CAST(EXTRACT(YEAR FROM f."at") AS INTEGER) AS y,
         CAST(EXTRACT(QUARTER FROM f."at") AS INTEGER) AS q,
         SUBSTRING(f.region_kato, 1, 2) || '0000000' AS region, COALESCE(d6.kato, d4.kato) AS district
  FROM public_control_findings AS f
  LEFT JOIN kato_units AS d6 ON d6.level = 'district' AND d6.kato = SUBSTRING(f.region_kato, 1, 6) || '000'
  LEFT JOIN kato_units AS d4 ON d4.level = 'district' AND d4.kato = SUBSTRING(f.region_kato, 1, 4) || '00000'
  WHERE f."at" IS NOT NULL AND LENGTH(f.region_kato) = 9
), public_control_levels AS (
  SELECT 'region' AS level, c.region AS kato, c.* FROM public_control AS c
  UNION ALL SELECT 'district', c.district, c.* FROM public_control AS c WHERE c.district IS NOT NULL
), public_control_units AS (
  SELECT u.level, u.kato, u.period, u.quarter, COUNT(DISTINCT u.finding) AS n FROM (
    SELECT level, kato, y AS period, 0 AS quarter, finding FROM public_control_levels
    UNION ALL SELECT level, kato, 0, 0, finding FROM public_control_levels
    UNION ALL SELECT level, kato, y, q, finding FROM public_control_levels
  ) AS u GROUP BY u.level, u.kato, u.period, u.quarter
), raw AS (
  SELECT p.*,
         CASE WHEN p.level = 'region' THEN 100.0 * COALESCE(r.n, 0) / p.n_processes END AS citizen_reports,
         100.0 * COALESCE(v.n, 0) / p.n_processes AS meeting_violations,
         CAST(rc.n_not_carried_out AS DOUBLE) / NULLIF(rc.n_issued, 0) AS recommendations,
         100.0 * COALESCE(pc.n, 0) / p.n_processes AS public_control
  FROM per_unit AS p
  LEFT JOIN report_units AS r ON p.level = 'region' AND r.kato = p.kato AND r.period = p.period
    AND r.quarter = p.quarter
  LEFT JOIN violation_units AS v ON v.level = p.level AND v.kato = p.kato AND v.period = p.period
    AND v.quarter = p.quarter
  LEFT JOIN recommendation_units AS rc ON rc.level = p.level AND rc.kato = p.kato AND rc.period = p.period
    AND rc.quarter = p.quarter
  LEFT JOIN public_control_units AS pc ON pc.level = p.level AND pc.kato = p.kato AND pc.period = p.period
    AND pc.quarter = p.quarter
), bounds AS (
  SELECT level, period, quarter,
{bounds}
  FROM raw GROUP BY level, period, quarter
), normalised AS (
  SELECT r.*,
{normalised}
  FROM raw AS r JOIN bounds AS b ON b.level = r.level AND b.period = r.period AND b.quarter = r.quarter
), scored AS (
  SELECT n.*, ({weighted}) / ({weight_sum}) AS index_value FROM normalised AS n
)
SELECT s.level, s.kato, COALESCE(k.name_ru, s.kato) AS name_ru, COALESCE(k.name_kk, s.kato) AS name_kk,
       s.period, s.quarter, s.n_processes, s.spend, s.money_at_stake_amount,
{columns},
       s.index_value,
       ROW_NUMBER() OVER (PARTITION BY s.level, s.period, s.quarter ORDER BY ROUND(s.index_value, 12) DESC, s.kato)
         AS rank,
       COUNT(*) OVER (PARTITION BY s.level, s.period, s.quarter) AS n_units
FROM scored AS s
LEFT JOIN kato_units AS k ON k.level = s.level AND k.kato = s.kato
"""


def index_sql(weights: dict[str, float] | None = None) -> str:
    """INDEX_SQL with the components and weights written in (weights default to WEIGHTS)."""
    w = {**WEIGHTS, **(weights or {})}
    unknown = set(w) - set(WEIGHTS)
    if unknown:
        raise ValueError(f"unknown components: {sorted(unknown)}")
    keys = [c.key for c in COMPONENTS]
    bounds = ",\n".join(f"    MIN({k}) AS {k}_min, MAX({k}) AS {k}_max" for k in keys)
    normalised = ",\n".join(
        f"    CASE WHEN r.{k} IS NULL THEN NULL WHEN b.{k}_max > b.{k}_min "
        f"THEN (r.{k} - b.{k}_min) / (b.{k}_max - b.{k}_min) ELSE 0.0 END AS {k}_norm" for k in keys)
    weighted = " + ".join(f"{float(w[k])!r} * COALESCE({k}_norm, 0.0)" for k in keys)
    weight_sum = " + ".join(f"CASE WHEN {k}_norm IS NULL THEN 0.0 ELSE {float(w[k])!r} END" for k in keys)
    columns = ",\n".join(f"       s.{k}, s.{k}_norm" for k in keys)
    return INDEX_SQL.format(bounds=bounds, normalised=normalised, weighted=weighted,
                            weight_sum=f"NULLIF({weight_sum}, 0.0)", columns=columns)


def kato_rows() -> list[tuple[str, str, str, str]]:
    """(level, kato, name_ru, name_kk) of every oblast and district: the classifier's names, then the
    boundary files' for units the shipped classifier extract lacks (the districts of the three cities)."""
    rows: dict[tuple[str, str], tuple[str, str, str, str]] = {}
    for u in kato_units():
        level = "region" if u.level == "oblast" else "district"
        rows[(level, u.kato)] = (level, u.kato, u.name_ru, u.name_kk)
    for level in LEVELS:
        for m in map_units(level):
            rows.setdefault((level, m.kato), (level, m.kato, m.name_ru, m.name_kk))
    return sorted(rows.values())


def _prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Make sure every table the definitions read exists (empty when its module has not run), and load
    the KATO units."""
    for name in ("flag_runs", "flags", "scores", "price_findings", "citizen_reports", "meeting_violations",
                 "recommendation_facts", "public_control_findings"):
        con.execute(SCHEMA.outputs[name].ddl())
    for name in ("meetings", "officials"):
        con.execute(SCHEMA.registers[name].ddl())
    con.execute("CREATE OR REPLACE TEMP TABLE kato_units "
                "(level VARCHAR, kato VARCHAR, name_ru VARCHAR, name_kk VARCHAR)")
    con.executemany("INSERT INTO kato_units VALUES (?, ?, ?, ?)", kato_rows())


@dataclass
class IndexResult:
    rows: int
    units: dict[str, int]
    periods: list[int]


def compute(con: duckdb.DuckDBPyConnection, weights: dict[str, float] | None = None, bootstrap: int = 200,
            seed: int = 0, alpha: float = 0.1) -> IndexResult:
    """Compute the index into `region_index` (replacing it), with bootstrap intervals."""
    _prepare(con)
    con.execute(f"CREATE OR REPLACE TEMP TABLE facts AS {FACTS_SQL}")
    con.execute("DROP TABLE IF EXISTS region_index")  # rewritten whole by every run, in the current schema
    con.execute(SCHEMA.outputs["region_index"].ddl())
    cols = SCHEMA.outputs["region_index"].column_names
    computed = [c for c in cols if c not in ("ci_low", "ci_high", "rank_best", "rank_worst")]
    names = ", ".join(f'"{c}"' for c in computed)
    con.execute(f"INSERT INTO region_index ({names}) SELECT {names} FROM ({index_sql(weights)})")
    if bootstrap > 0:
        _bootstrap(con, {**WEIGHTS, **(weights or {})}, bootstrap, seed, alpha)
    per_level = dict(con.execute("SELECT level, COUNT(DISTINCT kato) FROM region_index GROUP BY level").fetchall())
    periods = [r[0] for r in con.execute("SELECT DISTINCT period FROM region_index ORDER BY 1").fetchall()]
    n = con.execute("SELECT COUNT(*) FROM region_index").fetchall()[0][0]
    return IndexResult(n, per_level, periods)


PER_PROCESS = [c.key for c in COMPONENTS if c.per_process]
PER_UNIT = [c.key for c in COMPONENTS if not c.per_process]  # fixed in the bootstrap (not resampled)


EXACT_MAX = 300  # units with more processes get the normal (CLT) approximation of the bootstrap
FACT_COLUMNS = ("risk_score", "non_competitive", "conflict", "collusion", "single_bid", "competitive",
                "money_at_stake", "spend")


def _groups(facts: dict[str, np.ndarray]) -> dict[tuple[str, str, int, int], np.ndarray]:
    """Row numbers of the facts of each (level, KATO, period, quarter), as computed by INDEX_SQL."""
    year = facts["year"].astype(np.int64)
    quarter = facts["quarter"].astype(np.int64)
    groups: dict[tuple[str, str, int, int], np.ndarray] = {}
    for level in LEVELS:
        # KATO codes as integers (-1: none): sorting a million of them is ~50x faster than sorting strings
        col = np.asarray(facts[level], dtype=np.int64)
        names, code = np.unique(col, return_inverse=True)
        for period_key, keep in ((year * 10, np.ones(len(year), bool)), (np.zeros_like(year), np.ones(len(year), bool)),
                                 (year * 10 + quarter, quarter > 0)):
            key = code.astype(np.int64) * 1_000_000 + period_key
            rows = np.nonzero(keep & (col >= 0))[0]
            order = rows[np.argsort(key[rows], kind="stable")]
            uniq, starts = np.unique(key[order], return_index=True)
            for k, part in zip(uniq, np.split(order, starts[1:]), strict=True):
                y, q = divmod(int(k % 1_000_000), 10)
                groups[(level, f"{int(names[k // 1_000_000]):09d}", y, q)] = part
    return groups


def _bootstrap(con: duckdb.DuckDBPyConnection, weights: dict[str, float], b: int, seed: int, alpha: float) -> None:
    """Percentile bootstrap of each unit's index: resample its processes with replacement, recompute its
    process-based components, normalise them with the (fixed) bounds of its level and period, and combine
    them with its unit-level components. Units with more than EXACT_MAX processes draw the means of their
    process facts from the normal distribution the bootstrap converges to (same mean, covariance / n).
    Rank intervals follow from overlapping index intervals."""
    rng = np.random.default_rng(seed)
    keys = [c.key for c in COMPONENTS]
    bounds: dict[tuple[str, int, int], dict[str, tuple[float, float]]] = {}
    for level, period, quarter, *mm in con.execute(
            "SELECT level, period, quarter, " + ", ".join(f"MIN({k}), MAX({k})" for k in keys)
            + " FROM region_index GROUP BY level, period, quarter").fetchall():
        bounds[(level, period, quarter)] = {k: (mm[2 * i], mm[2 * i + 1]) for i, k in enumerate(keys)}
    units = con.execute("SELECT level, kato, period, quarter, "
                        + ", ".join(f"{k}_norm" for k in PER_UNIT)
                        + " FROM region_index ORDER BY level, kato, period, quarter").fetchall()
    facts = con.execute("SELECT COALESCE(CAST(region AS BIGINT), -1) AS region, "
                        "COALESCE(CAST(district AS BIGINT), -1) AS district, year, quarter, "
                        + ", ".join(FACT_COLUMNS) + " FROM facts ORDER BY ocid").fetchnumpy()
    x = np.column_stack([np.asarray(facts[c], dtype=float) for c in FACT_COLUMNS])
    groups = _groups({"region": facts["region"], "district": facts["district"], "year": facts["year"],
                      "quarter": facts["quarter"]})
    out: list[tuple[Any, ...]] = []
    for level, kato, period, qtr, *unit_norms in units:
        idx = groups.get((level, kato, period, qtr))
        if idx is None:
            continue
        xs = x[idx]
        if len(idx) <= EXACT_MAX:
            # resampling with replacement = multinomial counts of each process; one matrix product, no gather
            n = len(idx)
            draws = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
            counts = np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(float)
            means = (counts @ xs) / n
        else:
            cov = np.cov(xs, rowvar=False) / len(idx)
            # rounded to 12 significant digits: eigh's basis of a degenerate covariance (a constant column) would
            # otherwise turn a last-bit difference of the facts (another engine's order of addition) into other draws
            scale = float(np.abs(cov).max()) or 1.0
            cov = np.round(cov / scale, 12) * scale
            means = rng.multivariate_normal(xs.mean(axis=0), cov, size=b, method="eigh",
                                            check_valid="ignore")
        m = dict(zip(FACT_COLUMNS, means.T, strict=True))
        comp = {"risk_score": m["risk_score"], "non_competitive": m["non_competitive"],
                "conflicts": m["conflict"], "collusion": m["collusion"]}
        with np.errstate(invalid="ignore", divide="ignore"):
            comp["single_bid"] = np.where(m["competitive"] > 0, m["single_bid"] / m["competitive"], np.nan)
            comp["money_at_stake"] = np.where(m["spend"] > 0, m["money_at_stake"] / m["spend"], 0.0)
        total = np.zeros(b)
        wsum = np.zeros(b)
        bd = bounds[(level, period, qtr)]
        for k in PER_PROCESS:
            lo, hi = bd[k]
            if lo is None or hi is None:
                continue
            norm = np.clip((comp[k] - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros(b)
            ok = ~np.isnan(norm)
            total += np.where(ok, weights[k] * np.nan_to_num(norm), 0.0)
            wsum += np.where(ok, weights[k], 0.0)
        for k, norm_v in zip(PER_UNIT, unit_norms, strict=True):
            if norm_v is not None:
                total += weights[k] * norm_v
                wsum += weights[k]
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = np.where(wsum > 0, total / wsum, np.nan)
        lo_q, hi_q = np.nanquantile(boot, [alpha / 2, 1 - alpha / 2])
        out.append((float(lo_q), float(hi_q), level, kato, period, qtr))
    con.execute("CREATE OR REPLACE TEMP TABLE region_ci (ci_low DOUBLE, ci_high DOUBLE, level VARCHAR, kato VARCHAR, "
                "period INTEGER, quarter INTEGER)")
    con.executemany("INSERT INTO region_ci VALUES (?, ?, ?, ?, ?, ?)", out)
    con.execute(RANK_INTERVAL_SQL)


# The bootstrap interval of the index, and the range of ranks it allows: a unit can rank no better than
# 1 + the units whose interval lies wholly above its own, and no worse than the units whose interval reaches
# its own.
RANK_INTERVAL_SQL = """
UPDATE region_index SET ci_low = c.ci_low, ci_high = c.ci_high, rank_best = c.rank_best, rank_worst = c.rank_worst
FROM (
  SELECT a.level, a.kato, a.period, a.quarter, a.ci_low, a.ci_high,
         1 + SUM(CASE WHEN b.kato <> a.kato AND b.ci_low > a.ci_high THEN 1 ELSE 0 END) AS rank_best,
         SUM(CASE WHEN b.kato = a.kato OR b.ci_high >= a.ci_low THEN 1 ELSE 0 END) AS rank_worst
  FROM region_ci AS a JOIN region_ci AS b ON a.level = b.level AND a.period = b.period AND a.quarter = b.quarter
  GROUP BY a.level, a.kato, a.period, a.quarter, a.ci_low, a.ci_high
) AS c
WHERE region_index.level = c.level AND region_index.kato = c.kato AND region_index.period = c.period
  AND region_index.quarter = c.quarter
"""
