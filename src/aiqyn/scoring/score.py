"""The composite risk score of a flags run, per process, buyer, supplier and region, with its explanation.

The score follows the corruption risk index of the Government Transparency Institute (Fazekas, Tóth and King
2016): a weighted mean of components, each in [0, 1], so that a score is in [0, 1] and each component's
contribution is `weight × value / Σ weights`; the contributions add up to the score.

- **Process.** One component per indicator that flags processes (weight > 0): 1 when the process is flagged,
  else 0. Each indicator has already applied its own threshold; the binary component normalises indicators
  measured in days, ratios or tenge to one scale.
- **Buyer, supplier, region.** One component per indicator that flags processes or the subject itself: 1 when
  the subject is flagged by it (a buyer by KZ001, KZ002, KZ006 or KZ008; a supplier by an indicator's `tenderer`
  flags), else the share of the subject's processes it flagged. A buyer's processes are those it bought; a
  supplier's, those it won (active award); a region's (oblast: the first two digits of the KATO code, then
  zeros), those of its buyers.

Ranks: 1 is the riskiest subject of its type; ties are broken by the subject's id. Everything runs inside DuckDB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb

from aiqyn.scoring.weights import known_codes

# The subjects scored, and the flags' subject type that counts as the subject's own flag.
OWN_FLAGS = {"buyer": "buyer", "supplier": "tenderer", "region": None}


@dataclass
class ScoreResult:
    run_id: str
    counts: dict[str, int]  # subjects scored per type
    flagged: dict[str, int]  # subjects with a score above 0 per type


def _weights_table(con: duckdb.DuckDBPyConnection, run_id: str, weights: dict[str, float]) -> None:
    codes = con.execute("SELECT codes FROM flag_runs WHERE run_id = ?", [run_id]).fetchone()
    if codes is None:
        raise KeyError(f"no flags run {run_id!r} in this store")
    # The run's indicators, and the codes written into it by hooks (the conflict flags of the affiliation graph).
    written = [r[0] for r in con.execute("SELECT DISTINCT code FROM flags WHERE run_id = ? ORDER BY code",
                                         [run_id]).fetchall()]
    known = known_codes()
    rows = []
    for code in dict.fromkeys([*(codes[0] or []), *written]):
        if code not in known or weights.get(code, 0.0) <= 0:
            continue
        title, subjects = known[code]
        rows.append([code, title, float(weights[code]), "process" in subjects, "buyer" in subjects,
                     "tenderer" in subjects])
    con.execute("CREATE OR REPLACE TEMP TABLE score_weights (code VARCHAR, title VARCHAR, weight DOUBLE, "
                "on_process BOOLEAN, on_buyer BOOLEAN, on_tenderer BOOLEAN)")
    if rows:
        con.executemany("INSERT INTO score_weights VALUES (?, ?, ?, ?, ?, ?)", rows)


# Every process in scope with the keys of its buyer, its winners and its region.
MEMBERS = """
CREATE OR REPLACE TEMP TABLE score_members AS
WITH procs AS (SELECT * FROM processes WHERE status IS DISTINCT FROM 'cancelled'),
buyer_of AS (
  SELECT p.ocid, coalesce(max(bp.subject_id), max(p.buyer_id)) AS subject_id
  FROM procs p LEFT JOIN parties bp ON bp.ocid = p.ocid AND bp.party_id = p.buyer_id
  WHERE p.buyer_id IS NOT NULL GROUP BY p.ocid
),
supplier_of AS (
  SELECT DISTINCT s.ocid, coalesce(sp.subject_id, s.party_id) AS subject_id
  FROM procs p JOIN awards a ON a.ocid = p.ocid AND a.status = 'active'
    JOIN award_suppliers s ON s.ocid = a.ocid AND s.award_position = a.position
    LEFT JOIN parties sp ON sp.ocid = s.ocid AND sp.party_id = s.party_id
  WHERE s.party_id IS NOT NULL
)
SELECT 'process' AS subject_type, ocid AS subject_id, ocid FROM procs
UNION ALL SELECT 'buyer', subject_id, ocid FROM buyer_of
UNION ALL SELECT 'supplier', subject_id, ocid FROM supplier_of
UNION ALL SELECT 'region', left(region_code, 2) || '0000000', ocid FROM procs
  WHERE region_code IS NOT NULL AND length(region_code) >= 2
