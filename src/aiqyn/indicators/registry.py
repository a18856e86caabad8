"""The one explicit list of indicators. A test fails when an indicator file is not listed here."""

from __future__ import annotations

from aiqyn.indicators import (
    kz001,
    kz002,
    kz003,
    kz004,
    kz005,
    kz006,
    kz007,
    kz008,
    kz009,
    kz010,
    kz011,
    kz012,
    kz013,
    r003,
    r018,
    r024,
    r025,
    r028,
    r030,
    r035,
    r036,
    r038,
    r044,
    r048,
    r055,
    r058,
)
from aiqyn.indicators.base import Indicator

# Cardinal's indicators (R codes), then Kazakhstan's flags (KZ codes; R044 is a Cardinal code Cardinal left
# unimplemented).
REGISTRY: dict[str, Indicator] = {
    module.INDICATOR.code: module.INDICATOR
    for module in (r003, r018, r024, r025, r028, r030, r035, r036, r038, r048, r058, r044, r055,
                   kz001, kz002, kz003, kz004, kz005, kz006, kz007, kz008, kz009, kz010, kz011, kz012, kz013)
}


def get(code: str) -> Indicator:
    """The indicator with this code (case-insensitive); a KeyError naming the known codes otherwise."""
    try:
        return REGISTRY[code.strip().upper()]
    except KeyError:
        raise KeyError(f"unknown indicator {code!r}; known: {', '.join(REGISTRY)}") from None
