"""KZ007 New supplier wins a large contract: its first win in the data is among the largest contracts."""

from __future__ import annotations

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.kz import WINNERS
from aiqyn.indicators.sql import PROCS


class Params(BaseParams):
    min_amount_kzt: float = 30_000_000
    """A contract is large from this award value in tenge (about 8,000 MCI in 2024, twice the ceiling of a
    request for price proposals)."""
    history_days: int = 365
    """A first win counts only when the data cover at least this many days before it (otherwise every
    supplier's first contract in the data would look new)."""


INDICATOR = Indicator(
    code="KZ007",
    title="New supplier wins a large contract",
    subjects=("process", "tenderer"),
    params=Params,
    tags=("kazakhstan",),
    ctes=PROCS + ",\n" + WINNERS + """,
dated AS (
  SELECT w.*, coalesce(w.award_date, w.tender_start) AS day FROM winners w
  WHERE coalesce(w.award_date, w.tender_start) IS NOT NULL
),
data_start AS (SELECT min(day) AS first_day FROM dated),
firsts AS (
  SELECT d.*, row_number() OVER (PARTITION BY d.supplier_key ORDER BY d.day, d.ocid) AS k FROM dated d
),
flagged AS (
  SELECT f.* FROM firsts f CROSS JOIN data_start s
  WHERE f.k = 1 AND f.award_amount >= $min_amount_kzt
    AND epoch(f.day) - epoch(s.first_day) >= $history_days * 86400
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, award_amount AS value,
  to_json({'supplier': supplier_key, 'award_amount': award_amount, 'currency': award_currency,
           'first_win': strftime(day, '%Y-%m-%d %H:%M:%S') || '+00',
           'min_amount_kzt': CAST($min_amount_kzt AS DOUBLE)}) AS evidence
FROM flagged
UNION ALL
SELECT 'tenderer', supplier_key, award_amount, to_json({'processes': [ocid]}) FROM flagged""",
    methodology="""For each supplier (identified across processes), its first active award in the store (by award
date, else the tender's start). The process is flagged when that award is worth at least `min_amount_kzt` and the
store's data begin at least `history_days` days earlier.""",
    example="""The store holds 2022-2025; a company first wins in March 2024 a contract of 45 million tenge:
flagged. Its later contracts are not; a first win of 2 million is not.""",
    why="""Established suppliers build up a history of small contracts; a newcomer whose first contract is a large
one is either exceptional or favoured (a company set up or bought for the deal). The Government Transparency
Institute and the Open Contracting Partnership list it among supplier risk flags.""",
    output="""The process (`OCID`) gets its award value; the supplier (`Tenderer`) too. Evidence: the supplier, the
amount and currency, the date of its first win, the parameter.""",
    sources=(
        Source("Open Contracting Partnership, Red flags for integrity (2016): 'new supplier awarded a large "
               "contract'",
               "https://www.open-contracting.org/resources/red-flags-integrity-giving-green-light-open-data-solutions/"),
        Source("Fazekas and Kocsis (2020), Uncovering high-level corruption",
               "https://doi.org/10.1017/S0007123417000461"),
    ),
)
