"""Invoices with exact expected amounts (issue 15, must-show 1), on the real database."""

from __future__ import annotations

from decimal import Decimal

from core.billing.models import Invoice, InvoiceStatus, PricePlan, UsageRecord
from core.messaging.models import MessageSent
from core.messaging.receipts import apply_receipts
from core.providers.base import DeliveryState, Receipt
from tests.billing.helpers import at, charged, start_cycle, use
from tests.factories import make_tenant
from tests.messaging.helpers import make_list, make_subscribers, queue_to
from tests.messaging.scripted import ScriptedProvider
from tests.messaging.test_executor import executor


async def tenant_from(services, clock, when):
    clock.set(when)
    tenant = await make_tenant(services)
    await start_cycle(tenant.account.id, at(2026, 3, 1, 0))
    return tenant


async def test_a_month_crossing_the_free_tier(services, clock):
    tenant = await tenant_from(services, clock, at(2026, 3, 2))
    account = tenant.account.id
    await use(account, 300, at(2026, 3, 5))
    await use(account, 500, at(2026, 3, 20))
    clock.set(at(2026, 3, 31, 23))
    assert await services.billing.run_billing(account) == []  # nothing due yet
    clock.set(at(2026, 4, 1, 0))
    [invoice] = await services.billing.run_billing(account)
    assert (invoice.reason, invoice.number, invoice.status) == (
        "monthly", f"TRK-{account:05d}-0001", InvoiceStatus.ISSUED)
    assert (invoice.period_start, invoice.period_end) == (at(2026, 3, 1, 0), at(2026, 4, 1, 0))
    assert charged(invoice) == [("free", 500, "0", "0"), ("usage", 300, "0.0045", "1.3500"),
                                ("platform_fee", 800, "19.99", "19.99")]
    assert (invoice.segments, invoice.usage_amount, invoice.platform_fee, invoice.total) == (
        800, Decimal("1.35"), Decimal("19.99"), Decimal("21.34"))
    stored = await Invoice.get(id=invoice.id)
    assert stored.total == Decimal("21.34") and stored.usage_amount == Decimal("1.3500")
    assert await UsageRecord.filter(invoice_id=invoice.id).count() == 2


async def test_a_cycle_crossing_a_million_inside_one_invoice_with_the_fee_waived(
        services, clock):
    tenant = await tenant_from(services, clock, at(2026, 3, 2))
    account = tenant.account.id
    await use(account, 1_200_000, at(2026, 3, 10))
    clock.set(at(2026, 4, 1, 0))
    [invoice] = await services.billing.invoicer.run(account)
    assert charged(invoice) == [
        ("free", 500, "0", "0"),
        ("usage", 999_500, "0.0045", "4497.7500"),  # to the millionth segment of the cycle
        ("usage", 200_000, "0.0030", "600.0000"),  # beyond it
        ("platform_fee_waived", 1_200_000, "19.99", "0")]
    assert (invoice.segments, invoice.platform_fee, invoice.total) == (
        1_200_000, Decimal(0), Decimal("5097.75"))


async def test_the_fee_stays_below_a_million_and_the_tier_carries_into_the_next_month(
        services, clock):
    tenant = await tenant_from(services, clock, at(2026, 3, 2))
    account = tenant.account.id
    await use(account, 999_000, at(2026, 3, 10))
    await use(account, 2_000, at(2026, 4, 10))
    clock.set(at(2026, 5, 1, 0))
    march, april = await services.billing.invoicer.run(account)
    assert charged(march)[-1] == ("platform_fee", 999_000, "19.99", "19.99")
    assert march.total == Decimal("4513.24")  # 998,500 x 0.0045 = 4,493.25, + 19.99
    # April: 500 free (a new month), then 500 to the cycle's millionth, 1,000 beyond it.
    assert charged(april) == [("free", 500, "0", "0"), ("usage", 500, "0.0045", "2.2500"),
                              ("usage", 1000, "0.0030", "3.0000"),
                              ("platform_fee", 2000, "19.99", "19.99")]
    assert april.total == Decimal("25.24")


async def test_threshold_invoices_every_10k_to_100k_then_at_150k(services, clock):
    tenant = await tenant_from(services, clock, at(2026, 3, 2))
    account = tenant.account.id
    issued = []
    for step in range(30):  # 5,000 segments a step, billing after each: 150,000 in all
        clock.set(at(2026, 3, 2, 0) + (step + 1) * (at(2026, 3, 3, 0) - at(2026, 3, 2, 0)) / 2)
        await use(account, 5_000, clock.now())
        issued += await services.billing.run_billing(account)
    assert [(i.reason, i.dedup_key, i.segments, i.total) for i in issued] == [
        ("threshold", "t:0:10000", 10_000, Decimal("42.75")),  # 500 free
        *[("threshold", f"t:0:{n}", 10_000, Decimal("45.00"))
          for n in range(20_000, 100_001, 10_000)],
        ("threshold", "t:0:150000", 50_000, Decimal("225.00"))]
    assert [i.number for i in issued] == [f"TRK-{account:05d}-{n:04d}" for n in range(1, 12)]
    # Month end: nothing left to bill but the platform fee.
    clock.set(at(2026, 4, 1, 0))
    [month] = await services.billing.run_billing(account)
    assert charged(month) == [("platform_fee", 150_000, "19.99", "19.99")]
    assert month.segments == 0 and month.total == Decimal("19.99")


