"""Sends per second with 1, 2 and 3 worker processes on one PostgreSQL.

Queue N messages to the simulator (no latency, no receipts), start K real
``trackly run --role worker`` processes, wait until each has beaten (so start-up time is
not measured), then release the whole queue at once and time until nothing is queued or
in flight. The baseline is one worker in the same run; the goal is K workers at least
0.8 x K times one, up to the cores available (this machine has ``os.cpu_count()``; the
database shares them, so past that the ratio says more about the machine than the code).

    python -m bench.workers [--messages 60000] [--workers 1,2,3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time

from bench.dispatch import SECRET, seed
from bench.harness import Result, print_table, scratch_database
from core.messaging.outbox import enqueue
from core.settings import Settings
from core.sql import Params, execute, fetch
from core.system.models import Heartbeat
from trackly.bootstrap import build_services

HOLD = "9999-01-01 00:00:00+00"


def start_worker(url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKLY_", "DISCORD_"))}
    env.update({"TRACKLY_DATABASE_URL": url, "TRACKLY_SECRET_KEY": SECRET,
                "TRACKLY_SIMULATOR_LATENCY_MS": "0", "TRACKLY_SIMULATOR_RECEIPT_RATE": "0",
                "TRACKLY_EXECUTOR_POLL_SECONDS": "0.05", "TRACKLY_LOG_LEVEL": "WARNING",
                "TRACKLY_DATA_DIR": "/tmp"})
    return subprocess.Popen([sys.executable, "-m", "trackly", "run", "--role", "worker"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def pending() -> int:
    rows = await fetch("SELECT COUNT(*) AS n FROM message_sent WHERE status IN "
                       "('queued', 'sending')", Params())
    return int(rows[0]["n"])


async def one_run(url: str, workers: int, count: int) -> Result:
    # Park the queue in the future so the workers start with nothing due.
    await execute("UPDATE message_sent SET status = 'queued', claim_token = NULL, "
                  "lease_expires_at = NULL, sent_at = NULL, delivered_at = NULL, "
                  "provider_message_id = NULL, attempts = 0, status_detail = NULL, "
                  f"not_before = '{HOLD}'", Params())
    await execute("DELETE FROM usage_record", Params())
    await execute("DELETE FROM message_event", Params())
    await execute("VACUUM ANALYZE message_sent", Params())
    await Heartbeat.filter(component__startswith="worker:").delete()
    procs = [start_worker(url) for _ in range(workers)]
    try:
        deadline = time.monotonic() + 120
        while await Heartbeat.filter(component__startswith="worker:").count() < workers:
            for proc in procs:
                if proc.poll() is not None:
                    raise SystemExit(proc.stderr.read().decode())  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise SystemExit("workers did not start within 120 s")
            await asyncio.sleep(0.1)
        began = time.perf_counter()
        await execute("UPDATE message_sent SET not_before = NULL", Params())
        while await pending():  # noqa: ASYNC110 - polling another process's work
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - began
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
            if proc.stderr:
                proc.stderr.close()
    return Result("postgres", f"{workers} worker process(es)", count, seconds)


async def main_async(count: int, counts: list[int]) -> list[Result]:
    async with scratch_database("postgres") as url:
        settings = Settings(database_url=url, secret_key=SECRET, data_dir=".")
        services = build_services(settings, secret_key=SECRET)
        _, messages = await seed(services, count)
        await enqueue(messages, now=services.clock.now())
        results = [await one_run(url, k, count) for k in counts]
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
    args = parser.parse_args()
    counts = [int(k) for k in args.workers.split(",")]
    results = asyncio.run(main_async(args.messages, counts))
    print_table(f"workers: {args.messages:,} messages to the simulator, PostgreSQL, "
                f"{os.cpu_count()} cores", results)


if __name__ == "__main__":
    main()
