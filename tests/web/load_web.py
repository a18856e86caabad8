"""Load test of the web application: p50/p95/p99 latency of the risk queue and of process pages under N
concurrent clients (run by hand; the last figures are in docs/web.md).

    .venv/bin/python tests/web/load_web.py --db STORE.duckdb [--clients 50] [--seconds 60]

Serves STORE with `aiqyn serve` (one process, a fresh SQLite application database), signs in one analyst, then
runs the clients for the given time, each alternating: the risk queue (HTML, a random filter and page) and a
random flagged process's page (HTML). Latency is measured by the clients, from request to complete response.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def client(base: str, cookies: dict[str, str], ocids: list[str], filters: list[dict[str, str]],
                 until: float, out: dict[str, list[float]], errors: list[str], seed: int) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=120) as http:
        while time.monotonic() < until:
            for kind in ("queue", "process"):
                if kind == "queue":
                    params = {**rng.choice(filters), "page": str(rng.randint(1, 20))}
                    url = "/queue"
                else:
                    params, url = {}, f"/processes/{rng.choice(ocids)}"
                started = time.perf_counter()
                try:
                    r = await http.get(url, params=params)
                except httpx.TransportError as exc:
                    errors.append(f"{type(exc).__name__} {url} {params}")
                    continue
                elapsed = time.perf_counter() - started
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {url} {params}")
                out[kind].append(elapsed)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()

    con = duckdb.connect(str(args.db), read_only=True)
    n_processes = con.execute("SELECT count(*) FROM processes").fetchone()[0]  # type: ignore[index]
    run = con.execute("SELECT run_id FROM flag_runs WHERE status = 'complete' ORDER BY finished_at DESC LIMIT 1"
                      ).fetchone()[0]  # type: ignore[index]
    ocids = [r[0] for r in con.execute("SELECT DISTINCT subject_id FROM flags WHERE run_id = ? AND subject_type = "
                                       "'process' USING SAMPLE 2000 ROWS", [run]).fetchall()]
    regions = [r[0] for r in con.execute("SELECT DISTINCT region_code[:2] || '0000000' FROM processes "
                                         "WHERE region_code IS NOT NULL").fetchall()]
    methods = [r[0] for r in con.execute("SELECT DISTINCT method_details FROM processes "
                                         "WHERE method_details IS NOT NULL").fetchall()]
    codes = [r[0] for r in con.execute("SELECT DISTINCT code FROM flags WHERE run_id = ?", [run]).fetchall()]
    con.close()
    filters: list[dict[str, str]] = [{}, {"sort": "amount"}, {"sort": "date"}]
    filters += [{"region": r} for r in regions] + [{"method": m} for m in methods] + [{"flag": c} for c in codes]
    filters += [{"region": r, "flag": c, "amount_min": "1000000"} for r in regions[:5] for c in codes[:5]]

    with tempfile.TemporaryDirectory() as tmp:
        app_db = f"sqlite:///{tmp}/app.sqlite"
        env = {**os.environ, "LOAD_PW": "load-test-password"}
        subprocess.run([BIN / "aiqyn", "app-db", "upgrade", "--app-db", app_db], check=True, env=env)
        subprocess.run([BIN / "aiqyn", "users", "add", "load", "--role", "analyst", "--password-env", "LOAD_PW",
                        "--app-db", app_db], check=True, env=env)
        port = free_port()
        log = open(Path(tmp) / "serve.log", "w")  # noqa: SIM115  (closed with the server)
        server = subprocess.Popen([BIN / "aiqyn", "serve", "--db", args.db, "--app-db", app_db, "--port", str(port)],
                                  env=env, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(base + "/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            with httpx.Client(base_url=base, timeout=900) as http:
                token = http.get("/api/v1/me").json()["csrf_token"]
                r = http.post("/api/v1/login", json={"username": "load", "password": "load-test-password"},
                              headers={"X-CSRF-Token": token})
                r.raise_for_status()
                cookies = {"aiqyn_session": http.cookies["aiqyn_session"]}
                http.get("/queue", cookies=cookies)  # warm the caches of the facets once
            out: dict[str, list[float]] = {"queue": [], "process": []}
            errors: list[str] = []
            until = time.monotonic() + args.seconds

            async def run_all() -> None:
                await asyncio.gather(*(client(base, cookies, ocids, filters, until, out, errors, seed)
                                       for seed in range(args.clients)))

            started = time.monotonic()
            asyncio.run(run_all())
            wall = time.monotonic() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
            tail = (Path(tmp) / "serve.log").read_text(errors="replace").splitlines()
            problems = [line for line in tail if "Error" in line or "Traceback" in line]
            if problems:
                print("server log:", *problems[-10:], sep="\n")
    print(f"{n_processes:,} processes, {args.clients} concurrent clients, {wall:.0f} s, {os.cpu_count()} cores")
    print("| page | requests | per second | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, values in out.items():
        ms = [v * 1000 for v in values]
        print(f"| {kind} | {len(ms):,} | {len(ms) / wall:.1f} | {statistics.median(ms):.0f} | "
              f"{percentile(ms, 95):.0f} | {percentile(ms, 99):.0f} |")
    if errors:
        print(f"{len(errors)} errors, e.g. {errors[:3]}")
        sys.exit(1)


if __name__ == "__main__":
    main()
