"""What an indicator is: its metadata, its typed parameters and its query over the store's tables.

An indicator is data plus one SQL query. The query returns rows (subject_type, subject_id, value,
evidence), evidence being JSON that explains the flag; an optional `meta` query returns (key, value) rows,
the statistics the indicator used (Cardinal's `Meta`: quartiles and fences). Python only binds the
parameters and runs the query (see runner.py); no indicator computes anything row by row in Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The subjects a flag can be about, and the group Cardinal's output files them under.
SUBJECT_TYPES: dict[str, str] = {
    "process": "OCID",
    "buyer": "Buyer",
    "procuring_entity": "ProcuringEntity",
    "tenderer": "Tenderer",
}


def split_pipes(value: Any) -> Any:
    """Cardinal writes lists as pipe-separated values (`open|selective`); Aiqyn's TOML may use arrays."""
    if isinstance(value, str):
        return value.split("|") if value else []
    return value


class BaseParams(BaseModel):
    """The parameters of an indicator. Unknown parameters are an error; values are checked and converted
    (an INI file gives text)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class GlobalSettings(BaseModel):
    """Settings shared by the indicators (Cardinal's top-level keys and its `[exclusions]` section)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    currency: str | None = None
    """The currency of the amounts compared (R024, R036, R058); default: the most common currency of the bids."""
    no_price_comparison_procurement_methods: list[str] = Field(default_factory=list)
    """Procurement method details whose processes do not compare prices (R024, R028, R036, R058)."""
    price_comparison_procurement_methods: list[str] = Field(default_factory=list)
    """Procurement method details whose processes compare prices; when set, the list above is ignored."""
    excluded_procurement_method_details: list[str] = Field(default_factory=list)
    """Procurement method details whose processes no indicator considers (Cardinal's `[exclusions]`)."""

    @field_validator("no_price_comparison_procurement_methods", "price_comparison_procurement_methods",
                     "excluded_procurement_method_details", mode="before")
    @classmethod
    def _pipes(cls, value: Any) -> Any:
        return split_pipes(value)


@dataclass(frozen=True)
class Source:
    title: str
    url: str


@dataclass(frozen=True)
class Indicator:
    """One red-flag indicator.

    `ctes` are the common table expressions (without WITH) the `select` and the `meta` queries share;
    `bind` turns the parameters into extra bound values, and `render` into SQL text placeholders (a VALUES
    list of bound parameters, for instance) when a parameter is a mapping.
    """

    code: str
    title: str
    subjects: tuple[str, ...]
    params: type[BaseParams]
    ctes: str
    select: str
    methodology: str
    why: str
    output: str
    example: str
    sources: tuple[Source, ...]
    cardinal_differences: str = ""
    meta: str | None = None
    bind: Callable[[Any], dict[str, Any]] | None = None
    render: Callable[[Any], dict[str, str]] | None = None
    # "cardinal": one of Cardinal's indicators (its page then documents the differences with Cardinal).
    tags: tuple[str, ...] = field(default=("cardinal",))

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Z]{1,3}\d{3}", self.code):
            raise ValueError(f"indicator code {self.code!r}: expected capital letters and three digits, e.g. R003")
        unknown = set(self.subjects) - set(SUBJECT_TYPES)
        if unknown:
            raise ValueError(f"{self.code}: unknown subject types {sorted(unknown)}")

    def _sql(self, tail: str, params: BaseParams) -> str:
        ctes = self.ctes
        if self.render is not None:
            for key, text in self.render(params).items():
                ctes = ctes.replace("{" + key + "}", text)
        return f"WITH {ctes}\n{tail}" if ctes.strip() else tail

    def query(self, params: BaseParams) -> str:
        """The SELECT returning (subject_type, subject_id, value, evidence)."""
        return self._sql(self.select, params)

    def meta_query(self, params: BaseParams) -> str | None:
        """The SELECT returning the (key, value) statistics of the run, when the indicator has any."""
        return None if self.meta is None else self._sql(self.meta, params)

    def bindings(self, params: BaseParams) -> dict[str, Any]:
        """The indicator's own bound values: its parameters (lists as lists), plus what `bind` adds."""
        values: dict[str, Any] = params.model_dump()
        if self.bind is not None:
            values.update(self.bind(params))
        return values


def used_parameters(sql: str, values: dict[str, Any]) -> dict[str, Any]:
    """The values whose `$name` the SQL uses (DuckDB rejects values that are bound but not used)."""
    names = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", sql))
    missing = names - set(values)
    if missing:
        raise KeyError(f"the query uses parameters without a value: {sorted(missing)}")
    return {k: v for k, v in values.items() if k in names}
