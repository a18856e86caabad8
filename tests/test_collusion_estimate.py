"""The optional tender columns of a bid table, `Category` (the kind of works) and `Estimate` (the pre-tender
estimate): read (or taken from the labelled files' `Contract_type` and `Pre-Tender Estimate (PTE)`), checked
with the file, line and column named, turned into features as documented, and never a way for a label into
the features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aiqyn.collusion.cli import default_model_path
from aiqyn.collusion.data import BidTableError, read_bids
from aiqyn.collusion.model import (
    CATEGORY,
    ESTIMATE_FEATURES,
    FEATURE_SETS,
    estimate_features,
    fit_calibrated,
    load,
    tender_features,
)
from conftest import run_cli, write

FULL = list(FEATURE_SETS["full"])


def works_table(path: Path, tenders: int, seed: int, label: bool = True, estimate: bool = True,
                category: bool = True) -> Path:
    """Tenders whose bids look alike whether rigged or not (the screens cannot tell them apart), but rigged
    ones come in above the buyer's estimate and are mostly road works: only Estimate and Category tell."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(tenders):
        rigged = t % 3 == 0
        n = int(rng.integers(3, 7))
        est = float(rng.lognormal(13, 1))
        level = rng.uniform(1.08, 1.2) if rigged else rng.uniform(0.8, 0.97)
        values = est * level * rng.lognormal(0, 0.05, n)
        kind = ("roads" if rng.random() < 0.85 else "bridges") if rigged else \
            ("buildings" if rng.random() < 0.85 else "roads")
        for k, v in enumerate(values):
            row = {"Tender": f"T{t}", "Bid_value": round(float(v), 2),
                   "Winner": int(k == int(np.argmin(values))), "Estimate": round(est, 2), "Category": kind}
            if label:
                row["Collusive_competitor"] = int(rigged)
            rows.append(row)
    df = pd.DataFrame(rows)
    if not estimate:
        df = df.drop(columns=["Estimate"])
    if not category:
        df = df.drop(columns=["Category"])
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return path


# -- reading -----------------------------------------------------------------------------------------------------
def test_category_and_estimate_are_read(tmp_path: Path) -> None:
    src = write(tmp_path / "b.csv", "Tender,Bid_value,Category,Estimate\nA,100,roads ,200\nA,120, roads,200\n"
                                    "B,5,,\nB,6,,\n")
    bids = read_bids(src).bids
    assert bids["category"].tolist() == ["roads", "roads", "", ""]
    assert bids["estimate"].iloc[:2].tolist() == [200.0, 200.0] and bids["estimate"].iloc[2:].isna().all()
    # Without the columns: unknown everywhere, as before they existed.
    plain = read_bids(write(tmp_path / "p.csv", "Tender,Bid_value\nA,100\n")).bids
    assert plain["category"].tolist() == [""] and plain["estimate"].isna().all()


def test_the_published_column_names_are_mapped(tmp_path: Path) -> None:
    """GR and See-Gaster's `Contract_type` (codes 1.0, 2.0, 3.0) is the category '1', '2', '3'; Brazil's
    `Pre-Tender Estimate (PTE)` the estimate. A canonical column wins over the published one."""
    src = write(tmp_path / "DB_Collusion_X_processed.csv",
                "Tender,Bid_value,Contract_type,Pre-Tender Estimate (PTE)\n1,100,1.0,150.5\n1,110,1.0,150.5\n"
                "2,90,3.0,80\n2,95,3.0,80\n3,7,2.5,9\n")
    bids = read_bids(src).bids
    assert bids["category"].tolist() == ["1", "1", "3", "3", "2.5"]
    assert bids["estimate"].tolist() == [150.5, 150.5, 80.0, 80.0, 9.0]
    both = write(tmp_path / "both.csv", "Tender,Bid_value,Category,Contract_type\nA,1,roads,1.0\n")
    assert read_bids(both).bids["category"].tolist() == ["roads"]


