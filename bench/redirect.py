"""The redirect under load: a bare aiohttp handler answering a fixed 302 (the baseline)
and Trackly's redirect with click recording on, each in its own process, loaded by wrk
(Debian's package) in another, with 64 connections, in the same run.

    python -m bench.redirect [--seconds 5] [--rounds 3] [--connections 64] [--links 500]
                             [--backends postgres,sqlite]

The bare handler and Trackly take turns, round by round (--rounds), each round preceded
for Trackly by an unmeasured pass that reads every link into its cache, so a burst of load
from elsewhere on a shared machine weighs on both alike. Reports requests per second
(all rounds), p50 and p99 (wrk's, the median of the rounds), "vs base" (the bare handler
of the same backend's rounds), the link SELECTs a measured request waited for (none: links
in use are refreshed in the background), the collector's runs and time, and clicks stored
against 302s answered (warm-ups included; wrk does not count the requests in flight when a
round ends, up to one per connection, which the server answered and recorded). Goals: at
least 0.8x the bare handler, p99 at most twice its p99, clicks stored = 302s answered.

Same aiohttp settings on both: no access log, no handler on the bare app's signals;
Trackly is served as ``trackly run`` serves it (web.app.AppRunner, headers up to 32 KB):
a link in the cache is answered by the redirect's front door (web.routes.redirect), which
writes a keep-alive HTTP/1.1 302 as preformatted bytes (the bare handler uses aiohttp's
Response: docs/DEPLOYMENT.md has the ablation), a miss by the app with its full route
table and middlewares; the server reads the newest
links into its cache as it starts, so the first (unmeasured) pass finds them there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import json
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.cpu import CpuMeter, database_of
from bench.harness import Result, record, scratch_database
from tests.helpers import free_port
from tests.tracking.helpers import PHONE_UA

TEST_SECRET = "bench-secret-key-bench-secret-key-0123456789"


# -- the servers (each runs in its own process: python -m bench.redirect --serve ...) --


def serve_bare(port: int) -> None:
    async def follow(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={
            "Location": "https://network.example/c?aff_sub=abc", "Cache-Control": "no-store"})

    app = web.Application()
    app.router.add_get("/{code}", follow)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def serve_trackly(port: int, url: str, data_dir: str, profile: str | None = None) -> None:
    from core.db import database
    from core.settings import Settings
    from trackly.bootstrap import build_services
    from web.app import AppRunner, create_app, server_args

    async def main() -> None:
        settings = Settings(database_url=url, secret_key=TEST_SECRET, data_dir=Path(data_dir),
                            public_url=f"http://127.0.0.1:{port}")
        services = build_services(settings, secret_key=TEST_SECRET)
        recorder = services.redirects.recorder
        recorder.close_within = 60.0  # the bench counts every click, however long it takes
        async with database(url):
            runner = AppRunner(create_app(services), access_log=None,
                                   shutdown_timeout=1.0, **server_args())
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            print("ready", flush=True)
            loop = asyncio.get_running_loop()
            links = services.redirects.links
            paused = [0.0, 0.0]  # collector: seconds in all, started at

            def collecting(phase: str, info: dict[str, int]) -> None:
                if phase == "start":
                    paused[1] = time.perf_counter()
                else:
                    paused[0] += time.perf_counter() - paused[1]

            gc.callbacks.append(collecting)

            def stats() -> str:
                return json.dumps({"loads": links.loads, "refreshes": links.refreshes,
                                   "refresh_queries": links.refresh_queries,
                                   "misses": links.misses,
                                   "written": recorder.written, "dropped": recorder.dropped,
                                   "failures": recorder.failures,
                                   "gc": [g["collections"] for g in gc.get_stats()],
                                   "gc_ms": round(paused[0] * 1000)})

            # "stats" prints the counters; "stop" stops, writes every click, prints them.
            while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "stats":
                print(stats(), flush=True)
            await runner.cleanup()  # stops taking requests, then writes every click
            print(stats(), flush=True)

    if profile:
        import cProfile

        with cProfile.Profile() as prof:
            asyncio.run(main())
        prof.dump_stats(profile)
    else:
        asyncio.run(main())


# -- the load ---------------------------------------------------------------------------


async def warm_up(port: int, codes: list[str]) -> int:
    """One request per code, 32 at a time, each waited for (however long the server
    takes to start): every link is in the cache after it. Returns the 302s answered."""
    import aiohttp

    async with aiohttp.ClientSession(headers={"User-Agent": PHONE_UA}) as http:
        async def one(code: str) -> int:
            async with http.get(f"http://127.0.0.1:{port}/{code}",
                                allow_redirects=False) as resp:
                await resp.read()
                return 1 if resp.status == 302 else 0

        answered = 0
        for i in range(0, len(codes), 32):
            answered += sum(await asyncio.gather(*(one(c) for c in codes[i:i + 32])))
        return answered


async def seed(url: str, links: int) -> list[str]:
    from core.messaging.models import MessageSent
    from core.settings import Settings
    from tests.tracking.builders import make_world, queue_with_link
    from trackly.bootstrap import build_services

    settings = Settings(database_url=url, secret_key=TEST_SECRET)
    services = build_services(settings, secret_key=TEST_SECRET)
    world = await make_world(services, subscribers=links)
    codes = [(await queue_with_link(world, sub, now=services.clock.now())).link.code
             for sub in world.subscribers]
    past = services.clock.now() - dt.timedelta(hours=1)
    await MessageSent.all().update(status="delivered", sent_at=past, delivered_at=past)
    return codes


def wait_for_port(port: int, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def wrk(port: int, codes: list[str], *, seconds: int, connections: int, tmp: Path,
        meter: CpuMeter | None = None) -> dict[str, Any]:
    script = tmp / "codes.lua"
    script.write_text(
        "codes = {" + ",".join(f'"{c}"' for c in codes) + "}\n"
        "i = 0\n"
        "request = function()\n"
        "  i = i + 1\n"
        '  return wrk.format("GET", "/" .. codes[(i % #codes) + 1])\n'
        "end\n")
    if meter is not None:
        meter.start()
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         "-H", f"User-Agent: {PHONE_UA}", f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"wrk failed: {out.stderr or out.stdout}")
    result = parse_wrk(out.stdout, seconds)
    if meter is not None:
        cpu = meter.stop()
        result["server_s"], result["postgres_s"] = cpu["process_s"], cpu["postgres_s"]
    return result


def ask(server: subprocess.Popen[str], command: str) -> dict[str, Any]:
    """The Trackly server's counters ("stats"), or its last ones after it stops ("stop")."""
    assert server.stdin and server.stdout
    server.stdin.write(command + "\n")
    server.stdin.flush()
    return dict(json.loads(server.stdout.readline()))


