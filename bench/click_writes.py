"""Writing recorded clicks, alone: what the click writes cost the web server's CPU.

    python -m bench.click_writes [--clicks 50000] [--batch 2000] [--links 500]
                                 [--backends postgres,sqlite]

The redirect answers from its cache and the recorder writes the clicks after, in the same
process (core/tracking/recorder.py): on a 2-core machine every microsecond those writes
take is one the redirect does not get (issue 13). This builds ``--clicks`` ClickIn over
``--links`` links (one contact each, as bench.redirect seeds them: repeat clicks, a phone's
user agent, one click in five a link previewer's) and stores them through write_batch in
batches of ``--batch`` (pairs that got their counted click are passed on as the recorder
keeps them), against a baseline in the same run: the bare insert of the same rows already
made (copy_records_to_table on PostgreSQL, executemany on SQLite). Per backend: clicks/s,
this process's CPU per click (time.process_time: aiosqlite's thread included) and
PostgreSQL's (bench.cpu.CpuMeter).

Measured 2026-12-02 15:10-15:15 on the shared 2-core machine (load average about 3: the
wall-clock rates swing, the CPU per click much less), defaults, the recorder before
(c5b98be: INSERT ... SELECT FROM json_each(?) on SQLite) and after (multi-row INSERTs of
fixed sizes, cheaper row building), alternating, two runs each:

    backend   case               clicks/s         server us/click   PostgreSQL us/click
    sqlite    bare executemany   60,000-120,000   6.6-7.2           -
    sqlite    before             27,700-60,000    14.2-15.9         -
    sqlite    after              45,800-50,900    8.7-9.2           -
    postgres  bare COPY          146,000-160,000  1.3-1.5           4.4-4.6
    postgres  before             80,300-140,600   2.2-2.7           4.0-4.6
    postgres  after              74,700-95,800    2.2-2.3           4.8-5.0

On SQLite the write now costs the server about 5.5 us a click less. On PostgreSQL the
Python saved (0.5 us a click measured apart: rows 0.48 -> 0.17 us, first_human 0.24 ->
0.10, taking the batch 0.08 -> 0.01) is inside this run's noise; PostgreSQL's own CPU is
that of the bare COPY either way.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from bench.cpu import CpuMeter, database_of
from bench.harness import scratch_database
from bench.redirect import TEST_SECRET, seed
from core.sql import sqlite_ts
from core.tracking.agents import HUMAN, Judgement, Verdict
from core.tracking.links import LinkCache, LinkTarget, click_key
from core.tracking.recorder import _RAW_COLUMNS, ClickIn, write_batch
from tests.tracking.helpers import PHONE_UA, PREVIEW_UA

PREVIEW = Judgement(Verdict.PREVIEW, "agent:imessage_preview")


@dataclass
class Row:
    backend: str
    case: str
    clicks: int
    seconds: float
    process_s: float
    postgres_s: float

    def line(self, base: Row | None) -> str:
        rate = self.clicks / self.seconds
        ratio = f"{rate / (base.clicks / base.seconds):.2f}x" if base else "-"
        pg = f"{self.postgres_s / self.clicks * 1e6:>9.1f}" if self.backend == "postgres" \
            else f"{'-':>9}"
        return (f"{self.backend:<9} {self.case:<28} {self.clicks:>7} {self.seconds:>7.2f} "
                f"{rate:>10,.0f} {self.process_s / self.clicks * 1e6:>10.1f} {pg} {ratio:>8}")


def make_clicks(targets: list[LinkTarget], count: int) -> list[ClickIn]:
    """``count`` clicks round the links (each link clicked count/links times), a
    microsecond apart (every fraction of a second occurs), one in five a previewer's."""
    start = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
    clicks = []
    for i in range(count):
        preview = i % 5 == 4
        clicks.append(ClickIn(targets[i % len(targets)],
                              start + dt.timedelta(microseconds=i * 7919),
                              f"203.0.113.{i % 250}", PREVIEW_UA if preview else PHONE_UA,
                              PREVIEW if preview else HUMAN))
    return clicks


def bare_rows(clicks: list[ClickIn], pg: bool) -> list[tuple[Any, ...]]:
    """The rows as the baseline inserts them: made before the clock starts."""
    return [(c.target.link_id, c.target.account_id, c.target.message_id,
             c.target.contact_id, c.target.offer_id, c.at if pg else sqlite_ts(c.at),
             c.address, c.user_agent, c.judgement.is_bot, c.judgement.verdict.value,
             c.judgement.reason) for c in clicks]


async def timed(backend: str, case: str, url: str, clicks: int, work: Any) -> Row:
    meter = CpuMeter([], database_of(url) if backend == "postgres" else "-")
    meter.start()
    cpu, wall = time.process_time(), time.perf_counter()
    await work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Row(backend, case, clicks, wall, cpu, meter.stop()["postgres_s"])


async def measure(backend: str, args: argparse.Namespace) -> list[Row]:
    from tortoise.transactions import in_transaction

    async with scratch_database(backend) as url:
        codes = await seed(url, args.links)
        cache = LinkCache(key=click_key(TEST_SECRET))
        targets = [t for t in [await cache.get(c) for c in codes] if t is not None]
        clicks = make_clicks(targets, args.clicks)
        pg = backend == "postgres"
        rows = bare_rows(clicks, pg)
        batches = [clicks[i:i + args.batch] for i in range(0, len(clicks), args.batch)]
        row_batches = [rows[i:i + args.batch] for i in range(0, len(rows), args.batch)]
        columns = ", ".join(_RAW_COLUMNS)
        insert = (f"INSERT INTO message_short_link_click ({columns}) "
                  f"VALUES ({', '.join('?' * len(_RAW_COLUMNS))})")

        async def bare() -> None:
            for part in row_batches:
                async with in_transaction() as conn:
                    if pg:
                        await conn._connection.copy_records_to_table(
                            "message_short_link_click", records=part, columns=_RAW_COLUMNS)
                    else:
                        await conn.execute_many(insert, part)

        async def recorded() -> None:
            known: dict[tuple[int, int], None] = {}
            for batch in batches:
                _, pairs = await write_batch(batch, known)
                known.update(dict.fromkeys(pairs))

        results = []
        for _ in range(args.rounds):  # alternating, so load from elsewhere weighs on both
            results.append(await timed(backend, "bare insert of the rows", url,
                                       len(clicks), bare))
            results.append(await timed(backend, "write_batch", url, len(clicks), recorded))
        return results


def best(rows: list[Row], case: str) -> Row:
    return min((r for r in rows if r.case == case), key=lambda r: r.process_s)


async def run(args: argparse.Namespace) -> None:
    rows: list[Row] = []
    for backend in args.backends.split(","):
        measured = await measure(backend, args)
        rows += [best(measured, "bare insert of the rows"), best(measured, "write_batch")]
    header = (f"{'backend':<9} {'case':<28} {'clicks':>7} {'seconds':>7} {'clicks/s':>10} "
              f"{'us/click':>10} {'pg us':>9} {'vs base':>8}")
    print(f"\nClick writes: {args.clicks} clicks over {args.links} links in batches of "
          f"{args.batch}, best of {args.rounds} rounds by process CPU "
          "(us/click: this process's CPU; pg us: PostgreSQL's)")
    print(header)
    print("-" * len(header))
    for i, r in enumerate(rows):
        print(r.line(rows[i - 1] if i % 2 else None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clicks", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--links", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="postgres,sqlite")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