@pytest.mark.parametrize(("text", "expected"), [
    ("Tender,Bid_value,Estimate\nA,100,200\nA,120,about 200\n",
     "column 'Estimate': not a number (leave the cell empty when unknown): line 3: 'about 200'"),
    ("Tender,Bid_value,Estimate\nA,100,0\nA,120,0\n", "column 'Estimate': an estimate must be positive: line 2: '0'"),
    ("Tender,Bid_value,Estimate\nA,100,200\nA,120,210\n",
     "column 'Estimate': tender 'A' has more than one estimate (lines 2, 3)"),
    ("Tender,Bid_value,Pre-Tender Estimate (PTE)\nA,100,-1\n",
     "column 'Pre-Tender Estimate (PTE)': an estimate must be positive: line 2: '-1'"),
    ("Tender,Bid_value,Category\nA,100,roads\nB,1,x\nA,120,bridges\n",
     "column 'Category': tender 'A' has more than one category (lines 2, 4)"),
])
def test_bad_estimates_and_categories_are_named(tmp_path: Path, text: str, expected: str) -> None:
    src = write(tmp_path / "bad.csv", text)
    with pytest.raises(BidTableError, match=r"bad\.csv"):
        read_bids(src)
    res = run_cli(["collusion", "predict", src, "--out", tmp_path / "p.csv", "--model", default_model_path()])
    assert res.code == 2 and res.exception is None
    assert str(src) in res.stderr and expected in res.stderr
    assert not (tmp_path / "p.csv").exists()


# -- features ----------------------------------------------------------------------------------------------------
def test_estimate_and_category_features_on_a_hand_made_table(tmp_path: Path) -> None:
    src = write(tmp_path / "t.csv", "Tender,Bid_value,Winner,Estimate,Category\n"
                                    "A,90,0,100,roads\nA,80,1,100,roads\nA,130,0,100,roads\n"  # winner lowest
                                    "B,50,0,40,\nB,60,1,40,\n"  # all above the estimate, winner not lowest
                                    "C,10,1,,x\nC,12,0,,x\n")  # no estimate
    feats = tender_features(read_bids(src).bids).droplevel("dataset").droplevel("lot")
    a, b, c = feats.loc["A"], feats.loc["B"], feats.loc["C"]
    assert (a["E_LOW"], a["E_WIN"], a["E_MEAN"], a["E_BELOW"]) == pytest.approx((0.8, 0.8, 1.0, 2 / 3))
    assert (b["E_LOW"], b["E_WIN"], b["E_MEAN"], b["E_BELOW"]) == pytest.approx((1.25, 1.5, 1.375, 0.0))
    assert c[list(ESTIMATE_FEATURES)].isna().all()
    assert feats[CATEGORY].tolist() == ["roads", "", "x"]
    # A bid table built without the new columns (older callers): no estimate features, no category.
    bids = read_bids(src).bids.drop(columns=["estimate", "category"])
    assert estimate_features(bids).isna().all().all()
    assert (tender_features(bids)[CATEGORY] == "").all()


def test_the_full_model_learns_from_estimate_and_category(tmp_path: Path) -> None:
    """train/predict/evaluate read the columns; the model keeps its categories (a category it never saw is
    missing, not an error); without the columns the model uses none of the new features."""
    a = works_table(tmp_path / "train" / "Works.csv", 150, seed=1)
    model = tmp_path / "full.skops"
    res = run_cli(["collusion", "train", a, "--model", model, "--features", "full"])
    assert res.code == 0, res.output
    fitted = load(model)
    assert {"E_LOW", CATEGORY} <= set(fitted.columns)
    assert fitted.categories == ["bridges", "buildings", "roads"]
    new = works_table(tmp_path / "new" / "Works.csv", 60, seed=2, label=False)
    text = new.read_text().replace("bridges", "tunnels")
    new.write_text(text)
    out = tmp_path / "pred.csv"
    res = run_cli(["collusion", "predict", new, "--model", model, "--out", out])
    assert res.code == 0, res.output
    truth = np.array([t % 3 == 0 for t in range(60)], dtype=int)
    assert (pd.read_csv(out)["label"].to_numpy() == truth).mean() > 0.9
    res = run_cli(["collusion", "evaluate", a, "--features", "full", "--folds", "3"])
    assert res.code == 0, res.output

    plain = works_table(tmp_path / "plain" / "Works.csv", 150, seed=1, estimate=False, category=False)
    res = run_cli(["collusion", "train", plain, "--model", tmp_path / "plain.skops", "--features", "full"])
    assert res.code == 0, res.output
    used = set(load(tmp_path / "plain.skops").columns)
    assert not used & {*ESTIMATE_FEATURES, CATEGORY}


