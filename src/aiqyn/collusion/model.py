"""The collusion model: a calibrated tender-level classifier over the screens.

Each tender (or lot) becomes one row of scale-free features: the screens of its bids (`screens.SCREENS`),
where the winner stands among them (when the winner is known) and what its bidders do together
(`pairs.PAIR_FEATURES`, when bidder ids are known). Features that a table cannot give are missing, and
the gradient-boosted trees handle missing values natively, so one model scores tables with or without
winners and bidder ids.

Training: scikit-learn's HistGradientBoostingClassifier, each data set weighing the same and, within it,
rigged and competitive tenders weighing the same (the share of rigged tenders goes from 13 % to 82 %
between data sets), with the direction of each screen fixed by theory (`DIRECTION`). Its out-of-fold
scores (5-fold, grouped by tender) calibrate it with isotonic regression, and the decision threshold
maximises balanced accuracy on those out-of-fold probabilities; the trees are then refitted on all the
data. The threshold is stored with the model, with the feature list, the SHA-256 of every training file,
the library versions and the figures. Feature sets: `FEATURE_SETS`. The within-market set (`full`) is
learnt without constraints by boosted trees or a random forest, whichever scores better out of fold on the
training tenders (`MARKET_GRID`).

Evaluation (`evaluate`) is honest about what it tests: within a data set, 5-fold cross-validation grouped
by tender (the lots of a tender never straddle train and test), threshold chosen inside each training
fold; across data sets, leave-one-dataset-out (train on the others, test on the one left out), which is
what matters for Kazakhstan, where no labelled cartel cases exist.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedGroupKFold
from threadpoolctl import threadpool_limits

from aiqyn.collusion.data import BidTable
from aiqyn.collusion.pairs import PAIR_FEATURES, TENDER, tender_pair_features
from aiqyn.collusion.screens import SCREENS, screens

WINNER_FEATURES: tuple[str, ...] = ("W_LOWEST", "W_RANK")
#: The shape of the bids beyond the screens, from each bid's distance to the lowest and to the mean
#: (`shape_features`), and the tender's size: LOG_MEAN is in the currency of the data set, so it helps
#: within a market and means nothing in another one.
SHAPE_FEATURES: tuple[str, ...] = ("LOG_MEAN", "REL_LOW_MEAN", "GAP_MAX", "GAP_CV", "NEAR5", "DISTINCT",
                                   "W_REL_MEAN")
#: What the training tenders say of the tender's bidders (`History`): the rigged share of the tenders
#: each bidder took part in, smoothed towards the training share, computed on training tenders only.
HISTORY_FEATURES: tuple[str, ...] = ("H_MAX", "H_MEAN", "H_SEEN", "H_WIN")
#: The bids against the buyer's pre-tender estimate (`estimate_features`; the table's `Estimate` column):
#: scale-free, NaN when the estimate is unknown.
ESTIMATE_FEATURES: tuple[str, ...] = ("E_LOW", "E_WIN", "E_MEAN", "E_BELOW")
#: The kind of works (the table's `Category` column), a categorical feature: categories are the training
#: data's own (a category unseen in training, or none, is missing).
CATEGORY = "CATEGORY"
#: At most this many categories, the most frequent in training (the trees bin a category in one of 255 bins).
MAX_CATEGORIES = 250
#: Every feature the model can use; a model records the ones it was trained on.
ALL_FEATURES: tuple[str, ...] = (*SCREENS, *WINNER_FEATURES, *PAIR_FEATURES)
#: Named feature sets: `screens` (the tender's bids and its winner) transfers better between countries;
#: `all` adds what firms do together across tenders, which needs bidder ids and helps within a country;
#: `full` adds the bids' shape, the tender's size, the bidders' history and, where the table has them, the
#: bids against the pre-tender estimate and the kind of works, for a model used within the market it was
#: trained on (without the monotonic constraints, with the learner chosen from `MARKET_GRID`).
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "screens": (*SCREENS, *WINNER_FEATURES), "all": ALL_FEATURES,
    "full": (*ALL_FEATURES, *SHAPE_FEATURES, *HISTORY_FEATURES, *ESTIMATE_FEATURES, CATEGORY)}
#: Features that select the within-market learner (`MARKET_GRID`, no monotonic constraints; `_trees`).
MARKET_FEATURES: frozenset[str] = frozenset((*SHAPE_FEATURES, *HISTORY_FEATURES, *ESTIMATE_FEATURES, CATEGORY))
DEFAULT_FEATURES: tuple[str, ...] = FEATURE_SETS["screens"]
#: The direction the theory gives each feature (+1: higher means more likely rigged, -1: lower does; 0:
#: no constraint), enforced on the trees (monotonic constraints): cover bids sit close together (low CV,
#: SPD), the designated winner far below them (high DIFFP, RD), bids pile up (high kurtosis) with a low
#: outlier (negative skew); identical prices, fixed gaps, rotation and frequent co-bidding point to a
#: ring. The constraints keep a data set's quirks from reversing a screen's meaning in another country.
DIRECTION: dict[str, int] = {"CV": -1, "SPD": -1, "DIFFP": 1, "RD": 1, "RDNOR": 1, "RDALT": 1, "KURT": 1,
                             "SKEW": -1, "TIES": 1, "P_JACCARD": 1, "P_ROTATION": 1, "P_FIXGAP": 1,
                             "C_SHARE": 1, "C_CV": -1, "C_SPD": -1, "C_DIFFP": 1}
FORMAT = "aiqyn-collusion-model/1"
METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "roc_auc")


def shape_features(bids: pd.DataFrame) -> pd.DataFrame:
    """`SHAPE_FEATURES` of each tender (index dataset, tender, lot), vectorised: LOG_MEAN log of the mean bid;
    REL_LOW_MEAN the mean of b / b(1) - 1 (how far the bids sit above the lowest); GAP_MAX and GAP_CV the
    largest gap between consecutive sorted bids over b(1) and the gaps' coefficient of variation (even or
    uneven steps); NEAR5 the share of bids within 5 % of the lowest; DISTINCT the share of distinct amounts;
    W_REL_MEAN the winner's bid over the mean, minus 1 (NaN when the winner is unknown)."""
    b = bids[[*TENDER, "amount", "winner"]].sort_values([*TENDER, "amount"], kind="mergesort")
    g = b.groupby(TENDER, sort=True)["amount"]
    low, mean = g.transform("min"), g.transform("mean")
    b = b.assign(rel_low=b["amount"] / low - 1, rel_mean=b["amount"] / mean - 1,
                 gap=g.diff() / low, near=(b["amount"] / low - 1 <= 0.05).astype(float))
    t = b.groupby(TENDER, sort=True)
    out = pd.DataFrame(index=g.size().index)
    out["LOG_MEAN"] = np.log(g.mean())
    out["REL_LOW_MEAN"] = t["rel_low"].mean()
    out["GAP_MAX"] = t["gap"].max()
    gap_mean = t["gap"].mean()
    out["GAP_CV"] = t["gap"].std() / gap_mean.where(gap_mean > 0)
    out["NEAR5"] = t["near"].mean()
    out["DISTINCT"] = g.nunique() / g.size()
    out["W_REL_MEAN"] = b[b["winner"] == 1].groupby(TENDER)["rel_mean"].min()
    return out.replace([np.inf, -np.inf], np.nan)