def combined(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several wrk runs as one: requests and seconds added up, percentiles the median of
    the runs' (wrk reports percentiles, not its samples)."""
    def median(key: str) -> float:
        return float(statistics.median(float(r[key]) for r in runs))

    return {"requests": sum(int(r["requests"]) for r in runs),
            "answered": sum(int(r["answered"]) for r in runs),
            "p50": median("p50"), "p90": median("p90"), "p99": median("p99"),
            "errors": "; ".join(str(r["errors"]) for r in runs if r["errors"]),
            "server_s": sum(float(r.get("server_s", 0.0)) for r in runs),
            "postgres_s": sum(float(r.get("postgres_s", 0.0)) for r in runs),
            "seconds": sum(float(r["seconds"]) for r in runs)}


def parse_wrk(out: str, seconds: int) -> dict[str, Any]:

    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert m, out
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"requests": total, "answered": total - (int(bad.group(1)) if bad else 0),
            "p50": ms("50"), "p90": ms("90"), "p99": ms("99"),
            "errors": errors.group(1) if errors else "",
            "seconds": float(seconds)}


@dataclass
class Row:
    backend: str
    case: str
    load: dict[str, Any]
    base: dict[str, Any] | None = None
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return float(self.load["requests"]) / float(self.load["seconds"])

    # CPU a request took (bench.cpu, over the measured runs): the server process's and
    # PostgreSQL's (the backends of this benchmark's database and its server processes).
    @property
    def server_us(self) -> float:
        return float(self.load.get("server_s", 0.0)) / max(1, int(self.load["requests"])) * 1e6

    @property
    def postgres_us(self) -> float:
        return (float(self.load.get("postgres_s", 0.0))
                / max(1, int(self.load["requests"])) * 1e6)

    @property
    def cpu_us(self) -> float:
        return self.server_us + self.postgres_us


