"""R018 Single bid received: a competitive process received only one bid.

Cardinal: src/indicators/r018.rs; docs/cli/indicators/R/018.md.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from aiqyn.indicators.base import BaseParams, Indicator, Source, split_pipes
from aiqyn.indicators.sql import PROCS, SUBMITTED


class Params(BaseParams):
    procurement_methods: list[str] = Field(default_factory=lambda: ["open", "selective"])
    """Consider only these `tender.procurementMethod` values (the competitive ones); empty: every process."""

    @field_validator("procurement_methods", mode="before")
    @classmethod
    def _pipes(cls, value: Any) -> Any:
        return split_pipes(value)


INDICATOR = Indicator(
    code="R018",
    title="Single bid received",
    subjects=("process",),
    params=Params,
    ctes=PROCS + """,
bidders AS (
  SELECT t.ocid, count(DISTINCT t.party_id) AS n, array_sort(array_distinct(array_agg(t.party_id))) AS ids
  FROM bids b JOIN bid_tenderers t ON t.ocid = b.ocid AND t.bid_position = b.position
  WHERE """ + SUBMITTED + """ AND t.party_id IS NOT NULL
  GROUP BY t.ocid
),
counted AS (
  SELECT p.ocid, p.method, p.number_of_tenderers, d.ids,
    CASE WHEN $cardinal OR d.n IS NULL THEN p.number_of_tenderers ELSE d.n END AS n
  FROM procs p LEFT JOIN bidders d ON d.ocid = p.ocid
  WHERE (NOT $has_methods OR array_contains(CAST($procurement_methods AS VARCHAR[]), p.method))
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, 1.0 AS value,
  to_json({'number_of_tenderers': number_of_tenderers, 'bidders': ids, 'procurement_method': method}) AS evidence
FROM counted WHERE n = 1""",
    bind=lambda params: {"has_methods": bool(params.procurement_methods)},
    methodology="""A contracting process whose procurement method is one of `procurement_methods` (open or
selective by default) is flagged when only one tenderer bid. Aiqyn counts the distinct tenderers of the
submitted bids (pending, valid or disqualified) when the process publishes bids, else reads
`tender.numberOfTenderers`.""",
    example="""An open tender with `numberOfTenderers` 1, or with a single submitted bid, is flagged; one with
two bids from different tenderers is not; a direct award is not considered.""",
    why="""In a procedure meant to be competitive, a single bid suggests that competition was restricted: a
tailored specification, a short or hidden notice, or bidders who agreed not to compete.""",
    output="""The process (`OCID`) gets the value 1.0. Evidence: `numberOfTenderers` as published, the
tenderers of the submitted bids, the procurement method.""",
    sources=(
        Source("Open Contracting Partnership, Cardinal: R018 Single bid received",
               "https://cardinal.readthedocs.io/en/latest/cli/indicators/R/018.html"),
        Source("Fazekas, M., Tóth, I. J., King, L. P. (2016). An objective corruption risk index using public "
               "procurement data. European Journal on Criminal Policy and Research 22, 369-397",
               "https://doi.org/10.1007/s10610-016-9308-z"),
    ),
    cardinal_differences="""- **Bids ignored.** Cardinal reads only `tender.numberOfTenderers`: a process that
  publishes one bid but no (or a wrong) `numberOfTenderers` is missed, and one whose `numberOfTenderers` says 1
  while several bids are listed is flagged. With Aiqyn's own settings the submitted bids are counted when there
  are any; `numberOfTenderers` is the fallback. With a Cardinal INI file, only `numberOfTenderers` is read.""",
)
