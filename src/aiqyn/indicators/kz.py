"""SQL fragments and reference tables shared by Kazakhstan's flags (codes KZ001... and R044).

The flags read the store's tables and three reference tables that are not produced by ingest:

- `kz_non_working_days`: Kazakhstan's calendar of non-working days (src/aiqyn/reference, loaded on every run);
- `medicine_ceiling_prices`: the Ministry of Health's ceiling prices (src/aiqyn/reference, loaded on every run);
- `unreliable_suppliers`: the register of unreliable suppliers, imported by `aiqyn registers import unreliable`.
"""

from __future__ import annotations

import csv
from importlib import resources

import duckdb

from aiqyn.indicators.sql import PARTY_KEYS

REFERENCE_TABLES = ("kz_non_working_days", "medicine_ceiling_prices", "unreliable_suppliers")

# goszakup.gov.kz's names of its procurement methods (as published in tender.procurementMethodDetails).
SINGLE_SOURCE = ["Из одного источника"]
COMPETITIVE = ["Запрос ценовых предложений", "Открытый конкурс", "Аукцион"]
MCI_2024 = 3_692  # monthly calculation index, tenge, 2024 (Law on the republican budget 2024-2026)

# Every process's winners (active awards), with the identities of its buyer and supplier across processes
# (parties.subject_id, e.g. KZ-BIN-<BIN>) and the supplier's identifier.
WINNERS = """winners AS (
  SELECT p.ocid, p.buyer_id, coalesce(bp.subject_id, p.buyer_id) AS buyer_key, p.region_code, p.method,
    p.method_details, p.estimated_amount, p.estimated_currency, p.tender_start, p.tender_start_text,
    p.tender_end, p.tender_end_text, a.position AS award_position, a.amount AS award_amount,
    a.currency AS award_currency, a.date AS award_date, a.date_text AS award_date_text,
    s.party_id AS supplier_id, coalesce(sp.subject_id, s.party_id) AS supplier_key,
    sp.scheme AS supplier_scheme, sp.identifier AS supplier_identifier, sp.name AS supplier_name
  FROM procs p JOIN awards a ON a.ocid = p.ocid AND a.status = 'active'
    JOIN award_suppliers s ON s.ocid = a.ocid AND s.award_position = a.position
    LEFT JOIN parties sp ON sp.ocid = s.ocid AND sp.party_id = s.party_id
    LEFT JOIN parties bp ON bp.ocid = p.ocid AND bp.party_id = p.buyer_id
  WHERE s.party_id IS NOT NULL
)"""

# The buyer's identity of every process in scope (with the columns the buyers' flags read).
BUYERS = PARTY_KEYS + """,
buyers AS (
  SELECT p.ocid, p.buyer_id, p.method, p.method_details, p.estimated_amount, p.tender_start, p.tender_start_text,
    coalesce(k.subject_id, p.buyer_id) AS buyer_key
  FROM procs p LEFT JOIN party_keys k ON k.ocid = p.ocid AND k.party_id = p.buyer_id
  WHERE p.buyer_id IS NOT NULL
)"""

# The value of each process in scope: its active awards' total, else its estimated value.
SPEND = """award_totals AS (
  SELECT a.ocid, sum(a.amount) AS amount FROM awards a WHERE a.status = 'active' GROUP BY a.ocid
),
spend AS (
  SELECT b.ocid, b.buyer_key, b.method, b.method_details, b.tender_start, b.tender_start_text,
    coalesce(t.amount, b.estimated_amount) AS amount
  FROM buyers b LEFT JOIN award_totals t ON t.ocid = b.ocid
)"""


def _csv(name: str) -> list[dict[str, str]]:
    text = resources.files("aiqyn.reference").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def load_reference_tables(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)load the shipped reference tables; the unreliable-suppliers register is kept as imported.

    Each table in one statement from lists bound as parameters (row by row, the two thousand rows cost more than a
    run of the cheaper indicators; an Arrow table would import pandas, a fifth of a second at every run)."""
    days = _csv("kz_non_working_days.csv")
    prices = _csv("medicine_ceiling_prices.csv")
    con.execute("DELETE FROM kz_non_working_days")
    con.execute("INSERT INTO kz_non_working_days SELECT CAST(unnest($date) AS DATE), unnest($kind), unnest($name)",
                {key: [r[key] for r in days] for key in ("date", "kind", "name")})
    con.execute("DELETE FROM medicine_ceiling_prices")
    con.execute("INSERT INTO medicine_ceiling_prices SELECT unnest($atc), unnest($inn), unnest($characteristic), "
                "unnest($unit), unnest($price)",
                {key: [r[key] for r in prices] for key in ("atc", "inn", "characteristic", "unit")}
                | {"price": [float(r["ceiling_price_kzt"]) for r in prices]})