def print_rows(title: str, rows: list[Row]) -> None:
    """The harness's table, with wrk's percentiles (p50, p90, p99) and the p99 ratio."""
    print(f"\n{title}")
    header = (f"{'backend':<9} {'case':<30} {'requests':>9} {'req/s':>8} {'p50 ms':>7} "
              f"{'p90 ms':>7} {'p99 ms':>7} {'vs base':>8} {'p99 vs':>7} {'srv us':>7} "
              f"{'pg us':>6} {'us vs':>6}")
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = f"{r.rate / Row('', '', r.base).rate:.2f}x" if r.base else "-"
        p99 = f"{r.load['p99'] / r.base['p99']:.2f}x" if r.base else "-"
        cpu = (f"{r.cpu_us / Row('', '', r.base).cpu_us:.2f}x"
               if r.base and Row('', '', r.base).cpu_us else "-")
        print(f"{r.backend:<9} {r.case:<30} {r.load['requests']:>9} {r.rate:>8,.0f} "
              f"{r.load['p50']:>7.1f} {r.load['p90']:>7.1f} {r.load['p99']:>7.1f} "
              f"{ratio:>8} {p99:>7} {r.server_us:>7.1f} {r.postgres_us:>6.1f} "
              f"{cpu:>6}" + (f"  {r.note}" if r.note else ""))


