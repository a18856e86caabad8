"""R035 All except winning bid disqualified: every other tenderer's bids were disqualified.

Cardinal: src/indicators/r035.rs; docs/cli/indicators/R/035.md.
"""

from __future__ import annotations

from pydantic import Field

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import AWARD_STATE, PARTY_KEYS, PROCS, org_id


class Params(BaseParams):
    threshold: int = Field(1, ge=0)
    """The minimum number of tenderers whose bids were disqualified (values below 1 count as 1)."""


INDICATOR = Indicator(
    code="R035",
    title="All except winning bid disqualified",
    subjects=("process", "tenderer"),
    params=Params,
    ctes=PROCS + ",\n" + PARTY_KEYS + ",\n" + AWARD_STATE + """,
final AS (
  SELECT p.ocid FROM procs p JOIN award_state w ON w.ocid = p.ocid WHERE w.n_pending = 0
),
suppliers AS (
  SELECT s.ocid, count(DISTINCT s.party_id) AS n, max(s.party_id) AS id
  FROM final f JOIN awards a ON a.ocid = f.ocid
    JOIN award_suppliers s ON s.ocid = a.ocid AND s.award_position = a.position
  WHERE a.status = 'active' AND s.party_id IS NOT NULL GROUP BY s.ocid
),
bidders AS (
  SELECT DISTINCT b.ocid, b.status, t.party_id
  FROM final f JOIN bids b ON b.ocid = f.ocid
    JOIN bid_tenderers t ON t.ocid = b.ocid AND t.bid_position = b.position
  WHERE b.status IN ('valid', 'disqualified') AND t.party_id IS NOT NULL
),
valid AS (
  SELECT ocid, count(*) AS n, max(party_id) AS id FROM bidders WHERE status = 'valid' GROUP BY ocid
),
disqualified AS (
  SELECT d.ocid, count(*) AS n, array_sort(array_agg(d.party_id)) AS ids
  FROM bidders d JOIN valid v ON v.ocid = d.ocid
  WHERE d.status = 'disqualified' AND d.party_id <> v.id GROUP BY d.ocid
),
flagged AS (
  SELECT v.ocid, v.id AS winner, d.n AS disqualified, d.ids
  FROM valid v JOIN suppliers s ON s.ocid = v.ocid JOIN disqualified d ON d.ocid = v.ocid
  WHERE v.n = 1 AND s.n = 1 AND s.id = v.id AND d.n >= greatest(CAST($threshold AS BIGINT), 1)
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, CAST(disqualified AS DOUBLE) AS value,
  to_json({'winner': winner, 'disqualified_tenderers': ids, 'threshold': greatest(CAST($threshold AS BIGINT), 1)})
    AS evidence
FROM flagged
UNION ALL
SELECT 'tenderer', id, 0.0, to_json({'processes': array_sort(array_distinct(array_agg(ocid)))})
FROM """ + org_id("SELECT f.ocid, f.winner AS party_id FROM flagged f") + """ x
GROUP BY id""",
    methodology="""Among processes whose awards are all final, a process is flagged when exactly one tenderer has
valid bids, that tenderer is the only supplier of the active awards, and at least `threshold` other tenderers
have disqualified bids. The winner is flagged too.""",
    example="""Tenderer V's bid is valid and awarded; the bids of D1 and D2 were disqualified: the process gets
2.0 and V is flagged.""",
    why="""Disqualifying every competitor on technicalities is a way to hand a contract to a chosen bidder while
keeping the appearance of competition.""",
    output="""The process (`OCID`) gets the number of tenderers disqualified; the winner (`Tenderer`) gets 0.0.
Evidence: the winner, the disqualified tenderers, the threshold.""",
    sources=(
        Source("Open Contracting Partnership, Cardinal: R035 All except winning bid disqualified",
               "https://cardinal.readthedocs.io/en/latest/cli/indicators/R/035.html"),
        Source("Open Contracting Partnership, Red flags for integrity (2016), flag 'All but the winning bid "
               "disqualified'",
               "https://www.open-contracting.org/resources/red-flags-integrity-giving-green-light-open-data-solutions/"),
    ),
    cardinal_differences="""- **Identifiers.** With Aiqyn's own settings a tenderer is identified across processes
  by its scheme and identifier (`parties.subject_id`) when the release lists it; with a Cardinal INI file, by its
  OCDS id.""",
)
