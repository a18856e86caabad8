"""Read OCDS files of any common shape as a stream of units: one release (or compiled release) each.

Shapes, detected from the content (not the file name): JSON lines (of releases, compiled releases,
records or packages), a release package, a record package, a single release, a single record, a JSON
array of any of these; each possibly gzip-compressed. Memory stays flat: JSON lines are cut in chunks of
bytes, big documents are streamed with ijson.

A reader yields `Units` (a batch of raw JSON texts with their line number or JSON pointer) and `Problem`s
(what could not be read, with the raw text), and never raises on bad input.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson
import numpy as np
import orjson
import pyarrow as pa

# Input is cut into batches of about CHUNK_BYTES; each batch is one transaction. $AIQYN_CHUNK_BYTES
# overrides it (tests use small batches to exercise commits and interruptions on little data).
CHUNK_BYTES = int(os.environ.get("AIQYN_CHUNK_BYTES") or 32 << 20)
READ_BYTES = min(CHUNK_BYTES, 1 << 20)  # bytes asked of the stream at once: little is lost when it breaks
BOM = b"\xef\xbb\xbf"
MAX_RAW_KEPT = 10 << 20  # at most this much raw text of one problem is kept in the rejects table
# The fast path parses JSON-lines files in pieces of about this size (one transaction each): about
# 0.3 GB of DuckDB memory per 128 MB of compiled releases. $AIQYN_FAST_PIECE_BYTES overrides it.
FAST_PIECE_BYTES = int(os.environ.get("AIQYN_FAST_PIECE_BYTES") or 128 << 20)


@dataclass
class Units:
    """A batch of units: raw JSON texts, each with a line number (JSON lines) or a JSON pointer."""

    lines: np.ndarray | list[int | None]
    pointers: list[str | None] | None
    raws: pa.Array
    position: int  # bytes of the (compressed) file consumed so far, for progress

    def __len__(self) -> int:
        return len(self.raws)


@dataclass
class Problem:
    """Something that could not be read: where, why, and the raw text."""

    line: int | None
    pointer: str | None
    reason: str
    raw: str


def _raw_text(data: bytes | str) -> str:
    if isinstance(data, bytes):
        data = data[:MAX_RAW_KEPT].decode("utf-8", errors="replace")
    return data[:MAX_RAW_KEPT]


class _Counting(io.RawIOBase):
    """Wraps the raw file to tell how many (compressed) bytes were read, for the progress bar."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self.raw.readinto(b)  # type: ignore[attr-defined]
        self.count += n or 0
        return n or 0

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        self.raw.close()
        super().close()


class _Gunzipped(io.RawIOBase):
    """A gzip stream as raw reads that fill the buffer asked for; the bytes decompressed before a read error
    are returned first, and the error is raised by the next read."""

    def __init__(self, inner: gzip.GzipFile) -> None:
        self.inner = inner
        self.pending: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self.pending is not None:
            exc, self.pending = self.pending, None
            raise exc
        view = memoryview(b).cast("B")
        n = 0
        while n < len(view):
            try:
                chunk = self.inner.read1(len(view) - n)
            except _READ_ERRORS as exc:
                if not n:
                    raise
                self.pending = exc
                break
            if not chunk:
                break
            view[n : n + len(chunk)] = chunk
            n += len(chunk)
        return n

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:  # a document is read twice: shape, then content
        self.pending = None
        return self.inner.seek(offset, whence)

    def tell(self) -> int:
        return self.inner.tell()

    def close(self) -> None:
        self.inner.close()
        super().close()


def open_source(path: Path) -> tuple[IO[bytes], _Counting]:
    """Open a file for reading bytes, transparently gunzipping; returns (stream, byte counter)."""
    counter = _Counting(open(path, "rb", buffering=0))  # noqa: SIM115
    with open(path, "rb") as probe:
        magic = probe.read(2)
    stream: Any
    if magic == b"\x1f\x8b":
        # Buffered again on top: GzipFile.peek returns at most one 8 KiB block, so the shape of a file whose first
        # line is longer than that could not be seen from the head (a JSON-lines file was read as one document
        # and rejected after its first release); this buffer's peek fills up to 1 MiB. _Gunzipped hands over
        # what was decompressed before a read error and raises the error on the next read, so a truncated file
        # still shows its head and its whole lines before the break.
        stream = io.BufferedReader(
            _Gunzipped(gzip.GzipFile(fileobj=io.BufferedReader(counter, 1 << 20), mode="rb")), 1 << 20
        )
    else:
        stream = io.BufferedReader(counter, 1 << 20)
    return stream, counter