"""

SCORE = """
INSERT INTO scores
WITH pflags AS (
  SELECT f.subject_id AS ocid, f.code, f.evidence FROM flags f JOIN score_weights w ON w.code = f.code
  WHERE f.run_id = $run_id AND f.subject_type = 'process'
),
own AS (
  SELECT CASE f.subject_type WHEN 'tenderer' THEN 'supplier' ELSE f.subject_type END AS subject_type,
    f.subject_id, f.code, f.evidence
  FROM flags f JOIN score_weights w ON w.code = f.code
  WHERE f.run_id = $run_id AND f.subject_type IN ('buyer', 'tenderer')
),
sizes AS (SELECT subject_type, subject_id, count(DISTINCT ocid) AS n FROM score_members GROUP BY ALL),
-- the components each subject type has, and their total weight
components AS (
  SELECT t.subject_type, w.code, w.title, w.weight FROM score_weights w,
    (VALUES ('process'), ('buyer'), ('supplier'), ('region')) t(subject_type)
  WHERE w.on_process OR (t.subject_type = 'buyer' AND w.on_buyer) OR (t.subject_type = 'supplier' AND w.on_tenderer)
),
totals AS (SELECT subject_type, sum(weight) AS total FROM components GROUP BY subject_type),
-- a process is its own one member: its flag, as it is; a buyer, supplier or region counts its flagged processes
-- (their evidence is not carried: only a process's explanation quotes it)
shares AS (
  SELECT m.subject_type, m.subject_id, f.code, 1 AS n_flagged, [m.ocid] AS examples, f.evidence
  FROM score_members m JOIN pflags f ON f.ocid = m.ocid WHERE m.subject_type = 'process'
  UNION ALL
  SELECT m.subject_type, m.subject_id, f.code, count(DISTINCT m.ocid) AS n_flagged,
    list(DISTINCT m.ocid ORDER BY m.ocid)[1:5] AS examples, CAST(NULL AS VARCHAR) AS evidence
  FROM score_members m JOIN pflags f ON f.ocid = m.ocid WHERE m.subject_type <> 'process'
  GROUP BY m.subject_type, m.subject_id, f.code
),
parts AS (
  SELECT coalesce(s.subject_type, o.subject_type) AS subject_type, coalesce(s.subject_id, o.subject_id) AS subject_id,
    coalesce(s.code, o.code) AS code, s.n_flagged, s.examples, s.evidence AS process_evidence,
    o.evidence AS own_evidence
  FROM shares s FULL OUTER JOIN own o
    ON o.subject_type = s.subject_type AND o.subject_id = s.subject_id AND o.code = s.code
),
valued AS (
  SELECT p.*, c.title, c.weight, t.total, z.n,
    CASE WHEN p.own_evidence IS NOT NULL OR p.subject_type = 'process' THEN 1.0
         ELSE p.n_flagged / greatest(z.n, 1) END AS value
  FROM parts p JOIN components c ON c.subject_type = p.subject_type AND c.code = p.code
    JOIN totals t ON t.subject_type = p.subject_type
    JOIN sizes z ON z.subject_type = p.subject_type AND z.subject_id = p.subject_id
),
-- each component's explanation as JSON text, then the texts in order: an ordered aggregate over a short text costs
-- a fraction of one over the components' structs (DuckDB sorts the whole payload of each group)
described AS (
  SELECT subject_type, subject_id, code, weight, value, total, n_flagged, own_evidence,
    CAST(to_json({'code': code, 'title': title, 'weight': weight, 'value': value,
                  'contribution': weight * value / total,
                  'flagged_processes': CASE WHEN subject_type = 'process' THEN NULL ELSE coalesce(n_flagged, 0) END,
                  'examples': CASE WHEN subject_type = 'process' THEN NULL ELSE examples END,
                  'evidence': CAST(coalesce(own_evidence, CASE WHEN subject_type = 'process'
                                                               THEN process_evidence END) AS JSON)}) AS VARCHAR)
      AS described
  FROM valued
),
explained AS (
  SELECT subject_type, subject_id, sum(weight * value / total) AS score,
    sum(CASE WHEN subject_type = 'process' THEN 1 ELSE coalesce(n_flagged, 0)
             + CASE WHEN own_evidence IS NULL THEN 0 ELSE 1 END END) AS n_flags,
    '[' || array_to_string(list(described ORDER BY weight * value DESC, code), ',') || ']' AS explanation
  FROM described GROUP BY subject_type, subject_id
)
SELECT $run_id, z.subject_type, z.subject_id, coalesce(e.score, 0.0),
  -- rounded: a tie stays a tie whatever order an engine added the components in (Spark, docs/spark.md)
  row_number() OVER (PARTITION BY z.subject_type ORDER BY round(coalesce(e.score, 0.0), 12) DESC, z.subject_id),
  z.n, coalesce(e.n_flags, 0), coalesce(CAST(e.explanation AS VARCHAR), '[]')
FROM sizes z LEFT JOIN explained e ON e.subject_type = z.subject_type AND e.subject_id = z.subject_id
"""


def score_run(con: duckdb.DuckDBPyConnection, run_id: str, weights: dict[str, float]) -> ScoreResult:
    """Compute (again) the scores of a flags run into the `scores` table, in one transaction."""
    from aiqyn.indicators.runner import ensure_tables

    ensure_tables(con)
    _weights_table(con, run_id, weights)
    con.execute(MEMBERS)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM scores WHERE run_id = ?", [run_id])
        con.execute(SCORE, {"run_id": run_id})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    rows = con.execute("SELECT subject_type, count(*), count(*) FILTER (WHERE score > 0) FROM scores "
                       "WHERE run_id = ? GROUP BY subject_type", [run_id]).fetchall()
    return ScoreResult(run_id, {t: int(n) for t, n, _ in rows}, {t: int(k) for t, _, k in rows})


def weights_used(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The weights of the last scoring on this connection (for reports)."""
    return {code: float(w) for code, w in con.execute("SELECT code, weight FROM score_weights").fetchall()}


def explanation(text: str) -> list[dict[str, object]]:
    return list(json.loads(text))
