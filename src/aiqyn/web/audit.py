"""The append-only, hash-chained audit log: every change the application makes is one entry.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's canonical JSON (sequence number,
time, actor, action, object, data). Changing, inserting or removing an entry breaks the chain from that
point on, which `verify` reports; removing entries at the end is caught by comparing the head hash with one
published earlier (`aiqyn audit verify --expect-head`). The database also refuses UPDATE and DELETE on the
table (triggers created by the first migration).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from aiqyn.web.models import AuditEntry

GENESIS = "0" * 64


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def entry_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, object_type: str, object_id: str,
               data: str) -> str:
    body = _canonical({"seq": seq, "at": at, "actor": actor, "action": action, "object_type": object_type,
                       "object_id": object_id, "data": data})
    return hashlib.sha256((prev_hash + "\n" + body).encode("utf-8")).hexdigest()


def record(session: Session, actor: str, action: str, object_type: str, object_id: object,
           data: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry, in the caller's transaction (the change and its entry commit together)."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise writers: two transactions must not both chain onto the same last entry.
        session.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
    last = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    payload = _canonical(data or {})
    entry = AuditEntry(seq=seq, at=at, actor=actor, action=action, object_type=object_type,
                       object_id=str(object_id), data=payload, prev_hash=prev,
                       hash=entry_hash(prev, seq, at, actor, action, object_type, str(object_id), payload))
    session.add(entry)
    session.flush()
    return entry


@dataclass
class Verification:
    entries: int
    head: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, expect_head: str | None = None) -> Verification:
    """Walk the chain from the start; name every entry whose hash or link does not hold."""
    problems: list[str] = []
    prev, expected_seq, n = GENESIS, 1, 0
    for e in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars().yield_per(1000):
        n += 1
        if e.seq != expected_seq:
            problems.append(f"entry {e.seq}: expected entry {expected_seq} here (entries removed or inserted)")
        if e.prev_hash != prev:
            problems.append(f"entry {e.seq}: its link does not match the previous entry's hash")
        recomputed = entry_hash(e.prev_hash, e.seq, e.at, e.actor, e.action, e.object_type, e.object_id, e.data)
        if recomputed != e.hash:
            problems.append(f"entry {e.seq}: content changed after it was written (hash mismatch)")
        prev, expected_seq = e.hash, e.seq + 1
    if expect_head is not None and expect_head != prev:
        problems.append(f"head is {prev}, expected {expect_head} (entries removed from the end, or another log)")
    return Verification(entries=n, head=prev, problems=problems)