_READ_ERRORS = (EOFError, OSError, zlib.error, gzip.BadGzipFile)


def read_units(path: Path, first_line: int = 1, json_lines: bool = False) -> Iterator[Units | Problem]:
    """Every unit of the file at `path`, in order, with problems in place of what cannot be read.

    `json_lines` skips the detection of the shape (for a piece of a JSON-lines file, whose first line
    may be the broken one); its lines are then numbered from `first_line`.
    """
    stream, counter = open_source(path)
    if json_lines:
        try:
            yield from _read_json_lines(stream, counter, first_line)
        finally:
            stream.close()
        return
    try:
        try:
            head = read_head(stream)
        except _READ_ERRORS as exc:
            yield Problem(None, None, f"cannot read the file: {exc}", "")
            return
        stripped = head.lstrip()
        if not stripped:
            if not _has_content(stream):
                yield Problem(None, None, "empty file: no JSON in it", "")
                return
            stripped = b"{"  # whitespace longer than the peek; let the JSON lines reader find it
        if stripped[:1] == b"[":
            yield from _read_document(stream, counter, is_array=True)
        elif stripped[:1] == b"{" and _looks_like_json_lines(stripped):
            yield from _read_json_lines(stream, counter)
        elif stripped[:1] == b"{":
            yield from _read_document(stream, counter, is_array=False)
        else:
            first = stripped.split(b"\n", 1)[0]
            yield Problem(
                1, None, "not JSON: a file of OCDS data starts with '{' or '['", _raw_text(first)
            )
    finally:
        stream.close()


def read_head(stream: IO[bytes], size: int = 1 << 16) -> bytes:
    """The first `size` bytes of an open source without consuming them, but for a UTF-8 byte-order mark,
    which is consumed and left out. Raises the stream's read error (a truncated gzip file, say)."""
    head = stream.peek(size)[:size] if hasattr(stream, "peek") else b""
    if head.startswith(BOM):
        stream.read(3)
        head = head[3:]
    return head


def fast_path_compression(path: Path) -> str | None:
    """'none' or 'gzip' when the file looks like JSON lines of compiled releases, else None.

    Such a file can be read whole by DuckDB's read_json (the fast path); the look is only a first guess
    from the first line: the fast path checks every line and hands the file back to the careful reader
    when anything is unexpected.
    """
    try:
        with open(path, "rb") as f:
            magic = f.read(2)
        compression = "gzip" if magic == b"\x1f\x8b" else "none"
        stream, _counter = open_source(path)
        try:
            head = stream.peek(1 << 16)[: 1 << 16] if hasattr(stream, "peek") else b""
        finally:
            stream.close()
    except _READ_ERRORS:
        return None
    first, sep, _rest = head.partition(b"\n")
    if not sep or not first.startswith(b"{"):  # a BOM, leading blanks, one long line: the careful way
        return None
    try:
        obj = orjson.loads(first)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("tag"), list) or "compiled" not in obj["tag"]:
        return None
    return compression


@dataclass
class Piece:
    """A piece of a JSON-lines file, written whole lines to a temporary file, for the fast path."""

    path: Path
    first_line: int  # line number, in the source file, of the piece's first line
    lines: int  # number of lines in the piece
    position: int  # bytes of the source file read so far (compressed bytes for gzip)


def split_json_lines(path: Path, directory: Path, piece_bytes: int | None = None) -> Iterator[Piece | Problem]:
    """Cut a JSON-lines file (plain or gzip) into pieces of whole lines of about `piece_bytes` each.

    Each piece is written to a file in `directory` that the caller deletes. Memory holds one piece at
    most; a truncated or corrupt stream ends with a Problem after the piece of the lines read before it.
    """
    piece_bytes = piece_bytes or FAST_PIECE_BYTES
    with open(path, "rb") as probe:
        if probe.read(2) != b"\x1f\x8b":
            yield from _split_plain(path, directory, piece_bytes)
            return
    stream, counter = open_source(path)
    read = getattr(stream, "read1", stream.read)
    carry = b""
    next_line = 1
    n = 0
    try:
        while True:
            buffers = [carry]
            size = len(carry)
            target = size + piece_bytes  # a line longer than a piece makes a longer piece
            failure: Exception | None = None
            while size < target:
                try:
                    data = read(min(4 << 20, target - size))
                except _READ_ERRORS as exc:
                    failure = exc
                    break
                if not data:
                    break
                buffers.append(data)
                size += len(data)
            body = b"".join(buffers)
            at_end = size < target
            cut = len(body) if (at_end and failure is None) else body.rfind(b"\n") + 1
            whole, carry = body[:cut], body[cut:]
            if whole and not whole.endswith(b"\n"):
                whole += b"\n"
            if whole.strip():
                n += 1
                piece_path = directory / f"piece-{n:06d}.jsonl"
                piece_path.write_bytes(whole)
                lines = whole.count(b"\n")
                yield Piece(piece_path, next_line, lines, counter.count)
                next_line += lines
            elif whole:
                next_line += whole.count(b"\n")
            if failure is not None:
                yield Problem(
                    next_line if carry.strip() else None, None,
                    f"the file is truncated or corrupt ({failure}); everything before line {next_line} was read",
                    _raw_text(carry),
                )
                return
            if at_end:
                return
    finally:
        stream.close()


