"""Documentation text shared by several indicators' pages."""

from __future__ import annotations

RATIO_METHOD = """For each contracting process whose awards are all final (active, cancelled or unsuccessful) with
exactly one active award to exactly one supplier, Aiqyn takes the valid bids submitted by a single tenderer
with an amount in the compared currency (`currency`). The winner's lowest bid is compared with the lowest bid
of any other tenderer: the ratio is (second-lowest − winning) / winning. A process whose lowest bid did not
win is left out (its award criteria are not price only). Processes whose procurement method details do not
compare prices (`no_price_comparison_procurement_methods`, or not in `price_comparison_procurement_methods`)
are skipped."""

RATIO_DIFFERENCES = """- **Currency.** Without a `currency` setting, Cardinal compares bids in the first currency it
  happens to read; it reads in parallel, so which one is not deterministic. Aiqyn (in both modes) takes the
  most common currency of the bids, then the first in alphabetical order: the same data always give the same
  flags.
- **A winning bid of zero.** With Aiqyn's own settings a winning amount of zero or less is left out (the ratio
  is not defined); with a Cardinal INI file it is kept, as in Cardinal.
- **Identifiers.** With Aiqyn's own settings a tenderer is identified across processes by its scheme and
  identifier (`parties.subject_id`) when the release lists it; with a Cardinal INI file, by its OCDS id."""