def estimate_features(bids: pd.DataFrame) -> pd.DataFrame:
    """`ESTIMATE_FEATURES` of each tender (index dataset, tender, lot), from the tender's pre-tender estimate
    e (the bids' `estimate` column, one value per tender): E_LOW the lowest bid over e, E_WIN the winning bid
    over e (NaN when the winner is unknown), E_MEAN the mean bid over e, E_BELOW the share of the bids at or
    under e. All NaN when the estimate is unknown (no `estimate` column, or an empty cell)."""
    keys = bids[TENDER].drop_duplicates().set_index(TENDER).index
    out = pd.DataFrame(index=keys, columns=list(ESTIMATE_FEATURES), dtype="float64")
    if "estimate" not in bids.columns or bids["estimate"].isna().all():
        return out
    b = bids[bids["estimate"].notna()]
    b = b.assign(rel=b["amount"] / b["estimate"], below=(b["amount"] <= b["estimate"]).astype(float))
    g = b.groupby(TENDER)
    found = pd.DataFrame({"E_LOW": g["rel"].min(), "E_MEAN": g["rel"].mean(), "E_BELOW": g["below"].mean()})
    found["E_WIN"] = b[b["winner"] == 1].groupby(TENDER)["rel"].min()
    out.loc[found.index, list(ESTIMATE_FEATURES)] = found[list(ESTIMATE_FEATURES)].to_numpy()
    return out


