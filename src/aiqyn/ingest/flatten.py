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
    "tag": ["VARCHAR"],
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
            # bankAccounts: payment details (goszakup's IIK and BIK), for the affiliation graph.
            "details": {"katoCode": "VARCHAR", "bankAccounts": [{"iban": "VARCHAR", "bic": "VARCHAR",
                                                                  "bankName": "VARCHAR"}]},
        }
    ],
    "planning": {"budget": {"amount": _VALUE}, "documents": [_DOC], "items": [_ITEM]},
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


def _sql_type(spec: object) -> str:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, list):
        return _sql_type(spec[0]) + "[]"
    assert isinstance(spec, dict)
    return "STRUCT(" + ", ".join(f'"{k}" {_sql_type(v)}' for k, v in spec.items()) + ")"


# The same structure as the `columns` argument of read_json (the fast path reads whole files with it:
# read_json then rejects a container of the wrong type itself, which json_transform lets pass as NULL).
READ_JSON_COLUMNS = "{" + ", ".join(f"'{k}': '{_sql_type(v)}'" for k, v in STRUCTURE.items()) + "}"

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

    source: str  # FROM clause, where {src} stands for the table of parsed releases
    exprs: dict[str, str]
    key: str = "d.k"  # the expression of the release's key in the batch
    checks: list[str] = field(default_factory=list)
    # Columns beside the table's, named `_...`, that ingest needs to derive other columns (not stored).
    helpers: dict[str, str] = field(default_factory=dict)

    # An empty string stands for "no value" at many publishers (Moldova, for one): it is read as NULL,
    # not rejected. Any other string where a number or a date belongs is an error.
    # (A check repeats the value's expression, so that DuckDB computes it once for both.)
    def num(self, col: str, expr: str, pointer: str) -> None:
        value = f"(CASE WHEN json_type({expr}) IN {_NUMERIC} THEN TRY_CAST({expr} AS DOUBLE) END)"
        self.exprs[col] = value
        self.checks.append(
            f"CASE WHEN {value} IS NULL AND {expr} IS NOT NULL AND json_type({expr}) NOT IN {_NUMERIC} "
            f"AND json_type({expr}) <> 'NULL' AND CAST({expr} AS VARCHAR) <> '\"\"' "
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
        value = f"TRY_CAST(nullif({expr}, '') AS TIMESTAMPTZ)"
        self.exprs[col] = value
        self.checks.append(
            f"CASE WHEN {value} IS NULL AND nullif(trim({expr}), '') IS NOT NULL "
            f"THEN {pointer} || ': not a date: ' || left({expr}, 60) END"
        )

    def sql(self, table: str, src: str) -> str:
        cols = [c for c in SCHEMA[table].column_names if c in self.exprs]
        select = ",\n  ".join([f'{self.exprs[c]} AS "{c}"' for c in cols]
                               + [f'{e} AS "{c}"' for c, e in self.helpers.items()])
        err = f"concat_ws('; ', {', '.join(self.checks)})" if self.checks else "''"
        return f"SELECT {self.key} AS _k,\n  {select},\n  NULLIF({err}, '') AS _err\nFROM {self.source.format(src=src)}"


def _unnest(list_expr: str) -> str:
    """Rows of a list in the release: u.k, u.ocid, u.x (the element), u.pos (1-based position).

    unnest() in the SELECT list with generate_subscripts() is far faster than a lateral join
    (`FROM t, unnest(...) WITH ORDINALITY`), which copies the whole release struct for every element.
    """
    return (f"(SELECT d.k, d.s.ocid AS ocid, unnest({list_expr}) AS x, generate_subscripts({list_expr}, 1) AS pos "
            "FROM {src} d) u")


def _unnest2(parent: str, child: str) -> str:
    """Rows of a list inside the elements of a list: as _unnest, plus u.pid and u.ppos of the parent."""
    return ("(SELECT p.k, p.ocid, p.pid, p.ppos, unnest(p.children) AS x, generate_subscripts(p.children, 1) AS pos "
            f"FROM (SELECT d.k, d.s.ocid AS ocid, unnest({parent}).id AS pid, unnest({parent}).{child} AS children, "
            f"generate_subscripts({parent}, 1) AS ppos FROM {{src}} d) p) u")


def _value(sel: Select, amount_col: str, currency_col: str, base: str, pointer: str) -> None:
    sel.num(amount_col, f"{base}.amount", pointer)
    sel.exprs[currency_col] = f"{base}.currency"


def _items(section: str) -> Select:
    if section in ("tender", "planning"):
        src, parent = _unnest(f"d.s.{section}.items"), "''"
        item_ptr = f"('/{section}/items/' || (u.pos - 1))"
    else:
        plural = "awards" if section == "award" else "contracts"
        src, parent = _unnest2(f"d.s.{plural}", "items"), "coalesce(u.pid, '#' || (u.ppos - 1))"
        item_ptr = f"('/{plural}/' || (u.ppos - 1) || '/items/' || (u.pos - 1))"
    sel = Select(src, {
        "ocid": "u.ocid",
        "section": _quote(section),
        "parent_id": parent,
        "position": "CAST(u.pos - 1 AS INTEGER)",
        "item_id": "u.x.id",
        "description": "u.x.description",
        "classification_scheme": "u.x.classification.scheme",
        "classification_id": "u.x.classification.id",
        "classification_description": "u.x.classification.description",
        "unit_scheme": "u.x.unit.scheme",
        "unit_id": "u.x.unit.id",
        "unit_name": "u.x.unit.name",
        "unit_currency": "u.x.unit.value.currency",
        "related_lot": "u.x.relatedLot",
    }, key="u.k")
    sel.num("quantity", "u.x.quantity", f"({item_ptr} || '/quantity')")
    sel.num("unit_price", "u.x.unit.value.amount", f"({item_ptr} || '/unit/value/amount')")
    return sel


def _documents(section: str) -> Select:
    if section in ("planning", "tender"):
        src, parent = _unnest(f"d.s.{section}.documents"), "''"
        ptr = _ptr(f"/{section}/documents/", "u.pos", "/datePublished")
    else:
        plural = "awards" if section == "award" else "contracts"
        src, parent = _unnest2(f"d.s.{plural}", "documents"), "coalesce(u.pid, '#' || (u.ppos - 1))"
        ptr = f"('/{plural}/' || (u.ppos - 1) || '/documents/' || (u.pos - 1) || '/datePublished')"
    sel = Select(src, {
        "ocid": "u.ocid",
        "section": _quote(section),
        "parent_id": parent,
        "position": "CAST(u.pos - 1 AS INTEGER)",
        "document_id": "u.x.id",
        "document_type": "u.x.documentType",
        "title": "u.x.title",
        "url": "u.x.url",
        "format": "u.x.format",
        "language": "u.x.language",
    }, key="u.k")
    sel.ts("date_published", "u.x.datePublished", ptr)
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
    _value(sel, "estimated_amount", "estimated_currency", f"{t}.value", "'/tender/value/amount'")
    _value(sel, "budget_amount", "budget_currency", "d.s.planning.budget.amount", "'/planning/budget/amount/amount'")
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
    # For the derived columns (DERIVED_PROCESS_COLUMNS), from the release's own lists, as the rows of the
    # `parties`, `awards` and `contracts` tables give them: the region of the buyer (of the smallest party
    # id among the buyer's parties with a region), the first award date and the first contract signature.
    sel.helpers = {
        "_buyer_region": (
            "list_sort(list_filter(list_transform(d.s.parties, lambda x, i: {'id': coalesce(x.id, '#' || (i - 1)), "
            "'region': x.details.katoCode, 'buyer': list_contains(coalesce(x.roles, []), 'buyer')}), "
            "lambda p: p.region IS NOT NULL AND (p.id = d.s.buyer.id OR p.buyer)))[1].region"),
        "_first_award": ("list_min(list_transform(d.s.awards, "
                         "lambda a: TRY_CAST(nullif(a.date, '') AS TIMESTAMPTZ)))"),
        "_first_contract": ("list_min(list_transform(d.s.contracts, "
                            "lambda c: TRY_CAST(nullif(c.dateSigned, '') AS TIMESTAMPTZ)))"),
    }
    return sel


def _parties() -> Select:
    return Select(_unnest("d.s.parties"), {
        "ocid": "u.ocid",
        "party_id": "coalesce(u.x.id, '#' || (u.pos - 1))",
        "subject_id": ("CASE WHEN nullif(u.x.identifier.id, '') IS NOT NULL THEN "
                       "coalesce(u.x.identifier.scheme || '-', '') || u.x.identifier.id "
                       "ELSE coalesce(u.x.id, '#' || (u.pos - 1)) END"),
        "name": "u.x.name",
        "scheme": "u.x.identifier.scheme",
        "identifier": "u.x.identifier.id",
        "legal_name": "u.x.identifier.legalName",
        "street_address": "u.x.address.streetAddress",
        "locality": "u.x.address.locality",
        "region": "u.x.address.region",
        "postal_code": "u.x.address.postalCode",
        "country": "u.x.address.countryName",
        "region_code": "u.x.details.katoCode",
        "contact_name": "u.x.contactPoint.name",
        "email": "u.x.contactPoint.email",
        "telephone": "u.x.contactPoint.telephone",
        "roles": "coalesce(u.x.roles, [])",
    }, key="u.k")


def _party_accounts() -> Select:
    """Bank accounts of the parties (parties[].details.bankAccounts, from goszakup's IIK and BIK)."""
    return Select(
        "(SELECT p.k, p.ocid, p.pid, p.ppos, unnest(p.children) AS x, generate_subscripts(p.children, 1) AS pos "
        "FROM (SELECT d.k, d.s.ocid AS ocid, unnest(d.s.parties).id AS pid, "
        "unnest(d.s.parties).details.bankAccounts AS children, generate_subscripts(d.s.parties, 1) AS ppos "
        "FROM {src} d) p) u", {
            "ocid": "u.ocid",
            "party_id": "coalesce(u.pid, '#' || (u.ppos - 1))",
            "position": "CAST(u.pos - 1 AS INTEGER)",
            "iban": "u.x.iban",
            "bic": "u.x.bic",
            "bank_name": "u.x.bankName",
        }, key="u.k")


def _party_refs(parent: str, child: str, owner: str) -> Select:
    """Organisation references listed in each element of a list (a bid's tenderers, an award's suppliers)."""
    return Select(_unnest2(parent, child), {
        "ocid": "u.ocid",
        f"{owner}_position": "CAST(u.ppos - 1 AS INTEGER)",
        f"{owner}_id": "u.pid",
        "party_id": "u.x.id",
        "name": "u.x.name",
    }, key="u.k")


def _bids() -> tuple[Select, Select]:
    bids = Select(_unnest("d.s.bids.details"), {
        "ocid": "u.ocid",
        "position": "CAST(u.pos - 1 AS INTEGER)",
        "bid_id": "u.x.id",
        "date_text": "u.x.date",
        "status": "u.x.status",
        "related_lots": "coalesce(u.x.relatedLots, [])",
    }, key="u.k")
    bids.ts("date", "u.x.date", _ptr("/bids/details/", "u.pos", "/date"))
    _value(bids, "amount", "currency", "u.x.value", _ptr("/bids/details/", "u.pos", "/value/amount"))
    return bids, _party_refs("d.s.bids.details", "tenderers", "bid")


def _awards() -> tuple[Select, Select]:
    awards = Select(_unnest("d.s.awards"), {
        "ocid": "u.ocid",
        "position": "CAST(u.pos - 1 AS INTEGER)",
        "award_id": "u.x.id",
        "title": "u.x.title",
        "status": "u.x.status",
        "date_text": "u.x.date",
        "related_lots": "coalesce(u.x.relatedLots, [])",
        "related_bid": "u.x.relatedBid",
    }, key="u.k")
    awards.ts("date", "u.x.date", _ptr("/awards/", "u.pos", "/date"))
    _value(awards, "amount", "currency", "u.x.value", _ptr("/awards/", "u.pos", "/value/amount"))
    return awards, _party_refs("d.s.awards", "suppliers", "award")


def _contracts() -> tuple[Select, Select]:
    contracts = Select(_unnest("d.s.contracts"), {
        "ocid": "u.ocid",
        "position": "CAST(u.pos - 1 AS INTEGER)",
        "contract_id": "u.x.id",
        "award_id": "u.x.awardID",
        "title": "u.x.title",
        "status": "u.x.status",
        "date_signed_text": "u.x.dateSigned",
    }, key="u.k")
    contracts.ts("date_signed", "u.x.dateSigned", _ptr("/contracts/", "u.pos", "/dateSigned"))
    contracts.ts("period_start", "u.x.period.startDate", _ptr("/contracts/", "u.pos", "/period/startDate"))
    contracts.ts("period_end", "u.x.period.endDate", _ptr("/contracts/", "u.pos", "/period/endDate"))
    _value(contracts, "amount", "currency", "u.x.value", _ptr("/contracts/", "u.pos", "/value/amount"))
    amendments = Select(_unnest2("d.s.contracts", "amendments"), {
        "ocid": "u.ocid",
        "contract_position": "CAST(u.ppos - 1 AS INTEGER)",
        "contract_id": "u.pid",
        "position": "CAST(u.pos - 1 AS INTEGER)",
        "amendment_id": "u.x.id",
        "rationale": "u.x.rationale",
        "description": "u.x.description",
        "amends_release_id": "u.x.amendsReleaseID",
        "release_id": "u.x.releaseID",
    }, key="u.k")
    amendments.ts("date", "u.x.date", "('/contracts/' || (u.ppos - 1) || '/amendments/' || (u.pos - 1) || '/date')")
    return contracts, amendments


def _lots() -> Select:
    lots = Select(_unnest("d.s.tender.lots"), {
        "ocid": "u.ocid",
        "lot_id": "coalesce(u.x.id, '#' || (u.pos - 1))",
        "title": "u.x.title",
        "description": "u.x.description",
        "status": "u.x.status",
    }, key="u.k")
    _value(lots, "amount", "currency", "u.x.value", _ptr("/tender/lots/", "u.pos", "/value/amount"))
    return lots


def _tenderers() -> Select:
    return Select(_unnest("d.s.tender.tenderers"), {
        "ocid": "u.ocid",
        "party_id": "coalesce(u.x.id, '#' || (u.pos - 1))",
        "name": "u.x.name",
    }, key="u.k")


def _build() -> dict[str, list[Select]]:
    bids, bid_tenderers = _bids()
    awards, award_suppliers = _awards()
    contracts, amendments = _contracts()
    return {
        "processes": [_processes()],
        "parties": [_parties()],
        "tenderers": [_tenderers()],
        "lots": [_lots()],
        "items": [_items("tender"), _items("award"), _items("contract"), _items("planning")],
        "party_accounts": [_party_accounts()],
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
