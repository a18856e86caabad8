"""Suspected bid-rigging rings in the store: groups of firms that bid together and take turns winning.

The bids of the store (`bids` with their tenderers in `bid_tenderers`, the winners from `award_suppliers` of
awards not cancelled or unsuccessful) become one row per process and firm: its lowest submitted bid and
whether it won. `pairs.pair_table` measures every pair of firms (co-bidding, rotation, identical prices, fixed
gaps) and `pairs.groups` joins the strong pairs into rings (connected components). Each ring is reported with
its evidence:

- `members`, `size`: the firms.
- `tenders`: processes where two or more members bid; `won`: those a member won; `wins`: wins per member.
- `rotation`: how evenly the members share those wins, 1 - (max share - 1/k) / (1 - 1/k) over the k members
  (1: each won the same number; 0: one member won them all); a ring that rotates wins scores high.
- `pairs`, `identical_pairs`, `fixed_gap_pairs`, `same_ratio_pairs`: strong pairs inside the ring, and
  those that price identically, at a fixed ratio in all their shared tenders, or at one and the same ratio
  in `min_cobids` or more of them (cover bids derived from the winner's).
- `first`, `last`: the period of those tenders (the bid deadline, else the release date).
- `ocids`: the processes (the first 50 in the CSV, all in JSON).

`planted_ring_scores` compares the rings with those `aiqyn generate` planted (truth.json's bid-rigging
processes: the bidders of each are one ring) and gives the recall and precision that `aiqyn evaluate` prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from aiqyn.collusion.pairs import groups, pair_table, strong_pairs

#: One row per process and firm: its lowest submitted positive bid, whether it won, the process's date.
STORE_BIDDERS_SQL = """
WITH submitted AS (
    SELECT b.ocid, t.party_id AS bidder, min(b.amount) AS amount
    FROM bids AS b JOIN bid_tenderers AS t ON t.ocid = b.ocid AND t.bid_position = b.position
    WHERE b.amount IS NOT NULL AND b.amount > 0 AND t.party_id IS NOT NULL
      AND coalesce(b.status, '') NOT IN ('invited', 'withdrawn')
    GROUP BY b.ocid, t.party_id
),
winners AS (
    SELECT DISTINCT s.ocid, s.party_id
    FROM award_suppliers AS s JOIN awards AS a ON a.ocid = s.ocid AND a.position = s.award_position
    WHERE coalesce(a.status, '') NOT IN ('cancelled', 'unsuccessful')
)
SELECT s.ocid, s.bidder, s.amount,
       CASE WHEN w.party_id IS NULL THEN 0.0 ELSE 1.0 END AS winner,
       coalesce(p.tender_end, p.release_date) AS date
