"""KZ011 Winning price very close to the estimate in a competitive procedure."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from aiqyn.indicators.base import BaseParams, Indicator, Source, split_pipes
from aiqyn.indicators.kz import COMPETITIVE
from aiqyn.indicators.sql import PROCS


class Params(BaseParams):
    threshold: float = 0.98
    """A winning price at or above this share of the estimated value is flagged (0.98: within 2%)."""
    competitive_method_details: list[str] = Field(default_factory=lambda: list(COMPETITIVE))
    """`tender.procurementMethodDetails` values of competitive procedures (single-source prices are negotiated
    from the estimate and are not considered)."""

    @field_validator("competitive_method_details", mode="before")
    @classmethod
    def _pipes(cls, value: Any) -> Any:
        return split_pipes(value)


INDICATOR = Indicator(
    code="KZ011",
    title="Winning price very close to the estimate",
    subjects=("process",),
    params=Params,
    tags=("kazakhstan",),
    ctes=PROCS + """,
priced AS (
  SELECT p.ocid, p.method_details, p.estimated_amount, sum(a.amount) AS award_amount,
    sum(a.amount) / p.estimated_amount AS ratio
  FROM procs p JOIN awards a ON a.ocid = p.ocid AND a.status = 'active'
  WHERE array_contains(CAST($competitive_method_details AS VARCHAR[]), p.method_details)
    AND p.estimated_amount > 0 AND a.amount IS NOT NULL
    AND coalesce(a.currency, '') = coalesce(p.estimated_currency, '')
  GROUP BY p.ocid, p.method_details, p.estimated_amount
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, ratio AS value,
  to_json({'estimated_amount': estimated_amount, 'award_amount': award_amount, 'ratio': ratio,
           'procurement_method_details': method_details, 'threshold': CAST($threshold AS DOUBLE)}) AS evidence
FROM priced WHERE ratio >= $threshold""",
    methodology="""For a process whose `tender.procurementMethodDetails` is one of `competitive_method_details`, the
ratio of its active awards' total to its estimated value (`tender.value`, same currency). It is flagged when the
ratio is at least `threshold`.""",
    example="""Estimated at 10 million tenge, an open tender is won at 9.9 million: ratio 0.99, flagged. Won at 8.7
million (0.87), it is not.""",
    why="""Competition pushes prices below the estimate; a winner who bids the estimate to the tenge faced no
competition, or knew the estimate and that no one would undercut it. The Open Contracting Partnership's red
flags and the Government Transparency Institute's price-based risk measures use the ratio of the contract price
to the estimate.""",
    output="""The process (`OCID`) gets its ratio. Evidence: the estimate, the award total, the ratio, the
method, the threshold.""",
    sources=(
        Source("Open Contracting Partnership, Red flags for integrity (2016): 'winning bid is very close to the "
               "estimated price'",
               "https://www.open-contracting.org/resources/red-flags-integrity-giving-green-light-open-data-solutions/"),
        Source("Fazekas, Tóth and King (2016), An objective corruption risk index using public procurement data",
               "https://doi.org/10.1007/s10610-016-9308-z"),
    ),
)
