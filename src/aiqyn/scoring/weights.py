"""The weights of the indicators in the composite risk score, with their defaults and the reasoning behind them.

A weights file is TOML with one table, `[weights]`, mapping indicator codes to non-negative numbers (the same
table may sit in an Aiqyn TOML settings file, `--settings`); the codes not in it keep their default weight; an
unknown code, a negative or non-numeric weight is an error naming the file and the key. Weight 0 leaves an
indicator out of the score (its flags stay in the `flags` table).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from aiqyn.indicators.registry import REGISTRY

# code -> (default weight, why). Scale: 1 a weak or frequent signal, 2 a moderate one, 3 a strong one that
# points at a specific scheme, 4 a breach of a rule on its face.
DEFAULTS: dict[str, tuple[float, str]] = {
    "R003": (0.0, "Cardinal's single threshold (15 days) flags every request for price proposals, which may legally "
                  "run 5 days on goszakup: KZ012 applies each method's minimum instead."),
    "R018": (1.0, "A single bid is common in thin markets and often innocent; weak alone."),
    "R024": (2.0, "A runner-up a hair above the winner suggests cover bidding; statistical, so moderate."),
    "R025": (1.0, "Many unsuccessful bids by one tenderer: a weak, indirect sign of cover bidding."),
    "R028": (3.0, "Identical prices from different bidders rarely happen by chance: strong sign of collusion."),
    "R030": (2.0, "A late bid that won points at a manipulated procedure."),
    "R035": (2.0, "All bids but the winner's disqualified: competition removed by the commission."),
    "R036": (2.0, "The lowest bid disqualified: the commission chose a dearer winner."),
    "R038": (1.0, "Many disqualifications: weak alone, often paperwork."),
    "R048": (1.0, "A supplier of unrelated goods: weak, may be a trading company."),
    "R058": (1.0, "A heavily discounted winning bid: may recover the difference later; often innocent."),
    "R044": (3.0, "Bidders sharing a phone, email or address are likely one group simulating competition."),
    "R055": (3.0, "Bids in fixed increments are what cover bids derived from the winner's price look like: strong "
                  "sign of a bid-rigging ring."),
    "KZ001": (1.0, "A buyer relying on single-source purchases: a buyer-level pattern, moderate evidence."),
    "KZ002": (3.0, "Purchases split under a threshold: avoids the open procedure, a specific scheme."),
    "KZ003": (3.0, "A contract raised far beyond its award: the competition was a formality."),
    "KZ004": (3.0, "A winner registered just before the tender: a shell or a favoured newcomer."),
    "KZ005": (4.0, "A supplier barred by the register of unreliable suppliers won: a breach on its face."),
    "KZ006": (3.0, "A supplier holding a large share of a buyer's contracts: capture of the buyer."),
    "KZ007": (2.0, "A new supplier's first contract is a large one: favoured or a shell; moderate."),
    "KZ008": (1.0, "December spending rush: common, a weak buyer-level signal."),
    "KZ009": (1.0, "A contract signed on a non-working day: backdating or an out-of-office deal; weak alone."),
    "KZ010": (1.0, "A decision too fast or too slow: weak alone."),
    "KZ011": (1.0, "A winning price at the estimate: weak alone (competition may be thin for good reasons)."),
    "KZ012": (3.0, "A submission period under the legal minimum: a breach of the rules favouring an insider."),
    "KZ013": (3.0, "A unit price far above the benchmark or the ceiling price: direct loss of public money."),
    # Conflict-of-interest flags of the affiliation graph (aiqyn.conflicts, `aiqyn entities flags`).
    "CI001": (4.0, "The winner is affiliated with an official of the buyer or of its commission: a conflict of "
                   "interest on its face."),
    "CI002": (4.0, "A political servant is connected to a supplier of a body they oversee: the interference the "
                   "law forbids."),
    "CI003": (3.0, "Bidders of one tender belong to one group: competition simulated by related companies."),
}


def known_codes() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Every flag code a score may weigh, with its title and subjects: the registered indicators, and the
    conflict-of-interest flags that the affiliation graph writes into a run through its hook."""
    from aiqyn.conflicts.graph import CODES as CONFLICT_CODES

    codes = {code: (ind.title, tuple(ind.subjects)) for code, ind in REGISTRY.items()}
    codes.update({code: (title, ("process",)) for code, title in CONFLICT_CODES.items()})
    return codes
