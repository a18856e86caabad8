"""goszakup.gov.kz reference books (`/v3/refs/...`): built-in defaults for the common codes, and pages
of reference books read from files to complete or override them.

A reference book maps a code used in goszakup's records (`ref_trade_methods_id`, `ref_buy_status_id`,
`ref_contract_status_id`, `ref_units_code`...) to its name, and Aiqyn adds the OCDS code it stands for.
The defaults cover the codes seen in real data and named in public documentation of the portal; a code
that is in no book keeps its number (`statusDetails` = "ref_contract_status_id=185") and gets no OCDS
code rather than a guessed one. A page of a reference book ingested in the same run (for example a saved
`/v3/refs/ref_contract_status` page) gives the names of every code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Procurement methods: id -> (name on the portal, OCDS procurementMethod).
TRADE_METHODS: dict[int, tuple[str, str | None]] = {
    2: ("Открытый конкурс", "open"),
    3: ("Запрос ценовых предложений", "open"),
    6: ("Из одного источника по несостоявшимся закупкам", "limited"),
    7: ("Аукцион", "open"),
    23: ("Из одного источника путем прямого заключения договора", "direct"),
    32: ("Конкурс с предварительным квалификационным отбором", "selective"),
    132: ("Первый этап конкурса с использованием рамочного соглашения", "selective"),
    188: ("Конкурс с использованием рейтингово-балльной системы", "open"),
}

# Announcement statuses: id -> (name, OCDS tender status).
BUY_STATUSES: dict[int, tuple[str, str | None]] = {
    190: ("Изменена документация", "active"),
    210: ("Опубликовано", "active"),
    220: ("Опубликовано (прием заявок)", "active"),
    230: ("Опубликовано (дополнение заявок)", "active"),
    240: ("Опубликовано (прием ценовых предложений)", "active"),
    250: ("Рассмотрение заявок", "active"),
    260: ("Рассмотрение дополнений заявок", "active"),
    310: ("Формирование протокола преддопуска", "active"),
    350: ("Завершено", "complete"),
    410: ("Отказ от закупки", "cancelled"),
    430: ("Отменено", "cancelled"),
    440: ("На обжаловании", "active"),
}

# Contract statuses: id -> (name, OCDS contract status). 330 and 390 are read from the data: every 330
# contract of the sample carries a cancellation reason (ref_contract_cancel_id), every 390 an execution date.
CONTRACT_STATUSES: dict[int, tuple[str, str | None]] = {
    190: ("Действует", "active"),
    330: ("Расторгнут", "cancelled"),
    390: ("Исполнен", "terminated"),
    450: ("Доп. соглашение", "active"),
    460: ("Передан. Действует", "active"),
}

# Lot statuses are named only when a ref_lots_status page is given; their OCDS status is not guessed.
LOT_STATUSES: dict[int, tuple[str, str | None]] = {}

# Subject of procurement: id -> (name, OCDS mainProcurementCategory).
SUBJECT_TYPES: dict[int, tuple[str, str | None]] = {
    1: ("Товар", "goods"),
    2: ("Работа", "works"),
    3: ("Услуга", "services"),
}

# Units of measure (МКЕИ / OKEI codes, as ref_units_code): code -> name.
UNITS: dict[str, str] = {
    "006": "Метр", "018": "Погонный метр", "055": "Квадратный метр", "111": "Кубический сантиметр",
    "112": "Литр", "113": "Кубический метр", "163": "Грамм", "166": "Килограмм", "168": "Тонна",
    "356": "Час", "359": "Сутки", "362": "Месяц", "366": "Год", "625": "Лист", "704": "Набор",
    "715": "Пара", "736": "Рулон", "778": "Упаковка", "796": "Штука", "839": "Комплект", "868": "Бутылка",
}

# Which book a `/v3/refs/<name>` page fills.
BOOKS = ("ref_trade_methods", "ref_buy_status", "ref_contract_status", "ref_lots_status", "ref_subject_type",
         "ref_units", "ref_kato", "ref_amendm_agreem_justif")
_BOOK_RE = re.compile(r"(ref_[a-z_]+?)(?:[/?.]|$)")


def book_of(text: str) -> str | None:
    """The reference book a `next_page` URL or a file name names (`/v3/refs/ref_units?page=...`), if any."""
    for m in _BOOK_RE.finditer(text.lower()):
        name = m.group(1)
        for book in BOOKS:
            if name == book or name.rstrip("s") == book.rstrip("s"):
                return book
    return None


@dataclass
class Refs:
    """The reference books in force for a run: the defaults, completed by pages read from files."""

    trade_methods: dict[int, tuple[str, str | None]] = field(default_factory=lambda: dict(TRADE_METHODS))
    buy_statuses: dict[int, tuple[str, str | None]] = field(default_factory=lambda: dict(BUY_STATUSES))
    contract_statuses: dict[int, tuple[str, str | None]] = field(default_factory=lambda: dict(CONTRACT_STATUSES))
    lot_statuses: dict[int, tuple[str, str | None]] = field(default_factory=lambda: dict(LOT_STATUSES))
    subject_types: dict[int, tuple[str, str | None]] = field(default_factory=lambda: dict(SUBJECT_TYPES))
    units: dict[str, str] = field(default_factory=lambda: dict(UNITS))
    kato: dict[str, str] = field(default_factory=dict)
    amendment_reasons: dict[int, str] = field(default_factory=dict)

    def add(self, book: str, item: dict[str, Any]) -> bool:
        """Take one item of a reference book page; False when it is not an entry of that book."""
        name = item.get("name_ru") or item.get("nameRu") or item.get("name_kz") or item.get("nameKz")
        if not isinstance(name, str) or not name.strip():
            return False
        name = " ".join(name.split())
        if book == "ref_units":
            code = item.get("code")
            if code in (None, ""):
                return False
            self.units[str(code)] = name
            return True
        if book == "ref_kato":
            code = item.get("code") or "".join(str(item.get(k) or "") for k in ("ab", "cd", "ef", "hij"))
            if not code:
                return False
            self.kato[str(code)] = name
            return True
        key = item.get("id")
        if not isinstance(key, int):
            try:
                key = int(str(key))
            except ValueError:
                return False
        if book == "ref_amendm_agreem_justif":
            self.amendment_reasons[key] = name
            return True
        table = {"ref_trade_methods": self.trade_methods, "ref_buy_status": self.buy_statuses,
                 "ref_contract_status": self.contract_statuses, "ref_lots_status": self.lot_statuses,
                 "ref_subject_type": self.subject_types}[book]
        old = table.get(key)
        table[key] = (name, old[1] if old else None)
        return True