def categories_of(x: pd.Series) -> list[str]:
    """The categories a model learns from training rows: the `MAX_CATEGORIES` most frequent non-empty ones,
    sorted."""
    seen = x[x.astype(str) != ""].astype(str).value_counts()
    return sorted(seen.index[:MAX_CATEGORIES])


def encode(x: pd.DataFrame, categories: Sequence[str]) -> pd.DataFrame:
    """`x` with `CATEGORY` replaced by the index of its category in `categories` (a float; NaN when the
    tender has no category or one not in `categories`), as the trees read it."""
    if CATEGORY not in x.columns:
        return x
    codes = {c: float(i) for i, c in enumerate(categories)}
    out = x.copy()
    out[CATEGORY] = x[CATEGORY].astype(str).map(codes).astype("float64")
    return out


@dataclass
class History:
    """Per (dataset, bidder): the smoothed rigged share of the training tenders it bid in,
    (rigged + 2 * prior) / (tenders + 2), prior the training share of rigged tenders."""

    rates: dict[str, float]
    prior: float

    @staticmethod
    def fit(bids: pd.DataFrame) -> History:
        b = bids[(bids["bidder"].astype(str) != "") & bids["label"].notna()]
        if b.empty:
            return History({}, float("nan"))
        per_tender = b.groupby([*TENDER, "bidder"])["label"].max().reset_index()
        prior = float(b.groupby(TENDER)["label"].max().mean())
        per = per_tender.groupby(["dataset", "bidder"])["label"].agg(["sum", "count"])
        rate = (per["sum"] + 2 * prior) / (per["count"] + 2)
        return History({f"{d}\x1f{k}": float(v) for (d, k), v in rate.items()}, prior)

    def features(self, bids: pd.DataFrame) -> pd.DataFrame:
        """`HISTORY_FEATURES` of each tender: the highest and mean rate of its bidders (unseen bidders at the
        prior), the share of its bidders seen in training, the winner's rate; NaN without bidder ids."""
        keys = bids[TENDER].drop_duplicates().set_index(TENDER).index
        out = pd.DataFrame(index=keys, columns=list(HISTORY_FEATURES), dtype="float64")
        b = bids[bids["bidder"].astype(str) != ""]
        if b.empty or not self.rates:
            return out
        key = b["dataset"].astype(str) + "\x1f" + b["bidder"].astype(str)
        rate = key.map(self.rates)
        b = b.assign(seen=rate.notna().astype(float), rate=rate.fillna(self.prior))
        t = b.groupby(TENDER)
        found = pd.DataFrame({"H_MAX": t["rate"].max(), "H_MEAN": t["rate"].mean(), "H_SEEN": t["seen"].mean()})
        found["H_WIN"] = b[b["winner"] == 1].groupby(TENDER)["rate"].max()
        out.loc[found.index, list(HISTORY_FEATURES)] = found[list(HISTORY_FEATURES)].to_numpy()
        return out


def with_history(feats: pd.DataFrame, bids: pd.DataFrame, train: pd.Index, apply: pd.Index, seed: int,
                 folds: int = 5) -> pd.DataFrame:
    """`feats` with `HISTORY_FEATURES` filled from the labels of the `train` tenders only: for the rows of
    `apply` (tenders not trained on) from all of them; for the `train` rows out of fold (k folds over the
    training tenders), so that no tender's own label enters its features."""
    out = feats.copy()
    for c in HISTORY_FEATURES:
        out[c] = np.nan
    keyed = bids.set_index(TENDER)

    def fill(rows: pd.Index, source: pd.Index) -> None:
        hist = History.fit(keyed.loc[keyed.index.isin(source)].reset_index())
        h = hist.features(keyed.loc[keyed.index.isin(rows)].reset_index())
        out.loc[h.index, list(HISTORY_FEATURES)] = h.to_numpy()

    fill(apply, train)
    k = min(folds, len(train))
    if k >= 2:
        order = np.random.default_rng(seed).permutation(len(train))
        for part in np.array_split(order, k):
            inner = train[np.sort(part)]
            fill(inner, train.difference(inner))
    return out


