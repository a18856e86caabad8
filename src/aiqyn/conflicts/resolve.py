"""Entity resolution: the founders and directors of the companies register linked to officials and their declared
relatives.

Method (docs/conflicts.md):

1. **Exact** on the IIN: a founder or director given by IIN is the official or the relative with that IIN
   (score 1).
2. **Probabilistic** on the name, for founders and directors given by name. Blocking: only people who share a
   corroborating attribute are compared (today the date of birth; the address when both sides carry one), so a
   namesake without a corroborating attribute is never even a candidate, and the comparison stays linear in the
   size of the registers. Scoring: both names are folded to one Latin key (`normalize.fold`: Kazakh and Russian
   Cyrillic, passport and 2021 Latin agree), the patronymic is set aside (optional on either side), and
   rapidfuzz's `ratio` compares the remaining words in their best order, and each aligned word is compared on
   its own (normalised Damerau-Levenshtein). A pair is a match when the name similarity reaches `threshold`
   (default 85 of 100), every word reaches `WORD_FLOOR` (0.7), at least one corroborating attribute agrees, and
   no attribute contradicts (two patronymics that differ, two dates of birth that differ).

Each match keeps its score and evidence (the names compared, their keys, the similarity, the attributes) in the
`entity_matches` table. Unmatched named founders and directors are clustered among themselves the same way, so
that one person named in two companies is one node of the affiliation graph (`mention_clusters`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import permutations
from pathlib import Path
from typing import Any

import duckdb
from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein

from aiqyn.conflicts.normalize import address_key, person_tokens
from aiqyn.conflicts.registers import ensure_register_tables, insert_rows
from aiqyn.store.schema import SCHEMA

DEFAULT_THRESHOLD = 85.0
WORD_FLOOR = 0.7  # each word: one edit in up to 6 letters, two from 7 (a typo and a transliteration variant)
PATRONYMIC_CONFLICT = 75.0  # two patronymics less similar than this are two different fathers


@dataclass(frozen=True)
class Record:
    id: str
    kind: str  # official, relative, mention
    name: str
    birth_date: dt.date | None
    address: str | None = None
    key: str = ""
    patronymic: str | None = None


def _record(id_: str, kind: str, name: str, born: dt.date | None, address: str | None = None) -> Record:
    words, patronymic = person_tokens(name)
    return Record(id_, kind, name, born, address_key(address) if address else None, " ".join(sorted(words)),
                  patronymic)


def name_similarity(a: str, b: str) -> tuple[float, float]:
    """(similarity 0-100 of two folded names in their best word order, the weakest word's similarity 0-1).

    The words are aligned in the order that gives the best rapidfuzz `ratio` of the whole names (token_sort_ratio
    would sort "otepov serik" and "serik utepov" apart); each aligned pair of words is then compared with the
    normalised Damerau-Levenshtein similarity, so that one typo or one transliteration difference per word
    passes while two different surnames that share letters ("ibraev"/"isaev") do not. Extra words on one side
    (a middle name) are left out of the alignment."""
    wa, wb = a.split(), b.split()
    if not wa or not wb:
        return 0.0, 0.0
    short, long_ = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    if len(long_) > 5:
        return float(fuzz.token_sort_ratio(a, b)), 0.0
    best = (-1.0, 0.0)
    for perm in permutations(long_, len(short)):
        whole = fuzz.ratio(" ".join(short), " ".join(perm))
        if whole > best[0]:
            weakest = min(DamerauLevenshtein.normalized_similarity(x, y) for x, y in zip(short, perm, strict=True))
            best = (whole, weakest)
    return best


def compare(a: Record, b: Record, threshold: float = DEFAULT_THRESHOLD) -> tuple[bool, float, dict[str, Any]]:
    """(match?, score in [0, 1], evidence) for two people of one block."""
    similarity, weakest = name_similarity(a.key, b.key)
    agree: list[str] = []
    conflict: list[str] = []
    if a.birth_date and b.birth_date:
        (agree if a.birth_date == b.birth_date else conflict).append("birth_date")
    if a.address and b.address:
        (agree if fuzz.ratio(a.address, b.address) >= 90 else conflict).append("address")
    if a.patronymic and b.patronymic:
        p = fuzz.ratio(a.patronymic, b.patronymic)
        if p < PATRONYMIC_CONFLICT:
            conflict.append("patronymic")
        else:
            agree.append("patronymic")
    evidence = {"names": [a.name, b.name], "keys": [a.key, b.key], "name_similarity": round(similarity, 1),
                "weakest_word": round(weakest, 3), "agree": agree, "conflict": conflict}
    corroborated = any(x in agree for x in ("birth_date", "address"))
    ok = similarity >= threshold and weakest >= WORD_FLOOR and corroborated and not conflict
    return ok, round(similarity / 100.0, 4), evidence


def _blocks(records: list[Record]) -> dict[tuple[str, str], list[Record]]:
    blocks: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in records:
        if r.birth_date:
            blocks[("birth_date", r.birth_date.isoformat())].append(r)
        if r.address:
            blocks[("address", r.address)].append(r)
    return blocks


@dataclass
class ResolveResult:
    mentions: int = 0
    by_iin: int = 0
    by_name: int = 0
    compared: int = 0
    clusters: int = 0
    unresolvable: int = 0  # named without any corroborating attribute
    matches: list[list[Any]] = field(default_factory=list)


def load_people(con: duckdb.DuckDBPyConnection) -> tuple[list[Record], dict[str, tuple[str, str]]]:
    """The reference people (officials and relatives with a name) and the IIN index (IIN -> (id, kind))."""
    people: list[Record] = []
    by_iin: dict[str, tuple[str, str]] = {}
    for iin, name, born, address in con.execute(
            "SELECT iin, full_name, birth_date, address FROM officials").fetchall():
        people.append(_record(iin, "official", name, born, address))
        by_iin[iin] = (iin, "official")
    for pid, iin, name, born, address in con.execute(
            "SELECT person_id, relative_iin, relative_name, birth_date, address FROM relatives").fetchall():
        if name:
            people.append(_record(pid, "relative", name, born, address))
        if iin:
            by_iin.setdefault(iin, (pid, "relative"))
    return people, by_iin


def resolve(con: duckdb.DuckDBPyConnection, threshold: float = DEFAULT_THRESHOLD) -> ResolveResult:
    """Link every founder and director of `company_people` to officials and relatives; (re)write entity_matches
    and mention_clusters."""
    ensure_register_tables(con)
    for name in ("entity_matches", "mention_clusters"):
        con.execute(SCHEMA.outputs[name].ddl())
    people, by_iin = load_people(con)
    result = ResolveResult()
    mentions: list[Record] = []
    for bin_, role, position, iin, name, born in con.execute(
            "SELECT bin, role, position, person_iin, person_name, birth_date FROM company_people").fetchall():
        mention_id = f"{bin_}/{role}/{position}"
        result.mentions += 1
        if iin:
            if iin in by_iin:
                pid, kind = by_iin[iin]
                result.matches.append([mention_id, pid, kind, "iin", 1.0, json.dumps({"iin": iin})])
                result.by_iin += 1
            continue
        if name:
            mentions.append(_record(mention_id, "mention", name, born))
            if not born:
                result.unresolvable += 1
    people_blocks = _blocks(people)
    matched: set[str] = set()
    for block_key, block in _blocks(mentions).items():
        candidates = people_blocks.get(block_key)
        if not candidates:
            continue
        for m in block:
            for p in candidates:
                result.compared += 1
                ok, score, evidence = compare(m, p, threshold)
                if ok and (m.id, p.id) not in matched:
                    matched.add((m.id, p.id))  # type: ignore[arg-type]
                    evidence["block"] = list(block_key)
                    result.matches.append([m.id, p.id, p.kind, "name", score, json.dumps(evidence,
                                                                                           ensure_ascii=False)])
                    result.by_name += 1
    # one unmatched person named in several companies: clusters of mentions (union-find over matching pairs)
    resolved = {row[0] for row in result.matches}
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for block in _blocks([m for m in mentions if m.id not in resolved]).values():
        for i, a in enumerate(block):
            for b in block[i + 1:]:
                if compare(a, b, threshold)[0]:
                    ra, rb = find(a.id), find(b.id)
                    if ra != rb:
                        parent[max(ra, rb)] = min(ra, rb)
    clusters = [[x, find(x)] for x in parent]
    result.clusters = len({c for _, c in clusters})
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM entity_matches")
        con.execute("DELETE FROM mention_clusters")
        insert_rows(con, "entity_matches", result.matches)
        insert_rows(con, "mention_clusters", clusters)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def evaluate(con: duckdb.DuckDBPyConnection, truth_path: Path) -> dict[str, Any]:
    """Precision and recall of the name matches in `entity_matches` against the generator's truth.json
    (`registers.linkage`): the links it must find, and the mentions it must not merge (named without a date of
    birth, or namesakes)."""
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    if "registers" not in truth:
        raise ValueError(f"{truth_path}: no `registers` key (not written by `aiqyn generate` with registers)")
    linkage = truth["registers"]["linkage"]
    want = {(m, p) for m, p in linkage["links"]}
    got = {(m, p) for m, p in con.execute(
        "SELECT mention_id, person_id FROM entity_matches WHERE method = 'name'").fetchall()}
    unresolvable = set(linkage["unresolvable"])
    merged_unresolvable = sorted({m for m, _ in got if m in unresolvable})
    namesakes = {(m, p) for m, p in linkage.get("namesakes", [])}
    merged_namesakes = sorted(got & namesakes)
    tp = len(want & got)
    precision = tp / len(got) if got else 1.0
    recall = tp / len(want) if want else 1.0
    return {
        "links_expected": len(want), "links_found": len(got), "true_positives": tp,
        "precision": round(precision, 4), "recall": round(recall, 4),
        "false_positives": sorted(got - want)[:20], "missed": sorted(want - got)[:20],
        "unresolvable_merged": merged_unresolvable,
        "namesakes": len(namesakes), "namesakes_merged": merged_namesakes,
    }
