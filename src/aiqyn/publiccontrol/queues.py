"""Transparent queues: kindergarten places of a district, housing of an akimat, land plots.

A queue is a public, append-only ledger (ledger.py) of events: an application registered (with its priority
category, its group and its date), a priority category changed (with the document that justifies it), a place
offered, accepted or refused, an application removed, and periodic seals. The operator keeps its own file of
events with the applicants' IINs (`import_events`); the public ledger carries only pseudonymous codes, an HMAC
of the IIN keyed by a secret the operator holds (`applicant_code`): the applicant learns their code, nobody else
can compute it or go back to the IIN. The IINs and the officials responsible for each offer stay in the store's
`queue_private` table for the analysts (detect.py), never in an export.

Order of the queue (docs/public-control.md, with sources): within a group (an age group of kindergarten places,
a list of the housing register), applicants are ranked by priority category (`extraordinary`, then `primary`,
then `general`), then by date of application, then by registration order. For kindergarten places the Rules of
state services in preschool education (order of the Minister of Education and Science No. 254 of 19 June 2020)
give the `primary` categories their places in the ratio one to three: one primary applicant, then three on the
general basis (`QueueKind.primary_ratio`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from aiqyn.conflicts.registers import (
    RegisterFileError,
    Reject,
    _records,
    ensure_register_tables,
    insert_rows,
    parse_date,
    parse_datetime,
    parse_id,
)
from aiqyn.publiccontrol import ledger
from aiqyn.store.schema import SCHEMA

EVENTS = ("registered", "priority_changed", "offered", "accepted", "refused", "removed")
PRIORITIES = {"extraordinary": 1, "primary": 2, "general": 3}


@dataclass(frozen=True)
class QueueKind:
    key: str
    primary_ratio: int  # general offers after each primary offer (0: primary simply ranks before general)


KINDS = {
    "kindergarten": QueueKind("kindergarten", 3),
    "housing": QueueKind("housing", 0),
    "land": QueueKind("land", 0),
}
DEFAULT_SEAL_EVERY = 100
KEY_ENV = "AIQYN_QUEUE_KEY"
QUEUE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
IIN_LIKE = re.compile(r"(?<!\d)\d{12}(?!\d)")


class QueueError(ValueError):
    """A queue operation that cannot be done; the message says why."""


# -- pseudonymous codes -------------------------------------------------------------------------------------
def load_key(key_file: Path | None = None, env: str = KEY_ENV) -> bytes:
    """The operator's secret: the content of KEY_FILE, else of the environment variable. At least 16 bytes."""
    if key_file is not None:
        if not key_file.exists():
            raise QueueError(f"{key_file}: no such key file")
        key = key_file.read_bytes().strip()
        where = str(key_file)
    else:
        key = os.environ.get(env, "").encode()
        where = f"${env}"
    if len(key) < 16:
        raise QueueError(f"{where}: the operator's secret key is missing or shorter than 16 bytes (codes would be "
                         "guessable); give --key-file FILE or set " + env)
    return key


def applicant_code(key: bytes, queue_id: str, iin: str) -> str:
    """The applicant's public code in this queue: HMAC-SHA256(key, queue|IIN), 60 bits in base32, XXXX-XXXX-XXXX.
    A different code in every queue, so that one person's queues cannot be linked publicly."""
    mac = hmac.new(key, f"aiqyn-queue-code/v1|{queue_id}|{iin}".encode(), hashlib.sha256).digest()
    text = base64.b32encode(mac).decode()[:12]
    return f"{text[:4]}-{text[4:8]}-{text[8:]}"


def normalise_code(text: str) -> str:
    t = re.sub(r"[^A-Z2-7]", "", text.upper())
    return f"{t[:4]}-{t[4:8]}-{t[8:12]}" if len(t) == 12 else text.strip().upper()


# -- the queue's state, replayed from its ledger --------------------------------------------------------------
@dataclass
class Applicant:
    code: str
    priority: str
    group: str
    applied_on: str
    reg_seq: int
    status: str = "waiting"  # waiting, offered, placed, removed
    place: str | None = None
    refused: set[str] = field(default_factory=set)

    def key(self) -> tuple[int, str, int]:
        return (PRIORITIES[self.priority], self.applied_on, self.reg_seq)


