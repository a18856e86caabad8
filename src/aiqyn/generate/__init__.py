"""A realistic, Kazakhstan-like procurement data set with planted schemes (see generator.py)."""

from aiqyn.generate.generator import SCHEMES, SPLIT_THRESHOLD, generate

__all__ = ["SCHEMES", "SPLIT_THRESHOLD", "generate"]
