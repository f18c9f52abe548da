"""How invoices get paid: the ``PaymentGateway`` port and its two adapters.

``manual``: nothing leaves; an owner marks the invoice paid. ``stripe``: through the
official SDK, a customer per account, the invoice with its lines, automatic collection;
Stripe answers later with ``invoice.paid`` / ``invoice.payment_failed`` webhooks, which
core.billing.service verifies with the SDK and applies once per event id."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, Protocol

import stripe

from core.billing.models import BillingProfile, Gateway, Invoice
from core.billing.pricing import to_cents

log = logging.getLogger(__name__)


class PaymentGateway(Protocol):
    kind: Gateway

    async def collect(self, invoice: Invoice, profile: BillingProfile, *, email: str,
                      name: str) -> str | None:
        """Hand an issued invoice over for payment; the gateway's id for it, if any.
        Called after the invoice is committed, never inside a transaction."""
        ...


class ManualGateway:
    kind = Gateway.MANUAL

    async def collect(self, invoice: Invoice, profile: BillingProfile, *, email: str,
                      name: str) -> str | None:
        return None  # an owner marks it paid (BillingService.mark_paid)


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


class StripeGateway:
    """Stripe through ``stripe.StripeClient``; ``api_base`` points tests at the fake."""

    kind = Gateway.STRIPE

    def __init__(self, *, api_key: str, webhook_secret: str,
                 api_base: str | None = None) -> None:
        self.webhook_secret = webhook_secret
        self._http = stripe.AIOHTTPClient()
        self.client = stripe.StripeClient(
            api_key, http_client=self._http, max_network_retries=2,
            base_addresses={"api": api_base} if api_base else None)

    async def close(self) -> None:
        await self._http.close_async()

    async def customer(self, profile: BillingProfile, *, email: str, name: str) -> str:
        if profile.stripe_customer_id:
            return profile.stripe_customer_id
        created = await self.client.v1.customers.create_async(
            {"email": email, "name": name,
             "metadata": {"trackly_account_id": str(profile.account_id)}},
            {"idempotency_key": f"trackly-customer-{profile.account_id}"})
        profile.stripe_customer_id = created.id
        await profile.save(update_fields=["stripe_customer_id"])
        return created.id

    async def collect(self, invoice: Invoice, profile: BillingProfile, *, email: str,
                      name: str) -> str | None:
        customer = await self.customer(profile, email=email, name=name)
        ident = f"trackly-invoice-{invoice.id}"
        created = await self.client.v1.invoices.create_async(
            {"customer": customer, "collection_method": "charge_automatically",
             "auto_advance": True, "currency": "usd", "pending_invoice_items_behavior":
             "exclude", "metadata": {"trackly_invoice": invoice.number}},
            {"idempotency_key": f"{ident}-create"})
        assert created.id is not None
        for n, line in enumerate(_chargeable(invoice.line_items)):
            await self.client.v1.invoice_items.create_async(
                {"customer": customer, "invoice": created.id, "currency": "usd",
                 "amount": line["cents"], "description": line["description"]},
                {"idempotency_key": f"{ident}-line-{n}"})
        await self.client.v1.invoices.finalize_invoice_async(
            created.id, {"auto_advance": True}, {"idempotency_key": f"{ident}-finalize"})
        return created.id


def _chargeable(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Our lines as Stripe invoice items (cents; the invoice total rounds once, so the
    usage lines are sent as one item whose cents are the invoice's usage to the cent)."""
    usage = sum((Decimal(x["amount"]) for x in lines if x["kind"] == "usage"), Decimal(0))
    segments = sum(x["segments"] for x in lines if x["kind"] in ("usage", "free"))
    fee = sum((Decimal(x["amount"]) for x in lines if x["kind"] == "platform_fee"),
              Decimal(0))
    items = []
    if usage:
        items.append({"cents": _cents(to_cents(usage)),
                      "description": f"SMS usage: {segments:,} segments"})
    if fee:
        items.append({"cents": _cents(fee), "description": "Platform fee"})
    items += [{"cents": _cents(Decimal(x["amount"])), "description": x["description"]}
              for x in lines if x["kind"] == "correction"]
    return items
