"""R038 Excessive disqualified bids: an organisation with an unusually high share of disqualified bids.

Cardinal: src/indicators/r038.rs; docs/cli/indicators/R/038.md.
"""

from __future__ import annotations

from pydantic import Field

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import PARTY_KEYS, PROCS, SUBMITTED, org_id, quartiles


class Params(BaseParams):
    threshold: float | None = None
    """The minimum ratio of disqualified to submitted bids flagged; default: the upper fence, Q3 + 1.5 × IQR,
    computed for buyers, procuring entities and tenderers separately."""
    minimum_submitted_bids: int = Field(2, ge=0)
    """A tenderer is considered when it submitted at least this many bids."""
    minimum_contracting_processes: int = Field(2, ge=0)
    """A buyer or procuring entity is considered from this many processes (see the differences with Cardinal)."""


INDICATOR = Indicator(
    code="R038",
    title="Excessive disqualified bids",
    subjects=("buyer", "procuring_entity", "tenderer"),
    params=Params,
    ctes=PROCS + ",\n" + PARTY_KEYS + """,
submitted AS (
  SELECT b.ocid, b.position, CASE WHEN b.status = 'disqualified' THEN 1 ELSE 0 END AS dq
  FROM procs p JOIN bids b ON b.ocid = p.ocid WHERE """ + SUBMITTED + """
),
per_process AS (SELECT ocid, sum(dq) AS dq, count(*) AS n FROM submitted GROUP BY ocid),
shares AS (
  SELECT 'buyer' AS g, id, ocid, dq, n FROM """ + org_id("""SELECT pp.ocid, p.buyer_id AS party_id, pp.dq, pp.n
    FROM per_process pp JOIN procs p ON p.ocid = pp.ocid WHERE p.buyer_id IS NOT NULL""") + """ b
  UNION ALL
  SELECT 'procuring_entity', id, ocid, dq, n FROM """ + org_id("""SELECT pp.ocid, p.procuring_entity_id AS party_id,
    pp.dq, pp.n FROM per_process pp JOIN procs p ON p.ocid = pp.ocid WHERE p.procuring_entity_id IS NOT NULL""") + """ e
  UNION ALL
  SELECT 'tenderer', id, ocid, dq, 1 FROM """ + org_id("""SELECT s.ocid, t.party_id, s.dq
    FROM submitted s JOIN bid_tenderers t ON t.ocid = s.ocid AND t.bid_position = s.position
    WHERE t.party_id IS NOT NULL""") + """ t
),
fractions AS (
  SELECT g, id, sum(dq) AS disqualified, sum(n) AS submitted, count(DISTINCT ocid) AS processes,
    sum(dq) * 1.0 / sum(n) AS ratio
  FROM shares GROUP BY g, id
),
considered AS (
  SELECT * FROM fractions
  WHERE CASE WHEN g = 'tenderer' THEN submitted >= $minimum_submitted_bids
             WHEN $cardinal THEN submitted >= $minimum_contracting_processes
             ELSE processes >= $minimum_contracting_processes END
),
ratio_values AS (SELECT g, ratio AS v FROM considered),
""" + quartiles("ratio_values") + """,
fence AS (
  SELECT q1.g, q1.q AS q1, q3.q AS q3,
    coalesce(CAST($threshold AS DOUBLE), q3.q + 1.5 * (q3.q - q1.q)) AS upper_fence
  FROM q1 JOIN q3 ON q3.g = q1.g
)""",
    select="""SELECT c.g AS subject_type, c.id AS subject_id, c.ratio AS value,
  to_json({'disqualified_bids': c.disqualified, 'submitted_bids': c.submitted, 'processes': c.processes,
              'upper_fence': f.upper_fence}) AS evidence
FROM considered c JOIN fence f ON f.g = c.g
WHERE f.upper_fence > 0 AND c.ratio >= f.upper_fence""",
    meta="""SELECT (CASE g WHEN 'buyer' THEN 'Buyer' WHEN 'procuring_entity' THEN 'ProcuringEntity' ELSE 'Tenderer' END)
         || '_' || k AS key, v AS value
FROM (SELECT g, 'q1' AS k, q1 AS v FROM fence WHERE $threshold IS NULL
      UNION ALL SELECT g, 'q3', q3 FROM fence WHERE $threshold IS NULL
      UNION ALL SELECT g, 'upper_fence', upper_fence FROM fence) x""",
    methodology="""For each buyer, procuring entity and tenderer: the ratio of its disqualified bids to its
submitted bids (pending, valid or disqualified). For a buyer or procuring entity, the bids of its processes; for
a tenderer, its own bids. A tenderer is considered from `minimum_submitted_bids` bids, a buyer or procuring
entity from `minimum_contracting_processes` processes. Within each of the three groups, an organisation is
flagged when its ratio is at least the upper fence: `threshold` when set, else Q3 + 1.5 × IQR of the group's
ratios. Nothing is flagged in a group whose fence is not positive.""",
    example="""Buyers disqualify between 5% and 15% of the bids they receive (Q1 0.05, Q3 0.15, upper fence 0.3);
buyer B disqualified half of its bids (ratio 0.5): B is flagged.""",
    why="""A buyer that disqualifies many bids may be steering contracts to chosen suppliers; a tenderer whose
bids are often disqualified may be a cover bidder submitting bids meant to fail.""",
    output="""The organisation (`Buyer`, `ProcuringEntity` or `Tenderer`) gets its ratio. Evidence: the
disqualified and submitted bids, the processes, the fence.""",
    sources=(
        Source("Open Contracting Partnership, Cardinal: R038 Excessive disqualified bids",
               "https://cardinal.readthedocs.io/en/latest/cli/indicators/R/038.html"),
        Source("Open Contracting Partnership, Red flags for integrity (2016)",
               "https://www.open-contracting.org/resources/red-flags-integrity-giving-green-light-open-data-solutions/"),
    ),
    cardinal_differences="""- **`minimum_contracting_processes` counts bids.** Cardinal compares this setting with
  the number of bids a buyer or procuring entity received, not with its number of processes: a buyer with one
  process and two bids passes a minimum of 2 processes. With Aiqyn's own settings the processes are counted;
  with a Cardinal INI file, the bids.
- **Identifiers.** With Aiqyn's own settings an organisation is identified across processes by its scheme and
  identifier (`parties.subject_id`) when the release lists it; with a Cardinal INI file, by its OCDS id.""",
)
