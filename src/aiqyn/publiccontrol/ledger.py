"""The append-only, hash-chained ledger of a public queue, its Merkle seals, its export and its verification.

Every entry is a JSON object. Its canonical form is its JSON with sorted keys, no spaces, UTF-8 (`canonical`).
An entry carries `seq` (1, 2, ...), `prev` (the hash of the entry before it; GENESIS for the first) and `hash`:

    hash = sha256(prev + canonical(entry without `hash`))   (hex)

so editing, deleting, inserting or reordering a past entry breaks the chain at that entry. A *seal* is itself an
entry (`type: seal`) holding the Merkle root (RFC 6962 tree hash: leaves sha256(0x00 || h), nodes
sha256(0x01 || left || right)) of the hashes of every entry from seq 1 up to the one before it. Anyone who kept a
seal's root can check that later exports still hold the same history (`verify(..., seal=ROOT)`), even if a
forger recomputed every hash of a rewritten chain.

Export: JSON lines, the first line a header object (`format: aiqyn-queue-ledger`), then one entry per line in
seq order. Only hashlib is used; nothing here is home-made cryptography beyond the chain and the tree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "aiqyn-queue-ledger"
VERSION = 1
GENESIS = "0" * 64


def canonical(obj: dict[str, Any]) -> bytes:
    """The canonical bytes of an entry: sorted keys, compact separators, UTF-8, no NaN."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    """sha256(prev + canonical(entry without `hash`)), hex."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    prev = str(body.get("prev", ""))
    return hashlib.sha256(prev.encode("ascii", "replace") + canonical(body)).hexdigest()


def _leaf(h: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest()


def merkle_root(hashes: list[str]) -> str:
    """The RFC 6962 Merkle tree hash of a list of entry hashes (hex); the hash of the empty string for none."""
    if not hashes:
        return hashlib.sha256(b"").hexdigest()
    level = [_leaf(h) for h in hashes]
    # RFC 6962 splits at the largest power of two below n; building bottom-up and carrying an odd last node up
    # unchanged gives the same tree.
    while len(level) > 1:
        nxt = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()


def chain(entries: Iterable[dict[str, Any]], prev: str = GENESIS, first_seq: int = 1) -> Iterator[dict[str, Any]]:
    """Give each entry its seq, prev and hash, in order (entries are copied)."""
    seq = first_seq
    for e in entries:
        out = {k: v for k, v in e.items() if k not in ("seq", "prev", "hash")}
        out["seq"] = seq
        out["prev"] = prev
        out["hash"] = entry_hash(out)
        prev = out["hash"]
        seq += 1
        yield out


def seal_entry(hashes: list[str], at: str) -> dict[str, Any]:
    """A seal over the given entry hashes (seq 1 .. len(hashes)), to be chained as the next entry."""
    return {"type": "seal", "at": at, "covers": len(hashes), "root": merkle_root(hashes)}


def header(queue: dict[str, Any], n_entries: int, exported_at: str) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "hash": "sha256", "genesis": GENESIS, "queue": queue,
            "entries": n_entries, "exported_at": exported_at}


def write_export(path: Path, head: dict[str, Any], entries: Iterable[dict[str, Any]]) -> int:
    """Write the header and the entries as JSON lines; returns the number of entries written."""
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(json.dumps(head, ensure_ascii=False, sort_keys=True) + "\n")
        for e in entries:
            fh.write(canonical(e).decode() + "\n")
            n += 1
    return n


@dataclass
class Broken:
    """The first broken entry: its line in the file, its seq (as written, or the expected one) and what is wrong."""
    line: int
    seq: int | None
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", entry seq {self.seq}" if self.seq is not None else "")
        return f"{where}: {self.reason}"


@dataclass
class Verification:
    path: str
    entries: int = 0
    seals: int = 0
    last_hash: str = GENESIS
    last_root: str | None = None
    roots: dict[str, int] = field(default_factory=dict)  # seal root -> its seq
    broken: Broken | None = None
    header: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


