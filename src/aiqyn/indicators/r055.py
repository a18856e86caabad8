"""R055 Suspicious bid pattern: the bids of a tender stand in fixed increments (a screen for bid rigging).

Cardinal leaves R055 unused; Aiqyn gives it to bid rigging (issue 4). The statistical screens of the bids
(coefficient of variation, relative difference of the two lowest bids) are its evidence.
"""

from __future__ import annotations

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import PRICE_COMPARISON, PROCS, SUBMITTED, org_key


class Params(BaseParams):
    min_bids: int = 3
    """The least number of priced bids in one currency for a tender to be screened: with two bids there is a
    single gap, which says nothing about a pattern."""
    gap_tolerance: float = 0.00005
    """How equal the gaps between consecutive bids must be: the largest and the smallest gap may differ by at
    most this share of the lowest bid (0.00005: 0.005%), or by one tiyn (0.01), whichever is larger."""


INDICATOR = Indicator(
    code="R055",
    title="Bids in fixed increments",
    subjects=("process", "tenderer"),
    params=Params,
    tags=("collusion",),
    ctes=PROCS + """,
priced AS (
  SELECT b.ocid, b.position, b.amount, b.currency
  FROM procs p JOIN bids b ON b.ocid = p.ocid
  WHERE """ + PRICE_COMPARISON + " AND " + SUBMITTED + """
    AND b.amount > 0 AND b.currency IS NOT NULL
),
gaps AS (
  SELECT ocid, currency, position, amount,
    amount - lag(amount) OVER (PARTITION BY ocid, currency ORDER BY amount, position) AS gap,
    row_number() OVER (PARTITION BY ocid, currency ORDER BY amount, position) AS rank_
  FROM priced
),
tenders AS (
  SELECT ocid, currency, count(*) AS n, min(amount) AS lowest, max(amount) AS highest,
    stddev_samp(amount) / avg(amount) AS cv,
    max(CASE WHEN rank_ = 2 THEN amount END) AS second,
    min(gap) AS min_gap, max(gap) AS max_gap
  FROM gaps GROUP BY ocid, currency
  HAVING count(*) >= $min_bids
),
patterned AS (
  SELECT * FROM tenders
  WHERE max_gap - min_gap <= greatest(CAST($gap_tolerance AS DOUBLE) * lowest, 0.01)
),
flagged_tenderers AS (
  SELECT DISTINCT f.ocid, t.party_id
  FROM patterned f JOIN priced b ON b.ocid = f.ocid AND b.currency = f.currency
    JOIN bid_tenderers t ON t.ocid = b.ocid AND t.bid_position = b.position
  WHERE t.party_id IS NOT NULL
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, 1.0 AS value,
  to_json({'currency': min(currency), 'bids': min(n), 'lowest': min(lowest), 'highest': min(highest),
           'gap': min(max_gap), 'cv': min(cv), 'diffp': min((second - lowest) / lowest),
           'gap_tolerance': CAST($gap_tolerance AS DOUBLE)}) AS evidence
FROM patterned GROUP BY ocid
UNION ALL
SELECT 'tenderer', id, CAST(count(DISTINCT ocid) AS DOUBLE),
  to_json({'processes': array_sort(array_distinct(array_agg(ocid)))})
FROM (SELECT ft.ocid, """ + org_key("ft.ocid", "ft.party_id") + """ AS id FROM flagged_tenderers ft) x
GROUP BY id""",
    methodology="""The submitted bids (pending, valid or disqualified) of a tender with an amount, in one currency,
are sorted by amount; the gaps between consecutive bids are computed. A tender with at least `min_bids` such
bids is flagged when all its gaps are equal: the largest and the smallest gap differ by no more than
`gap_tolerance` of the lowest bid, or one tiyn. Bids that are all identical (every gap zero) are a special case
of the pattern. The tenderers of the flagged tender's bids are flagged too, with the number of flagged tenders
they bid in. Processes whose procurement method details do not compare prices are skipped.""",
    example="""Three bids of 1,000,000, 1,030,000 and 1,060,000 tenge (gaps of 30,000 each), or of 500,000.00,
500,000.01 and 500,000.02: flagged. Bids of 1,000,000, 1,030,000 and 1,100,000: not flagged.""",
    why="""Independent bidders price from their own costs, so the distances between their bids are irregular.
Cover bids prepared by a ring are often derived from the designated winner's price by a fixed step (a
percentage, or one tiyn above the previous bid), which leaves the bids in fixed increments. The OECD lists
"bids in fixed increments" and identical bids among the suspicious pricing patterns; screens based on the
distribution of bids (coefficient of variation, difference between the two lowest bids) detect cartels in
procurement data (Imhof; Huber and Imhof).""",
    output="""The process (`OCID`) gets 1.0; each tenderer of its bids (`Tenderer`) gets the number of flagged
tenders it bid in. Evidence: the currency, the number of bids, the lowest and highest bids, the gap, the
coefficient of variation (CV) and the relative difference of the two lowest bids (DIFFP) of the bids, and the
tolerance used; for a tenderer, the processes.""",
    sources=(
        Source("OECD (2009), Guidelines for fighting bid rigging in public procurement: suspicious pricing "
               "patterns", "https://www.oecd.org/competition/cartels/42851044.pdf"),
        Source("Imhof, D. (2017), Simple statistical screens to detect bid rigging, Working Papers SES 484, "
               "University of Fribourg", "https://doc.rero.ch/record/306305"),
        Source("Huber, M. and Imhof, D. (2019), Machine learning with screens for detecting bid-rigging cartels, "
               "International Journal of Industrial Organization 65", "https://doi.org/10.1016/j.ijindorg.2019.04.002"),
    ),
    cardinal_differences="""- Cardinal does not implement R055; Aiqyn uses the code for this bid-rigging screen.""",
)
