"""Tender-level bid-rigging screens: statistics of the distribution of the bids in one tender (or lot).

A ring that rigs a tender has to hand the contract to its designated winner without looking like it.
The losers place *cover bids*: above the winner, often close together (they do not compete with each
other), while the winner keeps a comfortable distance below them. Screens measure exactly that, on the
bids of one tender, b(1) <= b(2) <= ... <= b(n), with mean m and sample standard deviation s:

- N       number of bids.
- CV      coefficient of variation s / m (Imhof 2017; Huber & Imhof 2019): low when bids are close together.
- SPD     spread (b(n) - b(1)) / b(1) (Huber & Imhof 2019).
- DIFFP   percentage difference between the two lowest bids (b(2) - b(1)) / b(1) (Imhof 2017).
- RD      relative distance (b(2) - b(1)) / s_losing, s_losing the sample standard deviation of the
          losing bids b(2..n) (Imhof, Karagök & Rutz 2018; Huber & Imhof 2019): a winner far below a
          tight group of cover bids gives a high RD.
- RDNOR   normalised distance (b(2) - b(1)) / ((b(n) - b(1)) / (n - 1)): the first gap over the mean gap.
- RDALT   (b(2) - b(1)) / ((b(n) - b(2)) / (n - 2)): the first gap over the mean gap of the losing bids.
- KURT    bias-corrected excess kurtosis G2 (Huber & Imhof 2019).
- SKEW    bias-corrected skewness G1 (Huber & Imhof 2019).
- KSTEST  Kolmogorov-Smirnov statistic of the bids against the uniform distribution on [b(1), b(n)]
          (Huber & Imhof 2019; García Rodríguez et al. 2022).
- TIES    share of the bids whose amount equals another bid's amount in the same tender (identical
          prices are a classic trace of cover bidding).

A screen that is undefined for the tender (too few bids, no dispersion) is missing (NaN / NULL), never 0:
a tender of one bid has no coefficient of variation. The published data sets write 0 there; see
docs/collusion.md for that and the other conventions of the published columns.

The same screens are defined twice, once as vectorised pandas (`screens`) and once as one SQL query over
the store (`STORE_SCREENS_SQL`, standard SQL with window functions, so that it runs unchanged on DuckDB
and, through sqlglot, on Spark); a test checks that the two agree on the same bids.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

#: The screens, in the order of the output columns.
SCREENS: tuple[str, ...] = ("N", "CV", "SPD", "DIFFP", "RD", "RDNOR", "RDALT", "KURT", "SKEW", "KSTEST", "TIES")
KEY: tuple[str, str] = ("tender", "lot")


def screens(bids: pd.DataFrame, key: tuple[str, ...] = KEY, value: str = "amount") -> pd.DataFrame:
    """The screens of each tender: one row per distinct `key`, columns `SCREENS`.

    `bids` holds one row per bid, with the key columns and a positive `value`. Vectorised: no Python loop
    over tenders, so a million bids take seconds.
    """
    import numpy as np  # here, not at the top: the indicators import this module for its SQL only
    import pandas as pd

    keys = list(key)
    df = bids[[*keys, value]].rename(columns={value: "x"}).copy()
    df["x"] = df["x"].astype("float64")
    df = df.sort_values([*keys, "x"], kind="mergesort").reset_index(drop=True)
    g = df.groupby(keys, sort=True, dropna=False)
    df["n"] = g["x"].transform("size").astype("float64")
    df["i"] = g.cumcount().astype("float64") + 1.0
    df["m"] = g["x"].transform("mean")
    df["s"] = g["x"].transform("std")  # ddof=1, NaN for one bid
    df["b1"] = g["x"].transform("min")
    df["bn"] = g["x"].transform("max")
    z = (df["x"] - df["m"]) / df["s"].where(df["s"] > 0)
    df["z3"] = z**3
    df["z4"] = z**4
    rng = (df["bn"] - df["b1"]).where(lambda r: r > 0)
    u = (df["x"] - df["b1"]) / rng
    df["ks"] = np.maximum(df["i"] / df["n"] - u, u - (df["i"] - 1.0) / df["n"])
    df["tie"] = (df.groupby([*keys, "x"], dropna=False)["x"].transform("size") > 1).astype("float64")
    df["b2"] = df["x"].where(df["i"] == 2)
    df["losing"] = df["x"].where(df["i"] > 1)

    agg = g.agg(
        n=("n", "first"), m=("m", "first"), s=("s", "first"), b1=("b1", "first"), bn=("bn", "first"),
        b2=("b2", "max"), s_losing=("losing", "std"), sum_z3=("z3", "sum"), sum_z4=("z4", "sum"),
        ks=("ks", "max"), ties=("tie", "mean"), has_z=("z3", "count"), has_ks=("ks", "count"),
    )
    n, s = agg["n"], agg["s"]
    gap = agg["b2"] - agg["b1"]
    out = pd.DataFrame(index=agg.index)
    out["N"] = n.astype("int64")
    out["CV"] = s / agg["m"]
    out["SPD"] = (agg["bn"] - agg["b1"]) / agg["b1"]
    out["DIFFP"] = gap / agg["b1"]
    out["RD"] = gap / agg["s_losing"].where(agg["s_losing"] > 0)
    out["RDNOR"] = gap / ((agg["bn"] - agg["b1"]) / (n - 1)).where(agg["bn"] > agg["b1"])
    out["RDALT"] = gap / ((agg["bn"] - agg["b2"]) / (n - 2)).where((agg["bn"] > agg["b2"]) & (n > 2))
    defined = (agg["has_z"] == n) & (s > 0)
    out["SKEW"] = (n / ((n - 1) * (n - 2)) * agg["sum_z3"]).where(defined & (n >= 3))
    out["KURT"] = (n * (n + 1) / ((n - 1) * (n - 2) * (n - 3)) * agg["sum_z4"]
                   - 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))).where(defined & (n >= 4))
    out["KSTEST"] = agg["ks"].where(agg["has_ks"] == n)
    out["TIES"] = agg["ties"]
    out = out[list(SCREENS)]
    return out.replace([np.inf, -np.inf], np.nan)


#: Bids of the store that the screens read: submitted bids with a positive amount, one row per bid and
#: lot (a bid for several lots counts in each), grouped by process, lot and currency (amounts in two
#: currencies are never compared).
STORE_BIDS_SQL = """
WITH bid_lots AS (
    SELECT b.ocid, b.position, b.amount, b.currency, b.related_lots
    FROM bids AS b
    WHERE b.amount IS NOT NULL AND b.amount > 0
      AND coalesce(b.status, '') NOT IN ('invited', 'withdrawn')
)
SELECT ocid, '' AS lot, coalesce(currency, '') AS currency, position, amount
FROM bid_lots WHERE related_lots IS NULL OR array_length(related_lots) = 0
UNION ALL
SELECT ocid, lot, coalesce(currency, '') AS currency, position, amount
FROM (SELECT ocid, currency, position, amount, unnest(related_lots) AS lot FROM bid_lots
      WHERE array_length(related_lots) > 0) AS per_lot
