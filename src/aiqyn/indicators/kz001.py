"""KZ001 Single-source share: a buyer spends a large share of its money without competition.

Government Transparency Institute's corruption risk index: the non-open procedure component.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from aiqyn.indicators.base import BaseParams, Indicator, Source, split_pipes
from aiqyn.indicators.kz import BUYERS, SINGLE_SOURCE, SPEND
from aiqyn.indicators.sql import PROCS


class Params(BaseParams):
    threshold: float = 0.5
    """The share of the buyer's spend through single-source purchases from which the buyer is flagged."""
    min_processes: int = 10
    """Buyers with fewer processes in scope are not considered (a share of a few purchases says little)."""
    single_source_method_details: list[str] = Field(default_factory=lambda: list(SINGLE_SOURCE))
    """`tender.procurementMethodDetails` values that are single-source purchases (goszakup's name)."""
    count_direct_method: bool = True
    """Also count every process whose `tender.procurementMethod` is `direct`."""

    @field_validator("single_source_method_details", mode="before")
    @classmethod
    def _pipes(cls, value: Any) -> Any:
        return split_pipes(value)


INDICATOR = Indicator(
    code="KZ001",
    title="Single-source share of a buyer",
    subjects=("buyer",),
    params=Params,
    tags=("kazakhstan",),
    ctes=PROCS + ",\n" + BUYERS + ",\n" + SPEND + """,
shares AS (
  SELECT buyer_key, count(*) AS n_processes,
    sum(CASE WHEN is_single THEN 1 ELSE 0 END) AS n_single,
    sum(coalesce(amount, 0)) AS total, sum(CASE WHEN is_single THEN coalesce(amount, 0) ELSE 0 END) AS single
  FROM (SELECT s.*, (array_contains(CAST($single_source_method_details AS VARCHAR[]), s.method_details)
                     OR ($count_direct_method AND s.method = 'direct')) AS is_single FROM spend s) x
  GROUP BY buyer_key
)""",
    select="""SELECT 'buyer' AS subject_type, buyer_key AS subject_id, single / total AS value,
  to_json({'processes': n_processes, 'single_source_processes': n_single, 'spend': total,
           'single_source_spend': single, 'share': single / total, 'threshold': CAST($threshold AS DOUBLE)}) AS evidence
FROM shares WHERE n_processes >= $min_processes AND total > 0 AND single / total >= $threshold""",
    methodology="""For each buyer (identified across processes by its scheme and identifier), the value of each of its
processes is its active awards' total (else its estimated value). The buyer is flagged when the processes bought
from a single source (`tender.procurementMethodDetails` in `single_source_method_details`, or, with
`count_direct_method`, `tender.procurementMethod` = `direct`) make up at least `threshold` of that value, and the
buyer has at least `min_processes` processes.""",
    example="""A school with 20 purchases worth 100 million tenge, 60 million of them from a single source: share
0.6, flagged with the default threshold of 0.5.""",
    why="""Single-source purchases skip competition; on goszakup they are allowed only on grounds listed in the law.
A buyer that routes most of its money through them avoids the scrutiny of open procedures. The Government
Transparency Institute's corruption risk index counts the non-open procedure as a component, and Kazakhstan's
Anti-Corruption Agency names unjustified single-source purchases among the typical violations.""",
    output="""The buyer (`Buyer`) gets its single-source share of spend. Evidence: processes, single-source
processes, spend, single-source spend, share, threshold.""",
    sources=(
        Source("Fazekas, Tóth and King (2016), An objective corruption risk index using public procurement data, "
               "European Journal on Criminal Policy and Research 22(3)", "https://doi.org/10.1007/s10610-016-9308-z"),
        Source("Law of the Republic of Kazakhstan of 1 July 2024 No. 106-VIII On public procurement (single source "
               "and its grounds)", "https://adilet.zan.kz/rus/docs/Z2400000106"),
        Source("Open Contracting Partnership, Red flags for integrity (2016): 'high use of non-competitive methods'",
               "https://www.open-contracting.org/resources/red-flags-integrity-giving-green-light-open-data-solutions/"),
    ),
)
