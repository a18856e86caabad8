"""The store written back as OCDS: one compiled release per process, as JSON lines.

Every process of the canonical tables (whatever it was read from: OCDS of any publisher, or goszakup.gov.kz
data turned into OCDS on ingest) becomes a compiled release built from the canonical rows only, so the
export shows exactly what Aiqyn's analytics read. The releases validate against the OCDS release schema with
the bids extension shipped in `schema/` (see its SOURCE.md); `validate` checks them, dates included.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import IO, Any

import duckdb
import orjson
from jsonschema import Draft4Validator, FormatChecker

CHUNK = 20_000  # processes read from the store at a time (each table is scanned once per chunk)


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch, as OCDS extensions are applied to the release schema."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


@cache
def release_schema() -> dict[str, Any]:
    """The OCDS release schema with the bids extension applied."""
    folder = resources.files("aiqyn.export").joinpath("schema")
    schema = json.loads(folder.joinpath("release-schema-1__1__4.json").read_text("utf-8"))
    patch = json.loads(folder.joinpath("bid-extension-patch.json").read_text("utf-8"))
    merged: dict[str, Any] = _merge_patch(schema, patch)
    return merged


def _is_date_time(value: object) -> bool:
    """RFC 3339 date-time: a date, 'T', a time and an offset (jsonschema checks none without extra packages)."""
    if not isinstance(value, str):
        return True
    if len(value) < 20 or value[10] not in "Tt" or not (value.endswith(("Z", "z")) or value[-6] in "+-"):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return False
    return True


@cache
def validator() -> Draft4Validator:
    checker = FormatChecker(formats=())
    checker.checks("date-time")(_is_date_time)
    return Draft4Validator(release_schema(), format_checker=checker)


def errors(release: dict[str, Any], limit: int = 5) -> list[str]:
    """What makes `release` invalid (JSON pointer: message), at most `limit`; [] when it is valid."""
    found = []
    for error in validator().iter_errors(release):
        pointer = "/" + "/".join(str(p) for p in error.absolute_path)
        found.append(f"{pointer}: {error.message[:300]}")
        if len(found) >= limit:
            break
    return found


# -- building releases from the canonical tables --------------------------------------------------------
def _iso(ts: Any, text: str | None = None) -> str | None:
    """A date as published when it is RFC 3339, else the stored timestamp (UTC)."""
    if text and _is_date_time(text):
        return text
    if ts is None:
        return None
    if isinstance(ts, dt.datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=dt.UTC)
        return ts.isoformat().replace("+00:00", "Z")
    return str(ts)


def _value(amount: Any, currency: Any) -> dict[str, Any] | None:
    if amount is None and currency is None:
        return None
    return {"amount": amount, "currency": currency}


def _period(start: Any, end: Any, start_text: str | None = None, end_text: str | None = None) -> dict[str, Any]:
    return {"startDate": _iso(start, start_text), "endDate": _iso(end, end_text)}


def _ref(party_id: Any, name: Any) -> dict[str, Any] | None:
    return None if party_id is None and name is None else {"id": party_id, "name": name}


def drop_empty(obj: Any) -> Any:
    """Drop None values and empty containers (OCDS: omit what is not known)."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if isinstance(value, dict | list):
                value = drop_empty(value)
                if not value:
                    continue
            elif value is None:
                continue
            out[key] = value
        return out
    if isinstance(obj, list):
        return [drop_empty(v) if isinstance(v, dict | list) else v for v in obj]
    return obj


def _rows(con: duckdb.DuckDBPyConnection, table: str, order: str) -> dict[str, list[dict[str, Any]]]:
    cur = con.execute(f"SELECT * FROM {table} WHERE ocid IN (SELECT ocid FROM _export_chunk) ORDER BY ocid, {order}")
    names = [d[0] for d in cur.description]
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in cur.fetchall():
        record = dict(zip(names, row, strict=True))
        grouped[record["ocid"]].append(record)
    return grouped


def _item(i: dict[str, Any]) -> dict[str, Any]:
    classification = None
    if i["classification_id"] is not None or i["classification_scheme"] is not None:
        classification = {"scheme": i["classification_scheme"], "id": i["classification_id"],
                          "description": i["classification_description"]}
    unit = {"scheme": i["unit_scheme"], "id": i["unit_id"], "name": i["unit_name"],
            "value": _value(i["unit_price"], i["unit_currency"])}
    return {"id": i["item_id"] if i["item_id"] is not None else str(i["position"]), "description": i["description"],
            "classification": classification, "quantity": i["quantity"], "unit": unit, "relatedLot": i["related_lot"]}


