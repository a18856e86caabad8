"""KZ010 Decision period too short or too long: the days from the bid deadline to the award."""

from __future__ import annotations

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import PROCS


class Params(BaseParams):
    min_days: int = 1
    """A decision in fewer whole days after the bid deadline is too short (0: the same day)."""
    max_days: int = 60
    """A decision in more whole days is too long."""
    min_bids: int = 2
    """A short decision is flagged only when at least this many bids had to be evaluated."""


INDICATOR = Indicator(
    code="KZ010",
    title="Decision period too short or too long",
    subjects=("process",),
    params=Params,
    tags=("kazakhstan",),
    ctes=PROCS + """,
bid_counts AS (
  SELECT b.ocid, count(*) AS n FROM bids b WHERE b.status IN ('valid', 'pending', 'disqualified') GROUP BY b.ocid
),
decisions AS (
  SELECT p.ocid, p.tender_end_text, min(a.date) AS award_date, max(a.date_text) AS award_date_text,
    CAST(floor((epoch(min(a.date)) - epoch(p.tender_end)) / 86400) AS BIGINT) AS days,
    coalesce(max(c.n), 0) AS n_bids
  FROM procs p JOIN awards a ON a.ocid = p.ocid AND a.status = 'active'
    LEFT JOIN bid_counts c ON c.ocid = p.ocid
  WHERE p.tender_end IS NOT NULL AND a.date IS NOT NULL
  GROUP BY p.ocid, p.tender_end, p.tender_end_text
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, CAST(days AS DOUBLE) AS value,
  to_json({'tender_end': tender_end_text, 'award_date': award_date_text, 'days': days, 'bids': n_bids,
           'too': CASE WHEN days > $max_days THEN 'long' ELSE 'short' END,
           'min_days': $min_days, 'max_days': $max_days}) AS evidence
FROM decisions
WHERE days >= 0 AND (days > $max_days OR (days < $min_days AND n_bids >= $min_bids))""",
    methodology="""The decision period of a process is the number of whole days from its bid deadline
(`tender.tenderPeriod.endDate`) to its first active award's date. A process is flagged when the period is longer
than `max_days`, or shorter than `min_days` while at least `min_bids` bids (pending, valid or disqualified) had to
be evaluated. A negative period is a data error, not flagged.""",
    example="""Bids closed on 1 March at 10:00 with three bids, the award was dated 1 March at 15:00: 0 days, flagged
as too short. An award on 20 May (80 days) is flagged as too long.""",
    why="""A decision taken within hours of the deadline on several bids suggests that the outcome was settled in
advance; a decision long delayed leaves room for negotiation with the bidders and for pressure. The Government
Transparency Institute's corruption risk index includes both extremes of the decision period.""",
    output="""The process (`OCID`) gets its decision period in days. Evidence: the deadline and award date as
published, the days, the bids, which extreme, the parameters.""",
    sources=(
        Source("Fazekas, Tóth and King (2016), An objective corruption risk index using public procurement data "
               "(decision period)", "https://doi.org/10.1007/s10610-016-9308-z"),
        Source("Open Contracting Partnership, Red flags for integrity (2016)",
               "https://www.open-contracting.org/resources/red-flags-integrity-giving-green-light-open-data-solutions/"),
    ),
)