async def run(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    results: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="trackly-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        bare_port = free_port()
        # Blocking calls in this coroutine are on purpose: it has nothing else to run.
        bare = subprocess.Popen([sys.executable, "-m", "bench.redirect",  # noqa: ASYNC220
                                 "--serve", "bare", "--port", str(bare_port)])
        try:
            wait_for_port(bare_port)
            bare_codes = [f"c{i:06d}" for i in range(args.links)]
            wrk(bare_port, bare_codes, seconds=2, connections=args.connections, tmp=tmp)
            for backend in args.backends.split(","):
                async with scratch_database(backend) as url:
                    codes = await seed(url, args.links)
                    port = free_port()
                    server = subprocess.Popen(  # noqa: ASYNC220
                        [sys.executable, "-m", "bench.redirect", "--serve", "trackly",
                         "--port", str(port), "--url", url, "--data-dir", str(tmp),
                         *(["--profile", args.profile] if args.profile else [])],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                    assert server.stdout and server.stdin
                    assert server.stdout.readline().strip() == "ready"
                    await asyncio.sleep(1.0)  # the detector's tables load as the app starts
                    # Each measured round is the steady state, where a request never waits
                    # for the database: a pass before it (unmeasured) reads every link into
                    # the cache; on the first it is the cold start (one SELECT per code on
                    # the request's path), later it re-reads links that expired (5 s) while
                    # the bare handler was loaded. Only measured rounds count as waited.
                    warmed, waited, refreshed, queries, gc_ms = 0, 0, 0, 0, 0
                    collected = [0, 0, 0]
                    bases, loads = [], []
                    for i in range(args.rounds):
                        # on SQLite no PostgreSQL backend is the benchmark's own
                        db = database_of(url) if backend == "postgres" else "-"
                        bases.append(wrk(bare_port, bare_codes, seconds=args.seconds,
                                         connections=args.connections, tmp=tmp,
                                         meter=CpuMeter([bare.pid], db)))
                        warmed += await warm_up(port, codes)
                        before = ask(server, "stats")
                        spy = subprocess.Popen(  # noqa: ASYNC220
                            ["py-spy", "record", "--nonblocking", "-r", "200", "-f", "raw",
                             "-d", str(args.seconds), "-o", f"{args.py_spy}-{backend}.txt",
                             "--pid", str(server.pid)],
                            stdout=subprocess.DEVNULL) if args.py_spy and not i else None
                        loads.append(wrk(port, codes, seconds=args.seconds,
                                         connections=args.connections, tmp=tmp,
                                         meter=CpuMeter([server.pid], db)))
                        if spy is not None:
                            spy.wait()
                        during = ask(server, "stats")
                        waited += during["misses"] - before["misses"]
                        refreshed += during["refreshes"] - before["refreshes"]
                        queries += during["refresh_queries"] - before["refresh_queries"]
                        collected = [n + b - a for n, a, b in zip(
                            collected, before["gc"], during["gc"], strict=True)]
                        gc_ms += during["gc_ms"] - before["gc_ms"]
                    base, load = combined(bases), combined(loads)
                    stats = ask(server, "stop")
                    server.wait()
                    from core.tracking.models import MessageClick, MessageShortLinkClick

                    stored = await MessageShortLinkClick.all().count()
                    counted = await MessageClick.all().count()
                    answered = warmed + int(load["answered"])
                    results.append(Row(backend, "bare aiohttp, fixed 302", base,
                                       note=f"{args.rounds} rounds, alternating with the next"))
                    results.append(Row(
                        backend, "trackly redirect + recording", load, base,
                        f"stored {stored} of {answered} answered 302 (warm-ups included); "
                        f"counted {counted}; link SELECTs a request waited for: {waited} "
                        f"(+{refreshed} codes refreshed in the background in {queries} "
                        f"queries); dropped {stats['dropped']}; collector runs by "
                        f"generation {collected}, {gc_ms} ms" +
                        (f"; socket errors {load['errors']}" if load["errors"] else ""),
                        # wrk leaves out what was in flight when a round ended (at most
                        # one request per connection), which the server answered and
                        # recorded: stored may exceed the count by that much, never less.
                        {"stored": stored, "answered": float(answered),
                         "in_flight": float(args.connections * args.rounds),
                         "waited": float(waited), "link_selects": stats["loads"],
                         "links": len(codes)}))
        finally:
            bare.terminate()
            bare.wait()
    title = (f"Redirect, wrk -c{args.connections} -t2, {args.rounds} rounds of {args.seconds} s "
             f"each (p50/p99: median of the rounds), {args.links} links")
    print_rows(title, results)
    record(title, [Result(
        r.backend, r.case, int(r.load["requests"]), float(r.load["seconds"]),
        baseline_rate=Row("", "", r.base).rate if r.base else None, note=r.note,
        extra={"p50": r.load["p50"], "p99": r.load["p99"], **r.extra,
               "server_us": r.server_us, "postgres_us": r.postgres_us,
               **({"p99_ratio": r.load["p99"] / r.base["p99"]} if r.base else {})})
        for r in results], unit="req/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--links", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--serve", choices=["bare", "trackly"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--url")
    parser.add_argument("--data-dir")
    parser.add_argument("--profile", help="write the Trackly server's cProfile stats here "
                        "(one backend at a time: the last one's stats are kept)")
    parser.add_argument("--py-spy", help="sample the Trackly server with py-spy during the "
                        "measured run (py-spy from PyPI); folded stacks go to "
                        "PREFIX-<backend>.txt")
    args = parser.parse_args()
    if args.serve == "bare":
        serve_bare(args.port)
    elif args.serve == "trackly":
        serve_trackly(args.port, args.url, args.data_dir, args.profile)
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
