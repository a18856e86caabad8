"""The pure parts of the goszakup adapter: identifiers, entities, key naming, KATO from addresses, reference books."""

from __future__ import annotations

import pytest

from aiqyn.goszakup.kato import kato_of_address
from aiqyn.goszakup.mapping import MappingError, entity_of, identifier, snake_keys, to_release
from aiqyn.goszakup.refs import Refs, book_of
from goszakup_factory import BUYER, ENTREPRENEUR, announcement, application, contract, lot, plan_point


def test_bin_and_iin() -> None:
    assert identifier(BUYER, "customer_bin") == ("KZ-BIN", BUYER)
    assert identifier(ENTREPRENEUR, "supplier_biin") == ("KZ-IIN", ENTREPRENEUR)
    assert identifier("", "x") is None and identifier(None, "x") is None
    with pytest.raises(MappingError) as e:
        identifier(BUYER[:11] + str((int(BUYER[11]) + 1) % 10), "customer_bin")
    assert e.value.pointer == "/customer_bin" and "wrong check digit" in e.value.reason
    with pytest.raises(MappingError):
        identifier("12345", "customer_bin")


def test_entities_are_told_by_their_fields() -> None:
    assert [entity_of(snake_keys(i)) for i in (contract(), plan_point(), announcement(), lot(),
                                               application(1, BUYER, 1.0))] == [
        "contract", "plan_point", "announcement", "lot", "application"]
    assert entity_of({"contract_id": 1, "item_price": 2.0, "quantity": 1}) == "contract_unit"
    assert entity_of({"pid": 1, "supplier_biin": BUYER, "supplier_innunp": None}) == "rnu"
    assert entity_of({"pid": 1, "bin": BUYER, "regdate": "2016-04-20"}) == "subject"
    assert entity_of({"id": 1}) is None


def test_camel_case_keys() -> None:
    assert snake_keys({"contractSumWnds": 1, "RefBuyStatus": {"nameRu": "x"}, "AppLots": [{"lotId": 2}]}) == {
        "contract_sum_wnds": 1, "ref_buy_status": {"name_ru": "x"}, "app_lots": [{"lot_id": 2}]}


def test_graphql_announcement_with_nested_lots_and_files() -> None:
    item = {"id": 77, "numberAnno": "77-1", "nameRu": "Уголь", "orgBin": BUYER, "totalSum": 100.5,
            "startDate": "2024-03-02 09:00:00", "publishDate": "2024-03-01 18:00:00",
            "RefBuyStatus": {"nameRu": "Опубликовано (прием заявок)"},
            "Lots": [{"id": 5, "lotNumber": "1", "amount": 100.5, "count": 10, "nameRu": "Уголь",
                      "Plans": [{"refEnstruCode": "051010.100.000000", "RefUnits": {"nameRu": "Тонна"}}]}],
            "Files": [{"filePath": "https://example.kz/f.pdf", "originalName": "Документация.pdf"}]}
    entity, release = to_release(item, Refs())
    assert entity == "announcement"
    tender = release["tender"]
    assert tender["statusDetails"] == "Опубликовано (прием заявок)"
    assert tender["tenderPeriod"]["startDate"] == "2024-03-02T09:00:00+05:00"
    assert tender["items"][0]["classification"] == {"scheme": "ENSTRU", "id": "051010.100.000000"}
    assert tender["items"][0]["unit"] == {"name": "Тонна"}
    assert tender["documents"][0]["url"] == "https://example.kz/f.pdf"
    assert release["buyer"]["id"] == f"KZ-BIN-{BUYER}"


@pytest.mark.parametrize(("address", "code"), [
    ("Костанайская область, Карасуский район, с.Карасу, Больничная, 1, 2", "395200000"),
    ("г.Нур-Султан, Проспект МАНГИЛИК ЕЛ, 10", "710000000"),
    ("Карагандинская область, г.Караганда, ул. Ерубаева, 1", "351000000"),
    ("Восточно-Казахстанская область, г.Семей, ул. Абая", "101000000"),  # Семей is in Абай oblast since 2022
    ("Южно-Казахстанская область, г.Шымкент, пр. Тауке хана", "790000000"),
    ("Қарағанды облысы, Теміртау Қ.Ә., Республика даңғылы", "352400000"),
    ("Мангистауская область, НЕТ ТАКОГО РАЙОНА, 1", "470000000"),
    ("Казахстан, г.Тараз, Айтеке Би, 28А", None),
    ("", None),
])
def test_kato_of_legal_addresses(address: str, code: str | None) -> None:
    assert kato_of_address(address) == code


def test_reference_books() -> None:
    assert book_of("/v3/refs/ref_trade_methods?page=next&search_after=10") == "ref_trade_methods"
    assert book_of("ref_units.json") == "ref_units"
    assert book_of("contracts.json") is None
    refs = Refs()
    assert refs.add("ref_trade_methods", {"id": 128, "name_ru": "Тендер с применением особого порядка"})
    assert refs.trade_methods[128] == ("Тендер с применением особого порядка", None)
    assert refs.add("ref_trade_methods", {"id": 3, "name_ru": "ЗЦП"}) and refs.trade_methods[3] == ("ЗЦП", "open")
    assert refs.add("ref_units", {"code": "5114", "name_ru": "Услуга"}) and refs.units["5114"] == "Услуга"
    assert not refs.add("ref_units", {"code": "1"})
