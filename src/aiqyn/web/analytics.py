"""Reading the analytics store (DuckDB), read-only: the risk queue, a process with its flags, a party.

The web application computes nothing: every figure here is a row the ingest or the analytics wrote. The
store is opened read-only once; each request reads through its own cursor. With a page cache attached
(`use_page_cache`, what `aiqyn serve` does), a process page's rows come from it instead: the same rows, copied
from the store and keyed by ocid (pagecache.py).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from aiqyn.web.pagecache import PAGE_TABLES, PageCache, store_identity

SORTS = {
    "score": "score",
    "flags": "n_flags",
    "amount": "estimated_amount",
    "date": "date",
}


@dataclass
class QueueFilters:
    """The risk queue's filters; every one optional."""

    region: str | None = None  # KATO code of an oblast (its first two digits are compared)
    district: str | None = None  # KATO code of a district or city
    buyer: str | None = None  # a subject id (KZ-BIN-...), a BIN, or part of the name
    method: str | None = None  # procurement method details, as published
    flag: str | None = None  # an indicator code
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    amount_min: float | None = None
    amount_max: float | None = None
    sort: str = "score"
    descending: bool = True
    page: int = 1
    per_page: int = 50
    organisation: str | None = field(default=None, repr=False)  # set by the app for a compliance officer


class cached_property:  # a drop-in for functools.cached_property
    """functools.cached_property without its lock: on Python 3.11 that lock is one per property for all
    instances and is held while the value is computed, so two request threads computing two properties that
    read each other deadlock. Computing a value twice in a race is harmless here (each is a read-only query)."""

    def __init__(self, func: Any) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        cache = instance.__dict__
        if self.name not in cache:
            cache[self.name] = self.func(instance)
        return cache[self.name]


def _queue_order(key: str, descending: bool) -> str:
    """The risk queue's order by `key` (a column of the queue table): ties broken by flags, amount, ocid."""
    return (f"{key} {'DESC' if descending else 'ASC'} NULLS LAST, n_flags DESC, estimated_amount DESC NULLS LAST, "
            "ocid")


def _order_column(sort: str, descending: bool) -> str:
    return f"o_{sort}_{'desc' if descending else 'asc'}"


def _rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