class QueueState:
    """The queue as its entries leave it: who waits, in which order, with which offers. `apply` checks that an
    entry is possible (raises QueueError with the reason) before applying it."""

    def __init__(self, kind: str) -> None:
        if kind not in KINDS:
            raise QueueError(f"unknown queue kind {kind!r}; expected one of {', '.join(KINDS)}")
        self.kind = KINDS[kind]
        self.applicants: dict[str, Applicant] = {}
        self.general_since_primary: dict[str, int] = {}  # group -> general offers since the last primary one
        self.offers: dict[str, str] = {}  # place -> applicant code holding the outstanding offer
        self.last_at = ""

    def waiting(self, group: str | None = None, place: str | None = None) -> list[Applicant]:
        """The applicants waiting (of a group), best first; those who refused `place` left out."""
        out = [a for a in self.applicants.values() if a.status == "waiting" and (group is None or a.group == group)
               and (place is None or place not in a.refused)]
        return sorted(out, key=Applicant.key)

    def expected(self, group: str, place: str) -> Applicant | None:
        """Whom the place should be offered to: the best extraordinary applicant; else, for a queue with a ratio,
        the best primary applicant when `primary_ratio` general offers have been made since the last primary one
        (or no general applicant waits; a group starts with a primary turn); else the best applicant."""
        cands = self.waiting(group, place)
        if not cands:
            return None
        if cands[0].priority == "extraordinary" or not self.kind.primary_ratio:
            return cands[0]
        primary = [a for a in cands if a.priority == "primary"]
        general = [a for a in cands if a.priority == "general"]
        turn = self.general_since_primary.get(group, self.kind.primary_ratio) >= self.kind.primary_ratio
        if primary and (not general or turn):
            return primary[0]
        return general[0] if general else primary[0]

    def position(self, code: str) -> tuple[int, int] | None:
        """(position, waiting) in the applicant's group by the ranking order, or None when not waiting."""
        a = self.applicants.get(code)
        if a is None or a.status != "waiting":
            return None
        group = self.waiting(a.group)
        return group.index(a) + 1, len(group)

    def apply(self, e: dict[str, Any]) -> None:
        kind = e.get("type")
        at = str(e.get("at", ""))
        if at < self.last_at:
            raise QueueError(f"at {at} is before the previous entry's {self.last_at}")
        if kind == "seal":
            self.last_at = at
            return
        code = e.get("applicant")
        if not isinstance(code, str) or not code:
            raise QueueError("applicant: missing")
        a = self.applicants.get(code)
        if kind == "registered":
            if a is not None and a.status != "removed":
                raise QueueError(f"applicant {code} is already in the queue (registered at seq {a.reg_seq})")
            if e.get("priority") not in PRIORITIES:
                raise QueueError(f"priority: {e.get('priority')!r} is not one of {', '.join(PRIORITIES)}")
            self.applicants[code] = Applicant(code, e["priority"], str(e.get("group") or ""), str(e.get("applied_on")),
                                              int(e.get("seq", 0)))
        elif a is None:
            raise QueueError(f"applicant {code} is not registered in this queue")
        elif kind == "priority_changed":
            if a.status in ("removed", "placed"):
                raise QueueError(f"applicant {code} is {a.status}: no priority to change")
            if e.get("priority") not in PRIORITIES:
                raise QueueError(f"priority: {e.get('priority')!r} is not one of {', '.join(PRIORITIES)}")
            a.priority = e["priority"]
        elif kind == "offered":
            place = str(e.get("place") or "")
            if not place:
                raise QueueError("place: missing (an offer is of a place)")
            if a.status != "waiting":
                raise QueueError(f"applicant {code} is {a.status}, not waiting: no place can be offered")
            if place in self.offers:
                raise QueueError(f"place {place} is already offered to {self.offers[place]}")
            if a.priority == "primary":
                self.general_since_primary[a.group] = 0
            elif a.priority == "general":
                ratio = self.kind.primary_ratio
                self.general_since_primary[a.group] = self.general_since_primary.get(a.group, ratio) + 1
            a.status, a.place = "offered", place
            self.offers[place] = code
        elif kind in ("accepted", "refused"):
            if a.status != "offered":
                raise QueueError(f"applicant {code} has no outstanding offer to {kind.rstrip('ed')}")
            place = a.place or ""
            if e.get("place") not in (None, "", place):
                raise QueueError(f"place: {e.get('place')} but the outstanding offer is of {place}")
            self.offers.pop(place, None)
            if kind == "accepted":
                a.status = "placed"
            else:
                a.status, a.place = "waiting", None
                a.refused.add(place)
        elif kind == "removed":
            if a.status in ("removed", "placed"):
                raise QueueError(f"applicant {code} is already {a.status}")
            if a.status == "offered" and a.place:
                self.offers.pop(a.place, None)
            a.status = "removed"
        else:
            raise QueueError(f"type: {kind!r} is not one of {', '.join((*EVENTS, 'seal'))}")
        self.last_at = at