def _split_plain(path: Path, directory: Path, piece_bytes: int) -> Iterator[Piece | Problem]:
    """split_json_lines of an uncompressed file: the pieces are copied by the kernel (copy_file_range),
    and Python only reads the bytes to count the lines and find the cuts (the first newline at or after
    `piece_bytes` from the piece's start), without copying them around: a third of the CPU time of the
    bare parse of the file went into cutting it in Python before."""
    size = path.stat().st_size
    n = 0
    next_line = 1
    start = 0
    with open(path, "rb") as src:
        fd = src.fileno()
        while start < size:
            pos, lines, cut, last = start, 0, -1, b""
            try:
                while pos < size:
                    chunk = os.pread(fd, min(8 << 20, size - pos), pos)
                    if not chunk:
                        break
                    boundary = start + piece_bytes - 1 - pos  # where in the chunk the piece reaches its size
                    i = chunk.find(b"\n", max(0, boundary)) if boundary < len(chunk) else -1
                    if i >= 0:
                        lines += chunk.count(b"\n", 0, i + 1)
                        cut = pos + i + 1
                        break
                    lines += chunk.count(b"\n")
                    pos += len(chunk)
                    last = chunk[-1:]
                if cut < 0:  # the end of the file
                    cut = pos
                n += 1
                piece_path = directory / f"piece-{n:06d}.jsonl"
                with open(piece_path, "wb") as dst:
                    _copy_range(fd, dst.fileno(), start, cut - start)
                    if cut == pos and last != b"\n":  # a last line without its newline
                        dst.write(b"\n")
                        lines += 1
            except OSError as exc:
                yield Problem(next_line, None, f"cannot read the file ({exc}); everything before line "
                              f"{next_line} was read", "")
                return
            # (a piece of blank lines only is handed to the careful reader, which skips them)
            yield Piece(piece_path, next_line, lines, cut)
            next_line += lines
            start = cut


def _copy_range(src: int, dst: int, offset: int, count: int) -> None:
    """Copy `count` bytes of file `src` from `offset` to the end of file `dst`, in the kernel when it can."""
    copy_range = getattr(os, "copy_file_range", None)
    while count > 0:
        try:
            if copy_range is None:
                raise OSError("no copy_file_range")
            done = copy_range(src, dst, count, offset)
        except OSError:  # (another file system, an old kernel): through Python
            data = os.pread(src, min(count, 8 << 20), offset)
            done = os.write(dst, data) if data else 0
        if done == 0:
            raise OSError(f"the file ended {count} bytes early")
        offset += done
        count -= done


def _has_content(stream: IO[bytes]) -> bool:
    while True:
        try:
            data = stream.read(1 << 20)
        except _READ_ERRORS:
            return False
        if not data:
            return False
        if data.strip():
            return True


def _looks_like_json_lines(head: bytes) -> bool:
    """JSON lines when the first line is a whole JSON object on its own (or looks like one)."""
    first, sep, _rest = head.partition(b"\n")
    first = first.strip()
    if not sep and len(head) >= (1 << 16):
        # A first line longer than the peek: only JSON lines put that much on one line... or a minified
        # single document. A minified document is also one line: both readers treat it the same way.
        return True
    if first.startswith(b"{") and first.endswith(b"}"):
        return True
    try:
        orjson.loads(first)
        return True
    except orjson.JSONDecodeError:
        return False


