"""Read goszakup.gov.kz OWS v3 responses as users hold them, item by item, in flat memory.

Shapes, detected from the content: a saved REST page (`{"total", "limit", "next_page", "items": [...]}`),
a GraphQL answer (`{"data": {"Contract": [...]}, "extensions": {...}}`), a JSON array of items, JSON lines
of items (what `aiqyn goszakup fetch` writes; a line may also hold a whole page), each possibly
gzip-compressed and starting with a UTF-8 byte order mark (the portal's saved pages do). Big documents
are streamed with ijson; JSON lines are read line by line.

`unit_source` turns a file into the units the ingest pipeline consumes: each item becomes one OCDS
release (see mapping.py), and an item that cannot be mapped becomes a Problem naming its line or JSON
pointer, the field and the reason, with its raw text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson
import orjson
import pyarrow as pa
from ijson.common import ObjectBuilder

from aiqyn.goszakup.mapping import (
    MappingError,
    entity_of,
    participant_entry,
    release_text,
    rnu_entry,
    snake_keys,
    to_release,
)
from aiqyn.goszakup.refs import Refs, book_of
from aiqyn.ingest.readers import CHUNK_BYTES, Problem, Units, open_source, read_head

HEAD_BYTES = 1 << 16
# Field names only goszakup uses: a file whose head holds one of them (and no "ocid") is goszakup data.
_MARKERS = re.compile(
    rb'"(contract_sum_wnds|contractSumWnds|trd_buy_id|trdBuyId|ref_enstru_code|refEnstruCode|number_anno|numberAnno'
    rb'|lot_number|lotNumber|supplier_biin|supplierBiin|subject_biin|subjectBiin|org_bin|orgBin|customer_bin'
    rb'|customerBin|ref_trade_methods_id|refTradeMethodsId|app_lots|AppLots|date_apply|dateApply|supplier_innunp'
    rb'|supplierInnunp|ref_kopf_code|refKopfCode|mark_resident|markResident)"\s*:'
    rb'|"next_page"\s*:\s*"/v3/')
_OCID = re.compile(rb'"ocid"\s*:')
_NEXT_PAGE = re.compile(rb'"next_page"\s*:\s*"([^"]*)"')
_ITEM_PREFIX = re.compile(r"^(item|items\.item|data\.[^.]+\.item|data\.[^.]+\.items\.item)$")
BATCH_ITEMS = 20_000


def _head(path: Path) -> bytes:
    stream, _counter = open_source(path)
    try:
        return read_head(stream, HEAD_BYTES)
    except (OSError, EOFError):
        return b""
    finally:
        stream.close()


def reference_book(path: Path, head: bytes | None = None) -> str | None:
    """The reference book (`ref_units`...) a file holds, from its `next_page` URL or its name; else None."""
    head = _head(path) if head is None else head
    m = _NEXT_PAGE.search(head)
    if m and b"/refs/" in m.group(1):
        return book_of(m.group(1).decode("utf-8", "replace"))
    if _MARKERS.search(head) or _OCID.search(head):
        return None
    return book_of(path.name)


def is_goszakup(path: Path) -> bool:
    """Whether a file holds goszakup data (items with goszakup's field names, or a reference book)."""
    head = _head(path)
    if _OCID.search(head):
        return False
    return bool(_MARKERS.search(head)) or reference_book(path, head) is not None


@dataclass
class Item:
    """One item of a file: where it is (line, JSON pointer), its value (or a Problem)."""

    line: int | None
    pointer: str | None
    value: Any


def iter_items(path: Path, counter_out: list[Any] | None = None) -> Iterator[Item | Problem]:
    """Every item of a goszakup file, in order; what cannot be read becomes a Problem."""
    stream, counter = open_source(path)
    if counter_out is not None:
        counter_out.append(counter)
    try:
        try:
            head = read_head(stream, HEAD_BYTES)
        except (OSError, EOFError) as exc:
            yield Problem(None, None, f"cannot read the file: {exc}", "")
            return
        stripped = head.lstrip()
        if not stripped:
            yield Problem(None, None, "empty file: no JSON in it", "")
            return
        first, sep, _ = stripped.partition(b"\n")
        if stripped[:1] == b"{" and sep and _whole_json(first):
            yield from _json_lines(stream)
        elif stripped[:1] in (b"{", b"["):
            yield from _document(stream)
        else:
            yield Problem(1, None, "not JSON: a goszakup file starts with '{' or '['", first[:200].decode(
                "utf-8", "replace"))
    finally:
        stream.close()


def _whole_json(line: bytes) -> bool:
    try:
        orjson.loads(line)
        return True
    except orjson.JSONDecodeError:
        return False


def _expand(value: Any, line: int | None, base: str) -> Iterator[Item]:
    """A page or a GraphQL answer met on one line: its items; anything else is an item itself."""
    if isinstance(value, dict) and isinstance(value.get("items"), list) and "id" not in value:
        for i, item in enumerate(value["items"]):
            yield Item(line, f"{base}/items/{i}", item)
    elif isinstance(value, dict) and isinstance(value.get("data"), dict) and "id" not in value:
        for key, items in value["data"].items():
            if isinstance(items, dict) and isinstance(items.get("items"), list):
                key, items = f"{key}/items", items["items"]
            if isinstance(items, list):
                for i, item in enumerate(items):
                    yield Item(line, f"{base}/data/{key}/{i}", item)
    else:
        yield Item(line, base or None, value)


def _json_lines(stream: IO[bytes]) -> Iterator[Item | Problem]:
    for n, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield Problem(n, None, f"malformed JSON: {exc}", raw[:1 << 20].decode("utf-8", "replace").rstrip())
            continue
        yield from _expand(value, n, "")


def _document(stream: IO[bytes]) -> Iterator[Item | Problem]:
    """A page, a GraphQL answer or an array, streamed: only one item is in memory at a time."""
    builder: ObjectBuilder | None = None
    item_prefix = ""
    counts: dict[str, int] = {}
    done = ""
    errors: list[str] = []
    try:
        for prefix, event, value in ijson.parse(stream, use_float=True, multiple_values=True):
            if builder is not None:
                builder.event(event, value)
                if prefix == item_prefix and event in ("end_map", "end_array"):
                    yield Item(None, done, builder.value)
                    builder = None
                continue
            if prefix == "errors.item.message" and event == "string":
                errors.append(value)
            if _ITEM_PREFIX.match(prefix) and event not in ("end_array", "map_key"):
                base = "/" + prefix[: -len("item")].replace(".", "/") if prefix != "item" else "/"
                base = base if base.endswith("/") else base + "/"
                n = counts.get(prefix, 0)
                counts[prefix] = n + 1
                done = f"{base}{n}"
                if event in ("start_map", "start_array"):
                    builder = ObjectBuilder()
                    builder.event(event, value)
                    item_prefix = prefix
                else:
                    yield Item(None, done, value)
    except (ijson.JSONError, ijson.IncompleteJSONError, OSError, EOFError) as exc:
        message = " ".join(str(exc).split())
        yield Problem(None, done or "", f"malformed or truncated JSON: {message}; every item before this point "
                      "was read", "")
        return
    if not counts:
        reason = ("a GraphQL answer with errors and no data: " + "; ".join(errors)[:500] if errors else
                  "no goszakup items: expected a page ({\"items\": [...]}), a GraphQL answer ({\"data\": ...}), "
                  "an array or JSON lines of items")
        yield Problem(None, "", reason, "")


class GoszakupSource:
    """The unit source the ingest pipeline asks for each file (`Ingestor(unit_source=...)`).

    `mode` is "auto" (a file is goszakup when its content says so, else None: the OCDS readers take it),
    "goszakup" (every file is read as goszakup data) or "ocds" (never). Reference books among the files
    are read first (`preload`), so that the names they give are used whatever the order of the files.
    """

    def __init__(self, mode: str = "auto", refs: Refs | None = None):
        if mode not in ("auto", "goszakup", "ocds"):
            raise ValueError(f"unknown source {mode!r}: auto, goszakup or ocds")
        self.mode = mode
        self.refs = refs or Refs()
        self.books: dict[Path, list[Problem]] = {}  # reference books read, and what was wrong in them
        self.counts: dict[str, int] = {}
        # Register entries met among the items (they are not processes): stored by `store_registers`.
        self.unreliable: dict[tuple[str, Any], list[Any]] = {}
        self.participants: dict[str, dict[str, Any]] = {}

    def preload(self, files: list[Path]) -> None:
        """Read the reference books among `files`; what is wrong in them is reported when the file's turn comes."""
        if self.mode == "ocds":
            return
        for path in files:
            book = reference_book(path)
            if book is None:
                continue
            problems: list[Problem] = []
            for item in iter_items(path):
                if isinstance(item, Problem):
                    problems.append(item)
                elif not (isinstance(item.value, dict) and self.refs.add(book, snake_keys(item.value))):
                    problems.append(Problem(item.line, item.pointer, f"not an entry of the reference book {book}: "
                                            "no name_ru and no id or code", orjson.dumps(item.value).decode()))
            self.books[path] = problems

    def __call__(self, path: Path) -> Iterator[Units | Problem] | None:
        if self.mode == "ocds":
            return None
        if path in self.books:
            return iter(self.books[path])
        if self.mode == "auto" and not is_goszakup(path):
            return None
        return self.units(path)

    def units(self, path: Path) -> Iterator[Units | Problem]:
        """The releases of the items of `path`, in batches, with Problems for what cannot be mapped."""
        counters: list[Any] = []
        lines: list[int | None] = []
        pointers: list[str | None] = []
        raws: list[str] = []
        size = 0
        for item in iter_items(path, counters):
            if isinstance(item, Problem):
                yield item
                continue
            value = snake_keys(item.value)
            entity_guess = entity_of(value) if isinstance(value, dict) else None
            try:
                if entity_guess == "subject":
                    company = participant_entry(value)
                    self.counts["subject"] = self.counts.get("subject", 0) + 1
                    if company is not None:
                        self.participants[company["bin"]] = {**company, "source_file": str(path),
                                                             "source_line": item.line}
                    continue
                if entity_guess == "rnu":
                    entry = rnu_entry(value)
                    self.unreliable[(entry[0], entry[2])] = [*entry, str(path), item.line]
                    self.counts["rnu"] = self.counts.get("rnu", 0) + 1
                    continue
                entity, release = to_release(value, self.refs, entity_guess, snaked=True)
            except MappingError as exc:
                pointer = (item.pointer or "") + exc.pointer
                yield Problem(item.line, pointer or None, exc.reason,
                              orjson.dumps(item.value).decode("utf-8")[: 10 << 20])
                continue
            self.counts[entity] = self.counts.get(entity, 0) + 1
            text = release_text(release).decode("utf-8")
            lines.append(item.line)
            pointers.append(item.pointer)
            raws.append(text)
            size += len(text)
            if size >= CHUNK_BYTES or len(raws) >= BATCH_ITEMS:
                yield Units(lines, pointers, pa.array(raws, type=pa.large_string()), counters[0].count)
                lines, pointers, raws, size = [], [], [], 0
        if raws:
            yield Units(lines, pointers, pa.array(raws, type=pa.large_string()), counters[0].count if counters else 0)


    def store_registers(self, con: Any) -> dict[str, int]:
        """Store the register entries read; how many went into each table.

        - the register of unreliable suppliers into `unreliable_suppliers`, as `aiqyn registers import unreliable`
          does: an entry replaces the one with the same BIN and inclusion date;
        - participants with a BIN into the companies register (`companies`) when it does not hold them yet: the
          state register, imported with `aiqyn registers import companies`, is never overwritten.
        """
        stored: dict[str, int] = {}
        if self.unreliable:
            from aiqyn.indicators.runner import ensure_tables

            ensure_tables(con)
            rows = list(self.unreliable.values())
            con.execute("BEGIN TRANSACTION")
            try:
                con.executemany("DELETE FROM unreliable_suppliers WHERE bin = ? AND included_on = ?",
                                [[r[0], r[2]] for r in rows])
                con.executemany("INSERT INTO unreliable_suppliers VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            stored["unreliable_suppliers"] = len(rows)
        if self.participants:
            from aiqyn.conflicts.registers import ensure_register_tables, insert_rows
            from aiqyn.store.schema import SCHEMA

            ensure_register_tables(con)
            known = {r[0] for r in con.execute("SELECT bin FROM companies WHERE bin IN (SELECT unnest(?))",
                                               [list(self.participants)]).fetchall()}
            columns = SCHEMA.registers["companies"].column_names
            new = [[row.get(c) for c in columns] for b, row in self.participants.items() if b not in known]
            con.execute("BEGIN TRANSACTION")
            try:
                insert_rows(con, "companies", new)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            stored["companies"] = len(new)
        return stored


def unit_source(mode: str, files: list[Path]) -> GoszakupSource:
    """A GoszakupSource for `mode`, with the reference books among `files` read."""
    source = GoszakupSource(mode)
    source.preload(files)
    return source
