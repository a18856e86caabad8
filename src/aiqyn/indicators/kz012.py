"""KZ012 Submission period shorter than the legal minimum of its method (goszakup's methods)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import PROCS

# Minimum days from the announcement to the bid deadline, by goszakup's method.
LEGAL_MINIMUM = {"Запрос ценовых предложений": 5, "Открытый конкурс": 15, "Аукцион": 15}


class Params(BaseParams):
    minimum_days: dict[str, int] = Field(default_factory=lambda: dict(LEGAL_MINIMUM))
    """The minimum whole days a tender must stay open, per `tender.procurementMethodDetails`; processes of other
    methods are not considered. The defaults (5 days for a request for price proposals, 15 for an open tender and
    an auction) are the minimums of goszakup's rules as the generator plants them; check them against the rules
    in force for the period analysed."""


def _bind(params: Params) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for i, (details, days) in enumerate(sorted(params.minimum_days.items())):
        values[f"details_{i}"] = details
        values[f"days_{i}"] = days
    return values


def _render(params: Params) -> dict[str, str]:
    rows = [f"(CAST($details_{i} AS VARCHAR), CAST($days_{i} AS BIGINT))" for i in range(len(params.minimum_days))]
    values = ("SELECT * FROM (VALUES " + ", ".join(rows) + ") v(details, days)" if rows else
              "SELECT CAST(NULL AS VARCHAR) AS details, CAST(NULL AS BIGINT) AS days WHERE FALSE")
    return {"minimums": values}


INDICATOR = Indicator(
    code="KZ012",
    title="Submission period under the legal minimum of the method",
    subjects=("process",),
    params=Params,
    tags=("kazakhstan",),
    ctes=PROCS + """,
minimums AS ({minimums}),
measured AS (
  SELECT p.ocid, p.method_details, p.tender_start_text, p.tender_end_text, m.days AS minimum,
    CAST(floor((epoch(p.tender_end) - epoch(p.tender_start)) / 86400) AS BIGINT) AS days
  FROM procs p JOIN minimums m ON m.details = p.method_details
  WHERE p.tender_start IS NOT NULL AND p.tender_end IS NOT NULL
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, CAST(days AS DOUBLE) AS value,
  to_json({'start_date': tender_start_text, 'end_date': tender_end_text, 'days': days, 'minimum': minimum,
           'procurement_method_details': method_details}) AS evidence
FROM measured WHERE days >= 0 AND days < minimum""",
    bind=_bind,
    render=_render,
    methodology="""A process is flagged when its submission period (`tender.tenderPeriod`, start to end) lasts
fewer whole days than the minimum that `minimum_days` gives for its `tender.procurementMethodDetails`. Processes
of a method without a minimum are not considered; a negative period (a data error) is not flagged.""",
    example="""A request for price proposals open from 1 March 09:00 to 4 March 12:00 lasted 3 whole days, under the
minimum of 5: flagged. An open tender open 16 days is not.""",
    why="""Unlike Cardinal's R003 (one threshold for every method), this flag applies the minimum that Kazakhstan's
rules set for each method: a request for price proposals may run a few days, an open tender not less than 15.
A period under the minimum leaves others no time to bid and favours a bidder told in advance.""",
    output="""The process (`OCID`) gets its period in whole days. Evidence: the dates as published, the days, the
minimum and the method.""",
    sources=(
        Source("Law of the Republic of Kazakhstan of 1 July 2024 No. 106-VIII On public procurement, and the Rules "
               "of public procurement (periods of each method)", "https://adilet.zan.kz/rus/docs/Z2400000106"),
        Source("Open Contracting Partnership, Cardinal: R003 Short submission period",
               "https://cardinal.readthedocs.io/en/latest/cli/indicators/R/003.html"),
    ),
)
