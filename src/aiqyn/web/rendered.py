"""Rendered pages of the risk queue and of processes, kept in memory (per worker process) and served without the
framework when they are asked for again.

What makes it possible: those pages are read from the analytics store, which `serve` opens read-only and which
does not change while it is served (a new store or flags run means a restart of `serve`, see docs/web.md). The
page's HTML therefore depends only on

- the path and the query string (the process, the filters, the sort, the page),
- the language, and whether htmx asks for the rows only (`HX-Request`),
- the viewer's role (the navigation, "open a case") and, for a compliance officer, the organisation (the queue is
  that organisation's; another organisation's process answers 404 and is never cached),

and on a few per-user fragments, which are kept out of the cached HTML: the CSRF token, the user's name, and
on a process page the cases opened on it (the application's database, which does change). A page is rendered
once with a *slot* (a marker made of private-use characters and a random nonce of the process, which no data can
contain) in place of each fragment; the cached entry is that HTML split at the slots, and every answer, the first
included, is the entry with the current user's fragments put back (escaped as the template escapes them). Only
pages the route answered 200 are stored; the viewer's account is read from the application's database for every
request (deactivated or changed accounts are refused at once), and the cache is dropped when the store's file is
no longer the one it was made from.

`CachedPages` is a pure ASGI middleware (inside the session middleware): on a hit it answers from the entry,
skipping routing, FastAPI's dependencies and the thread hand-off; on a miss it passes the request to the route,
which renders and stores the page (`cached_page`). Answers carry `X-Aiqyn-Cache: hit` or `miss`.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from markupsafe import Markup, escape
from sqlalchemy import Engine

from aiqyn.web.auth import PERMISSIONS, Principal

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from aiqyn.web.models import User

PageKey = tuple[str, bytes, str, bool, str, str | None]
"""(path, query string, language, htmx rows only, role, compliance officer's organisation)."""

PAGES: dict[str, str] = {"queue": "queue.view", "process": "process.view"}
"""The pages kept, and the permission each needs."""

SLOTS = ("csrf", "user", "full_name", "cases")
STORE_CHECK_SECONDS = 1.0


def page_kind(path: str) -> str | None:
    if path == "/queue":
        return "queue"
    if path.startswith("/processes/") and len(path) > 11 and "/" not in path[11:]:
        return "process"
    return None


def page_key(path: str, query: bytes, lang: str, rows_only: bool, role: str, organisation: str | None) -> PageKey:
    return (path, query, lang, rows_only, role, organisation)


@dataclass(frozen=True)
class Viewer:
    """The account of a session, as read for one request."""

    id: int
    username: str
    full_name: str
    role: str
    active: bool
    session_version: int
    organisation_id: int | None
    organisation: str | None  # the organisation's subject id in the store (compliance officers)


_VIEWER_SQL = """SELECT u.id, u.username, u.full_name, u.role, u.active, u.session_version, u.organisation_id,
    o.subject_id FROM users u LEFT JOIN organisations o ON o.id = u.organisation_id WHERE u.id = {id}"""
_CASES_SQL = "SELECT id, title, status, organisation_id FROM cases WHERE ocid = {ocid} ORDER BY id"
_MEMO_LIMIT = 100_000


class Accounts:
    """The reads a cached page needs from the application's database: the session's account and the cases on a
    process. They go through one connection of their own (a plain DB-API connection, no ORM), used only by the
    event loop's thread, so they never wait for the request threads' pool.

    On SQLite what was read is remembered until `PRAGMA data_version` changes, which it does whenever another
    connection commits (this one never writes; every change goes through the request threads, another worker or
    the command line): a deactivated account, a new session version or a new case is seen by the next request,
    and a hit usually costs that one pragma. On PostgreSQL both are read for every request."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        mark = ":{}" if self.sqlite else "%({})s"
        self._viewer_sql = _VIEWER_SQL.format(id=mark.format("id"))
        self._cases_sql = _CASES_SQL.format(ocid=mark.format("ocid"))
        self._con: Any = None
        self._version: Any = None
        self._viewers: dict[int, Viewer | None] = {}
        self._cases: dict[str, list[tuple[Any, ...]]] = {}

    def _query(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        for attempt in (1, 2):
            try:
                if self._con is None:
                    self._con = self.engine.raw_connection()
                cur = self._con.cursor()
                try:
                    cur.execute(sql, params)
                    rows = list(cur.fetchall())
                finally:
                    cur.close()
                self._con.rollback()  # no transaction left open (PostgreSQL starts one with the SELECT)
                return rows
            except self.engine.dialect.loaded_dbapi.Error:
                self.close()  # a broken connection: once more with a new one, else the caller's error
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._con is not None:
            with contextlib.suppress(Exception):
                self._con.invalidate()
            self._con = None
        self._version = None

    def _fresh(self) -> None:
        """Forget what was read when the database changed since (SQLite), or always (otherwise)."""
        if not self.sqlite:
            self._viewers.clear()
            self._cases.clear()
            return
        version = self._query("PRAGMA data_version", {})[0][0]
        if version != self._version or len(self._cases) > _MEMO_LIMIT:
            self._viewers.clear()
            self._cases.clear()
            self._version = version

    def viewer(self, uid: int) -> Viewer | None:
        self._fresh()
        if uid not in self._viewers:
            rows = self._query(self._viewer_sql, {"id": uid})
            self._viewers[uid] = None if not rows else _viewer(rows[0])
        return self._viewers[uid]

    def cases(self, ocid: str, organisation_id: int | None) -> list[Any]:
        """The cases opened on a process (a compliance officer: the organisation's only), as its page lists them.
        Called right after `viewer`, within the same freshness check."""
        if ocid not in self._cases:
            self._cases[ocid] = self._query(self._cases_sql, {"ocid": ocid})
        return [SimpleNamespace(id=r[0], title=r[1], status=r[2]) for r in self._cases[ocid]
                if organisation_id is None or r[3] == organisation_id]


def _viewer(row: tuple[Any, ...]) -> Viewer:
    org = (row[7] or "-") if row[3] == "compliance" else None  # as processes.organisation_subject
    return Viewer(id=row[0], username=row[1], full_name=row[2] or "", role=row[3], active=bool(row[4]),
                  session_version=row[5], organisation_id=row[6], organisation=org)


class RenderedPages:
    """The rendered pages of one worker process: least recently used first out, within `max_bytes`."""

    def __init__(self, max_bytes: int, store: Path | None = None, run_id: str = "") -> None:
        self.max_bytes = max_bytes
        self.nonce = secrets.token_hex(12)
        self._slot = re.compile("\ue000(" + "|".join(SLOTS) + "):" + self.nonce + "\ue001")
        self._entries: OrderedDict[PageKey, tuple[bytes | str, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self.size = 0
        self.hits = 0
        self.misses = 0
        self.store = store
        self._identity = self._store_identity()
        self.run_id = run_id
        self._checked = time.monotonic()

    def slot(self, name: str) -> Markup:
        """The marker rendered in place of a per-user fragment."""
        assert name in SLOTS
        return Markup(f"\ue000{name}:{self.nonce}\ue001")

    def _store_identity(self) -> tuple[int, int, int] | None:
        if self.store is None:
            return None
        try:
            st = self.store.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def check_store(self, force: bool = False) -> None:
        """Drop every entry when the store's file changed (checked at most once a second)."""
        now = time.monotonic()
        if not force and now - self._checked < STORE_CHECK_SECONDS:
            return
        self._checked = now
        identity = self._store_identity()
        if identity != self._identity:
            with self._lock:
                self._entries.clear()
                self.size = 0
                self._identity = identity

    def get(self, key: PageKey, count: bool = True) -> tuple[bytes | str, ...] | None:
        self.check_store()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += count
                return None
            self._entries.move_to_end(key)
            self.hits += count
            return entry

    def put(self, key: PageKey, html: str) -> tuple[bytes | str, ...]:
        """Split the page's HTML at its slots and keep it: literal parts as UTF-8 bytes, slots by name."""
        pieces = self._slot.split(html)  # literal, slot name, literal, ...
        entry = tuple(p.encode() if i % 2 == 0 else p for i, p in enumerate(pieces))
        cost = sum(len(p) for p in entry) + 200
        if cost > self.max_bytes:
            return entry
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= sum(len(p) for p in old) + 200
            self._entries[key] = entry
            self.size += cost
            while self.size > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self.size -= sum(len(p) for p in dropped) + 200
        return entry

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def fill(entry: tuple[bytes | str, ...], values: dict[str, Any]) -> bytes:
        """The page for one user: each slot replaced by its value, escaped (a Markup fragment is kept as is)."""
        return b"".join(p if isinstance(p, bytes) else str(escape(values[p])).encode() for p in entry)

    def stand_in(self, role: str, organisation_id: int | None) -> Principal:
        """The principal a cached page is rendered for: the viewer's role, slots for the name."""
        user = SimpleNamespace(id=None, username=self.slot("user"), full_name=self.slot("full_name"), role=role,
                               organisation_id=organisation_id, active=True)
        return Principal(cast("User", user))


def user_values(csrf: str, username: str, full_name: str | None) -> dict[str, Any]:
    return {"csrf": csrf, "user": username, "full_name": full_name or ""}


class CachedPages:
    """Pure ASGI middleware: answers a signed-in GET of a cached page from the cache, passes everything else on."""

    def __init__(self, app: ASGIApp, state: Any, engine: Engine,
                 cases_fragment: Callable[[Scope, list[Any]], str]) -> None:
        self.app = app
        self.state = state
        self.accounts = Accounts(engine)
        self.cases_fragment = cases_fragment

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pages: RenderedPages | None = self.state.rendered
        if pages is None or scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        kind = page_kind(path)
        session = scope.get("session") or {}
        uid, csrf = session.get("uid"), session.get("csrf")
        if kind is None or uid is None or not csrf:
            await self.app(scope, receive, send)
            return
        try:
            viewer = self.accounts.viewer(uid)
        except Exception:  # the database is unwell: the route answers as it can
            await self.app(scope, receive, send)
            return
        if (viewer is None or not viewer.active or viewer.session_version != session.get("ver")
                or viewer.role not in PERMISSIONS[PAGES[kind]]):
            await self.app(scope, receive, send)  # the route refuses, redirects or ends the session
            return
        rows_only = any(k == b"hx-request" and v for k, v in scope["headers"])  # as the route tests it
        key = page_key(path, scope["query_string"], scope["state"]["lang"], rows_only, viewer.role,
                       viewer.organisation)
        entry = pages.get(key)
        if entry is None:
            await self.app(scope, receive, send)
            return
        values = user_values(csrf, viewer.username, viewer.full_name)
        if kind == "process":
            try:
                cases = self.accounts.cases(path[len("/processes/"):],
                                            viewer.organisation_id if viewer.role == "compliance" else None)
            except Exception:
                await self.app(scope, receive, send)
                return
            values["cases"] = Markup(self.cases_fragment(scope, cases)) if cases else Markup("")
        body = pages.fill(entry, values)
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode()),
            (b"x-aiqyn-cache", b"hit")]})
        await send({"type": "http.response.body", "body": body})
