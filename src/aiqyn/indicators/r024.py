"""R024 Price close to winning bid: the second-lowest valid bid is suspiciously close to the winning bid.

Cardinal: src/indicators/r024.rs (with SecondLowestBidRatio in util.rs); docs/cli/indicators/R/024.md.
"""

from __future__ import annotations

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import PARTY_KEYS, PROCS, RATIOS, org_id, quartiles
from aiqyn.indicators.texts import RATIO_DIFFERENCES, RATIO_METHOD


class Params(BaseParams):
    threshold: float | None = None
    """The maximum ratio flagged; default: the lower fence of the ratios, Q1 - 1.5 × IQR."""


INDICATOR = Indicator(
    code="R024",
    title="Price close to winning bid",
    subjects=("process", "tenderer"),
    params=Params,
    ctes=PROCS + ",\n" + PARTY_KEYS + ",\n" + RATIOS + """,
ratio_values AS (SELECT 'all' AS g, ratio AS v FROM ratios),
""" + quartiles("ratio_values") + """,
fence AS (
  SELECT CASE WHEN $threshold IS NULL THEN q1.q - 1.5 * (q3.q - q1.q) ELSE CAST($threshold AS DOUBLE) END
           AS lower_fence,
         CASE WHEN $threshold IS NULL THEN q1.q ELSE 1.0 END AS q1_guard, q1.q AS q1, q3.q AS q3
  FROM (SELECT 'all' AS g) d LEFT JOIN q1 ON q1.g = d.g LEFT JOIN q3 ON q3.g = d.g
),
flagged AS (
  SELECT r.*, f.lower_fence FROM ratios r CROSS JOIN fence f
  WHERE f.q1_guard > 0 AND f.lower_fence > 0 AND r.ratio <= f.lower_fence
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, ratio AS value,
  to_json({'winner': winner, 'winner_amount': winner_amount, 'runner_up': runner_up,
              'runner_up_amount': runner_up_amount, 'currency': currency, 'ratio': ratio,
              'lower_fence': lower_fence}) AS evidence
FROM flagged
UNION ALL
SELECT 'tenderer', id, 0.0,
  to_json({'processes': array_sort(array_distinct(array_agg(ocid))), 'lower_fence': max(lower_fence)})
FROM """ + org_id("""SELECT f.ocid, f.winner AS party_id, f.lower_fence FROM flagged f
      UNION ALL
      SELECT f.ocid, f.runner_up, f.lower_fence FROM flagged f""") + """ x
GROUP BY id""",
    meta="""SELECT 'q1' AS key, q1 AS value FROM fence WHERE $threshold IS NULL
UNION ALL SELECT 'q3', q3 FROM fence WHERE $threshold IS NULL
UNION ALL SELECT 'lower_fence', lower_fence FROM fence""",
    methodology=RATIO_METHOD + """

A process is flagged when its ratio is at most the lower fence: `threshold` when set, else Q1 − 1.5 × IQR of
all the ratios. Nothing is flagged when Q1 or the fence is not positive (otherwise, when most processes have
equal bids, most would be flagged).""",
    example="""Winning bid 100, second-lowest 100.5: the ratio is 0.005. Among processes whose ratios have Q1 0.22
and Q3 0.28 (lower fence 0.22 − 1.5 × 0.06 = 0.13), it is flagged.""",
    why="""Bids that trail the winner by a hair suggest cover bidding: losing bidders who priced just above an
agreed winner (bid rigging).""",
    output="""The process (`OCID`) gets its ratio; the winner and the second-lowest tenderer (`Tenderer`) get
0.0. Evidence: both tenderers and amounts, the currency, the fence.""",
    sources=(
        Source("Open Contracting Partnership, Cardinal: R024 Price close to winning bid",
               "https://cardinal.readthedocs.io/en/latest/cli/indicators/R/024.html"),
        Source("OECD (2009), Guidelines for fighting bid rigging in public procurement",
               "https://www.oecd.org/competition/cartels/42851044.pdf"),
    ),
    cardinal_differences=RATIO_DIFFERENCES,
)
