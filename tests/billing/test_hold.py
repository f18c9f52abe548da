"""The billing hold (issue 15, must-show 3): held messages wait, then drop as
billing_expired 60 minutes (FakeClock) after the hold began; paying within the window
releases them, by the manual gateway and by a Stripe invoice.paid webhook from the fake;
a forged or replayed Stripe webhook changes nothing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from core.accounts.models import Account, BillingStatus
from core.billing.gate import AccountBillingGate
from core.billing.models import Gateway, Invoice, InvoiceStatus
from core.messaging.executor import Executor, ExecutorConfig
from core.messaging.models import MessageSent
from core.notifications.models import Notification, Severity
from tests.billing.helpers import at, start_cycle, use
from tests.conftest import TEST_SECRET
from tests.factories import make_tenant
from tests.fakes.stripe_fake import StripeFake
from tests.helpers import AppServer
from tests.messaging.helpers import make_list, make_subscribers, queue_to
from tests.messaging.scripted import ScriptedProvider
from trackly.bootstrap import build_services
from web.app import create_app, server_args

START = at(2026, 3, 2, 16)  # 11:00 in New York


def executor(services, clock, provider) -> Executor:
    # The gate asked afresh every batch: a hold that ends is seen at the next drain.
    return Executor(clock=clock, providers=provider, policy=services.compliance,
                    billing=AccountBillingGate(clock=clock, cache_seconds=0),
                    callback_url=lambda lst, mid: None,
                    config=ExecutorConfig(batch_size=50))


async def statuses() -> list[tuple[str, str | None]]:
    return [(m.status, m.status_detail) for m in await MessageSent.all().order_by("id")]


async def overdue_manual_invoice(services, clock):
    """An account whose manual invoice went unpaid past its due date: on hold from now."""
    clock.set(START)
    tenant = await make_tenant(services)
    await start_cycle(tenant.account.id, at(2026, 3, 1, 0))
    await use(tenant.account.id, 12_000, clock.now())
    [invoice] = await services.billing.run_billing(tenant.account.id)
    assert invoice.status == InvoiceStatus.ISSUED and invoice.total == Decimal("51.75")
    clock.advance(days=7, minutes=-20)
    lst = await make_list(tenant.account.id)
    subs = await make_subscribers(lst, 3, when=clock.now())
    await queue_to(subs, lst, now=clock.now())  # queued 20 minutes before the hold
    clock.advance(minutes=20)
    await services.billing.run_billing(tenant.account.id)
    account = await Account.get(id=tenant.account.id)
    assert (account.billing_status, account.billing_status_since) == (
        BillingStatus.PAYMENT_FAILED, clock.now())
    return tenant, invoice, clock.now()


async def test_held_messages_wait_60_minutes_from_the_hold_then_drop(services, clock):
    tenant, _, began = await overdue_manual_invoice(services, clock)
    provider = ScriptedProvider()
    ex = executor(services, clock, provider)
    for minutes in (0, 10, 20, 30, 40, 50, 59):
        clock.set(began + dt.timedelta(minutes=minutes))
        await ex.drain()
        # (A message queued 20 minutes before the hold is still held at 59 minutes: the
        # hour counts from the hold, not from the queue.)
        assert await statuses() == [("queued", "billing_hold")] * 3, minutes
    clock.set(began + dt.timedelta(minutes=60))
    await ex.drain()
    assert await statuses() == [("dropped", "billing_expired")] * 3
    assert provider.requests == []
    alert = await Notification.get(account_id=tenant.account.id, kind="billing")
    assert alert.severity == Severity.HIGH and "60 minutes" in alert.body
    trail = await services.audit.list(tenant.owner, action="billing")
    assert [e.action for e in trail.items] == ["billing.hold"]


async def test_marking_the_invoice_paid_in_the_window_releases_the_messages(
        services, clock):
    tenant, invoice, began = await overdue_manual_invoice(services, clock)
    provider = ScriptedProvider()
    ex = executor(services, clock, provider)
    for minutes in (0, 15, 30, 45):  # the executor keeps looking while the hold lasts
        clock.set(began + dt.timedelta(minutes=minutes))
        await ex.drain()
    assert await statuses() == [("queued", "billing_hold")] * 3
    paid = await services.billing.mark_paid(tenant.owner, invoice.id)
    assert (paid.status, paid.paid_at) == (InvoiceStatus.PAID, clock.now())
    assert (await Account.get(id=tenant.account.id)).billing_status == BillingStatus.OK
    clock.advance(minutes=1)  # the held messages' next look
    await ex.drain()
    assert [s for s, _ in await statuses()] == ["sent"] * 3
    assert len(provider.requests) == 3
    cleared = await Notification.filter(account_id=tenant.account.id, kind="billing",
                                        is_resolution=True).count()
    assert cleared == 1
    trail = await services.audit.list(tenant.owner, action="billing")
    assert [e.action for e in trail.items] == [
        "billing.release", "billing.mark_paid", "billing.hold"]


# -- Stripe -----------------------------------------------------------------------------

@pytest.fixture
async def stripe_fake() -> AsyncIterator[StripeFake]:
    fake = await StripeFake().start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def stripe_stack(db, clock, settings, stripe_fake):
    """Services whose Stripe gateway talks to the fake, and the web app it calls back."""
    configured = settings.model_copy(update={
        "stripe_api_key": SecretStr(stripe_fake.api_key),
        "stripe_webhook_secret": SecretStr(stripe_fake.webhook_secret),
        "stripe_api_base": stripe_fake.url})
    services = build_services(configured, clock=clock, secret_key=TEST_SECRET)
    client = TestClient(AppServer(create_app(services), **server_args()))
    await client.start_server()
    stripe_fake.webhook_url = str(client.make_url("/api/stripe/webhook"))
    try:
        yield services, client
    finally:
        await client.close()
        await services.billing.gateways[Gateway.STRIPE].close()  # type: ignore[attr-defined]


async def test_stripe_failure_holds_and_invoice_paid_releases_forged_and_replayed_change_nothing(
        stripe_stack, stripe_fake, clock):
    services, http = stripe_stack
    clock.set(START)
    tenant = await make_tenant(services)
    account_id = tenant.account.id
    await start_cycle(account_id, at(2026, 3, 1, 0))
    await services.billing.set_gateway(tenant.owner, "stripe")
    await use(account_id, 12_000, clock.now())
    stripe_fake.decline = True
    [invoice] = await services.billing.run_billing(account_id)
    # Stripe holds a customer for the account and the invoice with its lines.
    [customer] = stripe_fake.customers.values()
    assert customer["metadata"] == {"trackly_account_id": str(account_id)}
    remote = stripe_fake.invoices[(await Invoice.get(id=invoice.id)).external_id]
    assert (remote["customer"], remote["collection_method"], remote["amount_due"]) == (
        customer["id"], "charge_automatically", 5175)
    assert [line["description"] for line in remote["lines"]["data"]] == [
        "SMS usage: 12,000 segments"]

    # The automatic charge fails: Stripe says so, and the account is held from then.
    assert [status for status, _ in await stripe_fake.deliver()] == [200]
    failed_event = stripe_fake.sent_events[-1]
    assert (await Invoice.get(id=invoice.id)).status == InvoiceStatus.FAILED
    account = await Account.get(id=account_id)
    assert (account.billing_status, account.billing_status_since) == (
        BillingStatus.PAYMENT_FAILED, clock.now())
    began = clock.now()
    lst = await make_list(account_id)
    subs = await make_subscribers(lst, 2, when=clock.now())
    await queue_to(subs, lst, now=clock.now())
    provider = ScriptedProvider()
    ex = executor(services, clock, provider)
    await ex.drain()
    assert await statuses() == [("queued", "billing_hold")] * 2

    # A forged invoice.paid (signed with another secret) is refused and changes nothing.
    forged = json.dumps({**failed_event[0], "id": "evt_forged", "type": "invoice.paid"}
                        ).encode()
    resp = await http.post("/api/stripe/webhook", data=forged, headers={
        "Stripe-Signature": stripe_fake.signed(forged, secret="whsec_not_the_secret")})
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_signature"
    resp = await http.post("/api/stripe/webhook", data=forged)  # unsigned
    assert resp.status == 400
    assert (await Invoice.get(id=invoice.id)).status == InvoiceStatus.FAILED
    assert (await Account.get(id=account_id)).billing_status == BillingStatus.PAYMENT_FAILED

    # Within the hour the card is fixed; Stripe retries and says invoice.paid.
    for minutes in (20, 40):
        clock.set(began + dt.timedelta(minutes=minutes))
        await ex.drain()
    stripe_fake.decline = False
    await stripe_fake.retry(remote["id"])
    assert [status for status, _ in await stripe_fake.deliver()] == [200]
    stored = await Invoice.get(id=invoice.id)
    assert (stored.status, stored.paid_at) == (InvoiceStatus.PAID, clock.now())
    assert (await Account.get(id=account_id)).billing_status == BillingStatus.OK
    clock.advance(minutes=1)
    await ex.drain()
    assert [s for s, _ in await statuses()] == ["sent"] * 2

    # The old invoice.payment_failed, replayed with its valid signature: applied once
    # already, so nothing moves.
    _, header, body = failed_event
    resp = await http.post("/api/stripe/webhook", data=body,
                           headers={"Stripe-Signature": header})
    assert resp.status == 200 and (await resp.json())["result"] == "duplicate"
    assert (await Invoice.get(id=invoice.id)).status == InvoiceStatus.PAID
    assert (await Account.get(id=account_id)).billing_status == BillingStatus.OK
    trail = await services.audit.list(tenant.owner, action="billing")
    assert [e.action for e in reversed(trail.items)] == [
        "billing.gateway", "billing.stripe.payment_failed", "billing.hold",
        "billing.stripe.paid", "billing.release"]


async def test_a_stripe_hand_over_that_fails_is_retried_by_the_next_run(
        stripe_stack, stripe_fake, clock):
    services, _ = stripe_stack
    clock.set(START)
    tenant = await make_tenant(services)
    account_id = tenant.account.id
    await start_cycle(account_id, at(2026, 3, 1, 0))
    await services.billing.set_gateway(tenant.owner, "stripe")
    await use(account_id, 10_000, clock.now())
    real_key, stripe_fake.api_key = stripe_fake.api_key, "sk_test_rotated"  # 401s
    [invoice] = await services.billing.run_billing(account_id)
    assert (await Invoice.get(id=invoice.id)).external_id is None
    assert stripe_fake.invoices == {}
    stripe_fake.api_key = real_key
    assert await services.billing.run_billing(account_id) == []  # nothing new issued...
    stored = await Invoice.get(id=invoice.id)
    [remote] = stripe_fake.invoices.values()  # ...and the invoice handed over once
    assert (stored.external_id, remote["amount_due"]) == (remote["id"], 4275)
    await services.billing.run_billing(account_id)
    assert len(stripe_fake.invoices) == 1
