"""From OCDS (compiled) releases to the rows of the canonical tables, in DuckDB SQL.

Each release is parsed once by DuckDB's `json_transform` into a typed STRUCT (`STRUCTURE` below); every
canonical table is then one SELECT over those structs. Fields whose type must be checked (amounts,
quantities, counts, dates) are kept as JSON or text in the struct and checked in the same SELECT: each
row carries an `_err` column naming the JSON pointer and the reason when a field has the wrong type, so
the release can be rejected with a precise message. The column lists come from the store's schema.yaml
(a test checks that every column of every table is produced here, and nothing else).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from aiqyn.store.schema import SCHEMA

_ORG_REF = {"id": "VARCHAR", "name": "VARCHAR"}
_VALUE = {"amount": "JSON", "currency": "VARCHAR"}
_PERIOD = {"startDate": "VARCHAR", "endDate": "VARCHAR"}
_ITEM = {
    "id": "VARCHAR",
    "description": "VARCHAR",
    "classification": {"scheme": "VARCHAR", "id": "VARCHAR", "description": "VARCHAR"},
    "quantity": "JSON",
    "unit": {"scheme": "VARCHAR", "id": "VARCHAR", "name": "VARCHAR", "value": _VALUE},
    "relatedLot": "VARCHAR",
}
_DOC = {
    "id": "VARCHAR",
    "documentType": "VARCHAR",
    "title": "VARCHAR",
    "url": "VARCHAR",
    "datePublished": "VARCHAR",
    "format": "VARCHAR",
    "language": "VARCHAR",
}

STRUCTURE = {
    # Present on records and packages only: such a unit is expanded into its releases, not flattened.
    "compiledRelease": "JSON",
    "records": "JSON",
    "releases": "JSON",
    "ocid": "VARCHAR",
    "id": "VARCHAR",
    "date": "VARCHAR",
    "language": "VARCHAR",
    "buyer": _ORG_REF,
    "parties": [
        {
            "id": "VARCHAR",
            "name": "VARCHAR",
            "identifier": {"scheme": "VARCHAR", "id": "VARCHAR", "legalName": "VARCHAR"},
            "address": {
                "streetAddress": "VARCHAR",
                "locality": "VARCHAR",
                "region": "VARCHAR",
                "postalCode": "VARCHAR",
                "countryName": "VARCHAR",
            },
            "contactPoint": {"name": "VARCHAR", "email": "VARCHAR", "telephone": "VARCHAR"},
            "roles": ["VARCHAR"],
            "details": {"katoCode": "VARCHAR"},
        }
    ],
    "planning": {"budget": {"amount": _VALUE}, "documents": [_DOC]},
    "tender": {
        "id": "VARCHAR",
        "title": "VARCHAR",
        "description": "VARCHAR",
        "status": "VARCHAR",
        "statusDetails": "VARCHAR",
        "procurementMethod": "VARCHAR",
        "procurementMethodDetails": "VARCHAR",
        "procurementMethodRationale": "VARCHAR",
        "mainProcurementCategory": "VARCHAR",
        "awardCriteria": "VARCHAR",
        "value": _VALUE,
        "tenderPeriod": _PERIOD,
        "enquiryPeriod": _PERIOD,
        "awardPeriod": _PERIOD,
        "contractPeriod": _PERIOD,
        "numberOfTenderers": "JSON",
        "procuringEntity": _ORG_REF,
        "tenderers": [_ORG_REF],
        "items": [_ITEM],
        "lots": [{"id": "VARCHAR", "title": "VARCHAR", "description": "VARCHAR", "status": "VARCHAR", "value": _VALUE}],
        "documents": [_DOC],
    },
    "bids": {
        "details": [
            {
                "id": "VARCHAR",
                "date": "VARCHAR",
                "status": "VARCHAR",
                "value": _VALUE,
                "tenderers": [_ORG_REF],
                "relatedLots": ["VARCHAR"],
            }
        ]
    },
    "awards": [
        {
            "id": "VARCHAR",
            "title": "VARCHAR",
            "status": "VARCHAR",
            "date": "VARCHAR",
            "value": _VALUE,
            "suppliers": [_ORG_REF],
            "items": [_ITEM],
            "relatedLots": ["VARCHAR"],
            "relatedBid": "VARCHAR",
            "documents": [_DOC],
        }
    ],
    "contracts": [
        {
            "id": "VARCHAR",
            "awardID": "VARCHAR",
            "title": "VARCHAR",
            "status": "VARCHAR",
            "dateSigned": "VARCHAR",
            "period": _PERIOD,
            "value": _VALUE,
            "items": [_ITEM],
            "amendments": [
                {
                    "id": "VARCHAR",
                    "date": "VARCHAR",
                    "rationale": "VARCHAR",
                    "description": "VARCHAR",
                    "amendsReleaseID": "VARCHAR",
                    "releaseID": "VARCHAR",
                }
            ],
            "documents": [_DOC],
        }
    ],
}
STRUCTURE_SQL = "'" + orjson.dumps(STRUCTURE).decode().replace("'", "''") + "'"

# Containers whose JSON type is checked before the struct is trusted: json_transform turns a container
# of the wrong type into NULL silently, which would hide an error in the source. `planning` is not
# checked: some publishers (Armenia) publish it as an array; Aiqyn then reads no budget from it.
CONTAINERS: dict[str, str] = {
    "$.parties": "ARRAY",
    "$.buyer": "OBJECT",
    "$.tender": "OBJECT",
    "$.tender.value": "OBJECT",
    "$.tender.tenderPeriod": "OBJECT",
    "$.tender.tenderers": "ARRAY",
    "$.tender.items": "ARRAY",
    "$.tender.lots": "ARRAY",
    "$.tender.documents": "ARRAY",
    "$.bids": "OBJECT",
    "$.bids.details": "ARRAY",
    "$.awards": "ARRAY",
    "$.contracts": "ARRAY",
}

_NUMERIC = "('BIGINT','UBIGINT','DOUBLE','HUGEINT')"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ptr(prefix: str, pos: str | None, suffix: str) -> str:
    """SQL for a JSON pointer: prefix + (pos-1) + suffix, pos being an ordinality column."""
    if pos is None:
        return _quote(prefix + suffix)
    return f"({_quote(prefix)} || ({pos} - 1) || {_quote(suffix)})"


@dataclass
class Select:
    """One SELECT producing rows of a canonical table, with the checks of its typed fields."""

    source: str  # FROM clause; "{src} d" names the table of parsed releases
    exprs: dict[str, str]
    checks: list[str] = field(default_factory=list)

    # An empty string stands for "no value" at many publishers (Moldova, for one): it is read as NULL,
    # not rejected. Any other string where a number or a date belongs is an error.
    def num(self, col: str, expr: str, pointer: str) -> None:
        self.exprs[col] = f"(CASE WHEN json_type({expr}) IN {_NUMERIC} THEN TRY_CAST({expr} AS DOUBLE) END)"
        self.checks.append(
            f"CASE WHEN {expr} IS NOT NULL AND json_type({expr}) NOT IN {_NUMERIC} AND json_type({expr}) <> 'NULL' "
            f"AND CAST({expr} AS VARCHAR) <> '\"\"' "
            f"THEN {pointer} || ': expected a number, got ' || left(CAST({expr} AS VARCHAR), 60) END"
        )

    def integer(self, col: str, expr: str, pointer: str) -> None:
        self.exprs[col] = f"(CASE WHEN json_type({expr}) IN ('BIGINT','UBIGINT') THEN TRY_CAST({expr} AS INTEGER) END)"
        self.checks.append(
            f"CASE WHEN {expr} IS NOT NULL AND json_type({expr}) NOT IN ('BIGINT','UBIGINT','NULL') "
            f"AND CAST({expr} AS VARCHAR) <> '\"\"' "
            f"THEN {pointer} || ': expected an integer, got ' || left(CAST({expr} AS VARCHAR), 60) END"
        )

    def ts(self, col: str, expr: str, pointer: str) -> None:
        self.exprs[col] = f"TRY_CAST(nullif({expr}, '') AS TIMESTAMPTZ)"
        self.checks.append(
            f"CASE WHEN nullif(trim({expr}), '') IS NOT NULL AND TRY_CAST({expr} AS TIMESTAMPTZ) IS NULL "
            f"THEN {pointer} || ': not a date: ' || left({expr}, 60) END"
        )

    def sql(self, table: str, src: str) -> str:
        cols = [c for c in SCHEMA[table].column_names if c in self.exprs]
        select = ",\n  ".join(f'{self.exprs[c]} AS "{c}"' for c in cols)
        err = f"concat_ws('; ', {', '.join(self.checks)})" if self.checks else "''"
        return f"SELECT d.k AS _k,\n  {select},\n  NULLIF({err}, '') AS _err\nFROM {self.source.format(src=src)}"


def _value(sel: Select, amount_col: str, currency_col: str, base: str, pointer_prefix: str, pos: str | None) -> None:
    sel.num(amount_col, f"{base}.amount", _ptr(pointer_prefix, pos, "/value/amount") if pos else _quote(pointer_prefix + "/amount"))
    sel.exprs[currency_col] = f"{base}.currency"


def _items(section: str) -> Select:
    if section == "tender":
        src, parent, prefix, pos_base = (
            "{src} d, unnest(d.s.tender.items) WITH ORDINALITY AS u(it, pos)", "''", "/tender/items/", None)
    else:
        plural = "awards" if section == "award" else "contracts"
        src = (f"{{src}} d, unnest(d.s.{plural}) WITH ORDINALITY AS p(par, ppos), "
               "unnest(p.par.items) WITH ORDINALITY AS u(it, pos)")
        parent = "coalesce(p.par.id, '#' || (p.ppos - 1))"
        prefix, pos_base = f"/{plural}/", "ppos"
    sel = Select(src, {
        "ocid": "d.s.ocid",
        "section": _quote(section),
        "parent_id": parent,
        "position": "CAST(u.pos - 1 AS INTEGER)",
        "item_id": "u.it.id",
        "description": "u.it.description",
        "classification_scheme": "u.it.classification.scheme",
        "classification_id": "u.it.classification.id",
        "classification_description": "u.it.classification.description",
        "unit_scheme": "u.it.unit.scheme",
        "unit_id": "u.it.unit.id",
        "unit_name": "u.it.unit.name",
        "unit_currency": "u.it.unit.value.currency",
        "related_lot": "u.it.relatedLot",
    })
    if pos_base is None:
        item_ptr = _ptr(prefix, "u.pos", "")
    else:
        item_ptr = f"({_quote(prefix)} || (p.{pos_base} - 1) || '/items/' || (u.pos - 1))"
    sel.num("quantity", "u.it.quantity", f"({item_ptr} || '/quantity')")
    sel.num("unit_price", "u.it.unit.value.amount", f"({item_ptr} || '/unit/value/amount')")
    return sel


def _documents(section: str) -> Select:
    if section in ("planning", "tender"):
        src = f"{{src}} d, unnest(d.s.{section}.documents) WITH ORDINALITY AS u(doc, pos)"
        parent, ptr = "''", _ptr(f"/{section}/documents/", "u.pos", "/datePublished")
    else:
        plural = "awards" if section == "award" else "contracts"
        src = (f"{{src}} d, unnest(d.s.{plural}) WITH ORDINALITY AS p(par, ppos), "
               "unnest(p.par.documents) WITH ORDINALITY AS u(doc, pos)")
        parent = "coalesce(p.par.id, '#' || (p.ppos - 1))"
        ptr = f"('/{plural}/' || (p.ppos - 1) || '/documents/' || (u.pos - 1) || '/datePublished')"
    sel = Select(src, {
        "ocid": "d.s.ocid",
        "section": _quote(section),
        "parent_id": parent,
        "position": "CAST(u.pos - 1 AS INTEGER)",
        "document_id": "u.doc.id",
        "document_type": "u.doc.documentType",
        "title": "u.doc.title",
        "url": "u.doc.url",
        "format": "u.doc.format",
        "language": "u.doc.language",
    })
    sel.ts("date_published", "u.doc.datePublished", ptr)
    return sel


def _processes() -> Select:
    t = "d.s.tender"
    sel = Select("{src} d", {
        "ocid": "d.s.ocid",
        "language": "d.s.language",
        "title": f"{t}.title",
        "description": f"{t}.description",
        "status": f"{t}.status",
        "status_details": f"{t}.statusDetails",
        "method": f"{t}.procurementMethod",
        "method_details": f"{t}.procurementMethodDetails",
        "method_rationale": f"{t}.procurementMethodRationale",
        "main_category": f"{t}.mainProcurementCategory",
        "award_criteria": f"{t}.awardCriteria",
        "tender_id": f"{t}.id",
        "tender_start_text": f"{t}.tenderPeriod.startDate",
        "tender_end_text": f"{t}.tenderPeriod.endDate",
        "buyer_id": "d.s.buyer.id",
        "buyer_name": "d.s.buyer.name",
        "procuring_entity_id": f"{t}.procuringEntity.id",
        "procuring_entity_name": f"{t}.procuringEntity.name",
    })
    sel.num("estimated_amount", f"{t}.value.amount", "'/tender/value/amount'")
    sel.exprs["estimated_currency"] = f"{t}.value.currency"
    sel.num("budget_amount", "d.s.planning.budget.amount.amount", "'/planning/budget/amount/amount'")
    sel.exprs["budget_currency"] = "d.s.planning.budget.amount.currency"
    for col, key, json_key in [
        ("tender_start", "tenderPeriod.startDate", "tenderPeriod/startDate"),
        ("tender_end", "tenderPeriod.endDate", "tenderPeriod/endDate"),
        ("enquiry_start", "enquiryPeriod.startDate", "enquiryPeriod/startDate"),
        ("enquiry_end", "enquiryPeriod.endDate", "enquiryPeriod/endDate"),
        ("award_period_start", "awardPeriod.startDate", "awardPeriod/startDate"),
        ("award_period_end", "awardPeriod.endDate", "awardPeriod/endDate"),
        ("contract_period_start", "contractPeriod.startDate", "contractPeriod/startDate"),
        ("contract_period_end", "contractPeriod.endDate", "contractPeriod/endDate"),
    ]:
        sel.ts(col, f"{t}.{key}", _quote(f"/tender/{json_key}"))
    sel.integer("number_of_tenderers", f"{t}.numberOfTenderers", "'/tender/numberOfTenderers'")
    return sel


def _parties() -> Select:
    src = "{src} d, unnest(d.s.parties) WITH ORDINALITY AS u(p, pos)"
    return Select(src, {
        "ocid": "d.s.ocid",
        "party_id": "coalesce(u.p.id, '#' || (u.pos - 1))",
        "subject_id": ("CASE WHEN nullif(u.p.identifier.id, '') IS NOT NULL THEN "
                       "coalesce(u.p.identifier.scheme || '-', '') || u.p.identifier.id "
                       "ELSE coalesce(u.p.id, '#' || (u.pos - 1)) END"),
        "name": "u.p.name",
        "scheme": "u.p.identifier.scheme",
        "identifier": "u.p.identifier.id",
        "legal_name": "u.p.identifier.legalName",
        "street_address": "u.p.address.streetAddress",
        "locality": "u.p.address.locality",
        "region": "u.p.address.region",
        "postal_code": "u.p.address.postalCode",
        "country": "u.p.address.countryName",
        "region_code": "u.p.details.katoCode",
        "contact_name": "u.p.contactPoint.name",
        "email": "u.p.contactPoint.email",
        "telephone": "u.p.contactPoint.telephone",
        "roles": "coalesce(u.p.roles, [])",
    })


def _bids() -> tuple[Select, Select]:
    bids = Select("{src} d, unnest(d.s.bids.details) WITH ORDINALITY AS u(b, pos)", {
        "ocid": "d.s.ocid",
        "position": "CAST(u.pos - 1 AS INTEGER)",
        "bid_id": "u.b.id",
        "date_text": "u.b.date",
        "status": "u.b.status",
        "related_lots": "coalesce(u.b.relatedLots, [])",
    })
    bids.ts("date", "u.b.date", _ptr("/bids/details/", "u.pos", "/date"))
    _value(bids, "amount", "currency", "u.b.value", "/bids/details/", "u.pos")
    tenderers = Select(
        "{src} d, unnest(d.s.bids.details) WITH ORDINALITY AS u(b, pos), unnest(u.b.tenderers) AS t(tt)", {
            "ocid": "d.s.ocid",
            "bid_position": "CAST(u.pos - 1 AS INTEGER)",
            "bid_id": "u.b.id",
            "party_id": "t.tt.id",
            "name": "t.tt.name",
        })
    return bids, tenderers


def _awards() -> tuple[Select, Select]:
    awards = Select("{src} d, unnest(d.s.awards) WITH ORDINALITY AS u(a, pos)", {
        "ocid": "d.s.ocid",
        "position": "CAST(u.pos - 1 AS INTEGER)",
        "award_id": "u.a.id",
        "title": "u.a.title",
        "status": "u.a.status",
        "date_text": "u.a.date",
        "related_lots": "coalesce(u.a.relatedLots, [])",
        "related_bid": "u.a.relatedBid",
    })
    awards.ts("date", "u.a.date", _ptr("/awards/", "u.pos", "/date"))
    _value(awards, "amount", "currency", "u.a.value", "/awards/", "u.pos")
    suppliers = Select(
        "{src} d, unnest(d.s.awards) WITH ORDINALITY AS u(a, pos), unnest(u.a.suppliers) AS t(sp)", {
            "ocid": "d.s.ocid",
            "award_position": "CAST(u.pos - 1 AS INTEGER)",
            "award_id": "u.a.id",
            "party_id": "t.sp.id",
            "name": "t.sp.name",
        })
    return awards, suppliers


def _contracts() -> tuple[Select, Select]:
    contracts = Select("{src} d, unnest(d.s.contracts) WITH ORDINALITY AS u(c, pos)", {
        "ocid": "d.s.ocid",
        "position": "CAST(u.pos - 1 AS INTEGER)",
        "contract_id": "u.c.id",
        "award_id": "u.c.awardID",
        "title": "u.c.title",
        "status": "u.c.status",
        "date_signed_text": "u.c.dateSigned",
    })
    contracts.ts("date_signed", "u.c.dateSigned", _ptr("/contracts/", "u.pos", "/dateSigned"))
    contracts.ts("period_start", "u.c.period.startDate", _ptr("/contracts/", "u.pos", "/period/startDate"))
    contracts.ts("period_end", "u.c.period.endDate", _ptr("/contracts/", "u.pos", "/period/endDate"))
    _value(contracts, "amount", "currency", "u.c.value", "/contracts/", "u.pos")
    amendments = Select(
        "{src} d, unnest(d.s.contracts) WITH ORDINALITY AS u(c, pos), "
        "unnest(u.c.amendments) WITH ORDINALITY AS m(am, mpos)", {
            "ocid": "d.s.ocid",
            "contract_position": "CAST(u.pos - 1 AS INTEGER)",
            "contract_id": "u.c.id",
            "position": "CAST(m.mpos - 1 AS INTEGER)",
            "amendment_id": "m.am.id",
            "rationale": "m.am.rationale",
            "description": "m.am.description",
            "amends_release_id": "m.am.amendsReleaseID",
            "release_id": "m.am.releaseID",
        })
    amendments.ts("date", "m.am.date",
                  "('/contracts/' || (u.pos - 1) || '/amendments/' || (m.mpos - 1) || '/date')")
    return contracts, amendments


def _lots() -> Select:
    lots = Select("{src} d, unnest(d.s.tender.lots) WITH ORDINALITY AS u(l, pos)", {
        "ocid": "d.s.ocid",
        "lot_id": "coalesce(u.l.id, '#' || (u.pos - 1))",
        "title": "u.l.title",
        "description": "u.l.description",
        "status": "u.l.status",
    })
    _value(lots, "amount", "currency", "u.l.value", "/tender/lots/", "u.pos")
    return lots


def _tenderers() -> Select:
    return Select("{src} d, unnest(d.s.tender.tenderers) WITH ORDINALITY AS u(t, pos)", {
        "ocid": "d.s.ocid",
        "party_id": "coalesce(u.t.id, '#' || (u.pos - 1))",
        "name": "u.t.name",
    })


def _build() -> dict[str, list[Select]]:
    bids, bid_tenderers = _bids()
    awards, award_suppliers = _awards()
    contracts, amendments = _contracts()
    return {
        "processes": [_processes()],
        "parties": [_parties()],
        "tenderers": [_tenderers()],
        "lots": [_lots()],
        "items": [_items("tender"), _items("award"), _items("contract")],
        "bids": [bids],
        "bid_tenderers": [bid_tenderers],
        "awards": [awards],
        "award_suppliers": [award_suppliers],
        "contracts": [contracts],
        "contract_amendments": [amendments],
        "documents": [_documents(s) for s in ("planning", "tender", "award", "contract")],
    }


FLATTEN: dict[str, list[Select]] = _build()

# Columns of `processes` that need more than one release or more than one table: filled when publishing.
DERIVED_PROCESS_COLUMNS = ("release_id", "release_date", "n_releases", "region_code", "year")


def flatten_sql(table: str, src: str) -> str:
    """The SQL producing (_k, <the table's columns...>, _err) for the parsed releases in table `src`."""
    return "\nUNION ALL BY NAME\n".join(sel.sql(table, src) for sel in FLATTEN[table])
