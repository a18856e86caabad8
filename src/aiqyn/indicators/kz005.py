"""KZ005 Winner in the register of unreliable suppliers on the tender's start date."""

from __future__ import annotations

from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.kz import WINNERS
from aiqyn.indicators.sql import PROCS


class Params(BaseParams):
    include_tenderers: bool = False
    """Also flag a process where a listed supplier only bid (without winning)."""


INDICATOR = Indicator(
    code="KZ005",
    title="Winner in the register of unreliable suppliers",
    subjects=("process", "tenderer"),
    params=Params,
    tags=("kazakhstan",),
    ctes=PROCS + ",\n" + WINNERS + """,
participants AS (
  SELECT w.ocid, w.supplier_identifier AS identifier, w.supplier_key AS party_key, 'winner' AS role,
    w.tender_start_text FROM winners w
  UNION ALL
  SELECT p.ocid, pt.identifier, pt.subject_id, 'tenderer', p.tender_start_text
  FROM procs p JOIN parties pt ON pt.ocid = p.ocid
  WHERE $include_tenderers AND array_contains(pt.roles, 'tenderer') AND NOT array_contains(pt.roles, 'supplier')
),
listed AS (
  SELECT x.ocid, x.party_key, x.role, x.identifier, u.included_on, u.excluded_on, u.reason, x.tender_start_text
  FROM participants x JOIN unreliable_suppliers u ON u.bin = x.identifier
  WHERE x.tender_start_text IS NOT NULL
    AND u.included_on <= CAST(substr(x.tender_start_text, 1, 10) AS DATE)
    AND (u.excluded_on IS NULL OR u.excluded_on > CAST(substr(x.tender_start_text, 1, 10) AS DATE))
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, 1.0 AS value,
  to_json({'listed': array_agg({'party': party_key, 'bin': identifier, 'role': role,
                                'included_on': CAST(included_on AS VARCHAR),
                                'excluded_on': CAST(excluded_on AS VARCHAR), 'reason': reason}
                               ORDER BY party_key, role, included_on),
           'tender_start': max(tender_start_text)}) AS evidence
FROM listed GROUP BY ocid
UNION ALL
SELECT 'tenderer', party_key, 1.0, to_json({'processes': array_sort(array_distinct(array_agg(ocid)))})
FROM listed GROUP BY party_key""",
    methodology="""A process is flagged when the supplier of an active award (with `include_tenderers`, any
tenderer) has the identifier (BIN or IIN) of an entry of the `unreliable_suppliers` register that was in force on
the tender's start date (as published, local date): included on or before that day and not yet excluded. The
register is imported from CSV with `aiqyn registers import unreliable FILE`; without it nothing is flagged.""",
    example="""A supplier was put in the register on 1 February 2024 for evading the signing of a contract; it wins
a tender opened on 5 March 2024: flagged. The same win on 20 January 2024 is not.""",
    why="""A supplier in the register of unreliable suppliers (RNU) may not take part in public procurement for
24 months; its win means the buyer or the commission ignored the ban, or that the supplier hides behind its
listing's loopholes. Kazakhstan's procurement law makes the check mandatory.""",
    output="""The process (`OCID`) and the listed supplier (`Tenderer`) get 1.0. Evidence: each listed party, its
BIN, its role, the register entry's dates and reason; the tender's start.""",
    sources=(
        Source("Law of the Republic of Kazakhstan of 1 July 2024 No. 106-VIII On public procurement (register of "
               "unreliable potential suppliers)", "https://adilet.zan.kz/rus/docs/Z2400000106"),
        Source("goszakup.gov.kz: the register of unreliable suppliers (RNU)", "https://goszakup.gov.kz/ru/registry/rnu"),
    ),
)
