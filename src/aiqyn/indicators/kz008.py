"""KZ008 Year-end rush: a large share of a buyer's yearly spend goes to December."""

from __future__ import annotations

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.kz import BUYERS, SPEND
from aiqyn.indicators.sql import PROCS


class Params(BaseParams):
    threshold: float = 0.3
    """The share of a buyer's yearly spend in processes started in December from which it is flagged (an even
    spread would give 1/12, 0.08)."""
    min_processes: int = 10
    """Buyer-years with fewer processes are not considered."""


INDICATOR = Indicator(
    code="KZ008",
    title="Year-end rush",
    subjects=("buyer",),
    params=Params,
    tags=("kazakhstan",),
    ctes=PROCS + ",\n" + BUYERS + ",\n" + SPEND + """,
yearly AS (
  SELECT buyer_key, CAST(substr(tender_start_text, 1, 4) AS INTEGER) AS year, count(*) AS n,
    sum(coalesce(amount, 0)) AS total,
    sum(CASE WHEN substr(tender_start_text, 6, 2) = '12' THEN coalesce(amount, 0) ELSE 0 END) AS december,
    sum(CASE WHEN substr(tender_start_text, 6, 2) = '12' THEN 1 ELSE 0 END) AS n_december
  FROM spend WHERE regexp_matches(tender_start_text, '^[0-9]{4}-[0-9]{2}')
  GROUP BY buyer_key, CAST(substr(tender_start_text, 1, 4) AS INTEGER)
),
rushed AS (
  SELECT *, december / total AS share FROM yearly
  WHERE n >= $min_processes AND total > 0 AND december / total >= $threshold
)""",
    select="""SELECT 'buyer' AS subject_type, buyer_key AS subject_id, max(share) AS value,
  to_json({'years': array_agg({'year': year, 'processes': n, 'december_processes': n_december, 'spend': total,
                               'december_spend': december, 'share': share} ORDER BY year),
           'threshold': CAST($threshold AS DOUBLE)}) AS evidence
FROM rushed GROUP BY buyer_key""",
    methodology="""For each buyer and year (of the tender's start date as published), the value of its processes
(active awards' total, else the estimated value) and the part started in December. The buyer is flagged when, in
a year with at least `min_processes` processes, that part reaches `threshold` of the year's value.""",
    example="""An akimat spent 400 million tenge in 2024, 150 million of it in processes opened in December: a
share of 0.375, flagged.""",
    why="""Budget money not spent by 31 December is lost to the buyer; a rush to commit it at the end of the year
means hurried, less competitive purchases of lower value, and is a known window for collusion. The year-end
spike is documented in public spending data (Liebman and Mahoney 2017) and is among the OECD's risk markers.""",
    output="""The buyer (`Buyer`) gets its largest December share. Evidence: the years flagged with their processes,
spend and December share; the threshold.""",
    sources=(
        Source("Liebman and Mahoney (2017), Do expiring budgets lead to wasteful year-end spending? American Economic "
               "Review 107(11)", "https://doi.org/10.1257/aer.20131296"),
        Source("OECD (2016), Preventing corruption in public procurement",
               "https://www.oecd.org/gov/ethics/Corruption-Public-Procurement-Brochure.pdf"),
    ),
)