async def test_the_provider_count_is_billed_and_the_difference_is_visible(services, clock):
    tenant = await tenant_from(services, clock, at(2026, 3, 2))
    account = tenant.account.id
    await use(account, 500, at(2026, 3, 2))  # the free allowance, used up
    clock.set(at(2026, 3, 2, 16))  # 11:00 in New York: inside sending hours
    lst = await make_list(account)
    subs = await make_subscribers(lst, 2, when=clock.now())
    await queue_to(subs, lst, now=clock.now())  # our count: 1 segment each
    provider = ScriptedProvider()
    await executor(services, clock, provider).drain()
    first, second = await MessageSent.filter(account_id=account).order_by("id")
    # The provider says it billed the first message as 2 segments; the second, as ours.
    await apply_receipts(account, [
        Receipt(provider="simulator", provider_message_id=first.provider_message_id,
                state=DeliveryState.DELIVERED, segments=2),
        Receipt(provider="simulator", provider_message_id=second.provider_message_id,
                state=DeliveryState.DELIVERED, segments=1)], source="test", now=clock.now())
    usage = await services.billing.usage(tenant.owner, "month")
    assert (usage.segments, usage.our_segments, usage.messages_differing) == (503, 502, 1)
    clock.set(at(2026, 4, 1, 0))
    [invoice] = await services.billing.run_billing(account)
    assert charged(invoice) == [("free", 500, "0", "0"), ("usage", 3, "0.0045", "0.0135"),
                                ("platform_fee", 503, "19.99", "19.99")]
    assert invoice.line_items[-1] == {"kind": "segment_count", "provider_or_ours": 503,
                                      "ours": 502, "messages": 3, "messages_differing": 1,
                                      "amount": "0"}
    assert invoice.total == Decimal("20.00")  # 20.0035, rounded once
    billed = await UsageRecord.filter(message_id=first.id).first()
    assert (billed.segments, billed.billed_segments) == (1, 2)


async def test_rerunning_billing_issues_nothing_twice_and_never_rewrites_an_invoice(
        services, clock):
    tenant = await tenant_from(services, clock, at(2026, 3, 2))
    account = tenant.account.id
    await use(account, 12_000, at(2026, 3, 5))
    clock.set(at(2026, 3, 6))
    [first] = await services.billing.run_billing(account)
    assert (first.reason, first.total) == ("threshold", Decimal("51.75"))
    assert await services.billing.run_billing(account) == []
    assert await services.billing.run_all() == 0
    # The plan's price changes afterwards (a stored "default" plan now wins)...
    await PricePlan.create(code="default", free_segments=0, platform_fee=Decimal("29.99"),
                           tiers=[{"up_to": None, "price": "0.0100"}], cycle_days=360,
                           fee_waiver_segments=1_000_000)
    await use(account, 1_000, at(2026, 3, 20))
    clock.set(at(2026, 4, 1, 0))
    [month] = await services.billing.run_billing(account)
    assert charged(month) == [("usage", 1000, "0.0100", "10.0000"),
                              ("platform_fee", 13_000, "29.99", "29.99")]
    assert await services.billing.run_billing(account) == []
    # ...and the invoice issued before it is exactly as it was.
    again = await Invoice.get(id=first.id)
    assert (again.total, again.line_items) == (first.total, first.line_items)
    assert await Invoice.filter(account_id=account).count() == 2


async def test_a_correction_is_a_new_line_on_the_next_invoice_never_a_rewrite(
        services, clock):
    tenant = await tenant_from(services, clock, at(2026, 3, 2))
    account = tenant.account.id
    await use(account, 10_000, at(2026, 3, 5))
    clock.set(at(2026, 3, 6))
    [first] = await services.billing.run_billing(account)
    assert first.total == Decimal("42.75")
    # Later it turns out 1,000 of those segments were counted twice: a credit.
    await services.billing.add_correction(tenant.owner, Decimal("-4.50"),
                                          f"Credit: 1,000 segments billed twice on {first.number}")
    clock.set(at(2026, 4, 1, 0))
    [month] = await services.billing.run_billing(account)
    assert charged(month) == [("platform_fee", 10_000, "19.99", "19.99"),
                              ("correction", 0, "0", "-4.50")]
    assert month.line_items[1]["description"].endswith(first.number)
    assert month.total == Decimal("15.49")
    again = await Invoice.get(id=first.id)
    assert (again.total, again.line_items) == (first.total, first.line_items)
    assert await services.billing.run_billing(account) == []  # carried once
