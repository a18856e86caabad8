"""The collusion model as one SQL expression, so that the R055 indicator scores every tender inside the database
(DuckDB, or Spark through the same translation as every other indicator) with no Python step.

A `model.CollusionModel` is gradient-boosted trees followed by an isotonic calibration; both are plain
arithmetic over the feature columns:

- each tree is a nested `CASE`: a node sends a NULL feature where scikit-learn sends a missing value
  (`missing_go_to_left`) and otherwise compares `x <= threshold`, as `TreePredictor` does on raw data;
- the raw score is the baseline plus the sum of the trees' leaves, in the trees' order (`raw_score_sql`);
  the probability is the logistic function of it (`logistic_sql`);
- the isotonic map is `numpy.interp` over its breakpoints (clipped at both ends), one `CASE` branch per
  segment (`calibration_sql`). The three are separate expressions, for three steps of a query: each
  reads the previous one's column, so no expression is repeated.

Numbers are written with 17 significant digits in exponent notation, a DOUBLE literal on both engines, so
that every threshold and leaf is the model's own float. `tests/test_collusion_sqlmodel.py` checks that the SQL
gives `CollusionModel.predict`'s probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from aiqyn.collusion.model import CollusionModel


def _num(v: float) -> str:
    if not np.isfinite(v):
        raise ValueError(f"cannot write {v} as an SQL number")
    return f"{float(v):.16e}"


def _tree(nodes: Any, i: int, cols: list[str]) -> str:
    node = nodes[i]
    if node["is_leaf"]:
        return _num(node["value"])
    if node["is_categorical"]:
        raise ValueError("categorical splits cannot be written as SQL")
    x = cols[int(node["feature_idx"])]
    left = _tree(nodes, int(node["left"]), cols)
    right = _tree(nodes, int(node["right"]), cols)
    missing = left if node["missing_go_to_left"] else right
    threshold = float(node["num_threshold"])
    if threshold == np.inf:  # every present value goes left
        return f"CASE WHEN {x} IS NULL THEN {missing} ELSE {left} END"
    return f"CASE WHEN {x} IS NULL THEN {missing} WHEN {x} <= {_num(threshold)} THEN {left} ELSE {right} END"


def raw_score_sql(model: CollusionModel, columns: Mapping[str, str]) -> str:
    """The trees' raw score (log-odds) as SQL; `columns` maps each model column to an SQL expression."""
    if not hasattr(model.trees, "_predictors"):
        raise ValueError(f"only gradient-boosted trees can be written as SQL, not {type(model.trees).__name__}")
    missing = [c for c in model.columns if c not in columns]
    if missing:
        raise ValueError(f"no SQL expression for the model's feature(s) {', '.join(missing)}")
    cols = [columns[c] for c in model.columns]
    baseline = float(np.ravel(model.trees._baseline_prediction)[0])
    terms = [_num(baseline)]
    for per_iteration in model.trees._predictors:
        (predictor,) = per_iteration  # binary classification: one tree per iteration
        terms.append(_tree(predictor.nodes, 0, cols))
    return "(" + "\n + ".join(terms) + ")"


def calibration_sql(model: CollusionModel, p: str) -> str:
    """The isotonic calibration of the uncalibrated probability `p` (an SQL column; `logistic(raw score)`)."""
    iso = model.calibrator
    xs = np.asarray(iso.X_thresholds_, dtype=float)
    ys = np.asarray(iso.y_thresholds_, dtype=float)
    if len(xs) == 1:
        return _num(ys[0])
    branches = [f"WHEN {p} <= {_num(xs[0])} THEN {_num(ys[0])}"]
    for j in range(1, len(xs)):
        x0, x1, y0, y1 = xs[j - 1], xs[j], ys[j - 1], ys[j]
        if x1 == x0:
            continue
        slope = (y1 - y0) / (x1 - x0)
        branches.append(f"WHEN {p} <= {_num(x1)} THEN {_num(y0)} + {_num(slope)} * ({p} - {_num(x0)})")
    return "CASE " + "\n  ".join(branches) + f" ELSE {_num(ys[-1])} END"


def logistic_sql(raw: str) -> str:
    """The uncalibrated probability of a raw score column (scikit-learn's `expit`)."""
    return f"1.0 / (1.0 + exp(-({raw})))"