def _read_json_lines(stream: IO[bytes], counter: _Counting, first_line: int = 1) -> Iterator[Units | Problem]:
    """Cut the stream into lines by chunks of bytes; each non-blank line is one unit."""
    carry: list[bytes] = []
    next_line = first_line
    while True:
        # On a read error (a truncated or corrupt gzip stream), the whole lines read before it are kept.
        data, failure = _read_chunk(stream)
        if not data and failure is None:
            break
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            carry.append(data)
        else:
            body = b"".join([*carry, data[:cut]]) if carry else data[:cut]
            carry = [data[cut:]] if cut < len(data) else []
            units, problems, next_line = _split_lines(body, next_line, counter.count)
            yield from problems
            if units is not None:
                yield units
        if failure is not None:
            tail = b"".join(carry)
            yield Problem(
                next_line if tail.strip() else None,
                None,
                f"the file is truncated or corrupt ({failure}); everything before line {next_line} was read",
                _raw_text(tail),
            )
            return
    tail = b"".join(carry)
    if tail.strip():
        units, problems, next_line = _split_lines(tail + b"\n", next_line, counter.count)
        yield from problems
        if units is not None:
            yield units


def _read_chunk(stream: IO[bytes]) -> tuple[bytes, Exception | None]:
    """About CHUNK_BYTES from the stream, read in pieces; on a read error, what was read before it.

    `read1` hands over what one step of decompression gives, so a truncated gzip stream loses almost
    nothing of what precedes the break (`read(n)` would drop up to n bytes already decompressed).
    """
    read = getattr(stream, "read1", stream.read)
    pieces: list[bytes] = []
    size = 0
    while size < CHUNK_BYTES:
        try:
            piece = read(min(READ_BYTES, CHUNK_BYTES - size))
        except _READ_ERRORS as exc:
            return b"".join(pieces), exc
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
    return b"".join(pieces), None


