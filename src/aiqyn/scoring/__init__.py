"""Composite corruption-risk scores: flags -> a score per process, buyer, supplier and region, with explanations."""

from aiqyn.scoring.score import ScoreResult, score_run
from aiqyn.scoring.weights import DEFAULT_WEIGHTS, WeightsError, load_weights

__all__ = ["DEFAULT_WEIGHTS", "ScoreResult", "WeightsError", "load_weights", "score_run"]
