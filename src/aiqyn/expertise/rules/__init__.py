"""The corruption-prone factors, one per file, registered in one explicit list (the order of the report)."""

from aiqyn.expertise.rules import (
    ac01_discretion,
    ac02_deadlines,
    ac03_refusal,
    ac04_competence,
    ac05_requirements,
    ac06_pending_acts,
    ac07_vague_terms,
    ac08_appeal,
    ac09_public_control,
)
from aiqyn.expertise.rules.base import Context, Example, Factor

REGISTRY: tuple[Factor, ...] = (
    ac01_discretion.FACTOR,
    ac02_deadlines.FACTOR,
    ac03_refusal.FACTOR,
    ac04_competence.FACTOR,
    ac05_requirements.FACTOR,
    ac06_pending_acts.FACTOR,
    ac07_vague_terms.FACTOR,
    ac08_appeal.FACTOR,
    ac09_public_control.FACTOR,
)
BY_CODE = {f.code: f for f in REGISTRY}

__all__ = ["BY_CODE", "REGISTRY", "Context", "Example", "Factor"]
