"""R003 Short submission period: the tender was open for bids for fewer days than a threshold.

Cardinal: src/indicators/r003.rs; docs/cli/indicators/R/003.md.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from aiqyn.indicators.base import BaseParams, Indicator, Source, split_pipes
from aiqyn.indicators.sql import PROCS

# What Cardinal (chrono's parse_from_rfc3339) accepts as a date: a full RFC 3339 date-time with an offset.
RFC3339 = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"


class Params(BaseParams):
    threshold: int = 15
    """The minimum number of days a tender must be open for bids."""
    procurement_methods: list[str] = Field(default_factory=list)
    """Consider only these `tender.procurementMethod` values (empty: every process)."""
    procurement_method_details: dict[str, int] = Field(default_factory=dict)
    """A threshold per `tender.procurementMethodDetails`, overriding `threshold` (Cardinal's
    `[R003.procurement_method_details]` section)."""

    @field_validator("procurement_methods", mode="before")
    @classmethod
    def _pipes(cls, value: Any) -> Any:
        return split_pipes(value)


def _bind(params: Params) -> dict[str, Any]:
    values: dict[str, Any] = {"has_methods": bool(params.procurement_methods), "rfc3339": RFC3339}
    for i, (details, days) in enumerate(sorted(params.procurement_method_details.items())):
        values[f"details_{i}"] = details
        values[f"days_{i}"] = days
    return values


def _render(params: Params) -> dict[str, str]:
    rows = [f"(CAST($details_{i} AS VARCHAR), CAST($days_{i} AS BIGINT))"
            for i in range(len(params.procurement_method_details))]
    values = ("SELECT * FROM (VALUES " + ", ".join(rows) + ") v(details, days)" if rows else
              "SELECT CAST(NULL AS VARCHAR) AS details, CAST(NULL AS BIGINT) AS days WHERE FALSE")
    return {"thresholds": values}


INDICATOR = Indicator(
    code="R003",
    title="Short submission period",
    subjects=("process",),
    params=Params,
    ctes=PROCS + """,
thresholds AS ({thresholds}),
measured AS (
  SELECT p.ocid, p.method, p.method_details, p.tender_start_text, p.tender_end_text,
    CAST(trunc((epoch(p.tender_end) - epoch(p.tender_start)) / 86400) AS BIGINT) AS days,
    coalesce(t.days, CAST($threshold AS BIGINT)) AS threshold
  FROM procs p LEFT JOIN thresholds t ON t.details = p.method_details
  WHERE (NOT $has_methods OR array_contains(CAST($procurement_methods AS VARCHAR[]), p.method))
    AND p.tender_start IS NOT NULL AND p.tender_end IS NOT NULL
    AND (NOT $cardinal OR (regexp_matches(p.tender_start_text, $rfc3339)
                           AND regexp_matches(p.tender_end_text, $rfc3339)))
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, 1.0 AS value,
  to_json({'start_date': tender_start_text, 'end_date': tender_end_text, 'days': days,
              'threshold': threshold, 'procurement_method': method,
              'procurement_method_details': method_details}) AS evidence
FROM measured WHERE days < threshold AND ($cardinal OR days >= 0)""",
    bind=_bind,
    render=_render,
    methodology="""A contracting process is flagged if its submission period (`tender.tenderPeriod`, from
`startDate` to `endDate`) lasts fewer whole days than the threshold. The threshold is `threshold`, unless
`procurement_method_details` gives one for the process's `tender.procurementMethodDetails`. When
`procurement_methods` is set, only processes with one of those `tender.procurementMethod` values are
considered. Cancelled processes and excluded procurement method details are skipped (as by every indicator).""",
    example="""A tender opened on 1 January at 18:00 and closed on 16 January at 17:59:59 was open 14 whole days:
it is flagged with the default threshold of 15 days. Closing at 18:00 that day (15 days) is not flagged.""",
    why="""A short submission period leaves too little time to prepare a bid, which favours a bidder who knew of
the tender in advance and limits competition.""",
    output="""The process (`OCID`) gets the value 1.0. Evidence: the dates as published, the whole days
measured, the threshold applied, the procurement method and its details.""",
    sources=(
        Source("Open Contracting Partnership, Cardinal: R003 Short submission period",
               "https://cardinal.readthedocs.io/en/latest/cli/indicators/R/003.html"),
        Source("Open Contracting Partnership, Red flags for integrity: giving the green light to open data "
               "solutions (2016), flag 'Short bidding period'",
               "https://www.open-contracting.org/resources/red-flags-integrity-giving-green-light-open-data-solutions/"),
    ),
    cardinal_differences="""- **Date-only periods.** Cardinal skips a period whose dates are not full RFC 3339
  date-times (`2024-03-01` rather than `2024-03-01T09:00:00+06:00`): such a process is never flagged. With Aiqyn's own
  settings a date-only date counts as midnight UTC and the period is measured. With a Cardinal INI file, Aiqyn
  skips it as Cardinal does.
- **Negative periods.** A period that ends before it starts is a data error, not a short period: Cardinal
  flags it (its length is negative); with Aiqyn's own settings it is not flagged.
- A date that is not a date at all (`"invalid"`) is rejected by `aiqyn ingest` (with its file and line), so the
  process is not in the store; Cardinal skips it.""",
)