def tender_features(bids: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, tender, lot): `ALL_FEATURES`, `SHAPE_FEATURES`, `ESTIMATE_FEATURES` and
    `CATEGORY` (text, '' when unknown), plus `label` (NaN when unlabelled). `HISTORY_FEATURES` depend on
    training labels and are added by `with_history`."""
    sc = screens(bids, key=tuple(TENDER))
    out = sc.copy()
    b = bids.assign(rank=bids.groupby(TENDER)["amount"].rank(method="min"))
    win = b[b["winner"] == 1].groupby(TENDER).agg(w_amount=("amount", "min"), w_rank=("rank", "min"))
    known = b.groupby(TENDER)["winner"].apply(lambda w: w.notna().all() and (w == 1).any())
    w = win.reindex(out.index)
    known = known.reindex(out.index).fillna(False).astype(bool)
    lowest = b.groupby(TENDER)["amount"].min().reindex(out.index)
    out["W_LOWEST"] = np.where(known, (w["w_amount"] <= lowest).astype(float), np.nan)
    n = out["N"].astype(float)
    out["W_RANK"] = np.where(known & (n > 1), (w["w_rank"] - 1) / (n - 1).where(n > 1), np.nan)
    out = out.join(tender_pair_features(bids)).join(shape_features(bids)).join(estimate_features(bids))
    category = bids["category"] if "category" in bids.columns else pd.Series("", index=bids.index)
    out[CATEGORY] = category.astype(str).groupby([bids[c] for c in TENDER]).first().reindex(out.index).fillna("")
    for c in HISTORY_FEATURES:
        out[c] = np.nan
    out["label"] = bids.groupby(TENDER)["label"].max().reindex(out.index)
    return out


#: Settings of the within-market trees (`full`) tried inside every training set: `fit_calibrated` keeps the
#: one whose out-of-fold scores on the training tenders have the highest ROC AUC (so in `evaluate` the choice
#: is nested in each training fold and never sees the test fold).
#: A setting is the learner's `kind` and its parameters: "hgb" gradient-boosted trees (no constraints) or "rf"
#: a random forest (docs/collusion.md, "What lifted what", for the settings tried).
MARKET_GRID: tuple[dict[str, Any], ...] = (
    {"kind": "hgb", "max_leaf_nodes": 4, "learning_rate": 0.05, "max_iter": 200, "min_samples_leaf": 5},
    {"kind": "rf", "n_estimators": 300, "min_samples_leaf": 2, "max_features": 0.5},
)


def _market(columns: Sequence[str]) -> bool:
    return any(c in MARKET_FEATURES for c in columns)


def _market_learner(seed: int, columns: Sequence[str], params: dict[str, Any]) -> Any:
    """The within-market learner of one `MARKET_GRID` setting. The random forest reads the category's code as
    a number (its splits group codes by order); the boosted trees as a category."""
    kind = params.get("kind", "hgb")
    own = {k: v for k, v in params.items() if k != "kind"}
    if kind == "hgb":
        return HistGradientBoostingClassifier(
            **{"l2_regularization": 1.0, **own},
            categorical_features=[c == CATEGORY for c in columns] if CATEGORY in columns else None,
            random_state=seed)
    if kind == "rf":
        return RandomForestClassifier(**{"n_estimators": 300, "n_jobs": 1, **own}, random_state=seed)
    raise ValueError(f"unknown learner {kind!r}")


def _trees(seed: int, columns: Sequence[str], params: dict[str, Any] | None = None) -> Any:
    if _market(columns):
        # The within-market model (`full`): deeper trees (`MARKET_GRID`), no constraints; a market's own
        # interactions (its sizes, its firms, its kinds of works) are what it must learn.
        return _market_learner(seed, columns, params or MARKET_GRID[0])
    # Stumps (two leaves): an additive model, one monotone step function per feature. Deeper trees learn
    # interactions peculiar to one country and transfer worse (docs/collusion.md).
    return HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=200, max_leaf_nodes=2, min_samples_leaf=20, l2_regularization=1.0,
        monotonic_cst=[DIRECTION.get(c, 0) for c in columns], random_state=seed)


def weights(index: pd.Index, y: np.ndarray) -> np.ndarray:
    """Each dataset weighs the same, and within it rigged and competitive tenders weigh the same: the big
    files (GR and See-Gaster, Ohio) must not teach their own quirks to a model meant for other countries."""
    key = pd.DataFrame({"dataset": index.get_level_values("dataset"), "y": y})
    per_class = key.groupby(["dataset", "y"])["y"].transform("size").to_numpy()
    w = 1.0 / per_class
    return np.asarray(w / w.mean())


def _varying(x: pd.DataFrame) -> list[str]:
    return [c for c in x.columns if x[c].nunique() > 1]


def _fit(x: pd.DataFrame, y: np.ndarray, seed: int, params: dict[str, Any] | None = None,
         ) -> tuple[Any, list[str], list[str]]:
    """Trees over the columns that vary in `x` (a feature the training tables cannot give is all missing,
    and trees cannot bin a column without values), and the categories learnt (`categories_of`)."""
    categories = categories_of(x[CATEGORY]) if CATEGORY in x.columns else []
    x = encode(x, categories)
    columns = _varying(x)
    if not columns:
        raise ValueError("no feature varies in the training data")
    # One thread: OpenMP over two busy cores makes these small fits a hundred times slower, not faster.
    with threadpool_limits(1):
        trees = _trees(seed, columns, params).fit(x[columns], y, sample_weight=weights(x.index, y))
    return trees, columns, categories


def _raw(trees: Any, columns: Sequence[str], x: pd.DataFrame,
         categories: Sequence[str] = ()) -> np.ndarray:
    x = encode(x[list(columns)], categories)
    with threadpool_limits(1):
        return np.asarray(trees.predict_proba(x)[:, 1])


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The probability cut that maximises balanced accuracy (midpoint between neighbouring scores)."""
    cuts = np.unique(p)
    if len(cuts) < 2:
        return 0.5
    mids = (cuts[:-1] + cuts[1:]) / 2
    pos, neg = p[y == 1], p[y == 0]
    tpr = np.array([(pos >= c).mean() for c in mids])
    tnr = np.array([(neg < c).mean() for c in mids])
    return float(mids[int(np.argmax(tpr + tnr))])


