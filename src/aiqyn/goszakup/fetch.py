"""Fetch goszakup.gov.kz OWS v3 REST pages with an API token, into JSON lines of items that `aiqyn ingest` reads.

The portal pages its registers with `search_after`: each page names the next (`next_page`, a path with
`search_after=<last id>`); pages run from the newest id to the oldest. The fetch:

- sends the token as `Authorization: Bearer <token>`;
- retries a request that fails with 429 or a 5xx status, or with a network error, waiting 1, 2, 4... times
  `retry_wait` seconds (or what `Retry-After` says), up to `retries` times;
- writes each page's items to the output as JSON lines, then records in a state file (OUT.fetch-state, not a
  data file: `aiqyn ingest DIR` leaves it out) the next page and the size of the output: an interrupted fetch
  started again with the same arguments goes on from the page after the last one written (the output is cut
  back to the last complete page);
- with `since`, stops after the first page whose items were all last updated before that date.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from aiqyn.goszakup.mapping import parse_date

DEFAULT_BASE_URL = "https://ows.goszakup.gov.kz"
ENTITIES = {
    "contract": "/v3/contract/all",
    "plans": "/v3/plans/all",
    "trd-buy": "/v3/trd-buy",
    "lots": "/v3/lots",
    "subject": "/v3/subject/all",
    "rnu": "/v3/rnu",
}
DATE_FIELDS = ("last_update_date", "index_date", "timestamp", "crdate", "date_create", "publish_date")


class FetchError(Exception):
    """A fetch that cannot go on: a refused token, a request that keeps failing, an answer that is not a page."""


@dataclass
class FetchResult:
    pages: int = 0
    items: int = 0
    retries: int = 0
    done: bool = False
    resumed: bool = False
    next_page: str | None = None


def endpoint_of(entity: str) -> str:
    """The REST path of an entity: a known name (contract, plans...), refs/NAME, or a path starting with /v3/."""
    if entity in ENTITIES:
        return ENTITIES[entity]
    if entity.startswith("refs/"):
        return "/v3/" + entity
    if entity.startswith("/v3/"):
        return entity
    raise FetchError(f"unknown entity {entity!r}: one of {', '.join(ENTITIES)}, refs/NAME or a /v3/ path")


def _with_limit(path: str, limit: int) -> str:
    parts = urlsplit(path)
    query = dict(parse_qsl(parts.query))
    query.setdefault("limit", str(limit))
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


def _item_date(item: dict[str, Any]) -> str | None:
    for key in DATE_FIELDS:
        value = item.get(key)
        if isinstance(value, str) and (parsed := parse_date(value)):
            return parsed
    return None


def _save_state(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def state_path(out: Path) -> Path:
    return out.with_name(out.name + ".fetch-state")


def fetch(token: str, entity: str, out: Path, since: str | None = None, base_url: str = DEFAULT_BASE_URL,
          limit: int = 500, max_pages: int | None = None, retries: int = 6, retry_wait: float = 1.0,
          timeout: float = 60.0, progress: Callable[[FetchResult], None] | None = None,
          client: httpx.Client | None = None) -> FetchResult:
    """Fetch pages of `entity` into `out` (JSON lines), resuming from `out`'s state file when there is one."""
    endpoint = endpoint_of(entity)
    since_iso = None
    if since is not None:
        since_iso = parse_date(since)
        if since_iso is None:
            raise FetchError(f"--since {since!r}: not a date (expected YYYY-MM-DD)")
    spath = state_path(out)
    base = base_url.rstrip("/")
    key: dict[str, Any] = {"base_url": base, "endpoint": endpoint, "since": since_iso, "limit": limit}
    result = FetchResult()
    state: dict[str, Any] = {**key, "next": _with_limit(endpoint, limit), "bytes": 0, "pages": 0, "items": 0,
                             "done": False}
    if spath.exists() and out.exists():
        saved = json.loads(spath.read_text(encoding="utf-8"))
        if {k: saved.get(k) for k in key} != key:
            raise FetchError(f"{spath}: a fetch with other arguments ({saved.get('endpoint')}, since "
                             f"{saved.get('since')}) was written here; choose another --out or remove both files")
        state = saved
        result.resumed = True
        with open(out, "r+b") as f:  # a page written after the last saved state is written again
            f.truncate(state["bytes"])
    elif out.exists():
        out.unlink()
    result.pages, result.items, result.done = state["pages"], state["items"], state["done"]
    if state["done"]:
        return result
    own = client is None
    http = client or httpx.Client(base_url=base, timeout=timeout,
                                  headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    try:
        with open(out, "ab") as sink:
            fetched = 0
            while state["next"] and (max_pages is None or fetched < max_pages):
                page = _get(http, state["next"], retries, retry_wait, result)
                items = page.get("items")
                if not isinstance(items, list):
                    raise FetchError(f"{state['next']}: the answer is not a page of items (keys: "
                                     f"{', '.join(sorted(page)[:10])})")
                kept = 0
                older = 0
                for item in items:
                    date = _item_date(item) if isinstance(item, dict) else None
                    if since_iso is not None and date is not None and date < since_iso:
                        older += 1
                        continue
                    sink.write(json.dumps(item, ensure_ascii=False).encode("utf-8") + b"\n")
                    kept += 1
                sink.flush()
                os.fsync(sink.fileno())
                next_page = page.get("next_page") or None
                if not items or (since_iso is not None and older == len(items)):
                    next_page = None
                state.update(next=_with_limit(next_page, limit) if next_page else None, bytes=sink.tell(),
                             pages=state["pages"] + 1, items=state["items"] + kept, done=next_page is None)
                _save_state(spath, state)
                fetched += 1
                result.pages, result.items, result.done = state["pages"], state["items"], state["done"]
                if progress:
                    progress(result)
    finally:
        if own:
            http.close()
    result.next_page = state["next"]
    return result


def _get(http: httpx.Client, path: str, retries: int, retry_wait: float, result: FetchResult) -> dict[str, Any]:
    attempt = 0
    while True:
        problem: str
        wait = retry_wait * (2 ** attempt)
        try:
            response = http.get(path)
        except httpx.TransportError as exc:
            problem = f"network error: {exc}"
        else:
            if response.status_code == 200:
                try:
                    page = response.json()
                except ValueError:
                    raise FetchError(f"{path}: the answer is not JSON: {response.text[:200]!r}") from None
                if not isinstance(page, dict):
                    raise FetchError(f"{path}: the answer is not a page (a JSON object)")
                return page
            if response.status_code in (401, 403):
                raise FetchError(f"{path}: HTTP {response.status_code}: the token was refused "
                                 "(get one at goszakup.gov.kz, in the personal account of a participant)")
            if response.status_code != 429 and response.status_code < 500:
                raise FetchError(f"{path}: HTTP {response.status_code}: {response.text[:200]}")
            problem = f"HTTP {response.status_code}"
            after = response.headers.get("Retry-After")
            if after and after.strip().isdigit():
                wait = max(wait, float(after))
        if attempt >= retries:
            raise FetchError(f"{path}: {problem}, still after {retries} retries; start the same command again to "
                             "go on from the last page written")
        attempt += 1
        result.retries += 1
        time.sleep(wait)