def _document(d: dict[str, Any]) -> dict[str, Any]:
    return {"id": d["document_id"] if d["document_id"] is not None else str(d["position"]),
            "documentType": d["document_type"], "title": d["title"], "url": d["url"],
            "datePublished": _iso(d["date_published"]), "format": d["format"], "language": d["language"]}


def _compiled(p: dict[str, Any], t: dict[str, dict[str, list[dict[str, Any]]]], fallback_date: str) -> dict[str, Any]:
    ocid = p["ocid"]

    def rows(table: str) -> list[dict[str, Any]]:
        return t[table].get(ocid, [])

    accounts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in rows("party_accounts"):
        accounts[a["party_id"]].append({"iban": a["iban"], "bic": a["bic"], "bankName": a["bank_name"]})
    parties = []
    for r in rows("parties"):
        identifier = None
        if r["identifier"] is not None or r["scheme"] is not None:
            identifier = {"scheme": r["scheme"], "id": r["identifier"], "legalName": r["legal_name"]}
        parties.append({
            "id": r["party_id"], "name": r["name"], "identifier": identifier,
            "address": {"streetAddress": r["street_address"], "locality": r["locality"], "region": r["region"],
                        "postalCode": r["postal_code"], "countryName": r["country"]},
            "contactPoint": {"name": r["contact_name"], "email": r["email"], "telephone": r["telephone"]},
            "roles": r["roles"], "details": {"katoCode": r["region_code"], "bankAccounts": accounts.get(r["party_id"])},
        })
    items: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for i in rows("items"):
        items[(i["section"], i["parent_id"])].append(_item(i))
    documents: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for d in rows("documents"):
        documents[(d["section"], d["parent_id"])].append(_document(d))
    bid_tenderers: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for b in rows("bid_tenderers"):
        bid_tenderers[b["bid_position"]].append(_ref(b["party_id"], b["name"]))  # type: ignore[arg-type]
    suppliers: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for s in rows("award_suppliers"):
        suppliers[s["award_position"]].append(_ref(s["party_id"], s["name"]))  # type: ignore[arg-type]
    amendments: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for a in rows("contract_amendments"):
        amendments[a["contract_position"]].append({
            "id": a["amendment_id"], "date": _iso(a["date"]), "rationale": a["rationale"],
            "description": a["description"], "amendsReleaseID": a["amends_release_id"], "releaseID": a["release_id"]})
    date = _iso(p["release_date"]) or fallback_date
    has_tender = any(p[k] is not None for k in ("tender_id", "title", "status", "method", "method_details",
                                                "estimated_amount", "tender_start", "procuring_entity_id"))
    tender = None
    if has_tender or rows("lots") or rows("tenderers") or items[("tender", "")] or documents[("tender", "")]:
        tender = {
            "id": p["tender_id"] or ocid, "title": p["title"], "description": p["description"], "status": p["status"],
            "statusDetails": p["status_details"], "procurementMethod": p["method"],
            "procurementMethodDetails": p["method_details"], "procurementMethodRationale": p["method_rationale"],
            "mainProcurementCategory": p["main_category"], "awardCriteria": p["award_criteria"],
            "value": _value(p["estimated_amount"], p["estimated_currency"]),
            "tenderPeriod": _period(p["tender_start"], p["tender_end"], p["tender_start_text"], p["tender_end_text"]),
            "enquiryPeriod": _period(p["enquiry_start"], p["enquiry_end"]),
            "awardPeriod": _period(p["award_period_start"], p["award_period_end"]),
            "contractPeriod": _period(p["contract_period_start"], p["contract_period_end"]),
            "numberOfTenderers": p["number_of_tenderers"],
            "procuringEntity": _ref(p["procuring_entity_id"], p["procuring_entity_name"]),
            "tenderers": [_ref(r["party_id"], r["name"]) for r in rows("tenderers")],
            "items": items[("tender", "")],
            "lots": [{"id": r["lot_id"], "title": r["title"], "description": r["description"], "status": r["status"],
                      "value": _value(r["amount"], r["currency"])} for r in rows("lots")],
            "documents": documents[("tender", "")],
        }
    release = {
        "ocid": ocid, "id": f"{ocid}-{date}", "date": date, "tag": ["compiled"], "initiationType": "tender",
        "language": p["language"], "parties": parties, "buyer": _ref(p["buyer_id"], p["buyer_name"]),
        "planning": {"budget": {"amount": _value(p["budget_amount"], p["budget_currency"])},
                     "items": items[("planning", "")], "documents": documents[("planning", "")]},
        "tender": tender,
        "bids": {"details": [{
            "id": b["bid_id"] if b["bid_id"] is not None else str(b["position"]),
            "date": _iso(b["date"], b["date_text"]),
            "status": b["status"], "value": _value(b["amount"], b["currency"]),
            "tenderers": bid_tenderers.get(b["position"]), "relatedLots": b["related_lots"]} for b in rows("bids")]},
        "awards": [{
            "id": a["award_id"] if a["award_id"] is not None else str(a["position"]), "title": a["title"],
            "status": a["status"], "date": _iso(a["date"], a["date_text"]), "value": _value(a["amount"], a["currency"]),
            "suppliers": suppliers.get(a["position"]), "relatedLots": a["related_lots"], "relatedBid": a["related_bid"],
            "items": items[("award", a["award_id"] if a["award_id"] is not None else f"#{a['position']}")],
            "documents": documents[("award", a["award_id"] if a["award_id"] is not None else f"#{a['position']}")],
        } for a in rows("awards")],
        "contracts": [{
            "id": c["contract_id"] if c["contract_id"] is not None else str(c["position"]), "awardID": c["award_id"],
            "title": c["title"], "status": c["status"], "dateSigned": _iso(c["date_signed"], c["date_signed_text"]),
            "period": _period(c["period_start"], c["period_end"]), "value": _value(c["amount"], c["currency"]),
            "items": items[("contract", c["contract_id"] if c["contract_id"] is not None else f"#{c['position']}")],
            "amendments": amendments.get(c["position"]),
            "documents": documents[("contract", c["contract_id"] if c["contract_id"] is not None
                                    else f"#{c['position']}")],
        } for c in rows("contracts")],
    }
    cleaned: dict[str, Any] = drop_empty(release)
    return cleaned


