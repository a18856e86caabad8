"""The price analytics as SQL: one definition each, over the store's tables and the price tables.

DuckDB dialect kept to what sqlglot transpiles to Apache Spark with Spark's own functions (a test checks
it): quartiles are computed from row numbers (the R-7 estimator, DuckDB's quantile_cont), not with
engine-specific aggregate functions. Parameters are validated numbers rendered into the text.
"""

from __future__ import annotations

from dataclasses import dataclass

# The unit of an item as published: its name, else its code in its scheme ("MKEI 796"), else ''.
UNIT_NAME = "coalesce(nullif(trim({t}.unit_name), ''), {t}.unit_scheme || ' ' || {t}.unit_id, '')"

# The sections of a process from the latest to the earliest: the price paid is the contract's; a plan's price
# (a goszakup plan point) is what is about to be spent.
UNIT_PRICES = """
WITH live_items AS (
  SELECT i.*, CASE i.section WHEN 'contract' THEN 1 WHEN 'award' THEN 2 WHEN 'tender' THEN 3 ELSE 4 END AS stage,
    """ + UNIT_NAME.format(t="i") + """ AS published_unit
  FROM items i
  WHERE (i.section = 'contract' AND NOT EXISTS (
           SELECT 1 FROM contracts c
           WHERE c.ocid = i.ocid AND c.contract_id = i.parent_id AND c.status = 'cancelled'))
     OR (i.section = 'award' AND NOT EXISTS (
           SELECT 1 FROM awards a
           WHERE a.ocid = i.ocid AND a.award_id = i.parent_id AND a.status IN ('cancelled', 'unsuccessful')))
     OR (i.section = 'tender' AND NOT EXISTS (
           SELECT 1 FROM processes t
           WHERE t.ocid = i.ocid AND t.status IN ('cancelled', 'unsuccessful', 'withdrawn')))
     OR (i.section = 'planning' AND NOT EXISTS (
           SELECT 1 FROM processes t WHERE t.ocid = i.ocid AND t.status IN ('cancelled', 'withdrawn')))
),
latest AS (SELECT ocid, min(stage) AS stage FROM live_items GROUP BY ocid)
SELECT
  li.ocid, li.section, li.parent_id, li.position, li.item_id, li.classification_id, li.description,
  li.published_unit AS unit_name,
  u.unit,
  li.quantity * u.factor AS quantity,
  li.unit_price / u.factor AS unit_price,
  li.quantity * li.unit_price AS amount,
  CASE WHEN length(p.region_code) >= 2 THEN concat(substr(p.region_code, 1, 2), '0000000') ELSE '' END
    AS region_code,
  coalesce(p.year, 0) AS year,
  p.buyer_id,
  m.ceiling_price,
  m.ref_id,
  m.score AS match_score
FROM live_items li
JOIN latest l ON l.ocid = li.ocid AND l.stage = li.stage
JOIN processes p ON p.ocid = li.ocid
JOIN price_units u ON u.unit_name = li.published_unit
LEFT JOIN medicine_matches m
  ON m.classification_id = li.classification_id AND m.description = li.description
  AND m.unit_name = li.published_unit AND m.unit_comparable
WHERE li.unit_price > 0 AND li.quantity > 0 AND li.unit_currency = 'KZT'
  AND li.classification_id IS NOT NULL AND li.classification_id <> ''
"""


def _quantile(tau: float, name: str) -> str:
    """Conditional aggregates over ranked rows (v, i, n, one group per GROUP BY): the R-7 quantile
    h = (n - 1) tau + 1, x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h])."""
    h = f"((n - 1) * {tau} + 1)"
    lo = f"max(CASE WHEN i = floor({h}) THEN v END)"
    hi = f"coalesce(max(CASE WHEN i = floor({h}) + 1 THEN v END), {lo})"
    return f"{lo} + (max({h}) - floor(max({h}))) * ({hi} - {lo}) AS {name}"


BENCHMARKS_TEMPLATE = """
WITH levels AS (
  SELECT classification_id, unit, 'region-year' AS level, region_code, year, unit_price AS v
  FROM unit_prices WHERE region_code <> ''
  UNION ALL
  SELECT classification_id, unit, 'country-year' AS level, '' AS region_code, year, unit_price AS v
  FROM unit_prices
  UNION ALL
  SELECT classification_id, unit, 'country' AS level, '' AS region_code, 0 AS year, unit_price AS v
  FROM unit_prices
),
ranked AS (
  SELECT classification_id, unit, level, region_code, year, v,
    row_number() OVER (PARTITION BY classification_id, unit, level, region_code, year ORDER BY v) AS i,
    count(*) OVER (PARTITION BY classification_id, unit, level, region_code, year) AS n
  FROM levels
),
quartiles AS (
  SELECT classification_id, unit, level, region_code, year, max(n) AS n,
    {q1},
    {median},
    {q3}
  FROM ranked
  WHERE i BETWEEN floor((n - 1) * 0.25 + 1) AND floor((n - 1) * 0.75 + 1) + 1
  GROUP BY classification_id, unit, level, region_code, year
)
SELECT classification_id, unit, level, region_code, year, n, q1, median, q3,
  CASE WHEN q1 > 0 THEN q3 * power(q3 / q1, {fence}) END AS upper_fence
FROM quartiles
"""

