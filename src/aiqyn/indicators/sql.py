"""SQL fragments shared by the indicators' definitions.

Every indicator is one SELECT over the store's tables (DuckDB dialect, standard SQL where it can be: CTEs,
window functions, bound `$parameters`), so that the same definition runs on another engine after
transpilation. These fragments are the parts Cardinal's indicators share: which processes are in scope,
which bids are submitted, which awards are final, the second-lowest bid ratio, and the quartiles.

Bound parameters every fragment may use (set by the runner from the settings):

- `$cardinal` (BOOLEAN): reproduce Cardinal exactly (settings read from a Cardinal INI file).
- `$excluded_details` (VARCHAR[]): `[exclusions] procurement_method_details`.
- `$price_methods`, `$no_price_methods` (VARCHAR[]) and `$has_price_methods` (BOOLEAN): the allow and deny
  lists of procurement method details for the indicators that compare prices.
- `$currency` (VARCHAR or NULL): the currency of the bids compared.
"""

from __future__ import annotations

# Processes in scope of every indicator: Cardinal skips cancelled processes and the procurement method
# details named in `[exclusions]`.
PROCS = """procs AS (
  SELECT * FROM processes
  WHERE status IS DISTINCT FROM 'cancelled'
    AND (method_details IS NULL OR NOT array_contains(CAST($excluded_details AS VARCHAR[]), method_details))
)"""

# Whether a process's procurement method details allow price comparison (alias p). An allow list, when
# set, wins over the deny list; a process without details matches only when no allow list is set.
PRICE_COMPARISON = """(CASE WHEN p.method_details IS NULL THEN NOT $has_price_methods
      WHEN $has_price_methods THEN array_contains(CAST($price_methods AS VARCHAR[]), p.method_details)
      ELSE NOT array_contains(CAST($no_price_methods AS VARCHAR[]), p.method_details) END)"""

# A bid counts as submitted when its status is pending, valid or disqualified (alias b).
SUBMITTED = "(b.status IS NOT NULL AND b.status NOT IN ('invited', 'withdrawn'))"

# The one currency in which amounts are compared: the `currency` setting, else the most common currency of
# the bids (Cardinal takes the first currency it happens to read; see the indicators' pages).
CURRENCY = """cur AS (
  SELECT coalesce(CAST($currency AS VARCHAR), (
    SELECT b.currency FROM bids b WHERE b.currency IS NOT NULL AND b.amount IS NOT NULL
    GROUP BY b.currency ORDER BY count(*) DESC, b.currency LIMIT 1)) AS currency
)"""

# Per process: how many awards are active, and how many are not final (a status other than active,
# cancelled or unsuccessful; an award without status is ignored, as in Cardinal).
AWARD_STATE = """award_state AS (
  SELECT a.ocid,
    sum(CASE WHEN a.status = 'active' THEN 1 ELSE 0 END) AS n_active,
    sum(CASE WHEN a.status IS NOT NULL AND a.status NOT IN ('active', 'cancelled', 'unsuccessful')
        THEN 1 ELSE 0 END) AS n_pending
  FROM awards a GROUP BY a.ocid
)"""

# Processes whose awards are all final, with exactly one active award that has exactly one supplier with
# an id: only then is it known which bids competed for what was awarded.
SOLE_WINNER = AWARD_STATE + """,
active_suppliers AS (
  SELECT a.ocid, max(s.party_id) AS supplier_id, count(*) AS n_suppliers
  FROM awards a JOIN award_suppliers s ON s.ocid = a.ocid AND s.award_position = a.position
  WHERE a.status = 'active' GROUP BY a.ocid
),
sole_winner AS (
  SELECT p.ocid, p.method_details, s.supplier_id
  FROM procs p JOIN award_state w ON w.ocid = p.ocid JOIN active_suppliers s ON s.ocid = p.ocid
  WHERE w.n_active = 1 AND w.n_pending = 0 AND s.n_suppliers = 1 AND s.supplier_id IS NOT NULL
),
single_bids AS (
  SELECT b.ocid, b.position, b.status, b.amount, b.currency, max(t.party_id) AS tenderer_id,
    count(*) AS n_tenderers
  FROM bids b JOIN bid_tenderers t ON t.ocid = b.ocid AND t.bid_position = b.position
  GROUP BY b.ocid, b.position, b.status, b.amount, b.currency
)"""

