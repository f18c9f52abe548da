"""Throughput of the provider layer alone: the simulator in process, and each adapter
against its fake running in another process over loopback HTTP. Prints a table with
per-batch latency percentiles and the process's peak memory; "vs base" compares each row
with the in-process simulator at 0 ms latency measured in the same run (the adapter layer
with no I/O at all).

    python -m bench.providers [--messages 100000] [--http-messages 20000]

This is the ceiling the dispatch benchmark (bench/dispatch.py) can reach with no
database: the executor's pipeline goal is 2,000 messages per second per process.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp

from bench.harness import PeakRss, Result, print_table
from core.providers.base import OutboundSms, Outcome, Receipt, SmsProvider
from core.providers.cm import CmProvider
from core.providers.infobip import InfobipProvider
from core.providers.simulator import SimulatorProvider
from core.providers.twilio import TwilioProvider
from tests.fakes.cm_fake import PRODUCT_TOKEN
from tests.fakes.infobip_fake import API_KEY
from tests.fakes.standalone import FakeControl, StandaloneFake
from tests.fakes.twilio_fake import ACCOUNT_SID, AUTH_TOKEN

FROM = "+15005550006"


def messages(n: int) -> list[OutboundSms]:
    return [OutboundSms(f"{i:08d}", f"+1555{i:07d}", FROM,
                        "Flash sale: 40% off everything today only. Reply STOP to opt out.")
            for i in range(n)]


async def drive(adapter: SmsProvider, batch: list[OutboundSms], *, size: int,
                parallel: int, backend: str, case: str) -> tuple[Result, int]:
    """Send in batches of `size`, `parallel` batches in flight; (result, accepted)."""
    chunks = [batch[i:i + size] for i in range(0, len(batch), size)]
    accepted = 0
    laps: list[float] = []

    async def timed(chunk: list[OutboundSms]) -> int:
        began = time.perf_counter()
        outcomes = await adapter.send(chunk)
        laps.append((time.perf_counter() - began) * 1000)
        return sum(o.outcome is Outcome.ACCEPTED for o in outcomes)

    async with PeakRss() as rss:
        started = time.perf_counter()
        for i in range(0, len(chunks), parallel):
            accepted += sum(await asyncio.gather(*map(timed, chunks[i:i + parallel])))
        seconds = time.perf_counter() - started
    return Result(backend, case, len(batch), seconds, laps, rss.peak), accepted


async def simulator_rows(n: int) -> list[Result]:
    rows = []
    received = 0

    async def on_receipt(receipt: Receipt) -> None:
        nonlocal received
        received += 1

    for latency in (0, 20):
        received = 0
        sim = SimulatorProvider(on_receipt=on_receipt, latency_ms=latency,
                                receipt_delay_ms=0, seed=1)
        result, accepted = await drive(sim, messages(n), size=500, parallel=4,
                                       backend="process",
                                       case=f"simulator {latency} ms, 500 x4")
        await sim.drain()
        assert received == accepted == n
        rows.append(result)
    return rows


async def http_rows(n: int) -> list[Result]:
    rows = []
    async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, limit_per_host=200)) as session:
        for provider in ("twilio", "infobip", "cm"):
            fake = await asyncio.to_thread(StandaloneFake(provider, "--receipts", "none").start)
            try:
                adapter: SmsProvider
                if provider == "twilio":
                    adapter = TwilioProvider(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                                             session=session, base_url=fake.url,
                                             concurrency=100)
                    size, parallel = 200, 1  # one request per message, 100 in flight
                elif provider == "infobip":
                    adapter = InfobipProvider(api_key=API_KEY, session=session,
                                              base_url=fake.url)
                    size, parallel = 100, 8
                else:
                    adapter = CmProvider(product_token=PRODUCT_TOKEN, session=session,
                                         base_url=fake.url)
                    size, parallel = 100, 8
                result, accepted = await drive(
                    adapter, messages(n), size=size, parallel=parallel, backend="http",
                    case=f"{provider} -> fake, {size} x{parallel}")
                record = await FakeControl(fake.url, session).messages()
                assert record["count"] == accepted == n and not record["received_twice"]
                rows.append(result)
            finally:
                await asyncio.to_thread(fake.stop)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--http-messages", type=int, default=20_000)
    args = parser.parse_args()
    rows = asyncio.run(simulator_rows(args.messages))
    rows += asyncio.run(http_rows(args.http_messages))
    for row in rows[1:]:
        row.baseline_rate = rows[0].rate
    print_table("provider adapters alone (percentiles per batch; Twilio: one request per "
                "message, 100 in flight)", rows)


if __name__ == "__main__":
    main()
