"""Bid-rigging screens: the formulas against the columns published with the labelled data (every dataset),
against scipy on random tenders, and the store's SQL screens against the pandas screens on a real store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from aiqyn.collusion.screens import SCREENS, screens, store_bids, store_screens
from aiqyn.store.db import connect
from conftest import REPO_ROOT, ingest, jsonl, make_release, write

LABELLED = REPO_ROOT.parent / "shared" / "data" / "bid-rigging-collusion-labeled"
DATASETS = ["America", "Brazil", "Switzerland_GR_and_See-Gaster", "Switzerland_Ticino"]
needs_data = pytest.mark.skipif(
    not LABELLED.is_dir(),
    reason=f"labelled collusion data not found at {LABELLED} (García Rodríguez et al. 2022, see its SOURCE.md)")

# Share of tenders (with two distinct lowest bids) whose published DIFFP equals ours. The published column
# is not consistent in every file: America's is 0 for most tenders with two or more different bids and
# equals SPD for others; in GR and See-Gaster 144 tenders carry the gap to the third bid, 0 or SPD. Brazil
# and Ticino agree everywhere but one Ticino tender. Measured, then written down: a change of our formula
# drops these.
DIFFP_AGREEMENT = {"America": 0.235, "Brazil": 1.0, "Switzerland_GR_and_See-Gaster": 0.965,
                   "Switzerland_Ticino": 0.993}


def _published(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = pd.read_csv(LABELLED / f"DB_Collusion_{name}_processed.csv")
    bids = pd.DataFrame({"tender": df["Tender"].astype(str), "lot": "", "amount": df["Bid_value"]})
    ours = screens(bids).droplevel("lot")
    pub = df.assign(tender=df["Tender"].astype(str)).groupby("tender").first().loc[ours.index]
    return ours, pub


def _agree(ours: pd.Series, published: pd.Series) -> np.ndarray:
    # The files round to 4 decimals and write 0 for an undefined screen.
    return np.isclose(ours.fillna(0.0).round(4), published, rtol=0, atol=1.01e-4)


@needs_data
@pytest.mark.parametrize("name", DATASETS)
def test_screens_equal_the_published_columns(name: str) -> None:
    ours, pub = _published(name)
    for col in ("CV", "SPD", "KURT", "SKEW", "KSTEST"):
        ok = _agree(ours[col], pub[col])
        bad = ours.index[~ok][:5].tolist()
        assert ok.all(), f"{name} {col}: {int((~ok).sum())} of {len(ok)} tenders differ, e.g. {bad}"
    # N counts the bids in the file; America's file lacks some bids of 127 tenders (Number_bids counts them).
    assert (ours["N"] <= pub["Number_bids"]).all()
    complete = ours["N"] == pub["Number_bids"]
    assert complete.mean() >= (0.966 if name == "America" else 1.0)

    df = pd.read_csv(LABELLED / f"DB_Collusion_{name}_processed.csv")
    lowest_two_differ = df.groupby(df["Tender"].astype(str))["Bid_value"].apply(
        lambda v: len(v) > 1 and np.sort(v.to_numpy())[0] < np.sort(v.to_numpy())[1]).loc[ours.index]
    ok = _agree(ours["DIFFP"], pub["DIFFP"])[lowest_two_differ.to_numpy()]
    assert ok.mean() >= DIFFP_AGREEMENT[name], f"{name} DIFFP agrees on {ok.mean():.4f}"


@needs_data
def test_published_rd_is_the_gap_over_the_spread_of_all_distinct_bids_but_the_highest() -> None:
    """The published RD is not Imhof's (whose denominator is the spread of the losing bids b(2..n)): on
    the Brazil file it is (u2 - u1) / sd(u1 .. u(k-1)) over the k distinct bids u, in every tender with
    three or more. We keep Imhof's definition and document the difference (docs/collusion.md)."""
    ours, pub = _published("Brazil")
    df = pd.read_csv(LABELLED / "DB_Collusion_Brazil_processed.csv")

    def published_rd(values: pd.Series) -> float:
        u = np.unique(values.to_numpy())
        return float((u[1] - u[0]) / u[:-1].std(ddof=1)) if len(u) >= 3 else np.nan

    theirs = df.groupby(df["Tender"].astype(str))["Bid_value"].apply(published_rd).loc[ours.index]
    defined = theirs.notna().to_numpy()
    assert defined.sum() == 100
    assert _agree(theirs[defined], pub["RD"][defined]).all()
    assert not _agree(ours["RD"][defined], pub["RD"][defined]).any()