@dataclass
class Fitted:
    """Trees fitted on all the training tenders, the isotonic map from their scores to probabilities
    (fitted on out-of-fold scores), and the threshold (chosen on the out-of-fold probabilities)."""

    trees: Any  # HistGradientBoostingClassifier; `full` models: also RandomForestClassifier
    columns: list[str]
    calibrator: IsotonicRegression
    threshold: float
    oof: np.ndarray
    categories: list[str] = field(default_factory=list)
    #: The `MARKET_GRID` setting kept (None: the fixed learner of the other feature sets).
    params: dict[str, Any] | None = None

    def proba(self, x: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.calibrator.predict(_raw(self.trees, self.columns, x, self.categories)))


def fit_calibrated(x: pd.DataFrame, y: np.ndarray, groups: np.ndarray, seed: int, folds: int = 5) -> Fitted:
    """Out-of-fold scores (k-fold grouped by tender) -> isotonic calibration and threshold; then the trees
    again on everything. The probabilities are calibrated to the training data's share of rigged tenders.
    The within-market trees try every `MARKET_GRID` setting on the same folds and keep the one with the best
    out-of-fold ROC AUC (the first on a tie)."""
    k = max(2, min(folds, int(np.bincount(y, minlength=2).min())))
    splits = list(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(x, y, groups))
    varying = _varying(encode(x, categories_of(x[CATEGORY]) if CATEGORY in x.columns else []))
    grid: tuple[dict[str, Any] | None, ...] = MARKET_GRID if _market(varying) else (None,)
    best: tuple[float, np.ndarray, dict[str, Any] | None] | None = None
    for params in grid:
        raw = np.full(len(y), np.nan)
        for tr, te in splits:
            trees, columns, categories = _fit(x.iloc[tr], y[tr], seed, params)
            raw[te] = _raw(trees, columns, x.iloc[te], categories)
        auc = float(roc_auc_score(y, raw)) if len(grid) > 1 else 0.0
        if best is None or auc > best[0]:
            best = (auc, raw, params)
    assert best is not None
    _, raw, params = best
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
    oof = np.asarray(iso.predict(raw))
    trees, columns, categories = _fit(x, y, seed, params)
    return Fitted(trees, columns, iso, best_threshold(y, oof), oof, categories, params)


