"""Settings of a run: which indicators, with which parameters, in which mode.

Two formats:

- **Aiqyn's own** (TOML): top-level keys of `GlobalSettings`, an `[exclusions]` table with
  `procurement_method_details`, and a table per indicator (`[R003]`, with `[R003.procurement_method_details]`
  for a mapping). Indicators are computed with Aiqyn's definitions (`mode = aiqyn`).
- **Cardinal's INI files** (the `--settings` file of `ocdscardinal indicators`): the same keys, lists written
  `a|b`. Cardinal's behaviour is then reproduced exactly, defects included (`mode = cardinal`); sections of
  Cardinal's `prepare` command are accepted and have no effect here.

As in Cardinal, an indicator runs only when its section is present; without a settings file, every indicator
runs with its defaults. Unknown sections, keys and values of the wrong type are errors naming the file, the
line (INI) and the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from aiqyn.indicators.base import BaseParams, GlobalSettings
from aiqyn.indicators.registry import REGISTRY

# Sections and keys of Cardinal's `prepare` command: valid in its settings files, without effect on indicators.
PREPARE_SECTIONS: dict[str, set[str] | None] = {
    "defaults": {"currency", "item_classification_scheme", "bid_status", "award_status", "party_roles"},
    "redactions": {"amount", "organization_id"},
    "corrections": {"award_status_by_contract_status"},
    "modifications": {"move_auctions", "prefix_buyer_or_procuring_entity_id", "prefix_tenderer_or_supplier_id",
                      "split_procurement_method_details"},
    "codelists.bid_status": None,  # any key: a mapping of codes
    "codelists.award_status": None,
}
GLOBAL_KEYS = {"currency", "no_price_comparison_procurement_methods", "price_comparison_procurement_methods"}


class SettingsError(ValueError):
    """A settings file that cannot be used; the message names the file, the line when known, and the key."""


@dataclass(frozen=True)
class Settings:
    mode: str  # "aiqyn" or "cardinal"
    globals: GlobalSettings
    indicators: dict[str, BaseParams]
    source: str | None = None
    ignored: list[str] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)  # the [weights] table of the risk score (TOML)

    @property
    def cardinal(self) -> bool:
        return self.mode == "cardinal"

    def only(self, codes: list[str]) -> Settings:
        """These settings restricted to the given codes (which must be registered)."""
        wanted = [c.strip().upper() for c in codes if c.strip()]
        unknown = [c for c in wanted if c not in REGISTRY]
        if unknown:
            raise SettingsError(f"unknown indicator(s) {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
        params = {c: p if (p := self.indicators.get(c)) is not None else REGISTRY[c].params() for c in wanted}
        return Settings(self.mode, self.globals, params, self.source, self.ignored, self.weights)

    def as_dict(self) -> dict[str, Any]:
        out = {"mode": self.mode, "globals": self.globals.model_dump(),
               "indicators": {c: p.model_dump() for c, p in self.indicators.items()}}
        if self.weights:
            out["weights"] = self.weights
        return out


def default_settings() -> Settings:
    """Every registered indicator with its defaults, Aiqyn's definitions."""
    return Settings("aiqyn", GlobalSettings(), {code: ind.params() for code, ind in REGISTRY.items()})


