"""Administrative boundaries of Kazakhstan (oblasts and districts) keyed by KATO, shipped with Aiqyn.

The files in `boundaries/` are simplified from the geoBoundaries-like shapes of the R package geokz
(https://github.com/arodionoff/geokz, commit 41c1a00, CC BY 4.0, (c) Alexander Rodionov; based on
stat.gov.kz and OCHA's KAZ COD-AB), as copied to ../shared/data/kz-admin-boundaries-geokz. They are
rebuilt with `build()` (shapely's topology-preserving simplification); Aiqyn needs nothing outside
the package to draw its maps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

SOURCE_FILES = {"region": "kaz_adm1_2024.geojson", "district": "kaz_adm2_2024.geojson"}
SHIPPED = {"region": "regions.geo.json", "district": "districts.geo.json"}
TOLERANCE = {"region": 0.02, "district": 0.01}  # degrees (about 1-2 km): enough for a national choropleth
NAME_KEYS = {"region": ("ADM1_RU", "ADM1_KK", "ADM1_EN"), "district": ("ADM2_RU", "ADM2_KK", "ADM2_EN")}


@dataclass(frozen=True)
class Unit:
    """A mapped administrative unit: an oblast (or a city of republican significance) or a district."""

    level: str
    kato: str
    name_ru: str
    name_kk: str
    name_en: str


def build(source_dir: Path, out_dir: Path, tolerance: dict[str, float] | None = None) -> dict[str, int]:
    """Simplify the source GeoJSON files into `out_dir`; returns the size of each file written (bytes)."""
    from shapely.geometry import mapping, shape

    tol = {**TOLERANCE, **(tolerance or {})}
    sizes: dict[str, int] = {}
    for level, name in SOURCE_FILES.items():
        src = json.loads((source_dir / name).read_text(encoding="utf-8"))
        feats = []
        for f in src["features"]:
            geom = shape(f["geometry"]).simplify(tol[level], preserve_topology=True)
            p = f["properties"]
            ru, kk, en = (p[k] for k in NAME_KEYS[level])
            feats.append({"type": "Feature", "id": p["KATO"],
                          "properties": {"kato": p["KATO"], "name_ru": ru, "name_kk": kk, "name_en": en},
                          "geometry": _round(mapping(geom))})
        out = {"type": "FeatureCollection",
               "source": "geokz 1.0.2 (github.com/arodionoff/geokz@41c1a00), CC BY 4.0, (c) Alexander Rodionov; "
                         f"simplified with shapely, tolerance {tol[level]} degrees",
               "features": feats}
        path = out_dir / SHIPPED[level]
        path.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        sizes[level] = path.stat().st_size
    return sizes


def _round(geom: Any, digits: int = 4) -> Any:
    if isinstance(geom, dict):
        return {k: _round(v, digits) for k, v in geom.items()}
    if isinstance(geom, list | tuple):
        return [_round(v, digits) for v in geom]
    if isinstance(geom, float):
        return round(geom, digits)
    return geom


@cache
def geojson(level: str) -> dict[str, Any]:
    """The shipped FeatureCollection of a level (region or district); each feature's id is its KATO code."""
    if level not in SHIPPED:
        raise ValueError(f"unknown level {level!r}: region or district")
    text = resources.files("aiqyn.regions").joinpath("boundaries").joinpath(SHIPPED[level]).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def units(level: str) -> tuple[Unit, ...]:
    return tuple(Unit(level, f["id"], f["properties"]["name_ru"], f["properties"]["name_kk"],
                      f["properties"]["name_en"]) for f in geojson(level)["features"])