# -- the store ------------------------------------------------------------------------------------------------
TABLES = ("queues", "queue_ledger", "queue_private")


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    for name in TABLES:
        if name not in present:
            con.execute(SCHEMA.registers[name].ddl())


def queue_info(con: duckdb.DuckDBPyConnection, queue_id: str) -> dict[str, Any] | None:
    ensure_tables(con)
    row = con.execute("SELECT queue_id, kind, name, region_kato, organisation_bin FROM queues WHERE queue_id = ?",
                      [queue_id]).fetchone()
    if row is None:
        return None
    return dict(zip(("queue_id", "kind", "name", "region_kato", "organisation_bin"), row, strict=True))


def entries(con: duckdb.DuckDBPyConnection, queue_id: str) -> Iterator[dict[str, Any]]:
    """The queue's ledger entries in seq order, as stored (their canonical JSON)."""
    cur = con.cursor()
    cur.execute("SELECT entry FROM queue_ledger WHERE queue_id = ? ORDER BY seq", [queue_id])
    while True:
        rows = cur.fetchmany(5000)
        if not rows:
            break
        for (text,) in rows:
            yield json.loads(text)
    cur.close()


def replay(kind: str, items: Iterable[dict[str, Any]]) -> QueueState:
    state = QueueState(kind)
    for e in items:
        state.apply(e)
    return state


def _tail(con: duckdb.DuckDBPyConnection, queue_id: str) -> tuple[int, str, list[str]]:
    rows = con.execute("SELECT seq, hash FROM queue_ledger WHERE queue_id = ? ORDER BY seq", [queue_id]).fetchall()
    hashes = [r[1] for r in rows]
    return (rows[-1][0] if rows else 0), (hashes[-1] if hashes else ledger.GENESIS), hashes


def _store_entries(con: duckdb.DuckDBPyConnection, queue_id: str, chained: list[dict[str, Any]]) -> None:
    insert_rows(con, "queue_ledger", [[queue_id, e["seq"], e["type"], dt.datetime.fromisoformat(e["at"]),
                                       e.get("applicant"), ledger.canonical(e).decode(), e["hash"]] for e in chained])


def seal(con: duckdb.DuckDBPyConnection, queue_id: str, at: dt.datetime | None = None) -> dict[str, Any]:
    """Append a seal over every entry so far; returns the seal entry."""
    if queue_info(con, queue_id) is None:
        raise QueueError(f"no queue {queue_id!r} in this store (import its events first)")
    seq, prev, hashes = _tail(con, queue_id)
    when = (at or dt.datetime.now(dt.UTC).replace(tzinfo=None)).isoformat(timespec="seconds")
    last = con.execute('SELECT max("at") FROM queue_ledger WHERE queue_id = ?', [queue_id]).fetchone()
    if last and last[0] is not None and when < last[0].isoformat(timespec="seconds"):
        when = last[0].isoformat(timespec="seconds")
    entry = {**ledger.seal_entry(hashes, when), "queue": queue_id}
    chained = list(ledger.chain([entry], prev, seq + 1))
    _store_entries(con, queue_id, chained)
    return chained[0]


@dataclass
class ImportResult:
    path: str
    appended: dict[str, int] = field(default_factory=dict)  # queue -> entries appended (seals included)
    seals: int = 0
    skipped: int = 0  # events already in the ledger (same event_id)
    rejects: list[Reject] = field(default_factory=list)
    queues_created: list[str] = field(default_factory=list)


REQUIRED = ("event_id", "queue_id", "event", "at", "applicant_iin")
COLUMNS = (*REQUIRED, "kind", "queue_name", "region_kato", "organisation_bin", "application_date", "priority",
           "group", "reason", "place_id", "official_iin")


def _public_entry(queue_id: str, r: dict[str, Any], code: str) -> dict[str, Any]:
    """The public entry of an operator's event: codes only, never the IIN or the official."""
    event = r["event"]
    e: dict[str, Any] = {"type": event, "queue": queue_id, "at": r["at"].isoformat(timespec="seconds"),
                         "applicant": code}
    if event == "registered":
        e.update(applied_on=r["application_date"].isoformat(), priority=r["priority"], group=r.get("group") or "")
    elif event == "priority_changed":
        e.update(priority=r["priority"], reason=r.get("reason") or "")
    elif event in ("offered", "accepted", "refused"):
        e["place"] = r.get("place_id") or ""
    elif event == "removed":
        e["reason"] = r.get("reason") or ""
    return e


