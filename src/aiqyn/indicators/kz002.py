"""KZ002 Purchase splitting: one buyer buys one goods code in several purchases, each under a threshold, within a
window, that together exceed it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from aiqyn.indicators.base import BaseParams, Indicator, Source, split_pipes
from aiqyn.indicators.kz import BUYERS, MCI_2024
from aiqyn.indicators.sql import PROCS


class Params(BaseParams):
    threshold_kzt: float = 4_000 * MCI_2024
    """The threshold each purchase stays under and the group exceeds: 4,000 MCI (the ceiling of a request for
    price proposals), at the 2024 MCI of 3,692 tenge. Set it to the MCI of the year analysed."""
    window_days: int = 30
    """The purchases of a group start within this many days of the first."""
    min_share: float = 0.5
    """Each purchase of a group is worth at least this share of the threshold: a purchase far below it is not
    a part of a split one (a loaf of bread is not a split purchase)."""
    full_procedure_method_details: list[str] = Field(default_factory=lambda: ["Открытый конкурс", "Аукцион"])
    """`tender.procurementMethodDetails` of the full competitive procedures the threshold protects: a purchase
    made through one of them avoided nothing and is not part of a split."""

    @field_validator("full_procedure_method_details", mode="before")
    @classmethod
    def _pipes(cls, value: Any) -> Any:
        return split_pipes(value)


INDICATOR = Indicator(
    code="KZ002",
    title="Purchase splitting",
    subjects=("process", "buyer"),
    params=Params,
    tags=("kazakhstan",),
    ctes=PROCS + ",\n" + BUYERS + """,
purchases AS (
  SELECT b.ocid, b.buyer_key, b.tender_start, b.tender_start_text, b.estimated_amount, i.classification_id AS code
  FROM buyers b JOIN items i ON i.ocid = b.ocid AND i.section = 'tender'
  WHERE b.tender_start IS NOT NULL AND b.estimated_amount IS NOT NULL
    AND b.estimated_amount < $threshold_kzt AND b.estimated_amount >= $min_share * $threshold_kzt
    AND i.classification_id IS NOT NULL
    AND (b.method_details IS NULL
         OR NOT array_contains(CAST($full_procedure_method_details AS VARCHAR[]), b.method_details))
  GROUP BY b.ocid, b.buyer_key, b.tender_start, b.tender_start_text, b.estimated_amount, i.classification_id
),
windows AS (
  SELECT a.ocid AS anchor, a.buyer_key, a.code, q.ocid, q.estimated_amount, q.tender_start_text
  FROM purchases a JOIN purchases q ON q.buyer_key = a.buyer_key AND q.code = a.code
    AND q.tender_start >= a.tender_start
    AND epoch(q.tender_start) - epoch(a.tender_start) <= $window_days * 86400
),
groups AS (
  SELECT anchor, buyer_key, code, count(*) AS n, sum(estimated_amount) AS total,
    array_sort(array_agg(ocid)) AS members
  FROM windows GROUP BY anchor, buyer_key, code
  HAVING count(*) >= 2 AND sum(estimated_amount) > $threshold_kzt
),
flagged AS (
  SELECT w.ocid, w.buyer_key, w.code, arg_max(g.n, g.total) AS n, max(g.total) AS total,
    arg_max(g.members, g.total) AS members
  FROM groups g JOIN windows w ON w.anchor = g.anchor AND w.code = g.code AND w.buyer_key = g.buyer_key
  GROUP BY w.ocid, w.buyer_key, w.code
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, max(total) AS value,
  to_json({'buyer': max(buyer_key), 'codes': array_sort(array_agg(code)), 'group_total': max(total),
           'group_size': arg_max(n, total), 'group': arg_max(members, total),
           'threshold_kzt': CAST($threshold_kzt AS DOUBLE), 'window_days': $window_days}) AS evidence
FROM flagged GROUP BY ocid
UNION ALL
SELECT 'buyer', buyer_key, CAST(count(DISTINCT ocid) AS DOUBLE),
  to_json({'processes': array_sort(array_distinct(array_agg(ocid))),
           'codes': array_sort(array_distinct(array_agg(code))), 'threshold_kzt': CAST($threshold_kzt AS DOUBLE)})
FROM flagged GROUP BY buyer_key""",
    methodology="""A purchase is a process in scope with a tender start date and an estimated value under
`threshold_kzt` but at least `min_share` of it, not made through a full procedure
(`full_procedure_method_details`), for each goods code (`items.classification_id` of its tender
items). For every purchase, the purchases of the same buyer and code that start within `window_days` after it form
a group; a group of two or more worth together more than `threshold_kzt` is a split purchase. Its processes are
flagged, and so is the buyer.""",
    example="""A school buys coal (one code) for 11, 12 and 9 million tenge on 3, 10 and 25 March: each is under
14,768,000 tenge (4,000 MCI) and at least half of it, together 32 million: the three processes and the school are
flagged. A purchase in May starts a new window.""",
    why="""Procedures are lighter under thresholds set in MCI (a request for price proposals, fewer checks): a
buyer that cuts one need into pieces under the threshold avoids the open tender the whole would require, often
to direct the pieces to a chosen supplier. Kazakhstan's procurement law forbids splitting a purchase to change
its method; the OECD lists it among the typical schemes.""",
    output="""Each process of a split group (`OCID`) gets the group's total (its largest group's, when it is in
several); the buyer (`Buyer`) gets the number
of its flagged processes. Evidence: the buyer, the codes, the group (its ocids, size and total), the threshold
and window.""",
    sources=(
        Source("Law of the Republic of Kazakhstan of 1 July 2024 No. 106-VIII On public procurement (prohibition "
               "of splitting purchases to change the method)", "https://adilet.zan.kz/rus/docs/Z2400000106"),
        Source("OECD (2016), Preventing corruption in public procurement: 'splitting of purchases'",
               "https://www.oecd.org/gov/ethics/Corruption-Public-Procurement-Brochure.pdf"),
    ),
)
