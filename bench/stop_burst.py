"""An inbound STOP burst, from outside: 2,000 distinct subscribers text STOP, 64 requests
in flight, posted as Infobip posts inbound SMS to ``trackly run --role web`` in its own
process on a scratch PostgreSQL database. Each 200 must mean the opt-out is stored: the
database is counted afterwards.

    python -m bench.stop_burst [--subscribers 2000] [--in-flight 64]

Goal (issue 11): >= 1,000 unsubscribed a second, every one durable before its 200.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp
from tortoise.transactions import in_transaction

from bench.cpu import CpuMeter, database_of
from bench.harness import scratch_database
from bench.load import SECRET, Run, print_runs, trackly_web
from core.clock import SystemClock
from core.contacts import queries as contact_sql
from core.contacts.lists import ListChanges
from core.contacts.models import ListContact
from core.permissions import Actor
from core.settings import Settings
from trackly.bootstrap import build_services

LIST_NUMBER = "+14155550101"


async def seed(url: str, count: int) -> tuple[str, list[str]]:
    """An Infobip list with ``count`` subscribers; (the inbound path, their numbers)."""
    services = build_services(Settings(database_url=url, secret_key=SECRET),
                              clock=SystemClock(), secret_key=SECRET)
    account = await services.accounts.create_account("Bench", "bench@acme.test")
    lst = await services.lists.create_list(Actor.system(account.id), ListChanges(
        phone_number=LIST_NUMBER, provider="infobip", brand_name="Acme",
        credentials={"api_key": "k" * 32}))
    now = services.clock.now()
    phones = [f"+1212{2000000 + i:07d}" for i in range(count)]
    async with in_transaction() as tx:
        found = await contact_sql.ensure_contacts(tx, [
            (p, "US", "cell", "", "America/New_York", "NY", "212") for p in phones], now)
        await contact_sql.insert_subscriptions(
            tx, [(ident, now, None, "", "", "", "", "", {}) for ident, _, _ in found.values()],
            account_id=account.id, list_id=lst.id, source="bench", now=now)
    path = f"/api/webhook-feedbacks/infobip?account={account.id}&token={lst.webhook_token}"
    return path, phones


def inbound(phone: str, n: int) -> dict[str, object]:
    return {"results": [{
        "messageId": f"{900000000000000000 + n}", "from": phone.lstrip("+"),
        "to": LIST_NUMBER.lstrip("+"), "text": "STOP", "cleanText": "", "keyword": "STOP",
        "receivedAt": "2026-03-03T15:00:00.000+0000", "smsCount": 1,
        "price": {"pricePerMessage": 0.0, "currency": "EUR"}, "callbackData": None}],
        "messageCount": 1, "pendingMessageCount": 0}


async def burst(url: str, phones: list[str], in_flight: int) -> tuple[float, list[float], int]:
    gate = asyncio.Semaphore(in_flight)
    laps: list[float] = []
    failed = 0
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def one(n: int, phone: str) -> None:
            nonlocal failed
            async with gate:
                began = time.perf_counter()
                async with session.post(url, json=inbound(phone, n)) as resp:
                    await resp.read()
                    failed += resp.status != 200
                laps.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        await asyncio.gather(*(one(n, p) for n, p in enumerate(phones)))
        return time.perf_counter() - began, laps, failed


async def main(count: int, in_flight: int) -> None:
    async with scratch_database("postgres") as db_url:
        path, phones = await seed(db_url, count)
        with trackly_web(db_url) as (web, proc):
            meter = CpuMeter([proc.pid], database_of(db_url))
            meter.start()
            seconds, laps, failed = await burst(web + path, phones, in_flight)
            cpu = meter.stop()
        stored = await ListContact.filter(status="unsubscribed").count()
    laps.sort()

    def pct(q: float) -> float:
        return laps[min(len(laps) - 1, int(q * len(laps)))]

    print_runs("Inbound STOP burst on PostgreSQL (aiohttp client, trackly run --role web)", [
        Run(f"{count} distinct STOPs, {in_flight} in flight", count, seconds,
            stored / seconds, pct(0.5), pct(0.9), pct(0.99), failed,
            server_us=cpu["process_s"] / count * 1e6,
            postgres_us=cpu["postgres_s"] / count * 1e6, busy=cpu["machine_busy"])])
    print(f"unsubscribed in the database after the burst: {stored} of {count} "
          f"(req/s column: unsubscribed a second)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=64)
    args = parser.parse_args()
    asyncio.run(main(args.subscribers, args.in_flight))
