"""Sends per second with 1, 2 and 3 worker processes on one PostgreSQL.

Queue N messages to the simulator (no latency, no receipts), start K real
``trackly run --role worker`` processes, wait until each has beaten (so start-up time is
not measured), then release the whole queue at once and time until nothing is queued or
in flight. The baseline is one worker in the same run; the goal is K workers at least
0.8 x K times one, up to the cores available (this machine has ``os.cpu_count()``; the
database shares them, so past that the ratio says more about the machine than the code).

    python -m bench.workers [--messages 60000] [--workers 1,2,3]
    python -m bench.workers --messages 20000 --workers 1 --profile /tmp/worker.prof

``--profile``: each worker runs under cProfile (written to PATH.<k>.<i> when it stops;
the top functions of the first are printed), and the database's own counters
(pg_stat_database: transactions, rows read, inserted, updated) are printed per message
sent, which is where the time goes on the PostgreSQL side (pg_stat_statements is not
loaded on the machines this runs on).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time

from bench.cpu import CpuMeter, database_of
from bench.dispatch import SECRET, seed
from bench.harness import Result, print_table, scratch_database
from core.messaging.outbox import enqueue
from core.settings import Settings
from core.sql import Params, execute, fetch
from core.system.models import Heartbeat
from trackly.bootstrap import build_services

HOLD = "9999-01-01 00:00:00+00"


def start_worker(url: str, profile: str | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKLY_", "DISCORD_"))}
    env.update({"TRACKLY_DATABASE_URL": url, "TRACKLY_SECRET_KEY": SECRET,
                "TRACKLY_SIMULATOR_LATENCY_MS": "0", "TRACKLY_SIMULATOR_RECEIPT_RATE": "0",
                "TRACKLY_EXECUTOR_POLL_SECONDS": "0.05", "TRACKLY_LOG_LEVEL": "WARNING",
                "TRACKLY_DATA_DIR": "/tmp"})
    prefix = ["-m", "cProfile", "-o", profile] if profile else []
    return subprocess.Popen([sys.executable, *prefix, "-m", "trackly", "run", "--role",
                             "worker"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


DB_COUNTERS = ("xact_commit", "tup_fetched", "tup_returned", "tup_inserted", "tup_updated",
               "tup_deleted", "blks_hit", "blks_read")


async def db_counters() -> dict[str, int]:
    await execute("SELECT pg_stat_clear_snapshot()", Params())
    [row] = await fetch(f"SELECT {', '.join(DB_COUNTERS)} FROM pg_stat_database "
                        "WHERE datname = current_database()", Params())
    return {k: int(row[k]) for k in DB_COUNTERS}


async def pending() -> bool:
    # EXISTS stops at the first unfinished row; a COUNT(*) every 50 ms scanned the whole
    # table and took PostgreSQL CPU from the workers being measured (it was a third of
    # the rows the database read per message sent).
    rows = await fetch("SELECT EXISTS (SELECT 1 FROM message_sent WHERE status IN "
                       "('queued', 'sending')) AS left", Params())
    return bool(rows[0]["left"])


async def one_run(url: str, workers: int, count: int, profile: str | None = None
                  ) -> Result:
    # Park the queue in the future so the workers start with nothing due.
    await execute("UPDATE message_sent SET status = 'queued', claim_token = NULL, "
                  "lease_expires_at = NULL, sent_at = NULL, delivered_at = NULL, "
                  "provider_message_id = NULL, attempts = 0, status_detail = NULL, "
                  f"not_before = '{HOLD}'", Params())
    await execute("DELETE FROM usage_record", Params())
    await execute("DELETE FROM message_event", Params())
    await execute("VACUUM ANALYZE message_sent", Params())
    await Heartbeat.filter(component__startswith="worker:").delete()
    procs = [start_worker(url, f"{profile}.{workers}.{i}" if profile else None)
             for i in range(workers)]
    try:
        deadline = time.monotonic() + 120
        while await Heartbeat.filter(component__startswith="worker:").count() < workers:
            for proc in procs:
                if proc.poll() is not None:
                    raise SystemExit(proc.stderr.read().decode())  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise SystemExit("workers did not start within 120 s")
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # counters are flushed by each backend now and then
        before = await db_counters()
        meter = CpuMeter([proc.pid for proc in procs], database_of(url))
        meter.start()
        began = time.perf_counter()
        await execute("UPDATE message_sent SET not_before = NULL", Params())
        while await pending():  # noqa: ASYNC110 - polling another process's work
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - began
        cpu = meter.stop()
        await asyncio.sleep(1.5)
        after = await db_counters()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
            if proc.stderr:
                proc.stderr.close()
    per = {k: (after[k] - before[k]) / count for k in DB_COUNTERS}
    print(f"{workers} worker(s), database per message sent: "
          + ", ".join(f"{k} {v:.2f}" for k, v in per.items()), flush=True)
    cores = os.cpu_count() or 1
    worker_us, pg_us = (cpu[k] / count * 1e6 for k in ("process_s", "postgres_s"))
    print(f"{workers} worker(s), CPU per message sent: workers {worker_us:.0f} us, "
          f"PostgreSQL {pg_us:.0f} us; all cores busy {cpu['machine_busy']:.0%} "
          f"(workers {cpu['process_s'] / seconds / cores:.0%}, PostgreSQL "
          f"{cpu['postgres_s'] / seconds / cores:.0%}); ceiling if CPU-bound: "
          f"{cores / ((worker_us + pg_us) / 1e6):,.0f} msg/s", flush=True)
    return Result("postgres", f"{workers} worker process(es)", count, seconds)


async def main_async(count: int, counts: list[int], profile: str | None = None
                     ) -> list[Result]:
    async with scratch_database("postgres") as url:
        settings = Settings(database_url=url, secret_key=SECRET, data_dir=".")
        services = build_services(settings, secret_key=SECRET)
        _, messages = await seed(services, count)
        await enqueue(messages, now=services.clock.now())
        results = [await one_run(url, k, count, profile) for k in counts]
    one = next((r for r in results if r.case.startswith("1 ")), None)
    for r, k in zip(results, counts, strict=True):
        if one is not None:
            r.baseline_rate = one.rate
            r.note = f"goal {0.8 * k:.1f}x" + ("" if k <= (os.cpu_count() or 1)
                                               else " (more workers than cores)")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--profile", help="run the workers under cProfile, files PATH.k.i")
    args = parser.parse_args()
    counts = [int(k) for k in args.workers.split(",")]
    results = asyncio.run(main_async(args.messages, counts, args.profile))
    print_table(f"workers: {args.messages:,} messages to the simulator, PostgreSQL, "
                f"{os.cpu_count()} cores", results)
    if args.profile:
        import pstats

        print(f"\nprofile of one worker ({args.profile}.{counts[0]}.0), top by own time:")
        stats = pstats.Stats(f"{args.profile}.{counts[0]}.0")
        stats.sort_stats("tottime").print_stats(18)


if __name__ == "__main__":
    main()
