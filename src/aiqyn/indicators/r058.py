"""R058 Heavily discounted bid: the winning bid is far below the second-lowest valid bid.

Cardinal: src/indicators/r058.rs (with SecondLowestBidRatio in util.rs); docs/cli/indicators/R/058.md.
"""

from __future__ import annotations

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import PARTY_KEYS, PROCS, RATIOS, org_id, quartiles
from aiqyn.indicators.texts import RATIO_DIFFERENCES, RATIO_METHOD


class Params(BaseParams):
    threshold: float | None = None
    """The minimum ratio flagged; default: the upper fence of the ratios, Q3 + 1.5 × IQR."""


INDICATOR = Indicator(
    code="R058",
    title="Heavily discounted bid",
    subjects=("process", "tenderer"),
    params=Params,
    ctes=PROCS + ",\n" + PARTY_KEYS + ",\n" + RATIOS + """,
ratio_values AS (SELECT 'all' AS g, ratio AS v FROM ratios),
""" + quartiles("ratio_values") + """,
fence AS (
  SELECT coalesce(CAST($threshold AS DOUBLE), q3.q + 1.5 * (q3.q - q1.q)) AS upper_fence, q1.q AS q1, q3.q AS q3
  FROM (SELECT 'all' AS g) d LEFT JOIN q1 ON q1.g = d.g LEFT JOIN q3 ON q3.g = d.g
),
flagged AS (
  SELECT r.*, f.upper_fence FROM ratios r CROSS JOIN fence f
  WHERE f.upper_fence > 0 AND r.ratio >= f.upper_fence
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, ratio AS value,
  to_json({'winner': winner, 'winner_amount': winner_amount, 'runner_up': runner_up,
              'runner_up_amount': runner_up_amount, 'currency': currency, 'ratio': ratio,
              'upper_fence': upper_fence}) AS evidence
FROM flagged
UNION ALL
SELECT 'tenderer', id, 0.0,
  to_json({'processes': array_sort(array_distinct(array_agg(ocid))), 'upper_fence': max(upper_fence)})
FROM """ + org_id("SELECT f.ocid, f.winner AS party_id, f.upper_fence FROM flagged f") + """ x
GROUP BY id""",
    meta="""SELECT 'q1' AS key, q1 AS value FROM fence WHERE $threshold IS NULL
UNION ALL SELECT 'q3', q3 FROM fence WHERE $threshold IS NULL
UNION ALL SELECT 'upper_fence', upper_fence FROM fence""",
    methodology=RATIO_METHOD + """

A process is flagged when its ratio is at least the upper fence: `threshold` when set, else Q3 + 1.5 × IQR of
all the ratios. Nothing is flagged when the fence is not positive.""",
    example="""Winning bid 1, second-lowest 101: the ratio is 100. Among processes whose ratios have Q1 0.02 and
Q3 0.1 (upper fence 0.1 + 1.5 × 0.08 = 0.22), it is flagged.""",
    why="""A winning bid far below every other bid suggests that the winner expects to recover the difference
later (contract amendments, poor delivery), or knew something the others did not.""",
    output="""The process (`OCID`) gets its ratio; the winner (`Tenderer`) gets 0.0. Evidence: both tenderers and
amounts, the currency, the fence.""",
    sources=(
        Source("Open Contracting Partnership, Cardinal: R058 Heavily discounted bid",
               "https://cardinal.readthedocs.io/en/latest/cli/indicators/R/058.html"),
        Source("European Union, Directive 2014/24/EU on public procurement, Article 69: abnormally low tenders",
               "https://eur-lex.europa.eu/eli/dir/2014/24/oj"),
    ),
    cardinal_differences=RATIO_DIFFERENCES,
)
