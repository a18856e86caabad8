"""How well the flags find the schemes planted by `aiqyn generate`: precision, recall and F1 per scheme, and the
share of planted processes at the top of the risk ranking.

Each planted scheme is matched with the flags that target it (MAPPING, documented in docs/evaluation.md). A
scheme is measured at the process level (the ocids of truth.json's `processes`), and also at the buyer or
supplier level where truth.json names the buyers or suppliers that carry it. At a level, the predicted subjects
are those flagged by any of the scheme's indicators; a process planted with one scheme and flagged for another
counts as a false positive of the other (the generator plants one scheme per process).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    from aiqyn.collusion.rings import RingScores

# scheme -> (indicator codes, levels measured). Levels: process, buyer, supplier (the flags' `tenderer`).
MAPPING: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "favoured_supplier": (("KZ006",), ("process", "buyer", "supplier")),
    "bid_rigging": (("R055", "R028", "R024"), ("process", "supplier")),
    "splitting": (("KZ002",), ("process", "buyer")),
    "short_period": (("KZ012",), ("process",)),
    "overpricing": (("KZ013",), ("process",)),
    "amendment_inflation": (("KZ003",), ("process",)),
    "new_winner": (("KZ004",), ("process", "supplier")),
    "shared_contacts": (("R044",), ("process", "supplier")),
}
FLAG_SUBJECT = {"process": "process", "buyer": "buyer", "supplier": "tenderer"}
TRUTH_KEY = {"process": "processes", "buyer": "buyers", "supplier": "suppliers"}


class TruthError(ValueError):
    """A truth file that cannot be used; the message names the file and what is wrong."""


@dataclass
class Row:
    scheme: str
    level: str
    codes: list[str]  # the mapped codes present in the run
    missing: list[str]  # mapped codes the run did not compute
    planted: int
    flagged: int
    hits: int

    @property
    def precision(self) -> float | None:
        return self.hits / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.hits / self.planted if self.planted else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return None if p is None or r is None or p + r == 0 else 2 * p * r / (p + r)


@dataclass
class TopK:
    k: int
    planted_in_top: int
    planted_total: int

    @property
    def share(self) -> float:
        return self.planted_in_top / self.k if self.k else 0.0


@dataclass
class Evaluation:
    run_id: str
    rows: list[Row]
    top: list[TopK]
    processes: int
    # The suspected rings of `aiqyn collusion rings` against the rings planted by `aiqyn generate` (the bidders
    # of each planted bid-rigging process); None when the truth plants no bid rigging.
    rings: RingScores | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "processes": self.processes,
            "schemes": [{"scheme": r.scheme, "level": r.level, "codes": r.codes, "missing_codes": r.missing,
                         "planted": r.planted, "flagged": r.flagged, "true_positives": r.hits,
                         "precision": r.precision, "recall": r.recall, "f1": r.f1} for r in self.rows],
            "top_k": [{"k": t.k, "planted_in_top": t.planted_in_top, "planted_total": t.planted_total,
                       "share": t.share} for t in self.top],
            "rings": None if self.rings is None else {
                "planted": self.rings.planted, "reported": self.rings.reported, "found": self.rings.found,
                "correct": self.rings.correct, "recall": self.rings.recall, "precision": self.rings.precision},
        }


def load_truth(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise TruthError(f"{path}: no such truth file (written by `aiqyn generate` as OUT/truth.json)")
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TruthError(f"{path}: not JSON: {e}") from None
    schemes = truth.get("schemes") if isinstance(truth, dict) else None
    if not isinstance(schemes, dict):
        raise TruthError(f"{path}: no `schemes` object: not a truth.json written by `aiqyn generate`")
    for name, scheme in schemes.items():
        for key in TRUTH_KEY.values():
            if not isinstance(scheme.get(key, []), list):
                raise TruthError(f"{path}: schemes.{name}.{key}: expected a list of identifiers")
    return truth


def evaluate(con: duckdb.DuckDBPyConnection, truth: dict[str, Any], run_id: str,
             top: list[int] | None = None) -> Evaluation:
    """Compare the flags and scores of a run with the truth."""
    found = con.execute("SELECT codes FROM flag_runs WHERE run_id = ?", [run_id]).fetchone()
    if found is None:
        raise KeyError(f"no flags run {run_id!r} in this store")
    computed = set(found[0] or [])
    rows: list[Row] = []
    for scheme, spec in truth["schemes"].items():
        codes, levels = MAPPING.get(scheme, ((), ()))
        present = [c for c in codes if c in computed]
        for level in levels:
            planted = set(spec.get(TRUTH_KEY[level], []))
            flagged = {r[0] for r in con.execute(
                "SELECT DISTINCT subject_id FROM flags "
                "WHERE run_id = ? AND subject_type = ? AND list_contains(?, code)",
                [run_id, FLAG_SUBJECT[level], present]).fetchall()} if present else set()
            rows.append(Row(scheme, level, present, [c for c in codes if c not in computed], len(planted),
                            len(flagged), len(planted & flagged)))
    planted_all = sorted({o for spec in truth["schemes"].values() for o in spec.get("processes", [])})
    con.execute("CREATE OR REPLACE TEMP TABLE eval_planted AS SELECT unnest(CAST(? AS VARCHAR[])) AS ocid",
                [planted_all])
    ks = sorted({len(planted_all), *(top or [])} - {0})
    tops = []
    for k in ks:
        n = con.execute("SELECT count(*) FROM scores s JOIN eval_planted p ON p.ocid = s.subject_id "
                        "WHERE s.run_id = ? AND s.subject_type = 'process' AND s.rank <= ?", [run_id, k]).fetchone()
        tops.append(TopK(k, int(n[0]) if n else 0, len(planted_all)))
    processes = con.execute("SELECT count(*) FROM scores WHERE run_id = ? AND subject_type = 'process'",
                            [run_id]).fetchone()
    rigged = truth["schemes"].get("bid_rigging", {}).get("processes", [])
    rings = None
    if rigged:
        from aiqyn.collusion.rings import planted_ring_scores

        rings = planted_ring_scores(con, rigged)
    return Evaluation(run_id, rows, tops, int(processes[0]) if processes else 0, rings)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def report(ev: Evaluation) -> str:
    """The evaluation as plain text (the table docs/evaluation.md quotes)."""
    header = f"{'scheme':<20} {'level':<9} {'flags':<16} {'planted':>7} {'flagged':>7} {'hits':>6} " \
             f"{'precision':>9} {'recall':>7} {'F1':>6}"
    lines = [f"run {ev.run_id}: {ev.processes:,} processes scored", "", header, "-" * len(header)]
    for r in ev.rows:
        codes = ",".join(r.codes) or "(none run)"
        lines.append(f"{r.scheme:<20} {r.level:<9} {codes:<16} {r.planted:>7,} {r.flagged:>7,} {r.hits:>6,} "
                     f"{_fmt(r.precision):>9} {_fmt(r.recall):>7} {_fmt(r.f1):>6}")
    missing = sorted({c for r in ev.rows for c in r.missing})
    if missing:
        lines += ["", f"mapped indicators not in this run: {', '.join(missing)}"]
    lines += ["", "risk ranking (processes by composite score):"]
    for t in ev.top:
        lines.append(f"  top {t.k:,}: {t.planted_in_top:,} planted processes, share {t.share:.3f} "
                     f"(of {t.planted_total:,} planted in all)")
    if ev.rings is not None:
        rs = ev.rings
        lines += ["", f"bid-rigging rings (aiqyn collusion rings): {rs.planted:,} planted, {rs.reported:,} reported, "
                  f"{rs.found:,} found; recall {_fmt(rs.recall)}, precision {_fmt(rs.precision)}"]
    return "\n".join(lines) + "\n"