@dataclass
class CollusionModel:
    """A fitted classifier with everything needed to use and to audit it."""

    trees: Any  # HistGradientBoostingClassifier; `full` models: also RandomForestClassifier
    columns: list[str]
    calibrator: IsotonicRegression
    features: list[str]
    threshold: float
    seed: int
    training: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    format: str = FORMAT
    #: The bidders' history (`History.rates`, `History.prior`) when the model uses `HISTORY_FEATURES`.
    history: dict[str, Any] = field(default_factory=dict)
    #: The categories of works learnt (`CATEGORY`), in the order of their codes in the trees.
    categories: list[str] = field(default_factory=list)

    def features_of(self, bids: pd.DataFrame) -> pd.DataFrame:
        """`tender_features` of `bids`, with the history features when the model uses them (bidders
        known by the model's training data: the same dataset name and bidder id)."""
        feats = tender_features(bids)
        if any(f in HISTORY_FEATURES for f in self.features):
            hist = History(dict(self.history.get("rates", {})), float(self.history.get("prior", float("nan"))))
            h = hist.features(bids)
            feats[list(HISTORY_FEATURES)] = h.reindex(feats.index).to_numpy()
        return feats

    def predict(self, feats: pd.DataFrame) -> pd.DataFrame:
        """probability (calibrated) and label (1 = rigged at the model's threshold) of each tender row."""
        p = np.asarray(self.calibrator.predict(_raw(self.trees, self.columns, feats, self.categories)))
        return pd.DataFrame({"probability": p, "label": (p >= self.threshold).astype(int)}, index=feats.index)