class Analytics:
    """The analytics store opened read-only."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no analytics store here (run `aiqyn ingest` and `aiqyn flags run`)")
        # An in-memory database with the store attached READ_ONLY: the store cannot be written through this
        # connection, and the in-memory side holds what the application caches of it (the queue's rows).
        self._con = duckdb.connect(":memory:")
        self._con.execute("SET TimeZone = 'UTC'")
        quoted = str(self.path.resolve()).replace("'", "''")
        self._con.execute(f"ATTACH '{quoted}' AS store (READ_ONLY)")
        self._con.execute("USE store")
        self._lock = threading.Lock()
        self._local = threading.local()
        self._build_lock = threading.Lock()
        self._queue_ready = False
        self._index_ready = False
        self._counts: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
        self.pages: PageCache | None = None

    def use_page_cache(self, path: Path) -> None:
        """Read process pages from the page cache at `path` (built by pagecache.build from this store)."""
        try:
            pages = PageCache(path)
        except ValueError as exc:
            raise RuntimeError(str(exc)) from None
        if pages.identity != store_identity(self.path) or pages.run_id != self.run_id:
            raise RuntimeError(f"{path}: the page cache of another store or flags run ({pages.identity['path']}, "
                               f"run {pages.run_id!r}); `aiqyn serve` rebuilds it")
        self.pages = pages

    def close(self) -> None:
        self._con.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            cur = self._con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        cur.execute("USE store")
        return cur

    def query(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> list[dict[str, Any]]:
        # One cursor per thread, kept: a new one costs three statements (a third of a small query's time)
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self.cursor()
        cur.execute(sql, params or {})
        return _rows(cur)

    @cached_property
    def tables(self) -> frozenset[str]:
        return frozenset(r["table_name"] for r in self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'store' AND table_schema = 'main'"))

    @cached_property
    def flag_run(self) -> dict[str, Any] | None:
        """The newest complete flags run, whose flags (and scores) the application shows."""
        if "flag_runs" not in self.tables:
            return None
        rows = self.query("SELECT run_id, started_at, finished_at, mode, codes FROM flag_runs "
                          "WHERE status = 'complete' ORDER BY finished_at DESC, run_id DESC LIMIT 1")
        return rows[0] if rows else None

    @property
    def run_id(self) -> str:
        return self.flag_run["run_id"] if self.flag_run else ""

    @cached_property
    def has_scores(self) -> bool:
        if "scores" not in self.tables or not self.run_id:
            return False
        return bool(self.query("SELECT 1 AS x FROM scores WHERE run_id = $run AND subject_type = 'process' LIMIT 1",
                               {"run": self.run_id}))

    @cached_property
    def n_scored(self) -> int:
        """Processes scored in the run: a rank is read against it (the top 5% are shown as high risk)."""
        if not self.has_scores:
            return 0
        return int(self.query("SELECT count(*) AS n FROM scores WHERE run_id = $run AND subject_type = 'process'",
                              {"run": self.run_id})[0]["n"])

    def risk_class(self, rank: int | None) -> str:
        """hi for the top 5% of the ranking, mid for the next 15%, lo for the rest."""
        if rank is None or not self.n_scored:
            return ""
        share = rank / self.n_scored
        return "hi" if share <= 0.05 else "mid" if share <= 0.20 else "lo"

    # -- facets --------------------------------------------------------------------------------------
    @cached_property
    def methods(self) -> list[str]:
        return [r["m"] for r in self.query(
            "SELECT DISTINCT method_details AS m FROM processes WHERE method_details IS NOT NULL ORDER BY 1")]

    @cached_property
    def region_codes(self) -> list[str]:
        return [r["r"] for r in self.query(
            "SELECT DISTINCT region_code AS r FROM processes WHERE region_code IS NOT NULL ORDER BY 1")]

    @cached_property
    def flag_codes(self) -> list[str]:
        if not self.run_id:
            return []
        return [r["code"] for r in self.query("SELECT DISTINCT code FROM flags WHERE run_id = $run ORDER BY 1",
                                              {"run": self.run_id})]

    # -- the risk queue ------------------------------------------------------------------------------
    def _queue_table(self) -> None:
        """The queue's rows, read once: every flagged or scored process with its flags, score and buyer. The store
        does not change while it is served, and filtering one table is what keeps the queue fast at 1M."""
        if self._queue_ready:
            return
        has_scores, run, codes = self.has_scores, self.run_id, self.flag_codes  # read before the lock: they query
        with self._build_lock:
            if self._queue_ready:
                return
            scores = ("(SELECT subject_id AS ocid, score, rank FROM scores WHERE run_id = $run "
                      "AND subject_type = 'process')") if has_scores else \
                "(SELECT NULL::VARCHAR AS ocid, NULL::DOUBLE AS score, NULL::BIGINT AS rank WHERE false)"
            # Each row's position in every order the queue can be sorted by (o_<sort>_<asc|desc>): a page is
            # then the rows of a range of positions (no sort per request), or a top-N of one integer when filtered.
            orders = ", ".join(
                f"row_number() OVER (ORDER BY {_queue_order(key, d)})::INTEGER AS {_order_column(name, d)}"
                for name, key in SORTS.items() for d in (True, False))
            # The flags as the bits of one integer (code i of the run: bit i), when the run has at most 64 codes:
            # testing a bit is much cheaper than looking for a string in each row's list.
            bits = ("coalesce(list_sum(list_transform(codes, lambda c: (1::UBIGINT << (list_position($codes, c) - 1))))"
                    ", 0)::UBIGINT") if len(codes) <= 64 else "NULL::UBIGINT"
            cur = self.cursor()
            cur.execute(f"""
                CREATE OR REPLACE TABLE memory.main.queue AS
                WITH f AS (SELECT subject_id AS ocid, count(*) AS n_flags,
                                  list(DISTINCT code ORDER BY code) AS codes
                           FROM flags WHERE run_id = $run AND subject_type = 'process' GROUP BY 1),
                     s AS {scores},
                     q AS (
                SELECT p.ocid, p.title, p.buyer_name, p.buyer_id, bp.subject_id AS buyer_subject_id,
                       p.method_details, p.region_code, p.estimated_amount, p.estimated_currency,
                       coalesce(p.tender_start, p.release_date) AS date, p.year,
                       coalesce(f.n_flags, 0) AS n_flags, coalesce(f.codes, []) AS codes, s.score, s.rank
                FROM processes p
                LEFT JOIN f ON f.ocid = p.ocid
                LEFT JOIN s ON s.ocid = p.ocid
                LEFT JOIN parties bp ON bp.ocid = p.ocid AND bp.party_id = p.buyer_id
                WHERE f.ocid IS NOT NULL OR s.score > 0)
                SELECT *, left(region_code, 2) AS region2, {bits} AS flag_bits, {orders} FROM q
                ORDER BY rank NULLS LAST, n_flags DESC, ocid""", {"run": run, "codes": codes})
            cur.close()
            self._queue_ready = True

    def warm(self) -> None:
        """Read what the pages need before the first request does (the queue's rows, row-id bounds; facets)."""
        self._queue_table()
        if self.pages is None:
            self.row_index()
        _ = self.methods, self.region_codes, self.flag_codes, self.n_scored
        # A request's query is small: one thread each, so that concurrent requests do not contend for DuckDB's
        # threads (several requests are served at once, and several workers share the cores).
        self._con.execute("SET threads = 1")

    def queue(self, f: QueueFilters) -> tuple[list[dict[str, Any]], int]:
        """Flagged (or scored) processes matching the filters, riskiest first: (page of rows, total)."""
        self._queue_table()
        where: list[str] = ["true"]
        params: dict[str, Any] = {}
        if f.region:
            where.append("q.region2 = $region2")
            params["region2"] = f.region[:2]
        if f.district:
            where.append("q.region_code = $district")
            params["district"] = f.district
        if f.buyer:
            term = f.buyer.strip()
            if term.isdigit():
                term = f"KZ-BIN-{term}"
            where.append("(q.buyer_subject_id = $buyer OR q.buyer_id = $buyer OR q.buyer_name ILIKE $buyer_like)")
            params["buyer"] = term
            params["buyer_like"] = "%" + f.buyer.strip().replace("%", "") + "%"
        if f.method:
            where.append("q.method_details = $method")
            params["method"] = f.method
        if f.flag:
            codes = self.flag_codes
            if len(codes) <= 64:
                if f.flag in codes:
                    where.append(f"q.flag_bits & {1 << codes.index(f.flag)}::UBIGINT <> 0")
                else:
                    where.append("false")  # a code this run has not flagged
            else:
                where.append("list_contains(q.codes, $flag)")
                params["flag"] = f.flag
        if f.date_from:
            where.append("q.date >= $date_from")
            params["date_from"] = dt.datetime.combine(f.date_from, dt.time(), dt.UTC)
        if f.date_to:
            where.append("q.date < $date_to")
            params["date_to"] = dt.datetime.combine(f.date_to + dt.timedelta(days=1), dt.time(), dt.UTC)
        if f.amount_min is not None:
            where.append("q.estimated_amount >= $amount_min")
            params["amount_min"] = f.amount_min
        if f.amount_max is not None:
            where.append("q.estimated_amount <= $amount_max")
            params["amount_max"] = f.amount_max
        if f.organisation is not None:
            where.append("q.buyer_subject_id = $organisation")
            params["organisation"] = f.organisation
        order = "q." + _order_column(f.sort if f.sort in SORTS else "score", f.descending)
        page = max(f.page, 1)
        condition = " AND ".join(where)
        first = (page - 1) * int(f.per_page)
        columns = """q.ocid, q.title, q.buyer_name, q.buyer_subject_id, q.method_details, q.region_code,
                   q.estimated_amount, q.estimated_currency, q.date, q.year, q.n_flags, q.codes, q.score, q.rank"""
        if len(where) == 1:  # no filter: the page is a range of positions
            rows = self.query(f"SELECT {columns} FROM memory.main.queue q WHERE {order} > {first} AND "
                              f"{order} <= {first + int(f.per_page)} ORDER BY {order}")
        else:
            rows = self.query(f"SELECT {columns} FROM memory.main.queue q WHERE {condition} ORDER BY {order} "
                              f"LIMIT {int(f.per_page)} OFFSET {first}", params)
        return rows, self._count(condition, tuple(sorted((k, str(v)) for k, v in params.items())), params)

    def _count(self, condition: str, key: tuple[tuple[str, str], ...], params: dict[str, Any]) -> int:
        """Rows matching a filter, remembered (the store does not change while served; a window count over the
        page query would materialise every matching row)."""
        cache_key = (condition, key)
        with self._lock:
            if cache_key in self._counts:
                return self._counts[cache_key]
        n = int(self.query(f"SELECT count(*) AS n FROM memory.main.queue q WHERE {condition}", params)[0]["n"])
        with self._lock:
            if len(self._counts) > 10_000:
                self._counts.clear()
            self._counts[cache_key] = n
        return n

    # -- one process ---------------------------------------------------------------------------------
    # Tables read by ocid on a process page. The store has no index; the application keeps, per process and table,
    # the first and last row id of its rows (rows are stored in row groups with row-id zone maps, so a bounded
    # read skips the rest of the table: 2-7 ms against 15-40 ms for a scan at 1M processes).
    OCID_TABLES = ("processes", "parties", "lots", "items", "bids", "bid_tenderers", "awards", "award_suppliers",
                   "contracts", "contract_amendments", "documents")

    def row_index(self) -> None:
        if self._index_ready:
            return
        run, has_scores = self.run_id, self.has_scores
        with self._build_lock:
            if self._index_ready:
                return
            cur = self.cursor()
            joins = "\n".join(
                f"LEFT JOIN (SELECT ocid, min(rowid) AS lo, max(rowid) AS hi FROM {t} GROUP BY ocid) AS {t} "
                f"ON {t}.ocid = base.ocid" for t in self.OCID_TABLES)
            columns = ", ".join(f"{t}.lo AS {t}_lo, {t}.hi AS {t}_hi" for t in self.OCID_TABLES)
            cur.execute(f"""CREATE OR REPLACE TABLE memory.main.rows_by_ocid AS
                SELECT base.ocid, {columns} FROM (SELECT DISTINCT ocid FROM processes) AS base {joins}""")
            # A subject's flags are scattered through the table (one indicator after another): their row ids.
            cur.execute("""CREATE OR REPLACE TABLE memory.main.flags_by_subject AS
                SELECT subject_id, list(rowid) AS rids FROM flags WHERE run_id = $run GROUP BY subject_id""",
                        {"run": run})
            if has_scores:
                cur.execute("""CREATE OR REPLACE TABLE memory.main.scores_by_subject AS
                    SELECT subject_id, list(rowid) AS rids FROM scores
                    WHERE run_id = $run AND subject_type = 'process' GROUP BY subject_id""", {"run": run})
            cur.close()
            self._index_ready = True

    def _bounds(self, ocid: str) -> dict[str, Any] | None:
        self.row_index()
        rows = self.query("SELECT * FROM memory.main.rows_by_ocid WHERE ocid = $ocid", {"ocid": ocid})
        return rows[0] if rows else None

    def _of(self, table: str, bounds: dict[str, Any], order: str, columns: str = "*") -> list[dict[str, Any]]:
        lo, hi = bounds[f"{table}_lo"], bounds[f"{table}_hi"]
        if lo is None:
            return []
        return self.query(f"SELECT {columns} FROM {table} WHERE rowid BETWEEN {int(lo)} AND {int(hi)} "
                          f"AND ocid = $ocid ORDER BY {order}, rowid", {"ocid": bounds["ocid"]})

    def process_owner(self, ocid: str) -> str | None:
        """The buyer's subject id (the organisation a compliance officer must belong to)."""
        if self.pages is not None:
            found = self.pages.tables(ocid)
            if found is None or not found[0]["processes"]:
                return None
            buyer_id = found[0]["processes"][0]["buyer_id"]
            return next((r["subject_id"] for r in found[0]["parties"] if r["party_id"] == buyer_id), None)
        bounds = self._bounds(ocid)
        if bounds is None:
            return None
        proc = self._of("processes", bounds, "ocid", "buyer_id")
        buyer = [r for r in self._of("parties", bounds, "party_id", "party_id, subject_id")
                 if proc and r["party_id"] == proc[0]["buyer_id"]]
        return buyer[0]["subject_id"] if buyer else None

    def _page_rows(self, ocid: str) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any] | None] | None:
        """A process's rows of every table of its page, and its score row: from the page cache when attached,
        else from the store (each table read within the process's row-id bounds)."""
        if self.pages is not None:
            return self.pages.tables(ocid)
        bounds = self._bounds(ocid)
        if bounds is None:
            return None
        tables = {t: self._of(t, bounds, order) for t, order in PAGE_TABLES.items()}
        score = None
        if self.has_scores:
            s = self._by_subject("scores", "scores_by_subject", [ocid], "score, rank, explanation",
                                 "subject_type = 'process'")
            score = s[0] if s else None
        return tables, score

    def process(self, ocid: str) -> dict[str, Any] | None:
        found = self._page_rows(ocid)
        if found is None or not found[0]["processes"]:
            return None
        t, score = found
        p: dict[str, Any] = {"process": t["processes"][0]}
        p["parties"] = t["parties"]
        p["lots"] = t["lots"]
        p["items"] = t["items"]
        tenderers = t["bid_tenderers"]
        p["bids"] = t["bids"]
        for b in p["bids"]:
            mine = [t for t in tenderers if t["bid_position"] == b["position"]]
            b["tenderers"] = "; ".join(t["name"] or t["party_id"] for t in mine) or None
            b["tenderer_ids"] = [t["party_id"] for t in mine]
        suppliers = t["award_suppliers"]
        p["awards"] = t["awards"]
        for a in p["awards"]:
            mine = [s for s in suppliers if s["award_position"] == a["position"]]
            a["suppliers"] = "; ".join(s["name"] or s["party_id"] for s in mine) or None
        p["contracts"] = t["contracts"]
        p["amendments"] = t["contract_amendments"]
        p["documents"] = t["documents"]
        p["flags"] = self.flags_of_process(ocid, p["parties"])
        p["score"] = None if score is None else {**score, "explanation": json.loads(score["explanation"] or "[]")}
        p["timeline"] = timeline(p)
        return p

    def _by_subject(self, table: str, index: str, ids: list[str], columns: str, where: str,
                    params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of the run about these subjects, each read within its row-id bounds."""
        self.row_index()
        spans = self.query(f"SELECT rids FROM memory.main.{index} "
                           "WHERE subject_id IN (SELECT unnest($ids::VARCHAR[]))", {"ids": ids})
        rids = sorted({int(i) for r in spans for i in r["rids"]})
        if not rids:
            return []
        return self.query(f"SELECT {columns} FROM {table} WHERE rowid IN ({', '.join(map(str, rids))}) "
                          f"AND run_id = $run AND {where} "
                          "AND subject_id IN (SELECT unnest($ids::VARCHAR[])) ORDER BY rowid",
                          {"run": self.run_id, "ids": ids, **(params or {})})

    def flags_of_process(self, ocid: str, parties: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """The process's own flags, then those of its buyer, procuring entity and tenderers."""
        if not self.run_id:
            return []
        if parties is None:
            found = self._page_rows(ocid)
            parties = found[0]["parties"] if found else []
        ids = sorted({i for r in parties for i in (r["subject_id"], r["party_id"]) if i} | {ocid})
        if self.pages is not None:
            rows = [r for r in self.pages.flags(ids) if (r["subject_type"] == "process") == (r["subject_id"] == ocid)]
        else:
            rows = self._by_subject("flags", "flags_by_subject", ids,
                                    "code, subject_type, subject_id, value, evidence",
                                    "(subject_type = 'process') = (subject_id = $ocid)", {"ocid": ocid})
        rows.sort(key=lambda r: (r["subject_type"] != "process", r["code"], r["subject_id"]))
        for r in rows:
            r["evidence"] = _json(r["evidence"])
        return rows

    # -- a buyer or supplier -------------------------------------------------------------------------
    def party(self, subject_id: str, limit: int = 100) -> dict[str, Any] | None:
        names = self.query("""SELECT name, identifier, scheme, region_code, locality, street_address,
                max(list_contains(roles, 'buyer')::INT) OVER () AS is_buyer
            FROM parties WHERE subject_id = $id ORDER BY ocid DESC LIMIT 1""", {"id": subject_id})
        if not names:
            return None
        arg = {"id": subject_id, "run": self.run_id}
        bought = self.query(f"""
            SELECT p.ocid, p.title, p.method_details, p.estimated_amount, p.estimated_currency,
                   coalesce(p.tender_start, p.release_date) AS date,
                   (SELECT count(*) FROM flags f WHERE f.run_id = $run AND f.subject_type = 'process'
                    AND f.subject_id = p.ocid) AS n_flags
            FROM processes p JOIN parties bp ON bp.ocid = p.ocid AND bp.party_id = p.buyer_id
            WHERE bp.subject_id = $id ORDER BY date DESC NULLS LAST LIMIT {int(limit)}""", arg)
        won = self.query(f"""
            SELECT p.ocid, p.title, p.buyer_name, a.amount, a.currency, a.date,
                   (SELECT count(*) FROM flags f WHERE f.run_id = $run AND f.subject_type = 'process'
                    AND f.subject_id = p.ocid) AS n_flags
            FROM award_suppliers s JOIN parties sp ON sp.ocid = s.ocid AND sp.party_id = s.party_id
            JOIN awards a ON a.ocid = s.ocid AND a.position = s.award_position
            JOIN processes p ON p.ocid = s.ocid
            WHERE sp.subject_id = $id AND a.status = 'active'
            ORDER BY a.date DESC NULLS LAST LIMIT {int(limit)}""", arg)
        totals = self.query("""
            SELECT (SELECT count(*) FROM processes p JOIN parties bp ON bp.ocid = p.ocid AND bp.party_id = p.buyer_id
                    WHERE bp.subject_id = $id) AS n_bought,
                   (SELECT count(DISTINCT s.ocid) FROM award_suppliers s
                    JOIN parties sp ON sp.ocid = s.ocid AND sp.party_id = s.party_id WHERE sp.subject_id = $id) AS n_won
            """, {"id": subject_id})[0]
        flags = []
        if self.run_id:
            flags = self.query("SELECT code, subject_type, value, evidence FROM flags WHERE run_id = $run "
                               "AND subject_type <> 'process' AND subject_id = $id ORDER BY code", arg)
        for r in flags:
            r["evidence"] = _json(r["evidence"])
        return {"party": names[0], "subject_id": subject_id, "bought": bought, "won": won, "flags": flags, **totals}


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {"text": text}


def timeline(p: dict[str, Any]) -> list[dict[str, Any]]:
    """The dated events of a process, in order: tender period, bids, awards, contracts, amendments."""
    proc = p["process"]
    events: list[dict[str, Any]] = []

    def add(when: Any, what: str, detail: str = "") -> None:
        if when is not None:
            events.append({"date": when, "what": what, "detail": detail})

    add(proc.get("tender_start"), "Tender opened")
    add(proc.get("enquiry_end"), "Enquiries closed")
    add(proc.get("tender_end"), "Bid deadline")
    for b in p["bids"]:
        add(b.get("date"), "Bid submitted", b.get("tenderers") or "")
    for a in p["awards"]:
        add(a.get("date"), "Award", a.get("suppliers") or "")
    for c in p["contracts"]:
        add(c.get("date_signed"), "Contract signed", c.get("contract_id") or "")
    for m in p["amendments"]:
        add(m.get("date"), "Contract amended", m.get("rationale") or m.get("description") or "")
    return sorted(events, key=lambda e: e["date"])
