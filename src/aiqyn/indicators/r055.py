"""R055 Suspicious bid pattern: the bids of a tender stand in fixed increments, or the collusion model gives the
tender a high probability of bid rigging.

Cardinal leaves R055 unused; Aiqyn gives it to bid rigging (issue 4). The statistical screens of the bids
(`aiqyn.collusion.screens.screen_ctes`, the one SQL definition of the screens) feed the collusion model, which
runs inside the query (`aiqyn.collusion.sqlmodel`: the shipped model's trees and calibration as SQL), so the
indicator stays one relational query on DuckDB and on Spark. The screens and the probability are its evidence.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from importlib import metadata, util
from pathlib import Path
from typing import Any

from pydantic import field_validator

from aiqyn.collusion.screens import SCREENS, screen_ctes
from aiqyn.indicators.base import BaseParams, Indicator, Source
from aiqyn.indicators.sql import PARTY_KEYS, PRICE_COMPARISON, PROCS, SUBMITTED, org_id


class Params(BaseParams):
    min_bids: int = 3
    """The least number of priced bids in one currency for a tender to be screened: with two bids there is a
    single gap, which says nothing about a pattern."""
    gap_tolerance: float = 0.00005
    """How equal the gaps between consecutive bids must be: the largest and the smallest gap may differ by at
    most this share of the lowest bid (0.00005: 0.005%), or by one tiyn (0.01), whichever is larger."""
    min_probability: float = 0.95
    """A tender whose bids are not in fixed increments is flagged when the collusion model's calibrated
    probability of bid rigging reaches this (0.95: a high risk; the model's own balanced-accuracy threshold,
    tuned on other countries' share of cartels, would flag a large share of honest tenders). Above 1: the
    model flags nothing on its own."""
    model: str = ""
    """The collusion model file (`aiqyn collusion train`); empty: the model shipped with Aiqyn."""

    @field_validator("model")
    @classmethod
    def _model_file(cls, value: str) -> str:
        if value and not Path(value).is_file():
            raise ValueError(f"{value}: no such collusion model file (train one with `aiqyn collusion train`)")
        return value


def cache_dir() -> Path:
    """Where the collusion model's SQL is cached: AIQYN_CACHE_DIR, else $XDG_CACHE_HOME/aiqyn, else
    ~/.cache/aiqyn."""
    configured = os.environ.get("AIQYN_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aiqyn"


def _model_file(path: str) -> Path:
    if path:
        return Path(path)
    from aiqyn.collusion.cli import default_model_path

    return default_model_path()


def _columns() -> dict[str, str]:
    return {c: f'r055_x."{c}"' for c in (*SCREENS, "W_LOWEST", "W_RANK")}


def _cache_key(model_file: Path) -> str:
    """What the SQL of a model depends on: the model file, the code that loads it and writes it as SQL, the
    version of scikit-learn that reads it, and the feature columns."""
    digest = hashlib.sha256(model_file.read_bytes())
    for module in ("aiqyn.collusion.model", "aiqyn.collusion.sqlmodel"):
        spec = util.find_spec(module)
        if spec is None or spec.origin is None:
            raise ImportError(module)
        digest.update(Path(spec.origin).read_bytes())
    digest.update(metadata.version("scikit-learn").encode())
    digest.update(json.dumps(_columns(), sort_keys=True).encode())
    return digest.hexdigest()


def _render_model(model_file: Path) -> dict[str, str]:
    from aiqyn.collusion import model as m
    from aiqyn.collusion.sqlmodel import calibration_sql, logistic_sql, raw_score_sql

    fitted = m.load(model_file)
    return {"model_raw": raw_score_sql(fitted, _columns()), "model_logistic": logistic_sql("raw"),
            "model_calibration": calibration_sql(fitted, "p"), "model_threshold": f"{fitted.threshold:.16e}"}


_PLACEHOLDERS = {"model_raw", "model_logistic", "model_calibration", "model_threshold"}


@lru_cache(maxsize=4)
def _model_sql(path: str) -> dict[str, str]:
    """The model as SQL text. Loading a model file imports scikit-learn and skops (about 2 s of CPU, more than the
    query at 100,000 processes), so the text is cached on disk (`cache_dir()`), keyed by everything it depends on
    (`_cache_key`); a cache that cannot be read or written is only skipped."""
    model_file = _model_file(path)
    key = _cache_key(model_file)
    cached = cache_dir() / f"collusion-model-sql-{key}.json"
    try:
        text = json.loads(cached.read_text(encoding="utf-8"))
        if (isinstance(text, dict) and text.get("key") == key and isinstance(text.get("sql"), dict)
                and set(text["sql"]) == _PLACEHOLDERS and all(isinstance(v, str) for v in text["sql"].values())):
            return dict(text["sql"])
    except (OSError, ValueError):
        pass
    sql = _render_model(model_file)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps({"key": key, "model": str(model_file), "sql": sql}), encoding="utf-8")
        partial.replace(cached)
    except OSError:
        pass
    return sql


def _render(params: Any) -> dict[str, str]:
    return _model_sql(params.model)


INDICATOR = Indicator(
    code="R055",
    title="Bids in fixed increments or a high probability of bid rigging",
    subjects=("process", "tenderer"),
    params=Params,
    tags=("collusion",),
    render=_render,
    ctes=PROCS + ",\n" + PARTY_KEYS + """,
priced AS (
  SELECT b.ocid, b.position, b.amount, b.currency
  FROM procs p JOIN bids b ON b.ocid = p.ocid
  WHERE """ + PRICE_COMPARISON + " AND " + SUBMITTED + """
    AND b.amount > 0 AND b.currency IS NOT NULL
),
-- the bids of the tenders screened, those with min_bids bids or more in one currency (a third of the tenders):
-- each tender's gaps, screens and probability read its own bids only, so the other tenders are left out first
screened AS (
  SELECT b.* FROM priced b JOIN (
    SELECT ocid, currency FROM priced GROUP BY ocid, currency HAVING count(*) >= $min_bids
  ) t ON t.ocid = b.ocid AND t.currency = b.currency
),
gaps AS (
  SELECT ocid, currency, position, amount,
    amount - lag(amount) OVER (PARTITION BY ocid, currency ORDER BY amount, position) AS gap,
    row_number() OVER (PARTITION BY ocid, currency ORDER BY amount, position) AS rank_
  FROM screened
),
tenders AS (
  SELECT ocid, currency, count(*) AS n, min(amount) AS lowest, max(amount) AS highest,
    stddev_samp(amount) / avg(amount) AS cv,
    max(CASE WHEN rank_ = 2 THEN amount END) AS second,
    min(gap) AS min_gap, max(gap) AS max_gap
  FROM gaps GROUP BY ocid, currency
),
""" + screen_ctes("screened", ("ocid", "currency"), prefix="r055_") + """,
r055_won AS (
  SELECT b.ocid, b.currency, min(b.amount) AS w_amount
  FROM screened b JOIN bid_tenderers t ON t.ocid = b.ocid AND t.bid_position = b.position
    JOIN award_suppliers s ON s.ocid = t.ocid AND s.party_id = t.party_id
    JOIN awards a ON a.ocid = s.ocid AND a.position = s.award_position
  WHERE coalesce(a.status, '') NOT IN ('cancelled', 'unsuccessful')
  GROUP BY b.ocid, b.currency
),
r055_below AS (
  SELECT w.ocid, w.currency, w.w_amount, sum(CASE WHEN b.amount < w.w_amount THEN 1 ELSE 0 END) AS below
  FROM r055_won w JOIN screened b ON b.ocid = w.ocid AND b.currency = w.currency
  GROUP BY w.ocid, w.currency, w.w_amount
),
r055_x AS (
  SELECT s.*,
    CASE WHEN w.w_amount IS NULL THEN NULL WHEN w.below = 0 THEN 1.0 ELSE 0.0 END AS "W_LOWEST",
    CASE WHEN w.w_amount IS NOT NULL AND s."N" > 1 THEN w.below / (s."N" - 1.0) END AS "W_RANK"
  FROM r055_screens s LEFT JOIN r055_below w ON w.ocid = s.ocid AND w.currency = s.currency
),
r055_raw AS (SELECT r055_x.*, {model_raw} AS raw FROM r055_x),
r055_p AS (SELECT r055_raw.*, {model_logistic} AS p FROM r055_raw),
r055_scored AS (SELECT r055_p.*, {model_calibration} AS probability,
  CAST({model_threshold} AS DOUBLE) AS model_threshold FROM r055_p),
patterned AS (
  SELECT t.*, sc.probability, sc."SPD" AS spd, sc."RD" AS rd, sc."KURT" AS kurt, sc."SKEW" AS skew,
    sc."KSTEST" AS kstest, sc."TIES" AS ties, sc."W_LOWEST" AS w_lowest, sc.model_threshold,
    max_gap - min_gap <= greatest(CAST($gap_tolerance AS DOUBLE) * lowest, 0.01) AS fixed_increments
  FROM tenders t JOIN r055_scored sc ON sc.ocid = t.ocid AND sc.currency = t.currency
  WHERE max_gap - min_gap <= greatest(CAST($gap_tolerance AS DOUBLE) * lowest, 0.01)
     OR sc.probability >= $min_probability
),
-- a firm is named for a concrete pattern of its own bid (fixed increments), not for the tender's probability
-- alone: the model scores the tender's bid distribution, which says nothing of which bidder took part in a scheme
flagged_tenderers AS (
  SELECT DISTINCT f.ocid, t.party_id
  FROM patterned f JOIN priced b ON b.ocid = f.ocid AND b.currency = f.currency
    JOIN bid_tenderers t ON t.ocid = b.ocid AND t.bid_position = b.position
  WHERE t.party_id IS NOT NULL AND f.fixed_increments
)""",
    select="""SELECT 'process' AS subject_type, ocid AS subject_id, max(probability) AS value,
  to_json({'currency': min(currency), 'bids': min(n), 'lowest': min(lowest), 'highest': min(highest),
           'gap': min(max_gap), 'cv': min(cv), 'diffp': min((second - lowest) / lowest),
           'spd': min(spd), 'rd': min(rd), 'kurt': min(kurt), 'skew': min(skew), 'kstest': min(kstest),
           'ties': min(ties), 'winner_lowest': min(w_lowest),
           'fixed_increments': max(CASE WHEN fixed_increments THEN 1 ELSE 0 END) = 1,
           'probability': max(probability), 'min_probability': CAST($min_probability AS DOUBLE),
           'model_threshold': min(model_threshold),
           'gap_tolerance': CAST($gap_tolerance AS DOUBLE)}) AS evidence
FROM patterned GROUP BY ocid
UNION ALL
SELECT 'tenderer', id, CAST(count(DISTINCT ocid) AS DOUBLE),
  to_json({'processes': array_sort(array_distinct(array_agg(ocid)))})
FROM """ + org_id("SELECT ft.ocid, ft.party_id FROM flagged_tenderers ft") + """ x
GROUP BY id""",
    methodology="""The submitted bids (pending, valid or disqualified) of a tender with an amount, in one currency,
are sorted by amount; the gaps between consecutive bids are computed. A tender with at least `min_bids` such
bids is flagged when all its gaps are equal: the largest and the smallest gap differ by no more than
`gap_tolerance` of the lowest bid, or one tiyn. Bids that are all identical (every gap zero) are a special case
of the pattern. The bid-rigging screens of the same bids (N, CV, SPD, DIFFP, RD, RDNOR, RDALT, KURT, SKEW,
KSTEST, TIES; docs/collusion.md) and the place of the winner's bid (whether it is the lowest, its rank) feed the
collusion model (the model shipped with Aiqyn, or the file `model`), computed inside the query: the tender is
also flagged when the model's calibrated probability of bid rigging reaches `min_probability`. The flag's value
is that probability. The tenderers of a tender whose bids are in fixed increments are flagged too, with the
number of such tenders they bid in; a tender flagged by the probability alone names no firm. Processes whose
procurement method details do not compare prices are skipped.""",
    example="""Three bids of 1,000,000, 1,030,000 and 1,060,000 tenge (gaps of 30,000 each), or of 500,000.00,
500,000.01 and 500,000.02: flagged. Bids of 1,000,000, 1,030,000 and 1,100,000: not flagged.""",
    why="""Independent bidders price from their own costs, so the distances between their bids are irregular.
Cover bids prepared by a ring are often derived from the designated winner's price by a fixed step (a
percentage, or one tiyn above the previous bid), which leaves the bids in fixed increments. The OECD lists
"bids in fixed increments" and identical bids among the suspicious pricing patterns; screens based on the
distribution of bids (coefficient of variation, difference between the two lowest bids) detect cartels in
procurement data (Imhof; Huber and Imhof).""",
    output="""The process (`OCID`) gets the model's calibrated probability of bid rigging; each tenderer of its bids
(`Tenderer`) of a tender whose bids are in fixed increments gets the number of such tenders it bid in (a tender
flagged by the probability alone names no firm: the model scores the tender's bids as a whole). Evidence: the
currency, the number of bids, the lowest and highest bids, the gap, the screens (CV, DIFFP, SPD, RD, KURT, SKEW,
KSTEST, TIES), whether the winner gave the lowest bid, whether the bids are in fixed increments, the probability,
`min_probability`, the model's own threshold and the tolerance used; for a tenderer, the processes.""",
    sources=(
        Source("OECD (2009), Guidelines for fighting bid rigging in public procurement: suspicious pricing "
               "patterns", "https://www.oecd.org/competition/cartels/42851044.pdf"),
        Source("Imhof, D. (2017), Simple statistical screens to detect bid rigging, Working Papers SES 484, "
               "University of Fribourg", "https://doc.rero.ch/record/306305"),
        Source("Huber, M. and Imhof, D. (2019), Machine learning with screens for detecting bid-rigging cartels, "
               "International Journal of Industrial Organization 65", "https://doi.org/10.1016/j.ijindorg.2019.04.002"),
    ),
    cardinal_differences="""- Cardinal does not implement R055; Aiqyn uses the code for this bid-rigging screen.""",
)
