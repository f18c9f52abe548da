"""How fast the executor drains the outbox.

For each backend (SQLite, PostgreSQL): queue N messages through the real outbox, then
  1. baseline: a loop that only claims batches and marks the same rows sent (no checks,
     no provider): the floor the database allows;
  2. the executor (claim, suppression, content, billing, rate limit, outcomes, usage,
     history) sending to the in-process simulator;
  3. the executor sending to the Twilio fake over HTTP (one request per message, as
     Twilio's API requires), in a separate process.
Prints messages per second, per-batch latency percentiles, peak RSS, and the ratio to
the baseline measured in the same run. The outbox write is compared with a binary COPY
of the same rows. Before each case the tables are vacuumed and analysed, so every case
meets the same table (see settle()).

    python -m bench.dispatch [--messages 100000] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import secrets
import subprocess
import sys
import time
from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from bench.harness import PeakRss, Result, print_table, scratch_database
from core.clock import SystemClock
from core.contacts import queries as contact_sql
from core.contacts.models import ListContact, Provider, SendingList
from core.messaging import queries
from core.messaging.executor import ExecutorConfig
from core.messaging.outbox import NewMessage, enqueue
from core.services import Services
from core.settings import Settings
from core.sql import Params, conn, execute, fetch, is_postgres, ts
from tests.fakes.standalone import StandaloneFake
from tests.fakes.twilio_fake import ACCOUNT_SID, AUTH_TOKEN
from trackly.bootstrap import build_executor, build_services

SECRET = "bench-secret-key-0123456789abcdef"
BODY = "Acme: spring deals are live, 20% off today only. Reply STOP to opt out."


async def seed(services: Services, count: int) -> tuple[SendingList, list[NewMessage]]:
    """An account, a list and ``count`` subscribers, written by the importer's bulk SQL."""
    account = await services.accounts.create_account("Bench", "bench@acme.test")
    sending_list = await SendingList.create(
        account_id=account.id, phone_number="+14155550100", provider=Provider.SIMULATOR,
        brand_name="Acme", webhook_token=secrets.token_urlsafe(16),
        rate_limit_per_minute=100_000_000)
    now = services.clock.now()
    phones = [f"+1212{2000000 + i:07d}" for i in range(count)]
    ids: dict[str, int] = {}
    for start in range(0, count, 10_000):
        chunk = phones[start:start + 10_000]
        async with in_transaction() as tx:
            found = await contact_sql.ensure_contacts(tx, [
                (p, "US", "cell", "", "America/New_York", "NY", "212") for p in chunk], now)
            ids.update({p: ident for p, (ident, _, _) in found.items()})
            await contact_sql.insert_subscriptions(
                tx, [(ids[p], now, None, "", "", "", "", "", {}) for p in chunk],
                account_id=account.id, list_id=sending_list.id, source="bench", now=now)
    subs = dict(await ListContact.filter(sending_list_id=sending_list.id).values_list(
        "contact_id", "id"))
    messages = [NewMessage(
        account_id=account.id, sending_list_id=sending_list.id, contact_id=ids[p],
        list_contact_id=subs[ids[p]], to_number=p, from_number=sending_list.phone_number,
        body=BODY, segments=1, encoding="GSM-7", price=Decimal("0.0045"),
        provider=Provider.SIMULATOR, transactional=True)
        for p in phones]
    return sending_list, messages


async def requeue_all() -> None:
    await execute("UPDATE message_sent SET status = 'queued', claim_token = NULL, "
                  "lease_expires_at = NULL, sent_at = NULL, delivered_at = NULL, "
                  "provider_message_id = NULL, attempts = 0, status_detail = NULL",
                  Params())
    await execute("DELETE FROM usage_record", Params())
    await execute("DELETE FROM message_event", Params())


async def settle() -> None:
    """Fresh statistics and no dead rows before every case: the baseline once ran on a
    fresh table and the executor after ``requeue_all`` on ~150k dead rows without
    statistics (autovacuum is off on our machines), which measured the table, not the
    code."""
    if is_postgres():
        for table in ("message_sent", "usage_record", "message_event", "list_contact"):
            await execute(f"VACUUM ANALYZE {table}", Params())
    else:
        await execute("ANALYZE", Params())


async def copy_floor(messages: list[NewMessage], now: dt.datetime) -> Result:
    """The outbox write's floor: a binary COPY of the same rows into message_sent itself
    (its indexes and foreign keys), rolled back (PostgreSQL; settle() clears the dead
    rows before the next case)."""
    client: Any = conn()
    columns = ["public_id", "account_id", "sending_list_id", "contact_id",
               "list_contact_id", "to_number", "from_number", "body", "segments",
               "encoding", "price", "provider", "status", "attempts", "transactional",
               "is_reply", "queued_at", "updated_at"]
    records = [(m.public_id, m.account_id, m.sending_list_id, m.contact_id,
                m.list_contact_id, m.to_number, m.from_number, m.body, m.segments,
                m.encoding, m.price, m.provider, "queued", 0, m.transactional,
                m.is_reply, now, now) for m in messages]
    async with client.acquire_connection() as raw:
        transaction = raw.transaction()
        await transaction.start()
        began = time.perf_counter()
        await raw.copy_records_to_table("message_sent", columns=columns, records=records)
        seconds = time.perf_counter() - began
        await transaction.rollback()
    await settle()
    return Result("postgres", "COPY of the same rows (floor)", len(records), seconds)


