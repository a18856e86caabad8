"""KZ009 Contract signed on a non-working day of Kazakhstan's calendar."""

from __future__ import annotations

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import PROCS


class Params(BaseParams):
    include_weekends: bool = True
    """Count Saturdays and Sundays as non-working days (the calendar's `weekend` days)."""


INDICATOR = Indicator(
    code="KZ009",
    title="Contract signed on a non-working day",
    subjects=("process",),
    params=Params,
    tags=("kazakhstan",),
    ctes=PROCS + """,
signed AS (
  SELECT c.ocid, c.contract_id, c.date_signed_text, n.date AS day, n.kind, n.name
  FROM procs p JOIN contracts c ON c.ocid = p.ocid
    JOIN kz_non_working_days n ON n.date = CAST(substr(c.date_signed_text, 1, 10) AS DATE)
  WHERE regexp_matches(c.date_signed_text, '^[0-9]{4}-[0-9]{2}-[0-9]{2}')
    AND ($include_weekends OR n.kind <> 'weekend')
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, 1.0 AS value,
  to_json({'contracts': array_agg({'contract_id': contract_id, 'date_signed': date_signed_text, 'kind': kind,
                                   'day': name})}) AS evidence
FROM signed GROUP BY ocid""",
    methodology="""A process is flagged when one of its contracts was signed (`contracts.dateSigned`, its date as
published, i.e. local time) on a day of the `kz_non_working_days` table: Saturdays and Sundays (unless
`include_weekends` is off), public holidays, holidays moved off a weekend, and government transfer days. The
table is loaded from src/aiqyn/reference/kz_non_working_days.csv on every run (see its SOURCES.md).""",
    example="""A contract signed on 2024-03-22T11:00:00+05:00 (Nauryz) is flagged; one signed on 2024-03-26 is not.""",
    why="""Public bodies sign contracts on working days, when the documents pass through their registry and
internal control. A signature on a holiday or at a weekend suggests a backdated or pre-arranged contract, or a
deal closed away from the office, which Astana's rules on meetings with businesses forbid.""",
    output="""The process (`OCID`) gets 1.0. Evidence: each contract signed on a non-working day, its date as
published, the kind of day and its name.""",
    sources=(
        Source("Law of the Republic of Kazakhstan of 13 December 2001 No. 267 On holidays in the Republic of "
               "Kazakhstan", "https://adilet.zan.kz/rus/docs/Z010000267_"),
        Source("Labour Code of the Republic of Kazakhstan (2015), article 85: days off and holidays",
               "https://adilet.zan.kz/rus/docs/K1500000414"),
    ),
)