class LedgerFileError(ValueError):
    """A file that is not a ledger export at all (missing, not UTF-8, no header)."""


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    if not path.exists() or path.is_dir():
        raise LedgerFileError(f"{path}: no such file")
    try:
        with path.open("r", encoding="utf-8", newline="\n") as fh:
            for n, line in enumerate(fh, start=1):
                yield n, line.rstrip("\n").rstrip("\r")
    except UnicodeDecodeError as e:
        raise LedgerFileError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def verify(path: Path, seal: str | None = None) -> Verification:
    """Check an export: the header, then every entry's seq, prev, hash, and every seal's root, in order. Stops at
    the first broken entry. With `seal` (a root kept from an earlier export), also checks that this history
    contains that seal."""
    v = Verification(str(path))
    lines = read_lines(path)
    first = next(lines, None)
    if first is None or not first[1].strip():
        raise LedgerFileError(f"{path}: empty file; expected a header line (format {FORMAT})")
    try:
        head = json.loads(first[1])
    except json.JSONDecodeError as bad_header:
        raise LedgerFileError(f"{path}:1: the header is not JSON: {bad_header.msg}") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise LedgerFileError(f"{path}:1: not a queue ledger export (expected a header with format {FORMAT})")
    if head.get("version") != VERSION:
        raise LedgerFileError(f"{path}:1: ledger format version {head.get('version')!r}; this Aiqyn reads {VERSION}")
    v.header = head
    prev = str(head.get("genesis", GENESIS))
    hashes: list[str] = []
    expected = 1
    last_line = 1
    for line_no, text in lines:
        last_line = line_no
        if not text.strip():
            v.broken = Broken(line_no, expected, f"empty line where entry seq {expected} was expected")
            return v
        try:
            e = json.loads(text)
        except json.JSONDecodeError as bad:
            v.broken = Broken(line_no, expected, f"not JSON ({bad.msg}) where entry seq {expected} was expected")
            return v
        if not isinstance(e, dict):
            v.broken = Broken(line_no, expected, "not a JSON object")
            return v
        seq = e.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            v.broken = Broken(line_no, expected, f"field seq: {seq!r} is not an integer")
            return v
        if seq != expected:
            if seq > expected:
                reason = (f"field seq: {seq} where {expected} was expected: entry {expected} is missing here "
                          "(deleted, or entries reordered)")
            else:
                reason = f"field seq: {seq} where {expected} was expected: entries repeated or reordered"
            v.broken = Broken(line_no, seq, reason)
            return v
        if e.get("prev") != prev:
            v.broken = Broken(line_no, seq, f"field prev: {str(e.get('prev'))[:16]}… is not the hash of entry "
                                            f"{seq - 1} ({prev[:16]}…): entry {seq - 1} was edited and its hash "
                                            "recomputed, or this entry's link was edited")
            return v
        h = entry_hash(e)
        if e.get("hash") != h:
            v.broken = Broken(line_no, seq, f"field hash: {str(e.get('hash'))[:16]}… but the entry hashes to "
                                            f"{h[:16]}…: its content was edited")
            return v
        if e.get("type") == "seal":
            covers = e.get("covers")
            if covers != len(hashes):
                v.broken = Broken(line_no, seq, f"field covers: {covers!r}, but {len(hashes)} entries precede the seal")
                return v
            root = merkle_root(hashes)
            if e.get("root") != root:
                v.broken = Broken(line_no, seq, f"field root: the seal's root {str(e.get('root'))[:16]}… is not the "
                                                f"Merkle root of entries 1-{len(hashes)} ({root[:16]}…)")
                return v
            v.seals += 1
            v.last_root = root
            v.roots[root] = seq
        hashes.append(h)
        prev = h
        expected += 1
    v.entries = len(hashes)
    v.last_hash = prev
    declared = head.get("entries")
    if isinstance(declared, int) and declared != v.entries:
        v.broken = Broken(last_line + 1, v.entries + 1,
                          f"the file ends after entry seq {v.entries}, but its header says {declared} entries "
                          "(entries cut off the end?)")
        return v
    if seal is not None and seal.lower() not in v.roots:
        v.broken = Broken(last_line, None, f"no seal with root {seal[:16]}… in this ledger: the history that root "
                                           "sealed is not this one (rewritten, or a different queue)")
    return v
