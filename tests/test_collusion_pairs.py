"""Pairs and groups of firms: co-bidding, rotation of wins, identical and fixed-gap prices, rings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aiqyn.collusion.pairs import PAIR_FEATURES, coalition_screens, groups, pair_table, tender_pair_features


def _bids(rows: list[tuple[str, str, float, int]]) -> pd.DataFrame:
    return pd.DataFrame([("d", t, "", a, w, b) for t, b, a, w in rows],
                        columns=["dataset", "tender", "lot", "amount", "winner", "bidder"])


def ring_and_competitors() -> pd.DataFrame:
    """Firms A, B, C take turns winning six tenders; the covers are the winner's bid +5 % and +10 %
    (fixed gaps). X and Y compete in six other tenders with scattered prices, X always winning."""
    rows = []
    ring = ["A", "B", "C"]
    for t in range(6):
        base = 1000.0 + 37 * t
        order = ring[t % 3:] + ring[: t % 3]
        for k, firm in enumerate(order):
            rows.append((f"R{t}", firm, round(base * (1 + 0.05 * k), 6), int(k == 0)))
    rng = np.random.default_rng(3)
    for t in range(6):
        x, y = sorted(rng.uniform(900, 1200, 2))
        rows += [(f"C{t}", "X", x, 1), (f"C{t}", "Y", y, 0)]
    return _bids(rows)


def test_pair_table_measures_rotation_and_fixed_gaps() -> None:
    pairs = pair_table(ring_and_competitors()).set_index(["bidder_a", "bidder_b"])
    ab = pairs.loc[("A", "B")]
    assert ab["cobids"] == 6 and ab["jaccard"] == 1.0
    assert ab["wins_a"] == 2 and ab["wins_b"] == 2 and ab["rotation"] == 2 * 2 / 6
    # A's and B's bids are at a fixed ratio only when the same one of them wins: not a fixed gap overall
    assert not ab["fixed_gap"]
    xy = pairs.loc[("X", "Y")]
    assert xy["cobids"] == 6 and xy["rotation"] == 0.0 and xy["wins_a"] == 6
    assert not xy["fixed_gap"] and xy["identical"] == 0.0


def test_fixed_gap_and_identical_prices() -> None:
    rows = []
    for t in range(4):
        base = 500.0 * (t + 1)
        rows += [(f"T{t}", "P", base, 1), (f"T{t}", "Q", base * 1.07, 0), (f"T{t}", "S", base * 1.07, 0)]
    pairs = pair_table(_bids(rows)).set_index(["bidder_a", "bidder_b"])
    assert pairs.loc[("P", "Q"), "fixed_gap"] and pairs.loc[("P", "S"), "fixed_gap"]
    assert pairs.loc[("Q", "S"), "identical"] == 1.0 and not pairs.loc[("Q", "S"), "fixed_gap"]


def test_groups_find_the_ring_and_not_the_competitors() -> None:
    bids = ring_and_competitors()
    g = groups(pair_table(bids))
    assert sorted(g["bidder"]) == ["A", "B", "C"]
    assert g["group"].nunique() == 1 and (g["size"] == 3).all()
    feats = tender_pair_features(bids)
    assert list(feats.columns) == list(PAIR_FEATURES)
    ring = feats.loc[[("d", f"R{t}", "") for t in range(6)]]
    comp = feats.loc[[("d", f"C{t}", "") for t in range(6)]]
    assert (ring["C_SHARE"] == 1.0).all() and (comp["C_SHARE"] == 0.0).all()
    assert (ring["P_ROTATION"] > 0).all() and (comp["P_ROTATION"] == 0).all()
    assert ring["C_CV"].notna().all() and comp["C_CV"].isna().all()
    coal = coalition_screens(bids)
    assert len(coal) == 6 and (coal["N"] == 3).all() and (coal["C_SHARE"] == 1.0).all()
    # the covers are the winner's bid +5 % and +10 %: DIFFP 0.05, SPD 0.10, no ties
    assert np.allclose(coal["DIFFP"], 0.05) and np.allclose(coal["SPD"], 0.10) and (coal["TIES"] == 0).all()


def test_no_bidder_ids_no_pair_features() -> None:
    bids = ring_and_competitors().assign(bidder="")
    feats = tender_pair_features(bids)
    assert feats.isna().all().all() and len(feats) == 12


def test_same_ratio_finds_a_ring_whose_firms_also_bid_alone() -> None:
    """P and Q meet in four tenders where Q bids 3 % above P (its cover), compete honestly in three more, and
    each bids without the other in ten: their Jaccard is low and their ratio over all shared tenders is not
    fixed, but in four shared tenders it is the same, which `same_ratio` counts and the store's rings use."""
    rng = np.random.default_rng(5)
    rows: list[tuple[str, str, float, int]] = []
    for t in range(4):
        p = float(rng.uniform(1000, 2000))
        rows += [(f"S{t}", "P", p, 1), (f"S{t}", "Q", round(p * 1.03, 2), 0)]
    for t in range(3):
        a, b = rng.uniform(900, 1200, 2)
        rows += [(f"M{t}", "P", float(a), int(a < b)), (f"M{t}", "Q", float(b), int(b <= a))]
    for t in range(20):
        firm = "P" if t < 10 else "Q"
        a, b = rng.uniform(900, 1200, 2)
        rows += [(f"H{t}", firm, float(a), int(a < b)), (f"H{t}", f"Z{t}", float(b), int(b <= a))]
    pairs = pair_table(_bids(rows))
    pq = pairs[(pairs["bidder_a"] == "P") & (pairs["bidder_b"] == "Q")].iloc[0]
    assert pq["cobids"] == 7 and pq["same_ratio"] == 4 and pq["jaccard"] < 0.5 and not pq["fixed_gap"]
    assert groups(pairs).empty
    found = groups(pairs, same_ratio=True)
    assert sorted(found["bidder"]) == ["P", "Q"]
