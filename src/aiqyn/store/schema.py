"""Load the store's schema from schema.yaml and turn it into DDL and documentation.

The schema is data (as in FollowTheMoney): one YAML file names every table and column with its type and
meaning. Code here only reads and checks it; nothing else in the project declares a store table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self, if_not_exists: bool = True) -> str:
        cols = ",\n  ".join(f'"{c.name}" {c.type}' for c in self.columns)
        guard = "IF NOT EXISTS " if if_not_exists else ""
        return f"CREATE TABLE {guard}{self.name} (\n  {cols}\n)"


@dataclass(frozen=True)
class Schema:
    version: int
    tables: dict[str, Table]
    # Written by analytics (flags, scores), not by ingest; created by the module that writes them.
    outputs: dict[str, Table] = field(default_factory=dict)
    # Input registers (officials, relatives, companies, meetings): imported by their module, not by ingest.
    registers: dict[str, Table] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Table:
        return self.tables[name]

    def markdown(self) -> str:
        """The reference page docs/schema.md, generated from schema.yaml."""
        out = [
            "# The canonical store",
            "",
            "Generated from `src/aiqyn/store/schema.yaml` by `aiqyn store docs`; do not edit by hand.",
            "",
            f"Schema version {self.version}. Ingest writes these tables; indicators, scoring and the web",
            "application read only them.",
            "",
        ]
        out += _section(self.tables.values())
        if self.outputs:
            out += ["# Analytic outputs", "",
                    "Written by the analytics downstream of the store (indicators, scoring), never by ingest.", ""]
            out += _section(self.outputs.values())
        if self.registers:
            out += ["# Input registers", "",
                    "Imported by `aiqyn registers import` and `aiqyn meetings import` (docs/conflicts.md), never by "
                    "ingest.", ""]
            out += _section(self.registers.values())
        return "\n".join(out)


def _section(tables: Iterable[Table]) -> list[str]:
    """The markdown of some tables: each with its doc, key and documented columns."""
    out: list[str] = []
    for t in tables:
        out += [f"## `{t.name}`", "", t.doc, ""]
        if t.primary_key:
            out += [f"Key: `({', '.join(t.primary_key)})`", ""]
        out += ["| column | type | meaning |", "|---|---|---|"]
        out += [f"| `{c.name}` | {c.type} | {c.doc.replace('|', '/')} |" for c in t.columns]
        out.append("")
    return out


def _load() -> Schema:
    text = resources.files("aiqyn.store").joinpath("schema.yaml").read_text(encoding="utf-8")
    # libyaml's loader when present: the pure-Python one took a quarter of a second of every command's start.
    raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return Schema(int(raw["version"]), _tables(raw["tables"]), _tables(raw.get("outputs") or {}),
                  _tables(raw.get("registers") or {}))


def _tables(raw_tables: dict[str, Any]) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for name, spec in raw_tables.items():
        columns = tuple(Column(cname, c["type"], c["doc"]) for cname, c in spec["columns"].items())
        for c in columns:
            if not c.doc.strip():
                raise ValueError(f"schema.yaml: column {name}.{c.name} is not documented")
        pk = tuple(spec.get("primary_key") or ())
        missing = set(pk) - {c.name for c in columns}
        if missing:
            raise ValueError(f"schema.yaml: primary key of {name} names unknown columns {sorted(missing)}")
        tables[name] = Table(name, spec["doc"], pk, columns)
    return tables


SCHEMA = _load()
