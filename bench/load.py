"""HTTP load for the web benchmarks: wrk against a server in its own process, bodies
written per request by a Lua script, and the server's peak memory read from /proc.

The servers: ``trackly run --role web`` on a scratch database, and the bare aiohttp app
of :mod:`bench.bare` (the floor) measured in the same run, interleaved."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.cpu import CpuMeter
from bench.harness import Result, record

SECRET = "bench-secret-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def server(argv: list[str], port: int, health: str, env: dict[str, str] | None = None
           ) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, *argv], env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_up(f"http://127.0.0.1:{port}{health}", proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def bare_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    with server(["-m", "bench.bare", "--port", str(port)], port, "/health") as proc:
        yield f"http://127.0.0.1:{port}", proc


@contextlib.contextmanager
def trackly_web(database_url: str, port: int | None = None, **extra_env: str
                ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="trackly-bench-web-") as data:
        env = {"TRACKLY_DATABASE_URL": database_url, "TRACKLY_SECRET_KEY": SECRET,
               "TRACKLY_PUBLIC_URL": base, "TRACKLY_DATA_DIR": data,
               "TRACKLY_LOG_LEVEL": "WARNING", **extra_env}
        with server(["-m", "trackly", "run", "--role", "web", "--port", str(port)], port,
                    "/healthz", env) as proc:
            yield base, proc


def peak_mb(proc: subprocess.Popen[bytes]) -> float:
    with contextlib.suppress(OSError), open(f"/proc/{proc.pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Run:
    case: str
    requests: int
    seconds: float
    rate: float
    p50: float
    p90: float
    p99: float
    errors: int
    peak_mb: float = 0.0
    base_rate: float | None = None
    server_us: float | None = None  # CPU of the server process per request (bench.cpu)
    postgres_us: float | None = None  # and of PostgreSQL
    busy: float | None = None  # share of all cores busy during the run


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def wrk(url: str, script: str, *, connections: int, seconds: float, case: str,
        threads: int = 2, meter: CpuMeter | None = None) -> Run:
    """Run wrk with a Lua script (its ``request`` function builds each request);
    with ``meter``, the CPU its processes and PostgreSQL used per request too."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed (apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        if meter is not None:
            meter.start()
        done = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
             "--latency", "-s", path, url], capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"wrk failed: {done.stdout}{done.stderr}")
        out = done.stdout
        cpu = meter.stop() if meter is not None else None
    finally:
        Path(path).unlink()
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    took = re.search(r"requests in ([\d.]+)(ms|s|m)", out)
    assert took is not None
    secs = float(took.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[took.group(2)]
    pct = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                     out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, errs.groups())) if errs else 0)
    run = Run(case, total, secs, total / secs, _ms(pct.get("50", "")), _ms(pct.get("90", "")),
              _ms(pct.get("99", "")), errors)
    if cpu is not None and total:
        run.server_us = cpu["process_s"] / total * 1e6
        run.postgres_us = cpu["postgres_s"] / total * 1e6
        run.busy = cpu["machine_busy"]
    return run


def print_runs(title: str, runs: list[Run], backend: str = "postgres") -> None:
    record(title, [Result(backend, r.case, r.requests, r.seconds, peak_mb=r.peak_mb,
                          extra={"rate": r.rate, "p50": r.p50, "p99": r.p99,
                                 "errors": r.errors,
                                 **({"ratio": r.rate / r.base_rate} if r.base_rate else {}),
                                 **({"server_us": r.server_us, "postgres_us": r.postgres_us,
                                     "busy": r.busy} if r.server_us is not None else {})})
                   for r in runs], unit="req/s")
    print(f"\n{title}")
    header = (f"{'case':<44} {'requests':>9} {'seconds':>8} {'req/s':>9} {'p50 ms':>8} "
              f"{'p90 ms':>8} {'p99 ms':>8} {'errors':>7} {'peak MB':>8} {'vs bare':>8}")
    print(header)
    print("-" * len(header))
    for r in runs:
        ratio = f"{r.rate / r.base_rate:.2f}x" if r.base_rate else "-"
        peak = f"{r.peak_mb:>8.0f}" if r.peak_mb else f"{'-':>8}"
        print(f"{r.case:<44} {r.requests:>9} {r.seconds:>8.1f} {r.rate:>9,.0f} {r.p50:>8.1f} "
              f"{r.p90:>8.1f} {r.p99:>8.1f} {r.errors:>7} {peak} {ratio:>8}")
    cpu_runs = [r for r in runs if r.server_us is not None]
    if cpu_runs:
        print("\nCPU per request (bench.cpu: /proc, whatever else the machine does)")
        header = (f"{'case':<44} {'server us':>10} {'PostgreSQL us':>14} {'all cores busy':>15}")
        print(header)
        print("-" * len(header))
        for r in cpu_runs:
            print(f"{r.case:<44} {r.server_us:>10,.0f} {r.postgres_us or 0:>14,.0f} "
                  f"{r.busy or 0:>15.0%}")