def load_settings(path: Path) -> Settings:
    """Read an Aiqyn TOML or a Cardinal INI settings file (by its extension: .toml, else INI)."""
    if not path.exists():
        raise SettingsError(f"{path}: no such settings file")
    if path.is_dir():
        raise SettingsError(f"{path}: is a directory, not a settings file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise SettingsError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    if path.suffix.lower() == ".toml":
        return _from_toml(path, text)
    return _from_ini(path, text)


# -- Cardinal's INI -------------------------------------------------------------------------------------
_SECTION = re.compile(r"^\[\s*([^\]]+?)\s*\]$")
_KEY = re.compile(r"^([^=:\[\]]+?)\s*[=:]\s*(.*)$")  # keys may be Cyrillic method names


def _parse_ini(path: Path, text: str) -> dict[str, dict[str, tuple[str, int]]]:
    """{section: {key: (value, line)}}; the top level is section ''. Comments start with ; or #."""
    sections: dict[str, dict[str, tuple[str, int]]] = {"": {}}
    current = ""
    section_lines: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith((";", "#")):
            continue
        if m := _SECTION.match(line):
            current = m.group(1)
            if current in sections:
                raise SettingsError(f"{path}:{number}: section [{current}] appears twice "
                                    f"(first at line {section_lines[current]})")
            sections[current] = {}
            section_lines[current] = number
            continue
        if m := _KEY.match(line):
            key, value = m.group(1).strip(), m.group(2).strip()
            if key in sections[current]:
                raise SettingsError(f"{path}:{number}: key {key!r} appears twice in "
                                    f"{'[' + current + ']' if current else 'the top level'}")
            sections[current][key] = (value, number)
            continue
        raise SettingsError(f"{path}:{number}: not a section header, a `key = value` line or a comment: {line[:60]!r}")
    sections["__lines__"] = {name: ("", n) for name, n in section_lines.items()}
    return sections


def _from_ini(path: Path, text: str) -> Settings:
    sections = _parse_ini(path, text)
    section_lines = {name: n for name, (_, n) in sections.pop("__lines__").items()}
    ignored: list[str] = []
    global_values: dict[str, Any] = {}
    lines: dict[tuple[str, str], int] = {}
    for key, (value, line) in sections.pop("").items():
        if key not in GLOBAL_KEYS:
            raise SettingsError(f"{path}:{line}: unknown setting {key!r}; known top-level settings: "
                                f"{', '.join(sorted(GLOBAL_KEYS))}")
        global_values[key] = value
        lines[("", key)] = line
    indicator_values: dict[str, dict[str, Any]] = {}
    for name, entries in sections.items():
        line = section_lines[name]
        code, _, sub = name.partition(".")
        if name == "exclusions":
            for key, (value, kline) in entries.items():
                if key != "procurement_method_details":
                    raise SettingsError(f"{path}:{kline}: unknown setting {key!r} in [exclusions]; known: "
                                        "procurement_method_details")
                global_values["excluded_procurement_method_details"] = value
                lines[("", "excluded_procurement_method_details")] = kline
        elif name in PREPARE_SECTIONS:
            allowed = PREPARE_SECTIONS[name]
            for key, (_, kline) in entries.items():
                if allowed is not None and key not in allowed:
                    raise SettingsError(f"{path}:{kline}: unknown setting {key!r} in [{name}]; known: "
                                        f"{', '.join(sorted(allowed))}")
            ignored.append(name)
        elif code.upper() in REGISTRY and code == code.upper():
            target = indicator_values.setdefault(code, {})
            if sub:
                field_info = REGISTRY[code].params.model_fields.get(sub)
                if field_info is None or not str(field_info.annotation).startswith("dict"):
                    raise SettingsError(f"{path}:{line}: unknown section [{name}]: {code} has no mapping "
                                        f"parameter {sub!r}")
                target[sub] = {k: v for k, (v, _) in entries.items()}
                for k, (_, kline) in entries.items():
                    lines[(code, f"{sub}.{k}")] = kline
                lines[(code, sub)] = line
            else:
                for key, (value, kline) in entries.items():
                    target[key] = value
                    lines[(code, key)] = kline
        else:
            known = ", ".join([*REGISTRY, "exclusions", *PREPARE_SECTIONS])
            raise SettingsError(f"{path}:{line}: unknown section [{name}]; known sections: {known}")
    return _build(path, "cardinal", global_values, indicator_values, lines, ignored)


# -- Aiqyn's TOML ---------------------------------------------------------------------------------------
def _from_toml(path: Path, text: str) -> Settings:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"{path}: {e}") from None
    global_values: dict[str, Any] = {}
    indicator_values: dict[str, dict[str, Any]] = {}
    weights: dict[str, float] = {}
    for key, value in data.items():
        if key in GLOBAL_KEYS:
            global_values[key] = value
        elif key == "weights":
            from aiqyn.scoring.weights import WeightsError, check_weights

            try:
                weights = check_weights(value, path)
            except WeightsError as e:
                raise SettingsError(str(e)) from None
        elif key == "exclusions" and isinstance(value, dict):
            for k, v in value.items():
                if k != "procurement_method_details":
                    raise SettingsError(f"{path}: unknown setting {k!r} in [exclusions]; known: "
                                        "procurement_method_details")
                global_values["excluded_procurement_method_details"] = v
        elif key in REGISTRY and isinstance(value, dict):
            indicator_values[key] = value
        else:
            raise SettingsError(f"{path}: unknown setting or section {key!r}; known: "
                                f"{', '.join([*sorted(GLOBAL_KEYS), 'exclusions', 'weights', *REGISTRY])}")
    built = _build(path, "aiqyn", global_values, indicator_values, {}, [])
    return Settings(built.mode, built.globals, built.indicators, built.source, built.ignored, weights)


def _build(path: Path, mode: str, global_values: dict[str, Any], indicator_values: dict[str, dict[str, Any]],
           lines: dict[tuple[str, str], int], ignored: list[str]) -> Settings:
    globals_ = _validate(GlobalSettings, global_values, path, lines, "")
    params = {code: _validate(REGISTRY[code].params, values, path, lines, code)
              for code, values in indicator_values.items()}
    # Keep the registry's order, as Cardinal runs its indicators in a fixed order.
    ordered = {code: params[code] for code in REGISTRY if code in params}
    return Settings(mode, globals_, ordered, str(path), ignored)


def _validate(model: type[BaseModel], values: dict[str, Any], path: Path, lines: dict[tuple[str, str], int],
              section: str) -> Any:
    """The model built from the values, or a SettingsError naming the file, the line and the key."""
    try:
        return model(**values)
    except ValidationError as e:
        error = e.errors()[0]
        key = ".".join(str(p) for p in error["loc"]) or "?"
        line = lines.get((section, key)) or lines.get((section, key.split(".")[0]))
        place = f"{path}:{line}" if line else str(path)
        label = f"[{section}] " if section else ""
        if error["type"] == "extra_forbidden":
            known = ", ".join(model.model_fields) or "none"
            raise SettingsError(f"{place}: unknown parameter {label}{key!r}; known parameters: {known}") from None
        raise SettingsError(f"{place}: {label}{key} = {error.get('input')!r}: {error['msg']}") from None