def _split_lines(body: bytes, first_line: int, position: int) -> tuple[Units | None, list[Problem], int]:
    """The non-blank lines of `body` (which ends with a newline) as an Arrow string array, without copying.

    Each string runs from the start of its line to the start of the next kept line: the newline and any
    blank lines in between are JSON whitespace, trimmed later.
    """
    arr = np.frombuffer(body, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    n = len(ends)
    starts = np.empty(n, dtype=np.int64)
    if n:
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    lengths = ends - starts
    blank = (lengths == 0) | ((lengths == 1) & (arr[np.minimum(starts, len(arr) - 1)] == 13))
    keep = ~blank
    line_numbers = np.arange(first_line, first_line + n, dtype=np.int64)[keep]
    kept_starts = starts[keep]
    next_line = first_line + n
    if len(kept_starts) == 0:
        return None, [], next_line
    offsets = np.append(kept_starts, len(body)).astype(np.int64)
    strings = pa.LargeStringArray.from_buffers(len(kept_starts), pa.py_buffer(offsets), pa.py_buffer(body))
    problems: list[Problem] = []
    try:
        strings.validate(full=True)
    except pa.ArrowInvalid:
        good_lines: list[int] = []
        good: list[str] = []
        bounds = offsets.tolist()
        for i in range(len(kept_starts)):
            piece = body[bounds[i] : bounds[i + 1]]
            try:
                good.append(piece.decode("utf-8"))
                good_lines.append(int(line_numbers[i]))
            except UnicodeDecodeError as exc:
                problems.append(
                    Problem(
                        int(line_numbers[i]),
                        None,
                        f"not valid UTF-8 ({exc.reason} at byte {exc.start} of the line)",
                        _raw_text(piece.rstrip()),
                    )
                )
        if not good:
            return None, problems, next_line
        line_numbers = np.array(good_lines, dtype=np.int64)
        strings = pa.array(good, type=pa.large_string())
    return Units(line_numbers, None, strings, position), problems, next_line


def _read_document(stream: IO[bytes], counter: _Counting, is_array: bool) -> Iterator[Units | Problem]:
    """A single JSON document (package, release, record or array), streamed item by item."""
    batch: list[tuple[str, bytes]] = []
    batch_bytes = 0
    prefix = "item" if is_array else None
    pointer_base = ""
    done = 0  # elements read whole
    try:
        if prefix is None:
            keys, whole = _top_level(stream)
            if whole is not None:  # a single release or record: small enough to have been read whole
                for item in classify(whole, ""):
                    if isinstance(item, Problem):
                        yield item
                    else:
                        yield _units_of([item], counter.count)
                return
            if "records" in keys:
                prefix, pointer_base = "records.item", "/records/"
            elif "releases" in keys:
                prefix, pointer_base = "releases.item", "/releases/"
            else:
                shown = ", ".join(sorted(keys)[:12]) or "none"
                _rewind(stream)
                yield Problem(
                    None,
                    "",
                    "unknown package shape: a JSON object that is neither a release, a "
                    f"record, nor a release or record package (top-level keys: {shown})",
                    _raw_text(stream.read(MAX_RAW_KEPT)),
                )
                return
        else:
            pointer_base = "/"
        for n, obj in enumerate(ijson.items(stream, prefix, use_float=True)):
            for item in classify(obj, f"{pointer_base}{n}"):
                if isinstance(item, Problem):
                    yield item
                    continue
                batch.append(item)
                batch_bytes += len(item[1])
            done = n + 1
            if batch_bytes >= CHUNK_BYTES:
                yield _units_of(batch, counter.count)
                batch, batch_bytes = [], 0
    except (ijson.JSONError, ijson.IncompleteJSONError, *_READ_ERRORS) as exc:
        if batch:
            yield _units_of(batch, counter.count)
            batch = []
        where = f"{pointer_base}{done}" if pointer_base else ""
        message = " ".join(str(exc).split())  # one line: yajl quotes the text around the error on several
        yield Problem(
            None,
            where,
            f"malformed or truncated JSON: {message}; every element before this point was read",
            "",
        )
    if batch:
        yield _units_of(batch, counter.count)


def _top_level(stream: IO[bytes]) -> tuple[set[str], Any]:
    """The top-level keys of the JSON object in `stream`; the object itself when it is not a package."""
    keys: set[str] = set()
    try:
        for prefix, event, value in ijson.parse(stream):
            if prefix == "" and event == "map_key":
                keys.add(value)
    except (ijson.JSONError, *_READ_ERRORS):
        if "ocid" in keys or not keys & {"releases", "records"}:
            raise
        # A package that breaks further on: its elements before the break are still read (the error
        # comes again there).
    _rewind(stream)
    if "ocid" in keys:
        return keys, orjson.loads(stream.read())
    return keys, None


def _rewind(stream: IO[bytes]) -> None:
    """Back to the start of the document, past a UTF-8 byte order mark."""
    stream.seek(0)
    if stream.read(3) != BOM:
        stream.seek(0)


def classify(obj: Any, pointer: str) -> Iterator[tuple[str, bytes] | Problem]:
    """Turn a parsed JSON value into release units (pointer, raw JSON) or problems.

    A record contributes its compiled release (else its embedded releases); a package contributes its
    releases or records; anything else that is an object is taken as a release (SQL checks its ocid).
    """
    if not isinstance(obj, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(obj), "a number")
        yield Problem(
            None,
            pointer or "/",
            f"expected a JSON object (a release or record), got {kind}",
            _raw_text(orjson.dumps(obj)),
        )
        return
    if "records" in obj and "ocid" not in obj:
        records = obj["records"]
        if not isinstance(records, list):
            yield Problem(
                None, f"{pointer}/records", "records must be an array", _raw_text(orjson.dumps(obj))
            )
            return
        for i, record in enumerate(records):
            yield from classify(record, f"{pointer}/records/{i}")
    elif "releases" in obj and "ocid" not in obj:
        releases = obj["releases"]
        if not isinstance(releases, list):
            yield Problem(
                None, f"{pointer}/releases", "releases must be an array", _raw_text(orjson.dumps(obj))
            )
            return
        for i, release in enumerate(releases):
            yield from classify(release, f"{pointer}/releases/{i}")
    elif "compiledRelease" in obj:
        compiled = obj["compiledRelease"]
        if isinstance(compiled, dict) and "ocid" not in compiled and "ocid" in obj:
            compiled = {"ocid": obj["ocid"], **compiled}
        if not isinstance(compiled, dict):
            yield Problem(
                None,
                f"{pointer}/compiledRelease",
                "compiledRelease must be an object",
                _raw_text(orjson.dumps(obj)),
            )
            return
        yield f"{pointer}/compiledRelease", orjson.dumps(compiled)
    elif "releases" in obj:  # a record without a compiled release
        releases = obj["releases"]
        embedded = (
            [r for r in releases if isinstance(r, dict) and ("tag" in r or "date" in r or "tender" in r)]
            if isinstance(releases, list)
            else []
        )
        if not embedded:
            yield Problem(
                None,
                pointer or "/",
                "record has neither a compiledRelease nor embedded releases "
                "(linked releases only): fetch the releases and ingest them",
                _raw_text(orjson.dumps(obj)),
            )
            return
        for i, release in enumerate(releases):
            if isinstance(release, dict) and release in embedded:
                if "ocid" not in release:
                    release = {"ocid": obj["ocid"], **release}
                yield f"{pointer}/releases/{i}", orjson.dumps(release)
    else:
        yield pointer, orjson.dumps(obj)


def _units_of(items: list[tuple[str, bytes]], position: int) -> Units:
    pointers: list[str | None] = [p for p, _ in items]
    raws = pa.array([raw.decode("utf-8") for _, raw in items], type=pa.large_string())
    return Units([None] * len(items), pointers, raws, position)