def _parse_event(record: dict[str, Any]) -> dict[str, Any]:
    from aiqyn.conflicts.registers import FieldError

    if "__error__" in record:
        raise FieldError("row", record["__error__"])
    r: dict[str, Any] = {}
    for name in REQUIRED:
        if not str(record.get(name, "")).strip():
            raise FieldError(name, "missing")
    r["event_id"] = str(record["event_id"]).strip()
    r["queue_id"] = str(record["queue_id"]).strip()
    if not QUEUE_ID.match(r["queue_id"]):
        raise FieldError("queue_id", f"{r['queue_id']!r}: letters, digits, '.', '_' and '-' only (at most 100)")
    r["event"] = str(record["event"]).strip().lower()
    if r["event"] not in EVENTS:
        raise FieldError("event", f"{record['event']!r} is not one of {', '.join(EVENTS)}")

    def parsed(name: str, parse: Any) -> Any:
        text = str(record.get(name, "")).strip()
        if not text:
            return None
        try:
            return parse(text)
        except ValueError as e:
            raise FieldError(name, str(e)) from None

    r["at"] = parsed("at", parse_datetime)
    r["applicant_iin"] = parsed("applicant_iin", parse_id)
    r["official_iin"] = parsed("official_iin", parse_id)
    r["application_date"] = parsed("application_date", parse_date)
    r["organisation_bin"] = parsed("organisation_bin", lambda t: parse_id(t, "BIN"))
    for name in ("kind", "queue_name", "region_kato", "priority", "group", "reason", "place_id"):
        r[name] = " ".join(str(record.get(name, "")).split()) or None
    if r["kind"]:
        r["kind"] = r["kind"].lower()
        if r["kind"] not in KINDS:
            raise FieldError("kind", f"{r['kind']!r} is not one of {', '.join(KINDS)}")
    if r["region_kato"] and not re.fullmatch(r"\d{9}", r["region_kato"]):
        raise FieldError("region_kato", f"{r['region_kato']!r} is not a 9-digit KATO code")
    if r["priority"]:
        r["priority"] = r["priority"].lower()
        if r["priority"] not in PRIORITIES:
            raise FieldError("priority", f"{r['priority']!r} is not one of {', '.join(PRIORITIES)}")
    if r["event"] == "registered":
        if r["application_date"] is None:
            raise FieldError("application_date", "missing (a registration has the date of the application)")
        if r["application_date"] > r["at"].date():
            raise FieldError("application_date", f"{r['application_date']} is after the registration {r['at']}")
        r["priority"] = r["priority"] or "general"
    if r["event"] == "priority_changed" and not r["priority"]:
        raise FieldError("priority", "missing (the new priority category)")
    if r["event"] == "offered" and not r["place_id"]:
        raise FieldError("place_id", "missing (an offer is of a place)")
    for name in ("reason", "place_id", "group", "queue_name"):
        if r[name] and IIN_LIKE.search(r[name]):
            raise FieldError(name, "holds a 12-digit number (an IIN?): public fields must hold no personal data")
    return r


