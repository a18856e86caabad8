"""Sensitivity of the regional ranking to its weights (OECD/JRC handbook, step 7): recompute the index under other
weightings and compare the ranks with the default ones.

Scenarios: equal weights; each component left out (weight 0); each component's weight doubled. For each, the
Spearman rank correlation with the default ranking and the mean and largest shift of a unit's rank, per level,
for one period. The index is recomputed from the same SQL definition (INDEX_SQL) into a temporary table; the
store's region_index is not touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from aiqyn.regions.index import FACTS_SQL, WEIGHTS, _prepare, index_sql


@dataclass
class Scenario:
    name: str
    spearman: float | None
    mean_shift: float
    max_shift: int
    units: int


def scenarios() -> list[tuple[str, dict[str, float]]]:
    out: list[tuple[str, dict[str, float]]] = [("equal weights", {k: 1.0 for k in WEIGHTS})]
    out += [(f"without {k}", {k: 0.0}) for k in WEIGHTS]
    out += [(f"{k} doubled", {k: 2 * WEIGHTS[k]}) for k in WEIGHTS]
    return out


def analyse(con: duckdb.DuckDBPyConnection, level: str, period: int, quarter: int = 0) -> list[Scenario]:
    """The scenarios' rank agreement with the default weights for a level and period."""
    _prepare(con)
    con.execute(f"CREATE OR REPLACE TEMP TABLE facts AS {FACTS_SQL}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE sens_base AS SELECT kato, rank FROM ({index_sql()}) "
                "WHERE level = ? AND period = ? AND quarter = ?", [level, period, quarter])
    out = []
    for name, weights in scenarios():
        row = con.execute(f"""
            WITH s AS (SELECT kato, rank FROM ({index_sql(weights)}) WHERE level = ? AND period = ? AND quarter = ?)
            SELECT CORR(CAST(b.rank AS DOUBLE), CAST(s.rank AS DOUBLE)), AVG(ABS(b.rank - s.rank)),
                   MAX(ABS(b.rank - s.rank)), COUNT(*)
            FROM sens_base AS b JOIN s ON s.kato = b.kato""", [level, period, quarter]).fetchall()[0]
        out.append(Scenario(name, row[0], float(row[1] or 0.0), int(row[2] or 0), int(row[3])))
    return out
