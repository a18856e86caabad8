"""The queue ledger: an untouched export verifies; editing, deleting or reordering any past entry (at several
positions, seals included) names the first broken entry; a rewritten history with every hash recomputed still
fails against a seal root kept earlier. Merkle roots follow RFC 6962."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from aiqyn.publiccontrol import ledger


def _entries(n: int, seal_every: int = 10) -> list[dict]:
    out: list[dict] = []
    prev, hashes = ledger.GENESIS, []
    for i in range(n):
        if hashes and len(out) % (seal_every + 1) == seal_every:
            raw = {**ledger.seal_entry(hashes, f"2024-01-01T10:{i % 60:02d}:00"), "queue": "q"}
        else:
            raw = {"type": "registered", "queue": "q", "at": f"2024-01-01T10:{i % 60:02d}:00",
                   "applicant": f"CODE-{i:04d}-AAAA", "applied_on": "2024-01-01", "priority": "general", "group": ""}
        e = next(ledger.chain([raw], prev, len(out) + 1))
        out.append(e)
        hashes.append(e["hash"])
        prev = e["hash"]
    return out


def _write(path: Path, entries: list[dict], declared: int | None = None) -> Path:
    head = ledger.header({"queue_id": "q", "kind": "kindergarten"}, len(entries) if declared is None else declared,
                         "2024-02-01T00:00:00+00:00")
    ledger.write_export(path, head, entries)
    return path


@pytest.fixture
def export(tmp_path: Path) -> tuple[Path, list[dict]]:
    entries = _entries(60)
    return _write(tmp_path / "q.jsonl", entries), entries


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _save(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_untouched_ledger_verifies(export: tuple[Path, list[dict]]) -> None:
    path, entries = export
    v = ledger.verify(path)
    assert v.ok and v.entries == 60 and v.seals == 5 and v.last_hash == entries[-1]["hash"]
    assert ledger.verify(path, seal=v.last_root).ok


POSITIONS = [1, 2, 11, 30, 59, 60]  # the first, an early one, a seal, the middle, the last two


@pytest.mark.parametrize("seq", POSITIONS)
def test_edit_names_the_entry(export: tuple[Path, list[dict]], seq: int) -> None:
    path, _ = export
    lines = _lines(path)
    e = json.loads(lines[seq])
    e["at"] = "2023-12-31T23:59:00"  # any field
    lines[seq] = ledger.canonical(e).decode()
    _save(path, lines)
    b = ledger.verify(path).broken
    assert b is not None and (b.line, b.seq) == (seq + 1, seq) and "edited" in b.reason


@pytest.mark.parametrize("seq", [1, 11, 30, 59])
def test_edit_with_the_hash_recomputed_breaks_the_next_link(export: tuple[Path, list[dict]], seq: int) -> None:
    path, _ = export
    lines = _lines(path)
    e = json.loads(lines[seq])
    e["applicant"] = "EVIL-EVIL-EVIL"
    e["hash"] = ledger.entry_hash(e)
    lines[seq] = ledger.canonical(e).decode()
    _save(path, lines)
    b = ledger.verify(path).broken
    assert b is not None and (b.line, b.seq) == (seq + 2, seq + 1) and f"entry {seq}" in b.reason


@pytest.mark.parametrize("seq", [1, 2, 11, 30, 59])
def test_delete_names_the_missing_entry(export: tuple[Path, list[dict]], seq: int) -> None:
    path, _ = export
    lines = _lines(path)
    del lines[seq]
    _save(path, lines)
    b = ledger.verify(path).broken
    assert b is not None and b.line == seq + 1 and b.seq == seq + 1 and f"entry {seq} is missing" in b.reason


def test_deleting_the_last_entry_is_named(export: tuple[Path, list[dict]]) -> None:
    path, _ = export
    _save(path, _lines(path)[:-1])
    b = ledger.verify(path).broken
    assert b is not None and b.seq == 60 and "ends after entry seq 59" in b.reason


@pytest.mark.parametrize("a,b", [(1, 2), (10, 11), (30, 31), (59, 60), (5, 40)])
def test_reorder_names_the_first_displaced_entry(export: tuple[Path, list[dict]], a: int, b: int) -> None:
    path, _ = export
    lines = _lines(path)
    lines[a], lines[b] = lines[b], lines[a]
    _save(path, lines)
    broken = ledger.verify(path).broken
    assert broken is not None and broken.line == a + 1 and broken.seq == b and f"entry {a} is missing" in broken.reason


def test_a_full_rewrite_fails_against_a_kept_seal(export: tuple[Path, list[dict]], tmp_path: Path) -> None:
    path, entries = export
    kept = ledger.verify(path).roots  # a citizen kept every published root
    first_root = next(iter(kept))
    forged_raw = [dict(e) for e in entries]
    forged_raw[3]["applicant"] = "EVIL-EVIL-EVIL"
    out, prev, hashes = [], ledger.GENESIS, []
    for e in forged_raw:  # every hash and every seal recomputed
        if e["type"] == "seal":
            e = {**e, **ledger.seal_entry(hashes, e["at"])}
        c = next(ledger.chain([e], prev, len(out) + 1))
        out.append(c)
        hashes.append(c["hash"])
        prev = c["hash"]
    forged = _write(tmp_path / "forged.jsonl", out)
    assert ledger.verify(forged).ok  # consistent in itself
    b = ledger.verify(forged, seal=first_root).broken
    assert b is not None and "no seal with root" in b.reason


def test_a_seal_with_a_wrong_root_is_named(export: tuple[Path, list[dict]]) -> None:
    path, _ = export
    lines = _lines(path)
    e = json.loads(lines[22])
    assert e["type"] == "seal"
    e["root"] = "0" * 64
    e["hash"] = ledger.entry_hash(e)
    lines[22] = ledger.canonical(e).decode()
    _save(path, lines)
    b = ledger.verify(path).broken
    assert b is not None and (b.line, b.seq) == (23, 22) and "root" in b.reason


def test_garbage_lines_are_named(export: tuple[Path, list[dict]]) -> None:
    path, _ = export
    lines = _lines(path)
    lines[7] = '{"seq": 7, "broken'
    _save(path, lines)
    b = ledger.verify(path).broken
    assert b is not None and b.line == 8 and "not JSON" in b.reason


def test_not_a_ledger(tmp_path: Path) -> None:
    for text, message in [("", "empty file"), ("{}\n", "not a queue ledger"), ("nope\n", "header is not JSON")]:
        p = tmp_path / "x.jsonl"
        p.write_text(text, encoding="utf-8")
        with pytest.raises(ledger.LedgerFileError, match=message):
            ledger.verify(p)
    with pytest.raises(ledger.LedgerFileError, match="no such file"):
        ledger.verify(tmp_path / "missing.jsonl")


def _rfc6962(hashes: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, recursively, as the reference."""
    if len(hashes) == 1:
        return hashlib.sha256(b"\x00" + hashes[0]).digest()
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return hashlib.sha256(b"\x01" + _rfc6962(hashes[:k]) + _rfc6962(hashes[k:])).digest()


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 13, 100])
def test_merkle_root_is_rfc6962(n: int) -> None:
    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(n)]
    assert ledger.merkle_root(hashes) == _rfc6962([bytes.fromhex(h) for h in hashes]).hex()
