"""Invoicing a month of usage, SQLite and PostgreSQL, next to a bare sum of the same rows.

    python bench/billing.py [--messages 50000] [--backends postgres,sqlite] [--runs 5]

For each backend, in a fresh database: one account, ``messages`` sent messages in March
(1 to 3 segments each, every tenth with a provider count one higher than ours) and their
usage records, as the send pipeline writes them. Then:

* baseline: ``SELECT SUM(segments) FROM usage_record WHERE account_id = ?`` (the rows
  read once, nothing decided);
* estimate: ``BillingService.estimate`` before a launch (median of ``runs``): what the
  launch screen and the spend cap ask;
* balance: ``BillingService.balance`` (``/sms balance``), median of ``runs``;
* monthly invoice: ``Invoicer.run`` on April 1 (claims every record, fixes the billed
  count from the provider's, prices the month): once, since it consumes the usage.

"vs base" is the baseline's time over the case's (0.50x: twice as long).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import PeakRss, Result, print_table, scratch_database  # noqa: E402

MARCH = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
APRIL = dt.datetime(2026, 4, 1, 0, 0, tzinfo=dt.UTC)


async def populate(messages: int) -> int:
    from core.accounts.models import Account
    from core.billing.models import BillingProfile, UsageRecord
    from core.contacts.models import Contact, SendingList
    from core.messaging.models import MessageSent

    account = await Account.create(name="Bench", owner_email="bench@example.test")
    await BillingProfile.create(account=account, cycle_anchor=dt.datetime(2026, 3, 1,
                                                                          tzinfo=dt.UTC))
    lst = await SendingList.create(account=account, phone_number="+14155550000",
                                   provider="simulator", webhook_token="bench")
    contact = await Contact.create(phone_number="+14155551234")
    batch = 5000
    for start in range(0, messages, batch):
        rows = [MessageSent(
            public_id=f"b{i:07d}", account_id=account.id, sending_list_id=lst.id,
            contact_id=contact.id, to_number=contact.phone_number, from_number="+14155550000",
            body="x", segments=1 + i % 3, provider_segments=(2 + i % 3) if i % 10 == 0 else
            None, encoding="GSM-7", price=Decimal("0.0045") * (1 + i % 3),
            provider="simulator", status="delivered", queued_at=MARCH, sent_at=MARCH)
            for i in range(start, min(messages, start + batch))]
        await MessageSent.bulk_create(rows)
    ids = await MessageSent.filter(account_id=account.id).order_by("id").values_list(
        "id", "segments", "price")
    for start in range(0, len(ids), batch):
        await UsageRecord.bulk_create([
            UsageRecord(account_id=account.id, message_id=mid, segments=seg, price=price,
                        occurred_at=MARCH + dt.timedelta(seconds=n))
            for n, (mid, seg, price) in enumerate(ids[start:start + batch], start)])
    from core.sql import conn, is_postgres

    if is_postgres():  # as autovacuum would leave them
        for table in ("message_sent", "usage_record"):
            await conn().execute_script(f"VACUUM ANALYZE {table}")
    return account.id


async def run_backend(backend: str, messages: int, runs: int) -> list[Result]:
    from core.audit.service import AuditLog
    from core.billing.invoicing import Invoicer
    from core.billing.models import Gateway
    from core.billing.payments import ManualGateway
    from core.billing.service import BillingService
    from core.clock import FakeClock
    from core.notifications.service import NotificationService
    from core.permissions import Actor
    from core.sql import Params, fetch

    async with scratch_database(backend):
        account_id = await populate(messages)
        clock = FakeClock(MARCH + dt.timedelta(days=5))
        billing = BillingService(clock=clock, notifications=NotificationService(clock=clock),
                                 audit=AuditLog(clock=clock),
                                 gateways={Gateway.MANUAL: ManualGateway()})
        results = []

        async def timed(call, n: int) -> tuple[float, list[float]]:
            await call()  # warm
            laps = []
            for _ in range(n):
                began = time.perf_counter()
                await call()
                laps.append((time.perf_counter() - began) * 1000)
            return statistics.median(laps) / 1000, laps

        async def bare() -> None:
            p = Params()
            await fetch(f"SELECT SUM(segments) AS s FROM usage_record WHERE account_id = "
                        f"{p(account_id)}", p)

        base_s, base_laps = await timed(bare, runs)
        base = Result(backend, "baseline: SUM(segments)", messages, base_s, base_laps)
        results.append(base)
        for name, call in (
                ("estimate before a launch", lambda: billing.estimate(account_id, 20_000)),
                ("balance (/sms balance)", lambda: billing.balance(Actor.system(account_id)))):
            secs, laps = await timed(call, runs)
            results.append(Result(backend, name, messages, secs, laps,
                                  baseline_rate=base.rate))
        clock.set(APRIL)
        async with PeakRss() as rss:
            began = time.perf_counter()
            [invoice] = await Invoicer(clock=clock).run(account_id)
            secs = time.perf_counter() - began
        results.append(Result(backend, "monthly invoice", messages, secs, [secs * 1000],
                              peak_mb=rss.peak, baseline_rate=base.rate,
                              note=f"total {invoice.total}, {invoice.segments:,} segments"))
        return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results = []
    for backend in args.backends.split(","):
        results += await run_backend(backend, args.messages, args.runs)
    print_table(f"Billing over {args.messages:,} messages of usage (rate: usage rows/s)",
                results, unit="rows/s")


if __name__ == "__main__":
    asyncio.run(main())