DEFAULT_WEIGHTS: dict[str, float] = {code: weight for code, (weight, _) in DEFAULTS.items()}
# An indicator registered without a reasoned weight above counts with this one.
FALLBACK = (1.0, "No reasoned weight yet: the fallback weight 1.")


class WeightsError(ValueError):
    """A weights file that cannot be used; the message names the file and the key."""


def load_weights(path: Path | None, base: dict[str, float] | None = None) -> dict[str, float]:
    """The default weights (updated with `base`), overridden by the `[weights]` table of a TOML file when one is
    given."""
    weights = {code: DEFAULTS.get(code, FALLBACK)[0] for code in known_codes()}
    weights.update(base or {})
    if path is None:
        return weights
    if not path.exists():
        raise WeightsError(f"{path}: no such weights file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise WeightsError(f"{path}: not a TOML file: {e}") from None
    unknown_tables = set(data) - {"weights"}
    if unknown_tables:
        raise WeightsError(f"{path}: unknown table(s) {', '.join(sorted(unknown_tables))}; expected [weights]")
    weights.update(check_weights(data.get("weights") or {}, path))
    return weights


def check_weights(values: Any, path: Path) -> dict[str, float]:
    """A `[weights]` table checked: registered codes, numbers >= 0; a WeightsError naming the file and key."""
    if not isinstance(values, dict):
        raise WeightsError(f"{path}: weights: expected a table [weights] of code = weight")
    checked: dict[str, float] = {}
    for code, value in values.items():
        if code not in known_codes():
            raise WeightsError(f"{path}: [weights] {code}: unknown indicator; known: {', '.join(known_codes())}")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise WeightsError(f"{path}: [weights] {code} = {value!r}: expected a number >= 0")
        checked[code] = float(value)
    return checked


def markdown() -> str:
    """The reference page of the risk score (docs/indicators/scoring.md), generated from the defaults above."""
    from aiqyn.scoring import score

    doc = (score.__doc__ or "").split("\n\n", 1)[1].strip()
    out = [
        "<!-- Generated by `aiqyn flags docs` from src/aiqyn/scoring/weights.py; do not edit by hand. -->",
        "",
        "# Composite risk score",
        "",
        "`aiqyn flags run` computes the score after the flags (with `--weights FILE` to change the weights, "
        "`--no-score` to skip it); `aiqyn score --weights FILE` scores a run again. The scores go to the `scores` "
        "table (docs/schema.md): one row per run, subject type (process, buyer, supplier, region) and subject, "
        "with its score, rank, the processes it covers, the flags it counts and its explanation.",
        "",
        "## How it is computed",
        "",
        doc,
        "",
        "The explanation is a JSON list, largest contribution first: for each component, the indicator's `code` "
        "and `title`, its `weight`, the component's `value`, its `contribution` (the contributions add up to the "
        "score), and its `evidence`: the flag's evidence for a process or the subject's own flag; for a buyer, "
        "supplier or region also `flagged_processes` and up to five `examples`.",
        "",
        "## Default weights",
        "",
        "| code | title | weight | why this weight |",
        "|---|---|---|---|",
    ]
    for code, (title, _subjects) in known_codes().items():
        weight, why = DEFAULTS.get(code, FALLBACK)
        link = f"[{code}]({code}.md)" if code in REGISTRY else f"{code} ([conflicts](../conflicts.md))"
        out.append(f"| {link} | {title} | {weight:g} | {why} |")
    out += [
        "",
        "## Weights file",
        "",
        "The table `[weights]` of an Aiqyn settings file (`aiqyn flags run --settings aiqyn.toml`) or of a "
        "weights file (`--weights weights.toml`, which wins over the settings file):",
        "",
        "```toml",
        "# only the weights that change; the others keep their defaults",
        "[weights]",
        "KZ009 = 0     # leave contracts signed on non-working days out of the score",
        "R028 = 4",
        "```",
        "",
        "An unknown code, a negative or non-numeric weight, or another table is an error naming the file and "
        "the key.",
        "",
    ]
    return "\n".join(out)