def _xy(feats: pd.DataFrame, features: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    lab = feats[feats["label"].notna()]
    return lab[list(features)], lab["label"].to_numpy().astype(int)


def train(tables: list[BidTable], features: Sequence[str] = DEFAULT_FEATURES, seed: int = 42) -> CollusionModel:
    """Fit the calibrated classifier on all tenders of `tables`, choosing the threshold out of fold."""
    feats = pd.concat([tender_features(t.bids) for t in tables])
    bids = pd.concat([t.bids for t in tables])
    history: dict[str, Any] = {}
    if any(f in HISTORY_FEATURES for f in features):
        labelled = feats.index[feats["label"].notna()]
        feats = with_history(feats, bids, labelled, feats.index[:0], seed)
        hist = History.fit(bids)
        history = {"rates": hist.rates, "prior": hist.prior}
    x, y = _xy(feats, features)
    if len(np.unique(y)) < 2:
        raise ValueError("the training data must hold both rigged (1) and competitive (0) tenders")
    f = fit_calibrated(x, y, _groups(feats.loc[x.index]), seed)
    training = [{"file": t.path.name, "dataset": t.name, "sha256": t.sha256, "bids": len(t.bids),
                 "tenders": int(t.bids.groupby(["tender", "lot"]).ngroups),
                 "rigged": int(t.bids.groupby(["tender", "lot"])["label"].max().sum())} for t in tables]
    return CollusionModel(
        trees=f.trees, columns=f.columns, calibrator=f.calibrator, features=list(features),
        threshold=f.threshold, seed=seed, categories=f.categories,
        training=training, history=history,
        metrics={"out_of_fold": scores(y, f.oof, f.threshold), **({"trees": f.params} if f.params else {})},
        versions={"format": FORMAT, "scikit-learn": sklearn.__version__, "numpy": np.__version__,
                  "pandas": pd.__version__, "python": platform.python_version()})


def _groups(feats: pd.DataFrame) -> np.ndarray:
    idx = feats.index.to_frame(index=False)
    return (idx["dataset"].astype(str) + "\x1f" + idx["tender"].astype(str)).to_numpy()


def scores(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    pred = (p >= threshold).astype(int)
    auc = roc_auc_score(y, p) if len(np.unique(y)) == 2 else float("nan")
    return {
        "tenders": len(y), "rigged": int(y.sum()),
        "accuracy": float(accuracy_score(y, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "roc_auc": float(auc),
    }



def evaluate(tables: list[BidTable], features: Sequence[str] = DEFAULT_FEATURES, seed: int = 42,
             folds: int = 5, cross_country: bool = True) -> list[dict[str, Any]]:
    """Rows of figures: for each dataset, k-fold cross-validation within it grouped by tender ("within"),
    and, with two or more datasets, trained on all the others and tested on it ("cross-country").
    Calibration and threshold are always chosen on the training part only."""
    per = {t.name: tender_features(t.bids) for t in tables}
    bids_of = {t.name: t.bids for t in tables}
    hist = any(f in HISTORY_FEATURES for f in features)
    rows: list[dict[str, Any]] = []
    for name, feats in per.items():
        x, y = _xy(feats, features)
        groups = _groups(feats.loc[x.index])
        k = min(folds, int(np.bincount(y, minlength=2).min()))
        if k < 2:
            continue
        p = np.full(len(y), np.nan)
        pred = np.zeros(len(y), dtype=int)
        chosen: list[dict[str, Any]] = []
        for tr, te in StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(x, y, groups):
            if hist:  # the bidders' history from the training folds' labels only
                x = with_history(feats.loc[x.index], bids_of[name], x.index[tr], x.index[te], seed)[list(features)]
            f = fit_calibrated(x.iloc[tr], y[tr], groups[tr], seed)
            p[te] = f.proba(x.iloc[te])
            pred[te] = (p[te] >= f.threshold).astype(int)
            chosen += [f.params] if f.params else []
        rows.append({"setting": "within", "test": name, "train": name, "folds": k, **_scores_of(y, p, pred),
                     **({"trees": chosen} if chosen else {})})
    if cross_country and len(per) > 1:
        for name, test in per.items():
            others = [n for n in per if n != name]
            train_feats = pd.concat([per[n] for n in others])
            if hist:
                train_bids = pd.concat([bids_of[n] for n in others])
                train_feats = with_history(train_feats, train_bids, train_feats.index[train_feats["label"].notna()],
                                           train_feats.index[:0], seed)
                hfit = History.fit(train_bids)
                test = test.copy()
                test[list(HISTORY_FEATURES)] = hfit.features(bids_of[name]).reindex(test.index).to_numpy()
            x, y = _xy(train_feats, features)
            xt, yt = _xy(test, features)
            if len(np.unique(y)) < 2 or len(yt) == 0:
                continue
            f = fit_calibrated(x, y, _groups(train_feats.loc[x.index]), seed)
            rows.append({"setting": "cross-country", "test": name, "train": "+".join(others), "folds": 0,
                         **scores(yt, f.proba(xt), f.threshold), **({"trees": [f.params]} if f.params else {})})
    return rows


def _scores_of(y: np.ndarray, p: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Scores of hard predictions made at each fold's own threshold; ROC AUC from the probabilities."""
    s = scores(y, pred.astype(float), 0.5)
    s["roc_auc"] = float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")
    return s


def save(model: CollusionModel, path: Path) -> None:
    """Write the model with skops (no pickle: loading a model file runs no code beyond trusted types)."""
    import skops.io as sio

    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump({"format": model.format, "trees": model.trees, "columns": model.columns,
              "calibrator": model.calibrator, "features": model.features,
              "threshold": model.threshold, "seed": model.seed, "training": model.training,
              "metrics": model.metrics, "versions": model.versions, "history": model.history,
              "categories": model.categories}, path)


def load(path: Path) -> CollusionModel:
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    # functools.partial: the trees' preprocessing of a categorical feature is a partial of
    # sklearn.utils.validation.check_array; the function inside a partial is listed (and checked) on its own.
    allowed = [t for t in untrusted if t.startswith(("sklearn.", "numpy.", "builtins.")) or t == "functools.partial"]
    unknown = sorted(set(untrusted) - set(allowed))
    if unknown:
        raise ValueError(f"{path}: the model file holds unexpected types {', '.join(unknown)}; not loading it")
    d = sio.load(path, trusted=allowed)
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise ValueError(f"{path}: not an Aiqyn collusion model (format {FORMAT})")
    return CollusionModel(trees=d["trees"], columns=list(d["columns"]), calibrator=d["calibrator"],
                          features=list(d["features"]),
                          threshold=float(d["threshold"]), seed=int(d["seed"]), training=list(d["training"]),
                          metrics=dict(d["metrics"]),
                          versions=dict(d["versions"]), history=dict(d.get("history") or {}),
                          categories=[str(c) for c in d.get("categories") or []])
