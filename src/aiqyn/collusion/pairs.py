"""What firms do together: pairs that keep bidding in the same tenders, take turns winning, or price at
identical or fixed gaps; groups (suspected rings) of such firms; and the screens of those groups.

A ring is a group of firms, so the strongest evidence is not in one tender but across many:

- co-bidding: firms a and b bid together in `cobids` tenders; `jaccard` = cobids / (tenders of a or b).
  Rings meet in the same tenders far more often than competitors do (Wallimann, Imhof & Huber 2023).
- rotation: in the tenders they share, a wins while b loses `wins_a` times and b wins while a loses
  `wins_b` times; `rotation` = 2 * min(wins_a, wins_b) / cobids is 1 when they take strict turns and 0
  when one of them never wins against the other (bid rotation, OECD 2009 guidelines).
- identical prices: share of shared tenders where their bids are equal.
- fixed gap: over at least `min_cobids` shared tenders, b's bid is always the same multiple of a's
  (standard deviation of log(b/a) under 0.1 %), the signature of cover bids computed from the winner's.
- same ratio: the largest number of shared tenders in which b's bid is one and the same multiple of a's
  (log(b/a) to 0.01 %; identical bids and bids a tiyn apart have ratio 1). Firms of a ring also bid
  alone in honest tenders, where their ratio varies, so `fixed_gap` misses them; `same_ratio` counts
  only the tenders they price together.
- groups: connected components of the graph of strong pairs (co-bidding and rotation or fixed gaps), with
  networkx; the coalition screens are the tender screens over the bids of one group only (Wallimann,
  Imhof & Huber 2023 screen coalitions instead of whole tenders).

Only bids with a bidder id take part; firms are compared within one dataset (ids are local to it).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from aiqyn.collusion.screens import SCREENS, screens

TENDER = ["dataset", "tender", "lot"]
#: Tender-level features derived from pairs and groups (NaN when the bids carry no bidder ids).
PAIR_FEATURES: tuple[str, ...] = ("P_JACCARD", "P_ROTATION", "P_FIXGAP", "C_SHARE", "C_CV", "C_SPD", "C_DIFFP")


def _bidder_bids(bids: pd.DataFrame) -> pd.DataFrame:
    """One row per (tender, bidder): the bidder's lowest bid and whether it won there."""
    b = bids[bids["bidder"].astype(str) != ""]
    if b.empty:
        return pd.DataFrame(columns=[*TENDER, "bidder", "amount", "winner"])
    return (b.assign(winner=b["winner"].fillna(0.0))
            .groupby([*TENDER, "bidder"], as_index=False, sort=False)
            .agg(amount=("amount", "min"), winner=("winner", "max")))


def pair_rows(bids: pd.DataFrame) -> pd.DataFrame:
    """One row per tender and pair of its bidders (a < b): amounts and wins of both."""
    one = _bidder_bids(bids)
    m = one.merge(one, on=TENDER, suffixes=("_a", "_b"))
    return m[m["bidder_a"].astype(str) < m["bidder_b"].astype(str)].reset_index(drop=True)


