"""R036 Lowest bid disqualified: the lowest bid was disqualified, and a higher valid bid remained.

Cardinal: src/indicators/r036.rs; docs/cli/indicators/R/036.md.
"""

from __future__ import annotations

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import CURRENCY, PRICE_COMPARISON, PROCS, SUBMITTED


class Params(BaseParams):
    pass


INDICATOR = Indicator(
    code="R036",
    title="Lowest bid disqualified",
    subjects=("process",),
    params=Params,
    ctes=PROCS + ",\n" + CURRENCY + """,
awarded AS (SELECT DISTINCT ocid FROM awards WHERE status = 'active'),
priced AS (
  SELECT b.ocid, b.position, b.status, b.amount, b.currency
  FROM procs p JOIN awarded a ON a.ocid = p.ocid JOIN bids b ON b.ocid = p.ocid CROSS JOIN cur
  WHERE """ + PRICE_COMPARISON + " AND " + SUBMITTED + """
    AND b.amount IS NOT NULL AND b.currency = cur.currency
),
ranked AS (
  SELECT *, row_number() OVER (PARTITION BY ocid ORDER BY amount, position) AS k,
    min(CASE WHEN status = 'valid' THEN amount END) OVER (PARTITION BY ocid) AS lowest_valid
  FROM priced
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, 1.0 AS value,
  to_json({'lowest_bid_position': position, 'lowest_amount': amount, 'lowest_valid_amount': lowest_valid,
              'currency': currency}) AS evidence
FROM ranked WHERE k = 1 AND status = 'disqualified' AND lowest_valid IS NOT NULL""",
    methodology="""Among processes with at least one active award, a process is flagged when its lowest submitted
bid (pending, valid or disqualified; the first one on a tie) in the compared currency was disqualified and at
least one valid bid has an amount. Processes whose procurement method details do not compare prices are
skipped.""",
    example="""Bids of 1 (disqualified) and 2 (valid), an active award: the process is flagged.""",
    why="""Disqualifying the cheapest bid raises the price the buyer pays; when it happens without a good
reason, it favours a chosen, more expensive bidder.""",
    output="""The process (`OCID`) gets 1.0. Evidence: the lowest bid (position, amount), the lowest valid
amount, the currency.""",
    sources=(
        Source("Open Contracting Partnership, Cardinal: R036 Lowest bid disqualified",
               "https://cardinal.readthedocs.io/en/latest/cli/indicators/R/036.html"),
        Source("Open Contracting Partnership, Red flags for integrity (2016), flag 'Lowest bidder disqualified'",
               "https://www.open-contracting.org/resources/red-flags-integrity-giving-green-light-open-data-solutions/"),
    ),
    cardinal_differences="""- **Currency.** Without a `currency` setting, Cardinal compares bids in the first currency
  it happens to read (not deterministic, as it reads in parallel); Aiqyn, in both modes, takes the most common
  currency of the bids, then the first in alphabetical order.""",
)
