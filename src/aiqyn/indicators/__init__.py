"""Red-flag indicators over the canonical store.

One file per indicator (`rNNN.py`: metadata, typed parameters, one SQL query), listed in `registry.REGISTRY`;
`settings` reads Aiqyn's TOML and Cardinal's INI settings; `runner` writes the flags into the store's `flags`
table; `docs` generates a page per indicator; `cli` is the `aiqyn flags` command.
"""

from aiqyn.indicators.base import SUBJECT_TYPES, BaseParams, Indicator
from aiqyn.indicators.registry import REGISTRY, get
from aiqyn.indicators.runner import cardinal_output, latest_run, run
from aiqyn.indicators.settings import Settings, SettingsError, default_settings, load_settings

__all__ = ["REGISTRY", "SUBJECT_TYPES", "BaseParams", "Indicator", "Settings", "SettingsError", "cardinal_output",
           "default_settings", "get", "latest_run", "load_settings", "run"]