"""

def screen_ctes(source: str, keys: tuple[str, ...], prefix: str = "") -> str:
    """Common table expressions that compute the screens of the bids in `source` (a table or CTE with the
    `keys` columns, `position` and a positive `amount`), one row per distinct `keys`, in `{prefix}screens`
    (columns: the keys and `SCREENS`, quoted). Standard SQL (window functions, stddev_samp; no vendor
    extension but `greatest`): the one definition of the screens in SQL, used by `STORE_SCREENS_SQL` and by
    the R055 indicator (and so on Spark)."""
    k = ", ".join(keys)
    w = f"PARTITION BY {k}"
    # Moments of the bids' distances above the lowest bid (d), not of the bids themselves: bids a tiyn apart
    # around 500,000 make sum-of-squares variance ill-conditioned (engines then differ at 1e-8); the
    # distances are exact (close floats subtract exactly) and the screens are shift-invariant.
    return f"""{prefix}lowest AS (
    SELECT {k}, amount, position, min(amount) OVER ({w}) AS b1
    FROM {source}
),
{prefix}ranked AS (
    SELECT {k}, amount, b1, amount - b1 AS d,
           CAST(row_number() OVER ({w} ORDER BY amount, position) AS DOUBLE) AS i,
           CAST(count(*) OVER ({w}) AS DOUBLE) AS n,
           avg(amount - b1) OVER ({w}) AS md,
           stddev_samp(amount - b1) OVER ({w}) AS s,
           max(amount) OVER ({w}) AS bn,
           count(*) OVER ({w}, amount) AS same_amount
    FROM {prefix}lowest
),
{prefix}scaled AS (
    SELECT *,
           CASE WHEN s > 0 THEN (d - md) / s END AS z,
           CASE WHEN bn > b1 THEN d / (bn - b1) END AS u
    FROM {prefix}ranked
),
{prefix}agg AS (
    SELECT {k},
           max(n) AS n, max(b1 + md) AS m, max(s) AS s, max(b1) AS b1, max(bn) AS bn,
           max(CASE WHEN i = 2 THEN amount END) AS b2,
           stddev_samp(CASE WHEN i > 1 THEN d END) AS s_losing,
           sum(z * z * z) AS sum_z3, sum(z * z * z * z) AS sum_z4,
           max(greatest(i / n - u, u - (i - 1) / n)) AS ks,
           avg(CASE WHEN same_amount > 1 THEN 1.0 ELSE 0.0 END) AS ties
    FROM {prefix}scaled
    GROUP BY {k}
),
{prefix}screens AS (
    SELECT {k},
       CAST(n AS BIGINT) AS "N",
       s / m AS "CV",
       (bn - b1) / b1 AS "SPD",
       (b2 - b1) / b1 AS "DIFFP",
       CASE WHEN s_losing > 0 THEN (b2 - b1) / s_losing END AS "RD",
       CASE WHEN bn > b1 THEN (b2 - b1) / ((bn - b1) / (n - 1)) END AS "RDNOR",
       CASE WHEN bn > b2 AND n > 2 THEN (b2 - b1) / ((bn - b2) / (n - 2)) END AS "RDALT",
       CASE WHEN s > 0 AND n >= 4 THEN n * (n + 1) / ((n - 1) * (n - 2) * (n - 3)) * sum_z4
                                       - 3 * (n - 1) * (n - 1) / ((n - 2) * (n - 3)) END AS "KURT",
       CASE WHEN s > 0 AND n >= 3 THEN n / ((n - 1) * (n - 2)) * sum_z3 END AS "SKEW",
       CASE WHEN bn > b1 THEN ks END AS "KSTEST",
       ties AS "TIES"
    FROM {prefix}agg
)"""


#: The screens over the store, one row per (ocid, lot, currency): the same definitions as `screens`,
#: as one standard SQL query (`screen_ctes`).
STORE_SCREENS_SQL = f"""
WITH tender_bids AS ({STORE_BIDS_SQL}),
{screen_ctes("tender_bids", ("ocid", "lot", "currency"))}
SELECT * FROM screens
ORDER BY ocid, lot, currency
"""


def store_bids(con: Any) -> pd.DataFrame:
    """The bids the store-side screens read (`STORE_BIDS_SQL`), as a DataFrame: ocid, lot, currency,
    position, amount."""
    return con.execute(STORE_BIDS_SQL + " ORDER BY ocid, lot, currency, position").df()


def store_screens(con: Any) -> pd.DataFrame:
    """The screens of every tender and lot in the store, computed by the database (`STORE_SCREENS_SQL`)."""
    return con.execute(STORE_SCREENS_SQL).df()
