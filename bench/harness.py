"""Shared benchmark plumbing: a scratch database per backend, RSS sampling, tables.

Benchmarks print; they never assert timings. Run them on a quiet machine and read the
ratio column: baseline and candidate are measured in the same run, on the same data."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from core.db import database, migrate

PG_URL = os.environ.get("TRACKLY_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples resident memory every 20 ms while active; ``peak`` in MB."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> PeakRss:
        self.peak = rss_mb()

        async def sample() -> None:
            while True:
                self.peak = max(self.peak, rss_mb())
                await asyncio.sleep(0.02)

        self._task = asyncio.create_task(sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.peak = max(self.peak, rss_mb())
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@dataclass
class Result:
    backend: str
    case: str
    items: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    peak_mb: float = 0.0
    baseline_rate: float | None = None
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)  # figures a goal reads (report)

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


RECORD_ENV = "TRACKLY_BENCH_RECORD"


def record(title: str, results: Sequence[Result], unit: str) -> None:
    """With TRACKLY_BENCH_RECORD set (bench/report.py sets it), append every row to that
    JSON-lines file, so one report gathers what each benchmark measured."""
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        for r in results:
            out.write(json.dumps({
                "bench": Path(sys.argv[0]).stem, "table": title, "backend": r.backend,
                "case": r.case, "items": r.items, "seconds": r.seconds, "rate": r.rate,
                "unit": unit, "p50": r.pct(0.5) if r.latencies_ms else None,
                "p99": r.pct(0.99) if r.latencies_ms else None, "peak_mb": r.peak_mb or None,
                "ratio": r.rate / r.baseline_rate if r.baseline_rate else None,
                "note": r.note, **r.extra}) + "\n")


def print_table(title: str, results: Sequence[Result], unit: str = "msg/s") -> None:
    record(title, results, unit)
    print(f"\n{title}")
    header = (f"{'backend':<9} {'case':<31} {'items':>8} {'seconds':>8} {unit:>10} "
              f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'peak MB':>8} {'vs base':>8}")
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = f"{r.rate / r.baseline_rate:.2f}x" if r.baseline_rate else "-"
        pcts = " ".join(f"{r.pct(q):>8.1f}" if r.latencies_ms else f"{'-':>8}"
                        for q in (0.5, 0.95, 0.99))
        peak = f"{r.peak_mb:>8.0f}" if r.peak_mb else f"{'-':>8}"
        print(f"{r.backend:<9} {r.case:<31} {r.items:>8} {r.seconds:>8.2f} {r.rate:>10,.0f} "
              f"{pcts} {peak} {ratio:>8}" + (f"  {r.note}" if r.note else ""))


@contextlib.asynccontextmanager
async def scratch_database(backend: str) -> AsyncIterator[str]:
    """A freshly migrated database; dropped (PostgreSQL) or deleted (SQLite) afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="trackly-bench-") as tmp:
            url = f"sqlite://{Path(tmp) / 'bench.sqlite3'}"
            await migrate(url)
            async with database(url):
                yield url
        return
    name = f"trackly_bench_{secrets.token_hex(4)}"
    admin = urlunsplit(("postgresql", *urlsplit(PG_URL)[1:]))
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    parts = urlsplit(PG_URL)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    try:
        await migrate(url)
        async with database(url):
            yield url
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


class Stopwatch:
    def __init__(self) -> None:
        self.laps: list[float] = []
        self.started = time.perf_counter()

    @contextlib.contextmanager
    def lap(self) -> AsyncIterator[None]:  # type: ignore[misc]
        began = time.perf_counter()
        yield
        self.laps.append((time.perf_counter() - began) * 1000)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0
