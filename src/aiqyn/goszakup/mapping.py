"""From goszakup.gov.kz OWS v3 items to OCDS releases.

Each item of the portal (a plan point, an announcement, a lot, an application, a contract, a unit of a
contract) becomes one OCDS release. Releases of one contracting process share an ocid built from the
announcement's id (`trd_buy_id`), so an announcement, its lots, its applications and its contracts that
arrive in different files are merged by the OCDS merge rules like any other releases. The release id
names the item and the date of its last update, so the same item read twice gives the same release
(ingesting it again changes nothing) and an updated item gives a newer release of its process.

docs/goszakup.md has the table of every field mapped, with its store column and its OCDS path.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import orjson

from aiqyn.export.ocds import drop_empty
from aiqyn.goszakup.kato import kato_of_address
from aiqyn.goszakup.refs import Refs
from aiqyn.ids import is_valid

# The ocid prefix of releases made from goszakup data. "ocds-kzgoszakup" is NOT a prefix registered with
# the Open Contracting Partnership (registered prefixes are "ocds-" and 6 characters): it marks the data
# as converted by Aiqyn from the portal's own format, not published as OCDS by the Ministry of Finance.
OCID_PREFIX = "ocds-kzgoszakup"
CURRENCY = "KZT"
LANGUAGE = "ru"
# Kazakhstan moved to a single time zone, UTC+5, on 1 March 2024 (before: UTC+6 in Astana, where the portal
# runs). Dates of the portal carry no offset: those before the change are read as +06:00, later ones +05:00.
_ZONE_CHANGE = dt.datetime(2024, 3, 1)

ENTITIES = ("contract", "plan_point", "announcement", "lot", "application", "contract_unit", "subject", "rnu")


class MappingError(Exception):
    """An item that cannot become a release: the field (as a JSON pointer inside the item) and why."""

    def __init__(self, pointer: str, reason: str):
        super().__init__(f"{pointer}: {reason}")
        self.pointer = pointer
        self.reason = reason


# -- keys ---------------------------------------------------------------------------------------------
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@lru_cache(maxsize=8192)
def _snake(key: str) -> str:
    return key if key.islower() else _CAMEL.sub("_", key).lower()


def snake_keys(value: Any) -> Any:
    """GraphQL answers use camelCase (`contractSumWnds`, `RefBuyStatus`); REST uses snake_case. One naming."""
    if isinstance(value, dict):
        return {(_snake(k) if isinstance(k, str) else k): (snake_keys(v) if isinstance(v, dict | list) else v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [snake_keys(v) if isinstance(v, dict | list) else v for v in value]
    return value


def entity_of(item: dict[str, Any]) -> str | None:
    """Which goszakup entity an item (with snake_case keys) is, from its field names."""
    keys = item.keys()
    if "contract_sum_wnds" in keys or "contract_number_sys" in keys or "contract_sum" in keys:
        return "contract"
    if "contract_id" in keys and ("item_price" in keys or "item_price_wnds" in keys or "quantity" in keys):
        return "contract_unit"
    if "ref_enstru_code" in keys and ("pln_point_year" in keys or "subject_biin" in keys or "plan_act_id" in keys
                                      or "rootrecord_id" in keys):
        return "plan_point"
    if "lot_number" in keys and ("trd_buy_id" in keys or "trd_buy_number_anno" in keys):
        return "lot"
    if "number_anno" in keys:
        return "announcement"
    if "app_lots" in keys or "date_apply" in keys:
        return "application"
    if "supplier_innunp" in keys or "court_decision" in keys or ("supplier_biin" in keys and "kato_list" in keys):
        return "rnu"
    if "pid" in keys and ("bin" in keys or "iin" in keys) and ("regdate" in keys or "supplier" in keys
                                                                or "customer" in keys or "name_ru" in keys):
        return "subject"
    return None


# -- fields -------------------------------------------------------------------------------------------
def _ptr(key: str) -> str:
    return "/" + key


def _text(item: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    return None


def _int(item: dict[str, Any], key: str, required: bool = False) -> int | None:
    value = item.get(key)
    if value is None or value == "":
        if required:
            raise MappingError(_ptr(key), "missing: the item has no " + key)
        return None
    if isinstance(value, bool):
        raise MappingError(_ptr(key), f"expected an integer id, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise MappingError(_ptr(key), f"expected an integer id, got {str(value)[:60]!r}")


def _id(item: dict[str, Any], key: str) -> int:
    """A required integer id."""
    value = _int(item, key, required=True)
    assert value is not None
    return value


def _num(item: dict[str, Any], key: str) -> float | int | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MappingError(_ptr(key), f"expected a number, got {value!r}")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            raise MappingError(_ptr(key), f"expected a number, got {value[:60]!r}") from None
        return int(number) if number.is_integer() else number
    raise MappingError(_ptr(key), f"expected a number, got {type(value).__name__}")


_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$")


def parse_date(text: str) -> str | None:
    """A date of the portal as an OCDS date-time (ISO 8601 with its offset); None when it is not a date."""
    m = _DATE.match(text.strip())
    if not m:
        return None
    y, mo, d, h, mi, s, zone = m.groups()
    try:
        local = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
    except ValueError:
        return None
    if zone is None:
        zone = "+06:00" if local < _ZONE_CHANGE else "+05:00"
    elif zone != "Z" and ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    return local.strftime("%Y-%m-%dT%H:%M:%S") + zone


def _date(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise MappingError(_ptr(key), f"not a date: {str(value)[:60]}")
    parsed = parse_date(value)
    if parsed is None:
        raise MappingError(_ptr(key), f"not a date: {value[:60]}")
    return parsed


def _first_date(item: dict[str, Any], *keys: str) -> tuple[str, str]:
    """The first of `keys` that holds a date, as (OCDS date, the key); every one is checked."""
    found: tuple[str, str] | None = None
    for key in keys:
        value = _date(item, key)
        if value is not None and found is None:
            found = (value, key)
    if found is None:
        raise MappingError(_ptr(keys[0]), "missing: no date to date the release (none of " + ", ".join(keys) + ")")
    return found


def identifier(value: Any, key: str) -> tuple[str, str] | None:
    """A BIN or IIN as (scheme, id): KZ-BIN for a legal entity, KZ-IIN for an individual (entrepreneur).

    The check digit is validated. The 5th digit tells them apart: a BIN has the entity type there (4, 5
    or 6), an IIN the first digit of the day of birth (0-3).
    """
    if value is None or value == "" or value == 0:
        return None
    text = str(value).strip()
    if isinstance(value, int):
        text = f"{value:012d}"
    if len(text) != 12 or not text.isdigit():
        raise MappingError(_ptr(key), f"not a BIN or IIN (12 digits): {text[:40]!r}")
    if not is_valid(text):
        raise MappingError(_ptr(key), f"BIN/IIN {text} has a wrong check digit")
    return ("KZ-BIN" if text[4] in "456" else "KZ-IIN"), text


def _ref(item: dict[str, Any], id_key: str, obj_key: str,
         table: dict[int, tuple[str, str | None]]) -> tuple[str | None, str | None]:
    """(local name, OCDS code) of a reference-book code; GraphQL may give the book entry as an object."""
    code = _int(item, id_key)
    name: str | None = None
    ocds: str | None = None
    if code is not None and code in table:
        name, ocds = table[code]
    nested = item.get(obj_key)
    if isinstance(nested, dict):
        name = name or _text(nested, "name_ru", "name_kz")
        if code is None and _int(nested, "id") in table:
            ocds = table[_int(nested, "id")][1]  # type: ignore[index]
    if name is None and code not in (None, 0):
        name = f"{id_key}={code}"
    return name, ocds


def _stamp(date: str) -> str:
    return re.sub(r"\D", "", date[:19])


def _release(ocid: str, kind: str, key: int | str, date: str, tag: list[str]) -> dict[str, Any]:
    return {"ocid": ocid, "id": f"{kind}-{key}-{_stamp(date)}", "date": date, "tag": tag,
            "initiationType": "tender", "language": LANGUAGE}


class _Parties:
    """The parties of a release, one per identity, their roles and bank accounts gathered."""

    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}

    def add(self, item: dict[str, Any], id_key: str, role: str, name_keys: tuple[str, ...],
            goszakup_id_key: str | None = None, address_key: str | None = None,
            bank: tuple[str, str, str] | None = None) -> dict[str, str] | None:
        ident = identifier(item.get(id_key), id_key)
        name = _text(item, *name_keys)
        gid = _int(item, goszakup_id_key) if goszakup_id_key else None
        if ident is not None:
            party_id = f"{ident[0]}-{ident[1]}"
        elif gid:
            party_id = f"goszakup-subject-{gid}"
        else:
            return None
        party = self.by_id.setdefault(party_id, {"id": party_id, "roles": []})
        if name and "name" not in party:
            party["name"] = name
        if ident is not None:
            party["identifier"] = {"scheme": ident[0], "id": ident[1], **({"legalName": name} if name else {})}
        if role not in party["roles"]:
            party["roles"].append(role)
        address = _text(item, address_key) if address_key else None
        if address:
            party["address"] = {"streetAddress": address}
            kato = kato_of_address(address)
            if kato:
                party.setdefault("details", {})["katoCode"] = kato
        if bank is not None:
            iik_key, bik_key, bank_key = bank
            iik = _text(item, iik_key)
            if iik:
                account = {"iban": iik, "bic": _text(item, bik_key), "bankName": _text(item, bank_key)}
                accounts = party.setdefault("details", {}).setdefault("bankAccounts", [])
                account = {k: v for k, v in account.items() if v}
                if account not in accounts:
                    accounts.append(account)
        return {"id": party_id, **({"name": party["name"]} if "name" in party else {})}

    def list(self) -> list[dict[str, Any]]:
        return list(self.by_id.values())


def _value(amount: float | int | None, currency: str | None = None) -> dict[str, Any] | None:
    return None if amount is None else {"amount": amount, "currency": currency or CURRENCY}


def _method(item: dict[str, Any], refs: Refs, key: str = "ref_trade_methods_id") -> dict[str, Any]:
    name, ocds = _ref(item, key, "ref_trade_methods", refs.trade_methods)
    return {"procurementMethod": ocds, "procurementMethodDetails": name}


def _category(item: dict[str, Any], refs: Refs) -> str | None:
    return _ref(item, "ref_subject_type_id", "ref_subject_type", refs.subject_types)[1]


def _ocid(trd_buy_id: int | None, contract_key: int | None = None) -> str:
    if trd_buy_id:
        return f"{OCID_PREFIX}-{trd_buy_id}"
    return f"{OCID_PREFIX}-contract-{contract_key}"


# -- entities -----------------------------------------------------------------------------------------
def contract(item: dict[str, Any], refs: Refs) -> dict[str, Any]:
    """/v3/contract: an award and a contract; an additional agreement (root_id names another contract)
    is an amendment of its root contract, whose value it sets."""
    cid = _id(item, "id")
    root = _int(item, "root_id")
    _int(item, "parent_id")  # checked: the previous version of the contract, when amended
    amendment = root not in (None, 0, cid)
    key = root if amendment else cid
    trd = _int(item, "trd_buy_id")
    date, _ = _first_date(item, "last_update_date", "crdate", "index_date")
    sign_date = _date(item, "sign_date")
    amount = _num(item, "contract_sum_wnds")
    if amount is None:
        amount = _num(item, "contract_sum")
    currency = _text(item, "ref_currency_code") or CURRENCY
    parties = _Parties()
    buyer = parties.add(item, "customer_bin", "buyer", ("customer_name_ru", "customer_name_kz"), "customer_id",
                        "customer_legal_address", ("customer_iik", "customer_bik", "customer_bank_name_ru"))
    supplier = parties.add(item, "supplier_biin", "supplier", ("supplier_name_ru", "supplier_name_kz"),
                           "supplier_id", "supplier_legal_address",
                           ("supplier_iik", "supplier_bik", "supplier_bank_name_ru"))
    status_name, status = _ref(item, "ref_contract_status_id", "ref_contract_status", refs.contract_statuses)
    description = _text(item, "description_ru", "description_kz")
    release = _release(_ocid(trd, key), "contract", cid, date, ["contractAmendment"] if amendment else
                       ["award", "contract"])
    release["parties"] = parties.list()
    release["buyer"] = buyer
    if amendment:
        reason_code = item.get("ref_amendm_agreem_justif_id")
        codes = reason_code if isinstance(reason_code, list) else [reason_code]
        reasons = [refs.amendment_reasons.get(c) or f"ref_amendm_agreem_justif_id={c}"
                   for c in codes if isinstance(c, int) and c]
        release["contracts"] = [{
            "id": str(root), "awardID": f"award-{root}",
            # An unsigned additional agreement does not change the contract's value.
            "value": _value(amount, currency) if sign_date else None,
            "amendments": [{"id": str(cid), "date": sign_date or _date(item, "crdate"),
                            "rationale": "; ".join(reasons) or None,
                            "description": description, "statusDetails": status_name}],
        }]
        return drop_empty(release)
    award_date = (_date(item, "trd_buy_itogi_date_public") or _date(item, "sign_reason_doc_date") or sign_date
                  or _date(item, "crdate"))
    release["tender"] = {
        "id": _text(item, "trd_buy_number_anno") or f"contract-{key}",
        "title": _text(item, "trd_buy_name_ru", "trd_buy_name_kz"),
        "mainProcurementCategory": _category(item, refs),
        **_method(item, refs, "fakt_trade_methods_id"),
    }
    release["awards"] = [{
        "id": f"award-{cid}", "status": "active", "date": award_date, "title": description,
        "value": _value(amount, currency), "suppliers": [supplier] if supplier else None,
    }]
    release["contracts"] = [{
        "id": str(cid), "awardID": f"award-{cid}", "title": description,
        "status": status, "statusDetails": status_name, "dateSigned": sign_date,
        "period": {"startDate": sign_date, "endDate": _date(item, "ec_end_date")},
        "value": _value(amount, currency),
    }]
    _date(item, "plan_exec_date")
    _date(item, "fakt_exec_date")
    return drop_empty(release)


def contract_unit(item: dict[str, Any], refs: Refs) -> dict[str, Any]:
    """/v3/contract/{id}/units: an item of a contract, with its quantity and unit price (with VAT)."""
    uid = _id(item, "id")
    root = _int(item, "root_id")
    contract_id = root or _id(item, "contract_id")
    trd = _int(item, "trd_buy_id")
    date, _ = _first_date(item, "index_date", "crdate")
    price = _num(item, "item_price_wnds")
    if price is None:
        price = _num(item, "item_price")
    lot = _int(item, "lot_id")
    release = _release(_ocid(trd, contract_id), "contract-unit", uid, date, ["contractUpdate"])
    release["contracts"] = [{"id": str(contract_id), "awardID": f"award-{contract_id}", "items": [{
        "id": f"unit-{uid}", "quantity": _num(item, "quantity"),
        "unit": {"value": _value(price)}, "relatedLot": str(lot) if lot else None,
    }]}]
    return drop_empty(release)


def plan_point(item: dict[str, Any], refs: Refs) -> dict[str, Any]:
    """/v3/plans: a point of an annual procurement plan, a planning process of its own (its versions share
    `rootrecord_id`): the goods code (ENSTRU), quantity, unit price and amount planned."""
    pid = _id(item, "id")
    root = _int(item, "rootrecord_id") or pid
    date, _ = _first_date(item, "timestamp", "date_approved", "date_create", "index_date")
    parties = _Parties()
    buyer = parties.add(item, "subject_biin", "buyer", ("subject_name_ru", "subject_name_kz"), "sys_subjects_id")
    enstru = _text(item, "ref_enstru_code")
    unit_code = _text(item, "ref_units_code")
    title = _text(item, "name_ru", "name_kz")
    release = _release(f"{OCID_PREFIX}-plan-{root}", "plan", pid, date, ["planning"])
    release["parties"] = parties.list()
    release["buyer"] = buyer
    release["planning"] = {
        "budget": {"amount": _value(_num(item, "amount")),
                   "description": _text(item, "plan_act_number") and f"plan {_text(item, 'plan_act_number')}"},
        "items": [{
            "id": str(root), "description": title,
            "classification": {"scheme": "ENSTRU", "id": enstru} if enstru else None,
            "quantity": _num(item, "count"),
            "unit": {"scheme": "MKEI", "id": unit_code, "name": refs.units.get(unit_code or ""),
                     "value": _value(_num(item, "price"))},
        }],
    }
    release["tender"] = {
        "id": f"plan-{root}", "title": title, "description": _text(item, "desc_ru", "desc_kz"),
        "status": "planning", "mainProcurementCategory": _category(item, refs), **_method(item, refs),
    }
    _date(item, "date_approved")
    return drop_empty(release)


def _lot_fields(lot: dict[str, Any], refs: Refs, lot_key: int) -> tuple[dict[str, Any], dict[str, Any]]:
    status_name, status = _ref(lot, "ref_lot_status_id", "ref_lots_status", refs.lot_statuses)
    enstru = _text(lot, "ref_enstru_code", "enstru_code")
    unit_name = None
    plans = lot.get("plans")
    if isinstance(plans, list) and plans and isinstance(plans[0], dict):
        enstru = enstru or _text(plans[0], "ref_enstru_code")
        units = plans[0].get("ref_units")
        unit_name = _text(units, "name_ru") if isinstance(units, dict) else None
    lot_obj = {"id": str(lot_key), "title": _text(lot, "name_ru", "name_kz"),
               "description": _text(lot, "description_ru", "description_kz"),
               "status": status, "statusDetails": status_name, "value": _value(_num(lot, "amount"))}
    item = {"id": f"lot-{lot_key}", "description": _text(lot, "name_ru", "name_kz"),
            "classification": {"scheme": "ENSTRU", "id": enstru} if enstru else None,
            "quantity": _num(lot, "count"), "unit": {"name": unit_name} if unit_name else None,
            "relatedLot": str(lot_key)}
    return lot_obj, item


def lot(item: dict[str, Any], refs: Refs) -> dict[str, Any]:
    """/v3/lots: a lot of an announcement and its item (quantity, ENSTRU code when given)."""
    lid = _id(item, "id")
    trd = _id(item, "trd_buy_id")
    date, _ = _first_date(item, "last_update_date", "index_date")
    parties = _Parties()
    buyer = parties.add(item, "customer_bin", "buyer", ("customer_name_ru", "customer_name_kz"), "customer_id")
    lot_obj, lot_item = _lot_fields(item, refs, lid)
    release = _release(_ocid(trd), "lot", lid, date, ["tenderUpdate"])
    release["parties"] = parties.list()
    release["buyer"] = buyer
    release["tender"] = {"id": _text(item, "trd_buy_number_anno") or str(trd), **_method(item, refs),
                         "lots": [lot_obj], "items": [lot_item]}
    return drop_empty(release)


def announcement(item: dict[str, Any], refs: Refs) -> dict[str, Any]:
    """/v3/trd-buy: the announcement of a purchase, the tender of its process (with its lots when the
    GraphQL answer nests them)."""
    bid = _id(item, "id")
    date, _ = _first_date(item, "index_date", "last_update_date", "publish_date")
    parties = _Parties()
    org = parties.add(item, "org_bin", "procuringEntity", ("org_name_ru", "org_name_kz"), "org_pid")
    buyer = parties.add(item, "customer_bin", "buyer", ("customer_name_ru", "customer_name_kz"), "customer_pid")
    status_name, status = _ref(item, "ref_buy_status_id", "ref_buy_status", refs.buy_statuses)
    lots, items = [], []
    nested = item.get("lots")
    if isinstance(nested, list):
        for i, lot_item in enumerate(nested):
            if not isinstance(lot_item, dict):
                raise MappingError(f"/lots/{i}", "a lot must be an object")
            lot_key = _int(lot_item, "id") or _text(lot_item, "lot_number")
            if lot_key is None:
                raise MappingError(f"/lots/{i}/id", "missing: the lot has no id nor lot_number")
            try:
                lot_obj, it = _lot_fields(lot_item, refs, lot_key)  # type: ignore[arg-type]
                parties.add(lot_item, "customer_bin", "buyer", ("customer_name_ru", "customer_name_kz"))
            except MappingError as exc:
                raise MappingError(f"/lots/{i}{exc.pointer}", exc.reason) from None
            lots.append(lot_obj)
            items.append(it)
    documents = []
    files = item.get("files")
    if isinstance(files, list):
        for i, f in enumerate(files):
            if isinstance(f, dict) and _text(f, "file_path"):
                documents.append({"id": _text(f, "id") or str(i), "title": _text(f, "original_name", "name_ru"),
                                  "url": _text(f, "file_path")})
    release = _release(_ocid(bid), "trd-buy", bid, date, ["tender"])
    release["parties"] = parties.list()
    release["buyer"] = buyer or org
    release["tender"] = {
        "id": _text(item, "number_anno") or str(bid), "title": _text(item, "name_ru", "name_kz"),
        "status": status, "statusDetails": status_name, **_method(item, refs),
        "mainProcurementCategory": _category(item, refs), "value": _value(_num(item, "total_sum")),
        "tenderPeriod": {"startDate": _date(item, "start_date"), "endDate": _date(item, "end_date")},
        "procuringEntity": org, "lots": lots, "items": items, "documents": documents,
    }
    _date(item, "publish_date")
    _date(item, "itogi_date_public")
    return drop_empty(release)


def application(item: dict[str, Any], refs: Refs) -> dict[str, Any]:
    """TrdApp: an application of a supplier to an announcement; its price offers per lot (AppLots) are bids."""
    aid = _id(item, "id")
    trd = _int(item, "buy_id") or _int(item, "trd_buy_id")
    if not trd:
        raise MappingError("/buy_id", "missing: the application names no announcement (buy_id or trd_buy_id)")
    date, _ = _first_date(item, "date_apply", "last_update_date", "index_date")
    parties = _Parties()
    id_key = next((k for k in ("supplier_bin_iin", "supplier_biin", "supplier_bin", "su_bin") if item.get(k)),
                  "supplier_biin")
    tenderer = parties.add(item, id_key, "tenderer", ("supplier_name_ru", "supplier_name_kz", "name_ru"),
                           "supplier_id")
    bids = []
    app_lots = item.get("app_lots")
    if isinstance(app_lots, list) and app_lots:
        for i, app_lot in enumerate(app_lots):
            if not isinstance(app_lot, dict):
                raise MappingError(f"/app_lots/{i}", "a price offer must be an object")
            try:
                lot_id = _id(app_lot, "lot_id")
                price = _num(app_lot, "price")
                if price is None:
                    price = _num(app_lot, "amount")
                status = _text(app_lot, "status_id", "ref_app_lot_status_id")
            except MappingError as exc:
                raise MappingError(f"/app_lots/{i}{exc.pointer}", exc.reason) from None
            bids.append({"id": f"{aid}-{lot_id}", "date": date, "value": _value(price),
                         "statusDetails": status and f"status_id={status}",
                         "tenderers": [tenderer] if tenderer else None, "relatedLots": [str(lot_id)]})
    else:
        bids.append({"id": str(aid), "date": date, "value": _value(_num(item, "price")),
                     "tenderers": [tenderer] if tenderer else None})
    release = _release(_ocid(trd), "app", aid, date, ["tenderUpdate"])
    release["parties"] = parties.list()
    release["tender"] = {"id": _text(item, "trd_buy_number_anno", "number_anno") or str(trd),
                         "tenderers": [tenderer] if tenderer else None}
    release["bids"] = {"details": bids}
    return drop_empty(release)


def rnu_entry(item: dict[str, Any]) -> tuple[str, str | None, dt.date, dt.date | None, str | None]:
    """/v3/rnu: an entry of the register of unreliable suppliers, as a row of `unreliable_suppliers`
    (bin, name, included_on, excluded_on, reason). The inclusion date is `start_date` when the API gives it,
    else the date the entry was indexed (`index_date`), which is never before the inclusion."""
    ident = identifier(item.get("supplier_biin"), "supplier_biin")
    if ident is None:
        raise MappingError("/supplier_biin", "missing: the entry has no BIN or IIN (a foreign supplier's "
                           "supplier_innunp cannot be matched to the parties)")
    start, _ = _first_date(item, "start_date", "index_date")
    end = _date(item, "end_date")
    reason = _text(item, "court_decision") or (f"ref_reason_id={_text(item, 'ref_reason_id')}"
                                               if _text(item, "ref_reason_id") else None)
    return (ident[1], _text(item, "supplier_name_ru", "supplier_name_kz"), dt.date.fromisoformat(start[:10]),
            dt.date.fromisoformat(end[:10]) if end else None, reason)


def participant_entry(item: dict[str, Any]) -> dict[str, Any] | None:
    """/v3/subject: a participant with a BIN, as a row of the companies register (bin, names, registration date,
    phone); None for an individual (IIN only) or a foreign participant (no BIN), which that register does not hold."""
    ident = identifier(item.get("bin"), "bin")
    if ident is None or ident[0] != "KZ-BIN":
        identifier(item.get("iin"), "iin")  # checked all the same
        return None
    registered = _date(item, "regdate")
    return {"bin": ident[1], "name_kk": _text(item, "name_kz", "full_name_kz"),
            "name_ru": _text(item, "name_ru", "full_name_ru"), "name_latin": None,
            "registered_on": dt.date.fromisoformat(registered[:10]) if registered else None,
            "address": None, "phone": _text(item, "phone"), "status": None}


MAPPERS: dict[str, Callable[[dict[str, Any], Refs], dict[str, Any]]] = {
    "contract": contract, "contract_unit": contract_unit, "plan_point": plan_point, "lot": lot,
    "announcement": announcement, "application": application,
}


def to_release(item: Any, refs: Refs, entity: str | None = None, snaked: bool = False) -> tuple[str, dict[str, Any]]:
    """(entity, OCDS release) of one goszakup item; raises MappingError when it cannot be mapped.
    `snaked`: the item's keys are already snake_case (snake_keys)."""
    if not isinstance(item, dict):
        raise MappingError("", f"expected a JSON object (a goszakup item), got {type(item).__name__}")
    if not snaked:
        item = snake_keys(item)
    entity = entity or entity_of(item)
    if entity is None:
        keys = ", ".join(sorted(item)[:12])
        raise MappingError("", f"not a goszakup item: no field of a contract, plan point, announcement, lot, "
                           f"application or contract unit (keys: {keys})")
    mapper = MAPPERS.get(entity)
    if mapper is None:
        raise MappingError("", f"a {entity} item is a register entry, not a procurement process")
    return entity, mapper(item, refs)


def release_text(release: dict[str, Any]) -> bytes:
    """The release as JSON text, keys sorted: the same item always gives the same text."""
    return orjson.dumps(release, option=orjson.OPT_SORT_KEYS)