def import_events(con: duckdb.DuckDBPyConnection, path: Path, key: bytes,
                  seal_every: int = DEFAULT_SEAL_EVERY, progress: Any = None) -> ImportResult:
    """Append the operator's events (CSV or JSON lines, one event a row, in time order per queue) to the queues'
    ledgers. An event whose event_id is already in the ledger is skipped, so a file can be imported again as it
    grows. A bad row is left out with its reason (file, line, field) and stored in register_rejects; an event the
    queue's state makes impossible (an offer to someone not waiting) too. A seal is appended every `seal_every`
    entries."""
    from aiqyn.conflicts.registers import FieldError

    columns, records = _records(path)
    if path.suffix.lower() not in (".json", ".jsonl", ".ndjson"):
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise RegisterFileError(f"{path}:1: missing column(s) {', '.join(missing)}; the header is "
                                    f"{', '.join(columns)}")
    ensure_register_tables(con)  # the queue tables and register_rejects
    result = ImportResult(str(path))
    known = {r[0] for r in con.execute("SELECT event_id FROM queue_private").fetchall()}
    states: dict[str, QueueState] = {}
    tails: dict[str, tuple[int, str, list[str]]] = {}
    since: dict[str, int] = {}  # queue -> entries since its last seal
    pending: dict[str, list[dict[str, Any]]] = {}
    private: list[list[Any]] = []
    infos: dict[str, dict[str, Any]] = {}
    new_queues: list[list[Any]] = []
    for n, (line, record, raw) in enumerate(records, start=1):
        if progress and n % 1000 == 0:
            progress(n)
        try:
            r = _parse_event(record)
        except FieldError as e:
            result.rejects.append(Reject(str(path), line, e.field, e.reason, raw))
            continue
        qid = r["queue_id"]
        if r["event_id"] in known:
            result.skipped += 1
            continue
        if qid not in infos:
            info = queue_info(con, qid)
            if info is None:
                if not r["kind"]:
                    result.rejects.append(Reject(str(path), line, "kind", f"missing: queue {qid} is new, its first "
                                                 "event must give kind (kindergarten, housing or land)", raw))
                    continue
                info = {"queue_id": qid, "kind": r["kind"], "name": r["queue_name"] or qid,
                        "region_kato": r["region_kato"], "organisation_bin": r["organisation_bin"]}
                new_queues.append([qid, info["kind"], info["name"], info["region_kato"], info["organisation_bin"],
                                   str(path), line])
                result.queues_created.append(qid)
            infos[qid] = info
            states[qid] = replay(info["kind"], entries(con, qid))
            tails[qid] = _tail(con, qid)
            last_seal = con.execute("SELECT max(seq) FROM queue_ledger WHERE queue_id = ? AND type = 'seal'",
                                    [qid]).fetchone()
            since[qid] = tails[qid][0] - int(last_seal[0] or 0) if last_seal else tails[qid][0]
            pending[qid] = []
        code = applicant_code(key, qid, r["applicant_iin"])
        entry = _public_entry(qid, r, code)
        seq, prev, hashes = tails[qid]
        entry["seq"] = seq + 1
        try:
            states[qid].apply(entry)
        except QueueError as e:
            result.rejects.append(Reject(str(path), line, "event", str(e), raw))
            continue
        chained = next(ledger.chain([entry], prev, seq + 1))
        hashes.append(chained["hash"])
        pending[qid].append(chained)
        private.append([qid, chained["seq"], r["event_id"], r["applicant_iin"], r["official_iin"], str(path), line])
        known.add(r["event_id"])
        seq, prev = chained["seq"], chained["hash"]
        since[qid] += 1
        if seal_every and since[qid] >= seal_every:
            since[qid] = 0
            s = next(ledger.chain([{**ledger.seal_entry(hashes, entry["at"]), "queue": qid}], prev, seq + 1))
            states[qid].apply(s)
            hashes.append(s["hash"])
            pending[qid].append(s)
            seq, prev = s["seq"], s["hash"]
            result.seals += 1
        tails[qid] = (seq, prev, hashes)
    con.execute("BEGIN TRANSACTION")
    try:
        insert_rows(con, "queues", new_queues)
        for qid, appended in pending.items():
            _store_entries(con, qid, appended)
            if appended:
                result.appended[qid] = len(appended)
        insert_rows(con, "queue_private", private)
        now = dt.datetime.now(dt.UTC)
        insert_rows(con, "register_rejects", [["queue_events", x.file, x.line, x.field, x.reason, x.raw, now]
                                              for x in result.rejects])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def export(con: duckdb.DuckDBPyConnection, queue_id: str, path: Path) -> int:
    """Write the queue's public ledger (header + entries, JSON lines); returns the entries written."""
    info = queue_info(con, queue_id)
    if info is None:
        raise QueueError(f"no queue {queue_id!r} in this store")
    n = con.execute("SELECT count(*) FROM queue_ledger WHERE queue_id = ?", [queue_id]).fetchone()
    head = ledger.header({k: info[k] for k in ("queue_id", "kind", "name", "region_kato")}, int(n[0]) if n else 0,
                         dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    return ledger.write_export(path, head, entries(con, queue_id))


def read_export(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and entries of an export that verifies (raises QueueError naming the first broken entry)."""
    v = ledger.verify(path)
    if not v.ok:
        raise QueueError(f"{path}: {v.broken}")
    lines = ledger.read_lines(path)
    next(lines)
    return v.header or {}, [json.loads(text) for _, text in lines if text.strip()]


def position_in_export(path: Path, code: str) -> dict[str, Any]:
    """Where the applicant with this code stands, computed from an export anyone holds (verified first)."""
    head, items = read_export(path)
    kind = str((head.get("queue") or {}).get("kind", ""))
    state = replay(kind, items)
    return describe_position(state, normalise_code(code))


def describe_position(state: QueueState, code: str) -> dict[str, Any]:
    a = state.applicants.get(code)
    if a is None:
        return {"code": code, "found": False}
    pos = state.position(code)
    return {"code": code, "found": True, "status": a.status, "priority": a.priority, "group": a.group,
            "applied_on": a.applied_on, "registered_seq": a.reg_seq, "place": a.place,
            "position": pos[0] if pos else None, "waiting_in_group": pos[1] if pos else None}