def test_estimate_and_category_use_no_label(tmp_path: Path) -> None:
    """Flip the labels of the test tenders: their features and the probabilities a model trained on the other
    tenders gives them stay the same (the estimate features come from the bids, the categories from the
    training rows)."""
    table = read_bids(works_table(tmp_path / "Works.csv", 120, seed=4), require_label=True)
    feats = tender_features(table.bids)
    test = feats.index[90:]
    flipped = table.bids.copy()
    rows = flipped.set_index(["dataset", "tender", "lot"]).index.isin(test)
    flipped.loc[rows, "label"] = 1 - flipped.loc[rows, "label"]
    feats_flipped = tender_features(flipped)
    features = [c for c in FULL if c in feats.columns]
    pd.testing.assert_frame_equal(feats[features], feats_flipped[features])
    assert (feats.loc[test, "label"] != feats_flipped.loc[test, "label"]).all()

    def probabilities(f: pd.DataFrame) -> np.ndarray:
        train = f.drop(index=test)
        y = train["label"].to_numpy().astype(int)
        fitted = fit_calibrated(train[features], y, train.index.get_level_values("tender").to_numpy(), seed=3)
        assert CATEGORY in fitted.columns and "E_LOW" in fitted.columns
        return fitted.proba(f.loc[test, features])

    np.testing.assert_array_equal(probabilities(feats), probabilities(feats_flipped))


def test_the_market_setting_is_chosen_inside_the_training_data(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """With several `MARKET_GRID` settings, `fit_calibrated` keeps the one with the best out-of-fold ROC AUC on
    the training tenders (trees that cannot split, 1,000 tenders a leaf, score every tender alike), and
    `evaluate` reports the setting each training fold chose."""
    from aiqyn.collusion import model as m

    stump = {"kind": "hgb", "max_leaf_nodes": 2, "learning_rate": 0.05, "max_iter": 1, "min_samples_leaf": 1000}
    monkeypatch.setattr(m, "MARKET_GRID", (stump, *m.MARKET_GRID, {"kind": "rf", "n_estimators": 20}))
    table = read_bids(works_table(tmp_path / "Works.csv", 120, seed=5), require_label=True)
    feats = tender_features(table.bids)
    features = [c for c in FULL if c in feats.columns]
    y = feats["label"].to_numpy().astype(int)
    fitted = fit_calibrated(feats[features], y, feats.index.get_level_values("tender").to_numpy(), seed=3)
    assert fitted.params is not None and fitted.params != stump
    rows = m.evaluate([table], features=FEATURE_SETS["full"], folds=3)
    assert len(rows[0]["trees"]) == 3 and stump not in rows[0]["trees"]


def test_a_forest_is_not_written_as_sql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiqyn.collusion import model as m
    from aiqyn.collusion.sqlmodel import raw_score_sql

    monkeypatch.setattr(m, "MARKET_GRID", ({"kind": "rf", "n_estimators": 10},))
    table = read_bids(works_table(tmp_path / "Works.csv", 60, seed=6), require_label=True)
    model = m.train([table], features=FEATURE_SETS["full"], seed=1)
    assert model.metrics["trees"] == {"kind": "rf", "n_estimators": 10}
    with pytest.raises(ValueError, match="only gradient-boosted trees can be written as SQL"):
        raw_score_sql(model, {c: c for c in model.columns})