def pair_table(bids: pd.DataFrame, min_cobids: int = 3) -> pd.DataFrame:
    """Statistics of every pair of firms that bid together at least once (see the module docstring)."""
    rows = pair_rows(bids)
    cols = ["dataset", "bidder_a", "bidder_b", "cobids", "jaccard", "wins_a", "wins_b", "rotation",
            "identical", "fixed_gap", "same_ratio"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    one = _bidder_bids(bids)
    tenders_of = one.groupby(["dataset", "bidder"]).size()
    rows["a_wins"] = ((rows["winner_a"] == 1) & (rows["winner_b"] == 0)).astype(int)
    rows["b_wins"] = ((rows["winner_b"] == 1) & (rows["winner_a"] == 0)).astype(int)
    rows["same"] = (rows["amount_a"] == rows["amount_b"]).astype(float)
    rows["logratio"] = np.log(rows["amount_b"] / rows["amount_a"])
    p = rows.groupby(["dataset", "bidder_a", "bidder_b"], as_index=False).agg(
        cobids=("tender", "size"), wins_a=("a_wins", "sum"), wins_b=("b_wins", "sum"),
        identical=("same", "mean"), lr_sd=("logratio", "std"), lr_mean=("logratio", "mean"))
    rows["ratio_bin"] = np.round(rows["logratio"] / 1e-4).astype("int64")
    same = (rows.groupby(["dataset", "bidder_a", "bidder_b", "ratio_bin"]).size()
            .groupby(["dataset", "bidder_a", "bidder_b"]).max().rename("same_ratio").reset_index())
    p = p.merge(same, on=["dataset", "bidder_a", "bidder_b"], how="left")
    na = tenders_of.reindex(pd.MultiIndex.from_frame(p[["dataset", "bidder_a"]])).to_numpy()
    nb = tenders_of.reindex(pd.MultiIndex.from_frame(p[["dataset", "bidder_b"]])).to_numpy()
    p["jaccard"] = p["cobids"] / (na + nb - p["cobids"])
    p["rotation"] = 2 * np.minimum(p["wins_a"], p["wins_b"]) / p["cobids"]
    p["fixed_gap"] = ((p["cobids"] >= min_cobids) & (p["lr_sd"] < 1e-3) & (p["lr_mean"].abs() > 1e-9))
    return p[cols]


def strong_pairs(pairs: pd.DataFrame, min_cobids: int = 3, min_jaccard: float = 0.5,
                 same_ratio: bool = False) -> pd.DataFrame:
    """The edges of the ring graph: pairs that bid together in at least `min_cobids` tenders and either
    (a) in at least `min_jaccard` of their tenders, rotating wins or pricing at fixed gaps or identically,
    or (b) with `same_ratio`, price at one and the same ratio in at least `min_cobids` of their shared
    tenders. (b) is for the store's rings (`rings.py`), whose prices are continuous; the labelled data's
    coarse prices (Ohio's milk in cents) repeat ratios by chance, so the model's coalition features use (a)."""
    close = (pairs["jaccard"] >= min_jaccard) & ((pairs["rotation"] > 0) | pairs["fixed_gap"]
                                                 | (pairs["identical"] > 0))
    if same_ratio:
        close = close | (pairs["same_ratio"] >= min_cobids)
    return pairs[(pairs["cobids"] >= min_cobids) & close]


def groups(pairs: pd.DataFrame, min_cobids: int = 3, min_jaccard: float = 0.5,
           same_ratio: bool = False) -> pd.DataFrame:
    """Suspected rings: connected components of the graph of `strong_pairs`. Columns: dataset, bidder,
    group (an int, per dataset), size."""
    strong = strong_pairs(pairs, min_cobids=min_cobids, min_jaccard=min_jaccard, same_ratio=same_ratio)
    out = []
    for dataset, edges in strong.groupby("dataset"):
        g = nx.Graph()
        g.add_edges_from(zip(edges["bidder_a"], edges["bidder_b"], strict=True))
        comps = sorted((sorted(map(str, c)) for c in nx.connected_components(g)), key=lambda c: (-len(c), c))
        for k, comp in enumerate(comps):
            out += [(dataset, b, k, len(comp)) for b in comp]
    return pd.DataFrame(out, columns=["dataset", "bidder", "group", "size"])


def coalition_screens(bids: pd.DataFrame, pairs: pd.DataFrame | None = None, min_cobids: int = 3,
                      min_jaccard: float = 0.5) -> pd.DataFrame:
    """The screens (`screens.SCREENS`) over the bids of each suspected ring in each tender where it has two
    or more bids, with `C_SHARE`, the ring's share of the tender's bids. Index: dataset, tender, lot, group
    (the ring's number in `groups`)."""
    if pairs is None:
        pairs = pair_table(bids, min_cobids=min_cobids)
    grp = groups(pairs, min_cobids=min_cobids, min_jaccard=min_jaccard)
    one = _bidder_bids(bids).merge(grp[["dataset", "bidder", "group"]], on=["dataset", "bidder"])
    if one.empty:
        return pd.DataFrame(columns=[*TENDER, "group", *SCREENS, "C_SHARE"]).set_index([*TENDER, "group"])
    sc = screens(one, key=(*TENDER, "group"))
    sc = sc[sc["N"] >= 2].copy()
    n_all = bids.groupby(TENDER).size()
    keys = sc.index.to_frame(index=False)[TENDER]
    sc["C_SHARE"] = sc["N"].to_numpy() / n_all.reindex(pd.MultiIndex.from_frame(keys)).to_numpy()
    return sc


def tender_pair_features(bids: pd.DataFrame, min_cobids: int = 3, min_jaccard: float = 0.5) -> pd.DataFrame:
    """`PAIR_FEATURES` of each tender (index dataset, tender, lot): the strongest pair among its bidders
    (co-bidding, rotation), the share of its bidder pairs at fixed gaps, and the coalition screens over
    the bids of the suspected ring with most bids in the tender."""
    keys = bids[TENDER].drop_duplicates().set_index(TENDER).index
    out = pd.DataFrame(index=keys, columns=list(PAIR_FEATURES), dtype="float64")
    rows = pair_rows(bids)
    if rows.empty:
        return out
    pairs = pair_table(bids, min_cobids=min_cobids)
    r = rows.merge(pairs, on=["dataset", "bidder_a", "bidder_b"])
    r["rot"] = r["rotation"].where(r["cobids"] >= 2, 0.0)
    t = r.groupby(TENDER).agg(P_JACCARD=("jaccard", "max"), P_ROTATION=("rot", "max"),
                              P_FIXGAP=("fixed_gap", "mean"))
    has_ids = bids[bids["bidder"].astype(str) != ""][TENDER].drop_duplicates().set_index(TENDER).index
    out.loc[has_ids, ["P_JACCARD", "P_ROTATION", "P_FIXGAP"]] = 0.0
    out.loc[t.index, ["P_JACCARD", "P_ROTATION", "P_FIXGAP"]] = t.astype("float64").to_numpy()

    out.loc[has_ids, "C_SHARE"] = 0.0
    sc = coalition_screens(bids, pairs, min_cobids=min_cobids, min_jaccard=min_jaccard).reset_index()
    if sc.empty:
        return out
    best = sc.sort_values([*TENDER, "N"], ascending=[True, True, True, False]).drop_duplicates(TENDER)
    best = best.set_index(TENDER)
    out.loc[best.index, "C_SHARE"] = best["C_SHARE"].to_numpy()
    out.loc[best.index, ["C_CV", "C_SPD", "C_DIFFP"]] = best[["CV", "SPD", "DIFFP"]].to_numpy()
    return out
