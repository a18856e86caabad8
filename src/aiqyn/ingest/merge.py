"""Compiling releases of one process with the OCDS merge rules (ocdsmerge, the reference implementation).

The merge rules come from the OCDS 1.1.5 release schema plus the bids extension, shipped with Aiqyn in
release-schema-merge.json (only the keys that matter for merging), so no schema is fetched at run time.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from importlib import resources
from typing import Any

from ocdsmerge import Merger
from ocdsmerge.rules import get_merge_rules


@cache
def merger() -> Merger:
    schema = json.loads(resources.files("aiqyn.ingest").joinpath("release-schema-merge.json").read_text("utf-8"))
    return Merger(merge_rules=get_merge_rules(schema))


def compile_releases(releases: list[dict[str, Any]]) -> dict[str, Any]:
    """The compiled release of `releases` (all of one ocid), oldest first as ocdsmerge orders them.

    A release without a date sorts first (ocdsmerge needs the key); the caller passes releases in a
    deterministic order so that equal dates merge the same way whatever the order of ingestion.
    """
    prepared = [r if isinstance(r.get("date"), str) else {**r, "date": ""} for r in releases]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate ids inside a release: ocdsmerge keeps the last, as specified
        return merger().create_compiled_release(prepared)
