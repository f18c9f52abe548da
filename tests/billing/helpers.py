"""Usage for billing tests: usage records as the send pipeline writes them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from core.billing.models import BillingProfile, UsageRecord

UTC = dt.UTC


def at(y: int, m: int, d: int, h: int = 12) -> dt.datetime:
    return dt.datetime(y, m, d, h, tzinfo=UTC)


async def start_cycle(account_id: int, anchor: dt.datetime) -> None:
    await BillingProfile.create(account_id=account_id, cycle_anchor=anchor)


async def use(account_id: int, segments: int, when: dt.datetime, *, chunk: int = 100_000
              ) -> None:
    """``segments`` sent at ``when`` (in records of up to ``chunk`` segments: the invoice
    arithmetic depends on segment counts, not on how they were grouped)."""
    rows = []
    while segments > 0:
        n = min(chunk, segments)
        rows.append(UsageRecord(account_id=account_id, segments=n, occurred_at=when,
                                price=Decimal("0.0045") * n))
        segments -= n
    await UsageRecord.bulk_create(rows)


def charged(invoice) -> list[tuple[str, int, str, str]]:
    """An invoice's charge lines as (kind, segments, unit price, amount)."""
    return [(x["kind"], x["segments"], x["unit_price"], x["amount"])
            for x in invoice.line_items if x["kind"] != "segment_count"]
