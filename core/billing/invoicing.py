"""Issuing invoices: at a usage threshold or at month end, whichever comes first.

An invoice is written once, in one transaction that claims the usage it charges for, and
is never rewritten: later price changes or fixes appear as lines of later invoices. A
re-run finds the invoice by its key (unique per account) and issues nothing."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from core.accounts.models import Account
from core.billing import queries
from core.billing.models import (
    BillingAdjustment,
    BillingProfile,
    Invoice,
    InvoiceStatus,
    PricePlan,
    UsageRecord,
)
from core.billing.pricing import DEFAULT_PLAN, Plan, Position, price_segments, to_cents
from core.billing.pricing import thresholds_crossed as crossed
from core.clock import Clock
from core.errors import NotFound

log = logging.getLogger(__name__)

DUE_AFTER = dt.timedelta(days=7)  # an unpaid invoice past this puts the account on hold
AMOUNT = Decimal("0.0001")


def month_start(when: dt.datetime) -> dt.datetime:
    return when.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(start: dt.datetime) -> dt.datetime:
    return (start + dt.timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class Cycle:
    index: int
    start: dt.datetime
    end: dt.datetime


def cycle_at(anchor: dt.datetime, plan: Plan, when: dt.datetime) -> Cycle:
    length = dt.timedelta(days=plan.cycle_days)
    index = max((when - anchor) // length, 0)
    start = anchor + index * length
    return Cycle(index, start, start + length)


async def plan_of(account: Account) -> Plan:
    """The account's plan: a stored PricePlan of that code, else PRODUCT.md's default."""
    row = await PricePlan.get_or_none(code=account.price_plan)
    if row is not None:
        return Plan.from_row(row.code, row.free_segments, row.tiers, row.cycle_days,
                             row.platform_fee, row.fee_waiver_segments)
    if account.price_plan == DEFAULT_PLAN.code:
        return DEFAULT_PLAN
    raise NotFound(f"No price plan {account.price_plan!r}.", code="price_plan_not_found")


async def profile_of(account_id: int, now: dt.datetime, *, create: bool = True
                     ) -> BillingProfile:
    """The account's billing profile; the first one starts its cycle on the day of its
    first usage (or today). ``create=False``: a read leaves none behind (an unsaved one
    with the same defaults stands in)."""
    profile = await BillingProfile.get_or_none(account_id=account_id)
    if profile is not None:
        return profile
    first = await UsageRecord.filter(account_id=account_id).order_by(
        "occurred_at").first().values_list("occurred_at", flat=True)
    start = first if isinstance(first, dt.datetime) else now
    anchor = start.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if not create:
        return BillingProfile(account_id=account_id, cycle_anchor=anchor)
    profile, _ = await BillingProfile.get_or_create(account_id=account_id,
                                                    defaults={"cycle_anchor": anchor})
    return profile


class Invoicer:
    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock

    async def run(self, account_id: int) -> list[Invoice]:
        """Issue what is due for one account: every closed month not yet invoiced, then a
        threshold invoice if this cycle's usage crossed a threshold since the last one."""
        now = self.clock.now()
        account = await Account.get(id=account_id)
        plan = await plan_of(account)
        profile = await profile_of(account_id, now)
        issued: list[Invoice] = []
        this_month = month_start(now)
        last = await Invoice.filter(account_id=account_id, reason="monthly").order_by(
            "-period_start").first()
        month = next_month(last.period_start) if last else month_start(profile.cycle_anchor)
        while month < this_month:
            end = next_month(month)
            invoice = await self._issue(account_id, plan, profile, reason="monthly",
                                        key=f"m:{month:%Y-%m}", since=month, upto=end,
                                        period=(month, end), fee_month=month)
            if invoice is not None:
                issued.append(invoice)
            month = end
        cycle = cycle_at(profile.cycle_anchor, plan, now)
        before = await queries.counts(account_id, lo=cycle.start, hi=None, scope="before")
        pending = await queries.counts(account_id, lo=cycle.start, hi=None, scope="pending")
        threshold = crossed(before.billed, before.billed + pending.billed)
        if threshold is not None:
            invoice = await self._issue(account_id, plan, profile, reason="threshold",
                                        key=f"t:{cycle.index}:{threshold}", since=this_month,
                                        upto=now + dt.timedelta(microseconds=1),
                                        period=(this_month, now), fee_month=None)
            if invoice is not None:
                issued.append(invoice)
        return issued

    async def _issue(self, account_id: int, plan: Plan, profile: BillingProfile, *,
                     reason: str, key: str, since: dt.datetime, upto: dt.datetime,
                     period: tuple[dt.datetime, dt.datetime],
                     fee_month: dt.datetime | None) -> Invoice | None:
        now = self.clock.now()
        async with in_transaction():
            # Invoices of one account are issued one at a time (the account row is the lock).
            await Account.select_for_update().filter(id=account_id).first()
            if await Invoice.filter(account_id=account_id, dedup_key=key).exists():
                return None
            sequence = await Invoice.filter(account_id=account_id).count() + 1
            invoice = await Invoice.create(
                account_id=account_id, number=f"TRK-{account_id:05d}-{sequence:04d}",
                status=InvoiceStatus.DRAFT, reason=reason, dedup_key=key,
                period_start=period[0], period_end=period[1], gateway=profile.gateway)
            await queries.claim(invoice.id, account_id, since=since, upto=upto)
            lines, totals = await self._usage_lines(invoice.id, account_id, plan, profile,
                                                    since, upto)
            fee = Decimal(0)
            if fee_month is not None:
                month_total = await queries.counts(account_id, lo=fee_month,
                                                   hi=next_month(fee_month), scope="all")
                waived = month_total.billed >= plan.fee_waiver_segments
                fee = Decimal(0) if waived else plan.platform_fee
                lines.append({"kind": "platform_fee_waived" if waived else "platform_fee",
                              "month": f"{fee_month:%Y-%m}", "segments": month_total.billed,
                              "unit_price": str(plan.platform_fee), "amount": str(fee)})
            usage_amount = sum((Decimal(x["amount"]) for x in lines
                                if x["kind"] in ("usage", "free")), Decimal(0))
            corrections = await self._corrections(invoice.id, account_id)
            lines += corrections
            total = to_cents(usage_amount + fee + sum(
                (Decimal(x["amount"]) for x in corrections), Decimal(0)))
            invoice.segments = totals.billed
            invoice.usage_amount = usage_amount.quantize(AMOUNT)
            invoice.platform_fee = fee
            invoice.total = total
            invoice.line_items = [*lines, {
                "kind": "segment_count", "provider_or_ours": totals.billed,
                "ours": totals.ours, "messages": totals.records,
                "messages_differing": totals.differing, "amount": "0"}]
            invoice.status = InvoiceStatus.ISSUED if total > 0 else InvoiceStatus.PAID
            invoice.issued_at = now
            invoice.due_at = now + DUE_AFTER
            invoice.paid_at = None if total > 0 else now
            await invoice.save(update_fields=[
                "segments", "usage_amount", "platform_fee", "total", "line_items", "status",
                "issued_at", "due_at", "paid_at"])
        log.info("invoice %s issued for account %s (%s, %s)", invoice.number, account_id,
                 reason, total)
        return invoice

    @staticmethod
    async def _corrections(invoice_id: int, account_id: int) -> list[dict[str, Any]]:
        """Corrections recorded since the last invoice, each a line of this one."""
        await BillingAdjustment.filter(account_id=account_id, invoice_id__isnull=True
                                       ).update(invoice_id=invoice_id)
        return [{"kind": "correction", "description": a.description, "segments": 0,
                 "unit_price": "0", "amount": str(a.amount)}
                for a in await BillingAdjustment.filter(invoice_id=invoice_id).order_by("id")]

    async def _usage_lines(self, invoice_id: int, account_id: int, plan: Plan,
                           profile: BillingProfile, since: dt.datetime, upto: dt.datetime
                           ) -> tuple[list[dict[str, Any]], queries.Counts]:
        """One line per (calendar month, cycle, price) the invoice's usage falls in."""
        span = await queries.claimed_span(invoice_id)
        lines: list[dict[str, Any]] = []
        totals = queries.Counts()
        if span is None:
            return lines, totals
        lo = span[0]
        while lo <= span[1]:
            month = month_start(lo)
            cycle = cycle_at(profile.cycle_anchor, plan, lo)
            hi = min(next_month(month), cycle.end)
            mine = await queries.counts(account_id, lo=lo, hi=hi, scope="invoice",
                                        invoice_id=invoice_id)
            if mine.records:
                in_month = await self._before(account_id, invoice_id, month,
                                              next_month(month), lo)
                in_cycle = await self._before(account_id, invoice_id, cycle.start,
                                              cycle.end, lo)
                for line in price_segments(mine.billed, at=Position(in_month, in_cycle),
                                           plan=plan):
                    lines.append({**line.as_json(), "month": f"{month:%Y-%m}",
                                  "cycle": cycle.index})
                totals = queries.Counts(totals.billed + mine.billed, totals.ours + mine.ours,
                                        totals.records + mine.records,
                                        totals.differing + mine.differing)
            lo = hi
        return lines, totals

    @staticmethod
    async def _before(account_id: int, invoice_id: int, start: dt.datetime,
                      end: dt.datetime, lo: dt.datetime) -> int:
        """Segments billed from ``start`` before this part of the invoice: by other
        invoices, and by this invoice's earlier parts."""
        other = await queries.counts(account_id, lo=start, hi=end, scope="before",
                                     invoice_id=invoice_id)
        earlier = await queries.counts(account_id, lo=start, hi=lo, scope="invoice",
                                       invoice_id=invoice_id)
        return other.billed + earlier.billed
