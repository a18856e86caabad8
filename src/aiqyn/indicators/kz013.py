"""KZ013 Unit price above its benchmark: the median of the same goods code and unit, or a medicine's ceiling
price."""

from __future__ import annotations

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import PROCS, quantile


class Params(BaseParams):
    median_ratio: float = 1.5
    """An item is flagged when its unit price is at least this multiple of the median unit price of its goods
    code and unit."""
    min_observations: int = 20
    """The median is used only when at least this many tender items share the code and unit."""
    ceiling_tolerance: float = 0.0
    """A medicine (ATC code) is flagged when its unit price exceeds its ceiling price by more than this share."""
    median_for_medicines: bool = False
    """Also compare medicines with the median of their ATC code (off: one ATC code covers several strengths, the
    ceiling price is the benchmark)."""


INDICATOR = Indicator(
    code="KZ013",
    title="Unit price above its benchmark",
    subjects=("process",),
    params=Params,
    tags=("kazakhstan",),
    ctes=PROCS + """,
priced_items AS (
  SELECT i.ocid, i.position, i.description, i.classification_scheme AS scheme, i.classification_id AS code,
    i.unit_name AS unit, i.unit_price, i.unit_currency,
    coalesce(i.classification_scheme, '') || '|' || i.classification_id || '|' || coalesce(i.unit_name, '') AS g
  FROM procs p JOIN items i ON i.ocid = p.ocid AND i.section = 'tender'
  WHERE i.unit_price > 0 AND i.classification_id IS NOT NULL
),
item_prices AS (SELECT g, unit_price AS v FROM priced_items),
""" + quantile("medians", "item_prices", "0.5") + """,
group_sizes AS (SELECT g, count(*) AS n FROM priced_items GROUP BY g),
ceilings AS (
  SELECT i.ocid, i.position,
    coalesce(max(CASE WHEN strpos(i.description, c.characteristic) > 0
                        OR strpos(c.inn || ', ' || c.characteristic, i.description) = 1 THEN c.ceiling_price_kzt END),
             max(c.ceiling_price_kzt)) AS ceiling
  FROM priced_items i JOIN medicine_ceiling_prices c ON c.atc = i.code AND c.unit = i.unit
  WHERE i.scheme = 'ATC'
  GROUP BY i.ocid, i.position
),
compared AS (
  SELECT i.*, m.q AS median, s.n AS observations, c.ceiling,
    CASE WHEN s.n >= $min_observations AND m.q > 0 AND (i.scheme IS DISTINCT FROM 'ATC' OR $median_for_medicines)
         THEN i.unit_price / m.q END AS median_ratio,
    CASE WHEN c.ceiling > 0 THEN i.unit_price / c.ceiling END AS ceiling_ratio
  FROM priced_items i JOIN medians m ON m.g = i.g JOIN group_sizes s ON s.g = i.g
    LEFT JOIN ceilings c ON c.ocid = i.ocid AND c.position = i.position
),
flagged AS (
  SELECT * FROM compared
  WHERE median_ratio >= $median_ratio OR ceiling_ratio > 1 + $ceiling_tolerance
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id,
  max(greatest(coalesce(median_ratio, 0), coalesce(ceiling_ratio, 0))) AS value,
  to_json({'items': array_agg({'position': position, 'code': code, 'scheme': scheme, 'unit': unit,
                               'unit_price': unit_price, 'median': median, 'observations': observations,
                               'median_ratio': median_ratio, 'ceiling_price': ceiling,
                               'ceiling_ratio': ceiling_ratio} ORDER BY position, code, unit, unit_price),
           'median_ratio_threshold': CAST($median_ratio AS DOUBLE)}) AS evidence
FROM flagged GROUP BY ocid""",
    methodology="""For each tender item with a unit price and a goods code: the median unit price of the tender items
with the same classification scheme, code and unit name (Hyndman and Fan's R-8 median, as Cardinal's quartiles).
An item is overpriced when its unit price is at least `median_ratio` times that median, the median resting on at
least `min_observations` items (medicines only with `median_for_medicines`); or, for a medicine (scheme ATC), when
its unit price exceeds by more than `ceiling_tolerance` the Ministry of Health's ceiling price for its ATC code
and unit: the highest of the rows whose dosage form and strength appear in the item's description (or whose
name and characteristic the description begins, when the publisher cut it short), else the highest of all. A process
with an overpriced item is flagged. This is the simple benchmark; the prices module will refine it.""",
    example="""Office paper A4 (one code, unit 'пачка') has a median of 2,450 tenge over 300 items; a school buys it
at 5,900: ratio 2.4, flagged. A medicine with a ceiling price of 1,000 tenge bought at 1,350 is flagged.""",
    why="""Overpricing is the most direct way to take money out of a contract. A unit price far above what other
buyers pay for the same goods, or above the ceiling price of a medicine, is the first thing the Anti-Corruption
Agency's project offices check; the ceiling prices of medicines are set by the Ministry of Health precisely to
prevent it.""",
    output="""The process (`OCID`) gets its largest ratio (to the median or to the ceiling). Evidence: each
overpriced item with its code, unit, unit price, median, observations, ceiling price and ratios.""",
    sources=(
        Source("Ministry of Health of the Republic of Kazakhstan, ceiling (marginal) prices of medicines by "
               "international nonproprietary name, as transcribed in joenaine/ndda_helper (Aiqyn's "
               "src/aiqyn/reference/medicine_ceiling_prices.csv, see SOURCES.md)",
               "https://github.com/joenaine/ndda_helper"),
        Source("OECD (2016), Preventing corruption in public procurement: overpricing",
               "https://www.oecd.org/gov/ethics/Corruption-Public-Procurement-Brochure.pdf"),
    ),
)
