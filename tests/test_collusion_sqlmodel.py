"""The collusion model as SQL (`aiqyn.collusion.sqlmodel`, what R055 runs in the database) gives the
probabilities of `CollusionModel.predict`, and the model-only features (bid shape, bidders' history) are computed
as documented, the history from training labels only."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from aiqyn.collusion.cli import default_model_path
from aiqyn.collusion.data import read_bids
from aiqyn.collusion.model import (
    HISTORY_FEATURES,
    History,
    load,
    shape_features,
    tender_features,
    train,
    with_history,
)
from aiqyn.collusion.screens import SCREENS
from aiqyn.collusion.sqlmodel import calibration_sql, logistic_sql, raw_score_sql
from test_collusion_cli import bid_table


def _sql_probability(model: object, feats: pd.DataFrame) -> np.ndarray:
    con = duckdb.connect()
    cols = list(model.columns)  # type: ignore[attr-defined]
    x = feats[cols].reset_index(drop=True).astype("float64")
    x["row_"] = np.arange(len(x))
    con.register("x_df", x)
    mapping = {c: f'x."{c}"' for c in cols}
    sql = f"""
    WITH x AS (SELECT * FROM x_df),
    r AS (SELECT x.row_, {raw_score_sql(model, mapping)} AS raw FROM x),
    q AS (SELECT row_, {logistic_sql("raw")} AS p FROM r)
    SELECT row_, {calibration_sql(model, "p")} AS probability FROM q ORDER BY row_"""
    return con.execute(sql).df()["probability"].to_numpy()


def test_shipped_model_as_sql_gives_its_probabilities(tmp_path: Path) -> None:
    model = load(default_model_path())
    table = read_bids(bid_table(tmp_path / "Alpha.csv", 120, seed=3), require_label=False)
    feats = tender_features(table.bids)
    # Undefined screens (NULL in SQL) must follow the trees' missing-value branches too.
    assert feats["KURT"].isna().any()
    expected = model.predict(feats)["probability"].to_numpy()
    got = _sql_probability(model, feats)
    assert len(np.unique(expected)) > 5
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_a_deeper_model_as_sql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiqyn.collusion import model as m

    tables = [read_bids(bid_table(tmp_path / f"{n}.csv", 90, seed=s), require_label=True)
              for n, s in (("Alpha", 1), ("Beta", 2))]
    # A shape feature selects the within-market learner: its boosted trees (more than two leaves, no
    # constraints); a random forest, the grid's other setting, cannot be written as SQL.
    monkeypatch.setattr(m, "MARKET_GRID", tuple(g for g in m.MARKET_GRID if g["kind"] == "hgb"))
    model = train(tables, features=(*SCREENS, "W_LOWEST", "W_RANK", "REL_LOW_MEAN", "GAP_CV"), seed=5)
    assert max(len(t[0].nodes) for t in model.trees._predictors) > 3
    feats = tender_features(tables[0].bids)
    np.testing.assert_allclose(_sql_probability(model, feats), model.predict(feats)["probability"].to_numpy(),
                               rtol=1e-9, atol=1e-12)


def test_shape_features_by_hand() -> None:
    bids = pd.DataFrame({"dataset": "d", "tender": ["t"] * 4, "lot": "", "amount": [100.0, 110.0, 104.0, 110.0],
                         "winner": [1.0, 0.0, 0.0, 0.0], "bidder": "", "label": np.nan})
    f = shape_features(bids).iloc[0]
    assert f["LOG_MEAN"] == pytest.approx(np.log(106.0))
    assert f["REL_LOW_MEAN"] == pytest.approx((0 + 0.04 + 0.10 + 0.10) / 4)
    assert f["GAP_MAX"] == pytest.approx(0.06)  # gaps 0.04, 0.06, 0 of the lowest bid
    assert f["GAP_CV"] == pytest.approx(np.std([0.04, 0.06, 0.0], ddof=1) / np.mean([0.04, 0.06, 0.0]))
    assert f["NEAR5"] == pytest.approx(0.5) and f["DISTINCT"] == pytest.approx(0.75)
    assert f["W_REL_MEAN"] == pytest.approx(100 / 106 - 1)


def test_history_uses_the_training_labels_only(tmp_path: Path) -> None:
    table = read_bids(bid_table(tmp_path / "Alpha.csv", 90, seed=4), require_label=True)
    feats = tender_features(table.bids)
    keys = feats.index
    train_keys, test_keys = keys[:60], keys[60:]
    a = with_history(feats, table.bids, train_keys, test_keys, seed=1)
    # Flipping the labels of the test tenders changes nothing in any row's history features.
    flipped = table.bids.copy()
    test_rows = flipped.set_index(["dataset", "tender", "lot"]).index.isin(test_keys)
    flipped.loc[test_rows, "label"] = 1 - flipped.loc[test_rows, "label"]
    b = with_history(feats, flipped, train_keys, test_keys, seed=1)
    pd.testing.assert_frame_equal(a[list(HISTORY_FEATURES)], b[list(HISTORY_FEATURES)])
    # The ring's firms (R*) carry a high rate, the competitors' a low one.
    hist = History.fit(table.bids)
    ring = [v for k, v in hist.rates.items() if k.split("\x1f")[1].startswith("R")]
    other = [v for k, v in hist.rates.items() if k.split("\x1f")[1].startswith("F")]
    assert min(ring) > 0.5 > max(other)
    assert a.loc[test_keys, "H_MAX"].notna().all()