# The second-lowest bid ratio (R024, R058): for a process with a sole winner, the valid bids by one
# tenderer in the compared currency; the winner's lowest bid against the lowest bid of any other tenderer
# (the first, on a tie). When the lowest bid did not win, the award criteria were not price only, so the
# process is left out. ratios(ocid, winner, winner_amount, runner_up, runner_up_amount, currency, ratio).
RATIOS = SOLE_WINNER + ",\n" + CURRENCY + """,
priced AS (
  SELECT p.ocid, sb.position, sb.amount, sb.currency, sb.tenderer_id, (sb.tenderer_id = p.supplier_id) AS is_winner
  FROM sole_winner p JOIN single_bids sb ON sb.ocid = p.ocid CROSS JOIN cur
  WHERE """ + PRICE_COMPARISON + """
    AND sb.status = 'valid' AND sb.n_tenderers = 1 AND sb.tenderer_id IS NOT NULL AND sb.amount IS NOT NULL
    AND sb.currency = cur.currency
),
ranked_bids AS (
  SELECT *, row_number() OVER (PARTITION BY ocid, is_winner ORDER BY amount, position) AS k FROM priced
),
ratios AS (
  SELECT w.ocid, w.tenderer_id AS winner, w.amount AS winner_amount, l.tenderer_id AS runner_up,
    l.amount AS runner_up_amount, w.currency, (l.amount - w.amount) / w.amount AS ratio
  FROM ranked_bids w JOIN ranked_bids l ON l.ocid = w.ocid AND l.k = 1 AND NOT l.is_winner
  WHERE w.k = 1 AND w.is_winner AND l.amount >= w.amount AND ($cardinal OR w.amount > 0)
)"""


# Every party's identity across processes, one row per process and party id (what `org_id` reads).
PARTY_KEYS = """party_keys AS (
  SELECT ocid, party_id, max(subject_id) AS subject_id FROM parties GROUP BY ocid, party_id
)"""


def org_id(source: str) -> str:
    """The rows of `source` (a SELECT with the columns ocid and party_id) with the identifier `id` of their
    organisation, as `org_key` defines it: one join with the CTE `party_keys` (PARTY_KEYS), which the query
    must define, rather than a lookup of `parties` per row."""
    return ("(SELECT s.*, CASE WHEN $cardinal THEN s.party_id ELSE coalesce(k.subject_id, s.party_id) END AS id\n"
            f"  FROM ({source}) s LEFT JOIN party_keys k ON k.ocid = s.ocid AND k.party_id = s.party_id)")


def org_key(ocid: str, party_id: str) -> str:
    """The identifier of an organisation in the output: its OCDS id as published in Cardinal mode (Cardinal
    expects ids made global by its `prepare` command), else the party's identity across processes
    (parties.subject_id, from its scheme and identifier) when the release lists the party.

    Both arguments must be qualified (`alias.column`): unqualified, they would bind to the subquery's own
    `parties` columns."""
    if "." not in ocid or "." not in party_id:
        raise ValueError(f"org_key({ocid!r}, {party_id!r}): qualify both columns with their table alias")
    return (f"(CASE WHEN $cardinal THEN {party_id} ELSE coalesce((SELECT max(pk.subject_id) FROM parties pk "
            f"WHERE pk.ocid = {ocid} AND pk.party_id = {party_id}), {party_id}) END)")


def quantile(name: str, source: str, tau: str) -> str:
    """CTEs computing a quantile of `source(g, v)` for each group g: `name(g, q)`.

    The estimator is the one of Cardinal's statistics library (statrs `quantile`, Hyndman and Fan's R-8,
    median-unbiased): h = (n + 1/3) tau + 1/3; the minimum when h < 1, the maximum when h >= n, else
    linear interpolation between the floor(h)-th and the next order statistics. A group without values
    has no row (Cardinal's NaN).
    """
    return f"""{name}_h AS (
  SELECT g, count(*) AS n, min(v) AS mn, max(v) AS mx, (count(*) + 1.0 / 3) * ({tau}) + 1.0 / 3 AS h
  FROM {source} GROUP BY g
),
{name}_r AS (SELECT g, v, row_number() OVER (PARTITION BY g ORDER BY v) AS i FROM {source}),
{name} AS (
  SELECT h.g, CASE
      WHEN floor(h.h) <= 0 OR ({tau}) = 0 THEN h.mn
      WHEN floor(h.h) >= h.n OR ({tau}) = 1 THEN h.mx
      ELSE max(CASE WHEN r.i = floor(h.h) THEN r.v END)
        + (h.h - floor(h.h)) * (max(CASE WHEN r.i = floor(h.h) + 1 THEN r.v END)
                                - max(CASE WHEN r.i = floor(h.h) THEN r.v END))
    END AS q
  FROM {name}_h h LEFT JOIN {name}_r r ON r.g = h.g AND r.i BETWEEN floor(h.h) AND floor(h.h) + 1
  GROUP BY h.g, h.n, h.mn, h.mx, h.h
)"""


def quartiles(source: str) -> str:
    """q1(g, q) and q3(g, q) of `source(g, v)`."""
    return quantile("q1", source, "0.25") + ",\n" + quantile("q3", source, "0.75")