FROM submitted AS s
JOIN processes AS p ON p.ocid = s.ocid
LEFT JOIN winners AS w ON w.ocid = s.ocid AND w.party_id = s.bidder
"""


class RingsError(ValueError):
    """Options that cannot select bids (a bad date, a period that ends before it starts)."""


def store_bidders(con: Any, since: str | None = None, until: str | None = None) -> pd.DataFrame:
    """`STORE_BIDDERS_SQL` over the store, restricted to processes dated in [since, until] (ISO dates,
    inclusive) when given; columns in the layout of `pairs` (dataset, tender, lot, bidder, amount, winner)."""
    where, params = [], []
    for bound, op in ((since, ">="), (until, "<=")):
        if bound is None:
            continue
        try:
            day = pd.Timestamp(bound)
        except ValueError:
            raise RingsError(f"{bound!r}: not a date (expected YYYY-MM-DD)") from None
        if op == "<=":
            day = day + pd.Timedelta(days=1)
            op = "<"
        where.append(f"date {op} CAST(? AS TIMESTAMPTZ)")
        params.append(day.strftime("%Y-%m-%d") + " 00:00:00+05:00")
    if since and until and pd.Timestamp(since) > pd.Timestamp(until):
        raise RingsError(f"--since {since} is after --until {until}")
    sql = f"SELECT * FROM ({STORE_BIDDERS_SQL}) AS x" + (f" WHERE {' AND '.join(where)}" if where else "")
    df = con.execute(sql + " ORDER BY ocid, bidder", params).df()
    return pd.DataFrame({"dataset": "store", "tender": df["ocid"].astype(str), "lot": "",
                         "bidder": df["bidder"].astype(str), "amount": df["amount"].astype("float64"),
                         "winner": df["winner"].astype("float64"), "date": pd.to_datetime(df["date"], utc=True)})


def rings(bids: pd.DataFrame, min_cobids: int = 3, min_jaccard: float = 0.5) -> pd.DataFrame:
    """One row per suspected ring (see the module docstring), strongest first (most tenders together)."""
    cols = ["ring", "size", "members", "tenders", "won", "wins", "rotation", "pairs", "identical_pairs",
            "fixed_gap_pairs", "same_ratio_pairs", "first", "last", "ocids"]
    if bids.empty:
        return pd.DataFrame(columns=cols)
    pairs = pair_table(bids, min_cobids=min_cobids)
    grp = groups(pairs, min_cobids=min_cobids, min_jaccard=min_jaccard, same_ratio=True)
    if grp.empty:
        return pd.DataFrame(columns=cols)
    member_of = dict(zip(grp["bidder"], grp["group"], strict=True))
    b = bids[bids["bidder"].isin(member_of)].assign(group=lambda d: d["bidder"].map(member_of))
    per = b.groupby(["group", "tender"])["bidder"].transform("nunique")
    b = b[per >= 2]
    strong = strong_pairs(pairs, min_cobids=min_cobids, min_jaccard=min_jaccard, same_ratio=True)
    strong = strong.assign(group=strong["bidder_a"].map(member_of))
    out = []
    for g, members in grp.groupby("group"):
        names = sorted(members["bidder"])
        rb = b[b["group"] == g]
        tenders = sorted(rb["tender"].unique())
        won = rb[rb["winner"] == 1]
        wins = {m: int((won["bidder"] == m).sum()) for m in names}
        total = sum(wins.values())
        k = len(names)
        rotation = 1 - (max(wins.values()) / total - 1 / k) / (1 - 1 / k) if total else 0.0
        sp = strong[strong["group"] == g]
        dates = rb["date"].dropna() if "date" in rb else pd.Series(dtype="datetime64[ns, UTC]")
        out.append({"ring": int(g), "size": k, "members": names, "tenders": len(tenders),
                    "won": int(won["tender"].nunique()), "wins": wins, "rotation": round(float(rotation), 6),
                    "pairs": len(sp), "identical_pairs": int((sp["identical"] > 0).sum()),
                    "fixed_gap_pairs": int(sp["fixed_gap"].sum()),
                    "same_ratio_pairs": int((sp["same_ratio"] >= min_cobids).sum()),
                    "first": dates.min().date().isoformat() if len(dates) else None,
                    "last": dates.max().date().isoformat() if len(dates) else None,
                    "ocids": tenders})
    res = pd.DataFrame(out, columns=cols).sort_values(["tenders", "size", "ring"], ascending=[False, False, True])
    res["ring"] = range(1, len(res) + 1)
    return res.reset_index(drop=True)


def store_rings(con: Any, min_cobids: int = 3, min_jaccard: float = 0.5, since: str | None = None,
                until: str | None = None) -> pd.DataFrame:
    """The suspected rings among the store's bidders (`rings` over `store_bidders`)."""
    return rings(store_bidders(con, since, until), min_cobids=min_cobids, min_jaccard=min_jaccard)


@dataclass
class RingScores:
    planted: int
    reported: int
    found: int  # planted rings matched by a reported ring
    correct: int  # reported rings that match a planted ring

    @property
    def recall(self) -> float | None:
        return self.found / self.planted if self.planted else None

    @property
    def precision(self) -> float | None:
        return self.correct / self.reported if self.reported else None


def _match(a: frozenset[str], b: frozenset[str]) -> bool:
    """Two rings are the same when they share at least two firms and half of their firms (Jaccard >= 0.5)."""
    common = len(a & b)
    return common >= 2 and common / len(a | b) >= 0.5


def planted_rings(con: Any, ocids: Iterable[str]) -> list[frozenset[str]]:
    """The rings `aiqyn generate` planted: the distinct sets of bidders of its bid-rigging processes."""
    ids = sorted(set(ocids))
    if not ids:
        return []
    df = con.execute(
        "SELECT ocid, list(DISTINCT party_id) AS firms FROM bid_tenderers "
        "WHERE party_id IS NOT NULL AND ocid IN (SELECT unnest(?)) GROUP BY ocid", [ids]).fetchall()
    return sorted({frozenset(map(str, firms)) for _, firms in df if len(firms) >= 2}, key=sorted)


def ring_scores(found: Sequence[frozenset[str]], planted: Sequence[frozenset[str]]) -> RingScores:
    """Recall (planted rings matched by a reported one) and precision (reported rings matching a planted one)."""
    return RingScores(planted=len(planted), reported=len(found),
                      found=sum(any(_match(p, f) for f in found) for p in planted),
                      correct=sum(any(_match(f, p) for p in planted) for f in found))


def planted_ring_scores(con: Any, ocids: Iterable[str], min_cobids: int = 3,
                        min_jaccard: float = 0.5) -> RingScores:
    """`store_rings` against the rings planted in the processes `ocids` (truth.json's bid_rigging)."""
    found = [frozenset(m) for m in store_rings(con, min_cobids=min_cobids, min_jaccard=min_jaccard)["members"]]
    return ring_scores(found, planted_rings(con, ocids))
