"""Registers consistent with the generated releases, with planted conflicts of interest and meeting violations.

Writes officials.csv (the buyers' officials, with the commissions they sat on), relatives.csv, companies.csv (the
suppliers with founders and directors) and meetings.csv, and returns what truth.json says of them (key
`registers`). Its own random stream (seed + "-registers"): the releases are the same with or without it.

Noise, so that entity resolution is measured on realistic input: founders and directors are written in Russian
or Kazakh Cyrillic, passport Latin or the 2021 Kazakh Latin alphabet, in either name order, with the patronymic
often dropped and sometimes a typo. Deliberate namesakes: people with exactly an official's name but another
date of birth, and people named without any date of birth, who must not be merged with the official.
Realism constraint: two generated people never share both a date of birth and a surname (in the real population
the name pool is far larger than ours, so such pairs are vanishingly rare; without it the truth itself would be
ambiguous).

Planted (truth `registers.planted`: every case the registers hold, planted or arisen by chance, each with its
processes):
- `affiliated_winner`: a winner founded or directed by an official of the buyer (or of the commission), or by a
  declared relative of one (linkable: by IIN, or by a noisy name with the date of birth);
- `political_oversight`: a winner of a body in the district of a political servant's organisation, linked the
  same way to the servant;
- `bidder_group`: two bidders of one tender sharing a founder or a director.
Meetings (truth `registers.meetings`, meeting ids per rule and `compliant`): in an unrecorded room, without a
commission, in the official's own office (which has no recording either), or with a winner of the official's
body outside working hours near the award; the compliant ones break no rule.
Name links (truth `registers.linkage`): `links` to find, `unresolvable` and `namesakes` not to merge.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from aiqyn.conflicts.normalize import CYRILLIC_TO_LATIN
from aiqyn.conflicts.registers import relative_person_id
from aiqyn.ids import bin_registration, make_iin
from aiqyn.reference.kz_calendar import shipped_non_working_days

# (Russian spelling, Kazakh spelling)
MALE_NAMES = (
    ("Нурлан", "Нұрлан"), ("Ерлан", "Ерлан"), ("Бауыржан", "Бауыржан"), ("Асхат", "Асхат"), ("Серик", "Серік"),
    ("Марат", "Марат"), ("Ержан", "Ержан"), ("Данияр", "Данияр"), ("Тимур", "Тимур"), ("Сергей", "Сергей"),
    ("Канат", "Қанат"), ("Болат", "Болат"), ("Габит", "Ғабит"), ("Жандос", "Жандос"), ("Айдос", "Айдос"),
    ("Мухтар", "Мұхтар"), ("Кайрат", "Қайрат"), ("Талгат", "Талғат"), ("Нуржан", "Нұржан"), ("Ильяс", "Ілияс"),
    ("Руслан", "Руслан"), ("Дархан", "Дархан"), ("Арман", "Арман"), ("Максат", "Мақсат"), ("Улан", "Ұлан"),
    ("Ермек", "Ермек"), ("Санжар", "Санжар"), ("Алмас", "Алмас"), ("Ринат", "Ринат"), ("Дмитрий", "Дмитрий"),
)
FEMALE_NAMES = (
    ("Айгерим", "Айгерім"), ("Динара", "Динара"), ("Гульнара", "Гүлнара"), ("Жанар", "Жанар"), ("Алия", "Әлия"),
    ("Салтанат", "Салтанат"), ("Айжан", "Айжан"), ("Мадина", "Мәдина"), ("Ольга", "Ольга"), ("Асель", "Әсел"),
    ("Жанна", "Жанна"), ("Гаухар", "Гауһар"), ("Камила", "Камила"), ("Меруерт", "Меруерт"), ("Назерке", "Назерке"),
    ("Сауле", "Сәуле"), ("Лаура", "Лаура"), ("Дана", "Дана"), ("Шолпан", "Шолпан"), ("Толкын", "Толқын"),
)
SURNAMES = (
    ("Ахметов", "Ахметов"), ("Сериков", "Серіков"), ("Нурланов", "Нұрланов"), ("Жумабаев", "Жұмабаев"),
    ("Касымов", "Қасымов"), ("Омаров", "Омаров"), ("Абенов", "Әбенов"), ("Исаев", "Исаев"), ("Муканов", "Мұқанов"),
    ("Байжанов", "Байжанов"), ("Тулеуов", "Төлеуов"), ("Садыков", "Садықов"), ("Есенов", "Есенов"),
    ("Кожахметов", "Қожахметов"), ("Нургалиев", "Нұрғалиев"), ("Сулейменов", "Сүлейменов"),
    ("Жаксылыков", "Жақсылықов"),
    ("Оспанов", "Оспанов"), ("Искаков", "Ысқақов"), ("Калиев", "Қалиев"), ("Турсунов", "Тұрсынов"),
    ("Бекмуханов", "Бекмұханов"), ("Мусин", "Мусин"), ("Абдрахманов", "Әбдірахманов"), ("Кенжебаев", "Кенжебаев"),
    ("Рахимов", "Рахимов"), ("Утепов", "Өтепов"), ("Шаймерденов", "Шаймерденов"), ("Дуйсенов", "Дүйсенов"),
    ("Ибраев", "Ыбыраев"), ("Ермеков", "Ермеков"), ("Амиров", "Әміров"), ("Габдуллин", "Ғабдуллин"),
    ("Смагулов", "Смағұлов"), ("Токтаров", "Тоқтаров"), ("Бердибеков", "Бердібеков"), ("Ким", "Ким"),
    ("Иванов", "Иванов"), ("Пак", "Пак"), ("Цой", "Цой"),
)
# The Kazakh Latin alphabet presented in 2021, for the letters that differ from passport transliteration.
LATIN_2021: dict[str, str] = {
    **CYRILLIC_TO_LATIN, "ж": "j", "ш": "ş", "ч": "ç", "щ": "ş", "х": "h", "ц": "s", "ю": "iu", "я": "ia",
    "й": "i", "ы": "y", "і": "ı", "ә": "ä", "ғ": "ğ", "қ": "q", "ң": "ñ", "ө": "ö", "ұ": "ū", "ү": "ü", "у": "u",
}
SHORT_FORMS_KK = {"ТОО": "ЖШС", "АО": "АҚ", "ИП": "ЖК"}
LATIN_FORMS = {"ТОО": "LLP", "АО": "JSC", "ИП": "IE"}
POSITIONS = (
    ("аким", "political"), ("заместитель акима", "political"), ("руководитель", "administrative"),
    ("главный специалист отдела государственных закупок", "administrative"),
    ("главный бухгалтер", "administrative"), ("заместитель руководителя", "administrative"),
)
RELATIONS = ("spouse", "sibling", "child", "parent", "sibling_in_law")
WORK_START, WORK_END = dt.time(9, 0), dt.time(18, 30)


@dataclass
class Person:
    iin: str
    surname: tuple[str, str]
    first: tuple[str, str]
    father: tuple[str, str]
    male: bool
    birth: dt.date

    def canonical(self, kazakh: bool = False) -> str:
        k = 1 if kazakh else 0
        surname = self.surname[k] + ("" if self.male or self.surname[k][-2:] not in ("ов", "ев", "ин") else "а")
        stem = self.father[0]
        if kazakh:
            patronymic = f"{self.father[1]} {'ұлы' if self.male else 'қызы'}"
        else:
            patronymic = stem + ("ович" if self.male else "овна") if stem[-1] not in "йь" else (
                stem[:-1] + ("евич" if self.male else "евна"))
        return f"{surname} {self.first[k]} {patronymic}"


@dataclass
class Release:
    ocid: str
    buyer: str
    winner: str | None
    award_date: dt.datetime | None
    tenderers: list[str] = field(default_factory=list)


def _bin_of(party_id: str) -> str:
    return party_id.removeprefix("KZ-BIN-")


@dataclass
class Company:
    bin: str
    name: str
    address: str
    phone: str


def read_releases(path: Path | list[Path], companies: dict[str, Company] | None = None) -> list[Release]:
    """The processes of the releases (a file, or shards read in order); `companies` is filled with every
    tenderer and supplier (first appearance)."""
    out: list[Release] = []
    for one in path if isinstance(path, list) else [path]:
        out.extend(_read_releases(one, companies))
    return out


def _read_releases(path: Path, companies: dict[str, Company] | None) -> list[Release]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rb") as fh:
        for line in fh:
            r = orjson.loads(line)
            if companies is not None:
                for party in r.get("parties", []):
                    number = _bin_of(party["id"])
                    if number not in companies and {"tenderer", "supplier"} & set(party.get("roles", [])):
                        a = party.get("address", {})
                        companies[number] = Company(number, party["name"], f"{a.get('locality', '')}, "
                                                    f"{a.get('streetAddress', '')}",
                                                    party.get("contactPoint", {}).get("telephone", ""))
            winner = award_date = None
            if r.get("awards"):
                award = r["awards"][0]
                winner = _bin_of(award["suppliers"][0]["id"])
                award_date = dt.datetime.fromisoformat(award["date"]).replace(tzinfo=None)
            out.append(Release(r["ocid"], _bin_of(r["buyer"]["id"]), winner, award_date,
                               [_bin_of(t["id"]) for t in r["tender"].get("tenderers", [])]))
    return out


class RegistersGenerator:
    def __init__(self, gen: Any, releases: list[Release], seed: int, companies: dict[str, Company]):
        self.gen = gen
        self.companies = sorted(companies.values(), key=lambda c: c.bin)
        self.rng = random.Random(f"{seed}-registers")
        self.releases = releases
        self._iins: set[str] = set()
        self._born_surname: set[tuple[dt.date, str]] = set()
        self.people: list[Person] = []
        self.person_ids: dict[str, str] = {}  # IIN -> the id the registers give the person (officials, relatives)

    # -- people ---------------------------------------------------------------------------------------------
    def person(self, surname: tuple[str, str] | None = None, first: tuple[str, str] | None = None,
               male: bool | None = None, first_year: int = 1955, last_year: int = 2000) -> Person:
        rng = self.rng
        male = rng.random() < 0.55 if male is None else male
        surname = surname or rng.choice(SURNAMES)
        first = first or rng.choice(MALE_NAMES if male else FEMALE_NAMES)
        tries = 0
        while True:
            born = dt.date(rng.randint(first_year, last_year), rng.randint(1, 12), rng.randint(1, 28))
            tries += 1
            if (born, surname[0]) in self._born_surname and tries < 100:  # very large sets may exhaust the pairs
                continue
            iin = make_iin(born, male, rng.randrange(10000))
            if iin and iin not in self._iins:
                break
        self._iins.add(iin)
        self._born_surname.add((born, surname[0]))
        p = Person(iin, surname, first, rng.choice(MALE_NAMES), male, born)
        self.people.append(p)
        return p

    def noisy_name(self, p: Person) -> str:
        """The person's name as another register writes it: script, order, patronymic and typos vary."""
        rng = self.rng
        u = rng.random()
        kazakh = u >= 0.4 and rng.random() < 0.5
        name = p.canonical(kazakh=kazakh)
        words = name.split()
        if len(words) > 2 and rng.random() < 0.5:
            words = words[:2]  # the patronymic dropped
        if rng.random() < 0.3:
            words[0], words[1] = words[1], words[0]
        if rng.random() < 0.2:
            i = rng.randrange(min(2, len(words)))
            words[i] = _typo(rng, words[i])
        text = " ".join(words)
        if u < 0.2:
            text = _latin(text, CYRILLIC_TO_LATIN)
        elif u < 0.35:
            text = _latin(text, LATIN_2021)
        return text

    # -- the registers --------------------------------------------------------------------------------------
    def build(self, out: Path) -> dict[str, Any]:
        rng = self.rng
        gen = self.gen
        by_buyer: dict[str, list[Release]] = {}
        for r in self.releases:
            by_buyer.setdefault(r.buyer, []).append(r)
        officials: dict[str, list[tuple[Person, str, str]]] = {}  # buyer BIN -> (person, position, kind)
        official_rows, relative_rows = [], []
        relatives: dict[str, list[tuple[Person, str, bool]]] = {}  # official IIN -> (relative, relation, by_iin)
        commissions: dict[str, list[str]] = {}
        offices: dict[str, str] = {}
        for buyer in gen.buyers:
            staff = []
            for j in range(rng.randint(3, 5)):
                position, kind = POSITIONS[0] if j == 0 and buyer.kind == "akimat" else rng.choice(POSITIONS[2:])
                if j == 1 and buyer.kind == "akimat":
                    position, kind = POSITIONS[1]
                p = self.person(first_year=1960, last_year=1995)
                staff.append((p, position, kind))
                self.person_ids[p.iin] = p.iin
                ocids = [r.ocid for r in by_buyer.get(buyer.bin, [])]
                commissions[p.iin] = sorted(rng.sample(ocids, min(len(ocids), rng.randint(0, 4))))
                offices[p.iin] = f"каб. {rng.randint(1, 9)}{rng.randint(0, 3)}{rng.randint(1, 9)}"
                official_rows.append([p.iin, p.canonical(kazakh=rng.random() < 0.3), position, buyer.bin, kind,
                                      "2019-01-09", "", offices[p.iin], f"{rng.choice(gen_streets())}, "
                                      f"{rng.randint(1, 200)}, кв. {rng.randint(1, 120)}",
                                      ";".join(commissions[p.iin])])
                rels = []
                for relation in rng.sample(RELATIONS, rng.randint(1, 3)):
                    surname = p.surname if relation in ("spouse", "child", "sibling", "parent") else None
                    r_ = self.person(surname=surname, male=(not p.male) if relation == "spouse" else None)
                    by_iin = rng.random() < 0.7
                    rels.append((r_, relation, by_iin))
                    written = r_.canonical(kazakh=rng.random() < 0.3)
                    relative_rows.append([p.iin, r_.iin if by_iin else "", written, relation, r_.birth.isoformat(),
                                          ""])
                    self.person_ids[r_.iin] = relative_person_id(p.iin, r_.iin if by_iin else None, written,
                                                                 r_.birth)
                relatives[p.iin] = rels
            officials[buyer.bin] = staff
        # founders and directors of every supplier: ordinary people
        company_people: dict[str, dict[str, list[str]]] = {}
        links: list[dict[str, Any]] = []  # name-mention truth
        official_people = [p for staff in officials.values() for p, _, _ in staff]
        related_people = official_people + [r for rels in relatives.values() for r, _, _ in rels]
        held: dict[str, list[tuple[str, str, str]]] = {}  # IIN -> companies founded or directed (identifiable)
        namesakes: list[list[str]] = []  # [mention id, the official whose name it bears]

        def mention(bin_: str, role: str, p: Person, style: str) -> str:
            """style: iin, name_dob (noisy name + date of birth), name (noisy name only)."""
            entries = company_people.setdefault(bin_, {"founder": [], "director": []})[role]
            if style != "name":
                held.setdefault(p.iin, []).append((bin_, role, style))
            mention_id = f"{bin_}/{role}/{len(entries)}"
            if style == "iin":
                entries.append(p.iin)
                return mention_id
            name = self.noisy_name(p)
            entries.append(name if style == "name" else f"{name}, {p.birth.isoformat()}")
            links.append({"mention_id": mention_id, "person_iin": p.iin, "with_birth_date": style == "name_dob"})
            return mention_id

        for s in self.companies:
            for role, k in (("founder", rng.randint(1, 2)), ("director", 1)):
                for _ in range(k):
                    u = rng.random()
                    if u < 0.04 and official_people:
                        # a namesake of an official: same name, another person
                        o = rng.choice(official_people)
                        twin = self.person(surname=o.surname, first=o.first, male=o.male)
                        twin.father = o.father
                        namesakes.append([mention(s.bin, role, twin, rng.choice(["name_dob", "name"])), o.iin])
                    elif u < 0.06 and official_people:
                        # an official named without a date of birth: not resolvable, must not be merged
                        mention(s.bin, role, rng.choice(official_people), "name")
                    elif u < 0.14 and related_people:
                        # an official or a relative who founded or directs a company (a conflict only where the
                        # company wins from the official's body)
                        mention(s.bin, role, rng.choice(related_people), rng.choice(["iin", "name_dob"]))
                    else:
                        mention(s.bin, role, self.person(), rng.choice(["iin", "iin", "name_dob", "name"]))
        self._plant(officials, relatives, mention)
        planted = self._conflicts(officials, relatives, commissions, held)
        for link in links:
            link["person_id"] = self.person_ids.get(link.pop("person_iin"))
        meetings, meeting_truth = self._meetings(officials, commissions, offices, by_buyer)
        self._write(out, official_rows, relative_rows, company_people, meetings)
        name_links = [x for x in links if x["person_id"] is not None and x["with_birth_date"]]
        return {
            "files": {"officials": "officials.csv", "relatives": "relatives.csv", "companies": "companies.csv",
                      "meetings": "meetings.csv"},
            "counts": {"officials": len(official_rows), "relatives": len(relative_rows),
                       "companies": len(self.companies), "meetings": len(meetings)},
            "linkage": {
                "description": "Founders and directors named (not by IIN) who are an official or a declared "
                               "relative, with a date of birth: the links entity resolution must find. Named "
                               "without a date of birth (`unresolvable`) they must not be merged.",
                "links": sorted((x["mention_id"], x["person_id"]) for x in name_links),
                "unresolvable": sorted(x["mention_id"] for x in links
                                       if x["person_id"] is not None and not x["with_birth_date"]),
                "namesakes": sorted(namesakes),
            },
            "planted": planted,
            "meetings": meeting_truth,
        }

    def _plant(self, officials: dict[str, list[tuple[Person, str, str]]],
               relatives: dict[str, list[tuple[Person, str, bool]]], mention: Any) -> None:
        """Plant affiliated winners, political servants linked to a supplier of their district and bidders sharing
        a founder; the truth is computed afterwards from every link written (`_conflicts`)."""
        rng = self.rng
        winners: dict[tuple[str, str], list[str]] = {}
        for r in self.releases:
            if r.winner:
                winners.setdefault((r.buyer, r.winner), []).append(r.ocid)
        pairs = sorted(winners)
        winners_of: dict[str, list[str]] = {}
        for b, w in pairs:
            winners_of.setdefault(b, []).append(w)
        n = max(3, len(self.gen.buyers) // 8)
        used: set[str] = set()
        for buyer, winner in rng.sample(pairs, min(n, len(pairs))):
            if winner in used:
                continue
            used.add(winner)
            official, _, _ = rng.choice(officials[buyer])
            how = rng.choice(["relative_iin", "relative_name", "official_name"])
            role = rng.choice(["founder", "director"])
            if how == "official_name":
                mention(winner, role, official, "name_dob")
            else:
                relative, _, by_iin = rng.choice(relatives[official.iin])
                mention(winner, role, relative, "iin" if how == "relative_iin" and by_iin else "name_dob")
        # political servants and the winners of the other bodies of their district
        buyers_by_kato: dict[str, set[str]] = {}
        for b in self.gen.buyers:
            buyers_by_kato.setdefault(b.kato.kato, set()).add(b.bin)
        kato_of = {b.bin: b.kato.kato for b in self.gen.buyers}
        political = [(b, p) for b, staff in officials.items() for p, _, kind in staff if kind == "political"]
        for buyer, official in rng.sample(political, min(len(political), max(2, n // 2))):
            bodies = buyers_by_kato[kato_of[buyer]] - {buyer}
            candidates = [(b, w) for b in sorted(bodies) for w in winners_of.get(b, []) if w not in used]
            if not candidates:
                continue
            _, winner = rng.choice(candidates)
            used.add(winner)
            relative, _, by_iin = rng.choice(relatives[official.iin])
            mention(winner, "founder", relative, rng.choice(["iin", "name_dob"]) if by_iin else "name_dob")
        # bidders of one tender that share a founder or a director
        multi = [r for r in self.releases if len(set(r.tenderers)) >= 2]
        for r in rng.sample(multi, min(len(multi), n)):
            a, b = rng.sample(sorted(set(r.tenderers)), 2)
            if a in used or b in used:
                continue
            used.update((a, b))
            shared = self.person()
            role = rng.choice(["founder", "director"])
            # named the same way in both (an IIN in one and a name in the other could not be told one person)
            style = rng.choice(["iin", "name_dob"])
            mention(a, role, shared, style)
            mention(b, role, shared, style)

    def _conflicts(self, officials: dict[str, list[tuple[Person, str, str]]],
                   relatives: dict[str, list[tuple[Person, str, bool]]], commissions: dict[str, list[str]],
                   held: dict[str, list[tuple[str, str, str]]]) -> dict[str, Any]:
        """Every conflict the registers hold, computed from the links written (planted or by chance)."""
        kato_of = {b.bin: b.kato.kato for b in self.gen.buyers}
        won: dict[str, list[Release]] = {}
        for r in self.releases:
            if r.winner:
                won.setdefault(r.winner, []).append(r)
        affiliated: dict[tuple[str, str, str | None], dict[str, Any]] = {}
        oversight: dict[tuple[str, str, str | None], dict[str, Any]] = {}
        for buyer, staff in officials.items():
            for official, _, kind in staff:
                own = set(commissions[official.iin])
                via = [(official.iin, None, True)] + [(r.iin, r.iin, by_iin) for r, _, by_iin in
                                                      relatives[official.iin]]
                for iin, relative, declared_iin in via:
                    for company, role, style in held.get(iin, []):
                        if style == "iin" and not declared_iin:
                            continue  # a founder given by IIN, a relative declared by name only: not linkable
                        for r in won.get(company, []):
                            key = (official.iin, company, relative)
                            if r.buyer == buyer or r.ocid in own:
                                case = affiliated.setdefault(key, {
                                    "official_iin": official.iin, "buyer": buyer, "supplier": company,
                                    "relative_iin": relative, "role": role, "by": style, "processes": []})
                                case["processes"].append(r.ocid)
                            if kind == "political" and kato_of.get(r.buyer) == kato_of[buyer]:
                                case = oversight.setdefault(key, {
                                    "official_iin": official.iin, "organisation": buyer, "supplier": company,
                                    "relative_iin": relative, "role": role, "by": style, "processes": []})
                                case["processes"].append(r.ocid)
        companies_of: dict[str, set[str]] = {}
        for iin, entries in held.items():
            for company, _, _ in entries:
                companies_of.setdefault(iin, set()).add(company)
        groups: dict[tuple[str, str], dict[str, Any]] = {}
        shared_by: dict[tuple[str, str], set[str]] = {}
        for iin, companies in companies_of.items():
            for a in companies:
                for b in companies:
                    if a < b:
                        shared_by.setdefault((a, b), set()).add(iin)
        for r in self.releases:
            bidders = sorted(set(r.tenderers))
            for i, a in enumerate(bidders):
                for b in bidders[i + 1:]:
                    if (a, b) in shared_by:
                        g = groups.setdefault((a, b), {"suppliers": [a, b], "person_iins": sorted(shared_by[(a, b)]),
                                                       "processes": []})
                        g["processes"].append(r.ocid)

        def done(cases: Any) -> list[dict[str, Any]]:
            out = []
            for case in cases:
                case["processes"] = sorted(set(case["processes"]))
                out.append(case)
            return sorted(out, key=lambda c: orjson.dumps(c))

        return {"affiliated_winner": done(affiliated.values()), "political_oversight": done(oversight.values()),
                "bidder_group": done(groups.values())}

    def _meetings(self, officials: dict[str, list[tuple[Person, str, str]]], commissions: dict[str, list[str]],
                  offices: dict[str, str], by_buyer: dict[str, list[Release]]) -> tuple[list[list[str]], dict]:
        rng = self.rng
        off = shipped_non_working_days()
        rows: list[list[str]] = []
        truth: dict[str, list[str]] = {"compliant": [], "unrecorded_room": [], "no_commission": [], "own_office": [],
                                       "winner_after_hours": []}
        buyers = sorted(b for b in officials if by_buyer.get(b))
        n = max(40, len(buyers))
        for i in range(n):
            buyer = rng.choice(buyers)
            staff = officials[buyer]
            official, _, _ = rng.choice(staff)
            others = [p.iin for p, _, _ in staff if p.iin != official.iin]
            award = rng.choice([r for r in by_buyer[buyer] if r.winner] or by_buyer[buyer])
            company = award.winner or rng.choice(self.gen.suppliers).bin
            # a compliant meeting: a working day, 10:00-17:00, recorded room, two members present
            day = (award.award_date or dt.datetime(2024, 3, 4)) + dt.timedelta(days=rng.randint(-20, 20))
            while day.date() in off:
                day += dt.timedelta(days=1)
            start = day.replace(hour=rng.randint(10, 16), minute=rng.choice([0, 15, 30]), second=0)
            place, recorded, ref, members = "переговорная 101 (1 этаж)", "true", f"REC-{i:05d}", others[:2]
            violation = rng.choice(["compliant", "compliant", "unrecorded_room", "no_commission", "own_office",
                                    "winner_after_hours"])
            if violation == "no_commission" or (len(others) < 2 and violation == "compliant"):
                violation = "no_commission"
                members = others[:1] if rng.random() < 0.5 else []
            elif violation == "unrecorded_room":
                place, recorded, ref = "зал заседаний 3 этаж", "false", ""
            elif violation == "own_office":
                place, recorded, ref = offices[official.iin], "false", ""
                truth["unrecorded_room"].append(f"M{i:05d}")  # an own office has no recording equipment
            elif violation == "winner_after_hours" and award.winner:
                if rng.random() < 0.5:
                    start = start.replace(hour=rng.choice([7, 19, 20]), minute=30)
                else:
                    while start.date() not in off:
                        start += dt.timedelta(days=1)
            elif violation == "winner_after_hours":
                violation = "compliant"
            rows.append([f"M{i:05d}", official.iin, company, "", start.strftime("%Y-%m-%d %H:%M"),
                         (start + dt.timedelta(minutes=45)).strftime("%Y-%m-%d %H:%M"), place, recorded, ref,
                         ";".join(members), rng.choice(["Исполнение договора", "Приёмка работ", "Консультация"])])
            truth[violation].append(f"M{i:05d}")
        return rows, {k: sorted(v) for k, v in truth.items()}

    def _write(self, out: Path, officials: list[list[str]], relatives: list[list[str]],
               people: dict[str, dict[str, list[str]]], meetings: list[list[str]]) -> None:
        def write(name: str, header: list[str], rows: list[list[str]]) -> None:
            with (out / name).open("w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(header)
                w.writerows(rows)

        write("officials.csv", ["iin", "full_name", "position", "organisation_bin", "servant_kind", "in_office_from",
                                "in_office_to", "office", "address", "commissions"], officials)
        write("relatives.csv", ["official_iin", "relative_iin", "relative_name", "relation", "birth_date",
                                "address"], relatives)
        rows = []
        for s in self.companies:
            form, _, rest = s.name.partition(" ")
            bare = rest.strip("«»")
            p = people.get(s.bin, {"founder": [], "director": []})
            year, month = bin_registration(s.bin) or (2000, 1)
            rows.append([s.bin, f"{SHORT_FORMS_KK.get(form, form)} «{bare}»", s.name,
                         f"{_latin(bare, CYRILLIC_TO_LATIN).title()} {LATIN_FORMS.get(form, form)}",
                         dt.date(year, month, 1).isoformat(), s.address, s.phone, "active",
                         ";".join(p["founder"]), ";".join(p["director"])])
        write("companies.csv", ["bin", "name_kk", "name_ru", "name_latin", "registered_on", "address", "phone",
                                "status", "founders", "directors"], rows)
        write("meetings.csv", ["meeting_id", "official_iin", "company_bin", "company_name", "starts_at", "ends_at",
                               "place", "recorded", "recording_ref", "commission_members", "subject"], meetings)


def gen_streets() -> tuple[str, ...]:
    from aiqyn.generate.catalog import STREETS
    return STREETS


def _latin(text: str, table: dict[str, str]) -> str:
    out = []
    for c in text:
        t = table.get(c.lower(), c)
        out.append(t.capitalize() if c.isupper() and t else t)
    return "".join(out)


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.4:
        return word[:i] + word[i + 1:]  # a letter dropped
    if kind < 0.7:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # two letters swapped
    return word[:i] + word[i] + word[i:]  # a letter doubled


def write_registers(out: Path, gen: Any, seed: int, releases_path: Path | list[Path]) -> dict[str, Any]:
    """Write the registers beside the releases; returns truth.json's `registers` key."""
    companies: dict[str, Company] = {}
    releases = read_releases(releases_path, companies)
    for org in gen.suppliers:
        companies.setdefault(org.bin, Company(org.bin, org.name, f"{org.kato.name_ru}, {org.street}", org.phone))
    return RegistersGenerator(gen, releases, seed, companies).build(out)
