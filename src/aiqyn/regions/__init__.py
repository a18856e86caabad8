"""The regional corruption-risk index (module 6 of the mission): per oblast and district (KATO), per year,
with shipped boundaries, choropleth maps and rankings. See docs/regions.md."""

from aiqyn.regions.index import COMPONENTS, WEIGHTS, compute

__all__ = ["COMPONENTS", "WEIGHTS", "compute"]
