"""KZ006 Supplier concentration at a buyer: one supplier wins a large share of a buyer's contracts (share, HHI)."""

from __future__ import annotations

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.kz import WINNERS
from aiqyn.indicators.sql import PROCS


class Params(BaseParams):
    share_threshold: float = 0.2
    """A process is flagged when its winner holds at least this share of the buyer's contracts by number."""
    value_share_threshold: float | None = None
    """Also flag when the winner holds at least this share of the buyer's spend (by value). Off by default: a
    supplier with three wins, one of them a large contract, holds a large share of a small buyer's spend without
    any capture."""
    min_wins: int = 3
    """... and has won at least this many of the buyer's contracts."""
    min_buyer_contracts: int = 10
    """Buyers with fewer contracts are not considered (two contracts make any supplier a dominant one)."""
    hhi_threshold: float | None = None
    """Also flag a buyer whose Herfindahl-Hirschman index of its suppliers' shares of its spend reaches this (0.25
    is a highly concentrated market in the US merger guidelines' terms). Off by default: over a buyer's few dozen
    contracts, one large contract (a road repair) makes the index high without any repeat winner."""


INDICATOR = Indicator(
    code="KZ006",
    title="Supplier concentration at a buyer",
    subjects=("process", "buyer", "tenderer"),
    params=Params,
    tags=("kazakhstan",),
    ctes=PROCS + ",\n" + WINNERS + """,
contracts AS (
  SELECT ocid, buyer_key, supplier_key, max(coalesce(award_amount, 0)) AS amount
  FROM winners GROUP BY ocid, buyer_key, supplier_key
),
by_buyer AS (
  SELECT buyer_key, count(*) AS n, sum(amount) AS total FROM contracts GROUP BY buyer_key
),
by_pair AS (
  SELECT c.buyer_key, c.supplier_key, count(*) AS wins, sum(c.amount) AS amount,
    count(*) / max(b.n) AS count_share, CASE WHEN max(b.total) > 0 THEN sum(c.amount) / max(b.total) END AS value_share,
    max(b.n) AS buyer_contracts
  FROM contracts c JOIN by_buyer b ON b.buyer_key = c.buyer_key GROUP BY c.buyer_key, c.supplier_key
),
hhi AS (
  SELECT buyer_key, sum(value_share * value_share) AS hhi, max(buyer_contracts) AS buyer_contracts,
    max(value_share) AS top_share, count(*) AS suppliers
  FROM by_pair WHERE value_share IS NOT NULL GROUP BY buyer_key
),
dominant AS (
  SELECT * FROM by_pair
  WHERE buyer_contracts >= $min_buyer_contracts AND wins >= $min_wins
    AND (count_share >= $share_threshold OR coalesce(value_share, 0) >= CAST($value_share_threshold AS DOUBLE))
)""",
    select="""SELECT 'process' AS subject_type, c.ocid AS subject_id,
  d.count_share AS value,
  to_json({'buyer': d.buyer_key, 'supplier': d.supplier_key, 'wins': d.wins, 'buyer_contracts': d.buyer_contracts,
           'count_share': d.count_share, 'value_share': d.value_share,
           'share_threshold': CAST($share_threshold AS DOUBLE),
           'value_share_threshold': CAST($value_share_threshold AS DOUBLE)}) AS evidence
FROM dominant d JOIN contracts c ON c.buyer_key = d.buyer_key AND c.supplier_key = d.supplier_key
UNION ALL
SELECT 'tenderer', supplier_key, max(count_share),
  to_json({'buyers': array_sort(array_agg(buyer_key)), 'wins': sum(wins)})
FROM dominant GROUP BY supplier_key
UNION ALL
SELECT 'buyer', h.buyer_key, h.hhi,
  to_json({'hhi': h.hhi, 'suppliers': h.suppliers, 'contracts': h.buyer_contracts, 'top_share': h.top_share,
           'hhi_threshold': CAST($hhi_threshold AS DOUBLE),
           'dominant_suppliers': (SELECT array_sort(array_agg(d.supplier_key)) FROM dominant d
                                  WHERE d.buyer_key = h.buyer_key)}) AS evidence
FROM hhi h
WHERE h.buyer_contracts >= $min_buyer_contracts
  AND (h.hhi >= CAST($hhi_threshold AS DOUBLE) OR EXISTS (SELECT 1 FROM dominant d WHERE d.buyer_key = h.buyer_key))""",
    methodology="""The contracts of a buyer are its processes with an active award, each worth its award's value and
won by its supplier (identified across processes). For each buyer with at least `min_buyer_contracts` contracts
and each of its suppliers: the supplier's wins, its share of the buyer's contracts by number and by value. A
supplier with at least `min_wins` wins and a share by number of at least `share_threshold` (or, when
`value_share_threshold` is set, a share by value of at least that) is dominant: each of its contracts with the buyer
is flagged. The buyer is flagged when it has a dominant supplier, or (when
`hhi_threshold` is set) when the Herfindahl-Hirschman index (the sum of the squared value shares of its suppliers)
reaches it; its value is the index either way. The
dominant supplier is flagged too.""",
    example="""A hospital signed 60 contracts; one company won 25 of them (share 0.42 by number): its 25 processes
and the hospital are flagged. A company with 2 of the 60 is not.""",
    why="""A buyer captured by a supplier gives it contract after contract, often through formally competitive
tenders where it bids alone. The share of a buyer's spend won by one supplier is the measure of capture used by
the Government Transparency Institute (supplier dependence) and the Open Contracting Partnership's red flags.""",
    output="""Each contract of a dominant supplier (`OCID`) gets the supplier's share by number; the buyer (`Buyer`)
gets its HHI; the dominant supplier (`Tenderer`) its largest share by number.
Evidence: the buyer, the supplier, its wins, shares and the threshold; for the buyer, the HHI, its
suppliers, contracts, top share and dominant suppliers; for the supplier, the buyers and its wins.""",
    sources=(
        Source("Fazekas and Kocsis (2020), Uncovering high-level corruption, British Journal of Political Science "
               "50(1) (supplier's share of the buyer's spend)", "https://doi.org/10.1017/S0007123417000461"),
        Source("U.S. Department of Justice and FTC (2023), Merger guidelines: HHI thresholds",
               "https://www.justice.gov/atr/2023-merger-guidelines"),
        Source("Open Contracting Partnership, Red flags for integrity (2016): 'supplier receives a high share of a "
               "buyer's contracts'",
               "https://www.open-contracting.org/resources/red-flags-integrity-giving-green-light-open-data-solutions/"),
    ),
)
