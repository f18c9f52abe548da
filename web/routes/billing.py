"""/api/v2/usage, /api/v2/invoices (JSON and a printable HTML invoice), the balance, the
spend cap and payment gateway, and Stripe's webhooks (public, verified the SDK's way)."""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any

from aiohttp import web
from pydantic import Field

from core.billing.models import Invoice
from core.billing.service import PERIODS, Balance, UsageSummary
from core.money import parse_money
from core.text import Text
from web.auth import require_actor
from web.bodies import Body, iso, page_params, paginated, paging, parse_body, path_id
from web.keys import SERVICES
from web.openapi import operation
from web.query import query_text
from web.render import respond

routes = web.RouteTableDef()


def money(value: Decimal | int | None) -> str:
    return format(Decimal(value or 0).quantize(Decimal("0.01")), "f")


def invoice_out(invoice: Invoice) -> dict[str, Any]:
    return {"id": invoice.id, "number": invoice.number, "status": invoice.status,
            "reason": invoice.reason, "period_start": iso(invoice.period_start),
            "period_end": iso(invoice.period_end), "segments": invoice.segments,
            "usage_amount": format(Decimal(invoice.usage_amount).quantize(Decimal("0.0001")),
                                   "f"),
            "platform_fee": money(invoice.platform_fee), "total": money(invoice.total),
            "lines": invoice.line_items, "gateway": invoice.gateway,
            "issued_at": iso(invoice.issued_at), "due_at": iso(invoice.due_at),
            "paid_at": iso(invoice.paid_at)}


def usage_out(u: UsageSummary) -> dict[str, Any]:
    return {"period": u.period, "since": iso(u.since), "until": iso(u.until),
            "messages": u.messages, "segments": u.segments, "our_segments": u.our_segments,
            "messages_differing": u.messages_differing,
            "cost_at_list_price": format(u.list_cost, "f")}


def balance_out(b: Balance) -> dict[str, Any]:
    return {"billing_status": b.billing_status, "hold_since": iso(b.hold_since),
            "hold_drops_at": iso(b.hold_drops_at), "outstanding": money(b.outstanding),
            "outstanding_invoices": b.outstanding_invoices,
            "unbilled_segments": b.unbilled_segments, "unbilled_cost": money(b.unbilled_cost),
            "month_to_date": money(b.month_to_date),
            "spend_cap": None if b.spend_cap is None else money(b.spend_cap),
            "next_threshold": b.next_threshold, "cycle_segments": b.cycle_segments,
            "gateway": b.gateway}


@routes.get("/api/v2/usage")
@operation("Usage by period: segments billed (the provider's count where it gave one), "
           "ours, and where they differ", tag="billing",
           query=[("period", "string", f"One of {', '.join(PERIODS)} (default month)")],
           errors={400: "invalid_period"})
async def get_usage(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    period = query_text(request, "period", max_length=10) or "month"
    return respond(usage_out(await request.app[SERVICES].billing.usage(actor, period)))


@routes.get("/api/v2/balance")
@operation("What is owed, unbilled usage, the billing state and the spend cap",
           tag="billing")
async def get_balance(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    return respond(balance_out(await request.app[SERVICES].billing.balance(actor)))


@routes.get("/api/v2/invoices")
@operation("Invoices, newest first", tag="billing", query=paging())
async def list_invoices(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    page, per_page = page_params(request)
    found = await request.app[SERVICES].billing.list_invoices(actor, page=page,
                                                              per_page=per_page)
    return respond(paginated([invoice_out(i) for i in found.items], page=page,
                             per_page=per_page, total=found.total))


@routes.get("/api/v2/invoices/{invoice_id:\\d+}")
@operation("One invoice with its lines; ?format=html for a printable document",
           tag="billing", query=[("format", "string", "json (default) or html")],
           errors={404: "invoice_not_found"})
async def get_invoice(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    services = request.app[SERVICES]
    invoice = await services.billing.get_invoice(actor, path_id(request, "invoice_id",
                                                                "invoice"))
    if query_text(request, "format", max_length=8) == "html":
        account = await services.accounts.get_account(actor)
        return web.Response(text=invoice_html(invoice, account.name),
                            content_type="text/html", charset="utf-8")
    return respond(invoice_out(invoice))


@routes.post("/api/v2/invoices/{invoice_id:\\d+}/mark-paid")
@operation("Record a manual invoice as paid (owner only); ends a billing hold it caused",
           tag="billing", errors={404: "invoice_not_found",
                                  409: "invoice_collected_by_stripe"})
async def mark_paid(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    invoice = await request.app[SERVICES].billing.mark_paid(
        actor, path_id(request, "invoice_id", "invoice"))
    return respond(invoice_out(invoice))


class BillingSettingsIn(Body):
    spend_cap: Text | None = Field(None, description='Monthly cap, e.g. "500.00"; null: none')
    gateway: Text | None = Field(None, description="manual or stripe")


@routes.put("/api/v2/billing")
@operation("Set the monthly spend cap and the payment gateway (owner only)", tag="billing",
           request=BillingSettingsIn,
           errors={400: "invalid_spend_cap, invalid_gateway"})
async def put_billing(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, BillingSettingsIn)
    billing = request.app[SERVICES].billing
    if "spend_cap" in body.model_fields_set:
        cap = None if body.spend_cap is None else parse_money(body.spend_cap,
                                                              field="spend_cap")
        await billing.set_spend_cap(actor, cap)
    if body.gateway is not None:
        await billing.set_gateway(actor, body.gateway)
    return respond(balance_out(await billing.balance(actor)))


@routes.post("/api/stripe/webhook")
@operation("Stripe's invoice.paid and invoice.payment_failed events", tag="billing",
           public=True, description="Verified with the Stripe-Signature header (the "
           "SDK's check); each event id is applied once.",
           errors={400: "invalid_signature"})
async def stripe_webhook(request: web.Request) -> web.Response:
    result = await request.app[SERVICES].billing.handle_stripe_webhook(
        await request.read(), request.headers.get("Stripe-Signature"))
    return respond({"received": True, "result": result})


def invoice_html(invoice: Invoice, account_name: str) -> str:
    """A self-contained invoice a customer can print or file."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(str(x.get('kind', '')))} {e(str(x.get('month', '')))}</td>"
        f"<td class=n>{int(x.get('segments', 0)):,}</td>"
        f"<td class=n>{e(str(x.get('unit_price', '')))}</td>"
        f"<td class=n>{e(str(x.get('amount', '')))}</td></tr>"
        for x in invoice.line_items if x.get("kind") != "segment_count")
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>Invoice {e(invoice.number)}</title><style>body{{font-family:sans-serif}}"
        "td,th{padding:4px 8px}.n{text-align:right}</style></head><body>"
        f"<h1>Invoice {e(invoice.number)}</h1><p>{e(account_name)}<br>"
        f"Period {e(iso(invoice.period_start) or '')} to {e(iso(invoice.period_end) or '')}"
        f"<br>Issued {e(iso(invoice.issued_at) or '')}, status {e(str(invoice.status))}</p>"
        "<table><tr><th>Line</th><th>Segments</th><th>Unit price</th><th>Amount</th></tr>"
        f"{rows}<tr><th colspan=3>Total (USD)</th><th class=n>{money(invoice.total)}</th>"
        "</tr></table></body></html>")
