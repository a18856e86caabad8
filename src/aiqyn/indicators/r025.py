"""R025 Excessive unsuccessful bids: a tenderer that bids often and almost never wins.

Cardinal: src/indicators/r025.rs; docs/cli/indicators/R/025.md.
"""

from __future__ import annotations

from pydantic import Field

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import PARTY_KEYS, PROCS, SOLE_WINNER, org_id, quantile, quartiles


class Params(BaseParams):
    percentile: int = Field(75, ge=0, le=100)
    """The percentile of the number of processes bid, above which a tenderer is considered (upper fence)."""
    threshold: float | None = None
    """The maximum ratio of wins to processes flagged; default: the lower fence, Q1 - 1.5 × IQR."""


INDICATOR = Indicator(
    code="R025",
    title="Excessive unsuccessful bids",
    subjects=("tenderer",),
    params=Params,
    ctes=PROCS + ",\n" + PARTY_KEYS + ",\n" + SOLE_WINNER + """,
bidders AS (
  SELECT DISTINCT ocid, id, won FROM """ + org_id("""SELECT w.ocid, sb.tenderer_id AS party_id,
    CASE WHEN sb.tenderer_id = w.supplier_id THEN 1 ELSE 0 END AS won
  FROM sole_winner w JOIN single_bids sb ON sb.ocid = w.ocid
  WHERE sb.status = 'valid' AND sb.n_tenderers = 1 AND sb.tenderer_id IS NOT NULL""") + """ x
),
fractions AS (
  SELECT id, sum(won) AS wins, count(*) AS processes, sum(won) * 1.0 / count(*) AS ratio,
    array_sort(array_agg(ocid)) AS ocids
  FROM bidders GROUP BY id
),
process_counts AS (SELECT 'all' AS g, CAST(processes AS DOUBLE) AS v FROM fractions),
""" + quantile("upper", "process_counts", "$percentile / 100.0") + """,
ratio_values AS (SELECT 'all' AS g, ratio AS v FROM fractions),
""" + quartiles("ratio_values") + """,
fence AS (
  SELECT upper.q AS upper_fence,
    CASE WHEN $threshold IS NULL THEN q1.q - 1.5 * (q3.q - q1.q) ELSE CAST($threshold AS DOUBLE) END AS lower_fence,
    CASE WHEN $threshold IS NULL THEN q1.q ELSE 1.0 END AS q1_guard, q1.q AS q1, q3.q AS q3
  FROM (SELECT 'all' AS g) d LEFT JOIN upper ON upper.g = d.g LEFT JOIN q1 ON q1.g = d.g
    LEFT JOIN q3 ON q3.g = d.g
)""",
    select="""SELECT 'tenderer' AS subject_type, id AS subject_id, ratio AS value,
  to_json({'wins': wins, 'processes': processes, 'process_ids': ocids, 'upper_fence': upper_fence,
              'lower_fence': lower_fence, 'percentile': $percentile}) AS evidence
FROM fractions CROSS JOIN fence
WHERE q1_guard > 0 AND lower_fence > 0 AND processes >= upper_fence AND ratio <= lower_fence""",
    meta="""SELECT 'q1' AS key, q1 AS value FROM fence WHERE $threshold IS NULL
UNION ALL SELECT 'q3', q3 FROM fence WHERE $threshold IS NULL
UNION ALL SELECT 'upper_fence', upper_fence FROM fence
UNION ALL SELECT 'lower_fence', lower_fence FROM fence""",
    methodology="""For each tenderer, the processes it bid in (a valid bid by it alone) and the processes it won,
among processes whose awards are all final with exactly one active award to exactly one supplier. A tenderer
is flagged when it bid in at least as many processes as the upper fence (the `percentile`-th percentile of
the numbers of processes bid) and its ratio of wins to processes is at most the lower fence (`threshold` when
set, else Q1 − 1.5 × IQR of the ratios). Nothing is flagged when Q1 or the lower fence is not positive.""",
    example="""Tenderers win between 40% and 60% of the processes they bid in (Q1 0.4, Q3 0.6, lower fence 0.1);
one tenderer bid in 20 processes, more than 75% of tenderers did, and won 1 (ratio 0.05): it is flagged.""",
    why="""A company that keeps bidding and keeps losing may be providing cover bids for a cartel, so that the
designated winner appears to face competition.""",
    output="""The tenderer (`Tenderer`) gets its ratio of wins to processes bid. Evidence: the wins, the
processes, both fences.""",
    sources=(
        Source("Open Contracting Partnership, Cardinal: R025 Excessive unsuccessful bids",
               "https://cardinal.readthedocs.io/en/latest/cli/indicators/R/025.html"),
        Source("OECD (2009), Guidelines for fighting bid rigging in public procurement",
               "https://www.oecd.org/competition/cartels/42851044.pdf"),
    ),
    cardinal_differences="""- **Identifiers.** With Aiqyn's own settings a tenderer is identified across processes
  by its scheme and identifier (`parties.subject_id`) when the release lists it; with a Cardinal INI file, by its
  OCDS id (which Cardinal expects `prepare` to have made global).""",
)
