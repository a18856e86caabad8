"""`aiqyn goszakup fetch` against a fake OWS v3 server started by the test on loopback (never the real portal):
search_after paging, the Bearer token, retries on 500 and 429, --since, and resuming an interrupted fetch."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from aiqyn.goszakup.fetch import state_path
from conftest import count, ingest, run_cli
from goszakup_factory import contract

TOKEN = "test-token-123"


class FakeOws:
    """/v3/contract/all over `items` (newest id first), `search_after` paging, failures injected once per path."""

    def __init__(self, items: list[dict[str, Any]], fail: dict[str, int]):
        self.items = sorted(items, key=lambda i: -i["id"])
        self.fail = dict(fail)  # search_after value -> status to answer once
        self.requests: list[str] = []
        self.lock = threading.Lock()

    def page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        limit = int(query.get("limit", ["500"])[0])
        after = query.get("search_after", [None])[0]
        rest = [i for i in self.items if after is None or i["id"] < int(after)]
        chunk = rest[:limit]
        more = len(rest) > limit
        return {"total": len(self.items), "limit": limit,
                "next_page": f"/v3/contract/all?page=next&limit={limit}&search_after={chunk[-1]['id']}" if more else "",
                "items": chunk}


@pytest.fixture
def server() -> Iterator[tuple[str, FakeOws]]:
    items = [contract(9000 + n, trd=5000 + n, last_update_date=f"2020-02-{10 + n // 3:02d} 10:00:00")
             for n in range(10)]
    fake = FakeOws(items, fail={"9006": 500, "9004": 429})

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            with fake.lock:
                fake.requests.append(self.path)
                status = fake.fail.pop(query.get("search_after", [""])[0], None)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                status = 401
            elif parts.path != "/v3/contract/all":
                status = 404
            if status:
                body = b'{"error": "injected"}'
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
            else:
                body = json.dumps(fake.page(query), ensure_ascii=False).encode("utf-8")
                self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", fake
    finally:
        httpd.shutdown()
        httpd.server_close()


def fetch(url: str, out: Path, *extra: str, token: str = TOKEN):
    return run_cli(["goszakup", "fetch", "--token", token, "--entity", "contract", "--out", out, "--base-url", url,
                    "--limit", "2", "--retry-wait", "0.01", *extra])


def ids(out: Path) -> list[int]:
    return [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()]


def test_fetch_pages_retries_and_ingests(server: tuple[str, FakeOws], tmp_path: Path) -> None:
    url, fake = server
    out = tmp_path / "contracts.jsonl"
    res = fetch(url, out)
    assert res.code == 0, res.output
    assert "5 pages, 10 items" in res.output and "(2 retries; complete)" in res.output
    assert ids(out) == list(range(9009, 8999, -1))
    assert sum("search_after=9006" in r for r in fake.requests) == 2  # the 500, then the page
    assert sum("search_after=9004" in r for r in fake.requests) == 2  # the 429, then the page
    assert all("limit=2" in r for r in fake.requests)
    db = tmp_path / "store" / "s.duckdb"
    res = ingest([tmp_path], db)  # the directory: the output, not its state file
    assert res.code == 0 and "ingested 1 file(s)" in res.output, res.output
    assert count(db, "contracts") == 10
    # fetching a complete register again asks nothing
    before = len(fake.requests)
    assert fetch(url, out).code == 0 and len(fake.requests) == before and len(ids(out)) == 10


def test_fetch_resumes_where_it_stopped(server: tuple[str, FakeOws], tmp_path: Path) -> None:
    url, _ = server
    out = tmp_path / "contracts.jsonl"
    res = fetch(url, out, "--max-pages", "2")
    assert res.code == 3, res.output
    assert ids(out) == [9009, 9008, 9007, 9006]
    state = json.loads(state_path(out).read_text(encoding="utf-8"))
    assert state["next"].endswith("search_after=9006") and state["bytes"] == out.stat().st_size
    # a page written after the last saved state (a crash between the two) is cut and fetched again
    with open(out, "ab") as f:
        f.write(b'{"id": 9005, "half": tr')
    res = fetch(url, out)
    assert res.code == 0, res.output
    assert "resumed, 5 pages, 10 items" in res.output
    assert ids(out) == list(range(9009, 8999, -1))


def test_fetch_since_and_refusals(server: tuple[str, FakeOws], tmp_path: Path) -> None:
    url, _ = server
    out = tmp_path / "recent.jsonl"
    res = fetch(url, out, "--since", "2020-02-12")
    assert res.code == 0, res.output
    # items 9006..9009 were updated on 12-13 February; the page of 9005 and 9004 is all older: the end
    assert ids(out) == [9009, 9008, 9007, 9006]
    res = fetch(url, tmp_path / "x.jsonl", token="wrong")
    assert res.code == 1 and "token was refused" in res.output
    res = fetch(url, tmp_path / "recent.jsonl", "--since", "2020-01-01")
    assert res.code == 1 and "other arguments" in res.output
    res = run_cli(["goszakup", "fetch", "--token", TOKEN, "--entity", "nope", "--out", tmp_path / "y.jsonl",
                   "--base-url", url])
    assert res.code == 1 and "unknown entity" in res.output


def test_fetch_gives_up_after_its_retries(server: tuple[str, FakeOws], tmp_path: Path) -> None:
    url, fake = server
    fake.fail = {"9008": 503}
    out = tmp_path / "c.jsonl"
    res = fetch(url, out, "--retries", "0")
    assert res.code == 1 and "HTTP 503" in res.output and "start the same command again" in res.output
    assert ids(out) == [9009, 9008]
    assert fetch(url, out).code == 0 and len(ids(out)) == 10