async def baseline(backend: str, count: int, batch: int) -> Result:
    """Claim and mark sent, nothing else: what the database alone allows."""
    clock = SystemClock()
    latencies: list[float] = []
    async with PeakRss() as rss:
        began = time.perf_counter()
        done = 0
        while True:
            start = time.perf_counter()
            now = clock.now()
            claimed = await queries.claim_queued(token="base", now=now,
                                                 lease_until=now, limit=batch)
            if not claimed:
                break
            p = Params()
            await execute(f"UPDATE message_sent SET status = 'sent', sent_at = {p(ts(now))}, "
                          f"claim_token = NULL WHERE {p.isin('id', [m.id for m in claimed])}",
                          p)
            done += len(claimed)
            latencies.append((time.perf_counter() - start) * 1000)
        seconds = time.perf_counter() - began
    return Result(backend, "baseline claim+update", done, seconds, latencies, rss.peak)


async def run_executor(services: Services, backend: str, case: str, count: int,
                       lanes: int) -> Result:
    services.settings.executor_lanes = lanes
    executor = build_executor(services)
    executor.config = ExecutorConfig(batch_size=services.settings.executor_batch_size,
                                     lanes=lanes, poll_interval=0.05)
    latencies: list[float] = []
    report_total = {"sent": 0}

    async def lane() -> None:
        while True:
            start = time.perf_counter()
            report = await executor.drain_once()
            if report.claimed == 0:
                return
            report_total["sent"] += report.sent
            latencies.append((time.perf_counter() - start) * 1000)

    async with PeakRss() as rss:
        began = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(lanes)))
        seconds = time.perf_counter() - began
    sent = (await fetch("SELECT COUNT(*) AS n FROM message_sent WHERE status IN "
                        "('sent', 'delivered')", Params()))[0]["n"]
    note = "" if sent == count else f"only {sent} sent"
    return Result(backend, case, sent, seconds, latencies, rss.peak, note=note)


async def one_backend(backend: str, count: int, batch: int, lanes: int) -> list[Result]:
    results: list[Result] = []
    async with scratch_database(backend) as url:
        fake = StandaloneFake("twilio", "--receipts", "none").start()
        try:
            settings = Settings(database_url=url, secret_key=SECRET, data_dir=".",
                                simulator_latency_ms=0, simulator_receipt_rate=0.0,
                                twilio_base_url=fake.url, executor_batch_size=batch)
            services = build_services(settings, secret_key=SECRET)
            sending_list, messages = await seed(services, count)
            floor = None
            if backend == "postgres":
                floor = await copy_floor(messages, services.clock.now())
                results.append(floor)
            began = time.perf_counter()
            await enqueue(messages, now=services.clock.now())
            written = Result(backend, "enqueue (outbox write)", count,
                             time.perf_counter() - began)
            written.baseline_rate = floor.rate if floor else None
            results.append(written)

            await settle()
            base = await baseline(backend, count, batch)
            results.append(base)
            await requeue_all()
            await settle()
            sim = await run_executor(services, backend, "executor -> simulator", count, lanes)
            sim.baseline_rate = base.rate
            results.append(sim)

            await requeue_all()
            sending_list.provider = Provider.TWILIO
            sending_list.credentials_sealed = services.box.seal(
                {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN})
            await sending_list.save(update_fields=["provider", "credentials_sealed"])
            await execute("UPDATE message_sent SET provider = 'twilio'", Params())
            await settle()
            tw = await run_executor(services, backend, "executor -> Twilio fake (HTTP)",
                                    count, lanes)
            tw.baseline_rate = base.rate
            results.append(tw)
            await services.providers.close()
        finally:
            fake.stop()
    return results


async def child(backend: str, args: argparse.Namespace) -> None:
    results = await one_backend(backend, args.messages, args.batch, args.lanes)
    print(json.dumps([dataclasses.asdict(r) for r in results]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--lanes", type=int, default=4)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.child, args))
        return
    # One process per backend: tortoise binds its query builders to the first dialect a
    # process opens, and a fresh process also gives each backend a fair memory reading.
    results: list[Result] = []
    for backend in args.backends.split(","):
        done = subprocess.run(
            [sys.executable, "-m", "bench.dispatch", "--child", backend,
             "--messages", str(args.messages), "--batch", str(args.batch),
             "--lanes", str(args.lanes)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"{backend} run failed:\n{done.stderr[-3000:]}")
        results += [Result(**r) for r in json.loads(done.stdout.strip().splitlines()[-1])]
    print_table(f"dispatch: {args.messages:,} queued messages, batch {args.batch}, "
                f"{args.lanes} lanes", results)


if __name__ == "__main__":
    main()
