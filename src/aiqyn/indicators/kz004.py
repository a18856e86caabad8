"""KZ004 Winner registered shortly before the tender: its BIN says it was registered a few months before."""

from __future__ import annotations

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.kz import WINNERS
from aiqyn.indicators.sql import PROCS


class Params(BaseParams):
    max_months: int = 12
    """The winner is flagged when registered at most this many months before the tender's start month."""


INDICATOR = Indicator(
    code="KZ004",
    title="Winner registered shortly before the tender",
    subjects=("process", "tenderer"),
    params=Params,
    tags=("kazakhstan",),
    # The BIN starts with the registration year and month (YYMM); years 90-99 are the 1990s (as aiqyn.ids).
    # The tender's month is read from its start date as published (local time).
    ctes=PROCS + ",\n" + WINNERS + """,
registered AS (
  SELECT w.*, CAST(substr(w.supplier_identifier, 1, 2) AS INTEGER) AS yy,
    CAST(substr(w.supplier_identifier, 3, 2) AS INTEGER) AS mm,
    CAST(substr(w.tender_start_text, 1, 4) AS INTEGER) * 12 + CAST(substr(w.tender_start_text, 6, 2) AS INTEGER)
      AS tender_month
  FROM winners w
  WHERE w.supplier_scheme = 'KZ-BIN' AND length(w.supplier_identifier) = 12
    AND NOT regexp_matches(w.supplier_identifier, '[^0-9]')
    AND regexp_matches(w.tender_start_text, '^[0-9]{4}-[0-9]{2}')
),
aged AS (
  SELECT r.*, (CASE WHEN yy >= 90 THEN 1900 + yy ELSE 2000 + yy END) AS reg_year,
    tender_month - ((CASE WHEN yy >= 90 THEN 1900 + yy ELSE 2000 + yy END) * 12 + mm) AS months
  FROM registered r WHERE mm BETWEEN 1 AND 12
),
flagged AS (SELECT * FROM aged WHERE months >= 0 AND months <= $max_months)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, CAST(min(months) AS DOUBLE) AS value,
  to_json({'winner': max(supplier_key), 'bin': max(supplier_identifier),
           'registered': max(CAST(reg_year AS VARCHAR) || '-' || lpad(CAST(mm AS VARCHAR), 2, '0')),
           'tender_start': max(tender_start_text), 'months': min(months), 'max_months': $max_months}) AS evidence
FROM flagged GROUP BY ocid
UNION ALL
SELECT 'tenderer', supplier_key, CAST(min(months) AS DOUBLE),
  to_json({'processes': array_sort(array_distinct(array_agg(ocid))), 'bin': max(supplier_identifier)})
FROM flagged GROUP BY supplier_key""",
    methodology="""For each active award's supplier identified by a BIN (`identifier.scheme` KZ-BIN, 12 digits), the
registration month is read from the BIN's first four digits (YYMM; 90-99 are the 1990s, 00-89 the 2000s). The
process is flagged when that month is at most `max_months` months before the month of the tender's start
(`tender.tenderPeriod.startDate` as published, local time), or the same month. A BIN whose month digits are not a
month is skipped.""",
    example="""BIN 240340012345: registered in March 2024. It wins a tender that opened on 20 May 2024: 2 months,
flagged. A company with BIN 150240054321 (February 2015) is not.""",
    why="""A company created just before a tender has no track record: it may be a shell set up to receive the
contract, often by people connected to the buyer. Registration age is a standard risk component of the
Government Transparency Institute's indices and of the OECD's red flags; on goszakup the BIN gives it directly.""",
    output="""The process (`OCID`) gets the winner's age in months; the winner (`Tenderer`) gets its smallest age.
Evidence: the winner, its BIN and registration month, the tender's start, the months, the parameter.""",
    sources=(
        Source("Government Transparency Institute, Fazekas and Kocsis (2020), Uncovering high-level corruption: "
               "cross-national objective corruption risk indicators using public procurement data, British "
               "Journal of Political Science 50(1)", "https://doi.org/10.1017/S0007123417000461"),
        Source("Rules of assigning the business identification number (BIN): its first digits are the year and "
               "month of registration (Law On national registers of identification numbers, 2007)",
               "https://adilet.zan.kz/rus/docs/Z070000223_"),
    ),
)
