"""Generated public-control data, beside the releases and registers of `aiqyn generate`: the queues' events of
their operators (queue_events.csv, with IINs), the operator's demo key (queue.key), corruption offences
(offences.csv) and resignation statements (statements.csv), with planted schemes for `aiqyn evaluate`.

Planted (truth `public_control.planted`, by event id or case number): out-of-turn offers (to a waiting applicant
the queue's order does not name), offers by an official to a declared relative (out of turn as well), priority
categories raised without a documented reason, applications registered with a date months back, and convicted
corruption crimes whose organisation's head filed no resignation statement. One queue (`clean_queue`) gets no
plant: every finding there is false. Everything else follows the rules (queues.QueueState is the referee).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import random
from pathlib import Path
from typing import Any

from aiqyn.ids import make_iin
from aiqyn.publiccontrol.accountability import head_at, is_head
from aiqyn.publiccontrol.queues import QueueState, applicant_code

CRIMINAL_ARTICLES = ("366", "366 ч.2", "367", "368", "361", "189", "190", "369", "370")
ADMINISTRATIVE_ARTICLES = ("676", "677", "678", "679", "680", "681")
EVENT_COLUMNS = ["event_id", "queue_id", "kind", "queue_name", "region_kato", "organisation_bin", "event", "at",
                 "applicant_iin", "application_date", "priority", "group", "reason", "place_id", "official_iin"]
HOUSING_LISTS = ("socially_vulnerable", "civil_servants", "budget_workers")
START, END = dt.date(2022, 1, 10), dt.date(2025, 12, 20)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


class _Queue:
    def __init__(self, g: PublicControlGenerator, qid: str, kind: str, name: str, org: Any, plant: bool) -> None:
        self.g, self.qid, self.kind, self.name, self.org, self.plant = g, qid, kind, name, org, plant
        self.state = QueueState(kind)
        self.rows: list[list[str]] = []
        self.seq = 0
        self.iin_of: dict[str, str] = {}  # code -> IIN
        self.places = 0
        self.pending: list[tuple[str, str]] = []  # (code, place) offers awaiting an answer
        self.reoffer: list[tuple[str, str]] = []  # (place, group) refused, to offer again

    def event(self, at: dt.datetime, event: str, iin: str, **kw: str) -> str:
        """Record the event (checked by the queue's state, as the importer will); returns its event id."""
        self.seq += 1
        eid = f"{self.qid}-E{self.seq:06d}"
        code = applicant_code(self.g.key, self.qid, iin)
        entry: dict[str, Any] = {"type": event, "at": at.isoformat(timespec="seconds"), "applicant": code,
                                 "seq": self.seq}
        if event == "registered":
            entry.update(applied_on=kw["application_date"], priority=kw["priority"], group=kw.get("group", ""))
        elif event == "priority_changed":
            entry.update(priority=kw["priority"], reason=kw.get("reason", ""))
        elif event in ("offered", "accepted", "refused"):
            entry["place"] = kw.get("place_id", "")
        self.state.apply(entry)
        self.iin_of[code] = iin
        first = len(self.rows) == 0
        self.rows.append([eid, self.qid, self.kind if first else "", self.name if first else "",
                          self.org.kato.kato if first else "", self.org.bin if first else "", event,
                          at.isoformat(timespec="seconds"), iin, kw.get("application_date", ""),
                          kw.get("priority", ""), kw.get("group", ""), kw.get("reason", ""), kw.get("place_id", ""),
                          kw.get("official_iin", "")])
        return eid


class PublicControlGenerator:
    def __init__(self, out: Path, gen: Any, seed: int) -> None:
        self.out, self.gen = out, gen
        self.rng = random.Random(f"{seed}-public-control")
        self.key = hashlib.sha256(f"aiqyn-demo-queue-key-{seed}".encode()).hexdigest().encode()
        self.officials = _read(out / "officials.csv")
        self.relatives = _read(out / "relatives.csv")
        self.used: set[str] = {o["iin"] for o in self.officials} | {r["relative_iin"] for r in self.relatives}
        self.planted: dict[str, list[str]] = {"out_of_turn": [], "affiliated": [], "priority_jump": [],
                                              "backdated": [], "missing_statement": []}

    def iin(self, first_year: int = 1965, last_year: int = 2000) -> str:
        rng = self.rng
        while True:
            born = dt.date(rng.randint(first_year, last_year), rng.randint(1, 12), rng.randint(1, 28))
            iin = make_iin(born, rng.random() < 0.5, rng.randrange(10000))
            if iin and iin not in self.used:
                self.used.add(iin)
                return iin

    # -- queues ---------------------------------------------------------------------------------------------
    def queues(self, n_applicants: int) -> tuple[list[list[str]], list[dict[str, Any]], str]:
        akimats = [b for b in self.gen.buyers if b.kind == "akimat"] or list(self.gen.buyers)
        staff: dict[str, list[dict[str, str]]] = {}
        for o in self.officials:
            staff.setdefault(o["organisation_bin"], []).append(o)
        akimats = [b for b in akimats if b.bin in staff]
        chosen = self.rng.sample(akimats, min(len(akimats), 5))
        specs = []
        kinds = ("kindergarten", "housing", "land", "kindergarten", "land")
        for i, org in enumerate(chosen):
            kind = kinds[i % len(kinds)]
            label = {"kindergarten": "Места в детских садах", "housing": "Жилье из коммунального фонда",
                     "land": "Земельные участки под ИЖС"}[kind]
            specs.append((f"{kind}-{org.kato.kato}", kind, f"{label}: {org.kato.name_ru}", org, i != len(chosen) - 1))
        rows: list[list[str]] = []
        info = []
        clean = ""
        for qid, kind, name, org, plant in specs:
            q = _Queue(self, qid, kind, name, org, plant)
            self._simulate(q, staff[org.bin], n_applicants)
            rows += q.rows
            info.append({"queue_id": qid, "kind": kind, "name": name, "region_kato": org.kato.kato,
                         "organisation_bin": org.bin, "events": len(q.rows), "planted": plant})
            if not plant:
                clean = qid
        return rows, info, clean

    def _simulate(self, q: _Queue, staff: list[dict[str, str]], n_applicants: int) -> None:
        rng = self.rng
        groups = (["2019", "2020", "2021", "2022", "2023"] if q.kind == "kindergarten"
                  else list(HOUSING_LISTS) if q.kind == "housing" else ["izhs"])
        relatives = [r for o in staff for r in self.relatives
                     if r["official_iin"] == o["iin"] and r["relative_iin"]]
        days = (END - START).days
        reg_rate = n_applicants / days
        offer_every = max(2, int(days / (n_applicants * 0.6)))
        planted_offers = {"out_of_turn": max(2, n_applicants // 40), "affiliated": min(len(relatives), 2)}
        plans = {"priority_jump": max(1, n_applicants // 80), "backdated": max(1, n_applicants // 80)}
        affiliates: list[tuple[str, str]] = []  # (relative IIN, official IIN) registered, to be favoured
        n_affiliates = 0
        related: dict[str, str] = {}  # code of a registered relative -> their official
        for d in range(days):
            day = START + dt.timedelta(days=d)
            t = dt.datetime.combine(day, dt.time(9, 0))

            def tick(minutes: int = 7) -> dt.datetime:
                nonlocal t
                t += dt.timedelta(minutes=minutes + rng.randrange(5))
                return t
            # answers to the offers made earlier
            still = []
            for code, place in q.pending:
                if rng.random() < 0.5:
                    still.append((code, place))
                    continue
                if rng.random() < 0.15:
                    q.event(tick(), "refused", q.iin_of[code], place_id=place)
                    a = q.state.applicants[code]
                    q.reoffer.append((place, a.group))
                else:
                    q.event(tick(), "accepted", q.iin_of[code], place_id=place)
            q.pending = still
            # new applications
            n_new = int(reg_rate) + (1 if rng.random() < reg_rate - int(reg_rate) else 0)
            for _ in range(n_new):
                group = rng.choice(groups)
                u = rng.random()
                priority = ("extraordinary" if u < 0.03 else "primary" if u < 0.18 else "general") \
                    if q.kind == "kindergarten" else ("primary" if u < 0.1 else "general")
                applied = day - dt.timedelta(days=rng.randint(0, 2))
                backdate = q.plant and plans["backdated"] > 0 and d > 200 and rng.random() < 0.02
                if backdate:
                    applied = day - dt.timedelta(days=rng.randint(40, 400))
                    plans["backdated"] -= 1
                eid = q.event(tick(), "registered", self.iin(2019, 2023) if q.kind == "kindergarten" else self.iin(),
                              application_date=applied.isoformat(), priority=priority, group=group)
                if backdate:
                    self.planted["backdated"].append(eid)
            if q.plant and relatives and planted_offers["affiliated"] > n_affiliates and d > 100 \
                    and rng.random() < 0.01:
                rel = relatives.pop(rng.randrange(len(relatives)))
                self.used.add(rel["relative_iin"])
                q.event(tick(), "registered", rel["relative_iin"], application_date=day.isoformat(),
                        priority="general", group=rng.choice(groups))
                affiliates.append((rel["relative_iin"], rel["official_iin"]))
                n_affiliates += 1
                related[applicant_code(self.key, q.qid, rel["relative_iin"])] = rel["official_iin"]
            # priority changes: documented, and (planted) undocumented rises
            if rng.random() < 0.02:
                waiting = [a for a in q.state.waiting() if a.priority == "general"]
                if waiting:
                    a = rng.choice(waiting)
                    jump = q.plant and plans["priority_jump"] > 0 and d > 150 and rng.random() < 0.3
                    reason = "" if jump else f"Решение комиссии № {rng.randint(1, 999)} от {day:%d.%m.%Y}"
                    eid = q.event(tick(), "priority_changed", q.iin_of[a.code], priority="primary", reason=reason)
                    if jump:
                        plans["priority_jump"] -= 1
                        self.planted["priority_jump"].append(eid)
            if rng.random() < 0.004:
                waiting = q.state.waiting()
                if waiting:
                    a = rng.choice(waiting)
                    q.event(tick(), "removed", q.iin_of[a.code], reason="отказ заявителя от очереди")
            # places
            offers: list[tuple[str, str]] = []
            if d % offer_every == 0:
                q.places += 1
                offers.append((f"{q.qid[:2].upper()}-{q.places:05d}", rng.choice(groups)))
            while q.reoffer:
                offers.append(q.reoffer.pop())
            for place, group in offers:
                official = rng.choice(staff)["iin"]
                want = q.state.expected(group, place)
                if want is None:
                    continue
                target = want
                plant_kind = None
                fav = [(c, o) for c, o in affiliates
                       if q.state.applicants.get(applicant_code(self.key, q.qid, c)) is not None
                       and q.state.applicants[applicant_code(self.key, q.qid, c)].status == "waiting"
                       and q.state.applicants[applicant_code(self.key, q.qid, c)].group == group
                       and place not in q.state.applicants[applicant_code(self.key, q.qid, c)].refused]
                if q.plant and fav and rng.random() < 0.5:
                    rel_iin, official = fav[0]
                    target = q.state.applicants[applicant_code(self.key, q.qid, rel_iin)]
                    plant_kind = "affiliated"
                    affiliates.remove(fav[0])
                elif q.plant and planted_offers["out_of_turn"] > 0 and d > 60 and rng.random() < 0.08:
                    others = [a for a in q.state.waiting(group, place) if a.code != want.code]
                    if others:
                        target = rng.choice(others[len(others) // 2:])
                        planted_offers["out_of_turn"] -= 1
                        plant_kind = "out_of_turn"
                if plant_kind != "affiliated" and related.get(target.code) == official:
                    others_staff = [o["iin"] for o in staff if o["iin"] != official]
                    if others_staff:
                        official = rng.choice(others_staff)
                    else:
                        plant_kind = "affiliated"  # the only official: the offer is theirs, to their relative
                eid = q.event(tick(), "offered", q.iin_of[target.code], place_id=place, official_iin=official)
                if plant_kind == "affiliated":
                    self.planted["affiliated"].append(eid)
                if target.code != want.code:
                    self.planted["out_of_turn"].append(eid)
                q.pending.append((target.code, place))

    # -- accountability --------------------------------------------------------------------------------------
    def accountability(self) -> tuple[list[list[str]], list[list[str]]]:
        rng = self.rng
        by_org: dict[str, list[tuple[Any, ...]]] = {}
        for o in self.officials:
            start = dt.date.fromisoformat(o["in_office_from"]) if o["in_office_from"] else None
            end = dt.date.fromisoformat(o["in_office_to"]) if o["in_office_to"] else None
            by_org.setdefault(o["organisation_bin"], []).append((o["iin"], o["full_name"], o["position"], start, end))
        orgs = sorted(b for b in by_org if any(is_head(x[2]) for x in by_org[b]))
        buyers = {b.bin: b for b in self.gen.buyers}
        n = max(40, len(orgs))
        offences, statements = [], []
        for i in range(n):
            org = rng.choice(orgs)
            staff = by_org[org]
            registered = START + dt.timedelta(days=rng.randrange((END - START).days - 400))
            head = head_at(staff, registered)
            subordinates = [x for x in staff if head is None or x[0] != head[0]]
            criminal = rng.random() < 0.75
            if subordinates and rng.random() < 0.7:
                person = rng.choice(subordinates)
                iin, name, position = person[0], person[1], person[2]
            else:
                iin, name = self.iin(), f"Сотрудник {i + 1}"
                position = rng.choice(("главный специалист", "ведущий специалист", "водитель", "инспектор"))
            u = rng.random()
            status = "convicted" if u < 0.55 else "registered" if u < 0.75 else "sent_to_court" if u < 0.9 \
                else "acquitted"
            status_on = registered + dt.timedelta(days=rng.randint(30, 300)) if status != "registered" else registered
            case = f"{registered:%y}{rng.randint(100000, 999999)}{i:04d}"
            org_row = buyers.get(org)
            offences.append([case, "criminal" if criminal else "administrative",
                             rng.choice(CRIMINAL_ARTICLES if criminal else ADMINISTRATIVE_ARTICLES),
                             (registered - dt.timedelta(days=rng.randint(1, 60))).isoformat(), registered.isoformat(),
                             iin, name, position, org, org_row.name if org_row else "",
                             org_row.kato.kato if org_row else "", status, status_on.isoformat(), ""])
            if criminal and status == "convicted" and head is not None:
                u = rng.random()
                if u < 0.2:
                    self.planted["missing_statement"].append(case)
                    continue
                filed = status_on + dt.timedelta(days=rng.randint(1, 28) if u > 0.25 else rng.randint(35, 90))
                decision = rng.choice(("accepted", "rejected", "rejected", "pending"))
                decided = (filed + dt.timedelta(days=rng.randint(3, 40))).isoformat() if decision != "pending" else ""
                statements.append([case, head[0], filed.isoformat(), decision, decided,
                                   "Администрация Президента" if decision != "pending" else ""])
        return offences, statements

    def write(self, n_applicants: int) -> dict[str, Any]:
        rows, info, clean = self.queues(n_applicants)
        offences, statements = self.accountability()

        def write(name: str, header: list[str], data: list[list[str]]) -> None:
            with (self.out / name).open("w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(header)
                w.writerows(data)

        write("queue_events.csv", EVENT_COLUMNS, rows)
        write("offences.csv", ["case_number", "code", "article", "committed_on", "registered_on", "person_iin",
                               "person_name", "position", "organisation_bin", "organisation_name", "region_kato",
                               "status", "status_on", "head_iin"], offences)
        write("statements.csv", ["case_number", "head_iin", "filed_on", "decision", "decided_on", "decided_by"],
              statements)
        (self.out / "queue.key").write_bytes(self.key + b"\n")
        return {
            "files": {"queue_events": "queue_events.csv", "offences": "offences.csv", "statements": "statements.csv",
                      "key": "queue.key"},
            "description": "Queues of kindergarten places, housing and land plots, with the operator's demo key "
                           "(a real operator keeps it secret); corruption offences and resignation statements. "
                           "Planted findings by event id (queues) or case number (missing statements).",
            "queues": info,
            "clean_queue": clean,
            "counts": {"queue_events": len(rows), "offences": len(offences), "statements": len(statements)},
            "planted": {k: sorted(set(v)) for k, v in self.planted.items()},
        }


def write_public_control(out: Path, gen: Any, seed: int, n_applicants: int | None = None) -> dict[str, Any]:
    """Write the public-control files beside the registers (officials.csv and relatives.csv must exist); returns
    truth.json's `public_control` key."""
    n = n_applicants or max(150, min(600, len(gen.buyers) * 3))
    return PublicControlGenerator(out, gen, seed).write(n)
