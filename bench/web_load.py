"""Load test of the web application: p50/p95/p99 latency and throughput of the risk queue and of process pages
under N concurrent clients, against `aiqyn serve` running as in production (figures: bench/README.md).

    .venv/bin/python bench/web_load.py --db STORE.duckdb [--clients 50] [--seconds 60] [--think 0]
        [--workers N] [--page-cache FILE | --no-page-cache] [--tool httpx|wrk]

Starts `aiqyn serve` on STORE (a fresh SQLite application database, the page cache at --page-cache, built on
the first start), signs in one analyst, then runs the clients for the given time. Each client alternates the
risk queue (HTML, a random filter and page) and a random flagged process's page (HTML):

- `--think 0` (the default): a closed loop, each client asks again as soon as it has its answer (the strict
  reading of "50 concurrent clients");
- `--think S`: a user model, each client pauses between pages, a random time between S/2 and 3S/2.

`--tool httpx` measures with asyncio httpx clients in this process (latency per page kind, from request to
complete response). `--tool wrk` runs wrk (Debian's package) with the same URLs and cookie: one run per page
kind, so that each gets its own percentiles; wrk is written in C and takes much less CPU than the httpx
clients on a machine the server shares; a third run asks for /healthz (signed in, no page, no data: what the
framework alone costs a request). The load average is printed before and after, and the CPU time the server's
processes used per page.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import duckdb
import httpx

BIN = Path(sys.executable).parent
WRK_SCRIPT = """
local urls = {}
for line in io.lines("%(urls)s") do urls[#urls + 1] = line end
local think = %(think)d
local threads = {}
setup = function(thread) threads[#threads + 1] = thread end
init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  hits = 0
  misses = 0
end
request = function()
  return wrk.format("GET", urls[math.random(#urls)], {["Cookie"] = "aiqyn_session=%(cookie)s"})
end
delay = function()
  if think > 0 then return math.random(math.floor(think / 2), math.floor(think * 3 / 2)) end
  return 0
end
response = function(status, headers, body)
  local cache = headers["x-aiqyn-cache"]
  if cache == "hit" then hits = hits + 1 elseif cache == "miss" then misses = misses + 1 end
end
done = function(summary, latency, requests)
  local h, m = 0, 0
  for _, t in ipairs(threads) do h = h + t:get("hits"); m = m + t:get("misses") end
  io.write(string.format("WRK requests=%%d seconds=%%.3f p50=%%.3f p95=%%.3f p99=%%.3f non200=%%d errors=%%d "
    .. "hits=%%d misses=%%d\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, summary.errors.status, summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, h, m))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def loadavg() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def server_rss(pid: int) -> list[int]:
    """Resident memory (MB) of the server process and of each of its worker processes."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(entry.name) != pid and int(stat[1]) != pid:
                    continue
                rss = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("VmRSS"))
            except (OSError, StopIteration):
                continue
            out.append(int(rss.split()[1]) // 1024)
    return sorted(out)


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server process and its worker processes."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        if p in stats:
            total += (int(stats[p][11]) + int(stats[p][12])) / tick
        todo.extend(children.get(p, []))
    return total


def targets(db: Path) -> tuple[int, list[str], list[dict[str, str]]]:
    """Processes in the store, a sample of flagged ocids, the queue filters the clients pick from."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        n_processes = con.execute("SELECT count(*) FROM processes").fetchone()[0]  # type: ignore[index]
        run = con.execute("SELECT run_id FROM flag_runs WHERE status = 'complete' ORDER BY finished_at DESC "
                          "LIMIT 1").fetchone()[0]  # type: ignore[index]
        ocids = [r[0] for r in con.execute("SELECT DISTINCT subject_id FROM flags WHERE run_id = ? AND "
                                           "subject_type = 'process' USING SAMPLE 2000 ROWS", [run]).fetchall()]
        regions = [r[0] for r in con.execute("SELECT DISTINCT region_code[:2] || '0000000' FROM processes "
                                             "WHERE region_code IS NOT NULL ORDER BY 1").fetchall()]
        methods = [r[0] for r in con.execute("SELECT DISTINCT method_details FROM processes "
                                             "WHERE method_details IS NOT NULL ORDER BY 1").fetchall()]
        codes = [r[0] for r in con.execute("SELECT DISTINCT code FROM flags WHERE run_id = ? ORDER BY 1",
                                           [run]).fetchall()]
    finally:
        con.close()
    filters: list[dict[str, str]] = [{}, {"sort": "amount"}, {"sort": "date"}]
    filters += [{"region": r} for r in regions] + [{"method": m} for m in methods] + [{"flag": c} for c in codes]
    filters += [{"region": r, "flag": c, "amount_min": "1000000"} for r in regions[:5] for c in codes[:5]]
    return n_processes, ocids, filters


def queue_url(rng: random.Random, filters: list[dict[str, str]]) -> str:
    return "/queue?" + urlencode({**rng.choice(filters), "page": str(rng.randint(1, 20))})


def process_url(rng: random.Random, ocids: list[str]) -> str:
    return "/processes/" + quote(rng.choice(ocids), safe="")


async def client(base: str, cookies: dict[str, str], ocids: list[str], filters: list[dict[str, str]],
                 until: float, think: float, out: dict[str, list[float]], errors: list[str], seed: int) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=120) as http:
        if think:
            await asyncio.sleep(rng.uniform(0, think))  # the users do not all arrive at once
        while time.monotonic() < until:
            for kind in ("queue", "process"):
                url = queue_url(rng, filters) if kind == "queue" else process_url(rng, ocids)
                started = time.perf_counter()
                try:
                    r = await http.get(url)
                except httpx.TransportError as exc:
                    errors.append(f"{type(exc).__name__} {url}")
                    continue
                elapsed = time.perf_counter() - started
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {url}")
                out[kind].append(elapsed)
                if think:
                    await asyncio.sleep(rng.uniform(think / 2, 3 * think / 2))


def run_httpx(base: str, cookie: str, ocids: list[str], filters: list[dict[str, str]],
              args: argparse.Namespace) -> tuple[dict[str, list[float]], list[str], float]:
    out: dict[str, list[float]] = {"queue": [], "process": []}
    errors: list[str] = []
    until = time.monotonic() + args.seconds

    async def run_all() -> None:
        await asyncio.gather(*(client(base, {"aiqyn_session": cookie}, ocids, filters, until, args.think, out,
                                      errors, seed) for seed in range(args.clients)))

    started = time.monotonic()
    asyncio.run(run_all())
    return out, errors, time.monotonic() - started


def run_wrk(base: str, cookie: str, ocids: list[str], filters: list[dict[str, str]], args: argparse.Namespace,
            tmp: Path, pid: int) -> list[tuple[str, dict[str, float]]]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    rng = random.Random(1)
    results = []
    runs = [(kind, n) for kind in ("queue", "process") for n in range(1, args.passes + 1)] + [("healthz", 1)]
    for kind, n in runs:
        urls = tmp / f"{kind}.txt"
        if n == 1:
            urls.write_text("\n".join(queue_url(rng, filters) if kind == "queue" else process_url(rng, ocids)
                                      if kind == "process" else "/healthz" for _ in range(5000)) + "\n")
        script = tmp / f"{kind}.lua"
        script.write_text(WRK_SCRIPT % {"urls": urls, "think": int(args.think * 1000), "cookie": cookie})
        before, cpu = loadavg(), server_cpu(pid)
        res = subprocess.run([wrk, "-t", "2", "-c", str(args.clients), "-d", f"{args.seconds:.0f}s",
                              "--timeout", "60s", "-s", str(script), base], capture_output=True, text=True)
        line = next((x for x in res.stdout.splitlines() if x.startswith("WRK ")), None)
        if res.returncode != 0 or line is None:
            raise SystemExit(f"wrk failed: {res.stdout}\n{res.stderr}")
        values = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}
        values["load_before"], values["load_after"] = float(before.split("/")[0]), os.getloadavg()[0]
        values["cpu"] = server_cpu(pid) - cpu
        results.append((kind if args.passes == 1 or kind == "healthz" else f"{kind} (pass {n})", values))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True, help="the analytics store (flagged)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean pause of each client between pages, in seconds (0: closed loop)")
    parser.add_argument("--workers", type=int, default=None, help="aiqyn serve --workers (default: its own)")
    parser.add_argument("--page-cache", type=Path, default=None,
                        help="the page cache file (default: a new one in a temporary directory)")
    parser.add_argument("--no-page-cache", action="store_true", help="serve without the page cache")
    parser.add_argument("--tool", choices=["httpx", "wrk"], default="httpx")
    parser.add_argument("--passes", type=int, default=1,
                        help="wrk: runs of each page kind one after the other, over the same URLs (the first "
                             "meets each worker's rendered-page cache empty, the next ones warm)")
    parser.add_argument("--no-rendered-cache", action="store_true",
                        help="serve without the rendered-page cache (AIQYN_RENDERED_CACHE_MB=0)")
    args = parser.parse_args()

    n_processes, ocids, filters = targets(args.db)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        app_db = f"sqlite:///{tmp}/app.sqlite"
        env = {**os.environ, "LOAD_PW": "load-test-password"}
        if args.no_rendered_cache:
            env["AIQYN_RENDERED_CACHE_MB"] = "0"
        subprocess.run([BIN / "aiqyn", "app-db", "upgrade", "--app-db", app_db], check=True, env=env,
                       capture_output=True)
        subprocess.run([BIN / "aiqyn", "users", "add", "load", "--role", "analyst", "--password-env", "LOAD_PW",
                        "--app-db", app_db], check=True, env=env, capture_output=True)
        port = free_port()
        command = [BIN / "aiqyn", "serve", "--db", args.db, "--app-db", app_db, "--port", str(port)]
        if args.workers:
            command += ["--workers", str(args.workers)]
        if args.no_page_cache:
            command += ["--no-page-cache"]
        else:
            command += ["--page-cache", args.page_cache or tmp / "pages.sqlite"]
        log = open(tmp / "serve.log", "w")  # noqa: SIM115  (closed with the server)
        server = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            started = time.monotonic()
            while True:
                try:
                    if httpx.get(base + "/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() - started > 3600:
                    raise SystemExit("the server did not start:\n" + (tmp / "serve.log").read_text())
                time.sleep(0.5)
            print(f"server up in {time.monotonic() - started:.0f} s", flush=True)
            with httpx.Client(base_url=base, timeout=900) as http:
                token = http.get("/api/v1/me").json()["csrf_token"]
                r = http.post("/api/v1/login", json={"username": "load", "password": "load-test-password"},
                              headers={"X-CSRF-Token": token})
                r.raise_for_status()
                cookie = http.cookies["aiqyn_session"]
                for _ in range(20):  # reach every worker once (facets read, templates compiled)
                    httpx.get(base + "/queue", cookies={"aiqyn_session": cookie}, timeout=900)
            load_before, cpu_before = loadavg(), server_cpu(server.pid)
            if args.tool == "wrk":
                wrk_results = run_wrk(base, cookie, ocids, filters, args, tmp, server.pid)
            else:
                out, errors, wall = run_httpx(base, cookie, ocids, filters, args)
            load_after, cpu = loadavg(), server_cpu(server.pid) - cpu_before
            rss = server_rss(server.pid)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
            problems = [line for line in (tmp / "serve.log").read_text(errors="replace").splitlines()
                        if "Error" in line or "Traceback" in line]
            if problems:
                print("server log:", *problems[-10:], sep="\n")
    model = f"think time {args.think:g} s (each pause uniform in [{args.think / 2:g}, {3 * args.think / 2:g}] s)" \
        if args.think else "closed loop (no think time)"
    print(f"{n_processes:,} processes; {args.clients} clients, {model}; tool {args.tool}; "
          f"workers {args.workers or 'default'}; page cache {'off' if args.no_page_cache else 'on'}; "
          f"{os.cpu_count()} cores; load average (1/5/15 min) before {load_before}, after {load_after}; resident "
          f"memory of the server's processes at the end: {', '.join(f'{mb:,} MB' for mb in rss)}")
    if args.tool == "wrk":
        print("| page | requests | per second | p50 ms | p95 ms | p99 ms | cache hits | server CPU per request | "
              "load average before/after |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        bad = 0
        for kind, v in wrk_results:
            answered = v["hits"] + v["misses"]
            hits = f"{100 * v['hits'] / answered:.1f}%" if answered else "—"
            cpu_ms = 1000 * v["cpu"] / max(v["requests"], 1)
            print(f"| {kind} | {v['requests']:,.0f} | {v['requests'] / v['seconds']:.1f} | {v['p50']:.0f} | "
                  f"{v['p95']:.0f} | {v['p99']:.0f} | {hits} | {cpu_ms:.2f} ms "
                  f"| {v['load_before']:.1f} / {v['load_after']:.1f} |")
            bad += int(v["non200"] + v["errors"])
        if bad:
            print(f"{bad} errors or non-200 answers")
            sys.exit(1)
        return
    print("| page | requests | per second | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, values in out.items():
        ms = [v * 1000 for v in values]
        print(f"| {kind} | {len(ms):,} | {len(ms) / wall:.1f} | {statistics.median(ms):.0f} | "
              f"{percentile(ms, 95):.0f} | {percentile(ms, 99):.0f} |")
    pages = sum(map(len, out.values()))
    print(f"server CPU: {cpu:.1f} s for {pages:,} pages, {1000 * cpu / max(pages, 1):.1f} ms a page (user + system, "
          "all its processes)")
    if errors:
        print(f"{len(errors)} errors, e.g. {errors[:3]}")
        sys.exit(1)


if __name__ == "__main__":
    main()