TABLES = {
    "parties": "party_id", "party_accounts": "party_id, position", "tenderers": "party_id", "lots": "lot_id",
    "items": "section, parent_id, position", "documents": "section, parent_id, position", "bids": "position",
    "bid_tenderers": "bid_position, party_id", "awards": "position", "award_suppliers": "award_position, party_id",
    "contracts": "position", "contract_amendments": "contract_position, position",
}


def compiled_releases(con: duckdb.DuckDBPyConnection, chunk: int = CHUNK) -> Iterator[dict[str, Any]]:
    """Every process of the store as an OCDS compiled release, in ocid order, `chunk` processes at a time."""
    fallback = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    last = ""
    while True:
        con.execute("CREATE OR REPLACE TEMP TABLE _export_chunk AS "
                    "SELECT ocid FROM processes WHERE ocid > ? ORDER BY ocid LIMIT ?", [last, chunk])
        cur = con.execute("SELECT * FROM processes WHERE ocid IN (SELECT ocid FROM _export_chunk) ORDER BY ocid")
        names = [d[0] for d in cur.description]
        processes = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        if not processes:
            con.execute("DROP TABLE IF EXISTS _export_chunk")
            return
        tables = {table: _rows(con, table, order) for table, order in TABLES.items()}
        for p in processes:
            yield _compiled(p, tables, fallback)
        last = processes[-1]["ocid"]


@dataclass
class ExportResult:
    releases: int = 0
    invalid: int = 0
    examples: list[str] = field(default_factory=list)


def export_jsonl(con: duckdb.DuckDBPyConnection, out: IO[bytes], validate: bool = False,
                 max_examples: int = 20) -> ExportResult:
    """Write every process as a compiled release, one JSON object per line; optionally validate each."""
    result = ExportResult()
    for release in compiled_releases(con):
        if validate:
            problems = errors(release)
            if problems:
                result.invalid += 1
                if len(result.examples) < max_examples:
                    result.examples.append(f"{release['ocid']}: {'; '.join(problems)}")
        out.write(orjson.dumps(release))
        out.write(b"\n")
        result.releases += 1
    return result


def export_file(db: Path, out: Path, validate: bool = False) -> ExportResult:
    from aiqyn.store.db import connect

    con = connect(db, read_only=True)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "wb") as f:
            return export_jsonl(con, f, validate=validate)
    finally:
        con.close()
