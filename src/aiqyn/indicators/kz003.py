"""KZ003 Contract value raised by amendments beyond a percentage of the award."""

from __future__ import annotations

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import PROCS


class Params(BaseParams):
    threshold: float = 0.1
    """The rise of the contract's value over its award's value, as a share of the award, above which the
    contract is flagged (0.1: more than 10%)."""


INDICATOR = Indicator(
    code="KZ003",
    title="Contract value raised by amendments",
    subjects=("process",),
    params=Params,
    tags=("kazakhstan",),
    ctes=PROCS + """,
amended AS (
  SELECT c.ocid, c.contract_id, c.amount AS contract_amount, a.amount AS award_amount, c.currency,
    (c.amount - a.amount) / a.amount AS rise,
    (SELECT count(*) FROM contract_amendments m WHERE m.ocid = c.ocid AND m.contract_position = c.position)
      AS n_amendments
  FROM procs p JOIN contracts c ON c.ocid = p.ocid
    JOIN awards a ON a.ocid = c.ocid AND a.award_id = c.award_id
  WHERE c.amount IS NOT NULL AND a.amount > 0 AND coalesce(c.currency, '') = coalesce(a.currency, '')
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, max(rise) AS value,
  to_json({'contracts': array_agg({'contract_id': contract_id, 'award_amount': award_amount,
                                   'contract_amount': contract_amount, 'currency': currency, 'rise': rise,
                                   'amendments': n_amendments} ORDER BY contract_id),
           'threshold': CAST($threshold AS DOUBLE)}) AS evidence
FROM amended WHERE rise > $threshold GROUP BY ocid""",
    methodology="""For each contract linked to its award (`contracts.awardID` = `awards.id`) in the same currency,
the rise is (contract value − award value) / award value: the contract's value is its current, amended value.
A process is flagged when a contract's rise is above `threshold`.""",
    example="""Awarded 10 million tenge, the contract is worth 13.5 million after two supplementary agreements: a
rise of 0.35, flagged. A rise to 10.9 million (0.09) is not.""",
    why="""A contract won at a low price and then raised by supplementary agreements turns the competition into a
formality: the winner may have been told it would be allowed to recover the difference. EU law lets a contract
change by at most 10% (goods, services) or 15% (works) without a new procedure; Kazakhstan's procurement law
lets a contract's value change only on narrow grounds. The corruption risk indices of the Government
Transparency Institute use the contract value increase as a component.""",
    output="""The process (`OCID`) gets its largest rise. Evidence: each contract's award and current values, the
currency, the rise and its number of amendments; the threshold.""",
    sources=(
        Source("European Union, Directive 2014/24/EU, Article 72: modification of contracts during their term",
               "https://eur-lex.europa.eu/eli/dir/2014/24/oj"),
        Source("Fazekas, Tóth and King (2016), An objective corruption risk index using public procurement data",
               "https://doi.org/10.1007/s10610-016-9308-z"),
        Source("Open Contracting Partnership, Red flags for integrity (2016): 'contract amendments that "
               "significantly increase the value'",
               "https://www.open-contracting.org/resources/red-flags-integrity-giving-green-light-open-data-solutions/"),
    ),
)
