"""A realistic, Kazakhstan-like procurement data set with planted corruption schemes.

Writes JSON lines of OCDS compiled releases and `truth.json`, which names the processes, buyers and
suppliers that carry each planted scheme, so that detection can be measured. Deterministic for a seed.

Buyers are akimats, schools, hospitals, kindergartens and departments of real districts (KATO); suppliers
are companies with valid BINs whose first digits are their registration year and month; methods, their
shares and their minimum submission periods follow goszakup.gov.kz; amounts are in tenge with a
log-normal skew; medicines are bought at prices under the Ministry of Health's ceiling prices.

Two layouts. Without `jobs`: one random stream, `releases.jsonl`. With `jobs` (any N >= 1): the processes are
cut into shards of SHARD_SIZE, each drawn from its own random stream (seed, shard number) over the same
population of buyers and suppliers, and written to `releases-00000.jsonl`, ...; N shards are made at a time, in
N processes, and the files and truth.json are the same whatever N. Companies and phone numbers a shard creates
(new winners, bidders sharing contacts) are drawn from the shard's own residue class of the serial space, so
that two shards never create the same BIN or phone.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import math
import multiprocessing
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from aiqyn.generate.catalog import (
    BUYER_KINDS,
    CATALOG,
    COMPANY_SUFFIXES,
    COMPANY_WORDS,
    COMPETITIVE,
    FIRST_NAMES,
    LAST_NAMES,
    LEGAL_FORMS,
    METHODS,
    STREETS,
    Good,
)
from aiqyn.ids import make_bin
from aiqyn.reference import KatoUnit, kato_units, medicines
from aiqyn.reference.kz_calendar import next_working_day

MCI = 3_692  # monthly calculation index (МРП), tenge, 2024
SPLIT_THRESHOLD = 4_000 * MCI  # request for price proposals is allowed below 4,000 MCI

# Planted schemes and their default rates (share of processes carrying each).
SCHEMES: dict[str, tuple[float, str]] = {
    "favoured_supplier": (
        0.02,
        "a buyer captured by one supplier, who wins its competitive tenders as the only bidder",
    ),
    "bid_rigging": (
        0.02,
        "a ring of suppliers bids together: cover bids at identical or fixed-gap prices, winners in rotation",
    ),
    "splitting": (
        0.015,
        "one buyer buys the same goods code in several purchases within 30 days, each under "
        f"the threshold of {SPLIT_THRESHOLD:,} KZT (4,000 MCI), together above it",
    ),
    "short_period": (0.02, "a tender open for fewer days than the legal minimum of its method"),
    "overpricing": (
        0.02,
        "an item bought at 1.8-3.5 times its typical unit price, or a medicine above its ceiling price",
    ),
    "amendment_inflation": (0.02, "contract value raised by amendments by 30-80% over the award"),
    "new_winner": (0.015, "the winner of a large contract was registered (BIN) 0-2 months before the tender"),
    "shared_contacts": (0.015, "bidders of one tender share a phone or an address"),
}

YEARS = (2022, 2023, 2024, 2025)
SHARD_SIZE = 100_000  # processes per shard of the sharded layout (`jobs`); fixed, so the data do not depend on N
# Phone numbers "+7 7A B CCC DD EE": A one of 7 operator digits, B 0-9, CCC 100-999, DD and EE 10-99.
_OPERATORS = "0145678"
_PHONE_SPACE = len(_OPERATORS) * 10 * 900 * 90 * 90


@dataclass
class Org:
    bin: str
    name: str
    kato: KatoUnit
    street: str
    phone: str
    email: str
    contact: str
    registered: dt.date
    kind: str = "company"

    @property
    def party_id(self) -> str:
        return f"KZ-BIN-{self.bin}"

    def party(self, roles: list[str]) -> dict[str, Any]:
        return {
            "id": self.party_id,
            "name": self.name,
            "identifier": {"scheme": "KZ-BIN", "id": self.bin, "legalName": self.name},
            "address": {
                "streetAddress": self.street,
                "locality": self.kato.name_ru,
                "region": _oblast_name(self.kato),
                "countryName": "Казахстан",
            },
            "contactPoint": {"name": self.contact, "telephone": self.phone, "email": self.email},
            "roles": roles,
            "details": {"katoCode": self.kato.kato},
        }

    def ref(self) -> dict[str, str]:
        return {"id": self.party_id, "name": self.name}


_OBLASTS: dict[str, str] = {}


def _oblast_name(unit: KatoUnit) -> str:
    if not _OBLASTS:
        _OBLASTS.update({u.kato: u.name_ru for u in kato_units() if u.level == "oblast"})
    return _OBLASTS.get(unit.region, unit.name_ru)


@dataclass
class Truth:
    processes: dict[str, list[str]] = field(default_factory=lambda: {s: [] for s in SCHEMES})
    buyers: dict[str, set[str]] = field(default_factory=lambda: {s: set() for s in SCHEMES})
    suppliers: dict[str, set[str]] = field(default_factory=lambda: {s: set() for s in SCHEMES})
    # Per overpriced process: the planted item and the amount paid above what it would have cost.
    overpricing: dict[str, dict[str, Any]] = field(default_factory=dict)


def _iso(ts: dt.datetime) -> str:
    # Kazakhstan moved to a single time zone, UTC+5, on 1 March 2024.
    offset = 6 if ts < dt.datetime(2024, 3, 1) else 5
    return ts.strftime("%Y-%m-%dT%H:%M:%S") + f"+0{offset}:00"


class Generator:
    def __init__(self, tenders: int, seed: int, rates: dict[str, float] | None = None):
        self.n = tenders
        self.rng = random.Random(seed)
        self.seed = seed
        self.rates = {name: default for name, (default, _) in SCHEMES.items()}
        self.rates.update(rates or {})
        self.truth = Truth()
        self._serial = 0
        self._shard: tuple[int, int] | None = None  # (shard, shards) in the sharded layout
        self._population: tuple[frozenset[str], frozenset[str]] | None = None
        self._used_bins: set[str] = set()
        self._used_phones: set[str] = set()
        units = kato_units()
        self.districts = [u for u in units if u.level == "district"]
        self.medicines = [m for m in medicines() if m.ceiling_price > 0]
        n_buyers = max(40, tenders // 60)
        n_suppliers = max(120, tenders // 12)
        self.buyers = [self._buyer(i) for i in range(n_buyers)]
        self.suppliers = [self._company(self._registration(1998, 2020)) for _ in range(n_suppliers)]
        by_region: dict[str, list[Org]] = {}
        for s in self.suppliers:
            by_region.setdefault(s.kato.region, []).append(s)
        self.suppliers_by_region = by_region
        rng = self.rng
        # Captured buyers, each with its favourite supplier; bid-rigging rings with their price pattern.
        n_captured = max(2, n_buyers // 30)
        self.captured = [(b, rng.choice(self.suppliers)) for b in rng.sample(self.buyers, n_captured)]
        n_rings = max(2, n_suppliers // 150)
        self.rings: list[dict[str, Any]] = []
        for _ in range(n_rings):
            members = rng.sample(self.suppliers, rng.randint(3, 5))
            pattern = rng.choice(["identical", "fixed_gap", "fixed_gap"])
            self.rings.append(
                {"members": members, "pattern": pattern, "gap": rng.choice([0.02, 0.03, 0.05]), "turn": 0}
            )

    def start_shard(self, shard: int, shards: int, size: int = SHARD_SIZE) -> None:
        """Draw the processes of `shard` (of `shards`, `size` processes each) next: its own random stream, its
        serial numbers, an empty truth, the rings' rotation restarted, and only the population's BINs and phones
        taken (the shard's own draw from its residue class, so that no other shard's can collide)."""
        if self._population is None:
            self._population = (frozenset(self._used_bins), frozenset(self._used_phones))
        self.rng = random.Random(f"{self.seed}-shard-{shard}")
        self._serial = shard * size
        self._shard = (shard, shards)
        self.truth = Truth()
        self._used_bins = set(self._population[0])
        self._used_phones = set(self._population[1])
        for ring in self.rings:
            ring["turn"] = 0

    # -- organisations ------------------------------------------------------------------------------
    def _registration(self, first_year: int, last_year: int) -> dt.date:
        return dt.date(self.rng.randint(first_year, last_year), self.rng.randint(1, 12), 1)

    def _bin(self, registered: dt.date) -> str:
        for _ in range(100_000):
            if self._shard is None:
                serial = self.rng.randrange(100000)
            else:  # a shard's companies: serials of its residue class
                shard, shards = self._shard
                serial = self.rng.randrange(100000 // shards) * shards + shard
            number = make_bin(registered.year, registered.month, serial)
            if number and number not in self._used_bins:
                self._used_bins.add(number)
                return number
        raise RuntimeError(f"no free BIN left for companies registered in {registered:%Y-%m}")

    def _phone(self) -> str:
        for _ in range(100_000):
            if self._shard is None:
                phone = (
                    f"+7 7{self.rng.choice(_OPERATORS)}{self.rng.randint(0, 9)} {self.rng.randint(100, 999)} "
                    f"{self.rng.randint(10, 99)} {self.rng.randint(10, 99)}"
                )
            else:  # a shard's companies: numbers of its residue class
                shard, shards = self._shard
                i = self.rng.randrange(_PHONE_SPACE // shards) * shards + shard
                i, e = divmod(i, 90)
                i, d = divmod(i, 90)
                i, c = divmod(i, 900)
                a, b = divmod(i, 10)
                phone = f"+7 7{_OPERATORS[a]}{b} {c + 100} {d + 10} {e + 10}"
            if phone not in self._used_phones:
                self._used_phones.add(phone)
                return phone
        raise RuntimeError("no free phone number left")

    def _person(self) -> str:
        return f"{self.rng.choice(LAST_NAMES)} {self.rng.choice(FIRST_NAMES)}"

    def _company(self, registered: dt.date, kato: KatoUnit | None = None) -> Org:
        rng = self.rng
        name = (
            f"{rng.choice(LEGAL_FORMS)} «{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES)}"
            f"{'' if rng.random() < 0.6 else ' ' + str(rng.randint(1, 99))}»"
        )
        number = self._bin(registered)
        return Org(
            number,
            name,
            kato or rng.choice(self.districts),
            f"{rng.choice(STREETS)}, {rng.randint(1, 250)}",
            self._phone(),
            f"info{number[-6:]}@mail.kz",
            self._person(),
            registered,
        )

    def _buyer(self, i: int) -> Org:
        rng = self.rng
        weights = [w for _, _, w in BUYER_KINDS]
        template, kind, _ = rng.choices(BUYER_KINDS, weights)[0]
        district = rng.choice(self.districts)
        name = template.format(
            district=district.name_ru, region=_oblast_name(district), n=rng.randint(1, 120)
        )
        registered = self._registration(1995, 2012)
        return Org(
            self._bin(registered),
            name,
            district,
            f"{rng.choice(STREETS)}, {rng.randint(1, 120)}",
            self._phone(),
            f"goszakup{i}@gov.kz",
            self._person(),
            registered,
            kind,
        )

    # -- processes ----------------------------------------------------------------------------------
    def releases(self, count: int | None = None) -> Iterator[dict[str, Any]]:
        """The compiled releases, in order (`count` of them, default all); `self.truth` is filled as they are
        made."""
        rng = self.rng
        total = self.n if count is None else count
        schemes = list(self.rates)
        thresholds = []
        acc = 0.0
        for s in schemes:
            acc += self.rates[s]
            thresholds.append(acc)
        made = 0
        while made < total:
            u = rng.random()
            scheme = next((s for s, t in zip(schemes, thresholds, strict=True) if u < t), None)
            if scheme == "splitting" and self._shard is not None and total - made < 2:
                scheme = None  # a shard holds exactly its count: no split purchase of one process at its end
            if scheme == "splitting":
                group = self._split_group(min(rng.randint(3, 5), total - made))
                made += len(group)
                yield from group
                continue
            made += 1
            yield self._process(scheme)

    def _ocid(self, serial: int, year: int) -> str:
        return f"ocds-aiqyn1-{year}-{serial:09d}"

    def _start(self) -> dt.datetime:
        rng = self.rng
        year = rng.choice(YEARS)
        # Spending rises towards the end of the year (the year-end rush is normal, to a degree).
        month = min(12, 1 + int(12 * rng.random() ** 0.85))
        day = rng.randint(1, 28)
        return dt.datetime(year, month, day, rng.randint(9, 17), rng.choice((0, 15, 30, 45)))

    def _method(self, competitive: bool = False) -> tuple[str, str, tuple[int, int], int]:
        options = [m for m in METHODS if not competitive or m[0] in COMPETITIVE]
        details, method, _, period, minimum = self.rng.choices(options, [m[2] for m in options])[0]
        return details, method, period, minimum

    def _items(
        self, good: Good | None, budget: float | None
    ) -> tuple[list[dict[str, Any]], float, list[float]]:
        """Items of a purchase; returns (items, estimated value, each item's reference unit price)."""
        rng = self.rng
        if good is None and rng.random() < 0.12:
            med = rng.choice(self.medicines)
            qty = rng.randint(10, 3_000)
            price = round(med.ceiling_price * rng.uniform(0.6, 0.98), 2)
            item = {
                "id": "1",
                "description": f"{med.inn}, {med.characteristic}"[:200],
                "classification": {"scheme": "ATC", "id": med.atc, "description": med.inn},
                "quantity": qty,
                "unit": {"name": med.unit, "value": {"amount": price, "currency": "KZT"}},
            }
            return [item], round(price * qty, 2), [med.ceiling_price]
        goods = [good] if good else rng.sample(CATALOG, 1 if rng.random() < 0.7 else rng.randint(2, 3))
        items = []
        total = 0.0
        for i, g in enumerate(goods):
            lo, hi = g.quantity
            qty = int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            price = round(g.price * math.exp(rng.gauss(0, 0.12)), 2)
            if budget is not None:
                qty = max(1, int(budget / len(goods) / price))
            items.append(
                {
                    "id": str(i + 1),
                    "description": g.name,
                    "classification": {"scheme": "ENSTRU", "id": g.code, "description": g.name},
                    "quantity": qty,
                    "unit": {"name": g.unit, "value": {"amount": price, "currency": "KZT"}},
                }
            )
            total += price * qty
        return items, round(total, 2), [g.price for g in goods]

    def _process(
        self,
        scheme: str | None,
        buyer: Org | None = None,
        good: Good | None = None,
        start: dt.datetime | None = None,
        budget: float | None = None,
        method: tuple[str, str, tuple[int, int], int] | None = None,
    ) -> dict[str, Any]:
        rng = self.rng
        self._serial += 1
        serial = self._serial
        competitive = scheme in (
            "favoured_supplier",
            "bid_rigging",
            "short_period",
            "shared_contacts",
            "new_winner",
        )
        favourite: Org | None = None
        if scheme == "favoured_supplier":
            buyer, favourite = rng.choice(self.captured)
        buyer = buyer or rng.choice(self.buyers)
        start = start or self._start()
        details, ocds_method, period, minimum = method or self._method(competitive)
        if scheme == "short_period":
            days = rng.randint(1, max(1, minimum - 2))
        else:
            days = rng.randint(*period) if details not in ("Из одного источника",) else rng.randint(0, 2)
        end = start + dt.timedelta(days=days, hours=rng.randint(0, 6))
        items, estimate, references = self._items(good, budget)
        if scheme == "new_winner":
            for it in items:  # a large contract
                it["quantity"] = int(it["quantity"] * max(1.0, 30_000_000 / max(estimate, 1.0)))
            estimate = round(sum(it["quantity"] * it["unit"]["value"]["amount"] for it in items), 2)
        planted: dict[str, Any] | None = None
        if scheme == "overpricing":
            i = rng.randrange(len(items))
            is_medicine = items[i]["classification"]["scheme"] == "ATC"
            factor = rng.uniform(1.35, 2.5) if is_medicine else rng.uniform(1.8, 3.5)
            planted = {"index": i, "is_medicine": is_medicine, "reference": references[i],
                       "unplanted": items[i]["unit"]["value"]["amount"]}
            items[i]["unit"]["value"]["amount"] = round(references[i] * factor, 2)
            estimate = round(sum(it["quantity"] * it["unit"]["value"]["amount"] for it in items), 2)
        year = start.year
        ocid = self._ocid(serial, year)
        bidders, prices = self._bids(scheme, buyer, favourite, details, estimate, start)
        winner_idx = min(range(len(bidders)), key=lambda i: prices[i]) if bidders else None
        if scheme == "bid_rigging":
            winner_idx = 0  # the ring's designated winner bids lowest; set in _bids
        bid_dates = [start + dt.timedelta(hours=rng.randint(1, max(2, days * 24 - 1))) for _ in bidders]
        award_date = end + dt.timedelta(days=rng.randint(1, 10))
        parties = {buyer.party_id: buyer.party(["buyer", "procuringEntity"])}
        for b in bidders:
            parties.setdefault(b.party_id, b.party(["tenderer"]))
        release: dict[str, Any] = {
            "ocid": ocid,
            "id": f"{ocid}-{_iso(award_date)[:10]}",
            "date": _iso(award_date + dt.timedelta(days=15)),
            "tag": ["compiled"],
            "initiationType": "tender",
            "language": "ru",
            "buyer": buyer.ref(),
            "planning": {
                "budget": {
                    "amount": {"amount": round(estimate * rng.uniform(1.0, 1.1), 2), "currency": "KZT"}
                }
            },
            "tender": {
                "id": f"{serial}",
                "title": items[0]["description"][:120],
                "status": "complete",
                "procurementMethod": ocds_method,
                "procurementMethodDetails": details,
                "mainProcurementCategory": _category(items),
                "value": {"amount": estimate, "currency": "KZT"},
                "tenderPeriod": {"startDate": _iso(start), "endDate": _iso(end)},
                "awardPeriod": {"startDate": _iso(end), "endDate": _iso(award_date)},
                "numberOfTenderers": len(bidders),
                "procuringEntity": buyer.ref(),
                "tenderers": [b.ref() for b in bidders],
                "items": items,
            },
            "bids": {
                "details": [
                    {
                        "id": f"{ocid}-bid-{i + 1}",
                        "date": _iso(bid_dates[i]),
                        "status": "valid",
                        "value": {"amount": prices[i], "currency": "KZT"},
                        "tenderers": [b.ref()],
                    }
                    for i, b in enumerate(bidders)
                ]
            },
        }
        if not bidders or (scheme is None and rng.random() < 0.04):
            release["tender"]["status"] = "unsuccessful" if bidders else "cancelled"
            release["parties"] = list(parties.values())
            return self._record(release, scheme, buyer, [])
        # A few losing bids are disqualified; never the winner's.
        for i, bid in enumerate(release["bids"]["details"]):
            if i != winner_idx and rng.random() < 0.08:
                bid["status"] = "disqualified"
        assert winner_idx is not None
        winner = bidders[winner_idx]
        parties[winner.party_id] = winner.party(["tenderer", "supplier"])
        award_value = prices[winner_idx]
        award_items = [
            {
                **it,
                "unit": {
                    **it["unit"],
                    "value": {
                        "amount": round(it["unit"]["value"]["amount"] * award_value / max(estimate, 1.0), 2),
                        "currency": "KZT",
                    },
                },
            }
            for it in items
        ]
        release["awards"] = [
            {
                "id": f"{ocid}-award-1",
                "status": "active",
                "date": _iso(award_date),
                "value": {"amount": award_value, "currency": "KZT"},
                "suppliers": [winner.ref()],
                "items": award_items,
                "relatedBid": f"{ocid}-bid-{winner_idx + 1}",
            }
        ]
        # Contracts are signed on working days (no random draw: the same seed gives the same data otherwise).
        signed = next_working_day(award_date + dt.timedelta(days=rng.randint(2, 10)))
        contract_value = award_value
        amendments = []
        if scheme == "amendment_inflation":
            contract_value = round(award_value * rng.uniform(1.3, 1.8), 2)
            for j in range(rng.randint(1, 3)):
                amendments.append(
                    self._amendment(ocid, j, signed, "Увеличение объема работ (дополнительное соглашение)")
                )
        elif rng.random() < 0.06:
            contract_value = round(award_value * rng.uniform(0.95, 1.09), 2)
            amendments.append(self._amendment(ocid, 0, signed, "Изменение сроков поставки"))
        contract: dict[str, Any] = {
            "id": f"{ocid}-contract-1",
            "awardID": f"{ocid}-award-1",
            "status": rng.choice(["active", "terminated", "terminated"]),
            "dateSigned": _iso(signed),
            "period": {"startDate": _iso(signed), "endDate": _iso(dt.datetime(signed.year, 12, 31, 18))},
            "value": {"amount": contract_value, "currency": "KZT"},
            "items": award_items,
        }
        if amendments:
            contract["amendments"] = amendments
        release["contracts"] = [contract]
        release["parties"] = list(parties.values())
        if planted is not None:
            self._record_overpricing(ocid, planted, award_items[planted["index"]], award_value / max(estimate, 1.0))
        return self._record(release, scheme, buyer, bidders[:2] if scheme == "shared_contacts" else [winner])

    def _record_overpricing(
        self, ocid: str, planted: dict[str, Any], paid_item: dict[str, Any], ratio: float
    ) -> None:
        """The planted excess of an overpriced process, as paid in its contract (no random draws here).

        Goods: the item's contract unit price minus what the contract would have paid for it without the
        scheme (the unit price drawn before planting, at the same award-to-estimate ratio as the other items).
        Medicines: the contract unit price minus the ceiling price, the legal maximum (nothing below it is
        an overpayment). The excess is that difference times the quantity, never below zero.
        """
        paid = paid_item["unit"]["value"]["amount"]
        quantity = paid_item["quantity"]
        if planted["is_medicine"]:
            basis, counterfactual = "ceiling", planted["reference"]
        else:
            basis, counterfactual = "typical", round(planted["unplanted"] * ratio, 2)
        self.truth.overpricing[ocid] = {
            "item_id": paid_item["id"],
            "classification_id": paid_item["classification"]["id"],
            "basis": basis,
            "reference_unit_price": planted["reference"],
            "counterfactual_unit_price": counterfactual,
            "paid_unit_price": paid,
            "quantity": quantity,
            "excess_kzt": round(max(0.0, (paid - counterfactual) * quantity), 2),
        }

    def _amendment(self, ocid: str, j: int, signed: dt.datetime, rationale: str) -> dict[str, Any]:
        date = signed + dt.timedelta(days=30 * (j + 1) + self.rng.randint(0, 20))
        return {
            "id": f"{ocid}-amendment-{j + 1}",
            "date": _iso(date),
            "rationale": rationale,
            "description": f"Дополнительное соглашение №{j + 1}",
        }

    def _record(
        self, release: dict[str, Any], scheme: str | None, buyer: Org, suppliers: list[Org]
    ) -> dict[str, Any]:
        if scheme is not None:
            self.truth.processes[scheme].append(release["ocid"])
            if scheme in ("favoured_supplier", "splitting"):
                self.truth.buyers[scheme].add(buyer.party_id)
            if scheme in ("favoured_supplier", "bid_rigging", "new_winner", "shared_contacts"):
                self.truth.suppliers[scheme].update(s.party_id for s in suppliers)
        return release

    def _local_suppliers(self, buyer: Org, k: int) -> list[Org]:
        pool = self.suppliers_by_region.get(buyer.kato.region) or self.suppliers
        if len(pool) < k + 2 or self.rng.random() < 0.3:
            pool = self.suppliers
        return self.rng.sample(pool, k)

    def _bids(
        self,
        scheme: str | None,
        buyer: Org,
        favourite: Org | None,
        details: str,
        estimate: float,
        start: dt.datetime,
    ) -> tuple[list[Org], list[float]]:
        rng = self.rng
        if scheme == "favoured_supplier" and favourite is not None:
            return [favourite], [round(estimate * rng.uniform(0.97, 1.0), 2)]
        if scheme == "bid_rigging":
            ring = rng.choice(self.rings)
            members = ring["members"]
            winner = members[ring["turn"] % len(members)]
            ring["turn"] += 1
            covers = [m for m in members if m is not winner]
            price = round(estimate * rng.uniform(0.95, 0.995), 2)
            if ring["pattern"] == "identical":
                prices = [price] + [round(price + 0.01 * (i + 1), 2) for i in range(len(covers))]
            else:
                prices = [price] + [round(price * (1 + ring["gap"] * (i + 1)), 2) for i in range(len(covers))]
            self.truth.suppliers["bid_rigging"].update(m.party_id for m in members)
            return [winner, *covers], prices
        if scheme == "new_winner":
            registered = (start - dt.timedelta(days=rng.randint(5, 60))).date().replace(day=1)
            newcomer = self._company(registered, buyer.kato)
            others = self._local_suppliers(buyer, rng.randint(1, 3))
            prices = [round(estimate * rng.uniform(0.85, 0.93), 2)] + [
                round(estimate * rng.uniform(0.94, 1.0), 2) for _ in others
            ]
            return [newcomer, *others], prices
        if scheme == "shared_contacts":
            a = self._company(self._registration(2005, 2020), buyer.kato)
            b = self._company(self._registration(2005, 2020), buyer.kato)
            if rng.random() < 0.5:
                b.phone = a.phone
            else:
                b.street = a.street
            others = self._local_suppliers(buyer, rng.randint(0, 2))
            bidders = [a, b, *others]
            return bidders, [round(estimate * rng.uniform(0.8, 1.0), 2) for _ in bidders]
        if details == "Из одного источника":
            return self._local_suppliers(buyer, 1), [round(estimate * rng.uniform(0.97, 1.0), 2)]
        if details in ("Электронный магазин", "Товарная биржа"):
            n = rng.randint(1, 3)
        else:
            n = 1 if rng.random() < 0.2 else min(8, 2 + int(rng.expovariate(0.6)))
        bidders = self._local_suppliers(buyer, n)
        return bidders, [round(estimate * rng.uniform(0.72, 1.0), 2) for _ in bidders]

    def _split_group(self, k: int) -> list[dict[str, Any]]:
        """One purchase split into k purchases under the threshold, by one buyer, within 30 days."""
        rng = self.rng
        buyer = rng.choice(self.buyers)
        good = rng.choice([g for g in CATALOG if g.category == "goods" and g.price < 500_000])
        first = self._start()
        method = next(m[:2] + m[3:] for m in METHODS if m[0] == "Запрос ценовых предложений")
        group = []
        for _ in range(max(2, k)):
            start = first + dt.timedelta(days=rng.randint(0, 28), hours=rng.randint(0, 5))
            budget = SPLIT_THRESHOLD * rng.uniform(0.6, 0.95)
            group.append(
                self._process("splitting", buyer=buyer, good=good, start=start, budget=budget, method=method)
            )
        return group[:k] if k >= 2 else group


def _category(items: list[dict[str, Any]]) -> str:
    code = items[0]["classification"]["id"]
    for g in CATALOG:
        if g.code == code:
            return g.category
    return "goods"


def _write_releases(path: Path, releases: Iterator[dict[str, Any]], gzip_output: bool,
                    progress: Callable[[int], None] | None = None) -> int:
    fh: Any
    fh = gzip.open(path, "wb", compresslevel=3) if gzip_output else open(path, "wb")  # noqa: SIM115
    count = 0
    buffer: list[bytes] = []
    with fh:
        for release in releases:
            buffer.append(orjson.dumps(release))
            count += 1
            if len(buffer) >= 2000:
                fh.write(b"\n".join(buffer) + b"\n")
                buffer = []
                if progress:
                    progress(count)
        if buffer:
            fh.write(b"\n".join(buffer) + b"\n")
    if progress:
        progress(count)
    return count


def shard_name(shard: int, gzip_output: bool) -> str:
    return f"releases-{shard:05d}.jsonl{'.gz' if gzip_output else ''}"


# The population of a shard-making process (built once per process by _shard_worker_init).
_WORKER: dict[str, Any] = {}


def _shard_worker_init(tenders: int, seed: int, rates: dict[str, float] | None, out: Path, gzip_output: bool,
                       size: int) -> None:
    _WORKER.update(gen=Generator(tenders, seed, rates), out=out, gzip=gzip_output, size=size)


def _make_shard(shard: int) -> tuple[int, int, Truth]:
    """Write shard `shard`'s releases; returns (shard, releases written, the shard's truth)."""
    gen: Generator = _WORKER["gen"]
    size: int = _WORKER["size"]
    shards = -(-gen.n // size)
    gen.start_shard(shard, shards, size)
    count = min(size, gen.n - shard * size)
    path = _WORKER["out"] / shard_name(shard, _WORKER["gzip"])
    written = _write_releases(path, gen.releases(count), _WORKER["gzip"])
    return shard, written, gen.truth


def _sharded(out: Path, gen: Generator, rates: dict[str, float] | None, gzip_output: bool, jobs: int, size: int,
             progress: Callable[[int], None] | None) -> tuple[list[Path], int]:
    """The sharded layout: every shard written (`jobs` at a time), their truths merged into gen.truth."""
    shards = -(-gen.n // size)
    parts: dict[int, Truth] = {}
    done = 0

    def merge(shard: int, written: int, truth: Truth) -> None:
        nonlocal done
        parts[shard] = truth
        done += written
        if progress:
            progress(done)

    if jobs == 1 or shards == 1:
        _shard_worker_init(gen.n, gen.seed, rates, out, gzip_output, size)
        try:
            for shard in range(shards):
                merge(*_make_shard(shard))
        finally:
            _WORKER.clear()
    else:
        # spawn: a clean interpreter per worker (no inherited threads or locks); each builds the population once
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(min(jobs, shards), _shard_worker_init, (gen.n, gen.seed, rates, out, gzip_output, size)) as pool:
            for result in pool.imap_unordered(_make_shard, range(shards)):
                merge(*result)
    gen.truth = Truth()
    for shard in range(shards):  # in shard order, so that the merged truth does not depend on `jobs`
        t = parts[shard]
        for scheme in SCHEMES:
            gen.truth.processes[scheme].extend(t.processes[scheme])
            gen.truth.buyers[scheme] |= t.buyers[scheme]
            gen.truth.suppliers[scheme] |= t.suppliers[scheme]
        gen.truth.overpricing.update(t.overpricing)
    return [out / shard_name(shard, gzip_output) for shard in range(shards)], done


# What write_registers and write_public_control write besides the releases, truth.json and unreliable_suppliers.csv.
REGISTER_FILES = ("officials.csv", "relatives.csv", "companies.csv", "meetings.csv", "queue_events.csv", "queue.key",
                  "offences.csv", "statements.csv")


def generate(
    out: Path,
    tenders: int,
    seed: int,
    rates: dict[str, float] | None = None,
    gzip_output: bool = False,
    progress: Callable[[int], None] | None = None,
    jobs: int | None = None,
    shard_size: int = SHARD_SIZE,
    registers: bool = True,
) -> dict[str, Any]:
    """Write `out/releases.jsonl[.gz]` (or, with `jobs`, the shards `out/releases-NNNNN.jsonl[.gz]` of
    `shard_size` processes, made `jobs` at a time, the same whatever `jobs`) and `out/truth.json`; returns the
    truth summary. The register of unreliable suppliers is always written; `registers=False` leaves out the
    other registers (officials, relatives, companies, meetings) and the public-control files, which read every
    release again in one process (about 40 minutes at 10M processes)."""
    unknown = set(rates or {}) - set(SCHEMES)
    if unknown:
        raise ValueError(f"unknown scheme(s): {', '.join(sorted(unknown))}; known: {', '.join(SCHEMES)}")
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    if shard_size < 1 or -(-tenders // shard_size) > 10_000:
        # each shard creates its companies from 1/shards of a month's BIN serials (100,000): keep that ample
        raise ValueError(f"shard_size {shard_size}: at least 1 and at most 10,000 shards ({tenders:,} processes)")
    gen = Generator(tenders, seed, rates)
    out.mkdir(parents=True, exist_ok=True)
    for stale in [*out.glob("releases.jsonl*"), *out.glob("releases-*.jsonl*")]:  # another layout's or size's
        stale.unlink()
    if jobs is None:
        path = out / ("releases.jsonl.gz" if gzip_output else "releases.jsonl")
        count = _write_releases(path, gen.releases(), gzip_output, progress)
        paths = [path]
        file = path.name
    else:
        paths, count = _sharded(out, gen, rates, gzip_output, jobs, shard_size, progress)
        file = shard_name(0, gzip_output).replace("00000", "*")
    truth: dict[str, Any] = {
        "generator": "aiqyn generate",
        "seed": seed,
        "tenders": count,
        "file": file,
        "split_threshold_kzt": SPLIT_THRESHOLD,
        "mci_kzt": MCI,
        "schemes": {
            name: {
                "description": SCHEMES[name][1],
                "rate": gen.rates[name],
                "processes": sorted(set(gen.truth.processes[name])),
                "buyers": sorted(gen.truth.buyers[name]),
                "suppliers": sorted(gen.truth.suppliers[name]),
            }
            for name in SCHEMES
        },
    }
    if jobs is not None:
        truth["shards"] = {"size": shard_size, "files": [p.name for p in paths]}
    # What each overpriced process was planted with, and the excess paid (see Generator._record_overpricing).
    truth["schemes"]["overpricing"]["planted"] = {
        ocid: gen.truth.overpricing[ocid] for ocid in sorted(gen.truth.overpricing)
    }
    truth["schemes"]["overpricing"]["excess_kzt"] = round(
        sum(p["excess_kzt"] for p in gen.truth.overpricing.values()), 2
    )
    truth["unreliable_suppliers"] = write_unreliable_suppliers(out / "unreliable_suppliers.csv", gen, seed)
    if registers:
        from aiqyn.generate.registers import write_registers  # officials, relatives, companies, meetings (issue 5)

        truth["registers"] = write_registers(out, gen, seed, paths)
        from aiqyn.publiccontrol.generate import write_public_control  # queues, offences, statements (issue 11)

        truth["public_control"] = write_public_control(out, gen, seed)
    else:  # another run's registers would not match these releases
        for register_file in REGISTER_FILES:
            (out / register_file).unlink(missing_ok=True)
    (out / "truth.json").write_bytes(orjson.dumps(truth, option=orjson.OPT_INDENT_2))
    return truth


UNRELIABLE_GROUNDS = (
    "Уклонение от заключения договора о государственных закупках",
    "Неисполнение либо ненадлежащее исполнение обязательств по договору",
    "Представление недостоверной информации по квалификационным требованиям",
)


def write_unreliable_suppliers(path: Path, gen: Generator, seed: int, share: float = 0.005) -> dict[str, Any]:
    """The register of unreliable suppliers consistent with the data (for KZ005): a share of the suppliers, each
    included on a date within the data's years and banned for 24 months. Its own random stream, so the releases
    are the same with or without it. Returns what truth.json says of it."""
    rng = random.Random(f"{seed}-unreliable")
    listed = rng.sample(gen.suppliers, max(1, int(len(gen.suppliers) * share)))
    first, last = dt.date(YEARS[0], 1, 1), dt.date(YEARS[-1], 12, 31)
    rows = []
    for org in sorted(listed, key=lambda o: o.bin):
        included = first + dt.timedelta(days=rng.randrange((last - first).days))
        excluded = included + dt.timedelta(days=730)
        rows.append([org.bin, org.name, included.isoformat(), excluded.isoformat(), rng.choice(UNRELIABLE_GROUNDS)])
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["bin", "name", "included_on", "excluded_on", "reason"])
        writer.writerows(rows)
    return {"file": path.name, "entries": len(rows), "suppliers": sorted(f"KZ-BIN-{r[0]}" for r in rows)}
