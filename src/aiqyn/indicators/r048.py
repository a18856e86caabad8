"""R048 Heterogeneous supplier: a supplier awarded an unusually wide range of goods and services.

Cardinal: src/indicators/r048.rs; docs/cli/indicators/R/048.md.
"""

from __future__ import annotations

from pydantic import Field

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import PARTY_KEYS, PROCS, org_id, quartiles


class Params(BaseParams):
    digits: int = Field(2, ge=0)
    """The number of leading characters of the item classification compared (the classification's level)."""
    threshold: int | None = Field(None, ge=0)
    """The minimum number of distinct classifications flagged; default: the upper fence, Q3 + 1.5 × IQR."""
    minimum_contracting_processes: int = Field(20, ge=0)
    """A supplier is considered when it was awarded items in at least this many processes."""


INDICATOR = Indicator(
    code="R048",
    title="Heterogeneous supplier",
    subjects=("tenderer",),
    params=Params,
    ctes=PROCS + ",\n" + PARTY_KEYS + """,
sole_supplier AS (
  SELECT a.ocid, a.position, max(a.award_id) AS award_id, max(s.party_id) AS supplier_id, count(*) AS n
  FROM procs p JOIN awards a ON a.ocid = p.ocid
    JOIN award_suppliers s ON s.ocid = a.ocid AND s.award_position = a.position
  WHERE a.status = 'active' GROUP BY a.ocid, a.position
),
codes AS (
  SELECT DISTINCT ocid, id, code FROM """ + org_id("""SELECT DISTINCT a.ocid, a.supplier_id AS party_id,
    left(i.classification_id, CAST($digits AS BIGINT)) AS code
  FROM sole_supplier a JOIN items i ON i.ocid = a.ocid AND i.section = 'award'
    AND i.parent_id = coalesce(a.award_id, '#' || CAST(a.position AS VARCHAR))
  WHERE a.n = 1 AND a.supplier_id IS NOT NULL AND i.classification_id IS NOT NULL""") + """ x
),
suppliers AS (
  SELECT id, count(DISTINCT ocid) AS processes, count(DISTINCT code) AS n_codes,
    array_sort(array_distinct(array_agg(code))) AS classifications
  FROM codes GROUP BY id
),
considered AS (SELECT * FROM suppliers WHERE processes >= $minimum_contracting_processes),
code_counts AS (SELECT 'all' AS g, CAST(n_codes AS DOUBLE) AS v FROM considered),
""" + quartiles("code_counts") + """,
fence AS (
  SELECT coalesce(CAST($threshold AS DOUBLE), q3.q + 1.5 * (q3.q - q1.q)) AS upper_fence, q1.q AS q1, q3.q AS q3
  FROM (SELECT 'all' AS g) d LEFT JOIN q1 ON q1.g = d.g LEFT JOIN q3 ON q3.g = d.g
)""",
    select="""SELECT 'tenderer' AS subject_type, id AS subject_id, CAST(n_codes AS DOUBLE) AS value,
  to_json({'classifications': classifications, 'processes': processes, 'digits': $digits,
              'upper_fence': upper_fence}) AS evidence
FROM considered CROSS JOIN fence
WHERE n_codes >= upper_fence
  AND ($cardinal OR $threshold IS NOT NULL OR q3 > q1 OR n_codes > upper_fence)""",
    meta="""SELECT 'q1' AS key, q1 AS value FROM fence WHERE $threshold IS NULL
UNION ALL SELECT 'q3', q3 FROM fence WHERE $threshold IS NULL
UNION ALL SELECT 'upper_fence', upper_fence FROM fence""",
    methodology="""For each supplier of active awards that name exactly one supplier: the distinct item
classifications (`awards.items.classification.id`, cut to their first `digits` characters) it was awarded, and
the processes. A supplier awarded items in at least `minimum_contracting_processes` processes is flagged when
its number of distinct classifications is at least the upper fence: `threshold` when set, else Q3 + 1.5 × IQR
of the suppliers' numbers.""",
    example="""Suppliers are awarded items of one to three classification divisions (Q1 1, Q3 2, upper fence 3.5);
supplier F was awarded paper (CPV 30...), construction work (45...), medicines (33...) and fuel (09...): four
divisions, it is flagged.""",
    why="""A supplier that wins contracts for anything at all is often an intermediary or a shell company set up
to capture contracts, not a specialist.""",
    output="""The supplier (`Tenderer`) gets its number of distinct classifications. Evidence: the classifications,
the processes, the fence.""",
    sources=(
        Source("Open Contracting Partnership, Cardinal: R048 Heterogeneous supplier",
               "https://cardinal.readthedocs.io/en/latest/cli/indicators/R/048.html"),
        Source("Open Contracting Partnership, Red flags for integrity (2016), flag 'Supplier provides a "
               "wide range of unrelated goods and services'",
               "https://www.open-contracting.org/resources/red-flags-integrity-giving-green-light-open-data-solutions/"),
    ),
    cardinal_differences="""- **Zero spread.** When Q1 equals Q3 (most suppliers have the same number of
  classifications), Cardinal's fence equals that number and, as it flags values at or above the fence, flags
  every supplier. With Aiqyn's own settings, when the spread is zero and no `threshold` is set, only suppliers
  strictly above the fence are flagged. With a Cardinal INI file, every supplier is flagged, as in Cardinal.
- **Identifiers.** With Aiqyn's own settings a supplier is identified across processes by its scheme and
  identifier (`parties.subject_id`) when the release lists it; with a Cardinal INI file, by its OCDS id.""",
)