FINDINGS_TEMPLATE = """
WITH b AS (SELECT * FROM price_benchmarks WHERE n >= {min_sample}),
chosen AS (
  SELECT u.*,
    CASE WHEN ry.n IS NOT NULL THEN 'region-year' WHEN cy.n IS NOT NULL THEN 'country-year'
         WHEN c.n IS NOT NULL THEN 'country' END AS level,
    CASE WHEN ry.n IS NOT NULL THEN ry.region_code WHEN cy.n IS NOT NULL THEN cy.region_code
         ELSE c.region_code END AS b_region,
    CASE WHEN ry.n IS NOT NULL THEN ry.year WHEN cy.n IS NOT NULL THEN cy.year ELSE c.year END AS b_year,
    CASE WHEN ry.n IS NOT NULL THEN ry.n WHEN cy.n IS NOT NULL THEN cy.n ELSE c.n END AS b_n,
    CASE WHEN ry.n IS NOT NULL THEN ry.median WHEN cy.n IS NOT NULL THEN cy.median ELSE c.median END AS b_median,
    CASE WHEN ry.n IS NOT NULL THEN ry.upper_fence WHEN cy.n IS NOT NULL THEN cy.upper_fence
         ELSE c.upper_fence END AS b_fence
  FROM unit_prices u
  LEFT JOIN b ry ON ry.level = 'region-year' AND ry.classification_id = u.classification_id
    AND ry.unit = u.unit AND ry.region_code = u.region_code AND ry.year = u.year
  LEFT JOIN b cy ON cy.level = 'country-year' AND cy.classification_id = u.classification_id
    AND cy.unit = u.unit AND cy.year = u.year
  LEFT JOIN b c ON c.level = 'country' AND c.classification_id = u.classification_id AND c.unit = u.unit
),
judged AS (
  SELECT chosen.*,
    CASE WHEN ceiling_price IS NOT NULL AND unit_price > ceiling_price * (1 + {ceiling_tolerance})
           THEN 'ceiling'
         WHEN b_median IS NOT NULL AND b_fence IS NOT NULL AND unit_price > b_fence
              AND unit_price > b_median * (1 + {min_excess})
           THEN 'benchmark'
    END AS basis
  FROM chosen
)
SELECT ocid, section, parent_id, position, item_id, buyer_id, region_code, year, classification_id,
  description, unit, quantity, unit_price, basis,
  CASE WHEN basis = 'ceiling' THEN ceiling_price ELSE b_median END AS benchmark_price,
  CASE WHEN basis = 'ceiling' THEN 'ceiling' ELSE level END AS benchmark_level,
  CASE WHEN basis = 'benchmark' THEN b_region END AS benchmark_region,
  CASE WHEN basis = 'benchmark' THEN b_year END AS benchmark_year,
  CASE WHEN basis = 'benchmark' THEN b_n END AS benchmark_n,
  CASE WHEN basis = 'benchmark' THEN b_fence END AS upper_fence,
  CASE WHEN basis = 'ceiling' THEN ref_id END AS ref_id,
  CASE WHEN basis = 'ceiling' THEN match_score END AS match_score,
  unit_price / (CASE WHEN basis = 'ceiling' THEN ceiling_price ELSE b_median END) AS ratio,
  (unit_price - CASE WHEN basis = 'ceiling' THEN ceiling_price ELSE b_median END) * quantity AS money_at_stake
FROM judged
WHERE basis IS NOT NULL
"""


@dataclass(frozen=True)
class PriceParams:
    """The benchmark rule and the finding thresholds (docs/prices.md explains each)."""

    min_sample: int = 100  # purchases a benchmark needs; below, the next wider level is used
    fence: float = 1.5  # k of the outlier fence Q3 x (Q3/Q1)^k (Tukey's fence on log prices)
    min_excess: float = 0.25  # a benchmark finding needs a price at least 25% above the median too
    ceiling_tolerance: float = 0.0  # a medicine above its ceiling by more than this share is a finding
    match_score: float = 85.0  # minimum rapidfuzz score of a medicine match

    def check(self) -> None:
        if self.min_sample < 1:
            raise ValueError(f"min_sample must be at least 1, not {self.min_sample}")
        for name in ("fence", "min_excess", "ceiling_tolerance"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, not {getattr(self, name)}")
        if not 0 <= self.match_score <= 100:
            raise ValueError(f"match_score must be within 0-100, not {self.match_score}")


def benchmarks_sql(params: PriceParams) -> str:
    return BENCHMARKS_TEMPLATE.format(
        q1=_quantile(0.25, "q1"), median=_quantile(0.5, "median"), q3=_quantile(0.75, "q3"),
        fence=float(params.fence),
    )


def findings_sql(params: PriceParams) -> str:
    return FINDINGS_TEMPLATE.format(
        min_sample=int(params.min_sample), min_excess=float(params.min_excess),
        ceiling_tolerance=float(params.ceiling_tolerance),
    )


def queries(params: PriceParams) -> dict[str, str]:
    """Every query by the table it fills, in order."""
    return {"unit_prices": UNIT_PRICES, "price_benchmarks": benchmarks_sql(params),
            "price_findings": findings_sql(params)}
