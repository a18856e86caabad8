"""The one explicit list of indicators. A test fails when an indicator file is not listed here."""

from __future__ import annotations

from aiqyn.indicators import r003, r018, r024, r025, r028, r030, r035, r036, r038, r048, r058
from aiqyn.indicators.base import Indicator

REGISTRY: dict[str, Indicator] = {
    module.INDICATOR.code: module.INDICATOR
    for module in (r003, r018, r024, r025, r028, r030, r035, r036, r038, r048, r058)
}


def get(code: str) -> Indicator:
    """The indicator with this code (case-insensitive); a KeyError naming the known codes otherwise."""
    try:
        return REGISTRY[code.strip().upper()]
    except KeyError:
        raise KeyError(f"unknown indicator {code!r}; known: {', '.join(REGISTRY)}") from None
