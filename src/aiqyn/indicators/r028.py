"""R028 Identical bid prices: different tenderers submitted bids with the same price.

Cardinal: src/indicators/r028.rs; docs/cli/indicators/R/028.md.
"""

from __future__ import annotations

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import PARTY_KEYS, PRICE_COMPARISON, PROCS, SUBMITTED, org_id


class Params(BaseParams):
    pass


INDICATOR = Indicator(
    code="R028",
    title="Identical bid prices",
    subjects=("process", "tenderer"),
    params=Params,
    ctes=PROCS + ",\n" + PARTY_KEYS + """,
bid_rows AS (
  SELECT b.ocid, b.position, b.amount, b.currency, t.party_id
  FROM procs p JOIN bids b ON b.ocid = p.ocid
    JOIN bid_tenderers t ON t.ocid = b.ocid AND t.bid_position = b.position
  WHERE """ + PRICE_COMPARISON + " AND " + SUBMITTED + """
    AND b.amount IS NOT NULL AND b.currency IS NOT NULL AND t.party_id IS NOT NULL
),
-- only an amount that two bids of a process share can be an identical price: the other bids are left out first
repeated AS (
  SELECT ocid, amount, currency FROM bid_rows GROUP BY ocid, amount, currency HAVING min(position) < max(position)
),
priced AS (
  SELECT r.ocid, r.position, r.amount, r.currency,
    array_sort(array_distinct(array_agg(r.party_id))) AS tenderers_key
  FROM bid_rows r JOIN repeated s ON s.ocid = r.ocid AND s.amount = r.amount AND s.currency = r.currency
  GROUP BY r.ocid, r.position, r.amount, r.currency
),
paired AS (
  SELECT ocid, position, amount, currency, tenderers_key,
    lag(tenderers_key) OVER (PARTITION BY ocid, amount, currency ORDER BY position) AS previous_key,
    lag(position) OVER (PARTITION BY ocid, amount, currency ORDER BY position) AS previous_position
  FROM priced
),
same_price AS (
  SELECT ocid, position AS bid_position, amount, currency FROM paired
  WHERE previous_key IS NOT NULL AND tenderers_key <> previous_key
  UNION
  SELECT ocid, previous_position, amount, currency FROM paired
  WHERE previous_key IS NOT NULL AND tenderers_key <> previous_key
),
flagged_tenderers AS (
  SELECT DISTINCT f.ocid, t.party_id
  FROM same_price f JOIN bid_tenderers t ON t.ocid = f.ocid AND t.bid_position = f.bid_position
  WHERE t.party_id IS NOT NULL
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, 1.0 AS value,
  to_json({'bids': array_sort(array_agg({'bid_position': bid_position, 'amount': amount,
                                         'currency': currency}))}) AS evidence
FROM same_price GROUP BY ocid
UNION ALL
SELECT 'tenderer', id, 1.0, to_json({'processes': array_sort(array_distinct(array_agg(ocid)))})
FROM """ + org_id("SELECT ft.ocid, ft.party_id FROM flagged_tenderers ft") + """ x
GROUP BY id""",
    methodology="""A contracting process is flagged when two submitted bids (pending, valid or disqualified) have
the same amount in the same currency and different sets of tenderers. A tenderer may submit several bids at
one price: that alone is not flagged. The tenderers of the bids with the same price are flagged too. Processes
whose procurement method details do not compare prices are skipped.""",
    example="""Tenderers D and V both bid 1,000,000 KZT in one tender: the process, D and V are flagged.""",
    why="""Independent bidders rarely arrive at exactly the same price: identical bids suggest that the bidders
coordinated, or that one party prepared both bids.""",
    output="""The process (`OCID`) and each tenderer (`Tenderer`) of the bids with the same price get 1.0.
Evidence: the bids (their position, amount and currency); for a tenderer, the processes.""",
    sources=(
        Source("Open Contracting Partnership, Cardinal: R028 Identical bid prices",
               "https://cardinal.readthedocs.io/en/latest/cli/indicators/R/028.html"),
        Source("OECD (2009), Guidelines for fighting bid rigging in public procurement: "
               "'identical bids'",
               "https://www.oecd.org/competition/cartels/42851044.pdf"),
    ),
    cardinal_differences="""- **Identifiers.** With Aiqyn's own settings a tenderer is identified across processes
  by its scheme and identifier (`parties.subject_id`) when the release lists it; with a Cardinal INI file, by its
  OCDS id.""",
)
