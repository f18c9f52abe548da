"""Billing over REST: usage, balance, invoices (JSON and printable HTML), mark-paid, the
spend cap and gateway; bad input answers 4xx and changes nothing; and the scheduler tick."""

from __future__ import annotations

from core.billing.models import BillingProfile, Invoice, InvoiceStatus
from core.permissions import Role
from scheduler.jobs import BILLING_MINUTES, build_scheduler
from tests.billing.helpers import at, start_cycle, use
from tests.factories import make_tenant


async def test_usage_invoices_and_paying_by_hand(services, http, clock):
    clock.set(at(2026, 3, 2))
    tenant = await make_tenant(services)
    account = tenant.account.id
    await start_cycle(account, at(2026, 3, 1, 0))
    await use(account, 800, at(2026, 3, 2))
    resp = await http.get("/api/v2/usage?period=month", headers=tenant.headers(Role.VIEWER))
    assert await resp.json() == {
        "period": "month", "since": "2026-03-01T00:00:00+00:00",
        "until": "2026-03-02T12:00:00+00:00", "messages": 1, "segments": 800,
        "our_segments": 800, "messages_differing": 0, "cost_at_list_price": "3.6000"}
    resp = await http.get("/api/v2/balance", headers=tenant.headers())
    balance = await resp.json()
    assert (balance["unbilled_segments"], balance["unbilled_cost"], balance["billing_status"],
            balance["next_threshold"]) == (800, "1.35", "ok", 10_000)

    # The scheduler's billing tick issues March's invoice on April 1.
    clock.set(at(2026, 4, 1, 0))
    job = build_scheduler(services).get_job("billing")
    assert job.trigger.interval.total_seconds() == BILLING_MINUTES * 60
    await job.func()
    await job.func()  # again: nothing twice
    resp = await http.get("/api/v2/invoices", headers=tenant.headers(Role.VIEWER))
    body = await resp.json()
    assert body["pagination"]["total"] == 1
    [invoice] = body["data"]
    assert (invoice["total"], invoice["platform_fee"], invoice["usage_amount"],
            invoice["status"]) == ("21.34", "19.99", "1.3500", "issued")
    html = await http.get(f"/api/v2/invoices/{invoice['id']}?format=html",
                          headers=tenant.headers())
    assert html.content_type == "text/html"
    page = await html.text()
    assert invoice["number"] in page and "21.34" in page and "Acme Deals" in page

    resp = await http.post(f"/api/v2/invoices/{invoice['id']}/mark-paid",
                           headers=tenant.headers(Role.MEMBER))
    assert resp.status == 403
    resp = await http.post(f"/api/v2/invoices/{invoice['id']}/mark-paid",
                           headers=tenant.headers())
    assert resp.status == 200 and (await resp.json())["status"] == "paid"
    other = await make_tenant(services, name="Other", email="o@other.test")
    resp = await http.get(f"/api/v2/invoices/{invoice['id']}", headers=other.headers())
    assert resp.status == 404 and (await resp.json())["code"] == "invoice_not_found"


async def test_billing_settings_and_bad_input(services, http, clock):
    tenant = await make_tenant(services)
    resp = await http.put("/api/v2/billing", json={"spend_cap": "250.5"},
                          headers=tenant.headers())
    assert resp.status == 200 and (await resp.json())["spend_cap"] == "250.50"
    for body, code in (({"spend_cap": "-1"}, "invalid_spend_cap"),
                       ({"spend_cap": "lots"}, "invalid_spend_cap"),
                       ({"gateway": "paypal"}, "invalid_gateway"),
                       ({"spend_cap": "1\u0000"}, None)):
        resp = await http.put("/api/v2/billing", json=body, headers=tenant.headers())
        assert resp.status == 400, body
        if code:
            assert (await resp.json())["code"] == code
    resp = await http.put("/api/v2/billing", json={"spend_cap": "5"},
                          headers=tenant.headers(Role.MEMBER))
    assert resp.status == 403
    profile = await BillingProfile.get(account_id=tenant.account.id)
    assert str(profile.spend_cap) == "250.50" and profile.gateway == "manual"
    resp = await http.get("/api/v2/usage?period=year", headers=tenant.headers())
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_period"
    resp = await http.post("/api/stripe/webhook", data=b"{}",
                           headers={"Stripe-Signature": "t=1,v1=00"})
    assert resp.status == 404  # no Stripe configured here
    assert not await Invoice.filter(status=InvoiceStatus.PAID).exists()