def test_screens_match_scipy_and_the_definitions() -> None:
    rng = np.random.default_rng(7)
    rows = []
    for t in range(200):
        n = int(rng.integers(1, 15))
        rows += [(f"T{t}", "", float(v)) for v in rng.lognormal(12, 0.2, n).round(2)]
    rows += [("TIE", "", 100.0), ("TIE", "", 100.0), ("TIE", "", 130.0), ("TIE", "", 170.0)]
    bids = pd.DataFrame(rows, columns=["tender", "lot", "amount"])
    ours = screens(bids)
    assert list(ours.columns) == list(SCREENS)
    for (tender, _), b in bids.groupby(["tender", "lot"]):
        x = np.sort(b["amount"].to_numpy())
        n = len(x)
        s = ours.loc[(tender, "")]
        assert s["N"] == n
        assert s["SPD"] == pytest.approx((x[-1] - x[0]) / x[0])
        if n == 1:
            assert s[["CV", "DIFFP", "RD", "KURT", "SKEW", "KSTEST"]].isna().all()
            continue
        assert s["CV"] == pytest.approx(x.std(ddof=1) / x.mean())
        assert s["DIFFP"] == pytest.approx((x[1] - x[0]) / x[0])
        assert s["KSTEST"] == pytest.approx(stats.kstest(x, "uniform", args=(x[0], x[-1] - x[0])).statistic)
        assert s["RDNOR"] == pytest.approx((x[1] - x[0]) / ((x[-1] - x[0]) / (n - 1)))
        if n >= 3:
            assert s["RD"] == pytest.approx((x[1] - x[0]) / x[1:].std(ddof=1))
            assert s["SKEW"] == pytest.approx(stats.skew(x, bias=False))
            assert s["RDALT"] == pytest.approx((x[1] - x[0]) / ((x[-1] - x[1]) / (n - 2)))
        else:
            assert np.isnan(s["RD"]) and np.isnan(s["SKEW"])
        if n >= 4:
            assert s["KURT"] == pytest.approx(stats.kurtosis(x, bias=False))
        else:
            assert np.isnan(s["KURT"])
    assert ours.loc[("TIE", ""), "TIES"] == 0.5
    assert ours.loc[("TIE", ""), "DIFFP"] == 0.0


# -- the store: SQL screens == pandas screens on the same bids -------------------------------------------------
def _org(i: int) -> dict[str, str]:
    return {"id": f"KZ-BIN-0605400{i:05d}", "name": f"ТОО «Фирма {i}»"}


def _release(ocid: str, bids: list[tuple[float | None, str, str, list[str] | None]]) -> dict:
    """A release whose bids.details hold `bids` as (amount, currency, status, relatedLots)."""
    details = []
    for k, (amount, currency, status, lots) in enumerate(bids):
        bid: dict = {"id": f"bid-{k}", "status": status, "tenderers": [_org(k + 1)]}
        if amount is not None:
            bid["value"] = {"amount": amount, "currency": currency}
        if lots is not None:
            bid["relatedLots"] = lots
        details.append(bid)
    return make_release(ocid, bids={"details": details}, awards=None, contracts=None)


def test_store_sql_screens_equal_pandas_screens(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    releases = []
    for p in range(40):
        n = int(rng.integers(1, 9))
        values = rng.lognormal(14, 0.15, n).round(0)
        if p % 5 == 0 and n >= 2:
            values[1] = values[0]  # identical prices
        bids = [(float(v), "KZT", "valid", None) for v in values]
        releases.append(_release(f"ocds-test-{p:03d}", bids))
    # lots, a bid for two lots, a withdrawn and an invited bid, a bid without amount, a second currency
    releases.append(_release("ocds-test-lots", [
        (100.0, "KZT", "valid", ["L1"]), (120.0, "KZT", "valid", ["L1"]), (125.0, "KZT", "valid", ["L1", "L2"]),
        (300.0, "KZT", "valid", ["L2"]), (310.0, "KZT", "disqualified", ["L2"]), (50.0, "KZT", "withdrawn", ["L2"]),
        (None, "KZT", "valid", ["L2"]), (10.0, "USD", "valid", ["L2"]), (11.0, "USD", "valid", ["L2"]),
        (1.0, "KZT", "invited", ["L1"]),
    ]))
    data = write(tmp_path / "bids.jsonl", jsonl(releases))
    db = tmp_path / "store.duckdb"
    assert ingest([data], db).code == 0
    con = connect(db, read_only=True)
    try:
        sql = store_screens(con).set_index(["ocid", "lot", "currency"]).sort_index()
        raw = store_bids(con)
    finally:
        con.close()
    pd_screens = screens(raw, key=("ocid", "lot", "currency")).sort_index()
    assert len(sql) == len(pd_screens) == 40 + 3
    assert list(sql.index) == list(pd_screens.index)
    lots = sql.loc["ocds-test-lots"]
    assert lots.loc[("L1", "KZT"), "N"] == 3 and lots.loc[("L2", "KZT"), "N"] == 3 and lots.loc[("L2", "USD"), "N"] == 2
    assert sql["TIES"].gt(0).sum() >= 5
    for col in SCREENS:
        a, b = sql[col].astype(float).to_numpy(), pd_screens[col].astype(float).to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), col
        assert np.allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=1e-9, atol=1e-12), col


def test_store_screens_sql_transpiles_to_spark() -> None:
    sqlglot = pytest.importorskip("sqlglot")
    from aiqyn.collusion.screens import STORE_SCREENS_SQL

    spark = sqlglot.transpile(STORE_SCREENS_SQL, read="duckdb", write="spark",
                              unsupported_level=sqlglot.ErrorLevel.RAISE)[0]
    assert "STDDEV_SAMP" in spark and "EXPLODE(related_lots)" in spark and "SIZE(related_lots)" in spark
