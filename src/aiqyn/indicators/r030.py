"""R030 Late bid won: a bid submitted after the submission deadline won.

Cardinal: src/indicators/r030.rs; docs/cli/indicators/R/030.md.
"""

from __future__ import annotations

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import PARTY_KEYS, PROCS, org_id


class Params(BaseParams):
    pass


INDICATOR = Indicator(
    code="R030",
    title="Late bid won",
    subjects=("process", "tenderer"),
    params=Params,
    ctes=PROCS + ",\n" + PARTY_KEYS + """,
winners AS (
  SELECT DISTINCT s.ocid, s.party_id
  FROM awards a JOIN award_suppliers s ON s.ocid = a.ocid AND s.award_position = a.position
  WHERE a.status = 'active' AND s.party_id IS NOT NULL
),
late AS (
  SELECT p.ocid, t.party_id, b.position, b.date_text, p.tender_end_text
  FROM procs p JOIN bids b ON b.ocid = p.ocid
    JOIN bid_tenderers t ON t.ocid = b.ocid AND t.bid_position = b.position
    JOIN winners w ON w.ocid = p.ocid AND w.party_id = t.party_id
  WHERE b.status = 'valid' AND b.date_text IS NOT NULL AND p.tender_end_text IS NOT NULL
    AND (CASE WHEN $cardinal THEN b.date_text > p.tender_end_text ELSE b.date > p.tender_end END)
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, 1.0 AS value,
  to_json({'deadline': max(tender_end_text),
           'bids': array_sort(array_agg({'bid_position': position, 'date': date_text, 'tenderer': party_id}))})
    AS evidence
FROM late GROUP BY ocid
UNION ALL
SELECT 'tenderer', id, 1.0, to_json({'processes': array_sort(array_distinct(array_agg(ocid)))})
FROM """ + org_id("SELECT l.ocid, l.party_id FROM late l") + """ x
GROUP BY id""",
    methodology="""A contracting process is flagged when a valid bid is dated after the end of the submission
period (`tender.tenderPeriod.endDate`) and one of its tenderers is a supplier of an active award. That
tenderer is flagged too.""",
    example="""The submission period ended on 15 March; the winner's bid is dated 1 April: the process and the
winner are flagged. A late bid by a losing tenderer is not flagged.""",
    why="""Accepting a bid after the deadline, and awarding it, breaks the equal treatment of bidders: the late
bidder may have seen the other bids first.""",
    output="""The process (`OCID`) and the winning late tenderer (`Tenderer`) get 1.0. Evidence: the deadline
and the late bids (date and tenderer).""",
    sources=(
        Source("Open Contracting Partnership, Cardinal: R030 Late bid won",
               "https://cardinal.readthedocs.io/en/latest/cli/indicators/R/030.html"),
        Source("Open Contracting Partnership, Red flags for integrity (2016), flag 'Late bid accepted'",
               "https://www.open-contracting.org/resources/red-flags-integrity-giving-green-light-open-data-solutions/"),
    ),
    cardinal_differences="""- **Dates compared as text.** Cardinal compares the bid's date and the deadline as text:
  `2024-03-11T09:30:00+06:00` (03:30 UTC) sorts after `2024-03-11T05:00:00Z` and is taken as late although it was
  submitted 90 minutes early; dates published with different offsets or precision are compared wrongly. With
  Aiqyn's own settings the two dates are compared as instants (time zones applied). With a Cardinal INI file the
  text comparison is kept.
- **Identifiers.** With Aiqyn's own settings a tenderer is identified across processes by its scheme and
  identifier (`parties.subject_id`) when the release lists it; with a Cardinal INI file, by its OCDS id.""",
)
