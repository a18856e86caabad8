"""Items of goszakup.gov.kz's OWS v3 API for tests, with the field names and shapes of the real API (see
../shared/data/goszakup-ows-v3-samples and docs/goszakup.md), and the files users hold them in."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from aiqyn.ids import make_bin, make_iin

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "goszakup-ows-v3-samples"
BOM = b"\xef\xbb\xbf"


def a_bin(serial: int, year: int = 2010, month: int = 5) -> str:
    for s in range(serial, serial + 50):
        number = make_bin(year, month, s)
        if number:
            return number
    raise AssertionError("no BIN")


def an_iin(serial: int) -> str:
    for s in range(serial, serial + 50):
        number = make_iin(dt.date(1979, 2, 26), True, s)
        if number:
            return number
    raise AssertionError("no IIN")


BUYER = a_bin(101, 2016, 4)
SUPPLIER = a_bin(202, 2007, 11)
SUPPLIER2 = a_bin(303, 2012, 3)
ENTREPRENEUR = an_iin(404)


def announcement(trd: int = 5001, **over: Any) -> dict[str, Any]:
    item = {
        "id": trd, "number_anno": f"{trd}-1", "name_ru": "Закуп бумаги офисной", "name_kz": "Қағаз сатып алу",
        "total_sum": 1_200_000, "count_lots": 1, "ref_trade_methods_id": 3, "ref_subject_type_id": 1,
        "customer_bin": BUYER, "customer_pid": 11, "org_bin": BUYER, "org_pid": 11, "ref_buy_status_id": 350,
        "start_date": "2020-02-01 09:00:00", "repeat_start_date": None, "repeat_end_date": None,
        "end_date": "2020-02-08 09:00:00", "publish_date": "2020-01-31 18:00:00",
        "itogi_date_public": "2020-02-10 10:00:00", "ref_type_trade_id": 1, "disable_person_id": 0,
        "discus_start_date": None, "discus_end_date": None, "id_supplier": None, "biin_supplier": None,
        "parent_id": 0, "singl_org_sign": 0, "is_light_industry": 0, "is_construction_work": 0,
        "customer_name_ru": "ГУ «Отдел образования»", "customer_name_kz": "ММ «Білім бөлімі»",
        "org_name_ru": "ГУ «Отдел образования»", "org_name_kz": "ММ «Білім бөлімі»", "system_id": 3,
        "index_date": "2020-02-10 12:00:00",
    }
    item.update(over)
    return item


def lot(lot_id: int = 7001, trd: int = 5001, **over: Any) -> dict[str, Any]:
    item = {
        "id": lot_id, "lot_number": f"{lot_id}-ЗЦП1", "ref_lot_status_id": 360,
        "last_update_date": "2020-02-10 11:00:00",
        "union_lots": 0, "count": 100, "amount": 1_200_000, "name_ru": "Бумага А4", "name_kz": "А4 қағазы",
        "description_ru": "Бумага офисная А4, 80 г/м2", "description_kz": "А4", "customer_id": 11,
        "customer_bin": BUYER, "trd_buy_number_anno": f"{trd}-1", "trd_buy_id": trd, "dumping": 0,
        "dumping_lot_price": 0, "psd_sign": 0, "consulting_services": 0, "point_list": [35511372],
        "singl_org_sign": 0, "is_light_industry": 0, "is_construction_work": 0, "disable_person_id": 0,
        "customer_name_kz": "ММ «Білім бөлімі»", "customer_name_ru": "ГУ «Отдел образования»",
        "ref_trade_methods_id": 3, "index_date": "2020-02-10 12:00:00", "system_id": 3,
    }
    item.update(over)
    return item


def application(app_id: int, supplier: str, price: float, trd: int = 5001, lot_id: int = 7001) -> dict[str, Any]:
    """A TrdApp of the GraphQL API (camelCase, as the API answers), with one price offer (AppLots)."""
    return {"id": app_id, "buyId": trd, "supplierId": app_id + 1, "supplierBinIin": supplier,
            "dateApply": "2020-02-05 15:30:00", "AppLots": [{"lotId": lot_id, "price": price, "amount": price,
                                                             "statusId": 320}]}


def contract(cid: int = 9001, trd: int | None = 5001, supplier: str = SUPPLIER, amount: float = 1_100_000,
             **over: Any) -> dict[str, Any]:
    item = {
        "id": cid, "parent_id": 0, "root_id": cid, "trd_buy_id": trd or 0,
        "trd_buy_number_anno": f"{trd}-1" if trd else None, "trd_buy_name_ru": "Закуп бумаги офисной",
        "trd_buy_name_kz": "Қағаз сатып алу", "ref_amendm_agreem_justif_id": [0], "ref_contract_status_id": 190,
        "deleted": 0, "crdate": "2020-02-11 09:00:00", "last_update_date": "2020-02-12 10:00:00",
        "supplier_id": 24002, "supplier_biin": supplier, "supplier_bik": "KCJBKZKX",
        "supplier_iik": "KZ468560000005082256", "supplier_bank_name_kz": "«Банк ЦентрКредит» АҚ",
        "supplier_bank_name_ru": "АО «Банк ЦентрКредит»", "supplier_legal_address": "г.Нур-Султан, ДОСТЫК, 18",
        "supplier_bill_id": 55076, "contract_number": "12", "sign_reason_doc_name": "Итоговый протокол",
        "sign_reason_doc_date": "2020-02-10 10:00:00", "trd_buy_itogi_date_public": "2020-02-10 10:00:00",
        "customer_id": 11, "customer_bin": BUYER, "customer_bik": "KKMFKZ2A", "customer_iik": "KZ92070101KSN0000000",
        "customer_bank_name_kz": "ҚР Қаржы министрлігінің Қазынашылық комитеті",
        "customer_bank_name_ru": "РГУ «Комитет казначейства»",
        "customer_legal_address": "г.Нур-Султан, Мангилик Ел, 10",
        "customer_bill_id": 1031046, "contract_number_sys": f"{BUYER}/{cid}/00", "payments_terms_ru": None,
        "payments_terms_kz": None, "ref_subject_type_id": 1, "ref_subject_types_id": 0, "is_gu": 1, "fin_year": 2020,
        "ref_contract_agr_form_id": 1, "ref_contract_year_type_id": 1, "ref_finsource_id": 0,
        "ref_currency_code": "KZT", "exchange_rate": 1, "contract_sum": amount / 1.12, "contract_sum_wnds": amount,
        "sign_date": "2020-02-12 09:30:00", "ec_end_date": "2020-12-31 00:00:00",
        "plan_exec_date": "2020-03-01 00:00:00",
        "fakt_exec_date": None, "fakt_sum": 0, "fakt_sum_wnds": 0, "contract_end_date": None,
        "ref_contract_cancel_id": 0, "ref_contract_type_id": 1, "description_kz": "Қағаз",
        "description_ru": "Поставка бумаги", "fakt_trade_methods_id": 3, "ec_customer_approve": 1,
        "ec_supplier_approve": 1, "contract_ms": 0, "system_id": 3, "index_date": "2020-02-12 12:00:05",
    }
    item.update(over)
    return item


def plan_point(pid: int = 35511372, **over: Any) -> dict[str, Any]:
    item = {
        "id": pid, "rootrecord_id": pid, "sys_subjects_id": 11, "subject_biin": BUYER,
        "subject_name_ru": "ГУ «Отдел образования»", "subject_name_kz": "ММ «Білім бөлімі»",
        "name_ru": "Бумага для офисной техники", "name_kz": "Кеңсе техникасына арналған қағаз",
        "ref_trade_methods_id": 3, "ref_units_code": "778", "count": 100, "price": 12000, "amount": 1_200_000,
        "ref_months_id": 2, "ref_pln_point_status_id": 2, "pln_point_year": 2020, "ref_subject_type_id": 1,
        "ref_enstru_code": "171912.000.000001", "ref_finsource_id": 1, "ref_abp_code": 464, "is_qvazi": 0,
        "date_create": "2020-01-10 10:00:00", "timestamp": "2020-01-10 10:05:00", "ref_point_type_id": 1,
        "desc_ru": "формат А4", "desc_kz": "А4 пішімі", "extra_desc_kz": None, "extra_desc_ru": None,
        "sum_1": 1_200_000, "sum_2": 0, "sum_3": 0, "supply_date_ru": "февраль", "prepayment": 0,
        "ref_justification_id": 0, "ref_amendment_agreem_type_id": 0, "ref_amendm_agreem_justif_id": 0,
        "contract_prev_point_id": 0, "disable_person_id": 0, "transfer_sys_subjects_id": 0, "transfer_type": 0,
        "ref_budget_type_id": 4, "createdin_act_id": 1, "is_active": 1, "active_act_id": 1, "system_id": 3,
        "index_date": "2020-01-10 10:20:00", "plan_act_id": 1, "plan_act_number": "1", "ref_plan_status_id": 3,
        "plan_fin_year": 2020, "plan_preliminary": 0, "date_approved": "2020-01-10 10:04:00",
    }
    item.update(over)
    return item


def page(items: list[dict[str, Any]], path: str = "/v3/contract/all", total: int | None = None) -> dict[str, Any]:
    last = items[-1].get("id", items[-1].get("pid")) if items else 0
    return {"total": total or len(items), "limit": 500,
            "next_page": f"{path}?page=next&limit=500&search_after={last}", "items": items}


def write_page(path: Path, items: list[dict[str, Any]], endpoint: str = "/v3/contract/all", bom: bool = True) -> Path:
    """A saved REST page, pretty-printed as the portal's saved pages are, with a byte order mark."""
    text = json.dumps(page(items, endpoint), ensure_ascii=False, indent=2).encode("utf-8")
    path.write_bytes((BOM if bom else b"") + text)
    return path


def write_lines(path: Path, items: list[Any]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return path


def write_graphql(path: Path, entity: str, items: list[dict[str, Any]]) -> Path:
    answer = {"data": {entity: items},
              "extensions": {"pageInfo": {"limitPage": 200, "totalCount": len(items), "hasNextPage": False,
                                          "lastId": items[-1]["id"] if items else 0}}}
    path.write_text(json.dumps(answer, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
